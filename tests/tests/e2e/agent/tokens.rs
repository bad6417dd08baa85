//! Credentials the agent must refuse: tampered, forged, algorithm-confused,
//! for another audience or key, malformed, expired, and tokens of removed
//! subjects or replaced by `invalidate_previous`. Every refusal is a 401
//! problem; every forgery has a positive control built the same way, so a
//! refusal is known to be for the reason tested.

use super::Tenant;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::SigningKey;
use idelta_agent::auth::tokens::{TokenKeys, TokenRole, AUDIENCE};
use idelta_tests::agent::{assert_problem, Answer, Backend, TestAgent};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// The master-key derivation purpose of the agent's token key
/// (`service::start`); a crafted token signed with it is a positive control.
const TOKEN_KEY_PURPOSE: &str = "idelta-agent-token-key-v1";

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

fn encode_part(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("JSON"))
}

/// `(header, claims, signature)` of a compact JWT.
fn split(token: &str) -> (Value, Value, String) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWT: {token}");
    (decode_part(parts[0]), decode_part(parts[1]), parts[2].to_owned())
}

#[allow(clippy::disallowed_methods)]
fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

/// Sends `GET path` with a raw `Authorization` header (or none).
async fn with_authorization(agent: &TestAgent, path: &str, authorization: Option<&str>) -> Answer {
    let mut req = agent.req(Method::GET, path, None);
    if let Some(a) = authorization {
        req = req.header(reqwest::header::AUTHORIZATION, a);
    }
    idelta_tests::agent::read(req.send().await.expect("GET")).await
}

/// Asserts that `token` is refused with 401 on `/v1/me` and on a route of
/// company `company`.
async fn assert_unauthorized(agent: &TestAgent, company: &str, token: &str, what: &str) {
    for path in ["/v1/me".to_owned(), format!("/v1/companies/{company}")] {
        let answer = with_authorization(agent, &path, Some(&format!("Bearer {token}"))).await;
        let problem = assert_problem(&answer, &[401], &format!("{what} on {path}"));
        assert_eq!(problem["code"], "unauthorized", "{what}: {problem}");
    }
}

async fn assert_accepted(agent: &TestAgent, token: &str, what: &str) -> Value {
    let (status, _, body) = agent.get("/v1/me", token).await;
    assert_eq!(status, StatusCode::OK, "{what}: {body}");
    body
}

/// The agent's own token signing key, derived as the agent derives it.
fn agent_signing_key(agent: &TestAgent) -> SigningKey {
    let seed = agent.master_key.derive(TOKEN_KEY_PURPOSE).expect("derive");
    SigningKey::from_bytes(&seed)
}

fn eddsa(key: &SigningKey, kid: &str, claims: &Value) -> String {
    let der = key.to_pkcs8_der().expect("pkcs8");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).expect("encode")
}

async fn forged_confused_and_revoked_tokens(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice", "Arthur"]).await;
    let b = Tenant::register(&agent, "Globex Gadgets", &["Bob"]).await;
    assert_accepted(&agent, &a.admin, "A's admin token").await;
    let (header, claims, signature) = split(&a.admin);
    let kid = header["kid"].as_str().expect("kid").to_owned();
    assert_eq!(header["alg"], "EdDSA", "{header}");
    assert_eq!((claims["aud"].as_str(), claims["iss"].as_str()), (Some(AUDIENCE), Some(AUDIENCE)), "{claims}");

    // Tampered payloads, the signature kept: B's admin claiming A, A's
    // employee claiming B.
    let (bh, mut bc, bs) = split(&b.admin);
    bc["tid"] = json!(a.id());
    bc["sub"] = json!(a.id());
    let forged = format!("{}.{}.{bs}", encode_part(&bh), encode_part(&bc));
    assert_unauthorized(&agent, a.id(), &forged, "B's admin token with tid and sub changed to A").await;
    let (eh, mut ec, es) = split(a.token(0));
    ec["tid"] = json!(b.id());
    let forged = format!("{}.{}.{es}", encode_part(&eh), encode_part(&ec));
    assert_unauthorized(&agent, b.id(), &forged, "A's employee token with tid changed to B").await;
    let mut flipped = URL_SAFE_NO_PAD.decode(&signature).expect("signature");
    flipped[0] ^= 1;
    let forged = format!("{}.{}.{}", encode_part(&header), encode_part(&claims), URL_SAFE_NO_PAD.encode(flipped));
    assert_unauthorized(&agent, a.id(), &forged, "a flipped signature bit").await;

    // alg: none, with and without the trailing dot.
    let none = encode_part(&json!({ "alg": "none", "typ": "JWT", "kid": kid }));
    for token in [format!("{none}.{}.", encode_part(&claims)), format!("{none}.{}", encode_part(&claims))] {
        assert_unauthorized(&agent, a.id(), &token, "alg none").await;
    }

    // HS256 with the agent's public key as the HMAC secret (raw and as
    // the JWK `x` text).
    let public = agent_signing_key(&agent).verifying_key().to_bytes();
    for secret in [public.to_vec(), URL_SAFE_NO_PAD.encode(public).into_bytes()] {
        let header = Header { alg: Algorithm::HS256, kid: Some(kid.clone()), ..Default::default() };
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).expect("HS256");
        assert_unauthorized(&agent, a.id(), &token, "HS256 keyed with the public key").await;
    }

    // Properly signed with the agent's key: accepted as is (the control),
    // refused for another audience or issuer, or without expiry.
    let key = agent_signing_key(&agent);
    let mut fresh = claims.clone();
    fresh["iat"] = json!(now_secs());
    fresh["exp"] = json!(now_secs() + 600);
    let me = assert_accepted(&agent, &eddsa(&key, &kid, &fresh), "a token crafted with the agent's key").await;
    assert_eq!(me["company"], a.id(), "{me}");
    for (member, value) in [("aud", json!("someone-else")), ("iss", json!("someone-else")), ("exp", Value::Null)] {
        let mut changed = fresh.clone();
        match value {
            Value::Null => {
                changed.as_object_mut().expect("claims").remove(member);
            }
            v => changed[member] = v,
        }
        assert_unauthorized(&agent, a.id(), &eddsa(&key, &kid, &changed), &format!("{member} changed")).await;
    }

    // Another agent's key: with its own kid, and claiming the agent's kid.
    let other = TokenKeys::from_seed(&[9u8; 32], 3600).expect("TokenKeys");
    let token = other.issue(a.id(), a.id(), TokenRole::CompanyAdmin, 1, now_secs()).expect("issue");
    assert_unauthorized(&agent, a.id(), &token, "another agent's token").await;
    let other_key = SigningKey::from_bytes(&[9u8; 32]);
    assert_unauthorized(&agent, a.id(), &eddsa(&other_key, &kid, &fresh), "another key under the agent's kid").await;

    // Garbage and missing credentials.
    for authorization in [
        None,
        Some("Bearer".to_owned()),
        Some("Bearer ".to_owned()),
        Some("Bearer garbage".to_owned()),
        Some("Bearer a.b.c".to_owned()),
        Some("Bearer ...".to_owned()),
        Some(format!("Basic {}", URL_SAFE_NO_PAD.encode(format!("operator:{}", agent.operator_key)))),
        Some(format!("Bearer {}x", agent.operator_key)),
        Some(format!("Bearer {}", &agent.operator_key[..agent.operator_key.len() - 1])),
        Some(a.admin.clone()),
    ] {
        for path in ["/v1/me".to_owned(), format!("/v1/companies/{}", a.id()), "/v1/companies".to_owned()] {
            let answer = with_authorization(&agent, &path, authorization.as_deref()).await;
            assert_problem(&answer, &[401], &format!("Authorization {authorization:?} on {path}"));
        }
    }

    // Removing an employee revokes its token on the very next request.
    let path = format!("/v1/companies/{}/employees/{}", a.id(), a.employee_id(1));
    let (status, _, body) = agent.request(Method::DELETE, &path, Some(&a.admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "remove Arthur: {body}");
    assert_unauthorized(&agent, a.id(), a.token(1), "a removed employee's token").await;
    assert_accepted(&agent, a.token(0), "the other employee's token").await;
    let answer = agent.request(Method::DELETE, &path, Some(&a.admin), None).await;
    assert_problem(&answer, &[404, 409], "removing a removed employee again");
    let tokens = format!("{path}/tokens");
    let answer = agent.request(Method::POST, &tokens, Some(&a.admin), Some(&json!({}))).await;
    assert_problem(&answer, &[404, 409], "a token for a removed employee");

    // Removing company B revokes its admin's and its employees' tokens.
    let (status, _, body) =
        agent.request(Method::DELETE, &format!("/v1/companies/{}", b.id()), Some(&agent.operator_key), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "remove B: {body}");
    assert_unauthorized(&agent, b.id(), &b.admin, "a removed company's admin token").await;
    assert_unauthorized(&agent, b.id(), b.token(0), "a removed company's employee token").await;
    assert_accepted(&agent, &a.admin, "the other company's admin token").await;
    // What was removed stays on record: the row (status removed) and its audit trail.
    let (status, _, row) = agent.get(&format!("/v1/companies/{}", b.id()), &agent.operator_key).await;
    assert_eq!((status, row["status"].as_str()), (StatusCode::OK, Some("removed")), "{row}");
    let db = idelta_agent::db::Db::connect(&agent.db_url).await.expect("agent database");
    let actions: Vec<String> =
        db.audit_of(b.id()).await.expect("audit").into_iter().map(|(_, action, ..)| action).collect();
    assert_eq!(actions, ["company.registered", "company.removed"], "audit of B");
    let answer = agent
        .request(
            Method::POST,
            &format!("/v1/companies/{}/admin-tokens", b.id()),
            Some(&agent.operator_key),
            Some(&json!({})),
        )
        .await;
    assert_problem(&answer, &[404, 409], "an admin token for a removed company");

    // invalidate_previous: an admin token replaces the older ones.
    let admin_tokens = format!("/v1/companies/{}/admin-tokens", a.id());
    let (status, _, kept) =
        agent.request(Method::POST, &admin_tokens, Some(&agent.operator_key), Some(&json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{kept}");
    let kept = kept["token"].as_str().expect("token").to_owned();
    assert_accepted(&agent, &kept, "a second admin token").await;
    assert_accepted(&agent, &a.admin, "the first admin token, not invalidated").await;
    let (status, _, new) = agent
        .request(Method::POST, &admin_tokens, Some(&agent.operator_key), Some(&json!({ "invalidate_previous": true })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{new}");
    let new_admin = new["token"].as_str().expect("token").to_owned();
    assert_unauthorized(&agent, a.id(), &a.admin, "an admin token replaced by invalidate_previous").await;
    assert_unauthorized(&agent, a.id(), &kept, "another admin token replaced by invalidate_previous").await;
    assert_accepted(&agent, &new_admin, "the replacing admin token").await;
    // Employee tokens are the employee's own: they survive the admin's.
    assert_accepted(&agent, a.token(0), "an employee token after the admin's were replaced").await;

    // The same for an employee token, issued by the admin.
    let tokens = format!("/v1/companies/{}/employees/{}/tokens", a.id(), a.employee_id(0));
    let (status, _, second) = agent.request(Method::POST, &tokens, Some(&new_admin), Some(&json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second = second["token"].as_str().expect("token").to_owned();
    assert_accepted(&agent, &second, "a second employee token").await;
    assert_accepted(&agent, a.token(0), "the first employee token, not invalidated").await;
    let (status, _, third) =
        agent.request(Method::POST, &tokens, Some(&new_admin), Some(&json!({ "invalidate_previous": true }))).await;
    assert_eq!(status, StatusCode::CREATED, "{third}");
    let third = third["token"].as_str().expect("token").to_owned();
    assert_unauthorized(&agent, a.id(), a.token(0), "an employee token replaced by invalidate_previous").await;
    assert_unauthorized(&agent, a.id(), &second, "another employee token replaced by invalidate_previous").await;
    let me = assert_accepted(&agent, &third, "the replacing employee token").await;
    assert_eq!(me["employee"], a.employee_id(0), "{me}");
}

/// The one sleep of the suite: tokens of an agent issuing 1-second tokens
/// are refused once past the verifier's 5-second leeway.
async fn expired_tokens(backend: Backend) {
    let Some(agent) = TestAgent::start_with_ttl(backend, 1).await else { return };
    let (company, admin) = agent.register_company("Ephemeral Ltd").await;
    assert_accepted(&agent, &admin, "a fresh 1-second admin token (within the leeway)").await;
    let (_, employee) = agent.add_employee(&company, &admin, "Eve").await;
    assert_accepted(&agent, &employee, "a fresh 1-second employee token (within the leeway)").await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    let company = idelta_tests::agent::id(&company);
    assert_unauthorized(&agent, company, &admin, "an expired admin token").await;
    assert_unauthorized(&agent, company, &employee, "an expired employee token").await;
    let (status, _, fresh) = agent
        .request(
            Method::POST,
            &format!("/v1/companies/{company}/admin-tokens"),
            Some(&agent.operator_key),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{fresh}");
    assert_eq!(fresh["expires_in"], 1, "{fresh}");
    assert_accepted(&agent, fresh["token"].as_str().expect("token"), "a fresh token of the same subject").await;
}

on_both_backends!(forged_confused_and_revoked_tokens, expired_tokens);
