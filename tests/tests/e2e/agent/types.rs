//! Credential types (issue 4, "Types and anchoring"): the agent serves
//! idelta's context and schemas, byte for byte as bundled, without
//! credentials; a typed credential names its schema and is validated
//! against it (a missing or ill-typed claim is a 400 naming it); the
//! ledger holds each schema (authored by the operator's endorser) and,
//! after a company's first issuance of a type, that company's credential
//! definition under its own DID only, read back with the client that
//! checks every proof; verification adds a `schema` check that an unknown
//! schema fails.

use super::Tenant;
use idelta_issuer::data_integrity::contexts;
use idelta_issuer::types::{self, TYPES};
use idelta_ledger_node::client::ClientError;
use idelta_tests::agent::{assert_problem, Answer, Backend, TestAgent};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ISSUE: &str = "/vc-api/credentials/issue";
const VERIFY: &str = "/vc-api/credentials/verify";

fn employee_credential(subject: Value) -> Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "credentialSubject": subject,
    })
}

fn ada() -> Value {
    json!({
        "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "employer": "Acme Anvils",
        "employeeId": "E-1815",
        "role": "analyst",
        "employedSince": "2024-03-01T09:00:00Z"
    })
}

async fn post(agent: &TestAgent, token: &str, path: &str, body: &Value) -> Answer {
    agent.request(Method::POST, path, Some(token), Some(body)).await
}

async fn issue(agent: &TestAgent, token: &str, credential: Value) -> Value {
    let (status, _, body) = post(agent, token, ISSUE, &json!({ "credential": credential })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["verifiableCredential"].clone()
}

fn error_names(report: &Value) -> Vec<&str> {
    report["errors"].as_array().expect("errors").iter().map(|e| e["name"].as_str().expect("name")).collect()
}

/// The context and the schemas are served publicly, exactly as bundled,
/// and the type list points at them and at the ledger.
async fn served_types_are_the_bundled_ones(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let raw = |path: &str| {
        let req = agent.req(Method::GET, path, None);
        async move {
            let resp = req.send().await.expect("GET");
            let status = resp.status();
            let media = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            (status, media, resp.bytes().await.expect("body").to_vec())
        }
    };
    let (status, media, body) = raw("/contexts/v1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(media, "application/ld+json");
    assert_eq!(body, contexts::context_document(contexts::IDELTA_V1).expect("bundled").as_bytes());
    for t in TYPES {
        let (status, media, body) = raw(&format!("/schemas/{}", t.name)).await;
        assert_eq!(status, StatusCode::OK, "{}", t.name);
        assert_eq!(media, "application/schema+json");
        assert_eq!(body, t.schema.as_bytes(), "{}: served schema differs from the bundled one", t.name);
    }
    let answer = agent.request(Method::GET, "/schemas/PassportCredential", None, None).await;
    assert_problem(&answer, &[404], "an unknown type's schema");

    let (status, _, list) = agent.request(Method::GET, "/v1/credential-types", None, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), TYPES.len());
    for (item, t) in items.iter().zip(TYPES) {
        assert_eq!(item["type"], t.name);
        assert_eq!(item["context"], contexts::IDELTA_V1);
        assert_eq!(item["schema"], t.schema_id);
        assert_eq!(item["vct"], t.schema_id);
        assert_eq!(item["schemaPath"], format!("/schemas/{}", t.name));
        let ledger_id = item["ledgerSchemaId"].as_str().expect("ledgerSchemaId");
        assert!(ledger_id.starts_with("did:idelta:") && ledger_id.ends_with(&format!("/schema/{}", t.name)));
    }
}

/// A typed credential gets `credentialSchema` and verifies with a
/// `schema` check; a subject breaking the schema is refused naming the
/// claim; a credential naming an unknown schema fails only that check.
async fn typed_credentials_are_validated(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;

    let vc = issue(&agent, &a.admin, employee_credential(ada())).await;
    let schema_id = types::by_name("EmployeeCredential").expect("type").schema_id;
    assert_eq!(vc["credentialSchema"], json!({ "id": schema_id, "type": "JsonSchema" }), "{vc}");
    let (_, _, report) = post(&agent, &a.admin, VERIFY, &json!({ "verifiableCredential": vc })).await;
    assert_eq!(report["verified"], true, "{report:#}");
    assert!(report["checks"].as_array().expect("checks").contains(&json!("schema")), "{report}");

    // A required claim missing, a claim of the wrong type, a claim the
    // schema does not know: each a 400 naming it.
    let mut missing = ada();
    missing.as_object_mut().expect("object").remove("employeeId");
    let mut ill_typed = ada();
    ill_typed["employedSince"] = json!("in the spring");
    let mut unknown = ada();
    unknown["salary"] = json!(100);
    for (subject, named) in
        [(missing, "employeeId"), (ill_typed, "/credentialSubject/employedSince"), (unknown, "salary")]
    {
        for options in [json!({}), json!({ "format": "dc+sd-jwt" })] {
            let body = json!({ "credential": employee_credential(subject.clone()), "options": options });
            let answer = post(&agent, &a.admin, ISSUE, &body).await;
            let problem = assert_problem(&answer, &[400], &format!("{named} with {options}"));
            let detail = problem["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(named) && detail.contains("schema"), "{options}: `{named}` not named: {detail}");
        }
    }
    // Someone else's schema reference on a typed credential is refused.
    let mut elsewhere = employee_credential(ada());
    elsewhere["credentialSchema"] = json!({ "id": "https://schemas.example/employee", "type": "JsonSchema" });
    let answer = post(&agent, &a.admin, ISSUE, &json!({ "credential": elsewhere })).await;
    assert_problem(&answer, &[400], "a typed credential with another schema");

    // An untyped credential passes through; naming a schema that is not
    // bundled, it is signed as asked but fails the schema check alone.
    let untyped = json!({
        "@context": [contexts::CREDENTIALS_V2],
        "type": ["VerifiableCredential"],
        "credentialSchema": { "id": "https://schemas.example/unbundled", "type": "JsonSchema" },
        "credentialSubject": { "id": "did:example:x" }
    });
    let vc = issue(&agent, &a.admin, untyped).await;
    let (_, _, report) = post(&agent, &a.admin, VERIFY, &json!({ "verifiableCredential": vc })).await;
    assert_eq!(report["verified"], false, "{report:#}");
    assert_eq!(error_names(&report), ["schema"], "{report:#}");
    assert!(report["errors"][0]["detail"].as_str().unwrap_or_default().contains("never fetches"), "{report}");
}

/// The ledger holds every schema, authored by the operator's endorser, and
/// each company's credential definition of what it issued, under its own
/// DID; issuing again writes no new version; a key rotation writes a new version
/// naming the new key.
async fn the_ledger_holds_schemas_and_cred_defs(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    let b = Tenant::register(&agent, "Globex Gadgets", &[]).await;
    issue(&agent, &a.admin, employee_credential(ada())).await;

    let (_, _, list) = agent.request(Method::GET, "/v1/credential-types", None, None).await;
    let client = &agent.ledger.client;
    let mut endorser = None;
    for (item, t) in list["items"].as_array().expect("items").iter().zip(TYPES) {
        let id = item["ledgerSchemaId"].as_str().expect("ledgerSchemaId");
        let view = client.object(id, None).await.unwrap_or_else(|e| panic!("{id} on the ledger: {e}"));
        assert_eq!(view.content["schema"], t.schema_json(), "{id}: the ledger's schema is the bundled one");
        assert_eq!(view.content["schemaId"], t.schema_id);
        assert_eq!(view.content["context"], contexts::IDELTA_V1);
        assert!(id.starts_with(view.owner.as_str()));
        assert!(view.owner.as_str() != a.did() && view.owner.as_str() != b.did(), "a schema authored by a company");
        assert_eq!(*endorser.get_or_insert(view.owner.clone()), view.owner, "one author for every schema");
    }
    let employee_schema = list["items"][0]["ledgerSchemaId"].as_str().expect("id").to_owned();

    let cred_def = |did: &str, t: &str| format!("{did}/credDef/{t}");
    let view = client.object(&cred_def(a.did(), "EmployeeCredential"), None).await.expect("A's credDef");
    assert_eq!(view.owner.as_str(), a.did());
    assert_eq!((view.version, view.versions), (1, 1));
    let c = &view.content;
    assert_eq!(c["issuer"], a.did());
    assert_eq!(c["schema"], employee_schema.as_str());
    assert_eq!(c["verificationMethod"], format!("{}#key-1", a.did()));
    assert_eq!(c["vct"], types::by_name("EmployeeCredential").expect("type").schema_id);
    assert_eq!(c["formats"], json!(["eddsa-rdfc-2022", "eddsa-jcs-2022", "bbs-2023", "dc+sd-jwt"]));
    assert_eq!(c["statusPurposes"], json!(["revocation", "suspension"]));

    // Only what was issued is defined: not A's other types, nothing of B's.
    for id in [cred_def(a.did(), "VoterEligibilityCredential"), cred_def(b.did(), "EmployeeCredential")] {
        assert!(matches!(client.object(&id, None).await, Err(ClientError::NotFound)), "{id} exists");
    }

    // B's first issuance defines B's own, under B's DID; A's is untouched.
    issue(&agent, &b.admin, employee_credential(ada())).await;
    let b_view = client.object(&cred_def(b.did(), "EmployeeCredential"), None).await.expect("B's credDef");
    assert_eq!(b_view.owner.as_str(), b.did());
    assert_eq!(b_view.content["issuer"], b.did());
    assert_eq!(b_view.content["verificationMethod"], format!("{}#key-1", b.did()));
    let a_again = client.object(&cred_def(a.did(), "EmployeeCredential"), None).await.expect("A's credDef");
    assert_eq!((a_again.versions, &a_again.content), (1, &view.content), "B's issuance changed A's credDef");

    // Issuing again (any format) writes nothing new; after a rotation the
    // next issuance publishes a version naming the new key.
    issue(&agent, &a.admin, employee_credential(ada())).await;
    let body = json!({ "credential": employee_credential(ada()), "options": { "format": "dc+sd-jwt" } });
    assert_eq!(post(&agent, &a.admin, ISSUE, &body).await.0, StatusCode::CREATED);
    let again = client.object(&cred_def(a.did(), "EmployeeCredential"), None).await.expect("A's credDef");
    assert_eq!(again.versions, 1, "a repeated issuance wrote a new credDef version");
    let (status, _, rotated) =
        agent.request(Method::POST, &format!("/v1/companies/{}/did/rotate", a.id()), Some(&a.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    issue(&agent, &a.admin, employee_credential(ada())).await;
    let rotated = client.object(&cred_def(a.did(), "EmployeeCredential"), None).await.expect("A's credDef");
    assert_eq!(rotated.versions, 2);
    assert_eq!(rotated.content["verificationMethod"], format!("{}#key-2", a.did()));
}

on_both_backends!(
    served_types_are_the_bundled_ones,
    typed_credentials_are_validated,
    the_ledger_holds_schemas_and_cred_defs
);
