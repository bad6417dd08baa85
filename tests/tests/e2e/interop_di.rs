//! Data Integrity interop with Digital Bazaar's libraries
//! (`tests/interop/di/`): idelta's `eddsa-rdfc-2022` and `eddsa-jcs-2022`
//! credentials and presentations verify with `@digitalbazaar/vc`, what those
//! libraries issue verifies with idelta, and tampered copies fail in both.
//!
//! Needs `npm ci` in `tests/interop/di` (scripts/test.sh does it). Without
//! `node_modules` the tests print a notice and pass, unless
//! `IDELTA_REQUIRE_INTEROP` is set, as CI does: then they fail.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use idelta_issuer::data_integrity::{add_proof, contexts, Cryptosuite, ProofOptions, ProofPurpose};
use idelta_types::{Did, DidDocument};
use idelta_verifier::data_integrity::{verify, Expectations};
use idelta_verifier::{DidKeyResolver, Relationship};
use serde_json::{json, Value};
use time::OffsetDateTime;

const SUITES: [Cryptosuite; 2] = [Cryptosuite::EddsaRdfc2022, Cryptosuite::EddsaJcs2022];

/// The interop project, or `None` (with a notice) when it is not installed
/// and not required.
pub(crate) fn peer() -> Option<PathBuf> {
    peer_named("di")
}

/// The node project `tests/interop/<name>`, or `None` (with a notice) when
/// it is not installed and not required.
pub(crate) fn peer_named(name: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop").join(name);
    if dir.join("node_modules").is_dir() {
        return Some(dir);
    }
    if std::env::var_os("IDELTA_REQUIRE_INTEROP").is_some() {
        panic!("IDELTA_REQUIRE_INTEROP is set but {} has no node_modules: run npm ci there", dir.display());
    }
    eprintln!("SKIPPED: {name} interop: run `npm ci` in {} (IDELTA_REQUIRE_INTEROP unset)", dir.display());
    None
}

/// Runs `node <script>` in `dir` with `input` on stdin; its stdout as JSON.
pub(crate) fn node(dir: &PathBuf, script: &str, input: Option<&Value>) -> Value {
    let mut child = Command::new("node")
        .arg(script)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().unwrap();
    if let Some(input) = input {
        stdin.write_all(input.to_string().as_bytes()).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{script} printed {e}: {out:?}"))
}

use idelta_types::LocalSigner as TestSigner;
use idelta_types::Signer as _;

/// The DID document of a signer's `did:key`, for the JS verifier.
fn did_key_document(signer: &TestSigner) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": signer.did_key(),
        "verificationMethod": [{
            "id": signer.did_key_url(),
            "type": "Multikey",
            "controller": signer.did_key(),
            "publicKeyMultibase": signer.public_key().to_multibase(),
        }],
        "assertionMethod": [signer.did_key_url()],
        "authentication": [signer.did_key_url()],
    })
}

fn credential(issuer: &str) -> Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "id": "urn:uuid:0b7e9c52-52a4-4d0e-8f0b-7f7d7c1c9a11",
        "type": ["VerifiableCredential", "VoterEligibilityCredential"],
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "validUntil": "2035-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "election": "2025 board election",
            "eligibleVoter": true
        }
    })
}

fn created() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_748_736_000).unwrap()
}

fn assertion(suite: Cryptosuite, vm: String) -> ProofOptions {
    ProofOptions {
        cryptosuite: suite,
        verification_method: vm,
        proof_purpose: ProofPurpose::AssertionMethod,
        created: created(),
        challenge: None,
        domain: None,
    }
}

pub(crate) fn db_verified(dir: &PathBuf, input: Value) -> (bool, String) {
    let out = node(dir, "verify.mjs", Some(&input));
    (out["verified"] == true, out["error"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn idelta_credentials_verify_with_digital_bazaar() {
    let Some(dir) = peer() else { return };
    let signer = TestSigner::from_seed([21; 32]);
    let did_idelta = Did::idelta_from_key(signer.public_key());
    let idelta_doc =
        serde_json::to_value(DidDocument::with_ed25519_key(&did_idelta, signer.public_key(), vec![])).unwrap();
    for suite in SUITES {
        let vc =
            add_proof(credential(&signer.did_key()), assertion(suite, signer.did_key_url()), &signer).await.unwrap();
        let docs = json!([did_key_document(&signer)]);
        let (ok, err) = db_verified(&dir, json!({"credential": vc, "didDocuments": docs}));
        assert!(ok, "{suite} did:key: {err}\n{vc:#}");

        let mut tampered = vc.clone();
        tampered["credentialSubject"]["eligibleVoter"] = false.into();
        assert!(!db_verified(&dir, json!({"credential": tampered, "didDocuments": docs})).0, "{suite}: tampered");

        let vm = did_idelta.with_fragment("key-1");
        let vc = add_proof(credential(did_idelta.as_str()), assertion(suite, vm), &signer).await.unwrap();
        let (ok, err) = db_verified(&dir, json!({"credential": vc, "didDocuments": [idelta_doc]}));
        assert!(ok, "{suite} did:idelta: {err}\n{vc:#}");

        // Another issuer claimed than the key's controller.
        let forged =
            add_proof(credential(did_idelta.as_str()), assertion(suite, signer.did_key_url()), &signer).await.unwrap();
        let input = json!({"credential": forged, "didDocuments": [idelta_doc, did_key_document(&signer)]});
        assert!(!db_verified(&dir, input).0, "{suite}: another issuer");
    }
}

#[tokio::test]
async fn idelta_presentations_verify_with_digital_bazaar() {
    let Some(dir) = peer() else { return };
    let issuer = TestSigner::from_seed([22; 32]);
    let holder = TestSigner::from_seed([23; 32]);
    for suite in SUITES {
        let vc =
            add_proof(credential(&issuer.did_key()), assertion(suite, issuer.did_key_url()), &issuer).await.unwrap();
        let vp = json!({
            "@context": [contexts::CREDENTIALS_V2],
            "type": ["VerifiablePresentation"],
            "holder": holder.did_key(),
            "verifiableCredential": [vc],
        });
        let opts = ProofOptions {
            proof_purpose: ProofPurpose::Authentication,
            challenge: Some("c0ffee".into()),
            domain: Some("https://verifier.example".into()),
            ..assertion(suite, holder.did_key_url())
        };
        let vp = add_proof(vp, opts, &holder).await.unwrap();
        let docs = json!([did_key_document(&issuer), did_key_document(&holder)]);
        let input = |challenge: &str| json!({"presentation": vp, "didDocuments": docs, "challenge": challenge, "domain": "https://verifier.example"});
        let (ok, err) = db_verified(&dir, input("c0ffee"));
        assert!(ok, "{suite}: {err}\n{vp:#}");
        assert!(!db_verified(&dir, input("other")).0, "{suite}: wrong challenge");
    }
}

#[tokio::test]
async fn digital_bazaar_credentials_verify_with_idelta() {
    let Some(dir) = peer() else { return };
    let issued = node(&dir, "issue.mjs", None);
    let expected = || Expectations {
        purpose: Relationship::AssertionMethod,
        challenge: None,
        domain: None,
        now: OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap(),
    };
    for suite in SUITES {
        let vc = &issued[suite.as_str()];
        assert_eq!(vc["proof"]["cryptosuite"], suite.as_str());
        let report = verify(vc, &DidKeyResolver, expected()).await;
        assert!(report.verified, "{suite}: {report:?}\n{vc:#}");

        let mut tampered = vc.clone();
        tampered["credentialSubject"]["role"] = "ceo".into();
        let report = verify(&tampered, &DidKeyResolver, expected()).await;
        let failed: Vec<_> = report.failures().map(|c| c.name.as_str()).collect();
        assert_eq!(failed, ["signature"], "{suite}");
    }
}
