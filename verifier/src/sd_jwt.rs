//! SD-JWT VC verification.
//!
//! Verifies a presentation `<issuer-jwt>~<disclosure>~…~[<kb-jwt>]` as
//! Selective Disclosure for JWTs (IETF SD-JWT, RFC 9901 /
//! draft-ietf-oauth-selective-disclosure-jwt §7.1, §7.3) in the SD-JWT VC
//! profile (draft-ietf-oauth-sd-jwt-vc §3), reporting each check:
//!
//! - `format`: compact JWS, `typ` exactly `dc+sd-jwt` (SD-JWT VC §3.2.1),
//!   `alg` **pinned** to `EdDSA` — the token's `alg` is checked against the
//!   pin, never used to choose the algorithm (RFC 8725 §3.1) — a `kid`,
//!   string `iss` and `vct`, `_sd_alg` absent or `sha-256` (SD-JWT §4.1.1);
//! - `signature`: the `kid` resolves under `assertionMethod`, its
//!   controller is `iss`, and the Ed25519 signature verifies (strict, RFC
//!   8032 §5.1.7);
//! - `disclosures`: every disclosure's digest is referenced exactly once,
//!   no digest appears twice, claim names are not `_sd` or `...`, never
//!   clash with a visible claim, and never name a claim SD-JWT VC §3.2.2.2
//!   keeps visible (SD-JWT §7.1 step 3–5);
//! - `validity`: `iat`, `nbf`, `exp` against `now` (RFC 7519 §4.1);
//! - `holderBinding`, `challenge`, `domain`: the Key Binding JWT (SD-JWT
//!   §4.3, §7.3) has `typ` `kb+jwt`, is signed by `cnf.jwk` (RFC 7800),
//!   covers the presentation by `sd_hash`, has a fresh `iat`, and its
//!   `nonce` and `aud` are the ones expected.
//!
//! Token Status List (`status`) is not checked here yet: a credential
//! carrying one gets a warning.

use std::collections::{HashMap, HashSet};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use idelta_types::PublicKey;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::report::Report;
use crate::resolver::{KeyResolver, Relationship};

/// The JOSE `typ` of an SD-JWT VC (SD-JWT VC §3.2.1).
pub const SD_JWT_VC_TYP: &str = "dc+sd-jwt";
/// The JOSE `typ` of a Key Binding JWT (SD-JWT §4.3).
pub const KB_JWT_TYP: &str = "kb+jwt";
/// The one algorithm accepted: Ed25519 (RFC 8037).
pub const ALG: &str = "EdDSA";

/// Claims that SD-JWT VC §3.2.2.2 says are never selectively disclosed:
/// a disclosure naming one at the top level is refused, so it cannot
/// override what the issuer signed in the clear.
const NEVER_DISCLOSED: [&str; 8] = ["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "iat"];

/// What the verifier expects of a presentation.
#[derive(Clone, Debug)]
pub struct Expectations {
    /// The verifier's identifier, expected as the KB-JWT `aud`.
    pub aud: Option<String>,
    /// The challenge, expected as the KB-JWT `nonce`.
    pub nonce: Option<String>,
    /// The time of verification.
    pub now: OffsetDateTime,
    /// Whether a Key Binding JWT is required. An expected `aud` or
    /// `nonce` requires one too: only a KB-JWT can answer them.
    pub require_key_binding: bool,
    /// Tolerated clock skew for `iat`, `nbf` and `exp`.
    pub leeway: Duration,
    /// How old a KB-JWT's `iat` may be.
    pub kb_max_age: Duration,
}

impl Expectations {
    /// Expectations at `now`: no binding, 60 s leeway, KB-JWTs up to 5 minutes old.
    pub fn new(now: OffsetDateTime) -> Expectations {
        Expectations {
            aud: None,
            nonce: None,
            now,
            require_key_binding: false,
            leeway: Duration::seconds(60),
            kb_max_age: Duration::minutes(5),
        }
    }

    /// Requires a KB-JWT for `aud` answering `nonce`.
    pub fn bound_to(mut self, aud: &str, nonce: &str) -> Expectations {
        self.aud = Some(aud.to_owned());
        self.nonce = Some(nonce.to_owned());
        self.require_key_binding = true;
        self
    }
}

/// A compact JWS split up and decoded.
struct Jws<'a> {
    signing_input: &'a str,
    header: Map<String, Value>,
    payload: Map<String, Value>,
    signature: Vec<u8>,
}

/// A presentation split at `~`.
struct Parts<'a> {
    jwt: Jws<'a>,
    disclosures: Vec<&'a str>,
    /// Everything up to and including the last `~`: what `sd_hash` covers.
    presented: &'a str,
    kb: Option<&'a str>,
}

/// Verifies an SD-JWT VC presentation. The claims (with what was
/// disclosed put back in place, and `_sd`, `_sd_alg` and undisclosed
/// array elements removed) are returned only when every check passed.
pub async fn verify(
    presentation: &str,
    resolver: &dyn KeyResolver,
    expected: &Expectations,
) -> (Report, Option<Map<String, Value>>) {
    let mut report = Report::new();
    let parts = match parse(presentation) {
        Ok(parts) => parts,
        Err(e) => {
            report.check("format", Err(e));
            return (report, None);
        }
    };
    report.check("format", check_format(&parts.jwt));
    let payload = &parts.jwt.payload;

    report.check("signature", check_signature(&parts.jwt, resolver).await);

    let claims = match disclose(payload, &parts.disclosures) {
        Ok(claims) => {
            report.check("disclosures", Ok(()));
            Some(claims)
        }
        Err(e) => {
            report.check("disclosures", Err(e));
            None
        }
    };

    report.check("validity", check_validity(payload, expected));

    let binding_required = expected.require_key_binding || expected.aud.is_some() || expected.nonce.is_some();
    match parts.kb {
        Some(kb) => check_key_binding(&mut report, kb, payload, parts.presented, expected),
        None if binding_required => {
            report.check("holderBinding", Err("a Key Binding JWT is required and none was presented".into()));
        }
        None => {
            report.warn("no Key Binding JWT: the presenter is not shown to be the holder");
        }
    }
    if payload.contains_key("status") {
        report.warn("status (Token Status List) was not checked");
    }

    let claims = if report.verified { claims } else { None };
    (report, claims)
}

/// The claims of an SD-JWT with every disclosure it carries put back in
/// place (`iss`, `vct`, `cnf` and the rest included), **without checking
/// any signature**: for a holder looking into its own credentials to
/// answer a presentation request, never for a verifier.
pub fn decode_unverified(sd_jwt: &str) -> Result<Map<String, Value>, String> {
    let parts = parse(sd_jwt)?;
    disclose(&parts.jwt.payload, &parts.disclosures)
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD.decode(part).map_err(|e| format!("{what} is not base64url: {e}"))
}

fn json_object(part: &str, what: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice(&b64(part, what)?) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!("{what} is not a JSON object")),
        Err(e) => Err(format!("{what} is not JSON: {e}")),
    }
}

fn parse_jws<'a>(jws: &'a str, what: &str) -> Result<Jws<'a>, String> {
    let (signing_input, signature) = jws.rsplit_once('.').ok_or_else(|| format!("{what} is not a compact JWS"))?;
    let (header, payload) = signing_input.split_once('.').ok_or_else(|| format!("{what} is not a compact JWS"))?;
    Ok(Jws {
        signing_input,
        header: json_object(header, &format!("{what} header"))?,
        payload: json_object(payload, &format!("{what} payload"))?,
        signature: b64(signature, &format!("{what} signature"))?,
    })
}

fn parse(presentation: &str) -> Result<Parts<'_>, String> {
    let last_tilde = presentation.rfind('~').ok_or("no `~`: not an SD-JWT")?;
    let (presented, kb) = presentation.split_at(last_tilde + 1);
    let mut pieces = presented.split('~');
    let jwt = parse_jws(pieces.next().unwrap_or_default(), "issuer JWT")?;
    let disclosures: Vec<&str> = pieces.filter(|d| !d.is_empty()).collect();
    if presented.contains("~~") {
        return Err("empty disclosure between `~`".into());
    }
    Ok(Parts { jwt, disclosures, presented, kb: (!kb.is_empty()).then_some(kb) })
}

fn str_claim<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    map.get(name).and_then(Value::as_str)
}

fn check_format(jwt: &Jws<'_>) -> Result<(), String> {
    let (h, p) = (&jwt.header, &jwt.payload);
    match str_claim(h, "typ") {
        Some(SD_JWT_VC_TYP) => {}
        other => return Err(format!("typ must be `{SD_JWT_VC_TYP}`, found {other:?}")),
    }
    match str_claim(h, "alg") {
        Some(ALG) => {}
        other => return Err(format!("alg must be `{ALG}`, found {other:?}")),
    }
    if h.contains_key("crit") {
        return Err("critical header parameters are not understood".into());
    }
    if str_claim(h, "kid").is_none() {
        return Err("no `kid` naming the issuer's verification method".into());
    }
    if str_claim(p, "iss").is_none() {
        return Err("no string `iss`".into());
    }
    if str_claim(p, "vct").is_none() {
        return Err("no string `vct` (SD-JWT VC §3.2.2.1.1)".into());
    }
    match p.get("_sd_alg") {
        None => Ok(()),
        Some(Value::String(alg)) if alg == "sha-256" => Ok(()),
        Some(other) => Err(format!("_sd_alg {other} is not supported (only sha-256)")),
    }
}

fn ed25519_verify(key: &VerifyingKey, jws: &Jws<'_>) -> Result<(), String> {
    let sig = Signature::from_slice(&jws.signature).map_err(|e| format!("signature: {e}"))?;
    key.verify_strict(jws.signing_input.as_bytes(), &sig).map_err(|_| "the signature does not verify".to_owned())
}

async fn check_signature(jwt: &Jws<'_>, resolver: &dyn KeyResolver) -> Result<(), String> {
    let kid = str_claim(&jwt.header, "kid").ok_or("no `kid`")?;
    let iss = str_claim(&jwt.payload, "iss").ok_or("no `iss`")?;
    let resolved =
        resolver.resolve_key(kid, Relationship::AssertionMethod).await.map_err(|e| format!("issuer key {kid}: {e}"))?;
    if resolved.controller.as_str() != iss {
        return Err(format!("{kid} is controlled by {}, not by the issuer {iss}", resolved.controller));
    }
    match &resolved.key {
        PublicKey::Ed25519(key) => ed25519_verify(key, jwt),
        _ => Err(format!("{kid} is not an Ed25519 key")),
    }
}

fn sha256_b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

/// Puts the disclosures back into the payload (SD-JWT §7.1 steps 3–5).
fn disclose(payload: &Map<String, Value>, disclosures: &[&str]) -> Result<Map<String, Value>, String> {
    let mut by_digest: HashMap<String, Vec<Value>> = HashMap::with_capacity(disclosures.len());
    for d in disclosures {
        let decoded = match serde_json::from_slice(&b64(d, "a disclosure")?) {
            Ok(Value::Array(items)) => items,
            _ => return Err(format!("disclosure {d} is not a JSON array")),
        };
        if !matches!(decoded.first(), Some(Value::String(_))) || !(2..=3).contains(&decoded.len()) {
            return Err(format!("disclosure {d} is not [salt, name, value] or [salt, value]"));
        }
        if by_digest.insert(sha256_b64(d), decoded).is_some() {
            return Err(format!("disclosure {d} is presented twice"));
        }
    }
    let mut walk = Walk { by_digest, seen: HashSet::new(), used: 0 };
    let mut out = walk.object(payload, true)?;
    if walk.used != walk.by_digest.len() {
        return Err(format!(
            "{} of {} disclosures are not referenced by the issuer-signed payload",
            walk.by_digest.len() - walk.used,
            walk.by_digest.len()
        ));
    }
    out.remove("_sd_alg");
    Ok(out)
}

struct Walk {
    by_digest: HashMap<String, Vec<Value>>,
    seen: HashSet<String>,
    used: usize,
}

impl Walk {
    fn first_sight(&mut self, digest: &str) -> Result<(), String> {
        if self.seen.insert(digest.to_owned()) {
            Ok(())
        } else {
            Err(format!("digest {digest} appears more than once"))
        }
    }

    fn value(&mut self, v: &Value) -> Result<Value, String> {
        Ok(match v {
            Value::Object(map) => Value::Object(self.object(map, false)?),
            Value::Array(items) => Value::Array(self.array(items)?),
            other => other.clone(),
        })
    }

    fn object(&mut self, map: &Map<String, Value>, top: bool) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        for (k, v) in map {
            if k == "..." {
                return Err("`...` is not allowed as a claim name".into());
            }
            if k != "_sd" {
                out.insert(k.clone(), self.value(v)?);
            }
        }
        let digests = match map.get("_sd") {
            None => return Ok(out),
            Some(Value::Array(d)) => d,
            Some(_) => return Err("`_sd` is not an array".into()),
        };
        for digest in digests {
            let digest = digest.as_str().ok_or("`_sd` holds a non-string")?;
            self.first_sight(digest)?;
            let Some(d) = self.by_digest.get(digest).cloned() else { continue };
            self.used += 1;
            let (Some(Value::String(name)), Some(value), 3) = (d.get(1), d.get(2), d.len()) else {
                return Err(format!("disclosure for {digest} in `_sd` is not [salt, name, value]"));
            };
            if name == "_sd" || name == "..." {
                return Err(format!("disclosure for {digest} names the reserved `{name}`"));
            }
            if top && NEVER_DISCLOSED.contains(&name.as_str()) {
                return Err(format!("`{name}` must not be selectively disclosed (SD-JWT VC §3.2.2.2)"));
            }
            if out.contains_key(name) {
                return Err(format!("disclosed `{name}` clashes with a claim already present"));
            }
            let value = self.value(value)?;
            out.insert(name.clone(), value);
        }
        Ok(out)
    }

    fn array(&mut self, items: &[Value]) -> Result<Vec<Value>, String> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let concealed = item.as_object().filter(|o| o.len() == 1).and_then(|o| o.get("..."));
            let Some(digest) = concealed else {
                out.push(self.value(item)?);
                continue;
            };
            let digest = digest.as_str().ok_or("`...` holds a non-string")?;
            self.first_sight(digest)?;
            let Some(d) = self.by_digest.get(digest).cloned() else { continue };
            self.used += 1;
            let (Some(value), 2) = (d.get(1), d.len()) else {
                return Err(format!("disclosure for array element {digest} is not [salt, value]"));
            };
            out.push(self.value(value)?);
        }
        Ok(out)
    }
}

/// A NumericDate claim (RFC 7519 §2), if present.
fn numeric_date(map: &Map<String, Value>, name: &str) -> Result<Option<OffsetDateTime>, String> {
    match map.get(name) {
        None => Ok(None),
        Some(v) => {
            let secs =
                v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)).ok_or(format!("`{name}` is not a number"))?;
            OffsetDateTime::from_unix_timestamp(secs).map(Some).map_err(|e| format!("`{name}`: {e}"))
        }
    }
}

fn check_validity(payload: &Map<String, Value>, expected: &Expectations) -> Result<(), String> {
    let now = expected.now;
    if let Some(iat) = numeric_date(payload, "iat")? {
        if iat > now + expected.leeway {
            return Err(format!("issued in the future ({iat})"));
        }
    }
    if let Some(nbf) = numeric_date(payload, "nbf")? {
        if nbf > now + expected.leeway {
            return Err(format!("not valid before {nbf}"));
        }
    }
    if let Some(exp) = numeric_date(payload, "exp")? {
        if exp + expected.leeway <= now {
            return Err(format!("expired at {exp}"));
        }
    }
    Ok(())
}

fn holder_key(payload: &Map<String, Value>) -> Result<VerifyingKey, String> {
    let jwk = payload
        .get("cnf")
        .and_then(|c| c.get("jwk"))
        .and_then(Value::as_object)
        .ok_or("the credential has no holder key (`cnf.jwk`)")?;
    if str_claim(jwk, "kty") != Some("OKP") || str_claim(jwk, "crv") != Some("Ed25519") {
        return Err("`cnf.jwk` is not an Ed25519 OKP key".into());
    }
    let x = b64(str_claim(jwk, "x").ok_or("`cnf.jwk` has no `x`")?, "`cnf.jwk.x`")?;
    let x: [u8; 32] = x.as_slice().try_into().map_err(|_| "`cnf.jwk.x` is not 32 bytes".to_owned())?;
    VerifyingKey::from_bytes(&x).map_err(|e| format!("`cnf.jwk`: {e}"))
}

fn check_key_binding(
    report: &mut Report,
    kb: &str,
    payload: &Map<String, Value>,
    presented: &str,
    expected: &Expectations,
) {
    let kb = match parse_jws(kb, "Key Binding JWT") {
        Ok(kb) => kb,
        Err(e) => {
            report.check("holderBinding", Err(e));
            return;
        }
    };
    let binding = (|| {
        if str_claim(&kb.header, "typ") != Some(KB_JWT_TYP) {
            return Err(format!("KB-JWT typ must be `{KB_JWT_TYP}`"));
        }
        if str_claim(&kb.header, "alg") != Some(ALG) {
            return Err(format!("KB-JWT alg must be `{ALG}`"));
        }
        ed25519_verify(&holder_key(payload)?, &kb).map_err(|e| format!("KB-JWT not signed by `cnf.jwk`: {e}"))?;
        if str_claim(&kb.payload, "sd_hash") != Some(sha256_b64(presented).as_str()) {
            return Err("KB-JWT `sd_hash` does not match the presented SD-JWT".into());
        }
        let iat = numeric_date(&kb.payload, "iat")?.ok_or("KB-JWT has no `iat`")?;
        if iat > expected.now + expected.leeway || iat + expected.kb_max_age + expected.leeway < expected.now {
            return Err(format!("KB-JWT `iat` {iat} is not fresh"));
        }
        Ok(())
    })();
    report.check("holderBinding", binding);
    for (check, claim, want) in [("challenge", "nonce", &expected.nonce), ("domain", "aud", &expected.aud)] {
        let got = str_claim(&kb.payload, claim);
        match want {
            Some(want) if got == Some(want.as_str()) => report.check(check, Ok(())),
            Some(want) => report.check(check, Err(format!("KB-JWT `{claim}` is {got:?}, expected `{want}`"))),
            None => report.warn(format!("KB-JWT `{claim}` was not checked: none expected")),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::DidKeyResolver;
    use idelta_issuer::sd_jwt::{issue, present, Jwk, KeyBinding, Request};
    use serde_json::json;

    use idelta_types::LocalSigner as TestSigner;
    use idelta_types::Signer as _;

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
    }

    const AUD: &str = "https://verifier.example";
    const NONCE: &str = "XZOUco1u_gEPknxS78sWWg";

    fn request(issuer: &TestSigner, holder: Option<&TestSigner>) -> Request {
        let claims = json!({
            "given_name": "Ada",
            "family_name": "Lovelace",
            "employee_id": "E-1815",
            "address": { "street": "12 Analytical Row", "locality": "London" },
            "roles": ["engineer", "admin"],
        });
        Request {
            claims: claims.as_object().cloned().unwrap(),
            disclose: ["given_name", "family_name", "employee_id", "/address/street", "address", "/roles/1"]
                .map(String::from)
                .to_vec(),
            vct: "https://idelta.example/EmployeeCredential".into(),
            issuer: issuer.did_key(),
            kid: issuer.did_key_url(),
            holder_jwk: holder.and_then(|h| Jwk::from_public_key(h.public_key())),
            status: None,
            iat: t(0),
            exp: Some(t(3600)),
            decoys: 3,
        }
    }

    async fn issued(holder: Option<&TestSigner>) -> String {
        let issuer = TestSigner::from_seed([1; 32]);
        issue(&request(&issuer, holder), &issuer).await.unwrap()
    }

    async fn check(presentation: &str, expected: &Expectations) -> (Report, Option<Map<String, Value>>) {
        verify(presentation, &DidKeyResolver, expected).await
    }

    fn failed(report: &Report) -> Vec<&str> {
        report.failures().map(|c| c.name.as_str()).collect()
    }

    /// Signs `header` and `payload` as a compact JWS with `key`.
    fn jws(header: &Value, payload: &Value, key: &TestSigner) -> String {
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(payload.to_string()));
        let sig = URL_SAFE_NO_PAD.encode(key.sign_now(input.as_bytes()));
        format!("{input}.{sig}")
    }

    fn decode_part(jwt: &str, i: usize) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').nth(i).unwrap()).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn issued_and_fully_disclosed_verifies() {
        let sd_jwt = issued(None).await;
        let (report, claims) = check(&sd_jwt, &Expectations::new(t(10))).await;
        assert!(report.verified, "{report:?}");
        let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["format", "signature", "disclosures", "validity"]);
        let claims = claims.unwrap();
        assert_eq!(claims["given_name"], "Ada");
        assert_eq!(claims["address"], json!({ "street": "12 Analytical Row", "locality": "London" }));
        assert_eq!(claims["roles"], json!(["engineer", "admin"]));
        assert!(!claims.contains_key("_sd") && !claims.contains_key("_sd_alg"));
    }

    #[tokio::test]
    async fn only_revealed_claims_are_returned_with_key_binding() {
        let holder = TestSigner::from_seed([2; 32]);
        let sd_jwt = issued(Some(&holder)).await;
        let kb = KeyBinding { aud: AUD, nonce: NONCE, iat: t(20), signer: &holder };
        let shown = present(&sd_jwt, &["given_name", "/address/street"], Some(kb)).await.unwrap();
        let (report, claims) = check(&shown, &Expectations::new(t(30)).bound_to(AUD, NONCE)).await;
        assert!(report.verified, "{report:?}");
        for name in ["holderBinding", "challenge", "domain"] {
            assert!(report.passed(name), "{name}");
        }
        let claims = claims.unwrap();
        assert_eq!(claims["given_name"], "Ada");
        assert!(!claims.contains_key("family_name") && !claims.contains_key("employee_id"));
        // `locality` is plain inside the `address` disclosure, which the street needs.
        assert_eq!(claims["address"], json!({ "street": "12 Analytical Row", "locality": "London" }));
        assert_eq!(claims["roles"], json!(["engineer"]), "undisclosed array element dropped");
        assert_eq!(claims["iss"], TestSigner::from_seed([1; 32]).did_key());
    }

    #[tokio::test]
    async fn changed_claim_in_a_disclosure_is_refused() {
        let sd_jwt = issued(None).await;
        let shown = present(&sd_jwt, &["given_name"], None).await.unwrap();
        let parts: Vec<&str> = shown.split('~').collect();
        let mut d: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        d[2] = json!("Eve");
        let forged = format!("{}~{}~", parts[0], URL_SAFE_NO_PAD.encode(d.to_string()));
        let (report, claims) = check(&forged, &Expectations::new(t(10))).await;
        assert_eq!(failed(&report), ["disclosures"]);
        assert!(claims.is_none());

        let twice = format!("{}~{}~{}~", parts[0], parts[1], parts[1]);
        assert_eq!(failed(&check(&twice, &Expectations::new(t(10))).await.0), ["disclosures"]);
    }

    #[tokio::test]
    async fn flipped_signature_byte_is_refused() {
        let sd_jwt = issued(None).await;
        let (jwt, rest) = sd_jwt.split_once('~').unwrap();
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        sig[5] ^= 0x01;
        let forged = format!("{input}.{}~{rest}", URL_SAFE_NO_PAD.encode(sig));
        let (report, claims) = check(&forged, &Expectations::new(t(10))).await;
        assert_eq!(failed(&report), ["signature"]);
        assert!(claims.is_none());
    }

    #[tokio::test]
    async fn another_issuer_is_refused() {
        let sd_jwt = issued(None).await;
        let jwt = sd_jwt.split('~').next().unwrap();
        let (header, mut payload) = (decode_part(jwt, 0), decode_part(jwt, 1));
        let mallory = TestSigner::from_seed([66; 32]);

        // Mallory signs with her key, claiming the honest issuer's `kid`.
        let forged = format!("{}~", jws(&header, &payload, &mallory));
        assert_eq!(failed(&check(&forged, &Expectations::new(t(10))).await.0), ["signature"]);

        // Mallory's key and `kid`, but the honest `iss`.
        let header = json!({ "alg": "EdDSA", "typ": "dc+sd-jwt", "kid": mallory.did_key_url() });
        let forged = format!("{}~", jws(&header, &payload, &mallory));
        let (report, _) = check(&forged, &Expectations::new(t(10))).await;
        assert_eq!(failed(&report), ["signature"]);
        assert!(report.checks[1].detail.as_deref().unwrap().contains("not by the issuer"));

        // Consistent, but it is Mallory's credential: it verifies as hers.
        payload["iss"] = json!(mallory.did_key());
        let hers = format!("{}~", jws(&header, &payload, &mallory));
        let (report, claims) = check(&hers, &Expectations::new(t(10))).await;
        assert!(report.verified);
        assert_eq!(claims.unwrap()["iss"], mallory.did_key());
    }

    #[tokio::test]
    async fn wrong_nonce_or_audience_or_holder_is_refused() {
        let holder = TestSigner::from_seed([2; 32]);
        let sd_jwt = issued(Some(&holder)).await;
        let kb = KeyBinding { aud: AUD, nonce: NONCE, iat: t(20), signer: &holder };
        let shown = present(&sd_jwt, &["given_name"], Some(kb)).await.unwrap();

        let (r, c) = check(&shown, &Expectations::new(t(30)).bound_to(AUD, "another-nonce")).await;
        assert_eq!(failed(&r), ["challenge"]);
        assert!(c.is_none());
        let (r, _) = check(&shown, &Expectations::new(t(30)).bound_to("https://other.example", NONCE)).await;
        assert_eq!(failed(&r), ["domain"]);
        let (r, _) = check(&shown, &Expectations::new(t(3600)).bound_to(AUD, NONCE)).await;
        assert_eq!(failed(&r), ["holderBinding"], "stale KB-JWT");

        // Signed by someone other than `cnf.jwk`.
        let thief = TestSigner::from_seed([3; 32]);
        let kb = KeyBinding { aud: AUD, nonce: NONCE, iat: t(20), signer: &thief };
        let stolen = present(&sd_jwt, &["given_name"], Some(kb)).await.unwrap();
        assert_eq!(failed(&check(&stolen, &Expectations::new(t(30)).bound_to(AUD, NONCE)).await.0), ["holderBinding"]);

        // A KB-JWT moved onto a presentation with more disclosures.
        let kb_jwt = shown.rsplit_once('~').unwrap().1;
        let more = present(&sd_jwt, &["given_name", "family_name"], None).await.unwrap();
        let moved = format!("{more}{kb_jwt}");
        assert_eq!(failed(&check(&moved, &Expectations::new(t(30)).bound_to(AUD, NONCE)).await.0), ["holderBinding"]);

        // No KB-JWT when one is required.
        let bare = present(&sd_jwt, &["given_name"], None).await.unwrap();
        assert_eq!(failed(&check(&bare, &Expectations::new(t(30)).bound_to(AUD, NONCE)).await.0), ["holderBinding"]);
    }

    #[tokio::test]
    async fn validity_period_is_checked() {
        let sd_jwt = issued(None).await;
        assert_eq!(failed(&check(&sd_jwt, &Expectations::new(t(7200))).await.0), ["validity"]);
        assert_eq!(failed(&check(&sd_jwt, &Expectations::new(t(-3600))).await.0), ["validity"]);
    }

    #[tokio::test]
    async fn format_pins_typ_and_alg() {
        let issuer = TestSigner::from_seed([1; 32]);
        let sd_jwt = issued(None).await;
        let jwt = sd_jwt.split('~').next().unwrap();
        let payload = decode_part(jwt, 1);
        for header in [
            json!({ "alg": "EdDSA", "typ": "vc+sd-jwt", "kid": issuer.did_key_url() }),
            json!({ "alg": "EdDSA", "typ": "JWT", "kid": issuer.did_key_url() }),
            json!({ "alg": "none", "typ": "dc+sd-jwt", "kid": issuer.did_key_url() }),
            json!({ "alg": "ES256", "typ": "dc+sd-jwt", "kid": issuer.did_key_url() }),
            json!({ "alg": "EdDSA", "typ": "dc+sd-jwt" }),
        ] {
            let token = format!("{}~", jws(&header, &payload, &issuer));
            let (report, claims) = check(&token, &Expectations::new(t(10))).await;
            assert!(failed(&report).contains(&"format"), "{header}: {report:?}");
            assert!(claims.is_none());
        }
        for garbage in ["", "abc", "a.b.c~", "~~"] {
            assert_eq!(failed(&check(garbage, &Expectations::new(t(10))).await.0), ["format"], "{garbage}");
        }
    }

    #[tokio::test]
    async fn reserved_names_and_duplicate_digests_are_refused() {
        let issuer = TestSigner::from_seed([1; 32]);
        let header = json!({ "alg": "EdDSA", "typ": "dc+sd-jwt", "kid": issuer.did_key_url() });
        let base = json!({ "iss": issuer.did_key(), "vct": "x", "iat": t(0).unix_timestamp() });
        let disclosure = |arr: Value| URL_SAFE_NO_PAD.encode(arr.to_string());
        let d_iss = disclosure(json!(["c2FsdHNhbHRzYWx0", "iss", "did:key:zEvil"]));
        let d_sd = disclosure(json!(["c2FsdHNhbHRzYWx0", "_sd", []]));
        let d_name = disclosure(json!(["c2FsdHNhbHRzYWx0", "name", "Ada"]));
        for (d, sd) in [
            (&d_iss, vec![sha256_b64(&d_iss)]),
            (&d_sd, vec![sha256_b64(&d_sd)]),
            (&d_name, vec![sha256_b64(&d_name), sha256_b64(&d_name)]),
        ] {
            let mut payload = base.clone();
            payload["_sd"] = json!(sd);
            let token = format!("{}~{d}~", jws(&header, &payload, &issuer));
            assert_eq!(failed(&check(&token, &Expectations::new(t(10))).await.0), ["disclosures"], "{d}");
        }
        // A disclosure that clashes with a visible claim.
        let mut payload = base.clone();
        payload["name"] = json!("Bob");
        payload["_sd"] = json!([sha256_b64(&d_name)]);
        let token = format!("{}~{d_name}~", jws(&header, &payload, &issuer));
        assert_eq!(failed(&check(&token, &Expectations::new(t(10))).await.0), ["disclosures"]);
    }
}
