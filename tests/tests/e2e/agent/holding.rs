//! Holding and presenting (issue 4, "Holding and presenting", "Verifier:
//! presentation requests"): a credential issued to an employee lands in
//! that employee's sub-wallet only; the employee lists, reads and deletes
//! it; a company acting as verifier makes a DCQL presentation request, the
//! employee answers it, and the verifier's report names every check. A
//! wrong challenge, a wrong domain, a replayed response, an expired
//! request, a tampered claim, a presentation signed by a key that is not
//! the holder's and an unmet query are each refused with the failing check
//! named, and so is a credential its issuer revoked; companies reach only
//! their own requests. An SD-JWT VC is presented disclosing only the
//! claims asked for.

use super::Tenant;
use idelta_issuer::data_integrity::{add_proof, contexts, Cryptosuite, ProofOptions, ProofPurpose};
use idelta_tests::agent::{assert_problem, Answer, Backend, TestAgent};
use idelta_types::LocalSigner;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ISSUE: &str = "/vc-api/credentials/issue";
const HELD: &str = "/v1/me/credentials";
const PRESENT: &str = "/v1/me/presentations";
const REQUESTS: &str = "/v1/presentation-requests";

fn employee_credential(employer: &str, role: &str) -> Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "credentialSubject": { "employer": employer, "employeeId": "E-1", "role": role },
    })
}

async fn post(agent: &TestAgent, path: &str, token: &str, body: &Value) -> Answer {
    agent.request(Method::POST, path, Some(token), Some(body)).await
}

async fn issue_to(agent: &TestAgent, admin: &str, credential: Value, holder: Value) -> Answer {
    post(agent, ISSUE, admin, &json!({ "credential": credential, "options": { "holder": holder } })).await
}

/// The ids of the credentials `token`'s employee holds.
async fn held_ids(agent: &TestAgent, token: &str) -> Vec<String> {
    let (status, _, page) = agent.get(HELD, token).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().expect("items").iter().map(|c| c["id"].as_str().expect("id").to_owned()).collect()
}

fn failed(report: &Value) -> Vec<String> {
    report["errors"].as_array().expect("errors").iter().map(|e| e["name"].as_str().expect("name").to_owned()).collect()
}

/// Issuing to an employee stores the credential in its sub-wallet and
/// nowhere else; list, show and delete are the employee's own.
async fn issued_to_an_employee_is_held_by_it_only(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright", "Arthur Anvilsmith"]).await;
    let b = Tenant::register(&agent, "Globex Gadgets", &["Bob Gadgeteer"]).await;
    let alice_did = a.employee(0)["did"].as_str().expect("did").to_owned();

    let (status, _, body) =
        issue_to(&agent, &a.admin, employee_credential(a.did(), "engineer"), json!({ "employee": a.employee_id(0) }))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let vc = &body["verifiableCredential"];
    assert_eq!(vc["credentialSubject"]["id"], alice_did.as_str(), "the subject is the employee's did:key");

    let ids = held_ids(&agent, a.token(0)).await;
    assert_eq!(ids.len(), 1, "Alice holds it");
    let (status, _, held) = agent.get(&format!("{HELD}/{}", ids[0]), a.token(0)).await;
    assert_eq!(status, StatusCode::OK, "{held}");
    assert_eq!((held["format"].as_str(), held["issuer"].as_str()), (Some("ldp_vc"), Some(a.did())));
    assert_eq!(&held["credential"], vc, "the wallet holds exactly what was issued");

    // Nobody else sees it: another employee of A, an employee of B.
    for (who, token) in [("Arthur (A)", a.token(1)), ("Bob (B)", b.token(0))] {
        assert!(held_ids(&agent, token).await.is_empty(), "{who} holds nothing");
        let answer = agent.get(&format!("{HELD}/{}", ids[0]), token).await;
        assert_problem(&answer, &[404], &format!("{who} reads Alice's credential"));
        let answer = agent.request(Method::DELETE, &format!("{HELD}/{}", ids[0]), Some(token), None).await;
        assert_problem(&answer, &[404], &format!("{who} deletes Alice's credential"));
    }
    // Admins and the operator hold no credentials.
    for token in [a.admin.as_str(), agent.operator_key.as_str()] {
        assert_problem(&agent.get(HELD, token).await, &[403], "a non-employee lists held credentials");
    }

    // Another company's employee is not found, without saying whose it is;
    // so is an unknown one.
    for holder in [json!({ "employee": b.employee_id(0) }), json!({ "employee": "em-000000000000" })] {
        let answer = issue_to(&agent, &a.admin, employee_credential(a.did(), "x"), holder.clone()).await;
        let problem = assert_problem(&answer, &[404], &format!("holder {holder}"));
        assert!(!problem.to_string().contains("Globex"), "{problem}");
    }
    assert!(held_ids(&agent, b.token(0)).await.is_empty(), "B's employee received nothing");
    // A subject naming someone else, an unknown DID method, a malformed holder: 400.
    let mut other_subject = employee_credential(a.did(), "x");
    other_subject["credentialSubject"]["id"] = json!("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK");
    for (credential, holder, named) in [
        (other_subject, json!({ "employee": a.employee_id(0) }), "credentialSubject.id"),
        (employee_credential(a.did(), "x"), json!({ "did": "did:web:example.com" }), "options.holder.did"),
        (employee_credential(a.did(), "x"), json!({ "someone": "x" }), "holder"),
    ] {
        let answer = issue_to(&agent, &a.admin, credential, holder).await;
        let problem = assert_problem(&answer, &[400, 422], named);
        assert!(problem["detail"].as_str().unwrap_or_default().contains(named), "{problem}");
    }
    assert_eq!(held_ids(&agent, a.token(0)).await.len(), 1, "refused issuances stored nothing");

    // An external holder DID: bound, not stored.
    let outsider = LocalSigner::from_seed([9; 32]);
    let (status, _, body) =
        issue_to(&agent, &a.admin, employee_credential(a.did(), "x"), json!({ "did": outsider.did_key() })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["verifiableCredential"]["credentialSubject"]["id"], outsider.did_key().as_str());
    assert_eq!(held_ids(&agent, a.token(0)).await.len(), 1);

    // Pagination: a second credential, pages of one.
    let (status, _, _) =
        issue_to(&agent, &a.admin, employee_credential(a.did(), "lead"), json!({ "employee": a.employee_id(0) })).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, first) = agent.get(&format!("{HELD}?limit=1"), a.token(0)).await;
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, _, second) = agent.get(&format!("{HELD}?limit=1&cursor={cursor}"), a.token(0)).await;
    assert!(second.get("next_cursor").is_none(), "{second}");
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
    assert_problem(&agent.get(&format!("{HELD}?limit=0"), a.token(0)).await, &[400], "limit 0");

    // Delete: gone for good.
    let path = format!("{HELD}/{}", ids[0]);
    let (status, _, _) = agent.request(Method::DELETE, &path, Some(a.token(0)), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_problem(&agent.get(&path, a.token(0)).await, &[404], "deleted");
    assert_problem(&agent.request(Method::DELETE, &path, Some(a.token(0)), None).await, &[404], "deleted twice");
    assert_eq!(held_ids(&agent, a.token(0)).await.len(), 1);
}

fn employment_query(employer: &str) -> Value {
    json!({ "credentials": [{
        "id": "employment",
        "format": "ldp_vc",
        "meta": { "type_values": [["VerifiableCredential", "EmployeeCredential"]] },
        "claims": [
            { "path": ["credentialSubject", "role"] },
            { "path": ["credentialSubject", "employer"], "values": [employer] },
        ],
    }]})
}

/// A verifier's request, answered by an employee, checked by the verifier.
async fn request_answer_verify(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright", "Arthur Anvilsmith"]).await;
    let v = Tenant::register(&agent, "Verifying Ventures", &["Vera"]).await;
    let mut issued_ids = Vec::new();
    for (i, role) in [(0, "engineer"), (1, "accountant")] {
        let holder = json!({ "employee": a.employee_id(i) });
        let (status, _, body) = issue_to(&agent, &a.admin, employee_credential(a.did(), role), holder).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        issued_ids.push(body["credentialId"].as_str().expect("credentialId").to_owned());
    }
    let new_request = |query: Value| {
        let (agent, admin) = (&agent, v.admin.clone());
        async move {
            let (status, _, request) = post(agent, REQUESTS, &admin, &json!({ "dcql_query": query })).await;
            assert_eq!(status, StatusCode::CREATED, "{request}");
            request
        }
    };
    let answer = |token: String, request: Value| {
        let agent = &agent;
        async move {
            let ask =
                json!({ "dcql_query": request["dcql_query"], "nonce": request["nonce"], "domain": request["domain"] });
            let (status, _, answer) = post(agent, PRESENT, &token, &ask).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer["vp_token"].clone()
        }
    };
    let check = |request: Value, vp_token: Value| {
        let (agent, admin) = (&agent, v.admin.clone());
        async move {
            let path = format!("{REQUESTS}/{}/responses", request["id"].as_str().expect("id"));
            let (status, _, report) = post(agent, &path, &admin, &json!({ "vp_token": vp_token })).await;
            assert_eq!(status, StatusCode::OK, "{report}");
            report
        }
    };

    // The request: a 256-bit nonce, the verifier's DID as domain, an expiry.
    let request = new_request(employment_query(a.did())).await;
    assert!(request["nonce"].as_str().is_some_and(|n| n.len() >= 43), "{request}");
    assert_eq!(request["domain"], v.did());
    assert!(request["expiresAt"].as_i64().is_some(), "{request}");
    let (status, _, got) = agent.get(&format!("{REQUESTS}/{}", request["id"].as_str().expect("id")), &v.admin).await;
    assert_eq!((status, &got["nonce"]), (StatusCode::OK, &request["nonce"]));

    // Answered by Alice: a VP of her credential, her key, the challenge and domain.
    let vp_token = answer(a.token(0).to_owned(), request.clone()).await;
    let vp = &vp_token["employment"][0];
    assert_eq!(vp["holder"], a.employee(0)["did"]);
    assert_eq!(
        (vp["proof"]["challenge"].as_str(), vp["proof"]["domain"].as_str()),
        (request["nonce"].as_str(), Some(v.did()))
    );
    assert_eq!(vp["verifiableCredential"][0]["credentialSubject"]["role"], "engineer");
    let report = check(request.clone(), vp_token.clone()).await;
    assert_eq!(report["verified"], true, "{report}");
    let checks: Vec<&str> = report["checks"].as_array().expect("checks").iter().filter_map(Value::as_str).collect();
    for name in [
        "request.expiry",
        "request.query",
        "request.unused",
        "vp_token.employment[0].challenge",
        "vp_token.employment[0].domain",
        "vp_token.employment[0].holderBinding",
    ] {
        assert!(checks.contains(&name), "{name} in {checks:?}");
    }
    assert_eq!(report["presented"]["employment"][0]["credentialSubject"]["role"], "engineer");

    // Replayed: refused, single use.
    let report = check(request.clone(), vp_token.clone()).await;
    assert_eq!((report["verified"].as_bool(), failed(&report)), (Some(false), vec!["request.unused".to_owned()]));

    // A wrong challenge, a wrong domain: the check named.
    for (what, field, value, named) in [
        ("wrong challenge", "nonce", "not-the-nonce", "vp_token.employment[0].challenge"),
        ("wrong domain", "domain", "https://elsewhere.example", "vp_token.employment[0].domain"),
    ] {
        let request = new_request(employment_query(a.did())).await;
        let mut skewed = request.clone();
        skewed[field] = json!(value);
        let report = check(request, answer(a.token(0).to_owned(), skewed).await).await;
        assert_eq!(report["verified"], false, "{what}: {report}");
        assert!(failed(&report).contains(&named.to_owned()), "{what}: {report}");
    }

    // An expired request: its answer is refused with request.expiry named
    // (the expiry is moved into the past in the agent's database).
    let request = new_request(employment_query(a.did())).await;
    let vp_token = answer(a.token(0).to_owned(), request.clone()).await;
    let db = idelta_agent::db::Db::connect(&agent.db_url).await.expect("agent database");
    sqlx::query("UPDATE presentation_requests SET expires_at = 0 WHERE id = $1")
        .bind(request["id"].as_str().expect("id"))
        .execute(db.pool())
        .await
        .expect("expire the request");
    let report = check(request, vp_token).await;
    assert_eq!(failed(&report), vec!["request.expiry".to_owned()], "{report}");

    // A tampered claim breaks the signatures.
    let request = new_request(employment_query(a.did())).await;
    let mut tampered = answer(a.token(0).to_owned(), request.clone()).await;
    tampered["employment"][0]["verifiableCredential"][0]["credentialSubject"]["role"] = json!("ceo");
    let report = check(request, tampered).await;
    assert_eq!(report["verified"], false, "{report}");
    assert!(failed(&report).iter().any(|n| n.ends_with("signature")), "{report}");

    // Alice's credential presented under a key that is not hers: an
    // outsider as holder fails holder binding; claiming to be Alice fails
    // the proof's key check.
    let request = new_request(employment_query(a.did())).await;
    let alices =
        answer(a.token(0).to_owned(), request.clone()).await["employment"][0]["verifiableCredential"][0].clone();
    let outsider = LocalSigner::from_seed([77; 32]);
    let forge = |holder: &str, request: &Value| {
        let vp = json!({
            "@context": [contexts::CREDENTIALS_V2],
            "type": ["VerifiablePresentation"],
            "holder": holder,
            "verifiableCredential": [alices.clone()],
        });
        let options = ProofOptions {
            cryptosuite: Cryptosuite::EddsaRdfc2022,
            verification_method: outsider.did_key_url(),
            proof_purpose: ProofPurpose::Authentication,
            created: time::OffsetDateTime::from_unix_timestamp(1_748_736_000).expect("time"),
            challenge: request["nonce"].as_str().map(str::to_owned),
            domain: request["domain"].as_str().map(str::to_owned),
        };
        add_proof(vp, options, &outsider)
    };
    let as_outsider = forge(&outsider.did_key(), &request).await.expect("proof");
    let report = check(request, json!({ "employment": [as_outsider] })).await;
    assert_eq!(report["verified"], false, "{report}");
    assert!(failed(&report).contains(&"vp_token.employment[0].holderBinding".to_owned()), "{report}");
    let request = new_request(employment_query(a.did())).await;
    let as_alice = forge(a.employee(0)["did"].as_str().expect("did"), &request).await.expect("proof");
    let report = check(request, json!({ "employment": [as_alice] })).await;
    assert_eq!(report["verified"], false, "{report}");
    assert!(failed(&report).iter().any(|n| n.starts_with("vp_token.employment[0].")), "{report}");

    // The query not met: a request for two credentials answered with one.
    let mut two = employment_query(a.did());
    two["credentials"].as_array_mut().expect("credentials").push(json!({
        "id": "benefit", "format": "ldp_vc", "meta": { "type_values": [["BenefitOwnershipCredential"]] },
    }));
    let request = new_request(two).await;
    let mut partial = request.clone();
    partial["dcql_query"] = employment_query(a.did());
    let report = check(request.clone(), answer(a.token(0).to_owned(), partial).await).await;
    assert_eq!(failed(&report), vec!["request.query".to_owned()], "{report}");
    assert!(report.to_string().contains("`benefit`"), "the unmet query is named: {report}");
    // The holder itself refuses what it cannot answer, naming why.
    let ask = json!({ "dcql_query": request["dcql_query"], "nonce": request["nonce"], "domain": request["domain"] });
    let problem = assert_problem(&post(&agent, PRESENT, a.token(0), &ask).await, &[422], "unanswerable").clone();
    assert!(problem["detail"].as_str().unwrap_or_default().contains("benefit"), "{problem}");
    // A claim value asked for that Arthur's credential does not have.
    let mut engineers = employment_query(a.did());
    engineers["credentials"][0]["claims"][0]["values"] = json!(["engineer"]);
    let request = new_request(engineers).await;
    let ask = json!({ "dcql_query": request["dcql_query"], "nonce": request["nonce"], "domain": request["domain"] });
    let problem = assert_problem(&post(&agent, PRESENT, a.token(1), &ask).await, &[422], "not an engineer").clone();
    assert!(problem["detail"].as_str().unwrap_or_default().contains("credentialSubject.role"), "{problem}");

    // Malformed queries are refused when the request is made.
    let bad = json!({ "credentials": [{ "id": "x", "format": "mso_mdoc", "meta": {} }] });
    let problem =
        assert_problem(&post(&agent, REQUESTS, &v.admin, &json!({ "dcql_query": bad })).await, &[400], "mdoc").clone();
    assert!(problem["detail"].as_str().unwrap_or_default().contains("mso_mdoc"), "{problem}");

    // Scope: A's admin cannot read or check V's request; employees make none.
    let request = new_request(employment_query(a.did())).await;
    let path = format!("{REQUESTS}/{}", request["id"].as_str().expect("id"));
    assert_problem(&agent.get(&path, &a.admin).await, &[404], "A reads V's request");
    let vp_token = answer(a.token(0).to_owned(), request.clone()).await;
    let answer_by_a = post(&agent, &format!("{path}/responses"), &a.admin, &json!({ "vp_token": vp_token })).await;
    assert_problem(&answer_by_a, &[404], "A checks a response to V's request");
    assert_problem(
        &post(&agent, REQUESTS, a.token(0), &json!({ "dcql_query": employment_query(a.did()) })).await,
        &[403],
        "an employee",
    );
    // A's failed attempt did not use up V's request.
    let report = check(request, vp_token).await;
    assert_eq!(report["verified"], true, "{report}");

    // Arthur's credential revoked by its issuer: once the list is on the
    // ledger, his answer fails on the embedded credential's status.
    let change = json!({ "credentialId": issued_ids[1],
        "credentialStatus": [{ "type": "BitstringStatusListEntry", "status": "revoked" }] });
    let (status, _, body) = post(&agent, "/vc-api/credentials/status", &a.admin, &change).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let request = new_request(employment_query(a.did())).await;
        let report = check(request.clone(), answer(a.token(1).to_owned(), request).await).await;
        if failed(&report).iter().any(|n| n.starts_with("vp_token.employment[0].") && n.ends_with("status.revocation"))
        {
            assert_eq!(report["verified"], false, "{report}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the revocation never showed: {report}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// An SD-JWT VC issued to an employee is held as the compact SD-JWT and
/// presented disclosing only the claims the query asks for, bound to the
/// request's nonce and domain by a Key Binding JWT.
async fn sd_jwt_presentations_disclose_only_what_is_asked(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright"]).await;
    let v = Tenant::register(&agent, "Verifying Ventures", &[]).await;
    let options = json!({ "format": "dc+sd-jwt", "holder": { "employee": a.employee_id(0) } });
    let body = json!({ "credential": employee_credential(a.did(), "engineer"), "options": options });
    let (status, _, issued) = post(&agent, ISSUE, &a.admin, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let (_, _, page) = agent.get(HELD, a.token(0)).await;
    let held = &page["items"][0];
    assert_eq!(held["format"], "dc+sd-jwt", "{page}");
    let vct = held["types"][0].as_str().expect("vct").to_owned();
    let compact = held["credential"].as_str().expect("the compact SD-JWT");
    assert!(issued["verifiableCredential"]["id"].as_str().is_some_and(|id| id.ends_with(compact)), "{issued}");

    let query = json!({ "credentials": [{
        "id": "job", "format": "dc+sd-jwt", "meta": { "vct_values": [vct] }, "claims": [{ "path": ["role"] }],
    }]});
    let new_request = || {
        let (agent, admin, query) = (&agent, v.admin.clone(), query.clone());
        async move {
            let (status, _, request) = post(agent, REQUESTS, &admin, &json!({ "dcql_query": query })).await;
            assert_eq!(status, StatusCode::CREATED, "{request}");
            request
        }
    };
    let present = |request: &Value, nonce: &Value| {
        let ask = json!({ "dcql_query": request["dcql_query"], "nonce": nonce, "domain": request["domain"] });
        let (agent, token) = (&agent, a.token(0).to_owned());
        async move {
            let (status, _, answer) = post(agent, PRESENT, &token, &ask).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer["vp_token"].clone()
        }
    };
    let respond = |request: &Value, vp_token: Value| {
        let path = format!("{REQUESTS}/{}/responses", request["id"].as_str().expect("id"));
        let (agent, admin) = (&agent, v.admin.clone());
        async move {
            let (status, _, report) = post(agent, &path, &admin, &json!({ "vp_token": vp_token })).await;
            assert_eq!(status, StatusCode::OK, "{report}");
            report
        }
    };

    let request = new_request().await;
    let vp_token = present(&request, &request["nonce"]).await;
    let presentation = vp_token["job"][0].as_str().expect("a compact SD-JWT with a KB-JWT");
    assert!(presentation.len() < compact.len() + 400, "fewer disclosures than held");
    let report = respond(&request, vp_token.clone()).await;
    assert_eq!(report["verified"], true, "{report}");
    let claims = &report["presented"]["job"][0];
    assert_eq!(claims["role"], "engineer", "{report}");
    for hidden in ["employer", "employeeId"] {
        assert!(claims.get(hidden).is_none(), "{hidden} was disclosed: {claims}");
    }
    let checks = report["checks"].to_string();
    for name in [
        "vp_token.job[0].holderBinding",
        "vp_token.job[0].challenge",
        "vp_token.job[0].domain",
        "vp_token.job[0].status",
        "vp_token.job[0].schema",
        "request.query",
    ] {
        assert!(checks.contains(name), "{name} in {checks}");
    }

    // Another nonce: the challenge check fails; a replay: request.unused.
    let request = new_request().await;
    let report = respond(&request, present(&request, &json!("another-nonce")).await).await;
    assert!(failed(&report).contains(&"vp_token.job[0].challenge".to_owned()), "{report}");
    assert!(report.to_string().contains("no presentation under it verified"), "{report}");
    let report = respond(&request, vp_token).await;
    assert!(failed(&report).contains(&"request.unused".to_owned()), "{report}");
}

on_both_backends!(
    issued_to_an_employee_is_held_by_it_only,
    request_answer_verify,
    sd_jwt_presentations_disclose_only_what_is_asked
);
