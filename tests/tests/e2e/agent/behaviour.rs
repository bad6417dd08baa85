//! What the API does for legitimate callers: registration (the DID is on
//! the ledger, proved), input validation as problems, cursor pagination,
//! `Idempotency-Key`, DID rotation (the old key stops authorising ledger
//! writes), `/v1/me`, operations endpoints, the OpenAPI document and the
//! offline docs page.

use super::Tenant;
use idelta_tests::agent::{assert_problem, id, Answer, Backend, TestAgent};
use idelta_tests::check_ledger_proof;
use idelta_types::tx::DidUpdate;
use idelta_types::{Did, DidDocument, Service, SignedTransaction, TxType};
use idelta_wallet::{Holder, Wallets};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

async fn post_raw(agent: &TestAgent, path: &str, token: &str, body: &'static str) -> Answer {
    let req = agent.req(Method::POST, path, Some(token)).header(reqwest::header::CONTENT_TYPE, "application/json");
    idelta_tests::agent::read(req.body(body).send().await.expect("POST")).await
}

async fn register_company_and_validate_input(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let op = agent.operator_key.clone();
    let (status, headers, created) =
        agent.request(Method::POST, "/v1/companies", Some(&op), Some(&json!({ "name": "Acme Anvils" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let media = headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(media.starts_with("application/json"), "{media}");
    assert!(created["admin_token"].as_str().is_some_and(|t| t.split('.').count() == 3), "{created}");
    let company = &created["company"];
    assert_eq!((company["name"].as_str(), company["status"].as_str()), (Some("Acme Anvils"), Some("active")));
    assert!(id(company).starts_with("co-"), "{company}");

    // The DID is on the ledger: resolved through the client that checks
    // the proof, version 1, written by the leaf the agent reported.
    let did: Did = company["did"].as_str().expect("did").parse().expect("a DID");
    assert!(did.as_str().starts_with("did:idelta:"), "{did}");
    let resolved = agent.ledger.resolve_verified(&did, &Default::default()).await;
    let meta = &resolved.result.did_document_metadata;
    assert_eq!(meta.version_id.as_deref(), Some("1"));
    let proof = check_ledger_proof(&resolved.result, &agent.ledger.node_key);
    assert_eq!(proof.tx.author, did, "the DID wrote itself");
    assert_eq!(Some(proof.tx.seq), Some(1));
    assert!(proof.tx.endorser.is_some(), "the operator endorsed the registration");
    assert_eq!(meta.ledger.as_ref().map(|l| l.leaf_index), created["leaf_index"].as_u64(), "{created}");
    let doc = resolved.document.expect("a document");
    assert_eq!(doc.verification_method.len(), 1);

    let (status, _, got) = agent.get(&format!("/v1/companies/{}", id(company)), &op).await;
    assert_eq!((status, &got), (StatusCode::OK, company));
    let (status, _, list) = agent.get("/v1/companies", &op).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"], json!([company]), "{list}");

    // Bad input: problems, and nothing registered.
    for (name, status) in [("Acme Anvils", 409), ("  Acme Anvils ", 409), ("", 400), ("   ", 400), ("a\u{7}b", 400)] {
        let answer = agent.request(Method::POST, "/v1/companies", Some(&op), Some(&json!({ "name": name }))).await;
        assert_problem(&answer, &[status], &format!("name {name:?}"));
    }
    let long = "x".repeat(101);
    let answer = agent.request(Method::POST, "/v1/companies", Some(&op), Some(&json!({ "name": long }))).await;
    assert_problem(&answer, &[400], "a 101-character name");
    for body in [r#"{"name": "#, "not json", r#"{"name": "X", "extra": 1}"#, r#"{"name": 5}"#, "{}", "[]"] {
        let answer = post_raw(&agent, "/v1/companies", &op, body).await;
        assert_problem(&answer, &[400], &format!("body {body}"));
    }
    let answer = idelta_tests::agent::read(
        agent.req(Method::POST, "/v1/companies", Some(&op)).body(r#"{"name":"No Type"}"#).send().await.expect("POST"),
    )
    .await;
    assert_problem(&answer, &[400, 415], "a body without Content-Type");
    let (_, _, list) = agent.get("/v1/companies", &op).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "a refused registration happened: {list}");

    // The same for employees.
    let admin = created["admin_token"].as_str().expect("admin token");
    let employees = format!("/v1/companies/{}/employees", id(company));
    for body in [r#"{"name": "#, r#"{"name": "X", "extra": 1}"#, r#"{"name": ""}"#, "{}"] {
        let answer = post_raw(&agent, &employees, admin, body).await;
        assert_problem(&answer, &[400], &format!("employee body {body}"));
    }
    for query in ["?limit=0", "?limit=201", "?limit=x"] {
        let answer = agent.get(&format!("{employees}{query}"), admin).await;
        assert_problem(&answer, &[400], &format!("list {query}"));
    }
    let answer = agent.get("/v1/companies/co-00000000000000000000000000", &op).await;
    assert_problem(&answer, &[404], "an unknown company");
    let answer = agent.get("/v1/no-such-route", &op).await;
    assert_problem(&answer, &[404], "an unknown route");

    // Idempotent registration: one company, the same answer.
    let key = "register-globex-1";
    let send = |name: &'static str| {
        agent
            .req(Method::POST, "/v1/companies", Some(&op))
            .header("Idempotency-Key", key)
            .json(&json!({ "name": name }))
            .send()
    };
    let first = idelta_tests::agent::read(send("Globex Gadgets").await.expect("POST")).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.2);
    let again = idelta_tests::agent::read(send("Globex Gadgets").await.expect("POST")).await;
    assert_eq!((again.0, &again.2), (first.0, &first.2), "a retried registration answers the same");
    let other = idelta_tests::agent::read(send("Initech").await.expect("POST")).await;
    assert_problem(&other, &[409], "the same Idempotency-Key for another registration");
    let (_, _, list) = agent.get("/v1/companies", &op).await;
    let names: Vec<&str> = list["items"].as_array().expect("items").iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["Acme Anvils", "Globex Gadgets"], "{list}");
}

async fn employees_pages_idempotency_and_me(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["E1", "E2", "E3", "E4", "E5"]).await;
    let employees = format!("/v1/companies/{}/employees", a.id());
    for (e, token) in &a.employees {
        assert!(e["did"].as_str().is_some_and(|d| d.starts_with("did:key:z")), "a private did:key: {e}");
        assert_eq!((e["company_id"].as_str(), e["status"].as_str()), (Some(a.id()), Some("active")), "{e}");
        assert_eq!(token.split('.').count(), 3);
    }

    // Pages of 2: 2, 2, 1; every employee once, in creation order; the
    // last page has no cursor.
    let mut seen: Vec<Value> = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{employees}?limit=2&cursor={c}"),
            None => format!("{employees}?limit=2"),
        };
        let (status, _, page) = agent.get(&path, &a.admin).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        let items = page["items"].as_array().expect("items");
        sizes.push(items.len());
        seen.extend(items.iter().cloned());
        match page.get("next_cursor").filter(|c| !c.is_null()) {
            Some(c) => cursor = Some(c.as_str().expect("a string cursor").to_owned()),
            None => break,
        }
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, [2, 2, 1]);
    let expected: Vec<Value> = a.employees.iter().map(|(e, _)| e.clone()).collect();
    assert_eq!(seen, expected, "every employee exactly once, oldest first");
    let (_, _, all) = agent.get(&employees, &a.admin).await;
    assert_eq!(all["items"], json!(expected));
    assert!(all.get("next_cursor").is_none_or(Value::is_null), "{all}");

    // One employee; its own DIDs hold its did:key; it holds no credentials yet.
    let (status, _, one) = agent.get(&format!("{employees}/{}", a.employee_id(2)), &a.admin).await;
    assert_eq!((status, &one), (StatusCode::OK, a.employee(2)));
    let base = format!("{employees}/{}", a.employee_id(0));
    let (status, _, dids) = agent.get(&format!("{base}/dids"), a.token(0)).await;
    assert_eq!(status, StatusCode::OK, "{dids}");
    let did = a.employee(0)["did"].as_str().expect("did");
    assert!(dids.as_array().is_some_and(|d| d.len() == 1) && dids.to_string().contains(did), "{dids}");
    let (status, _, creds) = agent.get("/v1/me/credentials", a.token(0)).await;
    assert_eq!((status, &creds["items"]), (StatusCode::OK, &json!([])), "{creds}");

    // Idempotency-Key: a retry replays the first answer, token included,
    // and adds nobody; the same key for another body is a conflict.
    let add = |key: &'static str, name: &'static str| {
        agent
            .req(Method::POST, &employees, Some(&a.admin))
            .header("Idempotency-Key", key)
            .json(&json!({ "name": name }))
            .send()
    };
    let first = idelta_tests::agent::read(add("add-idem-1", "Idem").await.expect("POST")).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.2);
    let again = idelta_tests::agent::read(add("add-idem-1", "Idem").await.expect("POST")).await;
    assert_eq!((again.0, &again.2), (StatusCode::CREATED, &first.2), "the retry replays the first answer");
    let conflict = idelta_tests::agent::read(add("add-idem-1", "Someone Else").await.expect("POST")).await;
    assert_problem(&conflict, &[409], "the same Idempotency-Key with another body");
    let (_, _, all) = agent.get(&employees, &a.admin).await;
    let names: Vec<&str> = all["items"].as_array().expect("items").iter().filter_map(|e| e["name"].as_str()).collect();
    assert_eq!(names, ["E1", "E2", "E3", "E4", "E5", "Idem"], "one employee per key");
    let token = first.2["token"].as_str().expect("token");
    let (status, _, me) = agent.get("/v1/me", token).await;
    assert_eq!((status, me["employee"].as_str()), (StatusCode::OK, first.2["employee"]["id"].as_str()));
    // A key is scoped to its company: B may use the same one.
    let b = Tenant::register(&agent, "Globex Gadgets", &[]).await;
    let answer = idelta_tests::agent::read(
        agent
            .req(Method::POST, &format!("/v1/companies/{}/employees", b.id()), Some(&b.admin))
            .header("Idempotency-Key", "add-idem-1")
            .json(&json!({ "name": "Idem" }))
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(answer.0, StatusCode::CREATED, "another company's use of the same key: {}", answer.2);
    assert_ne!(answer.2["employee"]["id"], first.2["employee"]["id"], "B got A's replayed answer: {}", answer.2);
    let answer = agent.request(Method::POST, &employees, Some(&a.admin), None).await;
    assert_problem(&answer, &[400, 415], "an add without a body");

    // /v1/me for each role.
    let (_, _, me) = agent.get("/v1/me", &agent.operator_key).await;
    assert_eq!(me["role"], "operator", "{me}");
    assert!(me.get("company").is_none_or(Value::is_null), "{me}");
    let (_, _, me) = agent.get("/v1/me", &a.admin).await;
    assert_eq!((me["role"].as_str(), me["company"].as_str()), (Some("company-admin"), Some(a.id())), "{me}");
    assert!(me.get("employee").is_none_or(Value::is_null), "{me}");
    let (_, _, me) = agent.get("/v1/me", a.token(3)).await;
    assert_eq!(
        (me["role"].as_str(), me["company"].as_str(), me["employee"].as_str()),
        (Some("employee"), Some(a.id()), Some(a.employee_id(3))),
        "{me}"
    );
}

/// The agent rotates its company DID's key: the ledger shows version 2
/// with a new key, and the old key (still in the company's wallet) can no
/// longer authorise a write, while the new one can.
async fn rotate_company_did(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    let did: Did = a.did().parse().expect("did");
    let v1 = agent.ledger.resolve_verified(&did, &Default::default()).await.document.expect("v1");
    let (status, _, rotated) =
        agent.request(Method::POST, &format!("/v1/companies/{}/did/rotate", a.id()), Some(&a.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["did"], a.did(), "{rotated}");
    let latest = agent.ledger.resolve_verified(&did, &Default::default()).await;
    check_ledger_proof(&latest.result, &agent.ledger.node_key);
    let meta = &latest.result.did_document_metadata;
    assert_eq!(meta.version_id.as_deref(), Some("2"));
    assert_eq!(meta.ledger.as_ref().map(|l| l.leaf_index), rotated["leaf_index"].as_u64(), "{rotated}");
    let v2 = latest.document.expect("v2");
    let key = |doc: &DidDocument| {
        (doc.verification_method[0].id.clone(), doc.verification_method[0].public_key_multibase.clone())
    };
    let ((old_vm, old_mb), (new_vm, new_mb)) = (key(&v1), key(&v2));
    assert_ne!(old_mb, new_mb, "the key changed");
    assert_eq!(v2.capability_invocation, std::slice::from_ref(&new_vm), "only the new key controls the DID");
    // The company is unchanged and still answers.
    let (status, _, company) = agent.get(&format!("/v1/companies/{}", a.id()), &a.admin).await;
    assert_eq!((status, &company), (StatusCode::OK, &a.company));

    // The company's wallet, opened with the operator's master key, holds
    // both keys: sign a ledger update with each.
    let wallets = Wallets::new(agent.wallets.clone(), agent.master_key.clone());
    let wallet = wallets.open(a.id()).await.expect("the company wallet");
    let new_key = rotated["key_id"].as_str().expect("key_id").to_owned();
    let mut old_key = None;
    for k in wallet.key_ids(Holder::Company).await.expect("key ids") {
        let public = wallet.public_key(Holder::Company, &k).await.expect("public key");
        if public.to_multibase() == old_mb {
            old_key = Some(k);
        } else {
            assert_eq!((k.as_str(), public.to_multibase()), (new_key.as_str(), new_mb.clone()), "an unknown key");
        }
    }
    let old_key = old_key.expect("the old key is still in the wallet");
    for (vm, what) in [(old_vm.clone(), "as its old method"), (new_vm.clone(), "claiming the new method")] {
        let tx = signed_update(&agent, &wallet, &did, &v2, &old_key, vm).await;
        let problem = agent.ledger.reject(&tx, 403, "bad-signature").await;
        assert!(problem["detail"].is_string(), "the old key {what}: {problem}");
    }
    let tx = signed_update(&agent, &wallet, &did, &v2, &new_key, new_vm).await;
    agent.ledger.submit_ok(&tx).await;
    let v3 = agent.ledger.resolve_verified(&did, &Default::default()).await;
    assert_eq!(v3.result.did_document_metadata.version_id.as_deref(), Some("3"), "the control write");
    drop(wallet);
    let _ = wallets.close().await;
}

/// A `did.update` of `did` adding a service to `doc`, signed in `wallet`
/// by `key_id` as verification method `vm`, endorsed by the trustee.
async fn signed_update(
    agent: &TestAgent,
    wallet: &idelta_wallet::CompanyWallet,
    did: &Did,
    doc: &DidDocument,
    key_id: &str,
    vm: String,
) -> SignedTransaction {
    let mut doc = doc.clone();
    doc.service.push(Service {
        id: did.with_fragment("web"),
        kind: "LinkedDomains".into(),
        service_endpoint: json!("https://acme.example"),
    });
    let trustee = &agent.ledger.trustee;
    let seq = agent.ledger.author(did).await.seq + 1;
    let mut tx = SignedTransaction::new(
        TxType::DidUpdate,
        did.clone(),
        seq,
        &DidUpdate { document: doc },
        Some(trustee.did.clone()),
    )
    .expect("tx");
    let sig = wallet.sign(Holder::Company, key_id, &tx.signing_input().expect("input")).await.expect("sign");
    tx.push_signature(vm, &sig);
    trustee.sign(&mut tx);
    tx
}

/// Operations endpoints, the OpenAPI document and the docs page, which
/// must work offline (no script or stylesheet from another host).
async fn operations_and_docs(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    for path in ["/healthz", "/readyz"] {
        let (status, _, body) = agent.request(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let _ = agent.get("/v1/me", &agent.operator_key).await;
    let metrics = agent.http.get(format!("{}/metrics", agent.url)).send().await.expect("GET /metrics");
    assert_eq!(metrics.status(), StatusCode::OK);
    let metrics = metrics.text().await.expect("metrics text");
    assert!(metrics.contains("idelta_http_requests_total"), "{metrics}");

    let (status, _, doc) = agent.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "openapi: {}", doc["openapi"]);
    assert!(doc["paths"].as_object().is_some_and(|p| p.len() >= 8), "paths: {}", doc["paths"]);
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object(), "bearer scheme: {}", doc["components"]);

    let page = agent.http.get(format!("{}/docs/", agent.url)).send().await.expect("GET /docs/");
    assert_eq!(page.status(), StatusCode::OK);
    let media = page.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(media.starts_with("text/html"), "{media}");
    let html = page.text().await.expect("docs HTML");
    let referenced = attribute_values(&html, &["src", "href"]);
    assert!(referenced.iter().any(|r| r.ends_with(".js")), "the docs page loads no script: {html}");
    let mut assets = BTreeSet::new();
    for r in &referenced {
        let lower = r.to_ascii_lowercase();
        let off_origin = lower.starts_with("//")
            || ((lower.starts_with("http://") || lower.starts_with("https://")) && !r.starts_with(&agent.url));
        assert!(!off_origin, "the docs page references another host: {r}");
        if !lower.starts_with("data:") && !lower.starts_with('#') {
            assets.insert(r.clone());
        }
    }
    // Every script and stylesheet it references is served here.
    for asset in assets {
        let url = if asset.starts_with("http") {
            asset.clone()
        } else if let Some(abs) = asset.strip_prefix('/') {
            format!("{}/{abs}", agent.url)
        } else {
            format!("{}/docs/{}", agent.url, asset.trim_start_matches("./"))
        };
        let resp = agent.http.get(&url).send().await.expect("GET asset");
        assert_eq!(resp.status(), StatusCode::OK, "{url} referenced by /docs/");
        if asset.contains("initializer") {
            let js = resp.text().await.expect("initializer");
            assert!(js.contains("/openapi.json"), "the docs page does not load /openapi.json: {js}");
        }
    }
}

/// Values of `attr="..."` (or `'...'`) attributes in `html`.
fn attribute_values(html: &str, attrs: &[&str]) -> Vec<String> {
    let mut values = Vec::new();
    for attr in attrs {
        for quote in ['"', '\''] {
            let needle = format!("{attr}={quote}");
            for (at, _) in html.match_indices(&needle) {
                let rest = &html[at + needle.len()..];
                if let Some(end) = rest.find(quote) {
                    values.push(rest[..end].to_owned());
                }
            }
        }
    }
    values
}

/// `Page.next_cursor` is documented "absent on the last page" but is
/// serialized as `null`.
async fn last_page_omits_next_cursor(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let (_, _, page) = agent.get("/v1/companies", &agent.operator_key).await;
    assert!(page.get("next_cursor").is_none(), "next_cursor present on the last page: {page}");
}

on_both_backends!(
    register_company_and_validate_input,
    employees_pages_idempotency_and_me,
    rotate_company_did,
    operations_and_docs,
    last_page_omits_next_cursor,
);
