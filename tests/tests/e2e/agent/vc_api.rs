//! The W3C VC API (design.md §9): a company admin issues as its company
//! with both EdDSA cryptosuites, any caller verifies, every check is named;
//! tampered claims, another company's issuer, wrong scopes and malformed
//! input are refused; a key rotated out of the DID document no longer
//! verifies what it signed; an expired or not yet valid credential is
//! refused; presentations are bound to challenge and
//! domain; and the issued credential verifies with Digital Bazaar's
//! libraries given the DID document resolved from our ledger.

use super::Tenant;
use idelta_issuer::data_integrity::{add_proof, contexts, ProofOptions, ProofPurpose};
use idelta_tests::agent::{assert_problem, Answer, Backend, TestAgent};
use idelta_types::{Did, LocalSigner};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ISSUE: &str = "/vc-api/credentials/issue";
const VERIFY: &str = "/vc-api/credentials/verify";
const VERIFY_VP: &str = "/vc-api/presentations/verify";

pub(super) fn credential() -> Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "type": ["VerifiableCredential", "VoterEligibilityCredential"],
        "credentialSubject": {
            "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "election": "2025 board election",
            "eligibleVoter": true
        }
    })
}

async fn post(agent: &TestAgent, path: &str, token: Option<&str>, body: &Value) -> Answer {
    agent.request(Method::POST, path, token, Some(body)).await
}

async fn issue(agent: &TestAgent, token: &str, credential: Value, suite: &str) -> Value {
    let (status, _, body) =
        post(agent, ISSUE, Some(token), &json!({ "credential": credential, "options": { "cryptosuite": suite } }))
            .await;
    assert_eq!(status, StatusCode::CREATED, "issue {suite}: {body}");
    body["verifiableCredential"].clone()
}

/// The answer of `POST /vc-api/credentials/verify` (200 whatever the outcome).
pub(super) async fn verify(agent: &TestAgent, token: &str, vc: &Value) -> Value {
    let (status, _, body) = post(agent, VERIFY, Some(token), &json!({ "verifiableCredential": vc })).await;
    assert_eq!(status, StatusCode::OK, "verify: {body}");
    body
}

/// The names in a list of checks or errors (strings or `{name, …}`).
pub(super) fn names(list: &Value) -> Vec<&str> {
    list.as_array().expect("array").iter().map(|c| c.as_str().or_else(|| c["name"].as_str()).expect("name")).collect()
}

/// Issue with both suites, verify, resolve the issuer on the ledger,
/// tamper, and check every caller's rights.
async fn issue_and_verify(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright"]).await;
    let b = Tenant::register(&agent, "Globex Gadgets", &[]).await;

    for suite in ["eddsa-rdfc-2022", "eddsa-jcs-2022"] {
        let vc = issue(&agent, &a.admin, credential(), suite).await;
        assert_eq!(vc["issuer"], a.did(), "the issuer is filled in: {vc}");
        assert!(vc["validFrom"].is_string(), "validFrom defaults to now: {vc}");
        let proof = &vc["proof"];
        assert_eq!((proof["type"].as_str(), proof["cryptosuite"].as_str()), (Some("DataIntegrityProof"), Some(suite)));
        assert_eq!(proof["proofPurpose"], "assertionMethod");
        let vm = proof["verificationMethod"].as_str().expect("verificationMethod");
        assert_eq!(vm, format!("{}#key-1", a.did()), "{suite}: signed by the DID's current key");

        // The issuer DID resolves on the ledger (proof checked by the
        // client) and lists the method under assertionMethod.
        let did: Did = a.did().parse().expect("did");
        let doc = agent.ledger.resolve_verified(&did, &Default::default()).await.document.expect("active");
        assert!(doc.assertion_method.iter().any(|m| m == vm), "{vm} in {:?}", doc.assertion_method);

        // Any caller verifies: the operator, an admin of another company, an employee.
        for (who, token) in
            [("operator", agent.operator_key.as_str()), ("B's admin", &b.admin), ("A's employee", a.token(0))]
        {
            let got = verify(&agent, token, &vc).await;
            assert_eq!(got["verified"], true, "{suite} by {who}: {got:#}");
            let checks = names(&got["checks"]);
            for check in ["proof", "issuer", "signature", "validity"] {
                assert!(checks.contains(&check), "{suite}: no {check} check in {checks:?}");
            }
            assert_eq!(got["errors"], json!([]), "{got}");
            assert!(got["warnings"].is_array() && got["report"]["checks"].is_array(), "{got}");
        }

        // A changed claim fails the signature, and says so.
        let mut tampered = vc.clone();
        tampered["credentialSubject"]["eligibleVoter"] = false.into();
        let got = verify(&agent, &a.admin, &tampered).await;
        assert_eq!(got["verified"], false, "{suite}: tampered: {got:#}");
        assert!(names(&got["errors"]).contains(&"signature"), "{suite}: {got:#}");
        assert!(got["errors"][0]["detail"].is_string(), "{got}");

        // Claiming B as issuer of A's signature fails the issuer check.
        let mut reissued = vc.clone();
        reissued["issuer"] = b.did().into();
        let got = verify(&agent, &a.admin, &reissued).await;
        assert_eq!(got["verified"], false);
        assert!(names(&got["errors"]).contains(&"issuer"), "{suite}: {got:#}");
    }

    // An explicit issuer: A's own DID (string or object) is accepted.
    let mut own = credential();
    own["issuer"] = json!({ "id": a.did(), "name": "Acme Anvils" });
    let vc = issue(&agent, &a.admin, own, "eddsa-jcs-2022").await;
    assert_eq!(verify(&agent, &a.admin, &vc).await["verified"], true);

    // B's admin can neither issue as A (string or object issuer) ...
    for issuer in [json!(a.did()), json!({ "id": a.did() })] {
        let mut as_a = credential();
        as_a["issuer"] = issuer;
        let answer = post(&agent, ISSUE, Some(&b.admin), &json!({ "credential": as_a })).await;
        let problem = assert_problem(&answer, &[403], "B's admin issuing as A");
        assert!(!problem.to_string().contains(a.did()), "the refusal names A's DID: {problem}");
    }
    // ... nor may an employee or the operator issue at all.
    for (who, token) in [("A's employee", a.token(0)), ("the operator", agent.operator_key.as_str())] {
        let answer = post(&agent, ISSUE, Some(token), &json!({ "credential": credential() })).await;
        assert_problem(&answer, &[403], &format!("{who} issuing"));
    }

    // Unauthenticated: 401 everywhere.
    for (path, body) in [
        (ISSUE, json!({ "credential": credential() })),
        (VERIFY, json!({ "verifiableCredential": vc })),
        (VERIFY_VP, json!({ "verifiablePresentation": {} })),
    ] {
        let answer = post(&agent, path, None, &body).await;
        assert_problem(&answer, &[401], &format!("{path} without credentials"));
    }

    // Malformed input: a 400 problem naming what is wrong.
    let with = |key: &str, value: Value| {
        let mut c = credential();
        c[key] = value;
        json!({ "credential": c })
    };
    let without = |key: &str| {
        let mut c = credential();
        c.as_object_mut().expect("object").remove(key);
        json!({ "credential": c })
    };
    let cases = [
        (json!({}), "credential"),
        (json!({ "credential": "text" }), "object"),
        (with("@context", json!(["https://www.w3.org/2018/credentials/v1"])), "@context"),
        (with("type", json!(["EmployeeCredential"])), "VerifiableCredential"),
        (without("credentialSubject"), "credentialSubject"),
        (with("validFrom", json!("soon")), "validFrom"),
        (with("@context", json!([contexts::CREDENTIALS_V2, "https://example.com/unbundled"])), "canonicalized"),
        (json!({ "credential": credential(), "options": { "cryptosuite": "ecdsa-sd-2099" } }), "ecdsa-sd-2099"),
        (json!({ "credential": credential(), "options": { "mandatoryPointers": ["/issuer"] } }), "bbs-2023"),
        (
            json!({ "credential": credential(), "options": { "format": "dc+sd-jwt", "mandatoryPointers": ["/issuer"] } }),
            "bbs-2023",
        ),
        (json!({ "credential": credential(), "options": { "proofPurpose": "x" } }), "proofPurpose"),
    ];
    for (body, named) in cases {
        let answer = post(&agent, ISSUE, Some(&a.admin), &body).await;
        let problem = assert_problem(&answer, &[400], &format!("issue {body}"));
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(named), "issue {body}: the detail does not name `{named}`: {detail}");
    }
    for (path, body) in [
        (VERIFY, json!({})),
        (VERIFY, json!({ "verifiableCredential": "text" })),
        (VERIFY_VP, json!({ "verifiablePresentation": [1] })),
    ] {
        let answer = post(&agent, path, Some(&a.admin), &body).await;
        assert_problem(&answer, &[400], &format!("{path} {body}"));
    }

    // Idempotency-Key: a retry replays the same credential.
    let body = json!({ "credential": credential() });
    let send = || agent.req(Method::POST, ISSUE, Some(&a.admin)).header("Idempotency-Key", "vc-1").json(&body).send();
    let first = idelta_tests::agent::read(send().await.expect("issue")).await;
    let again = idelta_tests::agent::read(send().await.expect("retry")).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.2);
    assert_eq!((again.0, &again.2), (first.0, &first.2), "the retry is replayed");
    assert_eq!(again.1.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
}

/// A credential signed by a key that rotation removed from the DID
/// document no longer verifies (the `issuer` check fails: the method is
/// gone); new credentials are signed with the new key and verify.
async fn rotation_retires_the_old_key(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    let old = issue(&agent, &a.admin, credential(), "eddsa-rdfc-2022").await;
    assert_eq!(verify(&agent, &a.admin, &old).await["verified"], true);

    let (status, _, rotated) =
        agent.request(Method::POST, &format!("/v1/companies/{}/did/rotate", a.id()), Some(&a.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");

    let got = verify(&agent, &a.admin, &old).await;
    assert_eq!(got["verified"], false, "a rotated-out key still verifies: {got:#}");
    assert!(names(&got["errors"]).contains(&"issuer"), "{got:#}");

    let new = issue(&agent, &a.admin, credential(), "eddsa-rdfc-2022").await;
    assert_eq!(new["proof"]["verificationMethod"], format!("{}#key-2", a.did()), "{new}");
    let got = verify(&agent, &a.admin, &new).await;
    assert_eq!(got["verified"], true, "{got:#}");
}

/// A presentation by an external `did:key` holder of an A credential:
/// verified with the right challenge and domain, refused with the wrong
/// ones or with a tampered embedded credential, each failure named.
async fn presentations(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright"]).await;
    let holder = LocalSigner::from_seed([42; 32]);
    let mut subject = credential();
    subject["credentialSubject"]["id"] = holder.did_key().into();
    let vc = issue(&agent, &a.admin, subject, "eddsa-jcs-2022").await;
    let present = |vc: Value| {
        let holder = &holder;
        async move {
            let vp = json!({
                "@context": [contexts::CREDENTIALS_V2],
                "type": ["VerifiablePresentation"],
                "holder": holder.did_key(),
                "verifiableCredential": [vc],
            });
            let options = ProofOptions {
                cryptosuite: idelta_issuer::data_integrity::Cryptosuite::EddsaRdfc2022,
                verification_method: holder.did_key_url(),
                proof_purpose: ProofPurpose::Authentication,
                created: time::OffsetDateTime::from_unix_timestamp(1_748_736_000).expect("time"),
                challenge: Some("c-123".into()),
                domain: Some("verifier.example".into()),
            };
            add_proof(vp, options, holder).await.expect("presentation proof")
        }
    };
    let vp = present(vc.clone()).await;
    let check = |options: Value, vp: Value| {
        let agent = &agent;
        let token = a.token(0).to_owned();
        async move {
            let body = json!({ "verifiablePresentation": vp, "options": options });
            let (status, _, got) = post(agent, VERIFY_VP, Some(&token), &body).await;
            assert_eq!(status, StatusCode::OK, "{got}");
            got
        }
    };
    let got = check(json!({ "challenge": "c-123", "domain": "verifier.example" }), vp.clone()).await;
    assert_eq!(got["verified"], true, "{got:#}");
    let checks = names(&got["checks"]);
    for c in ["signature", "challenge", "domain", "credential[0].signature", "credential[0].issuer"] {
        assert!(checks.contains(&c), "no {c} in {checks:?}");
    }
    let got = check(json!({ "challenge": "other", "domain": "verifier.example" }), vp.clone()).await;
    assert_eq!((got["verified"].as_bool(), names(&got["errors"])), (Some(false), vec!["challenge"]), "{got:#}");
    let got = check(json!({ "challenge": "c-123", "domain": "elsewhere.example" }), vp.clone()).await;
    assert_eq!((got["verified"].as_bool(), names(&got["errors"])), (Some(false), vec!["domain"]), "{got:#}");

    let mut tampered = vc;
    tampered["credentialSubject"]["eligibleVoter"] = false.into();
    let got = check(json!({ "challenge": "c-123" }), present(tampered).await).await;
    assert_eq!(got["verified"], false, "{got:#}");
    assert!(names(&got["errors"]).contains(&"credential[0].signature"), "{got:#}");
}

/// A credential past its `validUntil` or before its `validFrom` is refused
/// with the `validity` check named, whatever the suite; inside its period
/// it verifies.
async fn validity_period(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    let periods = [
        ("expired", "2020-01-01T00:00:00Z", Some("2021-01-01T00:00:00Z"), false),
        ("not yet valid", "2999-01-01T00:00:00Z", None, false),
        ("current", "2020-01-01T00:00:00Z", Some("2999-01-01T00:00:00Z"), true),
    ];
    for suite in ["eddsa-rdfc-2022", "eddsa-jcs-2022"] {
        for (case, from, until, valid) in periods {
            let mut c = credential();
            c["validFrom"] = from.into();
            if let Some(until) = until {
                c["validUntil"] = until.into();
            }
            let vc = issue(&agent, &a.admin, c, suite).await;
            let got = verify(&agent, &a.admin, &vc).await;
            assert_eq!(got["verified"], valid, "{suite} {case}: {got:#}");
            if !valid {
                assert_eq!(names(&got["errors"]), vec!["validity"], "{suite} {case}: only the period fails: {got:#}");
            }
        }
    }
}

/// Digital Bazaar's verifier accepts a VC API credential given the
/// company's DID document as resolved (proof checked) from our ledger.
async fn digital_bazaar_verifies_vc_api_credentials(backend: Backend) {
    let Some(dir) = crate::interop_di::peer() else { return };
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    let did: Did = a.did().parse().expect("did");
    let doc = agent.ledger.resolve_verified(&did, &Default::default()).await.document.expect("active");
    let doc = serde_json::to_value(doc).expect("document JSON");
    for suite in ["eddsa-rdfc-2022", "eddsa-jcs-2022"] {
        // Without a status: Digital Bazaar's status check is the revocation
        // interop test's (interop_di status).
        let options = json!({ "cryptosuite": suite, "credentialStatus": false });
        let (status, _, body) =
            post(&agent, ISSUE, Some(&a.admin), &json!({ "credential": credential(), "options": options })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let vc = body["verifiableCredential"].clone();
        let (ok, err) = crate::interop_di::db_verified(&dir, json!({ "credential": vc, "didDocuments": [doc] }));
        assert!(ok, "{suite}: {err}\n{vc:#}");
        let mut tampered = vc;
        tampered["credentialSubject"]["eligibleVoter"] = false.into();
        let (ok, _) = crate::interop_di::db_verified(&dir, json!({ "credential": tampered, "didDocuments": [doc] }));
        assert!(!ok, "{suite}: tampered");
    }
}

on_both_backends!(
    issue_and_verify,
    rotation_retires_the_old_key,
    presentations,
    validity_period,
    digital_bazaar_verifies_vc_api_credentials
);
