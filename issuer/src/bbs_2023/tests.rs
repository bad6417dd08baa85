#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use super::*;
use crate::data_integrity::contexts;

fn credential() -> Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "issuer": "did:key:zUC7issuer",
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"employer": "did:idelta:acme", "employeeId": "E-1", "role": "auditor"}
    })
}

fn options() -> BaseProofOptions {
    BaseProofOptions {
        verification_method: "did:key:zUC7issuer#zUC7issuer".into(),
        mandatory_pointers: vec!["/issuer".into(), "/validFrom".into()],
    }
}

#[test]
fn keys_round_trip_through_their_secret_bytes() {
    let key = BbsSecretKey::generate().unwrap();
    let again = BbsSecretKey::from_bytes(key.to_bytes().as_ref()).unwrap();
    assert_eq!(again.public_key(), key.public_key());
    assert!(key.public_key_multibase().starts_with("zUC7"));
    assert!(BbsSecretKey::from_bytes(&[0xff; 32]).is_err(), "not below the group order");
    assert!(BbsSecretKey::from_bytes(&[1; 31]).is_err());
}

#[test]
fn base_proof_carries_what_the_holder_needs() {
    let key = BbsSecretKey::generate().unwrap();
    let secured = add_base_proof(credential(), &options(), &key).unwrap();
    let proof = &secured["proof"];
    assert_eq!(proof["cryptosuite"], CRYPTOSUITE);
    assert!(proof.get("created").is_none(), "a timestamp would link disclosures");
    let base = BaseProofValue::decode(proof["proofValue"].as_str().unwrap()).unwrap();
    assert_eq!(base.public_key, key.public_key());
    assert_eq!(base.mandatory_pointers, options().mandatory_pointers);
}

#[test]
fn derived_documents_hold_only_what_was_selected() {
    let key = BbsSecretKey::generate().unwrap();
    let secured = add_base_proof(credential(), &options(), &key).unwrap();
    let derived = derive(&secured, &["/credentialSubject/role".into()], b"nonce").unwrap();
    assert_eq!(derived["issuer"], "did:key:zUC7issuer");
    assert_eq!(derived["validFrom"], "2025-01-01T00:00:00Z");
    assert_eq!(derived["credentialSubject"], json!({"role": "auditor"}));
    let value = DerivedProofValue::decode(derived["proof"]["proofValue"].as_str().unwrap()).unwrap();
    assert_eq!(value.presentation_header, b"nonce");
}

#[test]
fn derivation_refuses_what_it_cannot_do() {
    let key = BbsSecretKey::generate().unwrap();
    let bare = BaseProofOptions { mandatory_pointers: vec![], ..options() };
    let secured = add_base_proof(credential(), &bare, &key).unwrap();
    assert_eq!(derive(&secured, &[], b""), Err(Error::NothingDisclosed));
    assert!(matches!(derive(&secured, &["/nowhere".into()], b""), Err(Error::Pointer(_))));
    assert!(matches!(derive(&credential(), &["/issuer".into()], b""), Err(Error::NoBaseProof(_))));
    // A key no context defines would be shown without being signed.
    let mut undefined = credential();
    undefined["credentialSubject"]["department"] = json!("finance");
    assert!(matches!(add_base_proof(undefined, &options(), &key), Err(Error::Canonicalization(_))));
    let mut derived = derive(&secured, &["/issuer".into()], b"").unwrap();
    derived["credentialSubject"] = json!({"role": "auditor"});
    assert!(matches!(derive(&derived, &["/issuer".into()], b""), Err(Error::ProofValue(_))), "derived is not base");
}
