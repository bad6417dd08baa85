//! bbs-2023 through the agent. Verification: `POST
//! /vc-api/credentials/verify` dispatches derived proofs to
//! `verifier::bbs_2023` and names every check; a changed claim and a base
//! proof are refused (issuer: a `did:key` BLS12-381 G2 key). Issuance:
//! `options.cryptosuite: "bbs-2023"` signs with the company's BLS12-381 G2
//! wallet key, published under `assertionMethod` of its DID; an employee
//! holder answers a DCQL request with a derived proof revealing only what
//! is asked, the verifier company checks it, two derived proofs differ, a
//! key rotation keeps the credential verifying, and revocation makes it
//! fail `status.revocation`. Digital Bazaar derives from an agent-issued
//! base proof, and both sides verify the result.

use idelta_issuer::bbs_2023::{add_base_proof, derive, BaseProofOptions, BbsSecretKey};
use idelta_issuer::data_integrity::contexts;
use idelta_tests::agent::{Backend, TestAgent};
use idelta_types::{Did, PublicKey};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::vc_api::{names, verify};
use super::Tenant;

async fn derived_proofs_verify_through_the_vc_api(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    let key = BbsSecretKey::generate().expect("key");
    let mb = key.public_key_multibase();
    let credential = json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "issuer": format!("did:key:{mb}"),
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": { "employer": "did:idelta:acme", "employeeId": "E-7", "role": "auditor" }
    });
    let options = BaseProofOptions {
        verification_method: format!("did:key:{mb}#{mb}"),
        mandatory_pointers: vec!["/issuer".into(), "/validFrom".into()],
    };
    let secured = add_base_proof(credential, &options, &key).expect("base proof");
    let derived = derive(&secured, &["/credentialSubject/role".into()], b"").expect("derived");

    let got = verify(&agent, &a.admin, &derived).await;
    assert_eq!(got["verified"], true, "{got:#}");
    assert_eq!(names(&got["checks"])[..4], ["proof", "issuer", "signature", "validity"], "{got:#}");

    let mut tampered = derived.clone();
    tampered["credentialSubject"]["role"] = json!("administrator");
    let got = verify(&agent, &a.admin, &tampered).await;
    assert_eq!((got["verified"].as_bool(), names(&got["errors"])), (Some(false), vec!["signature"]), "{got:#}");

    let got = verify(&agent, &a.admin, &secured).await;
    assert_eq!((got["verified"].as_bool(), names(&got["errors"])), (Some(false), vec!["proof"]), "{got:#}");
}

const REQUESTS: &str = "/v1/presentation-requests";

fn failed(report: &Value) -> Vec<String> {
    report["errors"].as_array().expect("errors").iter().map(|e| e["name"].as_str().expect("name").to_owned()).collect()
}

/// A verifier company's request for `role` only, answered by `holder`,
/// checked by the verifier: the report and the derived credential presented.
async fn ask_role(agent: &TestAgent, verifier: &str, holder: &str) -> (Value, Value) {
    let query = json!({ "credentials": [{
        "id": "employment",
        "format": "ldp_vc",
        "meta": { "type_values": [["VerifiableCredential", "EmployeeCredential"]] },
        "claims": [{ "path": ["credentialSubject", "role"] }],
    }]});
    let (status, _, request) =
        agent.request(Method::POST, REQUESTS, Some(verifier), Some(&json!({ "dcql_query": query }))).await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    let ask = json!({ "dcql_query": request["dcql_query"], "nonce": request["nonce"], "domain": request["domain"] });
    let (status, _, answer) = agent.request(Method::POST, "/v1/me/presentations", Some(holder), Some(&ask)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let vp_token = answer["vp_token"].clone();
    let path = format!("{REQUESTS}/{}/responses", request["id"].as_str().expect("id"));
    let (status, _, report) =
        agent.request(Method::POST, &path, Some(verifier), Some(&json!({ "vp_token": vp_token }))).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    (report, vp_token["employment"][0]["verifiableCredential"][0].clone())
}

/// The BLS12-381 G2 methods of the company DID's current document, and
/// whether each is under assertionMethod only.
async fn bbs_methods(agent: &TestAgent, did: &str) -> Vec<(String, bool)> {
    let did: Did = did.parse().expect("did");
    let doc = agent.ledger.resolve_verified(&did, &Default::default()).await.document.expect("document");
    doc.verification_method
        .iter()
        .filter(|m| matches!(PublicKey::from_multibase(&m.public_key_multibase), Ok(PublicKey::Bls12381G2(_))))
        .map(|m| {
            let only_assertion = doc.assertion_method.contains(&m.id)
                && !doc.authentication.contains(&m.id)
                && !doc.capability_invocation.contains(&m.id);
            (m.id.clone(), only_assertion)
        })
        .collect()
}

async fn issued_by_the_agent_presented_and_revoked(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright"]).await;
    let v = Tenant::register(&agent, "Verifying Ventures", &[]).await;
    let credential = json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "validUntil": "2999-01-01T00:00:00Z",
        "credentialSubject": { "employer": a.did(), "employeeId": "E-1", "role": "engineer" }
    });
    // Two concurrent first issuances make one key and one DID update.
    let options = json!({ "cryptosuite": "bbs-2023", "mandatoryPointers": ["/credentialSubject/employer"],
        "holder": { "employee": a.employee_id(0) } });
    let body = json!({ "credential": credential, "options": options });
    let other = json!({ "credential": credential, "options": { "cryptosuite": "bbs-2023" } });
    let (first, second) = tokio::join!(
        agent.request(Method::POST, "/vc-api/credentials/issue", Some(&a.admin), Some(&body)),
        agent.request(Method::POST, "/vc-api/credentials/issue", Some(&a.admin), Some(&other)),
    );
    let (status, _, issued) = first;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    assert_eq!(second.0, StatusCode::CREATED, "{}", second.2);
    let vc = &issued["verifiableCredential"];
    let vm = format!("{}#bbs-1", a.did());
    assert_eq!(
        (vc["proof"]["cryptosuite"].as_str(), vc["proof"]["verificationMethod"].as_str()),
        (Some("bbs-2023"), Some(vm.as_str()))
    );
    assert_eq!(second.2["verifiableCredential"]["proof"]["verificationMethod"], vm.as_str());
    assert_eq!(bbs_methods(&agent, a.did()).await, vec![(vm.clone(), true)], "one BLS key, under assertionMethod only");

    // Alice answers a request for her role: the derived credential reveals
    // the role, the mandatory claims, and nothing else.
    let (report, derived) = ask_role(&agent, &v.admin, a.token(0)).await;
    assert_eq!(report["verified"], true, "{report:#}");
    let subject = &derived["credentialSubject"];
    assert_eq!(
        (subject["role"].as_str(), subject["employer"].as_str()),
        (Some("engineer"), Some(a.did())),
        "{derived:#}"
    );
    assert!(subject.get("employeeId").is_none(), "an unasked claim is disclosed: {derived:#}");
    for always in ["issuer", "validFrom", "validUntil", "credentialSchema", "credentialStatus"] {
        assert!(derived.get(always).is_some(), "{always} is mandatory: {derived:#}");
    }
    // The derived credential alone verifies through the VC API too.
    let got = verify(&agent, &v.admin, &derived).await;
    assert_eq!(got["verified"], true, "{got:#}");

    // Two derived proofs of the one credential differ.
    let (_, again) = ask_role(&agent, &v.admin, a.token(0)).await;
    assert_ne!(derived["proof"]["proofValue"], again["proof"]["proofValue"]);

    // A rotation of the company's Ed25519 key keeps the BBS key and its credentials.
    let (status, _, rotated) =
        agent.request(Method::POST, &format!("/v1/companies/{}/did/rotate", a.id()), Some(&a.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(bbs_methods(&agent, a.did()).await, vec![(vm.clone(), true)], "rotation kept the BBS key");
    let (report, _) = ask_role(&agent, &v.admin, a.token(0)).await;
    assert_eq!(report["verified"], true, "after rotation: {report:#}");
    let (status, _, after) =
        agent.request(Method::POST, "/vc-api/credentials/issue", Some(&a.admin), Some(&other)).await;
    assert_eq!(status, StatusCode::CREATED, "{after}");
    assert_eq!(after["verifiableCredential"]["proof"]["verificationMethod"], vm.as_str(), "no second key");

    // Another company gets its own key on its own DID, never A's.
    let theirs = json!({ "credential": { "@context": [contexts::CREDENTIALS_V2], "type": ["VerifiableCredential"],
        "credentialSubject": { "name": "x" } }, "options": { "cryptosuite": "bbs-2023", "credentialStatus": false } });
    let (status, _, by_v) =
        agent.request(Method::POST, "/vc-api/credentials/issue", Some(&v.admin), Some(&theirs)).await;
    assert_eq!(status, StatusCode::CREATED, "{by_v}");
    let v_vm = format!("{}#bbs-1", v.did());
    assert_eq!(by_v["verifiableCredential"]["proof"]["verificationMethod"], v_vm.as_str());
    assert_eq!(bbs_methods(&agent, v.did()).await, vec![(v_vm, true)]);
    assert_eq!(bbs_methods(&agent, a.did()).await, vec![(vm.clone(), true)], "A's DID is unchanged");

    // A mandatory pointer that selects nothing is the caller's error.
    let bad = json!({ "credential": credential, "options": { "cryptosuite": "bbs-2023", "mandatoryPointers": ["/nowhere"] } });
    let answer = agent.request(Method::POST, "/vc-api/credentials/issue", Some(&a.admin), Some(&bad)).await;
    idelta_tests::agent::assert_problem(&answer, &[400], "a pointer to nothing");

    // Revoked by its issuer: once the list is on the ledger, the derived
    // proof fails status.revocation.
    let change = json!({ "credentialId": issued["credentialId"],
        "credentialStatus": [{ "type": "BitstringStatusListEntry", "status": "revoked" }] });
    let (status, _, body) =
        agent.request(Method::POST, "/vc-api/credentials/status", Some(&a.admin), Some(&change)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (report, _) = ask_role(&agent, &v.admin, a.token(0)).await;
        if failed(&report).iter().any(|n| n.ends_with("status.revocation")) {
            assert_eq!(report["verified"], false, "{report:#}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the revocation never showed: {report:#}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

on_both_backends!(derived_proofs_verify_through_the_vc_api, issued_by_the_agent_presented_and_revoked);

/// An agent-issued base proof (no status: Digital Bazaar's `vc` needs a
/// status checker for one) derives with Digital Bazaar; its derived proof
/// verifies there and through the VC API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digital_bazaar_derives_from_agent_base_proofs() {
    let Some(dir) = crate::interop_di::peer_named("bbs") else { return };
    let Some(agent) = TestAgent::start(Backend::Sqlite).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    let credential = json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "credentialSubject": { "employer": a.did(), "employeeId": "E-9", "role": "auditor" }
    });
    let body = json!({ "credential": credential, "options": { "cryptosuite": "bbs-2023", "credentialStatus": false } });
    let (status, _, issued) =
        agent.request(Method::POST, "/vc-api/credentials/issue", Some(&a.admin), Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let did: Did = a.did().parse().expect("did");
    let document = agent.ledger.resolve_verified(&did, &Default::default()).await.document.expect("document");
    let did_documents = json!([serde_json::to_value(&document).expect("document JSON")]);
    let input = json!({ "credential": issued["verifiableCredential"], "selectivePointers": ["/credentialSubject/role"],
        "presentationHeader": "", "didDocuments": did_documents });
    let out = crate::interop_di::node(&dir, "derive.mjs", Some(&input));
    let derived = &out["credential"];
    assert!(derived["credentialSubject"]["role"] == "auditor", "Digital Bazaar could not derive: {out}");
    assert!(derived["credentialSubject"].get("employeeId").is_none(), "{derived}");
    let checked = crate::interop_di::node(
        &dir,
        "verify.mjs",
        Some(&json!({ "credential": derived, "didDocuments": did_documents })),
    );
    assert_eq!(checked["verified"], true, "Digital Bazaar: {checked}");
    let got = verify(&agent, &a.admin, derived).await;
    assert_eq!(got["verified"], true, "{got:#}");
}
