//! bbs-2023 interop with Digital Bazaar's libraries (`tests/interop/bbs/`,
//! `@digitalbazaar/bbs-2023-cryptosuite` with `@digitalbazaar/vc`), in both
//! directions: idelta's base proofs derive and verify there, Digital
//! Bazaar's base proofs (did:key BLS12-381 G2) derive and verify here, each
//! side's derived proofs verify on the other, and tampered copies are
//! refused by both.
//!
//! Needs `npm ci` in `tests/interop/bbs` (scripts/test.sh does it); without
//! it the tests print a notice and pass unless `IDELTA_REQUIRE_INTEROP` is set.

use std::path::Path;

use idelta_issuer::bbs_2023::{add_base_proof, derive, BaseProofOptions, BbsSecretKey};
use idelta_issuer::data_integrity::contexts;
use idelta_verifier::bbs_2023::{verify, Expectations};
use idelta_verifier::DidKeyResolver;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::interop_di::{node, peer_named};

const MANDATORY: [&str; 3] = ["/issuer", "/validFrom", "/credentialSubject/employer"];
const PRESENTATION_HEADER: &[u8] = b"verifier-nonce-1";

fn credential() -> Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "id": "urn:uuid:5d0c2a9e-0c35-4f7e-9a53-8f6f3b0f2c21",
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "validFrom": "2025-01-01T00:00:00Z",
        "validUntil": "2035-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "employer": "did:idelta:acme",
            "employeeId": "E-2002",
            "role": "auditor"
        }
    })
}

fn selective() -> Vec<String> {
    vec!["/credentialSubject/role".to_owned()]
}

fn did_key_document(key: &BbsSecretKey) -> Value {
    let mb = key.public_key_multibase();
    let did = format!("did:key:{mb}");
    let vm = format!("{did}#{mb}");
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [{"id": vm, "type": "Multikey", "controller": did, "publicKeyMultibase": mb}],
        "assertionMethod": [vm],
    })
}

async fn idelta_verifies(credential: &Value) -> Vec<String> {
    let expected = Expectations {
        presentation_header: Some(PRESENTATION_HEADER.to_vec()),
        now: OffsetDateTime::from_unix_timestamp(1_748_736_000).unwrap(),
    };
    let report = verify(credential, &DidKeyResolver, &expected).await;
    report.failures().map(|c| format!("{}: {}", c.name, c.detail.clone().unwrap_or_default())).collect()
}

fn db_verifies(dir: &Path, credential: &Value, did_document: &Value) -> (bool, String) {
    let out = node(
        &dir.to_path_buf(),
        "verify.mjs",
        Some(&json!({"credential": credential, "didDocuments": [did_document]})),
    );
    (out["verified"] == true, out["error"].as_str().unwrap_or_default().to_owned())
}

fn db_derives(dir: &Path, credential: &Value, did_document: &Value) -> Value {
    let out = node(
        &dir.to_path_buf(),
        "derive.mjs",
        Some(&json!({
            "credential": credential,
            "selectivePointers": selective(),
            "presentationHeader": PRESENTATION_HEADER.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "didDocuments": [did_document],
        })),
    );
    assert!(out.get("error").is_none(), "Digital Bazaar could not derive: {out}");
    out["credential"].clone()
}

fn tampered(derived: &Value) -> Value {
    let mut copy = derived.clone();
    copy["credentialSubject"]["role"] = json!("administrator");
    copy
}

/// The disclosed subject: the mandatory employer, the selected role, and
/// the subject id (selection keeps the ids on its path); never the employee id.
fn assert_discloses_only_the_selection(derived: &Value) {
    let subject = &derived["credentialSubject"];
    assert_eq!(subject["role"], "auditor", "{derived}");
    assert_eq!(subject["employer"], "did:idelta:acme", "{derived}");
    assert!(subject.get("employeeId").is_none(), "{derived}");
}

#[tokio::test]
async fn idelta_base_proofs_derive_and_verify_with_digital_bazaar() {
    let Some(dir) = peer_named("bbs") else { return };
    let key = BbsSecretKey::generate().unwrap();
    let did_document = did_key_document(&key);
    let mut unsigned = credential();
    unsigned["issuer"] = did_document["id"].clone();
    let options = BaseProofOptions {
        verification_method: did_document["verificationMethod"][0]["id"].as_str().unwrap().to_owned(),
        mandatory_pointers: MANDATORY.map(String::from).to_vec(),
    };
    let secured = add_base_proof(unsigned, &options, &key).unwrap();

    // Digital Bazaar derives from idelta's base proof; both verify it.
    let db_derived = db_derives(&dir, &secured, &did_document);
    assert_discloses_only_the_selection(&db_derived);
    let (ok, error) = db_verifies(&dir, &db_derived, &did_document);
    assert!(ok, "Digital Bazaar refused its derivation of idelta's credential: {error}");
    assert_eq!(idelta_verifies(&db_derived).await, Vec::<String>::new());

    // idelta derives; Digital Bazaar verifies.
    let derived = derive(&secured, &selective(), PRESENTATION_HEADER).unwrap();
    assert_discloses_only_the_selection(&derived);
    let (ok, error) = db_verifies(&dir, &derived, &did_document);
    assert!(ok, "Digital Bazaar refused idelta's derived proof: {error}");

    // Tampered copies are refused on both sides.
    for copy in [tampered(&derived), tampered(&db_derived)] {
        let (ok, _) = db_verifies(&dir, &copy, &did_document);
        assert!(!ok, "Digital Bazaar accepted a tampered derived proof");
        assert!(!idelta_verifies(&copy).await.is_empty(), "idelta accepted a tampered derived proof");
    }
}

#[tokio::test]
async fn digital_bazaar_base_proofs_derive_and_verify_with_idelta() {
    let Some(dir) = peer_named("bbs") else { return };
    let issued = node(
        &dir.to_path_buf(),
        "issue.mjs",
        Some(&json!({"credential": credential(), "mandatoryPointers": MANDATORY})),
    );
    let (secured, did_document) = (&issued["credential"], &issued["didDocument"]);

    // idelta derives from Digital Bazaar's base proof and verifies it.
    let derived = derive(secured, &selective(), PRESENTATION_HEADER).unwrap();
    assert_discloses_only_the_selection(&derived);
    assert_eq!(idelta_verifies(&derived).await, Vec::<String>::new());
    let (ok, error) = db_verifies(&dir, &derived, did_document);
    assert!(ok, "Digital Bazaar refused idelta's derivation of its credential: {error}");

    // Digital Bazaar derives; idelta verifies.
    let db_derived = db_derives(&dir, secured, did_document);
    assert_eq!(idelta_verifies(&db_derived).await, Vec::<String>::new());

    for copy in [tampered(&derived), tampered(&db_derived)] {
        let (ok, _) = db_verifies(&dir, &copy, did_document);
        assert!(!ok, "Digital Bazaar accepted a tampered derived proof");
        let failed = idelta_verifies(&copy).await;
        assert!(failed.iter().any(|f| f.starts_with("signature")), "{failed:?}");
    }
}
