//! Per-tenant server-sent events: an admin's stream receives what happens
//! in its company, resumes after `Last-Event-ID` (or `?after=`) with only
//! later events, an employee's stream carries only its own events, and no
//! stream crosses companies.

use super::Tenant;
use idelta_tests::agent::{assert_problem, id, read_events, Backend, SseEvent, TestAgent};
use reqwest::{Method, StatusCode};
use std::time::Duration;

/// Bound on waiting for an expected event.
const WAIT: Duration = Duration::from_secs(15);

fn ids(events: &[SseEvent]) -> Vec<i64> {
    events.iter().map(|e| e.id.expect("every event has an id")).collect()
}

fn has(events: &[SseEvent], kind: &str, subject: &str) -> bool {
    events.iter().any(|e| e.kind == kind && e.data["subject"] == subject)
}

async fn open(agent: &TestAgent, path: &str, token: &str, last: Option<i64>) -> reqwest::Response {
    let resp = agent.open_events(path, token, last).await;
    assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
    let media = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(media.starts_with("text/event-stream"), "{path}: {media}");
    resp
}

async fn event_streams(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    let b = Tenant::register(&agent, "Globex Gadgets", &[]).await;
    let a_events = format!("/v1/companies/{}/events", a.id());

    // Live: the stream replays the registration, then sees the addition.
    let stream = open(&agent, &a_events, &a.admin, None).await;
    let (alice, alice_token) = agent.add_employee(&a.company, &a.admin, "Alice").await;
    let got = read_events(stream, |e| has(e, "employee.added", id(&alice)), WAIT).await;
    assert!(has(&got, "employee.added", id(&alice)), "employee.added not received: {got:?}");
    assert!(has(&got, "company.registered", a.id()), "{got:?}");
    assert_eq!(ids(&got), [1, 2], "{got:?}");
    let added = &got[1].data;
    assert_eq!((added["tenant"].as_str(), added["seq"].as_i64()), (Some(a.id()), Some(2)), "{added}");
    assert_eq!(added["data"]["did"], alice["did"], "{added}");

    // Resuming replays only what came later.
    let (arthur, _) = agent.add_employee(&a.company, &a.admin, "Arthur").await;
    let stream = open(&agent, &a_events, &a.admin, Some(2)).await;
    let got = read_events(stream, |e| has(e, "employee.added", id(&arthur)), WAIT).await;
    assert_eq!(ids(&got), [3], "after Last-Event-ID 2: {got:?}");
    let stream = open(&agent, &format!("{a_events}?after=1"), &a.admin, None).await;
    let got = read_events(stream, |e| has(e, "employee.added", id(&arthur)), WAIT).await;
    assert_eq!(ids(&got), [2, 3], "after=1: {got:?}");

    // An employee's stream carries its own events only: Arthur's addition
    // (3) is skipped, Alice's removal (4) arrives live.
    let alice_events = format!("/v1/companies/{}/employees/{}/events", a.id(), id(&alice));
    let stream = open(&agent, &alice_events, &alice_token, None).await;
    let answer = agent
        .request(Method::DELETE, &format!("/v1/companies/{}/employees/{}", a.id(), id(&alice)), Some(&a.admin), None)
        .await;
    assert_eq!(answer.0, StatusCode::NO_CONTENT, "{}", answer.2);
    let got = read_events(stream, |e| has(e, "employee.removed", id(&alice)), WAIT).await;
    assert_eq!(ids(&got), [2, 4], "Alice's stream: {got:?}");
    assert!(got.iter().all(|e| e.data["subject"] == id(&alice)), "{got:?}");

    // Streams do not cross companies: B's admin cannot open A's, and B's
    // own stream holds only B's events.
    let answer = idelta_tests::agent::read(agent.open_events(&a_events, &b.admin, None).await).await;
    assert_problem(&answer, &[403], "B's admin on A's stream");
    let answer =
        idelta_tests::agent::read(agent.open_events(&a_events, &a.admin[..a.admin.len() - 2], None).await).await;
    assert_problem(&answer, &[401], "a damaged token on A's stream");
    let stream = open(&agent, &format!("/v1/companies/{}/events", b.id()), &b.admin, None).await;
    let (bob, _) = agent.add_employee(&b.company, &b.admin, "Bob").await;
    let got = read_events(stream, |e| has(e, "employee.added", id(&bob)), WAIT).await;
    assert_eq!(ids(&got), [1, 2], "B's stream: {got:?}");
    assert!(got.iter().all(|e| e.data["tenant"] == b.id()), "{got:?}");
    let text = format!("{got:?}");
    for secret in [a.id(), a.did(), id(&alice), id(&arthur), "Alice", "Arthur"] {
        assert!(!text.contains(secret), "B's stream mentions A's `{secret}`: {text}");
    }

    // Invalidating tokens is a state change too: it is an event.
    let stream = open(&agent, &format!("{a_events}?after=4"), &a.admin, None).await;
    let arthur_tokens = format!("/v1/companies/{}/employees/{}/tokens", a.id(), id(&arthur));
    let body = serde_json::json!({ "invalidate_previous": true });
    let answer = agent.request(Method::POST, &arthur_tokens, Some(&a.admin), Some(&body)).await;
    assert_eq!(answer.0, StatusCode::CREATED, "{}", answer.2);
    let got = read_events(stream, |e| has(e, "tokens.invalidated", id(&arthur)), WAIT).await;
    assert!(has(&got, "tokens.invalidated", id(&arthur)), "tokens.invalidated not received: {got:?}");
    assert_eq!(got.last().map(|e| e.data["data"]["role"].clone()), Some("employee".into()), "{got:?}");
}

on_both_backends!(event_streams);
