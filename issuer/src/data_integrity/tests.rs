//! Unit tests, and an in-memory [`TestSigner`] standing in for the wallet.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use super::*;

use idelta_types::LocalSigner as TestSigner;

fn credential(issuer: &str) -> Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "id": "urn:uuid:6a3c1f0e-3b0a-4b8e-9d55-1f1a2b3c4d5e",
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "employer": "did:idelta:acme",
            "employeeId": "E-1001",
            "role": "engineer"
        }
    })
}

fn options(suite: Cryptosuite, signer: &TestSigner) -> ProofOptions {
    ProofOptions {
        cryptosuite: suite,
        verification_method: signer.did_key_url(),
        proof_purpose: ProofPurpose::AssertionMethod,
        created: OffsetDateTime::from_unix_timestamp_nanos(1_738_555_506_789_000_000).unwrap(),
        challenge: None,
        domain: None,
    }
}

/// Recomputes the signed data of a secured document and checks the signature.
fn signature_holds(secured: &Value, signer: &TestSigner) -> bool {
    let mut doc = secured.as_object().unwrap().clone();
    let proof = doc.remove("proof").unwrap();
    let proof = proof.as_object().unwrap();
    let suite: Cryptosuite = proof["cryptosuite"].as_str().unwrap().parse().unwrap();
    let config = proof_configuration(suite, &doc, proof).unwrap();
    let data = hash_data(suite, &Value::Object(doc), &config).unwrap();
    let (_, sig) = multibase::decode(proof["proofValue"].as_str().unwrap()).unwrap();
    signer.public_key().verify(&data, &sig).is_ok()
}

#[tokio::test]
async fn both_suites_sign_what_they_canonicalize() {
    let signer = TestSigner::from_seed([7; 32]);
    let issuer = format!("did:key:{}", signer.key_id());
    for suite in [Cryptosuite::EddsaJcs2022, Cryptosuite::EddsaRdfc2022] {
        let vc = add_proof(credential(&issuer), options(suite, &signer), &signer).await.unwrap();
        let proof = &vc["proof"];
        assert_eq!(proof["type"], "DataIntegrityProof");
        assert_eq!(proof["cryptosuite"], suite.as_str());
        assert_eq!(proof["created"], "2025-02-03T04:05:06Z");
        assert_eq!(proof["proofPurpose"], "assertionMethod");
        // jcs keeps the context in the proof (§3.3.1); rdfc only in the configuration.
        assert_eq!(proof.get("@context").is_some(), suite == Cryptosuite::EddsaJcs2022);
        assert!(proof["proofValue"].as_str().unwrap().starts_with('z'));
        assert!(signature_holds(&vc, &signer), "{suite}");

        let mut changed = vc.clone();
        changed["credentialSubject"]["role"] = "ceo".into();
        assert!(!signature_holds(&changed, &signer), "{suite}: a changed claim must not verify");
    }
}

#[test]
fn rdfc_ignores_key_order_and_jcs_does_not_care_about_json_ld() {
    let a = credential("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK");
    let mut b = serde_json::Map::new();
    for (k, v) in a.as_object().unwrap().iter().rev() {
        b.insert(k.clone(), v.clone());
    }
    let b = Value::Object(b);
    let rdfc = Cryptosuite::EddsaRdfc2022;
    let nquads = String::from_utf8(rdfc.canonicalize(&a).unwrap()).unwrap();
    assert_eq!(nquads.as_bytes(), rdfc.canonicalize(&b).unwrap());
    assert!(nquads.contains("<https://idelta.example/vocab#employeeId> \"E-1001\""), "{nquads}");
    assert!(nquads.contains("\"2025-01-01T00:00:00Z\"^^<http://www.w3.org/2001/XMLSchema#dateTime>"), "{nquads}");
    let jcs = Cryptosuite::EddsaJcs2022;
    assert_eq!(jcs.canonicalize(&a).unwrap(), jcs.canonicalize(&b).unwrap());
}

#[test]
fn unknown_contexts_are_refused_not_fetched() {
    let mut vc = credential("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK");
    vc["@context"] = json!([contexts::CREDENTIALS_V2, "https://example.com/not-bundled/v1"]);
    let err = Cryptosuite::EddsaRdfc2022.canonicalize(&vc).unwrap_err();
    assert!(matches!(err, Error::Canonicalization(ref m) if m.contains("not bundled")), "{err}");
}

#[tokio::test]
async fn presentations_carry_challenge_and_domain() {
    let signer = TestSigner::from_seed([9; 32]);
    let holder = format!("did:key:{}", signer.key_id());
    let vc = add_proof(credential(&holder), options(Cryptosuite::EddsaRdfc2022, &signer), &signer).await.unwrap();
    let vp = json!({
        "@context": [contexts::CREDENTIALS_V2],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [vc],
    });
    for suite in [Cryptosuite::EddsaJcs2022, Cryptosuite::EddsaRdfc2022] {
        let opts = ProofOptions {
            proof_purpose: ProofPurpose::Authentication,
            challenge: Some("c-123".into()),
            domain: Some("https://verifier.example".into()),
            ..options(suite, &signer)
        };
        let signed = add_proof(vp.clone(), opts, &signer).await.unwrap();
        assert_eq!(signed["proof"]["challenge"], "c-123");
        assert_eq!(signed["proof"]["domain"], "https://verifier.example");
        assert_eq!(signed["proof"]["proofPurpose"], "authentication");
        assert!(signature_holds(&signed, &signer));
        let mut replayed = signed.clone();
        replayed["proof"]["challenge"] = "c-other".into();
        assert!(!signature_holds(&replayed, &signer), "{suite}: the challenge is signed");
    }
}

#[test]
fn names_parse_and_refuse_others() {
    assert_eq!("eddsa-jcs-2022".parse::<Cryptosuite>().unwrap(), Cryptosuite::EddsaJcs2022);
    assert!("ecdsa-rdfc-2019".parse::<Cryptosuite>().is_err());
    assert_eq!("authentication".parse::<ProofPurpose>().unwrap(), ProofPurpose::Authentication);
    assert!("keyAgreement".parse::<ProofPurpose>().is_err());
}
