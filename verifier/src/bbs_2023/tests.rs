#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use idelta_issuer::bbs_2023::proof_value::BaseProofValue;
use idelta_issuer::bbs_2023::{add_base_proof, derive, BaseProofOptions, BbsSecretKey};
use idelta_issuer::data_integrity::contexts;
use serde_json::json;

use super::*;
use crate::resolver::DidKeyResolver;

/// 2025-06-01, inside the credential's validity period.
fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_748_736_000).unwrap()
}

fn did_key(key: &BbsSecretKey) -> (String, String) {
    let mb = key.public_key_multibase();
    (format!("did:key:{mb}"), format!("did:key:{mb}#{mb}"))
}

fn credential(issuer: &str) -> Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "id": "urn:uuid:6a1f3c1e-1f0c-4c4e-9d59-0d7a1c0f4b11",
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "validUntil": "2035-01-01T00:00:00Z",
        "credentialSubject": {
            "employer": "did:idelta:acme",
            "employeeId": "E-2002",
            "role": "auditor"
        }
    })
}

/// A credential issued by `key` under the verification method `vm`.
fn issued(key: &BbsSecretKey, vm: Option<String>) -> Value {
    let (did, own_vm) = did_key(key);
    let options = BaseProofOptions {
        verification_method: vm.unwrap_or(own_vm),
        mandatory_pointers: vec!["/issuer".into(), "/validFrom".into(), "/validUntil".into()],
    };
    add_base_proof(credential(&did), &options, key).unwrap()
}

fn role_only(secured: &Value, ph: &[u8]) -> Value {
    derive(secured, &["/credentialSubject/role".into()], ph).unwrap()
}

fn expect(ph: Option<&[u8]>) -> Expectations {
    Expectations { presentation_header: ph.map(<[u8]>::to_vec), now: now() }
}

async fn failures(doc: &Value, expected: &Expectations) -> Vec<String> {
    let report = verify(doc, &DidKeyResolver, expected).await;
    report.failures().map(|c| c.name.clone()).collect()
}

fn proof_value_bytes(doc: &Value) -> Vec<u8> {
    let text = doc["proof"]["proofValue"].as_str().unwrap();
    URL_SAFE_NO_PAD.decode(&text[1..]).unwrap()
}

#[tokio::test]
async fn derived_credentials_verify_with_every_check() {
    let key = BbsSecretKey::generate().unwrap();
    let derived = role_only(&issued(&key, None), b"challenge-1");
    let report = verify(&derived, &DidKeyResolver, &expect(Some(b"challenge-1"))).await;
    assert!(report.verified, "{report:?}");
    let names: Vec<_> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["proof", "issuer", "signature", "validity", "presentationHeader"]);
    // Selecting nothing beyond the mandatory claims verifies too.
    let minimal = derive(&issued(&key, None), &[], b"").unwrap();
    assert!(failures(&minimal, &expect(None)).await.is_empty());
    assert!(minimal.get("credentialSubject").is_none(), "{minimal}");
}

#[tokio::test]
async fn tampering_fails_the_named_check() {
    let key = BbsSecretKey::generate().unwrap();
    let secured = issued(&key, None);
    let derived = role_only(&secured, b"");

    let mut changed = derived.clone();
    changed["credentialSubject"]["role"] = json!("administrator");
    assert_eq!(failures(&changed, &expect(None)).await, ["signature"]);

    // A mandatory claim changed breaks the header the issuer signed.
    let mut later = derived.clone();
    later["validUntil"] = json!("2045-01-01T00:00:00Z");
    assert_eq!(failures(&later, &expect(None)).await, ["signature"]);

    // A claim the holder did not disclose cannot be added back.
    let mut added = derived.clone();
    added["credentialSubject"]["employeeId"] = json!("E-2002");
    assert_eq!(failures(&added, &expect(None)).await, ["signature"]);

    // Nor a key no context defines, which JSON-LD would silently drop.
    let mut undefined = derived.clone();
    undefined["credentialSubject"]["department"] = json!("finance");
    assert_eq!(failures(&undefined, &expect(None)).await, ["signature"]);

    // One flipped byte inside the BBS proof (past the CBOR framing).
    let mut flipped = derived.clone();
    let mut raw = proof_value_bytes(&derived);
    raw[20] ^= 0x01;
    flipped["proof"]["proofValue"] = json!(format!("u{}", URL_SAFE_NO_PAD.encode(&raw)));
    assert_eq!(failures(&flipped, &expect(None)).await, ["signature"]);

    // Another key signed it while naming this issuer's verification method.
    let other = BbsSecretKey::generate().unwrap();
    let forged = role_only(&issued(&other, Some(did_key(&key).1)), b"");
    let mut forged = forged;
    forged["issuer"] = json!(did_key(&key).0);
    assert_eq!(failures(&forged, &expect(None)).await, ["signature"]);

    // Another issuer named in the credential than the key's controller.
    let mut foreign = derived.clone();
    foreign["issuer"] = json!(did_key(&other).0);
    let failed = failures(&foreign, &expect(None)).await;
    assert!(failed.contains(&"issuer".to_owned()), "{failed:?}");

    // Bound to another presentation header.
    assert_eq!(failures(&derived, &expect(Some(b"challenge-2"))).await, ["presentationHeader"]);

    // The base proof is the holder's, never a verifier's.
    assert_eq!(failures(&secured, &expect(None)).await, ["proof"]);

    // Expired.
    let late = Expectations { presentation_header: None, now: now() + time::Duration::days(365 * 20) };
    assert_eq!(failures(&derived, &late).await, ["validity"]);
}

/// Every `len`-byte window of `a` that also occurs in `b`.
fn shared_windows(a: &[u8], b: &[u8], len: usize) -> Vec<Vec<u8>> {
    let windows: HashSet<&[u8]> = a.windows(len).collect();
    b.windows(len).filter(|w| windows.contains(w)).map(<[u8]>::to_vec).collect()
}

#[tokio::test]
async fn two_disclosures_share_no_linking_bytes_and_reveal_only_the_selection() {
    let key = BbsSecretKey::generate().unwrap();
    let secured = issued(&key, None);
    let base = BaseProofValue::decode(secured["proof"]["proofValue"].as_str().unwrap()).unwrap();
    let first = role_only(&secured, b"");
    let second = role_only(&secured, b"");
    for derived in [&first, &second] {
        assert!(failures(derived, &expect(None)).await.is_empty());
        // Only the role among the subject's claims, and no trace of the others.
        assert_eq!(derived["credentialSubject"], json!({"role": "auditor"}));
        let text = derived.to_string();
        for hidden in ["E-2002", "employeeId", "employer", "did:idelta:acme"] {
            assert!(!text.contains(hidden), "{hidden} leaked: {text}");
        }
    }

    // What two disclosures of one credential may share: the documents are
    // equal (the same claims were disclosed), and so is everything in the
    // proof value that is a function of the disclosed data alone — the
    // 3-byte header, CBOR framing, the label map (c14n → shuffled label:
    // with this credential's two blank nodes it is one of two permutations),
    // the mandatory and selective indexes and the (empty) presentation
    // header. Those sit after the BBS proof in the CBOR array. The BBS proof
    // itself is re-randomized each time and must share nothing: no window of
    // 16 bytes in common, and none with the base signature, HMAC key or
    // bbs header that only the holder has.
    let (a, b) = (proof_value_bytes(&first), proof_value_bytes(&second));
    let proof_len =
        |doc: &Value| DerivedProofValue::decode(doc["proof"]["proofValue"].as_str().unwrap()).unwrap().bbs_proof.len();
    // The BBS proof starts after the header (3 bytes) and CBOR's array and
    // byte-string heads (1 + 3 bytes for proofs of 256 bytes or more).
    let (pa, pb) = (&a[7..7 + proof_len(&first)], &b[7..7 + proof_len(&second)]);
    assert_eq!(&a[7 + pa.len()..], &b[7 + pb.len()..], "the public tail is a function of the disclosed data");
    assert!(!shared_windows(pa, pa, 16).is_empty(), "the check can see sharing");
    assert!(shared_windows(pa, pb, 16).is_empty(), "the two BBS proofs share bytes");
    for secret in [&base.signature[..], &base.hmac_key[..], &base.bbs_header[..]] {
        assert!(shared_windows(secret, &a, 16).is_empty(), "a derived proof leaks base proof bytes");
    }
}

#[tokio::test]
async fn presentations_check_embedded_derived_credentials() {
    use crate::data_integrity::{verify as verify_di, Expectations as DiExpectations};
    use idelta_issuer::data_integrity::{add_proof, Cryptosuite, ProofOptions, ProofPurpose};
    use idelta_types::LocalSigner;

    let key = BbsSecretKey::generate().unwrap();
    let holder = LocalSigner::from_seed([7; 32]);
    let present = |vc: Value| {
        let vp = json!({
            "@context": [contexts::CREDENTIALS_V2],
            "type": ["VerifiablePresentation"],
            "holder": holder.did_key(),
            "verifiableCredential": [vc],
        });
        let options = ProofOptions {
            cryptosuite: Cryptosuite::EddsaRdfc2022,
            verification_method: holder.did_key_url(),
            proof_purpose: ProofPurpose::Authentication,
            created: now(),
            challenge: Some("c-1".into()),
            domain: None,
        };
        add_proof(vp, options, &holder)
    };
    let expected = DiExpectations {
        purpose: Relationship::Authentication,
        challenge: Some("c-1".into()),
        domain: None,
        now: now(),
    };
    let derived = role_only(&issued(&key, None), b"c-1");
    let vp = present(derived.clone()).await.unwrap();
    let report = verify_di(&vp, &DidKeyResolver, expected.clone()).await;
    assert!(report.verified, "{report:?}");
    assert!(report.passed("credential[0].signature") && report.passed("credential[0].issuer"), "{report:?}");

    let mut tampered = derived;
    tampered["credentialSubject"]["role"] = json!("administrator");
    let vp = present(tampered).await.unwrap();
    let report = verify_di(&vp, &DidKeyResolver, expected).await;
    assert_eq!(report.failures().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["credential[0].signature"]);
}
