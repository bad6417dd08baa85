//! SD-JWT VC issuance and presentation.
//!
//! Implements the issuer and holder sides of Selective Disclosure for JWTs
//! (IETF SD-JWT, RFC 9901 / draft-ietf-oauth-selective-disclosure-jwt) in
//! the SD-JWT VC profile (draft-ietf-oauth-sd-jwt-vc):
//!
//! - disclosures are `base64url(JSON [salt, name, value])` for object
//!   properties and `[salt, value]` for array elements, each salt 128 bits
//!   from the OS RNG (SD-JWT §4.2.1, §4.2.2, §9.3);
//! - digests are `base64url(SHA-256(disclosure))` (§4.2.3), listed sorted
//!   in `_sd` so their order says nothing about the claims (§4.2.4.1), or
//!   as `{"...": digest}` in arrays (§4.2.4.2); `_sd_alg` is `sha-256`
//!   (§4.1.1); decoy digests (§4.2.5) hide how many claims there are;
//! - the issuer JWT has `typ` `dc+sd-jwt` (SD-JWT VC §3.2.1) and claims
//!   `iss`, `iat`, `exp`, `vct`, `cnf` and `status` that are never made
//!   selectively disclosable (SD-JWT VC §3.2.2.2);
//! - a presentation keeps only the disclosures asked for and may end with a
//!   Key Binding JWT (`typ` `kb+jwt`, `aud`, `nonce`, `iat`, `sd_hash`;
//!   SD-JWT §4.3, §4.3.1).
//!
//! JWS compact serialization (RFC 7515 §7.1) is done here; the signature
//! itself is Ed25519 (`EdDSA`, RFC 8037) made by the wallet's [`Signer`],
//! so secret keys never leave the wallet.

use std::collections::BTreeSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use idelta_types::signer::Signer;
use idelta_types::{Did, PublicKey};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The JOSE `typ` of an SD-JWT VC (SD-JWT VC §3.2.1).
pub const SD_JWT_VC_TYP: &str = "dc+sd-jwt";
/// The JOSE `typ` of a Key Binding JWT (SD-JWT §4.3).
pub const KB_JWT_TYP: &str = "kb+jwt";
/// The only JWS algorithm idelta signs with: Ed25519 (RFC 8037).
pub const ALG: &str = "EdDSA";
/// The hash algorithm of disclosure digests (SD-JWT §4.1.1).
pub const SD_ALG: &str = "sha-256";

/// Registered claims that SD-JWT VC §3.2.2.2 forbids disclosing selectively,
/// plus the SD-JWT structure's own names.
const NEVER_DISCLOSED: [&str; 10] =
    ["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "iat", "_sd", "_sd_alg"];

/// Why an SD-JWT VC could not be issued or presented.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Returned when a claim to disclose is missing, reserved, or its path is malformed.
    #[error("cannot make `{path}` selectively disclosable: {reason}")]
    Disclose {
        /// The JSON pointer or claim name asked for.
        path: String,
        /// Why not.
        reason: String,
    },
    /// Returned when the issuer is not a DID, or a claim idelta sets itself is passed in `claims`.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Returned when the SD-JWT given to [`present`] cannot be parsed.
    #[error("malformed SD-JWT: {0}")]
    Malformed(String),
    /// Returned when the wallet refuses to sign.
    #[error("signing failed: {0}")]
    Signing(#[from] idelta_types::signer::SignError),
}

/// The result type of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A public JSON Web Key (RFC 7517) of an Ed25519 key (`OKP`, RFC 8037 §2),
/// as carried in `cnf.jwk` (RFC 7800 §3.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP`.
    pub kty: String,
    /// Curve: `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
}

impl Jwk {
    /// The JWK of an Ed25519 public key; `None` for other key types.
    pub fn from_public_key(key: &PublicKey) -> Option<Jwk> {
        match key {
            PublicKey::Ed25519(vk) => {
                Some(Jwk { kty: "OKP".into(), crv: "Ed25519".into(), x: URL_SAFE_NO_PAD.encode(vk.as_bytes()) })
            }
            _ => None,
        }
    }
}

/// What to put in an SD-JWT VC.
#[derive(Clone, Debug)]
pub struct Request {
    /// The credential's own claims (the subject's attributes), never
    /// `iss`, `iat`, `exp`, `vct`, `cnf` or `status`: those come from the
    /// fields below.
    pub claims: Map<String, Value>,
    /// What the holder may disclose selectively: top-level claim names
    /// (`given_name`) or JSON pointers (RFC 6901) into `claims`
    /// (`/address/street`, `/nationalities/1`). A pointer inside another
    /// makes a recursive disclosure (SD-JWT §4.2.6).
    pub disclose: Vec<String>,
    /// The credential type (`vct`, SD-JWT VC §3.2.2.1.1).
    pub vct: String,
    /// The issuer DID (`iss`).
    pub issuer: String,
    /// The verification method that signs (`kid`), listed under the
    /// issuer's `assertionMethod`.
    pub kid: String,
    /// The holder's key (`cnf.jwk`), for Key Binding.
    pub holder_jwk: Option<Jwk>,
    /// A status reference (`status`, e.g. an IETF Token Status List entry).
    pub status: Option<Value>,
    /// Issuance time (`iat`).
    pub iat: OffsetDateTime,
    /// Expiry (`exp`).
    pub exp: Option<OffsetDateTime>,
    /// How many decoy digests to add to each `_sd` array that has real ones
    /// (SD-JWT §4.2.5).
    pub decoys: usize,
}

/// Issues an SD-JWT VC: `<issuer-jwt>~<disclosure>~…~` (SD-JWT §4).
pub async fn issue(req: &Request, signer: &dyn Signer) -> Result<String> {
    req.issuer.parse::<Did>().map_err(|e| Error::Invalid(format!("issuer `{}` is not a DID: {e}", req.issuer)))?;
    for reserved in NEVER_DISCLOSED {
        if req.claims.contains_key(reserved) {
            return Err(Error::Invalid(format!("`{reserved}` is set by the issuer, not passed as a claim")));
        }
    }
    let mut claims = Value::Object(req.claims.clone());
    let mut paths: Vec<Vec<String>> = Vec::with_capacity(req.disclose.len());
    for p in &req.disclose {
        let segments = parse_path(p)?;
        if paths.contains(&segments) {
            return Err(Error::Disclose { path: p.clone(), reason: "listed twice".into() });
        }
        paths.push(segments);
    }
    // Deepest first, so a recursive disclosure hides already-concealed children.
    paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let mut disclosures = Vec::with_capacity(paths.len());
    for path in &paths {
        disclosures.push(conceal(&mut claims, path)?);
    }
    add_decoys_and_sort(&mut claims, req.decoys);

    let Value::Object(mut payload) = claims else {
        return Err(Error::Invalid("claims are not an object".into()));
    };
    payload.insert("iss".into(), json!(req.issuer));
    payload.insert("iat".into(), json!(req.iat.unix_timestamp()));
    if let Some(exp) = req.exp {
        payload.insert("exp".into(), json!(exp.unix_timestamp()));
    }
    payload.insert("vct".into(), json!(req.vct));
    if let Some(jwk) = &req.holder_jwk {
        payload.insert("cnf".into(), json!({ "jwk": jwk }));
    }
    if let Some(status) = &req.status {
        payload.insert("status".into(), status.clone());
    }
    payload.insert("_sd_alg".into(), json!(SD_ALG));

    let header = json!({ "alg": ALG, "typ": SD_JWT_VC_TYP, "kid": req.kid });
    let jwt = sign_jws(&header, &Value::Object(payload), signer).await?;
    // Disclosures in lexical order say nothing about the claim order in
    // `claims`.
    disclosures.sort();
    let mut out = jwt;
    out.push('~');
    for d in &disclosures {
        out.push_str(d);
        out.push('~');
    }
    Ok(out)
}

/// What binds a presentation to its holder and verifier (SD-JWT §4.3).
pub struct KeyBinding<'a> {
    /// The verifier (`aud`).
    pub aud: &'a str,
    /// The verifier's challenge (`nonce`).
    pub nonce: &'a str,
    /// When the presentation is made (`iat`).
    pub iat: OffsetDateTime,
    /// The holder's key, the one in `cnf.jwk`.
    pub signer: &'a dyn Signer,
}

/// Presents an SD-JWT keeping only the disclosures of `reveal` (top-level
/// names or JSON pointers; revealing a claim reveals what is nested in it,
/// and revealing a nested claim reveals the disclosures that contain it),
/// and appends a Key Binding JWT when `kb` is given (SD-JWT §4.3, §7.2).
pub async fn present(sd_jwt: &str, reveal: &[&str], kb: Option<KeyBinding<'_>>) -> Result<String> {
    let mut parts: Vec<&str> = sd_jwt.split('~').collect();
    if parts.len() < 2 {
        return Err(Error::Malformed("no `~` after the issuer JWT".into()));
    }
    if parts.last().is_some_and(|last| !last.is_empty()) {
        // An existing Key Binding JWT is dropped: it binds another presentation.
        parts.pop();
        parts.push("");
    }
    let jwt = parts[0];
    let disclosures: Vec<&str> = parts[1..parts.len() - 1].to_vec();
    let payload = jwt_part(jwt, 1)?;
    let Value::Object(payload) = payload else {
        return Err(Error::Malformed("payload is not an object".into()));
    };

    let mut by_digest = std::collections::HashMap::new();
    for d in &disclosures {
        let decoded: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD.decode(d).map_err(|e| Error::Malformed(format!("disclosure: {e}")))?,
        )
        .map_err(|e| Error::Malformed(format!("disclosure: {e}")))?;
        by_digest.insert(digest(d), (*d, decoded));
    }
    let wanted: Vec<Vec<String>> = reveal.iter().map(|r| parse_path(r)).collect::<Result<_>>()?;
    let mut keep = BTreeSet::new();
    select(&Value::Object(payload), &mut Vec::new(), &by_digest, &wanted, &mut keep);

    let mut out = String::from(jwt);
    out.push('~');
    for d in disclosures.iter().filter(|d| keep.contains(**d)) {
        out.push_str(d);
        out.push('~');
    }
    if let Some(kb) = kb {
        let header = json!({ "alg": ALG, "typ": KB_JWT_TYP });
        let claims = json!({
            "iat": kb.iat.unix_timestamp(),
            "aud": kb.aud,
            "nonce": kb.nonce,
            "sd_hash": digest(&out),
        });
        out.push_str(&sign_jws(&header, &claims, kb.signer).await?);
    }
    Ok(out)
}

/// `base64url(SHA-256(text))`: a disclosure's digest, or `sd_hash`.
pub fn digest(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

async fn sign_jws(header: &Value, payload: &Value, signer: &dyn Signer) -> Result<String> {
    let mut input = b64_json(header);
    input.push('.');
    input.push_str(&b64_json(payload));
    let sig = signer.sign(input.as_bytes()).await?;
    input.push('.');
    input.push_str(&URL_SAFE_NO_PAD.encode(sig));
    Ok(input)
}

fn b64_json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn jwt_part(jwt: &str, index: usize) -> Result<Value> {
    let part = jwt.split('.').nth(index).ok_or_else(|| Error::Malformed("issuer JWT is not compact JWS".into()))?;
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|e| Error::Malformed(format!("issuer JWT: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Malformed(format!("issuer JWT: {e}")))
}

fn salt() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A top-level claim name, or an RFC 6901 JSON pointer, as path segments.
fn parse_path(p: &str) -> Result<Vec<String>> {
    let segments: Vec<String> = match p.strip_prefix('/') {
        Some(rest) => rest.split('/').map(|s| s.replace("~1", "/").replace("~0", "~")).collect(),
        None => vec![p.to_owned()],
    };
    if p.is_empty() || segments.iter().any(String::is_empty) {
        return Err(Error::Disclose { path: p.to_owned(), reason: "empty path segment".into() });
    }
    if let Some(first) = segments.first() {
        if segments.len() == 1 && NEVER_DISCLOSED.contains(&first.as_str()) {
            return Err(Error::Disclose {
                path: p.to_owned(),
                reason: "SD-JWT VC §3.2.2.2 keeps it always visible".into(),
            });
        }
    }
    if segments.iter().any(|s| s == "_sd" || s == "...") {
        return Err(Error::Disclose { path: p.to_owned(), reason: "`_sd` and `...` are reserved".into() });
    }
    Ok(segments)
}

/// Replaces the value at `path` by its digest and returns its disclosure.
fn conceal(root: &mut Value, path: &[String]) -> Result<String> {
    let joined = || format!("/{}", path.join("/"));
    let Some((last, parents)) = path.split_last() else {
        return Err(Error::Disclose { path: joined(), reason: "empty path".into() });
    };
    let mut node = root;
    for seg in parents {
        node = match node {
            Value::Object(map) => map.get_mut(seg.as_str()),
            Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| Error::Disclose { path: joined(), reason: format!("no `{seg}`") })?;
    }
    match node {
        Value::Object(map) => {
            let value = map
                .remove(last.as_str())
                .ok_or_else(|| Error::Disclose { path: joined(), reason: "no such claim".into() })?;
            let disclosure = URL_SAFE_NO_PAD.encode(json!([salt(), last, value]).to_string());
            let sd = map.entry("_sd").or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(sd) = sd {
                sd.push(Value::String(digest(&disclosure)));
            }
            Ok(disclosure)
        }
        Value::Array(items) => {
            let slot = last
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get_mut(i))
                .ok_or_else(|| Error::Disclose { path: joined(), reason: "no such array element".into() })?;
            let value = slot.take();
            let disclosure = URL_SAFE_NO_PAD.encode(json!([salt(), value]).to_string());
            *slot = json!({ "...": digest(&disclosure) });
            Ok(disclosure)
        }
        _ => Err(Error::Disclose { path: joined(), reason: "parent is neither an object nor an array".into() }),
    }
}

/// Adds `decoys` random digests to every `_sd` array and sorts each.
fn add_decoys_and_sort(node: &mut Value, decoys: usize) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Array(sd)) = map.get_mut("_sd") {
                for _ in 0..decoys {
                    sd.push(Value::String(digest(&salt())));
                }
                sd.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
            for (k, v) in map.iter_mut() {
                if k != "_sd" {
                    add_decoys_and_sort(v, decoys);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| add_decoys_and_sort(v, decoys)),
        _ => {}
    }
}

type ByDigest<'a> = std::collections::HashMap<String, (&'a str, Value)>;

/// Collects into `keep` the disclosures on the way to, or under, a wanted path.
fn select<'a>(
    node: &Value,
    path: &mut Vec<String>,
    by_digest: &ByDigest<'a>,
    wanted: &[Vec<String>],
    keep: &mut BTreeSet<&'a str>,
) {
    let related = |p: &[String]| wanted.iter().any(|w| w.starts_with(p) || p.starts_with(w));
    match node {
        Value::Object(map) => {
            for digest in map.get("_sd").and_then(Value::as_array).into_iter().flatten() {
                let Some((raw, Value::Array(d))) = digest.as_str().and_then(|s| by_digest.get(s)) else { continue };
                let (Some(name), Some(value)) = (d.get(1).and_then(Value::as_str), d.get(2)) else { continue };
                path.push(name.to_owned());
                if related(path) && keep.insert(raw) {
                    select(value, path, by_digest, wanted, keep);
                }
                path.pop();
            }
            for (k, v) in map {
                if k != "_sd" {
                    path.push(k.clone());
                    select(v, path, by_digest, wanted, keep);
                    path.pop();
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                let concealed =
                    item.as_object().filter(|o| o.len() == 1).and_then(|o| o.get("...")).and_then(Value::as_str);
                match concealed.and_then(|s| by_digest.get(s)) {
                    Some((raw, Value::Array(d))) if d.len() == 2 => {
                        if related(path) && keep.insert(raw) {
                            if let Some(value) = d.get(1) {
                                select(value, path, by_digest, wanted, keep);
                            }
                        }
                    }
                    _ => select(item, path, by_digest, wanted, keep),
                }
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use idelta_types::LocalSigner as TestSigner;

    fn request(signer: &TestSigner, disclose: &[&str]) -> Request {
        let did = format!("did:key:{}", signer.key_id());
        let claims = json!({
            "given_name": "Ada",
            "family_name": "Lovelace",
            "address": { "street": "12 Analytical Row", "locality": "London" },
            "nationalities": ["GB", "IT"],
        });
        Request {
            claims: claims.as_object().cloned().unwrap_or_default(),
            disclose: disclose.iter().map(|s| (*s).to_owned()).collect(),
            vct: "https://idelta.example/EmployeeCredential".into(),
            kid: format!("{did}#{}", signer.key_id()),
            issuer: did,
            holder_jwk: None,
            status: None,
            iat: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            exp: None,
            decoys: 0,
        }
    }

    fn decode_disclosure(d: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(d).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn issues_compact_sd_jwt_with_sorted_digests() {
        let signer = TestSigner::from_seed([7; 32]);
        let mut req = request(&signer, &["given_name", "family_name"]);
        req.decoys = 2;
        let sd_jwt = issue(&req, &signer).await.unwrap();
        assert!(sd_jwt.ends_with('~'));
        let parts: Vec<&str> = sd_jwt.split('~').collect();
        assert_eq!(parts.len(), 4, "jwt, two disclosures, empty end");

        let header = jwt_part(parts[0], 0).unwrap();
        assert_eq!(header, json!({ "alg": "EdDSA", "typ": "dc+sd-jwt", "kid": req.kid }));
        let payload = jwt_part(parts[0], 1).unwrap();
        assert_eq!(payload["_sd_alg"], "sha-256");
        assert!(payload.get("given_name").is_none() && payload.get("family_name").is_none());
        assert_eq!(payload["address"]["locality"], "London");
        let sd: Vec<&str> = payload["_sd"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(sd.len(), 4, "two digests and two decoys");
        assert!(sd.windows(2).all(|w| w[0] <= w[1]), "sorted");
        for d in &parts[1..3] {
            assert!(sd.contains(&digest(d).as_str()));
            let arr = decode_disclosure(d);
            let salt = URL_SAFE_NO_PAD.decode(arr[0].as_str().unwrap()).unwrap();
            assert!(salt.len() >= 16, "128-bit salt");
            assert_eq!(arr.as_array().unwrap().len(), 3);
        }

        let (input, sig) = parts[0].rsplit_once('.').unwrap();
        signer.public_key().verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    }

    #[tokio::test]
    async fn nested_and_array_disclosures() {
        let signer = TestSigner::from_seed([8; 32]);
        let req = request(&signer, &["/address/street", "address", "/nationalities/1"]);
        let sd_jwt = issue(&req, &signer).await.unwrap();
        let payload = jwt_part(sd_jwt.split('~').next().unwrap(), 1).unwrap();
        assert!(payload.get("address").is_none());
        assert_eq!(payload["nationalities"][0], "GB");
        assert!(payload["nationalities"][1]["..."].is_string());

        let disclosures: Vec<Value> =
            sd_jwt.split('~').skip(1).filter(|d| !d.is_empty()).map(decode_disclosure).collect();
        let address = disclosures.iter().find(|d| d[1] == "address").unwrap();
        assert!(address[2].get("street").is_none() && address[2]["_sd"].is_array(), "recursive: {address}");
        assert!(disclosures.iter().any(|d| d.as_array().unwrap().len() == 2 && d[1] == "IT"));

        // Revealing the street brings its parent; revealing nothing keeps none.
        let shown = present(&sd_jwt, &["/address/street"], None).await.unwrap();
        let kept: Vec<Value> = shown.split('~').skip(1).filter(|d| !d.is_empty()).map(decode_disclosure).collect();
        assert_eq!(kept.len(), 2);
        assert!(kept.iter().any(|d| d[1] == "street") && kept.iter().any(|d| d[1] == "address"));
        let none = present(&sd_jwt, &[], None).await.unwrap();
        assert_eq!(none.matches('~').count(), 1);
        assert!(none.ends_with('~'));
    }

    #[tokio::test]
    async fn key_binding_jwt_covers_the_presentation() {
        let issuer = TestSigner::from_seed([9; 32]);
        let holder = TestSigner::from_seed([10; 32]);
        let mut req = request(&issuer, &["given_name", "family_name"]);
        req.holder_jwk = Jwk::from_public_key(holder.public_key());
        let sd_jwt = issue(&req, &issuer).await.unwrap();
        let iat = OffsetDateTime::from_unix_timestamp(1_700_000_100).unwrap();
        let kb = KeyBinding { aud: "https://verifier.example", nonce: "n-0S6", iat, signer: &holder };
        let shown = present(&sd_jwt, &["given_name"], Some(kb)).await.unwrap();
        let (presented, kb_jwt) = shown.rsplit_once('~').unwrap();
        let presented = format!("{presented}~");
        assert_eq!(presented.matches('~').count(), 2, "jwt and one disclosure");
        assert_eq!(jwt_part(kb_jwt, 0).unwrap(), json!({ "alg": "EdDSA", "typ": "kb+jwt" }));
        let claims = jwt_part(kb_jwt, 1).unwrap();
        assert_eq!(claims["sd_hash"], digest(&presented));
        assert_eq!(claims["nonce"], "n-0S6");
        assert_eq!(claims["aud"], "https://verifier.example");
        assert_eq!(claims["iat"], 1_700_000_100);
        let payload = jwt_part(&sd_jwt[..sd_jwt.find('~').unwrap()], 1).unwrap();
        assert_eq!(payload["cnf"]["jwk"]["kty"], "OKP");
    }

    #[tokio::test]
    async fn refuses_reserved_and_missing_claims() {
        let signer = TestSigner::from_seed([11; 32]);
        for bad in ["iss", "vct", "cnf", "status", "/address/_sd", "nope", "/address/nope", ""] {
            let req = request(&signer, &[bad]);
            assert!(issue(&req, &signer).await.is_err(), "{bad} accepted");
        }
        let mut req = request(&signer, &[]);
        req.claims.insert("iss".into(), json!("did:key:other"));
        assert!(matches!(issue(&req, &signer).await, Err(Error::Invalid(_))));
        let mut req = request(&signer, &[]);
        req.issuer = "not a did".into();
        assert!(matches!(issue(&req, &signer).await, Err(Error::Invalid(_))));
    }
}
