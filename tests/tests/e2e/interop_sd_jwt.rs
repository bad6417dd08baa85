//! SD-JWT VC interop (issue 4): idelta's issuer and holder against the
//! OpenWallet Foundation's `@sd-jwt/sd-jwt-vc` 0.19 and the Python
//! reference `sd-jwt` 0.10, both ways, with tampered copies refused.
//!
//! The agent's own SD-JWT VCs (issued through the VC API, the issuer key
//! taken from idelta's ledger resolver) verify with both libraries too.
//!
//! The peers live in `tests/interop/sd-jwt/` and `scripts/test.sh` installs
//! them (`npm ci`, a `.venv`). Without them a test prints a notice and
//! passes, unless `IDELTA_REQUIRE_INTEROP` is set, when it fails.

use std::path::PathBuf;
use std::process::Stdio;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use idelta_issuer::sd_jwt::{issue, present, Jwk, KeyBinding, Request};
use idelta_types::PublicKey;
use idelta_verifier::sd_jwt::{verify, Expectations};
use idelta_verifier::{DidKeyResolver, Report};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const AUD: &str = "https://verifier.example";
const NONCE: &str = "1f7d4c2a-interop";
/// Issuance time of every credential here; verification happens at `T0 + 10`.
const T0: i64 = 1_700_000_000;

use idelta_types::LocalSigner as TestSigner;
use idelta_types::Signer as _;

/// A signer's public key as a JWK, for the JS and Python peers.
fn jwk(signer: &TestSigner) -> Jwk {
    Jwk::from_public_key(signer.public_key()).unwrap()
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(T0 + secs).unwrap()
}

fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/sd-jwt")
}

/// Whether a peer is installed; a missing one fails under `IDELTA_REQUIRE_INTEROP`.
fn available(peer: &str, marker: &str) -> bool {
    if peer_dir().join(marker).exists() {
        return true;
    }
    let why = format!("{peer} is not installed in {} (run scripts/test.sh)", peer_dir().display());
    if std::env::var_os("IDELTA_REQUIRE_INTEROP").is_some_and(|v| !v.is_empty()) {
        panic!("IDELTA_REQUIRE_INTEROP is set but {why}");
    }
    eprintln!("SKIPPED SD-JWT interop with {why}");
    false
}

fn js_available() -> bool {
    available("@sd-jwt/sd-jwt-vc", "node_modules/@sd-jwt/sd-jwt-vc/package.json")
}

fn py_available() -> bool {
    available("the Python sd-jwt", ".venv/bin/python")
}

/// Runs a peer script with `input` on stdin and parses its JSON answer.
async fn run(program: &str, script: &str, input: &Value) -> Value {
    let mut child = Command::new(program)
        .arg(script)
        .current_dir(peer_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {program} {script}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{script} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{script} printed {stdout:?}: {e}"))
}

/// `(JS answer, Python answer)`, each `None` when that peer is not installed.
async fn peers_verify(
    presentation: &str,
    issuer_jwk: &Jwk,
    binding: Option<(&str, &str)>,
) -> Vec<(&'static str, Value)> {
    peers_verify_at(presentation, issuer_jwk, binding, T0 + 10).await
}

/// [`peers_verify`] at `now` (seconds since the epoch).
async fn peers_verify_at(
    presentation: &str,
    issuer_jwk: &Jwk,
    binding: Option<(&str, &str)>,
    now: i64,
) -> Vec<(&'static str, Value)> {
    let mut input = json!({ "presentation": presentation, "issuerJwk": issuer_jwk, "now": now });
    if let Some((aud, nonce)) = binding {
        input["aud"] = json!(aud);
        input["nonce"] = json!(nonce);
    }
    let mut answers = Vec::new();
    if js_available() {
        answers.push(("js", run("node", "verify.mjs", &input).await));
    }
    if py_available() {
        let python = peer_dir().join(".venv/bin/python");
        answers.push(("python", run(python.to_str().unwrap(), "verify.py", &input).await));
    }
    answers
}

fn flip_signature_byte(sd_jwt: &str) -> String {
    let (jwt, rest) = sd_jwt.split_once('~').unwrap();
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    sig[10] ^= 0x80;
    format!("{input}.{}~{rest}", URL_SAFE_NO_PAD.encode(sig))
}

/// Changes the value of the disclosure of `given_name`.
fn change_disclosed_claim(presentation: &str) -> String {
    let mut parts: Vec<String> = presentation.split('~').map(str::to_owned).collect();
    let last = parts.len() - 1;
    let slot = parts[1..last]
        .iter_mut()
        .find(|d| {
            let arr: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(d.as_str()).unwrap()).unwrap();
            arr[1] == "given_name"
        })
        .expect("a given_name disclosure");
    let mut arr: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(slot.as_str()).unwrap()).unwrap();
    arr[2] = json!("Mallory");
    *slot = URL_SAFE_NO_PAD.encode(arr.to_string());
    parts.join("~")
}

fn names(report: &Report) -> Vec<&str> {
    report.failures().map(|c| c.name.as_str()).collect()
}

#[tokio::test]
async fn idelta_issues_and_the_reference_libraries_verify() {
    let issuer = TestSigner::from_seed([21; 32]);
    let holder = TestSigner::from_seed([22; 32]);
    let claims = json!({
        "given_name": "Ada",
        "family_name": "Lovelace",
        "employee_id": "E-1815",
        "address": { "street": "12 Analytical Row", "locality": "London" },
        "roles": ["engineer", "admin"],
    });
    let req = Request {
        claims: claims.as_object().cloned().unwrap(),
        disclose: ["given_name", "family_name", "employee_id", "/address/street", "address", "/roles/1"]
            .map(String::from)
            .to_vec(),
        vct: "https://idelta.example/EmployeeCredential".into(),
        issuer: issuer.did_key(),
        kid: format!("{}#{}", issuer.did_key(), issuer.key_id()),
        holder_jwk: Some(jwk(&holder)),
        status: None,
        iat: at(0),
        exp: Some(at(3600)),
        decoys: 2,
    };
    let sd_jwt = issue(&req, &issuer).await.unwrap();
    let issuer_jwk = jwk(&issuer);

    // Selected disclosures, no key binding.
    let shown = present(&sd_jwt, &["given_name", "/address/street", "/roles/1"], None).await.unwrap();
    for (peer, answer) in peers_verify(&shown, &issuer_jwk, None).await {
        assert_eq!(answer["verified"], true, "{peer}: {answer}");
        let c = &answer["claims"];
        assert_eq!(c["given_name"], "Ada", "{peer}: {answer}");
        assert_eq!(c["address"]["street"], "12 Analytical Row", "{peer}: {answer}");
        assert_eq!(c["roles"], json!(["engineer", "admin"]), "{peer}: {answer}");
        assert!(c.get("family_name").is_none() && c.get("employee_id").is_none(), "{peer}: {answer}");
        assert_eq!(c["iss"], issuer.did_key());
    }

    // With a Key Binding JWT.
    let kb = KeyBinding { aud: AUD, nonce: NONCE, iat: at(5), signer: &holder };
    let bound = present(&sd_jwt, &["family_name"], Some(kb)).await.unwrap();
    for (peer, answer) in peers_verify(&bound, &issuer_jwk, Some((AUD, NONCE))).await {
        assert_eq!(answer["verified"], true, "{peer}: {answer}");
        assert_eq!(answer["claims"]["family_name"], "Lovelace", "{peer}: {answer}");
        assert!(answer["claims"].get("given_name").is_none(), "{peer}: {answer}");
    }
    // idelta agrees.
    let (report, _) = verify(&bound, &DidKeyResolver, &Expectations::new(at(10)).bound_to(AUD, NONCE)).await;
    assert!(report.verified, "{report:?}");

    // Tampered copies and wrong challenges are refused by every peer.
    let other = TestSigner::from_seed([23; 32]);
    let cases = [
        ("changed claim", change_disclosed_claim(&shown), None, &issuer_jwk),
        ("flipped signature", flip_signature_byte(&shown), None, &issuer_jwk),
        ("another issuer's key", shown.clone(), None, &jwk(&other)),
        ("wrong nonce", bound.clone(), Some((AUD, "another-nonce")), &issuer_jwk),
        ("wrong audience", bound.clone(), Some(("https://other.example", NONCE)), &issuer_jwk),
    ];
    for (what, presentation, binding, jwk) in &cases {
        for (peer, answer) in peers_verify(presentation, jwk, *binding).await {
            if *what == "changed claim" && answer["verified"] == true {
                // SD-JWT §7.1 step 5 says to reject a disclosure that no digest
                // references; these libraries drop it instead. Either way the
                // forged value must never come out as a verified claim.
                assert!(!answer.to_string().contains("Mallory"), "{peer} believed a forged claim: {answer}");
                assert!(answer["claims"].get("given_name").is_none(), "{peer}: {answer}");
                eprintln!("note: {peer} ignores an unreferenced disclosure instead of rejecting it");
                continue;
            }
            assert_eq!(answer["verified"], false, "{peer} accepted {what}: {answer}");
        }
        let expected = match binding {
            Some((aud, nonce)) => Expectations::new(at(10)).bound_to(aud, nonce),
            None => Expectations::new(at(10)),
        };
        if *what != "another issuer's key" {
            let (report, claims) = verify(presentation, &DidKeyResolver, &expected).await;
            assert!(!report.verified && claims.is_none(), "idelta accepted {what}: {report:?}");
        }
    }
    // A KB-JWT by someone other than the holder.
    let kb = KeyBinding { aud: AUD, nonce: NONCE, iat: at(5), signer: &other };
    let stolen = present(&sd_jwt, &["family_name"], Some(kb)).await.unwrap();
    for (peer, answer) in peers_verify(&stolen, &issuer_jwk, Some((AUD, NONCE))).await {
        assert_eq!(answer["verified"], false, "{peer} accepted a KB-JWT by a non-holder: {answer}");
    }
}

#[tokio::test]
async fn the_js_library_issues_and_idelta_verifies() {
    if !js_available() {
        return;
    }
    let holder = TestSigner::from_seed([31; 32]);
    let input = json!({
        "claims": { "given_name": "Grace", "family_name": "Hopper", "employee_id": "E-1906" },
        "disclose": ["given_name", "family_name", "employee_id"],
        "vct": "https://idelta.example/EmployeeCredential",
        "holderJwk": jwk(&holder),
        "iat": T0,
        "exp": T0 + 3600,
    });
    let issued = run("node", "issue.mjs", &input).await;
    let sd_jwt = issued["sdjwt"].as_str().unwrap();

    // The key resolver is did:key made from the JS issuer's JWK.
    let x = URL_SAFE_NO_PAD.decode(issued["issuerJwk"]["x"].as_str().unwrap()).unwrap();
    let key = PublicKey::Ed25519(ed25519_dalek::VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap());
    let did = format!("did:key:{}", key.to_multibase());
    assert_eq!(issued["iss"], did);

    let now = Expectations::new(at(10));
    let (report, claims) = verify(sd_jwt, &DidKeyResolver, &now).await;
    assert!(report.verified, "{report:?}");
    let claims = claims.unwrap();
    assert_eq!(claims["given_name"], "Grace");
    assert_eq!(claims["iss"], did);

    // idelta's holder presents it with a Key Binding JWT.
    let kb = KeyBinding { aud: AUD, nonce: NONCE, iat: at(5), signer: &holder };
    let bound = present(sd_jwt, &["employee_id"], Some(kb)).await.unwrap();
    let (report, claims) = verify(&bound, &DidKeyResolver, &Expectations::new(at(10)).bound_to(AUD, NONCE)).await;
    assert!(report.verified, "{report:?}");
    let claims = claims.unwrap();
    assert_eq!(claims["employee_id"], "E-1906");
    assert!(!claims.contains_key("given_name") && !claims.contains_key("family_name"));
    // ... which the JS library accepts too.
    let issuer_jwk: Jwk = serde_json::from_value(issued["issuerJwk"].clone()).unwrap();
    for (peer, answer) in peers_verify(&bound, &issuer_jwk, Some((AUD, NONCE))).await {
        assert_eq!(answer["verified"], true, "{peer}: {answer}");
    }

    // Tampered copies are refused, each by the check that should catch it.
    let (report, claims) = verify(&flip_signature_byte(sd_jwt), &DidKeyResolver, &now).await;
    assert_eq!(names(&report), ["signature"]);
    assert!(claims.is_none());
    let (report, _) = verify(&change_disclosed_claim(sd_jwt), &DidKeyResolver, &now).await;
    assert_eq!(names(&report), ["disclosures"]);
    let (report, _) = verify(&bound, &DidKeyResolver, &Expectations::new(at(10)).bound_to(AUD, "replayed")).await;
    assert_eq!(names(&report), ["challenge"]);
    let (report, _) = verify(&bound, &DidKeyResolver, &Expectations::new(at(10)).bound_to("https://else", NONCE)).await;
    assert_eq!(names(&report), ["domain"]);

    // The JS issuer's payload under another issuer's `kid`: the resolved
    // controller is not `iss`, and the key does not verify the signature.
    let jwt = sd_jwt.split('~').next().unwrap();
    let (header, rest) = jwt.split_once('.').unwrap();
    let mut header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    let other = TestSigner::from_seed([32; 32]);
    header["kid"] = json!(format!("{}#{}", other.did_key(), other.key_id()));
    let forged = format!("{}.{rest}~", URL_SAFE_NO_PAD.encode(header.to_string()));
    let (report, _) = verify(&forged, &DidKeyResolver, &now).await;
    assert_eq!(names(&report), ["signature"]);
}

/// The clock: the agent issues at the present time.
#[allow(clippy::disallowed_methods)]
fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The agent issues an SD-JWT VC through the VC API (`dc+sd-jwt`); both
/// reference libraries verify it, and a presentation of it with a Key
/// Binding JWT, given the issuer key that idelta's resolver finds on the
/// ledger (proof checked) for the token's `kid`; a flipped signature byte
/// is refused by both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_issues_and_the_reference_libraries_verify() {
    if !js_available() && !py_available() {
        return;
    }
    use idelta_tests::agent::{Backend, TestAgent};
    use idelta_verifier::{KeyResolver as _, Relationship};
    let Some(agent) = TestAgent::start(Backend::Sqlite).await else { return };
    let (_, admin) = agent.register_company("Acme Anvils").await;
    let holder = TestSigner::from_seed([33; 32]);
    let body = json!({
        "credential": {
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://idelta.example/contexts/v1"],
            "type": ["VerifiableCredential", "EmployeeCredential"],
            "credentialSubject": { "employer": "Acme Anvils", "employeeId": "E-1843", "role": "analyst" },
        },
        // No status: @sd-jwt/sd-jwt-vc would fetch the Token Status List
        // from the agent's configured public URL, which this test does not serve.
        "options": { "format": "dc+sd-jwt", "holder": { "did": holder.did_key() }, "credentialStatus": false },
    });
    let (status, _, issued) =
        agent.request(reqwest::Method::POST, "/vc-api/credentials/issue", Some(&admin), Some(&body)).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{issued}");
    let id = issued["verifiableCredential"]["id"].as_str().unwrap();
    let sd_jwt = id.strip_prefix("data:application/dc+sd-jwt,").unwrap().to_owned();

    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(sd_jwt.split('.').next().unwrap()).unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap();
    let resolver = idelta_agent::resolver::LedgerKeyResolver::new(agent.ledger.client.clone());
    let resolved = resolver.resolve_key(kid, Relationship::AssertionMethod).await.unwrap();
    let issuer_jwk = Jwk::from_public_key(&resolved.key).unwrap();
    let at = now().unix_timestamp();

    for (peer, answer) in peers_verify_at(&sd_jwt, &issuer_jwk, None, at).await {
        assert_eq!(answer["verified"], true, "{peer}: {answer}");
        let c = &answer["claims"];
        assert_eq!((c["employer"].as_str(), c["employeeId"].as_str()), (Some("Acme Anvils"), Some("E-1843")), "{peer}");
        assert_eq!(c["vct"], "https://idelta.example/schemas/EmployeeCredential", "{peer}: {answer}");
    }
    let kb = KeyBinding { aud: AUD, nonce: NONCE, iat: now(), signer: &holder };
    let bound = present(&sd_jwt, &["employeeId"], Some(kb)).await.unwrap();
    for (peer, answer) in peers_verify_at(&bound, &issuer_jwk, Some((AUD, NONCE)), at).await {
        assert_eq!(answer["verified"], true, "{peer}: {answer}");
        assert_eq!(answer["claims"]["employeeId"], "E-1843", "{peer}: {answer}");
        assert!(answer["claims"].get("role").is_none(), "{peer} sees an undisclosed claim: {answer}");
    }
    for (peer, answer) in peers_verify_at(&flip_signature_byte(&sd_jwt), &issuer_jwk, None, at).await {
        assert_eq!(answer["verified"], false, "{peer} accepted a flipped signature: {answer}");
    }
}
