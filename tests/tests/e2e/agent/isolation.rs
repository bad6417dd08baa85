//! Tenant isolation, table-driven over the OpenAPI document: every route
//! is classified by who may call it, and every route with a `{company}`
//! parameter is called with company A's ids by the other company's
//! credentials and by A's callers of the wrong scope. Each must be refused
//! (401/403 problem) without learning anything: the answer names nothing
//! of A's beyond the URL and is the same as for ids that do not exist.
//! Routes whose tenant is the token's (the VC API's issue) are called by
//! B's admin naming A in the body, and by callers of the wrong scope.
//! A route in the document and not in [`ROUTES`] fails the test, so a new
//! route cannot be added unprotected and unnoticed.

use super::Tenant;
use idelta_tests::agent::{assert_problem, id, Answer, Backend, TestAgent};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// The operator only.
    Operator,
    /// The operator or the admin of the company in the path.
    OperatorOrAdmin,
    /// The admin of the company in the path.
    Admin,
    /// The employee in the path, of the company in the path.
    Employee,
    /// Any authenticated caller (no tenant in the path).
    AnyCaller,
    /// A company admin acting as its own company, the tenant chosen by the
    /// token (no tenant in the path): the body names A as the tenant, so B's
    /// admin, the operator and employees are refused.
    TokenAdmin,
    /// The employee the token names, on its own sub-wallet (no tenant in
    /// the path): admins and the operator are refused, and another
    /// employee's record is "not found", like one that does not exist.
    TokenEmployee,
    /// A company admin on its own company's records, the company chosen by
    /// the token (no tenant in the path): employees and the operator are
    /// refused, and another company's record is "not found", like one that
    /// does not exist.
    TokenCompany,
    /// Anyone, without credentials (published status lists, credential
    /// types, contexts and schemas): every caller gets the same answer, and
    /// an unknown id in the path is not found.
    Public,
    /// Any member of a company, admin or employee, the company chosen by
    /// the token (the marketplace): the operator is refused.
    Member,
    /// The employee the token names, acting on its own ledger account and
    /// units (no tenant in the path): admins and the operator are refused,
    /// and another employee of A naming A's employee's unit is refused too
    /// (403 `not-owner`, or 404). Benefits and units are public on the
    /// ledger, so there is no existence to hide; what is checked is that
    /// the unit stays where it was.
    Holder,
}

use Scope::*;

/// Every route of the API: method, path template, scope, and a valid
/// request body (empty: none), so that a refusal is never a 400.
const ROUTES: &[(&str, &str, Scope, &str)] = &[
    ("GET", "/v1/companies", Operator, ""),
    ("POST", "/v1/companies", Operator, r#"{"name":"Intruder Ltd"}"#),
    ("GET", "/v1/companies/{company}", OperatorOrAdmin, ""),
    ("DELETE", "/v1/companies/{company}", Operator, ""),
    ("POST", "/v1/companies/{company}/admin-tokens", OperatorOrAdmin, "{}"),
    ("POST", "/v1/companies/{company}/employees", Admin, r#"{"name":"Intruder"}"#),
    ("GET", "/v1/companies/{company}/employees", Admin, ""),
    ("GET", "/v1/companies/{company}/employees/{employee}", Admin, ""),
    ("DELETE", "/v1/companies/{company}/employees/{employee}", Admin, ""),
    ("POST", "/v1/companies/{company}/employees/{employee}/tokens", Admin, "{}"),
    ("POST", "/v1/companies/{company}/did/rotate", Admin, ""),
    ("GET", "/v1/companies/{company}/events", Admin, ""),
    ("POST", "/v1/companies/{company}/webhooks", Admin, r#"{"url":"http://127.0.0.1:9/intruder"}"#),
    ("GET", "/v1/companies/{company}/webhooks", Admin, ""),
    ("DELETE", "/v1/companies/{company}/webhooks/{webhook}", Admin, ""),
    ("GET", "/v1/companies/{company}/employees/{employee}/dids", Employee, ""),
    ("GET", "/v1/companies/{company}/employees/{employee}/events", Employee, ""),
    ("GET", "/v1/me", AnyCaller, ""),
    // `{a_did}` is company A's DID.
    (
        "POST",
        "/vc-api/credentials/issue",
        TokenAdmin,
        r#"{"credential":{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"],"issuer":"{a_did}","credentialSubject":{"id":"urn:example:intruder"}}}"#,
    ),
    ("POST", "/vc-api/credentials/verify", AnyCaller, r#"{"verifiableCredential":{}}"#),
    ("POST", "/vc-api/presentations/verify", AnyCaller, r#"{"verifiablePresentation":{}}"#),
    ("GET", "/v1/me/credentials", TokenEmployee, ""),
    ("GET", "/v1/me/credentials/{credential}", TokenEmployee, ""),
    ("DELETE", "/v1/me/credentials/{credential}", TokenEmployee, ""),
    ("POST", "/v1/me/presentations", TokenEmployee, DCQL_ASK),
    ("POST", "/v1/presentation-requests", TokenCompany, DCQL_REQUEST),
    ("GET", "/v1/presentation-requests/{request}", TokenCompany, ""),
    ("POST", "/v1/presentation-requests/{request}/responses", TokenCompany, r#"{"vp_token":{}}"#),
    // `{a_issued}` is the credentialId of a credential A issued.
    (
        "POST",
        "/vc-api/credentials/status",
        TokenCompany,
        r#"{"credentialId":"{a_issued}","credentialStatus":[{"type":"BitstringStatusListEntry","status":"revoked"}]}"#,
    ),
    ("GET", "/v1/companies/{company}/status-lists", Admin, ""),
    ("GET", "/status-lists/{company}/{list}", Public, ""),
    ("GET", "/contexts/v1", Public, ""),
    ("GET", "/schemas/{type}", Public, ""),
    ("GET", "/v1/credential-types", Public, ""),
    // The loyalty marketplace. `{a_employee}` is A's second employee's id,
    // `{a_benefit}` A's benefit's DID and `{a_unit}` the unit of it that
    // A's first employee owns.
    ("POST", "/v1/companies/{company}/token", Admin, r#"{"symbol":"EVIL","name":"Evil points"}"#),
    ("GET", "/v1/companies/{company}/token", Admin, ""),
    ("POST", "/v1/companies/{company}/token/mint", Admin, r#"{"amount":1000000}"#),
    (
        "POST",
        "/v1/companies/{company}/token/payments",
        Admin,
        r#"{"payments":[{"employee":"{a_employee}","amount":1}]}"#,
    ),
    ("GET", "/v1/companies/{company}/token/holders", Admin, ""),
    ("POST", "/v1/companies/{company}/benefits", Admin, TERMS),
    ("GET", "/v1/companies/{company}/benefits", Admin, ""),
    ("PUT", "/v1/companies/{company}/benefits/{benefit}", Admin, TERMS),
    ("DELETE", "/v1/companies/{company}/benefits/{benefit}", Admin, ""),
    ("GET", "/v1/companies/{company}/settlement", Admin, ""),
    ("GET", "/v1/settlement", Operator, ""),
    ("PUT", "/v1/exchange-rates/{company}", Operator, r#"{"unitValue":1}"#),
    ("GET", "/v1/exchange-rates", AnyCaller, ""),
    ("PUT", "/v1/commission", Operator, r#"{"basisPoints":10000}"#),
    ("GET", "/v1/marketplace", Member, ""),
    ("GET", "/v1/me/account", TokenEmployee, ""),
    ("GET", "/v1/me/history", TokenEmployee, ""),
    ("GET", "/v1/me/benefits", TokenEmployee, ""),
    ("POST", "/v1/me/purchases", TokenEmployee, r#"{"benefit":"{a_benefit}"}"#),
    ("POST", "/v1/me/transfers", TokenEmployee, r#"{"to":{"employee":"{a_employee}"},"amount":1}"#),
    ("POST", "/v1/me/benefits/{benefit}/{unit}/gift", Holder, r#"{"to":{"did":"{a_did}"}}"#),
    ("PUT", "/v1/me/benefits/{benefit}/{unit}/offer", Holder, r#"{"sale":{"price":1}}"#),
    ("DELETE", "/v1/me/benefits/{benefit}/{unit}/offer", Holder, ""),
    (
        "POST",
        "/v1/me/swaps",
        Holder,
        r#"{"give":{"benefit":"{a_benefit}","unit":{a_unit}},"take":{"benefit":"{a_benefit}","unit":0}}"#,
    ),
];

/// Benefit terms, valid, for the routes that take them.
const TERMS: &str = r#"{"name":"Intruder lunch","description":"","category":"food","price":1,"quantity":1}"#;

/// The query a route needs to be answered 2xx by its legitimate caller.
const QUERIES: &[(&str, &str)] = &[
    ("/v1/companies/{company}/settlement", "?from=0&to=9999999999999"),
    ("/v1/settlement", "?from=0&to=9999999999999"),
];

/// A presentation request's body, and an employee's answer to one.
const DCQL_REQUEST: &str = r#"{"dcql_query":{"credentials":[{"id":"any","format":"ldp_vc","meta":{"type_values":[["VerifiableCredential"]]}}]}}"#;
const DCQL_ASK: &str = r#"{"dcql_query":{"credentials":[{"id":"any","format":"ldp_vc","meta":{"type_values":[["VerifiableCredential"]]}}]},"nonce":"n","domain":"d"}"#;

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "options", "head", "trace"];

/// `(METHOD, path)` of every operation of an OpenAPI document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("OpenAPI paths");
    let mut ops = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            if METHODS.contains(&method.as_str()) {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// The `{name}` parameters of a path template.
fn params(template: &str) -> Vec<&str> {
    template.split('{').skip(1).filter_map(|s| s.split_once('}').map(|(p, _)| p)).collect()
}

fn fill(template: &str, values: &BTreeMap<&str, String>) -> String {
    let mut path = template.to_owned();
    for p in params(template) {
        let v = values.get(p).unwrap_or_else(|| {
            panic!("no fixture for path parameter `{{{p}}}` of {template}: add one to the isolation test")
        });
        path = path.replace(&format!("{{{p}}}"), v);
    }
    let query = QUERIES.iter().find(|(t, _)| *t == template).map_or("", |(_, q)| q);
    format!("{path}{query}")
}

/// An answer's status and body with the ids of `values` (those longer
/// than a number) replaced by their names: answers that differ only in
/// echoing the id asked about compare equal.
fn masked(answer: &Answer, values: &BTreeMap<&str, String>) -> (StatusCode, String) {
    let mut text = answer.2.to_string();
    for (name, v) in values.iter().filter(|(_, v)| v.len() > 12) {
        text = text.replace(v.as_str(), &format!("{{{name}}}"));
    }
    (answer.0, text)
}

/// Asserts a refusal that names nothing of `secrets` beyond `path`.
fn assert_refused(answer: &Answer, secrets: &[String], path: &str, context: &str) {
    assert_problem(answer, &[401, 403], context);
    let text = answer.2.to_string();
    for s in secrets.iter().filter(|s| !path.contains(s.as_str())) {
        assert!(!text.contains(s.as_str()), "{context}: the refusal leaks `{s}`: {text}");
    }
}

/// Like [`assert_refused`], also allowing 404 for an id the caller's own
/// company does not have.
fn assert_refused_or_unknown(answer: &Answer, secrets: &[String], path: &str, context: &str) {
    assert_problem(answer, &[401, 403, 404], context);
    let text = answer.2.to_string();
    for s in secrets.iter().filter(|s| !path.contains(s.as_str())) {
        assert!(!text.contains(s.as_str()), "{context}: the answer leaks `{s}`: {text}");
    }
}

async fn call(agent: &TestAgent, method: &str, path: &str, token: Option<&str>, body: &str) -> Answer {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let body: Option<Value> = (!body.is_empty()).then(|| serde_json::from_str(body).expect("body JSON"));
    agent.request(method, path, token, body.as_ref()).await
}

async fn isolation_over_every_route(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright", "Arthur Anvilsmith"]).await;
    let b = Tenant::register(&agent, "Globex Gadgets", &["Bob Gadgeteer", "Betty Gizmo"]).await;

    // Every route of the document is classified, and the table has no
    // stale entries; the served document is the one checked.
    let doc = serde_json::to_value(idelta_agent::http::openapi()).expect("OpenAPI JSON");
    let documented = operations(&doc);
    let classified: BTreeSet<(String, String)> =
        ROUTES.iter().map(|(m, p, _, _)| ((*m).to_owned(), (*p).to_owned())).collect();
    let unclassified: Vec<_> = documented.difference(&classified).collect();
    assert!(
        unclassified.is_empty(),
        "routes in the OpenAPI document that the isolation table does not classify (add them to ROUTES \
         with the scope their handler checks): {unclassified:?}"
    );
    let stale: Vec<_> = classified.difference(&documented).collect();
    assert!(stale.is_empty(), "ROUTES names routes the OpenAPI document does not have: {stale:?}");
    let (status, _, served) = agent.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(operations(&served), documented, "/openapi.json serves another document than openapi()");

    // A webhook of A, so that `{webhook}` names a real record of A.
    let mut a_webhook = (String::from("wh-000000000000000000000000000000"), String::new(), String::new());
    if documented.contains(&("POST".to_owned(), "/v1/companies/{company}/webhooks".to_owned())) {
        let path = format!("/v1/companies/{}/webhooks", a.id());
        let (status, _, body) =
            call(&agent, "POST", &path, Some(&a.admin), r#"{"url":"http://127.0.0.1:9/acme"}"#).await;
        assert_eq!(status, StatusCode::CREATED, "A's webhook: {body}");
        let secret = body["secret"].as_str().unwrap_or_default().to_owned();
        let wh = body.get("webhook").unwrap_or(&body);
        a_webhook = (id(wh).to_owned(), "http://127.0.0.1:9/acme".to_owned(), secret);
    }

    // A credential held by A's first employee, and a presentation request
    // of A, so that `{credential}` and `{request}` name real records of A.
    let body = serde_json::json!({
        "credential": {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "credentialSubject": { "name": "held" },
        },
        "options": { "holder": { "employee": a.employee_id(0) } },
    });
    let (status, _, issued) =
        agent.request(Method::POST, "/vc-api/credentials/issue", Some(&a.admin), Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "A's credential for its employee: {issued}");
    let (_, _, held) = agent.get("/v1/me/credentials", a.token(0)).await;
    let a_credential = held["items"][0]["id"].as_str().expect("a held credential").to_owned();
    let a_issued = issued["credentialId"].as_str().expect("credentialId").to_owned();
    let (status, _, request) = call(&agent, "POST", "/v1/presentation-requests", Some(&a.admin), DCQL_REQUEST).await;
    assert_eq!(status, StatusCode::CREATED, "A's presentation request: {request}");
    let a_request = id(&request).to_owned();

    // A's token, a benefit of A and a unit of it that A's first employee
    // owns, so that `{benefit}` and `{unit}` name real records of A.
    // A well-formed benefit DID that exists nowhere.
    let unknown_benefit = idelta_tests::Actor::generate().did.as_str().to_owned();
    let (mut a_benefit, mut a_unit) = (unknown_benefit.clone(), String::from("999999999"));
    let loyalty = documented.contains(&("POST".to_owned(), "/v1/me/purchases".to_owned()));
    if loyalty {
        let token = format!("/v1/companies/{}/token", a.id());
        let pay = format!(r#"{{"payments":[{{"employee":"{}","amount":100}}]}}"#, a.employee_id(0));
        for (path, body) in [
            (token.clone(), r#"{"symbol":"ACME","name":"Acme points"}"#.to_owned()),
            (format!("{token}/mint"), r#"{"amount":1000}"#.to_owned()),
            (format!("{token}/payments"), pay),
            (format!("/v1/companies/{}/benefits", a.id()), TERMS.replace("Intruder", "Anvil")),
        ] {
            let (status, _, answer) = call(&agent, "POST", &path, Some(&a.admin), &body).await;
            assert!(status.is_success(), "POST {path}: {answer}");
            if let Some(did) = answer["benefit"].as_str() {
                a_benefit = did.to_owned();
            }
        }
        let buy = format!(r#"{{"benefit":"{a_benefit}"}}"#);
        let (status, _, bought) = call(&agent, "POST", "/v1/me/purchases", Some(a.token(0)), &buy).await;
        assert_eq!(status, StatusCode::CREATED, "A's employee buys A's benefit: {bought}");
        a_unit = bought["unit"].as_u64().expect("unit").to_string();
    }

    // What B (or A's wrong-scope callers) must not learn.
    let mut secrets: Vec<String> = vec![a.id().into(), a.did().into(), "Acme Anvils".into()];
    for (e, _) in &a.employees {
        secrets.extend([id(e).to_owned(), e["did"].as_str().expect("did").to_owned()]);
        secrets.push(e["name"].as_str().expect("name").to_owned());
    }
    secrets.extend([a_webhook.0.clone(), a_webhook.1.clone(), a_webhook.2.clone()]);
    secrets.extend([a_credential.clone(), a_request.clone(), request["nonce"].as_str().unwrap_or_default().to_owned()]);
    secrets.retain(|s| !s.is_empty());

    let a_ids: BTreeMap<&str, String> = [
        ("company", a.id().to_owned()),
        ("employee", a.employee_id(0).to_owned()),
        ("webhook", a_webhook.0.clone()),
        ("credential", a_credential.clone()),
        ("list", "revocation-1".to_owned()),
        ("request", a_request.clone()),
        ("type", "EmployeeCredential".to_owned()),
        ("benefit", a_benefit.clone()),
        ("unit", a_unit.clone()),
    ]
    .into();
    let unknown_ids: BTreeMap<&str, String> = [
        ("company", "co-00000000000000000000000000".to_owned()),
        ("employee", "em-00000000000000000000000000".to_owned()),
        ("webhook", "wh-00000000000000000000000000".to_owned()),
        ("credential", "hc-00000000000000000000000000".to_owned()),
        ("request", "pr-00000000000000000000000000".to_owned()),
        ("list", "revocation-1".to_owned()),
        ("type", "NoSuchCredential".to_owned()),
        ("benefit", unknown_benefit.clone()),
        ("unit", "999999999".to_owned()),
    ]
    .into();
    // B's company with A's other ids: a tenant's own path naming another
    // tenant's record.
    let mut mixed_ids = a_ids.clone();
    mixed_ids.insert("company", b.id().to_owned());

    let (a_admin, a_e1, a_e2) = (a.admin.as_str(), a.token(0), a.token(1));
    let (b_admin, b_e1) = (b.admin.as_str(), b.token(0));
    let mut covered = BTreeSet::new();
    let mut tenant_routes = 0;
    for &(method, template, scope, body) in ROUTES {
        let body = &body
            .replace("{a_did}", a.did())
            .replace("{a_issued}", &a_issued)
            .replace("{a_employee}", a.employee_id(1))
            .replace("{a_benefit}", &a_benefit)
            .replace("{a_unit}", &a_unit);
        let path = fill(template, &a_ids);
        if scope == Public {
            // Published for anyone: the same answer with or without a token.
            let open = call(&agent, method, &path, None, body).await;
            assert_eq!(open.0, StatusCode::OK, "{method} {path} without credentials: {}", open.2);
            for token in [a_admin, b_admin, b_e1] {
                let answer = call(&agent, method, &path, Some(token), body).await;
                assert_eq!(answer.0, StatusCode::OK, "{method} {path}: {}", answer.2);
            }
            if !params(template).is_empty() {
                let unknown = call(&agent, method, &fill(template, &unknown_ids), None, body).await;
                assert_problem(&unknown, &[404], &format!("{method} {template} with unknown ids"));
            }
            covered.insert((method, template));
            continue;
        }
        let refusers: Vec<(&str, &str)> = match scope {
            Operator => {
                vec![("A's admin", a_admin), ("A's employee", a_e1), ("B's admin", b_admin), ("B's employee", b_e1)]
            }
            OperatorOrAdmin => vec![("B's admin", b_admin), ("B's employee", b_e1), ("A's employee", a_e1)],
            Admin => vec![
                ("B's admin", b_admin),
                ("B's employee", b_e1),
                ("A's employee", a_e1),
                ("A's other employee", a_e2),
            ],
            Employee => vec![("B's admin", b_admin), ("B's employee", b_e1), ("A's other employee", a_e2)],
            AnyCaller | Public => vec![],
            TokenAdmin => vec![
                ("B's admin", b_admin),
                ("B's employee", b_e1),
                ("A's employee", a_e1),
                ("the operator", &agent.operator_key),
            ],
            TokenEmployee => {
                vec![("the operator", &agent.operator_key), ("A's admin", a_admin), ("B's admin", b_admin)]
            }
            TokenCompany => vec![("the operator", &agent.operator_key), ("A's employee", a_e1), ("B's employee", b_e1)],
            Member => vec![("the operator", &agent.operator_key)],
            Holder => vec![("the operator", &agent.operator_key), ("A's admin", a_admin), ("B's admin", b_admin)],
        };
        let answer = call(&agent, method, &path, None, body).await;
        assert_refused(&answer, &secrets, &path, &format!("{method} {path} without credentials"));
        assert_eq!(answer.0, StatusCode::UNAUTHORIZED, "{method} {path} without credentials");
        for (who, token) in &refusers {
            let context = format!("{method} {template} by {who}");
            let answer = call(&agent, method, &path, Some(token), body).await;
            assert_refused(&answer, &secrets, &path, &context);
            covered.insert((method, template));
        }
        if template.contains("{company}") && scope != AnyCaller {
            tenant_routes += 1;
            // No existence oracle: A's real ids and ids that exist nowhere
            // get the same answer.
            let (who, token) = refusers[0];
            let real = call(&agent, method, &path, Some(token), body).await;
            let unknown_path = fill(template, &unknown_ids);
            let unknown = call(&agent, method, &unknown_path, Some(token), body).await;
            assert_eq!(
                (real.0, &real.2),
                (unknown.0, &unknown.2),
                "{method} {template} by {who}: A's ids and unknown ids are told apart"
            );
        }
        if scope == TokenAdmin {
            // No existence oracle: B's admin naming A's DID and naming a DID
            // that exists nowhere get the same answer.
            let real = call(&agent, method, &path, Some(b_admin), body).await;
            let unknown_did = "did:idelta:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
            let unknown = call(&agent, method, &path, Some(b_admin), &body.replace(a.did(), unknown_did)).await;
            assert_eq!(
                (real.0, &real.2),
                (unknown.0, &unknown.2),
                "{method} {template} by B's admin: A's DID and an unknown DID are told apart"
            );
        }
        if !params(template).is_empty() && matches!(scope, TokenEmployee | TokenCompany) {
            // Another employee of A, or B's admin, naming A's record: "not
            // found", exactly as for a record that exists nowhere.
            let (who, token) =
                if scope == TokenEmployee { ("A's other employee", a_e2) } else { ("B's admin", b_admin) };
            let context = format!("{method} {path} by {who}");
            let answer = call(&agent, method, &path, Some(token), body).await;
            assert_refused_or_unknown(&answer, &secrets, &path, &context);
            let unknown = call(&agent, method, &fill(template, &unknown_ids), Some(token), body).await;
            assert_eq!((answer.0, &answer.2), (unknown.0, &unknown.2), "{context}: told apart from an unknown id");
            covered.insert((method, template));
        }
        if scope == Holder {
            // Another employee of A on A's first employee's unit: refused
            // (who owns a unit is public on the ledger: no secrets checked).
            let answer = call(&agent, method, &path, Some(a_e2), body).await;
            assert_problem(&answer, &[403, 404], &format!("{method} {path} by A's other employee"));
            covered.insert((method, template));
        }
        if body.contains(&a_issued) {
            // B's admin naming A's credential in the body: "not found",
            // exactly as for a credential that exists nowhere.
            let context = format!("{method} {path} by B's admin naming A's credential");
            let answer = call(&agent, method, &path, Some(b_admin), body).await;
            assert_refused_or_unknown(&answer, &secrets, &path, &context);
            let unknown_body = body.replace(&a_issued, "cr-00000000000000000000000000");
            let unknown = call(&agent, method, &path, Some(b_admin), &unknown_body).await;
            assert_eq!((answer.0, &answer.2), (unknown.0, &unknown.2), "{context}: told apart from an unknown id");
        }
        if params(template).len() > 1 && matches!(scope, Admin | Employee) {
            // B's own company in the path, A's record after it.
            let (who, token) = if scope == Admin { ("B's admin", b_admin) } else { ("B's employee", b_e1) };
            let mixed = fill(template, &mixed_ids);
            let context = format!("{method} {mixed} (B's company, A's record) by {who}");
            let answer = call(&agent, method, &mixed, Some(token), body).await;
            assert_refused_or_unknown(&answer, &secrets, &mixed, &context);
            let mut unknown_b = unknown_ids.clone();
            unknown_b.insert("company", b.id().to_owned());
            let unknown = call(&agent, method, &fill(template, &unknown_b), Some(token), body).await;
            assert_eq!(
                masked(&answer, &mixed_ids),
                masked(&unknown, &unknown_b),
                "{context}: told apart from an unknown id"
            );
        }
    }
    assert!(tenant_routes >= 10, "only {tenant_routes} tenant-scoped routes were checked");
    assert!(covered.len() >= 10, "only {} (method, path) pairs were checked: {covered:?}", covered.len());

    // Nothing the refused calls asked for happened.
    let (status, _, got) = agent.get(&format!("/v1/companies/{}", a.id()), &agent.operator_key).await;
    assert_eq!((status, &got), (StatusCode::OK, &a.company), "company A changed");
    let (status, _, list) = agent.get(&format!("/v1/companies/{}/employees", a.id()), a_admin).await;
    assert_eq!(status, StatusCode::OK);
    let a_employees: Vec<Value> = a.employees.iter().map(|(e, _)| e.clone()).collect();
    assert_eq!(list["items"].as_array(), Some(&a_employees), "A's employees changed");
    let (_, _, list) = agent.get(&format!("/v1/companies/{}/employees", b.id()), b_admin).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "B's employees changed: {list}");
    let (_, _, companies) = agent.get("/v1/companies", &agent.operator_key).await;
    assert_eq!(companies["items"].as_array().map(Vec::len), Some(2), "a refused registration happened: {companies}");
    let did = a.did().parse().expect("A's DID");
    let resolved = agent.ledger.resolve_verified(&did, &Default::default()).await;
    assert_eq!(resolved.result.did_document_metadata.version_id.as_deref(), Some("1"), "A's DID was rotated");
    for token in [a_admin, a_e1, a_e2, b_admin, b_e1] {
        let (status, _, me) = agent.get("/v1/me", token).await;
        assert_eq!(status, StatusCode::OK, "a refused call revoked a token: {me}");
    }
    if loyalty {
        let ledger = |path: String| {
            let (http, url) = (agent.ledger.http.clone(), agent.ledger.url.clone());
            async move { http.get(format!("{url}{path}")).send().await.expect(&path).json::<Value>().await.expect("JSON") }
        };
        let token = ledger(format!("/v1/loyalty/tokens/{}", a.did())).await;
        assert_eq!((&token["symbol"], &token["supply"]), (&"ACME".into(), &1000.into()), "A's token changed: {token}");
        let benefit = ledger(format!("/v1/loyalty/benefits/{a_benefit}")).await;
        assert_eq!((&benefit["sold"], &benefit["removed"]), (&1.into(), &false.into()), "{benefit}");
        assert_eq!(benefit["terms"]["name"], "Anvil lunch", "A's benefit changed: {benefit}");
        let unit = ledger(format!("/v1/loyalty/benefits/{a_benefit}/units/{a_unit}")).await;
        assert_eq!(unit["owner"], a.employee(0)["did"], "A's employee's unit moved: {unit}");
        assert!(unit.get("offer").is_none(), "A's employee's unit was offered: {unit}");
        let market = ledger("/v1/loyalty/market".to_owned()).await;
        assert_eq!(market["rates"], serde_json::json!([]), "a refused rate was set: {market}");
        assert!(market.get("commission").is_none(), "a refused commission was set: {market}");
    }

    // Positive controls: the legitimate caller of every GET gets 2xx.
    for &(method, template, scope, _) in ROUTES.iter().filter(|r| r.0 == "GET") {
        let path = fill(template, &a_ids);
        let callers: Vec<(&str, &str)> = match scope {
            Operator => vec![("the operator", &agent.operator_key)],
            OperatorOrAdmin => vec![("the operator", &agent.operator_key), ("A's admin", a_admin)],
            Admin => vec![("A's admin", a_admin)],
            Employee => vec![("A's employee", a_e1)],
            AnyCaller => vec![("the operator", &agent.operator_key), ("A's admin", a_admin), ("A's employee", a_e1)],
            TokenAdmin | TokenCompany => vec![("A's admin", a_admin)],
            TokenEmployee | Holder => vec![("A's employee", a_e1)],
            Member => vec![("A's admin", a_admin), ("A's employee", a_e1)],
            Public => vec![],
        };
        for (who, token) in callers {
            let (status, _, body) = call(&agent, method, &path, Some(token), "").await;
            assert!(status.is_success(), "{method} {path} by {who}: expected 2xx, got {status}: {body}");
        }
    }
}

on_both_backends!(isolation_over_every_route);
