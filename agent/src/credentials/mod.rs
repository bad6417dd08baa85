//! Issuing and verifying W3C VC Data Model 2.0 credentials with Data
//! Integrity EdDSA proofs, for the W3C VC API (design.md §9).
//!
//! A company issues only as itself: the credential's `issuer` is the
//! company's `did:idelta` DID (filled in when absent, refused when it names
//! anyone else), and the proof is signed in the company's super-wallet by
//! the DID's current key, whose verification method id (`{did}#key-N`) is
//! read from the DID's current document on the ledger, proof checked.
//!
//! Verification resolves issuer and holder keys with
//! [`LedgerKeyResolver`]: the issuer's DID must resolve on our ledger with
//! its proof checked and list the key under `assertionMethod`. A credential
//! signed by a key that a later rotation removed from the DID document no
//! longer verifies (its `issuer` check fails): rotation is how a company
//! retires a key, compromised or not, and the ledger keeps no "valid at
//! issuance" history for the verifier to rely on.
//!
//! The issuance pipeline's stages live in submodules: [`bbs`] (bbs-2023
//! with the company's BLS12-381 G2 key), [`holding`] (holder
//! binding, and keeping what an employee holds), [`schemas`] (types,
//! schemas and their ledger objects), [`sd_jwt`] (securing and verifying
//! SD-JWT VCs) and [`status`] (revocation and suspension through status
//! lists on the ledger).

pub mod bbs;
pub mod holding;
pub mod requests;
pub mod schemas;
pub mod sd_jwt;
pub mod status;

use crate::resolver::LedgerKeyResolver;
use crate::tenants::{TenantError, Tenants};
use idelta_issuer::data_integrity::{self, add_proof, contexts, Cryptosuite, ProofOptions, ProofPurpose};
use idelta_ledger_node::client::ClientError;
use idelta_types::signer::Signer as _;
use idelta_types::Did;
use idelta_verifier::data_integrity::{verify, Expectations};
use idelta_verifier::{Relationship, Report};
use parking_lot::Mutex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Why a credential could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// Returned when the credential or the options are malformed.
    #[error("{0}")]
    Invalid(String),
    /// Returned when the credential names an issuer other than the caller's company.
    #[error("{0}")]
    WrongIssuer(String),
    /// Returned when the company cannot be found or its wallet fails.
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// Returned when the ledger cannot resolve the company's DID with a valid proof.
    #[error("ledger: {0}")]
    Ledger(#[from] ClientError),
    /// Returned when the company's current wallet key is not an
    /// `assertionMethod` of its DID document (e.g. mid-rotation).
    #[error("{0}")]
    KeyNotPublished(String),
    /// Returned when the proof cannot be made for a reason other than the input.
    #[error("proof: {0}")]
    Proof(data_integrity::Error),
    /// Returned when an issued credential cannot be stored in its holder
    /// employee's sub-wallet (removed meanwhile): nothing was handed out.
    #[error("{0}")]
    NotHeld(String),
    /// Returned when nothing a holder has answers a presentation request.
    #[error("{0}")]
    NoMatch(String),
    /// Returned when a held credential cannot be presented for a reason other than the request.
    #[error("presentation: {0}")]
    Presentation(String),
    /// Returned when a status list cannot be allocated, read or published.
    #[error("status list: {0}")]
    Status(String),
    /// Returned when a bbs-2023 proof cannot be made for a reason other than the input.
    #[error("bbs-2023: {0}")]
    Bbs(idelta_issuer::bbs_2023::Error),
}

/// Result with [`CredentialError`].
pub type Result<T, E = CredentialError> = std::result::Result<T, E>;

/// `now_ms` (milliseconds since the epoch) as a time.
fn time_of(now_ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn invalid(detail: impl Into<String>) -> CredentialError {
    CredentialError::Invalid(detail.into())
}

/// Checks that `credential` is a VC Data Model 2.0 credential to be
/// secured (§4.1 contexts, §4.4 types, §4.2 subject), naming the first
/// thing that is wrong.
fn check_shape(credential: &Map<String, Value>) -> Result<()> {
    let first_context = match credential.get("@context") {
        Some(Value::Array(cs)) => cs.first().and_then(Value::as_str),
        Some(Value::String(c)) => Some(c.as_str()),
        _ => None,
    };
    if first_context != Some(contexts::CREDENTIALS_V2) {
        return Err(invalid(format!(
            "credential.@context must be an array whose first item is {}",
            contexts::CREDENTIALS_V2
        )));
    }
    let typed = match credential.get("type") {
        Some(Value::String(t)) => t == "VerifiableCredential",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "VerifiableCredential"),
        _ => false,
    };
    if !typed {
        return Err(invalid("credential.type must include VerifiableCredential"));
    }
    match credential.get("credentialSubject") {
        Some(Value::Object(_)) => {}
        Some(Value::Array(ss)) if !ss.is_empty() && ss.iter().all(Value::is_object) => {}
        Some(_) => {
            return Err(invalid("credential.credentialSubject must be an object or a non-empty array of objects"))
        }
        None => return Err(invalid("credential.credentialSubject is missing")),
    }
    if credential.contains_key("proof") {
        return Err(invalid("credential must not carry a proof: send the unsecured credential"));
    }
    for key in ["validFrom", "validUntil"] {
        if let Some(v) = credential.get(key) {
            let ok = v.as_str().is_some_and(|t| OffsetDateTime::parse(t, &Rfc3339).is_ok());
            if !ok {
                return Err(invalid(format!("credential.{key} must be an XML Schema dateTime with a time zone")));
            }
        }
    }
    Ok(())
}

/// Fills in or checks the `issuer` against the company's DID.
fn check_issuer(credential: &mut Map<String, Value>, did: &str) -> Result<()> {
    let named = match credential.get("issuer") {
        None => {
            credential.insert("issuer".into(), did.into());
            return Ok(());
        }
        Some(Value::String(id)) => id.as_str(),
        Some(Value::Object(o)) => match o.get("id") {
            Some(Value::String(id)) => id.as_str(),
            _ => return Err(invalid("credential.issuer must be a URL or an object with an id")),
        },
        Some(_) => return Err(invalid("credential.issuer must be a URL or an object with an id")),
    };
    if named != did {
        // The caller's company DID is not repeated: the refusal says only
        // that the issuer is not theirs, and nothing about whose it is.
        return Err(CredentialError::WrongIssuer(
            "credential.issuer must be your company's DID (or absent): a company issues only as itself".into(),
        ));
    }
    Ok(())
}

/// Most (DID, key) → verification method entries remembered.
const METHODS_CAPACITY: usize = 10_000;

/// Issuing and verifying over the tenancy service's wallets and ledger.
#[derive(Debug)]
pub struct Credentials {
    tenants: Arc<Tenants>,
    /// The verification method id of each (company DID, wallet key id),
    /// found once on the ledger. A rotation gives the company a new wallet
    /// key id, so an entry can never name a retired key.
    methods: Mutex<HashMap<(String, String), String>>,
    /// Issuer and holder keys for verification; remembers proved DID
    /// documents while the ledger's tree is unchanged.
    resolver: LedgerKeyResolver,
    /// Status lists: revocation and suspension of what was issued.
    status: status::StatusService,
    /// Schemas and credential definitions known to be on the ledger.
    published: schemas::Published,
    /// The companies' bbs-2023 keys.
    bbs: bbs::BbsKeys,
}

/// How an issued credential is secured (stage 5).
#[derive(Clone, Debug)]
pub enum Securing {
    /// A Data Integrity proof with this cryptosuite.
    DataIntegrity(Cryptosuite),
    /// A `bbs-2023` base proof by the company's BLS12-381 G2 key, with
    /// these JSON pointers mandatory on top of [`bbs::ALWAYS_MANDATORY`].
    Bbs {
        /// `options.mandatoryPointers`.
        mandatory_pointers: Vec<String>,
    },
    /// An SD-JWT VC (`dc+sd-jwt`) with these JSON pointers into
    /// `credentialSubject` selectively disclosable (`None`: every top-level
    /// claim but `id`), answered as an `EnvelopedVerifiableCredential`.
    SdJwt {
        /// JSON pointers of the claims the holder may disclose selectively.
        disclosable: Option<Vec<String>>,
    },
}

/// Who an issuance is for, inside the agent.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Recipient<'a> {
    /// `options.holder` of a request: an employee of the issuer, or any DID.
    Requested(&'a holding::HolderOption),
    /// An employee of any company on this agent, whose sub-wallet keeps
    /// the credential: a benefit's company issues ownership credentials to
    /// whoever owns a unit.
    EmployeeOf {
        /// The employee's company (not necessarily the issuer).
        company: &'a str,
        /// The employee.
        employee: &'a str,
    },
}

/// An issued credential and the agent's record of it.
#[derive(Debug)]
pub struct IssuedCredential {
    /// The secured credential.
    pub credential: Value,
    /// The agent's id of the issued-credential record, when the credential
    /// has a status (and so can be revoked or suspended).
    pub credential_id: Option<String>,
}

impl Credentials {
    /// The service over `tenants`.
    pub fn new(tenants: Arc<Tenants>, status: status::StatusService) -> Credentials {
        let resolver = LedgerKeyResolver::new(tenants.ledger().client().clone());
        Credentials {
            tenants,
            methods: Mutex::new(HashMap::new()),
            resolver,
            status,
            published: Default::default(),
            bbs: Default::default(),
        }
    }

    /// The company's signer (its DID's current wallet key) and the
    /// verification method id under which the key is on the ledger.
    async fn company_signer(
        &self,
        company: &crate::db::companies::Company,
    ) -> Result<(idelta_wallet::WalletSigner, String)> {
        let wallet = self.tenants.wallets().open(&company.id).await.map_err(TenantError::from)?;
        // Loaded once per key: a rotation gives the company a new key id.
        let signer = self.tenants.ledger().company_signer(&wallet, &company.key_id).await.map_err(TenantError::from)?;
        let public = signer.public_key().to_multibase();
        let verification_method = self.verification_method(&company.did, &company.key_id, &public).await?;
        Ok((signer, verification_method))
    }

    /// The `assertionMethod` id under which the company DID's current key
    /// is published on the ledger (resolved with its proof checked).
    async fn verification_method(&self, did: &str, key_id: &str, public: &str) -> Result<String> {
        let cache_key = (did.to_owned(), key_id.to_owned());
        if let Some(id) = self.methods.lock().get(&cache_key) {
            return Ok(id.clone());
        }
        let parsed: Did =
            did.parse().map_err(|e: idelta_types::Error| TenantError::Invalid(format!("company DID: {e}")))?;
        let document =
            self.tenants.ledger().client().resolve(&parsed, &Default::default()).await?.into_active_document()?;
        let id = document
            .assertion_method
            .iter()
            .filter_map(|id| document.method(id))
            .find(|m| m.public_key_multibase == public)
            .map(|m| m.id.clone())
            .ok_or_else(|| {
                CredentialError::KeyNotPublished(
                    "the company's current key is not an assertionMethod of its DID document on the ledger".into(),
                )
            })?;
        let mut methods = self.methods.lock();
        if methods.len() >= METHODS_CAPACITY {
            methods.clear();
        }
        methods.insert(cache_key, id.clone());
        Ok(id)
    }

    fn resolver(&self) -> LedgerKeyResolver {
        self.resolver.clone()
    }

    /// Issues `credential` as `company`: checks its shape, sets or checks
    /// `issuer`, defaults `validFrom` to now, adds `credentialStatus` entries
    /// (revocation and suspension) unless `with_status` is false, and adds a
    /// Data Integrity proof (`assertionMethod`) signed by the company DID's
    /// current key. With a `holder`, the subject is bound to it first, and
    /// an employee holder's sub-wallet stores the result last
    /// ([`holding`] says why in that order).
    pub async fn issue(
        &self,
        company: &str,
        credential: Value,
        securing: Securing,
        with_status: bool,
        holder: Option<&holding::HolderOption>,
        now_ms: i64,
    ) -> Result<IssuedCredential> {
        self.issue_to(company, credential, securing, with_status, holder.map(Recipient::Requested), now_ms).await
    }

    /// [`Credentials::issue`] to a [`Recipient`]: an `options.holder`, or
    /// an employee of any company on this agent.
    pub(crate) async fn issue_to(
        &self,
        company: &str,
        credential: Value,
        securing: Securing,
        with_status: bool,
        holder: Option<Recipient<'_>>,
        now_ms: i64,
    ) -> Result<IssuedCredential> {
        let Value::Object(mut credential) = credential else {
            return Err(invalid("credential must be a JSON object"));
        };
        check_shape(&credential)?;
        let company = self.tenants.company(company).await?;
        if company.status != "active" {
            return Err(TenantError::NotFound("company").into());
        }
        check_issuer(&mut credential, &company.did)?;
        let now = time_of(now_ms);
        if !credential.contains_key("validFrom") {
            credential
                .insert("validFrom".into(), data_integrity::xsd_date_time(now).map_err(CredentialError::Proof)?.into());
        }

        // Stage 2, holder binding.
        let bound = match holder {
            Some(Recipient::Requested(h)) => Some(self.bind_holder(&company, h, &mut credential).await?),
            Some(Recipient::EmployeeOf { company: of, employee }) => {
                Some(self.bind_employee_of(of, employee, &mut credential).await?)
            }
            None => None,
        };
        let holder_employee = bound.as_ref().and_then(|b| b.employee.as_deref());

        // Stage 3, schema: a credential of one of idelta's types names and
        // satisfies its schema; the schema and the company's credential
        // definition are on the ledger before it is signed.
        let credential_type = schemas::apply(&mut credential)?;
        let (signer, verification_method) = self.company_signer(&company).await?;
        let bbs_key = match securing {
            Securing::Bbs { .. } => Some(self.bbs_key(&company).await?),
            _ => None,
        };
        if let Some(t) = credential_type {
            let bbs_method = match &bbs_key {
                Some(k) => Some(k.clone()),
                None => self.existing_bbs_key(&company).await?,
            };
            let bbs_method = bbs_method.map(|k| k.verification_method);
            self.anchor_type(&company, t, &verification_method, bbs_method.as_deref()).await?;
        }

        // Stage 4, status, recording the holder employee for revocation on
        // removal. An SD-JWT VC's status is a Token Status List claim
        // instead (passed to stage 5 as `status`).
        let sd_jwt_format = matches!(securing, Securing::SdJwt { .. });
        let mut token_status = None;
        let credential_id = if !with_status {
            None
        } else if sd_jwt_format {
            let (id, claim) = self.add_token_status(&company.id, holder_employee, now_ms).await?;
            token_status = Some(claim);
            Some(id)
        } else {
            Some(self.add_status(&company.id, &mut credential, holder_employee, now_ms).await?)
        };

        // Stage 5, securing by format.
        let credential = match securing {
            Securing::SdJwt { disclosable } => {
                let parts = sd_jwt::SdJwtParts {
                    issuer: &company.did,
                    kid: &verification_method,
                    disclosable: disclosable.as_deref(),
                    holder_jwk: bound.as_ref().and_then(|b| b.jwk()),
                    // Stage 4 for dc+sd-jwt: the Token Status List claim.
                    status: token_status,
                    now_ms,
                };
                sd_jwt::secure(&credential, parts, &signer).await?
            }
            Securing::Bbs { mandatory_pointers } => {
                // Made in stage 3 and remembered: no second ledger write.
                let key = self.bbs_key(&company).await?;
                self.secure_bbs(&company, &key, credential, &mandatory_pointers).await?
            }
            Securing::DataIntegrity(suite) => {
                let options = ProofOptions {
                    cryptosuite: suite,
                    verification_method,
                    proof_purpose: ProofPurpose::AssertionMethod,
                    created: now,
                    challenge: None,
                    domain: None,
                };
                add_proof(Value::Object(credential), options, &signer).await.map_err(|e| match e {
                    data_integrity::Error::Canonicalization(d) => {
                        invalid(format!("credential cannot be canonicalized: {d}"))
                    }
                    data_integrity::Error::NotAnObject => invalid("credential must be a JSON object"),
                    other => CredentialError::Proof(other),
                })?
            }
        };

        // Stage 6, holding: an employee's sub-wallet keeps it.
        if let Some(holding::BoundHolder { employee: Some(employee), company: Some(holder_company), .. }) = &bound {
            self.hold(holder_company, employee, &credential, now_ms).await?;
        }
        Ok(IssuedCredential { credential, credential_id })
    }

    /// Verifies a credential's Data Integrity proof (`assertionMethod`),
    /// its issuer on the ledger and its validity period at `now_ms`, its
    /// status and schema, reading the ledger at one tree head.
    pub async fn verify_credential(&self, credential: &Value, now_ms: i64) -> Report {
        crate::resolver::at_one_tree_head(async {
            let enveloped = self.verify_enveloped(credential, sd_jwt::ENVELOPED_CREDENTIAL, None, now_ms);
            if let Some(report) = enveloped.await {
                return report;
            }
            let mut report = self.verify_credential_proof(credential, now_ms).await;
            self.check_status(&mut report, credential, now_ms).await;
            idelta_verifier::schema::check(credential, &mut report, "schema");
            report
        })
        .await
    }

    /// The proof checks of a Data Integrity credential, by cryptosuite:
    /// `bbs-2023` derived proofs (`verifier::bbs_2023`, no presentation
    /// header required) or the EdDSA suites.
    async fn verify_credential_proof(&self, credential: &Value, now_ms: i64) -> Report {
        let now = time_of(now_ms);
        if idelta_verifier::bbs_2023::is_bbs_2023(credential) {
            let expected = idelta_verifier::bbs_2023::Expectations { presentation_header: None, now };
            return idelta_verifier::bbs_2023::verify(credential, &self.resolver(), &expected).await;
        }
        let expected = Expectations { purpose: Relationship::AssertionMethod, challenge: None, domain: None, now };
        verify(credential, &self.resolver(), expected).await
    }

    /// Verifies a presentation's proof (`authentication`, bound to
    /// `challenge` and `domain` when given) and every credential in it.
    pub async fn verify_presentation(
        &self,
        presentation: &Value,
        challenge: Option<String>,
        domain: Option<String>,
        now_ms: i64,
    ) -> Report {
        crate::resolver::at_one_tree_head(async {
            let binding = Some((challenge.clone(), domain.clone()));
            let enveloped = self.verify_enveloped(presentation, sd_jwt::ENVELOPED_PRESENTATION, binding, now_ms);
            if let Some(report) = enveloped.await {
                return report;
            }
            let expected =
                Expectations { purpose: Relationship::Authentication, challenge, domain, now: time_of(now_ms) };
            let mut report = verify(presentation, &self.resolver(), expected).await;
            self.check_status(&mut report, presentation, now_ms).await;
            let embedded = match presentation.get("verifiableCredential") {
                Some(Value::Array(vcs)) => vcs.iter().collect(),
                Some(vc) => vec![vc],
                None => Vec::new(),
            };
            for (i, vc) in embedded.into_iter().enumerate() {
                idelta_verifier::schema::check(vc, &mut report, &format!("credential[{i}].schema"));
            }
            report
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn the_shape_check_names_what_is_wrong() {
        let good = json!({
            "@context": [contexts::CREDENTIALS_V2],
            "type": ["VerifiableCredential"],
            "credentialSubject": { "id": "did:example:1" },
        });
        check_shape(&object(good.clone())).unwrap();
        let cases = [
            ("@context", json!(["https://www.w3.org/2018/credentials/v1"]), "@context"),
            ("type", json!(["Thing"]), "type"),
            ("credentialSubject", json!("x"), "credentialSubject"),
            ("proof", json!({}), "proof"),
            ("validFrom", json!("yesterday"), "validFrom"),
        ];
        for (key, value, named) in cases {
            let mut c = object(good.clone());
            c.insert(key.into(), value);
            let e = check_shape(&c).unwrap_err().to_string();
            assert!(e.contains(named), "{key}: {e}");
        }
        let mut c = object(good);
        c.remove("credentialSubject");
        assert!(check_shape(&c).unwrap_err().to_string().contains("credentialSubject"));
    }

    #[test]
    fn a_company_issues_only_as_itself() {
        let mut c = object(json!({}));
        check_issuer(&mut c, "did:idelta:a").unwrap();
        assert_eq!(c["issuer"], "did:idelta:a");
        check_issuer(&mut object(json!({ "issuer": { "id": "did:idelta:a", "name": "A" } })), "did:idelta:a").unwrap();
        for other in [json!("did:idelta:b"), json!({ "id": "did:idelta:b" })] {
            let e = check_issuer(&mut object(json!({ "issuer": other })), "did:idelta:a").unwrap_err();
            assert!(matches!(e, CredentialError::WrongIssuer(_)), "{e}");
            assert!(!e.to_string().contains("did:idelta:a"), "the refusal repeats the DID: {e}");
        }
        let e = check_issuer(&mut object(json!({ "issuer": 7 })), "did:idelta:a").unwrap_err();
        assert!(matches!(e, CredentialError::Invalid(_)), "{e}");
    }
}
