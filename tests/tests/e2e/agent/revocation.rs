//! Revocation (issue 4 item 5): credentials issued over the VC API carry
//! Bitstring Status List entries; the issuing company's admin revokes,
//! suspends and reinstates them with `POST /vc-api/credentials/status`;
//! the publisher writes each list to the ledger, where the agent's
//! verifier reads it (`status.revocation`, `status.suspension` named in
//! the report), and serves it signed at its public URL. Another company
//! cannot touch A's credentials. When the ledger refuses the publication,
//! the change stays visibly pending (also across a restart) and is
//! published once the ledger accepts again. Removing an employee revokes
//! the employee's credentials; removing a company revokes all it issued.
//! SD-JWT VCs go through a Token Status List the same way. Digital
//! Bazaar's `vc-bitstring-status-list` reads the served lists alike.

use super::Tenant;
use idelta_issuer::data_integrity::contexts;
use idelta_revocation::bitstring::{BitstringStatusListEntry, StatusSize};
use idelta_revocation::StatusList;
use idelta_tests::agent::{assert_problem, Answer, Backend, TestAgent};
use idelta_types::tx::Role;
use idelta_types::{Did, TxType};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const ISSUE: &str = "/vc-api/credentials/issue";
const VERIFY: &str = "/vc-api/credentials/verify";
const STATUS: &str = "/vc-api/credentials/status";

/// A credential of no idelta type (no schema), its subject bound to the
/// holder when the options name one.
fn credential() -> Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2],
        "type": ["VerifiableCredential"],
        "credentialSubject": { "description": "tests anvils" }
    })
}

async fn post(agent: &TestAgent, path: &str, token: Option<&str>, body: &Value) -> Answer {
    agent.request(Method::POST, path, token, Some(body)).await
}

/// Issues [`credential`] as `token`'s company; returns the credential and
/// its credentialId.
async fn issue(agent: &TestAgent, token: &str, options: Value) -> (Value, String) {
    issue_this(agent, token, credential(), options).await
}

/// Issues `credential` as `token`'s company; returns the secured credential
/// and its credentialId.
async fn issue_this(agent: &TestAgent, token: &str, credential: Value, options: Value) -> (Value, String) {
    let body = json!({ "credential": credential, "options": options });
    let (status, _, body) = post(agent, ISSUE, Some(token), &body).await;
    assert_eq!(status, StatusCode::CREATED, "issue: {body}");
    let id = body["credentialId"].as_str().unwrap_or_else(|| panic!("credentialId in {body}")).to_owned();
    (body["verifiableCredential"].clone(), id)
}

async fn verify(agent: &TestAgent, vc: &Value) -> Value {
    let (status, _, body) =
        post(agent, VERIFY, Some(&agent.operator_key), &json!({ "verifiableCredential": vc })).await;
    assert_eq!(status, StatusCode::OK, "verify: {body}");
    body
}

fn failed(report: &Value) -> Vec<String> {
    report["errors"].as_array().expect("errors").iter().map(|e| e["name"].as_str().expect("name").to_owned()).collect()
}

fn change(id: &str, status: &str) -> Value {
    json!({ "credentialId": id, "credentialStatus": [{ "type": "BitstringStatusListEntry", "status": status }] })
}

async fn set_status(agent: &TestAgent, token: &str, id: &str, status: &str) -> Value {
    let (code, _, body) = post(agent, STATUS, Some(token), &change(id, status)).await;
    assert_eq!(code, StatusCode::OK, "set {status}: {body}");
    body
}

/// The company's status lists, as its admin sees them.
async fn lists(agent: &TestAgent, admin: &str, company: &str) -> Vec<Value> {
    let (status, _, body) = agent.get(&format!("/v1/companies/{company}/status-lists"), admin).await;
    assert_eq!(status, StatusCode::OK, "status lists: {body}");
    body.as_array().expect("lists").clone()
}

fn pending(lists: &[Value]) -> i64 {
    lists.iter().map(|l| l["pending"].as_i64().expect("pending")).sum()
}

/// Waits until every change of the company is on the ledger.
async fn published(agent: &TestAgent, admin: &str, company: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = lists(agent, admin, company).await;
        if pending(&now) == 0 && now.iter().all(|l| l["version"].as_i64() > Some(0)) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "changes never published: {now:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until verifying `vc` fails on `check`.
async fn refused_on(agent: &TestAgent, vc: &Value, check: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let report = verify(agent, vc).await;
        if report["verified"] == false {
            assert_eq!(failed(&report), [check], "{report:#}");
            return report;
        }
        assert!(tokio::time::Instant::now() < deadline, "{check} never failed: {report:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The entry of `purpose` in a credential's `credentialStatus`.
fn entry(vc: &Value, purpose: &str) -> BitstringStatusListEntry {
    let item = vc["credentialStatus"]
        .as_array()
        .expect("credentialStatus array")
        .iter()
        .find(|e| e["statusPurpose"] == purpose)
        .unwrap_or_else(|| panic!("no {purpose} entry in {vc}"));
    BitstringStatusListEntry::from_json(item).expect("entry")
}

/// The bit of `entry` in the list the ledger holds, read with the ledger
/// client (inclusion proof checked).
async fn ledger_bit(agent: &TestAgent, did: &str, entry: &BitstringStatusListEntry) -> u8 {
    let name = entry.status_list_credential.rsplit('/').next().expect("list name");
    let view = agent.ledger.client.object(&format!("{did}/statusList/{name}"), None).await.expect("ledger object");
    assert_eq!(view.content["issuer"], did, "{}", view.content);
    let encoded = view.content["credentialSubject"]["encodedList"].as_str().expect("encodedList");
    StatusList::decode(encoded, StatusSize::ONE).expect("list").get(entry.status_list_index).expect("index")
}

/// Issue, verify, suspend, reinstate, revoke; the list on the ledger and
/// the one served follow; another company and wrong scopes are refused.
async fn revoke_suspend_reinstate(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright"]).await;
    let b = Tenant::register(&agent, "Globex Gadgets", &[]).await;
    let (vc, id) = issue(&agent, &a.admin, json!({})).await;
    let (rev, sus) = (entry(&vc, "revocation"), entry(&vc, "suspension"));
    let base = format!("/status-lists/{}/", a.id());
    assert!(rev.status_list_credential.contains(&base) && sus.status_list_credential.contains(&base), "{vc:#}");
    assert_ne!(rev.status_list_credential, sus.status_list_credential, "one list per purpose");
    let (_, other) =
        issue(&agent, &a.admin, json!({ "credentialStatus": { "type": "BitstringStatusListEntry" } })).await;
    assert_ne!(other, id);

    let ok = verify(&agent, &vc).await;
    assert_eq!(ok["verified"], true, "{ok:#}");
    for check in ["status.revocation", "status.suspension"] {
        assert!(ok["checks"].as_array().expect("checks").iter().any(|c| c == check), "{check} not made: {ok:#}");
    }
    // Without a status there is nothing to revoke.
    let body = json!({ "credential": credential(), "options": { "credentialStatus": false } });
    let (status, _, plain) = post(&agent, ISSUE, Some(&a.admin), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{plain}");
    assert!(plain.get("credentialId").is_none() && plain["verifiableCredential"].get("credentialStatus").is_none());

    // Company B cannot change A's credential (not found, like an unknown
    // id), nor can A's employee or the operator; bad input is named.
    for (who, token) in
        [("B's admin", b.admin.as_str()), ("A's employee", a.token(0)), ("operator", &agent.operator_key)]
    {
        let answer = post(&agent, STATUS, Some(token), &change(&id, "revoked")).await;
        let body = assert_problem(&answer, &[403, 404], who);
        assert!(!body.to_string().contains(a.did()), "{who}: {body}");
    }
    let unknown = post(&agent, STATUS, Some(&b.admin), &change("cr-000000000000000000000000000000", "revoked")).await;
    let mine = post(&agent, STATUS, Some(&b.admin), &change(&id, "revoked")).await;
    assert_eq!((mine.0, &mine.2), (unknown.0, &unknown.2), "A's credential id and an unknown id are told apart");
    for (bad, named) in [
        (change(&id, "deleted"), "status"),
        (json!({ "credentialId": id, "credentialStatus": [] }), "credentialStatus"),
        (
            json!({ "credentialId": id, "credentialStatus": [{ "type": "StatusList2021Entry", "status": "revoked" }] }),
            "type",
        ),
    ] {
        let answer = post(&agent, STATUS, Some(&a.admin), &bad).await;
        let body = assert_problem(&answer, &[400, 422], named);
        assert!(body["detail"].as_str().unwrap_or_default().contains(named), "{body}");
    }
    published(&agent, &a.admin, a.id()).await;
    assert_eq!(pending(&lists(&agent, &a.admin, a.id()).await), 0, "a refused change was recorded");
    assert_eq!(verify(&agent, &vc).await["verified"], true, "A's credential still verifies");

    // Suspend: refused with status.suspension; the ledger's list has the bit.
    let suspended = set_status(&agent, &a.admin, &id, "suspended").await;
    assert_eq!(suspended["status"], "suspended");
    refused_on(&agent, &vc, "status.suspension").await;
    assert_eq!(ledger_bit(&agent, a.did(), &sus).await, 1);
    assert_eq!(ledger_bit(&agent, a.did(), &rev).await, 0);

    // Reinstate: verified again.
    set_status(&agent, &a.admin, &id, "valid").await;
    published(&agent, &a.admin, a.id()).await;
    assert_eq!(ledger_bit(&agent, a.did(), &sus).await, 0);
    let again = verify(&agent, &vc).await;
    assert_eq!(again["verified"], true, "reinstated: {again:#}");

    // Revoke (by the credential's record id): final.
    let revoked = set_status(&agent, &a.admin, &id, "revoked").await;
    assert_eq!(revoked["status"], "revoked");
    let report = refused_on(&agent, &vc, "status.revocation").await;
    assert_eq!(report["errors"][0]["detail"], "revoked", "{report:#}");
    assert_eq!(ledger_bit(&agent, a.did(), &rev).await, 1);
    let answer = post(&agent, STATUS, Some(&a.admin), &change(&id, "valid")).await;
    assert_problem(&answer, &[409], "reinstating a revoked credential");
    // The other credential is untouched.
    let (_, _, listed) = agent.get(&format!("/v1/companies/{}/status-lists", a.id()), &a.admin).await;
    assert!(listed.as_array().expect("lists").iter().all(|l| l["capacity"] == 131_072), "herd privacy: {listed}");

    // The served list: public, signed by A, short-lived, with the bit set;
    // it verifies as A's credential.
    let path = rev.status_list_credential.split_once(&a.id().to_string()).map(|(_, rest)| rest).expect("path");
    let (status, headers, served) =
        agent.request(Method::GET, &format!("/status-lists/{}{path}", a.id()), None, None).await;
    assert_eq!(status, StatusCode::OK, "{served}");
    assert!(headers[reqwest::header::CONTENT_TYPE].to_str().expect("type").starts_with("application/vc+ld+json"));
    assert_eq!(served["issuer"], a.did());
    assert_eq!(served["id"], rev.status_list_credential);
    assert!(served["validUntil"].is_string(), "{served}");
    let list = StatusList::decode(served["credentialSubject"]["encodedList"].as_str().expect("list"), StatusSize::ONE)
        .expect("decode");
    assert_eq!(list.get(rev.status_list_index).expect("bit"), 1);
    assert_eq!(verify(&agent, &served).await["verified"], true, "the served list is A's signed credential");
    let unknown = agent.request(Method::GET, &format!("/status-lists/{}/revocation-9", a.id()), None, None).await;
    assert_problem(&unknown, &[404], "unknown list");
}

/// The operator's endorser DID: the endorser of A's DID creation.
/// A company's first issuances, concurrent, all succeed: the first one
/// creates the lists and the others wait for it; no two credentials share
/// an index.
async fn concurrent_first_issuances(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    let issued =
        futures::future::join_all((0..8).map(|_| issue(&agent, &a.admin, json!({ "credentialStatus": true })))).await;
    let mut indexes = std::collections::HashSet::new();
    for (vc, _) in &issued {
        for entry in vc["credentialStatus"].as_array().expect("two entries") {
            let key = (entry["statusListCredential"].to_string(), entry["statusListIndex"].to_string());
            assert!(indexes.insert(key), "an index was given twice: {entry}");
        }
    }
    assert_eq!(indexes.len(), 16, "two entries each");
    assert_eq!(lists(&agent, &a.admin, a.id()).await.len(), 2, "one revocation and one suspension list");
}

async fn endorser_of(agent: &TestAgent, did: &str) -> Did {
    for i in 0..agent.ledger.tree_size().await {
        let tx = agent.ledger.client.entry(i).await.expect("entry").tx;
        if tx.tx_type == TxType::DidCreate && tx.author.as_str() == did {
            return tx.endorser.expect("endorsed");
        }
    }
    panic!("no creation of {did} on the ledger");
}

/// Grants or revokes the endorser role as the ledger's trustee (whose
/// sequence number the agent's bootstrap also advanced).
async fn set_endorser(agent: &mut TestAgent, endorser: &Did, on: bool) {
    let trustee = agent.ledger.trustee.did.clone();
    agent.ledger.trustee.next_seq = agent.ledger.author(&trustee).await.seq + 1;
    if on {
        agent.ledger.grant(endorser, Role::Endorser).await;
    } else {
        agent.ledger.revoke(endorser).await;
    }
}

/// Waits until a list shows at least two failed publication attempts;
/// returns it.
async fn failing_list(agent: &TestAgent, admin: &str, company: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = lists(agent, admin, company).await;
        if let Some(list) = now.iter().find(|l| l["attempts"].as_i64() >= Some(2)) {
            return list.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no failed attempt recorded: {now:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ledger refuses the publication (the operator lost its endorser
/// role): the change stays pending with the error shown, and is published
/// once the ledger accepts again; a pending change also survives a
/// restart (whose bootstrap restores the role here) and is published after.
async fn failed_publication_stays_pending(backend: Backend) {
    let Some(mut agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    let (vc, id) = issue(&agent, &a.admin, json!({})).await;
    let (other, other_id) = issue(&agent, &a.admin, json!({})).await;
    published(&agent, &a.admin, a.id()).await;
    let endorser = endorser_of(&agent, a.did()).await;
    set_endorser(&mut agent, &endorser, false).await;

    let answer = set_status(&agent, &a.admin, &id, "revoked").await;
    assert_eq!(answer["pending"], true, "{answer}");
    let failing = failing_list(&agent, &a.admin, a.id()).await;
    assert_eq!(failing["pending"], 1, "{failing:#}");
    assert!(failing["lastError"].as_str().is_some_and(|e| e.contains("ledger")), "{failing:#}");
    assert!(failing["nextAttemptAt"].as_i64() > Some(0), "{failing:#}");
    // Until published, verifiers reading the ledger still see the old list.
    assert_eq!(verify(&agent, &vc).await["verified"], true);

    set_endorser(&mut agent, &endorser, true).await;
    published(&agent, &a.admin, a.id()).await;
    refused_on(&agent, &vc, "status.revocation").await;

    // Pending across a restart.
    set_endorser(&mut agent, &endorser, false).await;
    set_status(&agent, &a.admin, &other_id, "suspended").await;
    let failing = failing_list(&agent, &a.admin, a.id()).await;
    assert_eq!(failing["pending"], 1, "{failing:#}");
    assert_eq!(verify(&agent, &other).await["verified"], true);
    agent.restart().await;
    published(&agent, &a.admin, a.id()).await;
    refused_on(&agent, &other, "status.suspension").await;
}

/// Removing an employee revokes the employee's credentials and no other;
/// removing the company revokes everything it issued.
async fn removal_revokes(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright", "Arthur Anvilsmith"]).await;
    let (alice_vc, _) = issue(&agent, &a.admin, json!({ "holder": { "employee": a.employee_id(0) } })).await;
    let (arthur_vc, _) = issue(&agent, &a.admin, json!({ "holder": { "employee": a.employee_id(1) } })).await;
    let (other_vc, _) = issue(&agent, &a.admin, json!({})).await;
    published(&agent, &a.admin, a.id()).await;
    for vc in [&alice_vc, &arthur_vc, &other_vc] {
        assert_eq!(verify(&agent, vc).await["verified"], true);
    }

    let path = format!("/v1/companies/{}/employees/{}", a.id(), a.employee_id(0));
    let (status, _, body) = agent.request(Method::DELETE, &path, Some(&a.admin), None).await;
    assert!(status.is_success(), "remove Alice: {body}");
    refused_on(&agent, &alice_vc, "status.revocation").await;
    published(&agent, &a.admin, a.id()).await;
    assert_eq!(verify(&agent, &arthur_vc).await["verified"], true, "another employee's credential was revoked");
    assert_eq!(verify(&agent, &other_vc).await["verified"], true);

    let (status, _, body) =
        agent.request(Method::DELETE, &format!("/v1/companies/{}", a.id()), Some(&agent.operator_key), None).await;
    assert!(status.is_success(), "remove A: {body}");
    refused_on(&agent, &arthur_vc, "status.revocation").await;
    refused_on(&agent, &other_vc, "status.revocation").await;
}

/// SD-JWT VCs: a Token Status List reference in `status`, checked as
/// `status` on verification; suspended, reinstated, revoked; the list is
/// served as a Status List Token.
async fn sd_jwt_token_status(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    // An SD-JWT VC's vct is its type's: an idelta type.
    let employee = json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "credentialSubject": { "employer": a.did(), "employeeId": "E-7" }
    });
    let (vc, id) = issue_this(&agent, &a.admin, employee, json!({ "format": "dc+sd-jwt" })).await;
    assert_eq!(vc["type"], "EnvelopedVerifiableCredential", "{vc}");
    let ok = verify(&agent, &vc).await;
    assert_eq!(ok["verified"], true, "{ok:#}");
    assert!(ok["checks"].as_array().expect("checks").iter().any(|c| c == "status"), "{ok:#}");

    let token = |status: &str| json!({ "credentialId": id, "credentialStatus": [{ "type": "TokenStatusList", "status": status }] });
    for (status, refused) in [("suspended", true), ("valid", false), ("revoked", true)] {
        let (code, _, body) = post(&agent, STATUS, Some(&a.admin), &token(status)).await;
        assert_eq!(code, StatusCode::OK, "{status}: {body}");
        if refused {
            let report = refused_on(&agent, &vc, "status").await;
            assert_eq!(report["errors"][0]["detail"], status, "{report:#}");
        } else {
            published(&agent, &a.admin, a.id()).await;
            assert_eq!(verify(&agent, &vc).await["verified"], true, "reinstated");
        }
    }

    let (status, headers, jwt) =
        agent.request(Method::GET, &format!("/status-lists/{}/token-1", a.id()), None, None).await;
    assert_eq!(status, StatusCode::OK, "{jwt}");
    assert_eq!(headers[reqwest::header::CONTENT_TYPE], "application/statuslist+jwt");
    assert_eq!(jwt.as_str().map(|t| t.split('.').count()), Some(3), "{jwt}");
}

/// The served status list credentials of `vc`, keyed by the URL the
/// credential names (the agent's public URL is not the test server's).
async fn served_lists(agent: &TestAgent, vc: &Value) -> Value {
    let mut lists = serde_json::Map::new();
    for item in vc["credentialStatus"].as_array().expect("credentialStatus") {
        let url = item["statusListCredential"].as_str().expect("statusListCredential");
        let path = &url[url.find("/status-lists/").expect("status list path")..];
        let (status, _, served) = agent.request(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {served}");
        lists.insert(url.to_owned(), served);
    }
    Value::Object(lists)
}

/// Digital Bazaar's `@digitalbazaar/vc-bitstring-status-list` reads the
/// lists the agent serves: a revoked credential's revocation bit is set, an
/// unrevoked one's bits are clear, and a tampered list does not verify.
async fn digital_bazaar_checks_status(backend: Backend) {
    let Some(dir) = crate::interop_di::peer() else { return };
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    // A credential whose terms are all defined (JSON-LD safe mode).
    let voter = super::vc_api::credential();
    let mut issued = Vec::new();
    for suite in ["eddsa-rdfc-2022", "eddsa-jcs-2022"] {
        let body = json!({ "credential": voter, "options": { "cryptosuite": suite } });
        let (status, _, body) = post(&agent, ISSUE, Some(&a.admin), &body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        issued.push((body["verifiableCredential"].clone(), body["credentialId"].as_str().expect("id").to_owned()));
    }
    let [(revoked, id), (valid, _)] = <[_; 2]>::try_from(issued).expect("two");
    set_status(&agent, &a.admin, &id, "revoked").await;
    published(&agent, &a.admin, a.id()).await;
    let did: Did = a.did().parse().expect("did");
    let doc = agent.ledger.resolve_verified(&did, &Default::default()).await.document.expect("active");
    let doc = serde_json::to_value(doc).expect("document JSON");

    let check = |vc: &Value, lists: Value| {
        crate::interop_di::node(
            &dir,
            "status.mjs",
            Some(&json!({ "credential": vc, "didDocuments": [doc], "statusLists": lists })),
        )
    };
    let out = check(&revoked, served_lists(&agent, &revoked).await);
    assert_eq!(out["verified"], true, "{out}");
    assert_eq!(
        (&out["statuses"]["revocation"], &out["statuses"]["suspension"], &out["valid"]),
        (&json!(true), &json!(false), &json!(false)),
        "{out}"
    );
    let out = check(&valid, served_lists(&agent, &valid).await);
    assert_eq!(
        (&out["statuses"]["revocation"], &out["statuses"]["suspension"], &out["valid"]),
        (&json!(false), &json!(false), &json!(true)),
        "{out}"
    );

    // A list with the revocation bit cleared by someone else does not verify.
    let mut lists = served_lists(&agent, &revoked).await;
    let url = entry(&revoked, "revocation").status_list_credential;
    lists[&url]["credentialSubject"]["encodedList"] = json!(StatusList::minimum().encode().expect("encode"));
    let out = check(&revoked, lists);
    assert_eq!((&out["verified"], &out["valid"]), (&json!(false), &json!(false)), "tampered list accepted: {out}");
}

on_both_backends!(
    revoke_suspend_reinstate,
    concurrent_first_issuances,
    failed_publication_stays_pending,
    removal_revokes,
    sd_jwt_token_status,
    digital_bazaar_checks_status
);
