//! SD-JWT VC through the VC API: a company admin issues with
//! `options.format: "dc+sd-jwt"`, answered as an
//! `EnvelopedVerifiableCredential`; the issuer JWT names the company DID,
//! its ledger key and the type's schema as `vct`; any caller verifies it
//! with the issuer key resolved on the ledger; a changed disclosure, a
//! flipped signature byte and another issuer's key are each refused with
//! the failing check named; a presentation with a Key Binding JWT is
//! verified against the challenge and domain, and a wrong one refused.

use super::Tenant;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use idelta_issuer::data_integrity::contexts;
use idelta_issuer::sd_jwt::{self, KeyBinding};
use idelta_tests::agent::{assert_problem, Answer, Backend, TestAgent};
use idelta_types::{LocalSigner, Signer as _};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ISSUE: &str = "/vc-api/credentials/issue";
const VERIFY: &str = "/vc-api/credentials/verify";
const VERIFY_VP: &str = "/vc-api/presentations/verify";
const PREFIX: &str = "data:application/dc+sd-jwt,";
const VCT: &str = "https://idelta.example/schemas/VoterEligibilityCredential";

fn voter() -> Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "type": ["VerifiableCredential", "VoterEligibilityCredential"],
        "validUntil": "2099-01-01T00:00:00Z",
        "credentialSubject": { "election": "AGM 2026", "eligibleVoter": true, "shares": 120 }
    })
}

async fn post(agent: &TestAgent, token: &str, path: &str, body: &Value) -> Answer {
    agent.request(Method::POST, path, Some(token), Some(body)).await
}

/// Issues as `token` with `options` (format set here); the compact SD-JWT.
async fn issue(agent: &TestAgent, token: &str, options: Value) -> String {
    let mut options = options;
    options["format"] = json!("dc+sd-jwt");
    let (status, _, body) = post(agent, token, ISSUE, &json!({ "credential": voter(), "options": options })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let vc = &body["verifiableCredential"];
    assert_eq!(vc["type"], "EnvelopedVerifiableCredential", "{vc}");
    assert_eq!(vc["@context"], json!([contexts::CREDENTIALS_V2]));
    vc["id"].as_str().and_then(|id| id.strip_prefix(PREFIX)).expect("a dc+sd-jwt data URL").to_owned()
}

fn enveloped(kind: &str, compact: &str) -> Value {
    json!({ "@context": [contexts::CREDENTIALS_V2], "type": kind, "id": format!("{PREFIX}{compact}") })
}

async fn verify(agent: &TestAgent, token: &str, compact: &str) -> Value {
    let body = json!({ "verifiableCredential": enveloped("EnvelopedVerifiableCredential", compact) });
    let (status, _, report) = post(agent, token, VERIFY, &body).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

/// The clock, for a Key Binding JWT the agent checks for freshness.
#[allow(clippy::disallowed_methods)]
fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

fn error_names(report: &Value) -> Vec<&str> {
    report["errors"].as_array().expect("errors").iter().map(|e| e["name"].as_str().expect("name")).collect()
}

fn flip_signature_byte(compact: &str) -> String {
    let (jwt, rest) = compact.split_once('~').expect("~");
    let (input, sig) = jwt.rsplit_once('.').expect("JWS");
    let mut sig = URL_SAFE_NO_PAD.decode(sig).expect("signature");
    sig[7] ^= 0x01;
    format!("{input}.{}~{rest}", URL_SAFE_NO_PAD.encode(sig))
}

/// Issue, inspect, verify, tamper, and present with key binding.
async fn issue_verify_and_present(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright"]).await;
    let b = Tenant::register(&agent, "Globex Gadgets", &[]).await;
    let holder = LocalSigner::from_seed([77; 32]);

    let compact = issue(&agent, &a.admin, json!({ "holder": { "did": holder.did_key() } })).await;
    let jwt = compact.split('~').next().expect("issuer JWT");
    let pieces: Vec<&str> = jwt.split('.').collect();
    let (header, payload) = (decode(pieces[0]), decode(pieces[1]));
    assert_eq!(header["typ"], "dc+sd-jwt");
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], format!("{}#key-1", a.did()), "signed by the DID's key on the ledger");
    assert_eq!(payload["iss"], a.did());
    assert_eq!(payload["vct"], VCT);
    assert_eq!(payload["sub"], holder.did_key());
    assert_eq!(payload["exp"], 4_070_908_800_i64, "validUntil is exp");
    let holder_jwk = sd_jwt::Jwk::from_public_key(holder.public_key()).expect("Ed25519");
    assert_eq!(payload["cnf"]["jwk"], json!(holder_jwk), "cnf is the holder's key");
    for claim in ["election", "eligibleVoter", "shares"] {
        assert!(payload.get(claim).is_none(), "{claim} is selectively disclosable by default: {payload}");
    }
    let disclosures = compact.split('~').filter(|d| !d.is_empty()).count() - 1;
    assert_eq!(disclosures, 3, "{compact}");

    // Any caller verifies, every check named.
    for token in [agent.operator_key.as_str(), &b.admin, a.token(0)] {
        let report = verify(&agent, token, &compact).await;
        assert_eq!(report["verified"], true, "{report:#}");
        let checks: Vec<&str> = report["checks"].as_array().expect("checks").iter().filter_map(Value::as_str).collect();
        for check in ["format", "signature", "disclosures", "validity", "schema"] {
            assert!(checks.contains(&check), "no {check} check in {checks:?}");
        }
    }

    // A changed disclosure, a flipped signature byte, another issuer's key.
    let mut parts: Vec<String> = compact.split('~').map(str::to_owned).collect();
    let shares = parts.iter_mut().skip(1).find(|d| !d.is_empty() && decode(d)[1] == "shares").expect("shares");
    let mut changed = decode(shares);
    changed[2] = json!(100_000);
    *shares = URL_SAFE_NO_PAD.encode(changed.to_string());
    let report = verify(&agent, &b.admin, &parts.join("~")).await;
    assert_eq!((report["verified"].as_bool(), error_names(&report)), (Some(false), vec!["disclosures"]), "{report:#}");

    let report = verify(&agent, &b.admin, &flip_signature_byte(&compact)).await;
    assert_eq!((report["verified"].as_bool(), error_names(&report)), (Some(false), vec!["signature"]), "{report:#}");

    // A's claims signed by a did:key naming itself in `kid` but A as `iss`;
    // and A's token with B's key named as `kid`.
    let other = LocalSigner::from_seed([78; 32]);
    let claims = payload.as_object().expect("payload").clone();
    let mut forged_claims = claims.clone();
    for registered in ["iss", "iat", "exp", "vct", "cnf", "status", "_sd", "_sd_alg"] {
        forged_claims.remove(registered);
    }
    let req = sd_jwt::Request {
        claims: forged_claims,
        disclose: vec![],
        vct: VCT.into(),
        issuer: a.did().into(),
        kid: other.did_key_url(),
        holder_jwk: None,
        status: None,
        iat: now(),
        exp: None,
        decoys: 0,
    };
    let forged = sd_jwt::issue(&req, &other).await.expect("forged");
    let report = verify(&agent, &b.admin, &forged).await;
    assert_eq!((report["verified"].as_bool(), error_names(&report)), (Some(false), vec!["signature"]), "{report:#}");
    let mut header_b = header.clone();
    header_b["kid"] = json!(format!("{}#key-1", b.did()));
    let b_kid = format!("{}.{}", URL_SAFE_NO_PAD.encode(header_b.to_string()), &compact[pieces[0].len() + 1..]);
    let report = verify(&agent, &b.admin, &b_kid).await;
    assert_eq!((report["verified"].as_bool(), error_names(&report)), (Some(false), vec!["signature"]), "{report:#}");

    // A presentation revealing `election` only, bound to a challenge and domain.
    let kb = KeyBinding { aud: "https://verifier.example", nonce: "n-123", iat: now(), signer: &holder };
    let presented = sd_jwt::present(&compact, &["election"], Some(kb)).await.expect("present");
    let check = |options: Value, presentation: String| {
        let (agent, token) = (&agent, b.admin.clone());
        async move {
            let vp = enveloped("EnvelopedVerifiablePresentation", &presentation);
            let (status, _, report) =
                post(agent, &token, VERIFY_VP, &json!({ "verifiablePresentation": vp, "options": options })).await;
            assert_eq!(status, StatusCode::OK, "{report}");
            report
        }
    };
    let good = json!({ "challenge": "n-123", "domain": "https://verifier.example" });
    let report = check(good.clone(), presented.clone()).await;
    assert_eq!(report["verified"], true, "{report:#}");
    for named in ["holderBinding", "challenge", "domain", "schema"] {
        assert!(report["checks"].as_array().expect("checks").contains(&json!(named)), "{named}: {report}");
    }
    let report =
        check(json!({ "challenge": "replayed", "domain": "https://verifier.example" }), presented.clone()).await;
    assert_eq!(error_names(&report), ["challenge"], "{report:#}");
    let report = check(json!({ "challenge": "n-123", "domain": "https://else.example" }), presented.clone()).await;
    assert_eq!(error_names(&report), ["domain"], "{report:#}");
    // Without its Key Binding JWT, the presentation is refused.
    let unbound = sd_jwt::present(&compact, &["election"], None).await.expect("present");
    let report = check(good, unbound).await;
    assert_eq!(error_names(&report), ["holderBinding"], "{report:#}");
}

/// What is malformed is a 400 naming it; a bare SD-JWT is told how to
/// send it; chosen disclosures are honoured.
async fn options_and_forms(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;

    let compact = issue(&agent, &a.admin, json!({ "disclosable": ["/shares"] })).await;
    let payload = decode(compact.split('.').nth(1).expect("payload"));
    assert_eq!((payload["election"].as_str(), payload["eligibleVoter"].as_bool()), (Some("AGM 2026"), Some(true)));
    assert!(payload.get("shares").is_none() && payload.get("sub").is_none(), "{payload}");
    assert_eq!(verify(&agent, &a.admin, &compact).await["verified"], true);

    let cases = [
        (json!({ "format": "jwt" }), "format"),
        (json!({ "disclosable": ["/shares"] }), "disclosable"),
        (json!({ "format": "dc+sd-jwt", "cryptosuite": "eddsa-jcs-2022" }), "cryptosuite"),
        (json!({ "format": "dc+sd-jwt", "disclosable": ["shares"] }), "JSON pointer"),
        (json!({ "format": "dc+sd-jwt", "disclosable": ["/nowhere"] }), "nowhere"),
    ];
    for (options, named) in cases {
        let answer = post(&agent, &a.admin, ISSUE, &json!({ "credential": voter(), "options": options })).await;
        let problem = assert_problem(&answer, &[400], &format!("{options}"));
        assert!(problem["detail"].as_str().unwrap_or_default().contains(named), "{options}: {problem}");
    }
    let mut described = voter();
    described["description"] = json!("Annual general meeting");
    let body = json!({ "credential": described, "options": { "format": "dc+sd-jwt" } });
    let answer = post(&agent, &a.admin, ISSUE, &body).await;
    let problem = assert_problem(&answer, &[400], "description");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("description"), "{problem}");

    for (path, member) in [(VERIFY, "verifiableCredential"), (VERIFY_VP, "verifiablePresentation")] {
        let answer = post(&agent, &a.admin, path, &json!({ member: compact })).await;
        let problem = assert_problem(&answer, &[400], &format!("a bare SD-JWT as {member}"));
        assert!(problem["detail"].as_str().unwrap_or_default().contains("Enveloped"), "{problem}");
    }
    let wrong_media =
        json!({ "type": "EnvelopedVerifiableCredential", "id": format!("data:application/vc+jwt,{compact}") });
    let (_, _, report) = post(&agent, &a.admin, VERIFY, &json!({ "verifiableCredential": wrong_media })).await;
    assert_eq!(error_names(&report), ["format"], "{report:#}");
}

on_both_backends!(issue_verify_and_present, options_and_forms);
