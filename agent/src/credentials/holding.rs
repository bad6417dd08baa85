//! Holding: issuing to a holder (stage 2 of the issuance pipeline, holder
//! binding), keeping what an employee was issued in its sub-wallet
//! (stage 6), and answering a presentation request with what it holds.
//!
//! **Holder binding.** `options.holder` names the holder: an employee of
//! the issuing company (`{"employee": id}`, its private `did:key`) or any
//! DID (`{"did": "did:key:…" | "did:idelta:…"}`). The credential's
//! `credentialSubject.id` becomes the holder's DID (a different id already
//! there is refused), and the holder's public key is what an SD-JWT VC
//! carries as `cnf`. Another company's employee, or a removed one, is "not
//! found", without saying whose it is.
//!
//! **Order of effects when an employee holds the credential**, so that a
//! failure never leaves a held credential the agent cannot revoke: the
//! issued-credential record (stage 4, status) commits before signing, and
//! the secured credential is stored in the sub-wallet last (stage 6). If
//! storing fails the issuance fails and the credential is never handed
//! out; the record left behind names a credential nobody holds, and
//! revoking it is harmless. The reverse order could leave a held
//! credential with no record, which removing the employee could not revoke.
//! An employee removed during issuance is revoked through the record, and
//! the store then fails because the sub-wallet is gone.
//!
//! **Answering.** The request is the one a verifier gave out of band: a
//! DCQL query, a `nonce` and a `domain` (OpenID4VP 1.0 `client_id`). For
//! each credential query the chosen credentials are presented one per
//! presentation: a Data Integrity credential inside a VC 2.0
//! `VerifiablePresentation` whose `eddsa-rdfc-2022` proof (`authentication`,
//! `challenge` = nonce, `domain`) is signed by the employee's `did:key` in
//! its sub-wallet; an SD-JWT VC as a compact SD-JWT revealing only the
//! claims asked for, with a Key Binding JWT (`aud` = domain, `nonce`). A
//! `bbs-2023` credential goes into the VP as a derived proof revealing only
//! the claims asked for (plus its mandatory pointers and the subject id).
//! The answer is OpenID4VP's `{"vp_token": {"<query id>": [<presentation>]}}`.

use super::{invalid, time_of, CredentialError, Credentials, Result};
use crate::db::companies::Company;
use crate::events::Events;
use crate::ids::new_id;
use crate::tenants::{Page, TenantError, MAX_PAGE};
use idelta_issuer::bbs_2023;
use idelta_issuer::data_integrity::{self, add_proof, contexts, Cryptosuite, ProofOptions, ProofPurpose};
use idelta_issuer::sd_jwt::{self, Jwk, KeyBinding};
use idelta_types::{Did, PublicKey};
use idelta_verifier::dcql::{self, Candidate, Query};
use idelta_verifier::DidKeyResolver;
use idelta_wallet::{CredentialFilter, CredentialFormat, HeldCredential, Holder};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The `data:` URL prefix of an SD-JWT VC inside an
/// `EnvelopedVerifiableCredential` (VC 2.0 §4.13, VC-JOSE-COSE).
pub const SD_JWT_DATA_PREFIX: &str = "data:application/dc+sd-jwt,";

/// Who a credential is issued to: `options.holder` of an issue request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum HolderOption {
    /// An employee of the issuing company, by id: the credential goes to
    /// its `did:key` and is stored in its sub-wallet.
    Employee(String),
    /// An external holder's DID (`did:key` or `did:idelta`); nothing is stored.
    Did(String),
}

/// The holder a credential is bound to.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundHolder {
    /// The holder's DID, now the credential's `credentialSubject.id`.
    pub did: String,
    /// The holder's public key (for SD-JWT VC `cnf`).
    pub key: PublicKey,
    /// The employee, when the holder is one: the credential is stored in
    /// its sub-wallet and revoked when the employee is removed.
    pub employee: Option<String>,
    /// The employee's company, whose super-wallet holds that sub-wallet.
    pub company: Option<String>,
}

impl BoundHolder {
    /// The holder key as a JWK for `cnf.jwk`; `None` for a non-Ed25519 key.
    pub fn jwk(&self) -> Option<Jwk> {
        Jwk::from_public_key(&self.key)
    }
}

/// A verifier's presentation request, as given to the holder out of band.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresentationAsk {
    /// The DCQL query (OpenID4VP 1.0 §6).
    #[schema(value_type = Object)]
    pub dcql_query: Value,
    /// The verifier's challenge.
    pub nonce: String,
    /// The verifier's identifier (OpenID4VP `client_id`): the proof's
    /// `domain`, the KB-JWT's `aud`.
    pub domain: String,
}

/// A credential an employee holds.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeldView {
    /// Its id in the sub-wallet.
    pub id: String,
    /// `ldp_vc` (Data Integrity) or `dc+sd-jwt`.
    pub format: String,
    /// The issuer DID.
    pub issuer: String,
    /// Its types (`type`, or the SD-JWT VC `vct`).
    pub types: Vec<String>,
    /// The credential: a JSON object, or the compact SD-JWT string.
    #[schema(value_type = Object)]
    pub credential: Value,
    /// When it was received, milliseconds since the epoch.
    pub received_at: i64,
}

impl From<HeldCredential> for HeldView {
    fn from(h: HeldCredential) -> HeldView {
        HeldView {
            id: h.id,
            format: h.format.as_str().to_owned(),
            issuer: h.issuer,
            types: h.types,
            credential: h.credential,
            received_at: h.received_at,
        }
    }
}

/// A presentation request's answer (OpenID4VP 1.0 §8.1).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PresentationAnswer {
    /// Per credential query id, its presentations: VP objects (`ldp_vc`)
    /// or compact SD-JWTs with a Key Binding JWT (`dc+sd-jwt`).
    #[schema(value_type = Object)]
    pub vp_token: BTreeMap<String, Vec<Value>>,
}

/// The public key of a `did:key`.
fn did_key_public(did: &str) -> Result<PublicKey> {
    let msid = did.strip_prefix("did:key:").ok_or_else(|| invalid(format!("`{did}` is not a did:key")))?;
    Ok(DidKeyResolver::resolve(&format!("{did}#{msid}")).map_err(|e| invalid(format!("options.holder.did: {e}")))?.key)
}

/// Sets `credentialSubject.id` to `did`, refusing another id already there.
fn bind_subject(credential: &mut Map<String, Value>, did: &str) -> Result<()> {
    let subject = match credential.get_mut("credentialSubject") {
        Some(Value::Object(s)) => s,
        Some(Value::Array(subjects)) if subjects.len() == 1 => match subjects.first_mut() {
            Some(Value::Object(s)) => s,
            _ => return Err(invalid("credential.credentialSubject must be an object")),
        },
        _ => return Err(invalid("options.holder needs a single credentialSubject object")),
    };
    match subject.get("id") {
        None => {
            subject.insert("id".into(), did.into());
            Ok(())
        }
        Some(Value::String(id)) if id == did => Ok(()),
        Some(_) => Err(invalid("credential.credentialSubject.id names someone other than options.holder")),
    }
}

/// The issuer DID of a VC (`issuer` as a URL or an object with an id).
fn issuer_of(credential: &Value) -> Option<&str> {
    match credential.get("issuer")? {
        Value::String(id) => Some(id),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// The compact SD-JWT in an `EnvelopedVerifiableCredential`, or the
/// string itself.
pub fn compact_sd_jwt(credential: &Value) -> Option<&str> {
    match credential {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str).and_then(|id| id.strip_prefix(SD_JWT_DATA_PREFIX)),
        _ => None,
    }
}

/// A secured credential as a wallet record: format, issuer, types.
fn to_held(id: String, credential: &Value, received_at: i64) -> Result<HeldCredential> {
    if let Some(sd_jwt) = compact_sd_jwt(credential) {
        let claims = idelta_verifier::sd_jwt::decode_unverified(sd_jwt)
            .map_err(|e| invalid(format!("the SD-JWT VC cannot be read: {e}")))?;
        let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or_default().to_owned();
        return Ok(HeldCredential {
            id,
            format: CredentialFormat::SdJwt,
            issuer,
            types: strings(claims.get("vct")),
            credential: Value::String(sd_jwt.to_owned()),
            received_at,
        });
    }
    let issuer = issuer_of(credential).ok_or_else(|| invalid("the credential has no issuer"))?.to_owned();
    Ok(HeldCredential {
        id,
        format: CredentialFormat::DataIntegrity,
        issuer,
        types: strings(credential.get("type")),
        credential: credential.clone(),
        received_at,
    })
}

/// What the DCQL matcher sees of a held credential: the SD-JWT's claims are
/// decoded once and kept here.
struct Offer {
    types: Vec<String>,
    claims: Value,
}

fn offer(held: &HeldCredential) -> Option<Offer> {
    match held.format {
        CredentialFormat::SdJwt => {
            let claims = idelta_verifier::sd_jwt::decode_unverified(held.credential.as_str()?).ok()?;
            Some(Offer { types: held.types.clone(), claims: Value::Object(claims) })
        }
        _ => Some(Offer { types: held.types.clone(), claims: held.credential.clone() }),
    }
}

/// The credential to put in a Data Integrity presentation revealing
/// `pointers`: an EdDSA-secured credential as it is (its proof covers the
/// whole document); for a `bbs-2023` base proof, a derived proof revealing
/// the pointers asked for, the subject's `id` (so that holder binding can
/// be checked) and the issuer's mandatory pointers, with the verifier's
/// nonce as presentation header.
fn presentable(credential: &Value, pointers: &[String], nonce: &str) -> Result<Value> {
    match credential.pointer("/proof/cryptosuite").and_then(Value::as_str) {
        Some(bbs_2023::CRYPTOSUITE) => {
            let mut selected = pointers.to_vec();
            if credential.pointer("/credentialSubject/id").is_some() {
                selected.push("/credentialSubject/id".into());
            }
            bbs_2023::derive(credential, &selected, nonce.as_bytes())
                .map_err(|e| CredentialError::Presentation(format!("bbs-2023 derived proof: {e}")))
        }
        _ => Ok(credential.clone()),
    }
}

/// An SD-JWT VC presentation revealing only the claims at `pointers`,
/// with a Key Binding JWT for the verifier (`aud` = domain, `nonce`)
/// signed by the holder's key.
async fn present_sd_jwt(
    compact: &str,
    pointers: &[String],
    ask: &PresentationAsk,
    now: time::OffsetDateTime,
    signer: &dyn idelta_types::signer::Signer,
) -> Result<Value> {
    let reveal: Vec<&str> = pointers.iter().map(String::as_str).collect();
    let kb = KeyBinding { aud: &ask.domain, nonce: &ask.nonce, iat: now, signer };
    let presented =
        sd_jwt::present(compact, &reveal, Some(kb)).await.map_err(|e| CredentialError::Presentation(e.to_string()))?;
    Ok(Value::String(presented))
}

impl Credentials {
    /// Stage 2: binds the credential to `holder`, checking that an
    /// employee holder belongs to `company`.
    pub(super) async fn bind_holder(
        &self,
        company: &Company,
        holder: &HolderOption,
        credential: &mut Map<String, Value>,
    ) -> Result<BoundHolder> {
        let bound = match holder {
            HolderOption::Employee(id) => return self.bind_employee_of(&company.id, id, credential).await,
            HolderOption::Did(did) => {
                let parsed: Did = did.parse().map_err(|e| invalid(format!("options.holder.did: {e}")))?;
                let key = match parsed.method() {
                    "key" => did_key_public(did)?,
                    "idelta" => {
                        let document = self
                            .tenants
                            .ledger()
                            .client()
                            .resolve(&parsed, &Default::default())
                            .await?
                            .into_active_document()?;
                        let method = document
                            .authentication
                            .iter()
                            .find_map(|id| document.method(id))
                            .ok_or_else(|| invalid("options.holder.did has no authentication key on the ledger"))?;
                        PublicKey::from_multibase(&method.public_key_multibase)
                            .map_err(|e| invalid(format!("options.holder.did: its key cannot be read: {e}")))?
                    }
                    other => {
                        return Err(invalid(format!(
                            "options.holder.did: did:{other} is not supported (did:key, did:idelta)"
                        )))
                    }
                };
                BoundHolder { did: did.clone(), key, employee: None, company: None }
            }
        };
        bind_subject(credential, &bound.did)?;
        Ok(bound)
    }

    /// Stage 2 for an employee of `holder_company`, which need not be the
    /// issuer (a benefit's company issues ownership credentials to whoever
    /// owns a unit). A removed employee is not found.
    pub(super) async fn bind_employee_of(
        &self,
        holder_company: &str,
        employee: &str,
        credential: &mut Map<String, Value>,
    ) -> Result<BoundHolder> {
        let employee = self.tenants.employee(holder_company, employee).await?;
        if employee.status != "active" {
            return Err(TenantError::NotFound("employee").into());
        }
        let bound = BoundHolder {
            key: did_key_public(&employee.did)?,
            did: employee.did,
            employee: Some(employee.id),
            company: Some(holder_company.to_owned()),
        };
        bind_subject(credential, &bound.did)?;
        Ok(bound)
    }

    /// Stage 6: stores the secured credential (a VC object, or an
    /// `EnvelopedVerifiableCredential` of an SD-JWT VC) in the employee's
    /// sub-wallet; returns its id there. Fails with
    /// [`CredentialError::NotHeld`] when the sub-wallet is gone.
    pub(super) async fn hold(&self, company: &str, employee: &str, credential: &Value, now_ms: i64) -> Result<String> {
        let held = to_held(new_id("hc", now_ms), credential, now_ms)?;
        let wallet = self.tenants.wallets().open(company).await.map_err(TenantError::from)?;
        match wallet.store_credential(Holder::Sub(employee), &held).await {
            Ok(()) => Ok(held.id),
            Err(idelta_wallet::Error::NotFound(_)) => Err(CredentialError::NotHeld(
                "the employee's sub-wallet is gone (employee removed?): the credential was not issued".into(),
            )),
            Err(e) => Err(TenantError::from(e).into()),
        }
    }

    /// A page of what the employee holds, oldest first.
    pub async fn held(
        &self,
        company: &str,
        employee: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<HeldView>> {
        let limit = match limit.unwrap_or(50) {
            l if (1..=MAX_PAGE).contains(&l) => usize::try_from(l).unwrap_or(1),
            _ => return Err(invalid(format!("limit must be 1 to {MAX_PAGE}"))),
        };
        let wallet = self.tenants.wallets().open(company).await.map_err(TenantError::from)?;
        let page = wallet
            .credentials(Holder::Sub(employee), &CredentialFilter::default(), cursor, limit)
            .await
            .map_err(TenantError::from)?;
        Ok(Page { items: page.items.into_iter().map(HeldView::from).collect(), next_cursor: page.next })
    }

    /// One credential the employee holds.
    pub async fn held_one(&self, company: &str, employee: &str, id: &str) -> Result<HeldView> {
        let wallet = self.tenants.wallets().open(company).await.map_err(TenantError::from)?;
        let held = wallet.credential(Holder::Sub(employee), id).await.map_err(TenantError::from)?;
        held.map(HeldView::from).ok_or_else(|| TenantError::NotFound("credential").into())
    }

    /// Deletes a credential the employee holds, and records the event.
    /// The issuer's record (and its status) is untouched: deleting one's
    /// copy does not revoke it.
    pub async fn delete_held(
        &self,
        events: &Events,
        company: &str,
        employee: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<()> {
        let wallet = self.tenants.wallets().open(company).await.map_err(TenantError::from)?;
        match wallet.delete_credential(Holder::Sub(employee), id).await {
            Ok(()) => {}
            Err(idelta_wallet::Error::NotFound(_)) => return Err(TenantError::NotFound("credential").into()),
            Err(e) => return Err(TenantError::from(e).into()),
        }
        let data = json!({ "employee": employee, "credential": id });
        if let Err(e) = events.publish(company, "holder.credential_deleted", employee, data, now_ms).await {
            tracing::error!(%company, %employee, error = %e, "event not recorded");
        }
        Ok(())
    }

    /// Every credential the employee holds.
    async fn all_held(&self, company: &str, employee: &str) -> Result<Vec<HeldCredential>> {
        let wallet = self.tenants.wallets().open(company).await.map_err(TenantError::from)?;
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = wallet
                .credentials(Holder::Sub(employee), &CredentialFilter::default(), after.as_deref(), 1000)
                .await
                .map_err(TenantError::from)?;
            all.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// Answers a presentation request with what the employee holds.
    pub async fn present(
        &self,
        company: &str,
        employee_id: &str,
        ask: &PresentationAsk,
        now_ms: i64,
    ) -> Result<PresentationAnswer> {
        let query = Query::parse(&ask.dcql_query).map_err(|e| invalid(e.to_string()))?;
        if ask.nonce.is_empty() || ask.domain.is_empty() {
            return Err(invalid("nonce and domain must not be empty"));
        }
        let employee = self.tenants.employee(company, employee_id).await?;
        let held = self.all_held(company, employee_id).await?;
        let offers: Vec<Option<Offer>> = held.iter().map(offer).collect();
        let mut candidates = Vec::with_capacity(held.len());
        let mut index = Vec::with_capacity(held.len());
        for (i, (h, o)) in held.iter().zip(&offers).enumerate() {
            if let Some(o) = o {
                candidates.push(Candidate {
                    format: h.format.as_str(),
                    types: &o.types,
                    claims: &o.claims,
                    context: h.credential.get("@context"),
                });
                index.push(i);
            }
        }
        let chosen = dcql::select(&query, &candidates).map_err(CredentialError::NoMatch)?;

        let msid = employee.did.strip_prefix("did:key:").unwrap_or_default().to_owned();
        let wallet = self.tenants.wallets().open(company).await.map_err(TenantError::from)?;
        let signer = wallet.signer(Holder::Sub(employee_id), &msid).await.map_err(TenantError::from)?;
        let now = time_of(now_ms);
        let mut vp_token = BTreeMap::new();
        for (query_id, picks) in chosen {
            let mut presentations = Vec::with_capacity(picks.len());
            for pick in picks {
                let held = &held[index[pick.candidate]];
                let presentation = match held.format {
                    CredentialFormat::SdJwt => {
                        let compact = held.credential.as_str().unwrap_or_default();
                        present_sd_jwt(compact, &pick.pointers, ask, now, &signer).await?
                    }
                    _ => {
                        let vp = json!({
                            "@context": [contexts::CREDENTIALS_V2],
                            "type": ["VerifiablePresentation"],
                            "holder": employee.did,
                            "verifiableCredential": [presentable(&held.credential, &pick.pointers, &ask.nonce)?],
                        });
                        let options = ProofOptions {
                            cryptosuite: Cryptosuite::EddsaRdfc2022,
                            verification_method: format!("{}#{msid}", employee.did),
                            proof_purpose: ProofPurpose::Authentication,
                            created: now,
                            challenge: Some(ask.nonce.clone()),
                            domain: Some(ask.domain.clone()),
                        };
                        add_proof(vp, options, &signer).await.map_err(|e| match e {
                            data_integrity::Error::Canonicalization(d) => {
                                CredentialError::Presentation(format!("a held credential cannot be canonicalized: {d}"))
                            }
                            other => CredentialError::Proof(other),
                        })?
                    }
                };
                presentations.push(presentation);
            }
            vp_token.insert(query_id, presentations);
        }
        Ok(PresentationAnswer { vp_token })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use idelta_types::signer::LocalSigner;

    #[test]
    fn the_holder_becomes_the_subject_and_no_one_else() {
        let mut c = json!({ "credentialSubject": { "role": "x" } }).as_object().cloned().unwrap();
        bind_subject(&mut c, "did:key:z1").unwrap();
        assert_eq!(c["credentialSubject"]["id"], "did:key:z1");
        bind_subject(&mut c, "did:key:z1").unwrap();
        let e = bind_subject(&mut c, "did:key:z2").unwrap_err().to_string();
        assert!(e.contains("credentialSubject.id"), "{e}");
        let mut many = json!({ "credentialSubject": [{}, {}] }).as_object().cloned().unwrap();
        assert!(bind_subject(&mut many, "did:key:z1").unwrap_err().to_string().contains("single"));
    }

    #[test]
    fn did_keys_give_their_key() {
        let signer = LocalSigner::from_seed([7; 32]);
        let did = signer.did_key();
        assert_eq!(did_key_public(&did).unwrap().to_multibase(), did.trim_start_matches("did:key:"));
        assert!(did_key_public("did:idelta:x").is_err());
    }

    #[tokio::test]
    async fn held_records_name_format_issuer_and_types() {
        let vc = json!({ "issuer": { "id": "did:idelta:a" }, "type": ["VerifiableCredential", "EmployeeCredential"] });
        let h = to_held("hc-1".into(), &vc, 5).unwrap();
        assert_eq!((h.format, h.issuer.as_str(), h.types.len()), (CredentialFormat::DataIntegrity, "did:idelta:a", 2));

        let issuer = LocalSigner::from_seed([1; 32]);
        let req = sd_jwt::Request {
            claims: json!({ "role": "engineer" }).as_object().cloned().unwrap(),
            disclose: vec!["role".into()],
            vct: "https://idelta.example/vct/EmployeeCredential".into(),
            issuer: issuer.did_key(),
            kid: issuer.did_key_url(),
            holder_jwk: None,
            status: None,
            iat: time::OffsetDateTime::UNIX_EPOCH,
            exp: None,
            decoys: 0,
        };
        let compact = sd_jwt::issue(&req, &issuer).await.unwrap();
        let enveloped =
            json!({ "type": "EnvelopedVerifiableCredential", "id": format!("{SD_JWT_DATA_PREFIX}{compact}") });
        let h = to_held("hc-2".into(), &enveloped, 5).unwrap();
        assert_eq!(h.format, CredentialFormat::SdJwt);
        assert_eq!(h.issuer, issuer.did_key());
        assert_eq!(h.types, ["https://idelta.example/vct/EmployeeCredential"]);
        assert_eq!(h.credential, Value::String(compact.clone()), "kept as the compact string");
        let o = offer(&h).unwrap();
        assert_eq!(o.claims["role"], "engineer", "the matcher sees the disclosed claims");
    }

    /// A bbs-2023 credential is presented as a derived proof revealing the
    /// claims asked for and the subject id, bound to the nonce, and nothing
    /// else; an EdDSA credential as it is.
    #[tokio::test]
    async fn bbs_credentials_are_presented_as_derived_proofs() {
        use idelta_verifier::bbs_2023::{verify, Expectations};
        let key = bbs_2023::BbsSecretKey::generate().unwrap();
        let mb = key.public_key_multibase();
        let issuer = format!("did:key:{mb}");
        let vc = json!({
            "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
            "type": ["VerifiableCredential", "EmployeeCredential"],
            "issuer": issuer,
            "validFrom": "2025-01-01T00:00:00Z",
            "credentialSubject": { "id": "did:key:z6MkHolder", "role": "engineer", "employeeId": "E-7" },
        });
        let options = bbs_2023::BaseProofOptions {
            verification_method: format!("{issuer}#{mb}"),
            mandatory_pointers: vec!["/issuer".into()],
        };
        let secured = bbs_2023::add_base_proof(vc, &options, &key).unwrap();
        let derived = presentable(&secured, &["/credentialSubject/role".into()], "n-1").unwrap();
        assert_eq!(derived["credentialSubject"], json!({ "id": "did:key:z6MkHolder", "role": "engineer" }));
        let now = time::OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
        let expected = Expectations { presentation_header: Some(b"n-1".to_vec()), now };
        let report = verify(&derived, &DidKeyResolver, &expected).await;
        assert!(report.verified, "{report:?}");
        let other_nonce = Expectations { presentation_header: Some(b"n-2".to_vec()), now };
        assert!(!verify(&derived, &DidKeyResolver, &other_nonce).await.verified);

        let eddsa = json!({ "proof": { "cryptosuite": "eddsa-rdfc-2022" }, "credentialSubject": { "salary": 1 } });
        assert_eq!(presentable(&eddsa, &["/credentialSubject/role".into()], "n").unwrap(), eddsa);
    }

    /// The SD-JWT path of [`Credentials::present`]: the DCQL query picks
    /// the claims, only those are disclosed, and the key binding answers
    /// the verifier's nonce and domain.
    #[tokio::test]
    async fn an_sd_jwt_presentation_discloses_only_what_was_asked() {
        use idelta_verifier::sd_jwt::{verify, Expectations};
        let issuer = LocalSigner::from_seed([1; 32]);
        let holder = LocalSigner::from_seed([2; 32]);
        let other = LocalSigner::from_seed([3; 32]);
        let holder_key = did_key_public(&holder.did_key()).unwrap();
        let req = sd_jwt::Request {
            claims: json!({ "role": "engineer", "employer": "did:idelta:acme", "salary": 100 })
                .as_object()
                .cloned()
                .unwrap(),
            disclose: vec!["role".into(), "employer".into(), "salary".into()],
            vct: "urn:idelta:EmployeeCredential".into(),
            issuer: issuer.did_key(),
            kid: issuer.did_key_url(),
            holder_jwk: Jwk::from_public_key(&holder_key),
            status: None,
            iat: time::OffsetDateTime::UNIX_EPOCH,
            exp: None,
            decoys: 2,
        };
        let compact = sd_jwt::issue(&req, &issuer).await.unwrap();
        let held = to_held("hc-1".into(), &Value::String(compact.clone()), 0).unwrap();
        let query = Query::parse(&json!({ "credentials": [{ "id": "job", "format": "dc+sd-jwt",
            "meta": { "vct_values": ["urn:idelta:EmployeeCredential"] },
            "claims": [{ "path": ["role"] }] }] }))
        .unwrap();
        let o = offer(&held).unwrap();
        let candidate = Candidate { format: held.format.as_str(), types: &o.types, claims: &o.claims, context: None };
        let chosen = dcql::select(&query, &[candidate]).unwrap();
        assert_eq!(chosen["job"][0].pointers, ["/role"]);

        let ask =
            PresentationAsk { dcql_query: Value::Null, nonce: "n-1".into(), domain: "did:idelta:verifier".into() };
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(10);
        let presented = present_sd_jwt(&compact, &chosen["job"][0].pointers, &ask, now, &holder).await.unwrap();
        let presented = presented.as_str().unwrap();
        let expected = Expectations::new(now).bound_to("did:idelta:verifier", "n-1");
        let (report, claims) = verify(presented, &DidKeyResolver, &expected).await;
        assert!(report.verified, "{report:?}");
        let claims = claims.unwrap();
        assert_eq!(claims["role"], "engineer");
        assert!(!claims.contains_key("salary") && !claims.contains_key("employer"), "only role: {claims:?}");

        // Another nonce, another audience, another key: each check named.
        for (expected, named) in [
            (Expectations::new(now).bound_to("did:idelta:verifier", "n-2"), "challenge"),
            (Expectations::new(now).bound_to("did:idelta:elsewhere", "n-1"), "domain"),
        ] {
            let (report, _) = verify(presented, &DidKeyResolver, &expected).await;
            assert!(report.failures().any(|c| c.name == named), "{named}: {report:?}");
        }
        let by_other = present_sd_jwt(&compact, &chosen["job"][0].pointers, &ask, now, &other).await.unwrap();
        let (report, _) = verify(by_other.as_str().unwrap(), &DidKeyResolver, &expected).await;
        assert!(report.failures().any(|c| c.name == "holderBinding"), "{report:?}");
    }
}
