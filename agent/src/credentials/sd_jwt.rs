//! SD-JWT VC through the W3C VC API: issuing (stage 5, securing, when
//! `options.format` is `dc+sd-jwt`) and verifying credentials and
//! presentations in the enveloped form of VC Data Model 2.0 §4.13 and
//! VC-JOSE-COSE §3: `{ "type": "EnvelopedVerifiableCredential", "id":
//! "data:application/dc+sd-jwt,<sd-jwt>" }` (and
//! `EnvelopedVerifiablePresentation` for a presentation with its Key
//! Binding JWT).
//!
//! **From a VC 2.0 credential to SD-JWT VC claims** (SD-JWT VC §3.2): the
//! subject's claims become the payload's claims, its `id` the `sub`; the
//! issuer (the company DID) is `iss`, signed under `kid` = the DID's
//! verification method on the ledger; the type is `vct` (the schema URL for
//! idelta's types, else the credential's most specific type); `validUntil`
//! is `exp`, and issuance is `iat` (a `validFrom` in the future cannot be
//! said without `nbf` and is refused). `credentialSchema` is what `vct`
//! says; any other credential member has no SD-JWT VC counterpart and is
//! refused rather than dropped. `options.disclosable` lists JSON pointers
//! into `credentialSubject` (RFC 6901) of what the holder may disclose
//! selectively; by default every top-level claim but `id`. `cnf.jwk` is
//! the holder's key when holder binding (stage 2) names one, and `status`
//! the Token Status List entry when stage 4 gives one.
//!
//! **Verification** resolves the issuer's `kid` with the agent's
//! [`LedgerKeyResolver`](crate::resolver::LedgerKeyResolver)
//! (`assertionMethod` on the ledger, proof checked; `did:key` locally), so
//! a credential under another issuer's key fails the `signature` check. A
//! presentation must carry a Key Binding JWT whose `nonce` is the
//! verifier's challenge and whose `aud` its domain (checks `challenge` and
//! `domain`). The disclosed claims of one of idelta's types are checked
//! against its schema (`schema`).

use super::holding::SD_JWT_DATA_PREFIX;
use super::{invalid, time_of, Credentials, Result};
use idelta_issuer::sd_jwt::{self, Jwk, Request};
use idelta_issuer::types;
use idelta_types::signer::Signer;
use idelta_verifier::sd_jwt::{verify, Expectations};
use idelta_verifier::{schema, Report};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The type of an enveloped credential (VC 2.0 §4.13.1).
pub const ENVELOPED_CREDENTIAL: &str = "EnvelopedVerifiableCredential";
/// The type of an enveloped presentation (VC 2.0 §4.13.2).
pub const ENVELOPED_PRESENTATION: &str = "EnvelopedVerifiablePresentation";

/// Decoy digests per `_sd` array (SD-JWT §4.2.5): the number of claims a
/// credential has is not told by the number of digests.
const DECOYS: usize = 2;

/// Members of a VC 2.0 credential that an SD-JWT VC expresses.
const MAPPED: [&str; 7] =
    ["@context", "type", "issuer", "credentialSubject", "validFrom", "validUntil", "credentialSchema"];

/// Wraps a compact SD-JWT as an enveloped credential.
pub fn envelope(compact: &str) -> Value {
    json!({
        "@context": [idelta_issuer::data_integrity::contexts::CREDENTIALS_V2],
        "type": ENVELOPED_CREDENTIAL,
        "id": format!("{SD_JWT_DATA_PREFIX}{compact}"),
    })
}

fn has_type(value: &Value, wanted: &str) -> bool {
    match value.get("type") {
        Some(Value::String(t)) => t == wanted,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == wanted),
        _ => false,
    }
}

/// `Some` when `value` is an enveloped credential or presentation of type
/// `kind`: the compact SD-JWT it carries, or why it carries none.
pub fn enveloped<'a>(value: &'a Value, kind: &str) -> Option<std::result::Result<&'a str, String>> {
    if !has_type(value, kind) {
        return None;
    }
    let id = value.get("id").and_then(Value::as_str).unwrap_or_default();
    Some(id.strip_prefix(SD_JWT_DATA_PREFIX).filter(|c| !c.is_empty()).ok_or_else(|| {
        format!("an {kind} must have an id `{SD_JWT_DATA_PREFIX}<sd-jwt>`: other envelopes are not supported")
    }))
}

/// What a secured SD-JWT VC is made of, besides the signer.
pub(super) struct SdJwtParts<'a> {
    /// The company DID (`iss`).
    pub issuer: &'a str,
    /// The verification method that signs (`kid`).
    pub kid: &'a str,
    /// JSON pointers into `credentialSubject` to make selectively
    /// disclosable; `None`: every top-level claim but `id`.
    pub disclosable: Option<&'a [String]>,
    /// The holder's key (`cnf.jwk`), from holder binding (stage 2).
    pub holder_jwk: Option<Jwk>,
    /// The Token Status List reference (`status`), from stage 4.
    pub status: Option<Value>,
    /// Milliseconds since the epoch (`iat`).
    pub now_ms: i64,
}

fn timestamp(credential: &Map<String, Value>, key: &str) -> Result<Option<OffsetDateTime>> {
    let Some(v) = credential.get(key) else { return Ok(None) };
    v.as_str()
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .map(Some)
        .ok_or_else(|| invalid(format!("credential.{key} must be an XML Schema dateTime with a time zone")))
}

/// The SD-JWT VC request for a (shape-checked, schema-checked) credential.
fn request(credential: &Map<String, Value>, parts: SdJwtParts<'_>) -> Result<Request> {
    if let Some(other) = credential.keys().find(|k| !MAPPED.contains(&k.as_str())) {
        return Err(invalid(format!(
            "credential.{other} has no counterpart in an SD-JWT VC (dc+sd-jwt carries the subject's claims, \
             issuer, type and validity): remove it or issue with a Data Integrity cryptosuite"
        )));
    }
    let Some(Value::Object(subject)) = credential.get("credentialSubject") else {
        return Err(invalid(
            "credential.credentialSubject must be one object for dc+sd-jwt (one subject per SD-JWT VC)",
        ));
    };
    let iat = time_of(parts.now_ms);
    if timestamp(credential, "validFrom")?.is_some_and(|from| from > iat) {
        return Err(invalid("credential.validFrom must not be in the future for dc+sd-jwt"));
    }
    let exp = timestamp(credential, "validUntil")?;

    let mut claims = subject.clone();
    if let Some(id) = claims.remove("id") {
        let Value::String(id) = id else { return Err(invalid("credential.credentialSubject.id must be a URL")) };
        if claims.contains_key("sub") {
            return Err(invalid("credential.credentialSubject has both id and sub"));
        }
        claims.insert("sub".into(), Value::String(id));
    }
    let disclose: Vec<String> = match parts.disclosable {
        None => subject.keys().filter(|k| *k != "id").cloned().collect(),
        Some(pointers) => {
            for p in pointers {
                if !p.starts_with('/') || p.len() < 2 {
                    return Err(invalid(format!(
                        "options.disclosable: `{p}` must be a JSON pointer into credentialSubject, such as /employer"
                    )));
                }
                if p == "/id" || p.starts_with("/id/") {
                    return Err(invalid(
                        "options.disclosable: credentialSubject.id is the SD-JWT's sub and stays visible",
                    ));
                }
            }
            pointers.to_vec()
        }
    };
    let vct = match types::of_types(credential.get("type")).map_err(|e| invalid(e.to_string()))? {
        Some(t) => t.schema_id.to_owned(),
        None => most_specific_type(credential)?,
    };
    Ok(Request {
        claims,
        disclose,
        vct,
        issuer: parts.issuer.to_owned(),
        kid: parts.kid.to_owned(),
        holder_jwk: parts.holder_jwk,
        status: parts.status,
        iat,
        exp,
        decoys: DECOYS,
    })
}

/// The last type other than `VerifiableCredential`, as `vct`.
fn most_specific_type(credential: &Map<String, Value>) -> Result<String> {
    let listed: Vec<&str> = match credential.get("type") {
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(t)) => vec![t.as_str()],
        _ => Vec::new(),
    };
    listed
        .into_iter()
        .rev()
        .find(|t| *t != "VerifiableCredential")
        .map(str::to_owned)
        .ok_or_else(|| invalid("credential.type needs a type besides VerifiableCredential to be the SD-JWT's vct"))
}

/// Secures a credential as an SD-JWT VC signed by `signer` and answers it
/// enveloped.
pub(super) async fn secure(
    credential: &Map<String, Value>,
    parts: SdJwtParts<'_>,
    signer: &dyn Signer,
) -> Result<Value> {
    let req = request(credential, parts)?;
    let compact = sd_jwt::issue(&req, signer).await.map_err(|e| match e {
        sd_jwt::Error::Disclose { .. } | sd_jwt::Error::Invalid(_) => invalid(format!("dc+sd-jwt: {e}")),
        other => super::CredentialError::Proof(idelta_issuer::data_integrity::Error::Sign(other.to_string())),
    })?;
    Ok(envelope(&compact))
}

impl Credentials {
    /// Verifies `value` when it is an enveloped SD-JWT VC (or presentation)
    /// of type `kind`, and answers `None` for any other form. Without
    /// `binding` a credential is verified; with it, a presentation whose
    /// Key Binding JWT must answer the challenge (`nonce`) and domain
    /// (`aud`) given. Checks: format, signature (issuer key on the ledger),
    /// disclosures, validity, key binding, and the disclosed claims against
    /// idelta's schema for the `vct`.
    pub(super) async fn verify_enveloped(
        &self,
        value: &Value,
        kind: &str,
        binding: Option<(Option<String>, Option<String>)>,
        now_ms: i64,
    ) -> Option<Report> {
        let compact = match enveloped(value, kind)? {
            Ok(compact) => compact,
            Err(e) => {
                let mut report = Report::new();
                report.check("format", Err(e));
                return Some(report);
            }
        };
        let mut expected = Expectations::new(time_of(now_ms));
        if let Some((challenge, domain)) = binding {
            expected.require_key_binding = true;
            expected.nonce = challenge;
            expected.aud = domain;
        }
        let (mut report, claims) = verify(compact, &self.resolver(), &expected).await;
        if let Some(claims) = claims {
            schema::check_sd_jwt_claims(&claims, &mut report);
            self.check_token_claim(&mut report, &claims, now_ms).await;
        }
        Some(report)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const DID: &str = "did:idelta:zIssuer";
    const KID: &str = "did:idelta:zIssuer#key-1";

    fn parts(disclosable: Option<&[String]>) -> SdJwtParts<'_> {
        SdJwtParts { issuer: DID, kid: KID, disclosable, holder_jwk: None, status: None, now_ms: 1_700_000_000_000 }
    }

    fn employee() -> Map<String, Value> {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://idelta.example/contexts/v1"],
            "type": ["VerifiableCredential", "EmployeeCredential"],
            "issuer": DID,
            "validFrom": "2023-01-01T00:00:00Z",
            "validUntil": "2030-01-01T00:00:00Z",
            "credentialSchema": { "id": "https://idelta.example/schemas/EmployeeCredential", "type": "JsonSchema" },
            "credentialSubject": { "id": "did:key:z6Mkholder", "employer": "Acme", "employeeId": "E-1", "role": "cto" },
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn a_credential_becomes_sd_jwt_vc_claims() {
        let req = request(&employee(), parts(None)).unwrap();
        assert_eq!(req.vct, "https://idelta.example/schemas/EmployeeCredential");
        assert_eq!(req.claims["sub"], "did:key:z6Mkholder");
        assert!(!req.claims.contains_key("id"));
        assert_eq!(req.claims["employer"], "Acme");
        let mut disclose = req.disclose.clone();
        disclose.sort();
        assert_eq!(disclose, ["employeeId", "employer", "role"], "every claim but id by default");
        assert_eq!(req.exp.map(|e| e.unix_timestamp()), Some(1_893_456_000));
        assert_eq!(req.iat.unix_timestamp(), 1_700_000_000);

        let chosen = ["/role".to_owned()];
        assert_eq!(request(&employee(), parts(Some(&chosen))).unwrap().disclose, ["/role"]);

        let mut other = employee();
        other.insert("type".into(), json!(["VerifiableCredential", "ExampleCredential"]));
        assert_eq!(request(&other, parts(None)).unwrap().vct, "ExampleCredential");
    }

    #[test]
    fn what_an_sd_jwt_vc_cannot_say_is_refused() {
        let refused = |c: Map<String, Value>, disclosable: Option<&[String]>, named: &str| {
            let e = request(&c, parts(disclosable)).err().unwrap().to_string();
            assert!(e.contains(named), "{named}: {e}");
        };
        let mut c = employee();
        c.insert("evidence".into(), json!([]));
        refused(c, None, "evidence");
        let mut c = employee();
        c.insert("validFrom".into(), json!("2099-01-01T00:00:00Z"));
        refused(c, None, "validFrom");
        let mut c = employee();
        c.insert("credentialSubject".into(), json!([{ "a": 1 }, { "b": 2 }]));
        refused(c, None, "one object");
        let mut c = employee();
        c.insert("type".into(), json!(["VerifiableCredential"]));
        refused(c, None, "vct");
        refused(employee(), Some(&["employer".to_owned()]), "JSON pointer");
        refused(employee(), Some(&["/id".to_owned()]), "sub");
    }

    #[test]
    fn envelopes_are_recognised_by_type_and_data_url() {
        let e = envelope("eyJ.x.y~");
        assert_eq!(enveloped(&e, ENVELOPED_CREDENTIAL), Some(Ok("eyJ.x.y~")));
        assert_eq!(enveloped(&e, ENVELOPED_PRESENTATION), None);
        assert_eq!(enveloped(&json!({ "type": ["VerifiableCredential"] }), ENVELOPED_CREDENTIAL), None);
        let other = json!({ "type": ENVELOPED_CREDENTIAL, "id": "data:application/vc+jwt,eyJ" });
        assert!(enveloped(&other, ENVELOPED_CREDENTIAL).unwrap().unwrap_err().contains("dc+sd-jwt"));
    }
}
