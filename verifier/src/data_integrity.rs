//! Verifying Data Integrity proofs (`eddsa-rdfc-2022`, `eddsa-jcs-2022`) on
//! VC Data Model 2.0 credentials and presentations.
//!
//! Follows VC Data Integrity 1.0 §4.4 (Verify Proof) and Data Integrity
//! EdDSA Cryptosuites v1.0 §3.2.2 / §3.3.2 (Verify Proof for each suite),
//! recomputing the signed data with [`idelta_issuer::data_integrity::hash_data`]
//! so issuer and verifier cannot drift apart. Each step is a named check in
//! the [`Report`]:
//!
//! - `proof`: one well-formed `DataIntegrityProof` with a supported
//!   cryptosuite, the expected `proofPurpose` and a base58btc `proofValue`;
//! - `issuer`: the verification method resolves under the relationship the
//!   purpose requires (DID Core §5.3) and its controller is the credential's
//!   `issuer` or the presentation's `holder` (VC Data Model 2.0 §4.7, §4.13);
//! - `signature`: Ed25519 over `SHA-256(proof config) ‖ SHA-256(document)`;
//! - `validity`: `validFrom` / `validUntil` against `now` (VC DM 2.0 §4.9);
//! - `challenge`, `domain`: when the verifier expects them (VC Data
//!   Integrity 1.0 §2.1).
//!
//! A presentation's embedded credentials are verified too, their checks
//! named `credential[i].<check>`; a `bbs-2023` derived credential among
//! them goes to [`crate::bbs_2023`]. Time is a parameter; contexts are bundled
//! and never fetched.

use idelta_issuer::data_integrity::{hash_data, proof_configuration, Cryptosuite};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::report::Report;
use crate::resolver::{KeyResolver, Relationship};

/// What the verifier requires of the proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectations {
    /// The proof purpose, and so the DID relationship the key must be under:
    /// `AssertionMethod` for credentials, `Authentication` for presentations.
    pub purpose: Relationship,
    /// The challenge the verifier issued, if any; the proof must carry it.
    pub challenge: Option<String>,
    /// The domain the verifier expects, if any; the proof must carry it.
    pub domain: Option<String>,
    /// The time to check validity against.
    pub now: OffsetDateTime,
}

/// A well-formed proof, from the `proof` check.
struct Proof {
    suite: Cryptosuite,
    verification_method: String,
    signature: Vec<u8>,
    map: Map<String, Value>,
}

/// Verifies `document`, a credential or presentation secured with one Data
/// Integrity proof, and reports every check.
pub async fn verify(document: &Value, resolver: &dyn KeyResolver, expected: Expectations) -> Report {
    let mut report = Report::new();
    verify_into(&mut report, "", document, resolver, &expected).await;
    report
}

fn is_presentation(document: &Map<String, Value>) -> bool {
    match document.get("type") {
        Some(Value::String(t)) => t == "VerifiablePresentation",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "VerifiablePresentation"),
        _ => false,
    }
}

async fn verify_into(
    report: &mut Report,
    prefix: &str,
    document: &Value,
    resolver: &dyn KeyResolver,
    expected: &Expectations,
) {
    let name = |check: &str| format!("{prefix}{check}");
    let Some(document) = document.as_object() else {
        report.check(&name("proof"), Err("the document is not a JSON object".into()));
        return;
    };
    let presentation = is_presentation(document);
    let mut unsecured = document.clone();
    let proof = unsecured.remove("proof");
    let proof = match parse_proof(proof.as_ref(), expected.purpose) {
        Ok(p) => {
            report.check(&name("proof"), Ok(()));
            Some(p)
        }
        Err(e) => {
            report.check(&name("proof"), Err(e));
            None
        }
    };

    if let Some(proof) = &proof {
        let party = if presentation { "holder" } else { "issuer" };
        let key = match resolver.resolve_key(&proof.verification_method, expected.purpose).await {
            Ok(key) => {
                let outcome = match party_id(document, party) {
                    Some(id) if id == key.controller.as_str() => Ok(()),
                    Some(id) => Err(format!(
                        "{} is controlled by {}, not by the {party} {id}",
                        proof.verification_method,
                        key.controller.as_str()
                    )),
                    None => Err(format!("the document names no {party}")),
                };
                report.check(&name("issuer"), outcome);
                Some(key)
            }
            Err(e) => {
                report.check(&name("issuer"), Err(e.to_string()));
                None
            }
        };
        let signature = match key {
            None => Err("no key to check the signature with".to_owned()),
            Some(key) => proof_configuration(proof.suite, &unsecured, &proof.map)
                .and_then(|config| hash_data(proof.suite, &Value::Object(unsecured.clone()), &config))
                .map_err(|e| e.to_string())
                .and_then(|data| key.key.verify(&data, &proof.signature).map_err(|e| e.to_string())),
        };
        report.check(&name("signature"), signature);
    }

    report.check(&name("validity"), validity(document, expected.now));

    if let Some(want) = &expected.challenge {
        let got = proof.as_ref().and_then(|p| p.map.get("challenge")).and_then(Value::as_str);
        let outcome = match got {
            Some(got) if got == want => Ok(()),
            Some(got) => Err(format!("challenge `{got}` is not the expected `{want}`")),
            None => Err("the proof carries no challenge".into()),
        };
        report.check(&name("challenge"), outcome);
    }
    if let Some(want) = &expected.domain {
        let got = proof.as_ref().and_then(|p| p.map.get("domain"));
        let outcome = match got {
            Some(Value::String(d)) if d == want => Ok(()),
            Some(Value::Array(ds)) if ds.iter().any(|d| d == want.as_str()) => Ok(()),
            Some(other) => Err(format!("domain {other} does not include the expected `{want}`")),
            None => Err("the proof carries no domain".into()),
        };
        report.check(&name("domain"), outcome);
    }

    if presentation {
        let credentials = match document.get("verifiableCredential") {
            None => Vec::new(),
            Some(Value::Array(vcs)) => vcs.iter().collect(),
            Some(vc) => vec![vc],
        };
        for (i, vc) in credentials.into_iter().enumerate() {
            let inner_prefix = format!("{prefix}credential[{i}].");
            if crate::bbs_2023::is_bbs_2023(vc) {
                // A derived bbs-2023 credential: its own checks, named
                // like those of an EdDSA one.
                let inner = crate::bbs_2023::Expectations { presentation_header: None, now: expected.now };
                for check in crate::bbs_2023::verify(vc, resolver, &inner).await.checks {
                    let outcome = if check.passed { Ok(()) } else { Err(check.detail.unwrap_or_default()) };
                    report.check(&format!("{inner_prefix}{}", check.name), outcome);
                }
                continue;
            }
            let inner = Expectations {
                purpose: Relationship::AssertionMethod,
                challenge: None,
                domain: None,
                now: expected.now,
            };
            Box::pin(verify_into(report, &inner_prefix, vc, resolver, &inner)).await;
        }
    }
}

/// The one `DataIntegrityProof` object of a document (proof sets and
/// chains are not supported), shared by every cryptosuite's parsing.
pub(crate) fn data_integrity_proof(proof: Option<&Value>) -> Result<Map<String, Value>, String> {
    let map = match proof {
        None => return Err("the document has no proof".into()),
        Some(Value::Object(map)) => map.clone(),
        Some(Value::Array(_)) => return Err("proof sets are not supported: expected one proof".into()),
        Some(_) => return Err("the proof is not an object".into()),
    };
    if map.get("type").and_then(Value::as_str) != Some("DataIntegrityProof") {
        return Err(format!("proof type {:?} is not DataIntegrityProof", map.get("type")));
    }
    Ok(map)
}

fn parse_proof(proof: Option<&Value>, purpose: Relationship) -> Result<Proof, String> {
    let map = data_integrity_proof(proof)?;
    let field = |key: &str| map.get(key).and_then(Value::as_str);
    let suite: Cryptosuite = field("cryptosuite")
        .ok_or("the proof has no cryptosuite")?
        .parse()
        .map_err(|e: idelta_issuer::data_integrity::Error| e.to_string())?;
    let got_purpose = field("proofPurpose").ok_or("the proof has no proofPurpose")?;
    if got_purpose != purpose.as_str() {
        return Err(format!("proofPurpose `{got_purpose}` is not the expected `{}`", purpose.as_str()));
    }
    let verification_method = field("verificationMethod").ok_or("the proof has no verificationMethod")?.to_owned();
    if let Some(created) = map.get("created") {
        let created = created.as_str().ok_or("created is not a string")?;
        OffsetDateTime::parse(created, &Rfc3339).map_err(|e| format!("created `{created}`: {e}"))?;
    }
    let proof_value = field("proofValue").ok_or("the proof has no proofValue")?;
    let (base, signature) = multibase::decode(proof_value).map_err(|e| format!("proofValue: {e}"))?;
    if base != multibase::Base::Base58Btc {
        return Err("proofValue must be multibase base58btc (`z`)".into());
    }
    if signature.len() != 64 {
        return Err(format!("an Ed25519 signature is 64 bytes, proofValue has {}", signature.len()));
    }
    Ok(Proof { suite, verification_method, signature, map })
}

/// The id of `issuer` or `holder`: a URL, or an object with an `id`.
pub(crate) fn party_id<'a>(document: &'a Map<String, Value>, party: &str) -> Option<&'a str> {
    match document.get(party)? {
        Value::String(id) => Some(id),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// `validFrom` / `validUntil` against `now` (VC Data Model 2.0 §4.9).
pub(crate) fn validity(document: &Map<String, Value>, now: OffsetDateTime) -> Result<(), String> {
    let time = |key: &str| -> Result<Option<OffsetDateTime>, String> {
        match document.get(key) {
            None => Ok(None),
            Some(Value::String(t)) => {
                OffsetDateTime::parse(t, &Rfc3339).map(Some).map_err(|e| format!("{key} `{t}`: {e}"))
            }
            Some(other) => Err(format!("{key} {other} is not a dateTime")),
        }
    };
    if let Some(from) = time("validFrom")? {
        if now < from {
            return Err(format!("not valid before {}", document["validFrom"]));
        }
    }
    if let Some(until) = time("validUntil")? {
        if now > until {
            return Err(format!("expired at {}", document["validUntil"]));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use idelta_issuer::data_integrity::{add_proof, contexts, ProofOptions, ProofPurpose};
    use serde_json::json;

    use super::*;
    use crate::resolver::DidKeyResolver;

    use idelta_types::LocalSigner as TestSigner;

    const SUITES: [Cryptosuite; 2] = [Cryptosuite::EddsaJcs2022, Cryptosuite::EddsaRdfc2022];

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    /// 2025-06-01, inside the credential's validity period.
    fn now() -> OffsetDateTime {
        at(1_748_736_000)
    }

    fn credential(issuer: &str) -> Value {
        json!({
            "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
            "type": ["VerifiableCredential", "BenefitOwnershipCredential"],
            "issuer": issuer,
            "validFrom": "2025-01-01T00:00:00Z",
            "validUntil": "2026-01-01T00:00:00Z",
            "credentialSubject": {
                "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                "benefit": "dental",
                "benefitDid": "did:idelta:benefit1",
                "owner": "did:idelta:employee7"
            }
        })
    }

    async fn issue(doc: Value, suite: Cryptosuite, signer: &TestSigner) -> Value {
        let opts = ProofOptions {
            cryptosuite: suite,
            verification_method: signer.did_key_url(),
            proof_purpose: ProofPurpose::AssertionMethod,
            created: at(1_735_689_600),
            challenge: None,
            domain: None,
        };
        add_proof(doc, opts, signer).await.unwrap()
    }

    fn for_credentials() -> Expectations {
        Expectations { purpose: Relationship::AssertionMethod, challenge: None, domain: None, now: now() }
    }

    async fn failures(doc: &Value, expected: Expectations) -> Vec<String> {
        let report = verify(doc, &DidKeyResolver, expected).await;
        assert_eq!(report.verified, report.failures().next().is_none());
        report.failures().map(|c| c.name.clone()).collect()
    }

    #[tokio::test]
    async fn issued_credentials_verify_and_report_each_check() {
        let signer = TestSigner::from_seed([3; 32]);
        for suite in SUITES {
            let vc = issue(credential(&signer.did_key()), suite, &signer).await;
            let report = verify(&vc, &DidKeyResolver, for_credentials()).await;
            assert!(report.verified, "{suite}: {report:?}");
            for check in ["proof", "issuer", "signature", "validity"] {
                assert!(report.passed(check), "{suite}: {check}");
            }
        }
    }

    #[tokio::test]
    async fn tampering_fails_the_named_check() {
        let signer = TestSigner::from_seed([3; 32]);
        let other = TestSigner::from_seed([4; 32]);
        for suite in SUITES {
            let vc = issue(credential(&signer.did_key()), suite, &signer).await;

            let mut changed = vc.clone();
            changed["credentialSubject"]["benefit"] = "platinum".into();
            assert_eq!(failures(&changed, for_credentials()).await, ["signature"], "{suite}: changed claim");

            // A member no context defines is not silently left out of what
            // is checked: JCS signs it, RDFC's safe mode refuses it.
            let mut added = vc.clone();
            added["credentialSubject"]["undefinedClaim"] = "unsigned".into();
            assert_eq!(failures(&added, for_credentials()).await, ["signature"], "{suite}: added undefined member");

            let mut flipped = vc.clone();
            let pv = flipped["proof"]["proofValue"].as_str().unwrap();
            let (_, mut sig) = multibase::decode(pv).unwrap();
            sig[10] ^= 1;
            flipped["proof"]["proofValue"] = multibase::encode(multibase::Base::Base58Btc, sig).into();
            assert_eq!(failures(&flipped, for_credentials()).await, ["signature"], "{suite}: flipped byte");

            // Signed by another key than the issuer's.
            let forged = issue(credential(&signer.did_key()), suite, &other).await;
            assert_eq!(failures(&forged, for_credentials()).await, ["issuer"], "{suite}: another issuer");

            let late = Expectations { now: at(1_800_000_000), ..for_credentials() };
            assert_eq!(failures(&vc, late).await, ["validity"], "{suite}: expired");
            let early = Expectations { now: at(1_700_000_000), ..for_credentials() };
            assert_eq!(failures(&vc, early).await, ["validity"], "{suite}: not yet valid");

            let wrong_purpose = Expectations { purpose: Relationship::Authentication, ..for_credentials() };
            assert_eq!(failures(&vc, wrong_purpose).await, ["proof"], "{suite}: purpose");

            let mut unsupported = vc.clone();
            unsupported["proof"]["cryptosuite"] = "ecdsa-rdfc-2019".into();
            assert_eq!(failures(&unsupported, for_credentials()).await, ["proof"], "{suite}: cryptosuite");

            let mut bare = vc.clone();
            bare.as_object_mut().unwrap().remove("proof");
            assert_eq!(failures(&bare, for_credentials()).await, ["proof"], "{suite}: no proof");
        }
    }

    #[tokio::test]
    async fn presentations_check_challenge_domain_and_each_credential() {
        let issuer = TestSigner::from_seed([5; 32]);
        let holder = TestSigner::from_seed([6; 32]);
        for suite in SUITES {
            let vc = issue(credential(&issuer.did_key()), suite, &issuer).await;
            let present = |vc: Value| {
                let vp = json!({
                    "@context": [contexts::CREDENTIALS_V2],
                    "type": ["VerifiablePresentation"],
                    "holder": holder.did_key(),
                    "verifiableCredential": [vc],
                });
                let opts = ProofOptions {
                    cryptosuite: suite,
                    verification_method: holder.did_key_url(),
                    proof_purpose: ProofPurpose::Authentication,
                    created: at(1_748_736_000),
                    challenge: Some("nonce-42".into()),
                    domain: Some("https://verifier.example".into()),
                };
                add_proof(vp, opts, &holder)
            };
            let expected = |challenge: &str| Expectations {
                purpose: Relationship::Authentication,
                challenge: Some(challenge.into()),
                domain: Some("https://verifier.example".into()),
                now: now(),
            };
            let vp = present(vc.clone()).await.unwrap();
            let report = verify(&vp, &DidKeyResolver, expected("nonce-42")).await;
            assert!(report.verified, "{suite}: {report:?}");
            assert!(report.passed("credential[0].signature") && report.passed("challenge") && report.passed("domain"));

            assert_eq!(failures(&vp, expected("nonce-other")).await, ["challenge"], "{suite}: wrong challenge");
            let wrong_domain = Expectations { domain: Some("https://evil.example".into()), ..expected("nonce-42") };
            assert_eq!(failures(&vp, wrong_domain).await, ["domain"], "{suite}");

            let mut tampered_vc = vc.clone();
            tampered_vc["credentialSubject"]["owner"] = "did:idelta:mallory".into();
            let vp = present(tampered_vc).await.unwrap();
            assert_eq!(failures(&vp, expected("nonce-42")).await, ["credential[0].signature"], "{suite}");
        }
    }
}
