//! A restarted agent (same database, wallets and master key; empty
//! caches) keeps companies, employees, DIDs, wallets, tokens and their
//! revocations, the operator's endorser identity, and event numbering.

use super::Tenant;
use idelta_tests::agent::{assert_problem, id, read_events, Backend, TestAgent};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// The answers to `GET path` with `token`, each 200.
async fn snapshot(agent: &TestAgent, reads: &[(&str, &str)]) -> Vec<Value> {
    let mut answers = Vec::new();
    for (path, token) in reads {
        let (status, _, body) = agent.get(path, token).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        answers.push(body);
    }
    answers
}

async fn restart_keeps_everything(backend: Backend) {
    let Some(mut agent) = TestAgent::start(backend).await else { return };
    let op = agent.operator_key.clone();
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice", "Arthur"]).await;
    let company_path = format!("/v1/companies/{}", a.id());
    let employees = format!("{company_path}/employees");
    // Arthur is removed; the first admin token is replaced.
    let answer =
        agent.request(Method::DELETE, &format!("{employees}/{}", a.employee_id(1)), Some(&a.admin), None).await;
    assert_eq!(answer.0, StatusCode::NO_CONTENT, "{}", answer.2);
    let (status, _, new) = agent
        .request(
            Method::POST,
            &format!("{company_path}/admin-tokens"),
            Some(&op),
            Some(&json!({ "invalidate_previous": true })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{new}");
    let admin = new["token"].as_str().expect("token").to_owned();

    let alice_dids = format!("{employees}/{}/dids", a.employee_id(0));
    let reads = [
        ("/v1/companies", op.as_str()),
        (company_path.as_str(), admin.as_str()),
        (employees.as_str(), admin.as_str()),
        (alice_dids.as_str(), a.token(0)),
    ];
    let before = snapshot(&agent, &reads).await;

    agent.restart().await;

    let after = snapshot(&agent, &reads).await;
    assert_eq!(after, before, "companies, employees and wallets after the restart");
    let (status, _, me) = agent.get("/v1/me", a.token(0)).await;
    assert_eq!((status, me["employee"].as_str()), (StatusCode::OK, Some(a.employee_id(0))), "{me}");
    for (token, what) in [(a.admin.as_str(), "the replaced admin token"), (a.token(1), "the removed employee's token")]
    {
        let answer = agent.get("/v1/me", token).await;
        assert_problem(&answer, &[401], &format!("{what} after the restart"));
    }

    // The company's DID key is still usable: rotate it.
    let (status, _, rotated) =
        agent.request(Method::POST, &format!("{company_path}/did/rotate"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "rotation after the restart: {rotated}");
    let did = a.did().parse().expect("did");
    let resolved = agent.ledger.resolve_verified(&did, &Default::default()).await;
    assert_eq!(resolved.result.did_document_metadata.version_id.as_deref(), Some("2"));
    // The operator still endorses registrations, and employees can be added.
    let b = Tenant::register(&agent, "Globex Gadgets", &["Bob"]).await;
    let (status, _, me) = agent.get("/v1/me", b.token(0)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (carol, _) = agent.add_employee(&a.company, &admin, "Carol").await;

    // Event numbering went on where it stopped.
    let stream = agent.open_events(&format!("{company_path}/events"), &admin, None).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let got = read_events(
        stream,
        |e| e.iter().any(|e| e.kind == "employee.added" && e.data["subject"] == id(&carol)),
        Duration::from_secs(15),
    )
    .await;
    let kinds: Vec<(Option<i64>, &str)> = got.iter().map(|e| (e.id, e.kind.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (Some(1), "company.registered"),
            (Some(2), "employee.added"),
            (Some(3), "employee.added"),
            (Some(4), "employee.removed"),
            (Some(5), "tokens.invalidated"),
            (Some(6), "company.did_rotated"),
            (Some(7), "employee.added"),
        ],
        "{got:?}"
    );
}

on_both_backends!(restart_keeps_everything);
