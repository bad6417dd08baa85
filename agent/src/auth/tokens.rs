//! Company-admin and employee tokens: JWTs signed with EdDSA (Ed25519).
//!
//! The algorithm is pinned: a token whose header names anything but
//! `EdDSA`, or another key id, is refused before its signature is looked
//! at, so `alg: none` and HS256-with-the-public-key confusion cannot work.
//! `aud`, `iss` and `exp` are required. The signing key is derived from the
//! operator master key (HKDF-SHA256), so restarts keep tokens valid without
//! storing another secret; its `kid` is a hash of the public key.

use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Clock skew tolerated on `exp`, seconds, by every expiry check.
pub const LEEWAY_SECS: u64 = 5;

/// The audience and issuer of every token.
pub const AUDIENCE: &str = "idelta-agent";

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TokenRole {
    /// Administers one company.
    CompanyAdmin,
    /// One employee of one company.
    Employee,
}

/// The claims idelta puts in a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer, [`AUDIENCE`].
    pub iss: String,
    /// Audience, [`AUDIENCE`].
    pub aud: String,
    /// The company id (admin) or employee id (employee).
    pub sub: String,
    /// The company the token is scoped to.
    pub tid: String,
    /// Admin or employee.
    pub role: TokenRole,
    /// Token epoch of the subject when issued; older epochs are refused.
    pub epoch: i64,
    /// Issued at, seconds.
    pub iat: i64,
    /// Expiry, seconds.
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Returned when the header is unreadable or names another alg or key.
    #[error("token header refused: {0}")]
    Header(String),
    /// Returned when the signature, audience, issuer or expiry fails.
    #[error("token refused: {0}")]
    Invalid(String),
    /// Returned when the token cannot be made.
    #[error("token could not be issued: {0}")]
    Issue(String),
}

/// Issues and verifies tokens.
pub struct TokenKeys {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: i64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").field("kid", &self.kid).field("ttl_secs", &self.ttl_secs).finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Keys from a 32-byte seed (derived from the master key by the caller).
    pub fn from_seed(seed: &[u8; 32], ttl_secs: i64) -> Result<TokenKeys, TokenError> {
        let signing = SigningKey::from_bytes(seed);
        let der = signing.to_pkcs8_der().map_err(|e| TokenError::Issue(e.to_string()))?;
        let public = signing.verifying_key().to_bytes();
        let kid = format!("agent-{}", &hex::encode(Sha256::digest(public))[..16]);
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.leeway = LEEWAY_SECS;
        let x = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, public);
        Ok(TokenKeys {
            kid,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_components(&x).map_err(|e| TokenError::Issue(e.to_string()))?,
            validation,
            ttl_secs,
        })
    }

    /// The key id tokens carry.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// How long tokens live, seconds.
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Issues a token at `now_secs`.
    pub fn issue(
        &self,
        sub: &str,
        tid: &str,
        role: TokenRole,
        epoch: i64,
        now_secs: i64,
    ) -> Result<String, TokenError> {
        let claims = Claims {
            iss: AUDIENCE.into(),
            aud: AUDIENCE.into(),
            sub: sub.into(),
            tid: tid.into(),
            role,
            epoch,
            iat: now_secs,
            exp: now_secs + self.ttl_secs,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(|e| TokenError::Issue(e.to_string()))
    }

    /// Verifies a token's header, signature and registered claims.
    /// Whether its subject still exists and its epoch is current is the
    /// caller's check.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| TokenError::Header(e.to_string()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Header(format!("alg {:?} is not accepted; only EdDSA", header.alg)));
        }
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(TokenError::Header("unknown key id".into()));
        }
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// 2001: long expired whatever the machine's clock says.
    const NOW: i64 = 1_000_000_000;

    fn keys() -> TokenKeys {
        TokenKeys::from_seed(&[7u8; 32], 3600).unwrap()
    }

    fn b64(v: &serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn issued_tokens_verify_and_carry_claims() {
        let k = keys();
        let t = k.issue("em-1", "co-1", TokenRole::Employee, 3, NOW).unwrap();
        // jsonwebtoken checks exp against the real clock, so issue "now".
        let now = std::time::UNIX_EPOCH.elapsed().unwrap().as_secs() as i64;
        let t2 = k.issue("em-1", "co-1", TokenRole::Employee, 3, now).unwrap();
        let c = k.verify(&t2).unwrap();
        assert_eq!((c.sub.as_str(), c.tid.as_str(), c.role, c.epoch), ("em-1", "co-1", TokenRole::Employee, 3));
        assert!(k.verify(&t).is_err(), "expired long ago");
    }

    #[test]
    fn forged_and_confused_tokens_are_refused() {
        let k = keys();
        let now = std::time::UNIX_EPOCH.elapsed().unwrap().as_secs() as i64;
        let good = k.issue("co-1", "co-1", TokenRole::CompanyAdmin, 1, now).unwrap();
        let parts: Vec<&str> = good.split('.').collect();
        let claims: serde_json::Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap())
                .unwrap();
        // alg: none
        let none = format!("{}.{}.", b64(&serde_json::json!({"alg":"none","kid":k.kid()})), parts[1]);
        assert!(matches!(k.verify(&none), Err(TokenError::Header(_))));
        // HS256 signed with the public key bytes as the secret
        let hs = jsonwebtoken::encode(
            &Header { alg: Algorithm::HS256, kid: Some(k.kid().into()), ..Default::default() },
            &claims,
            &EncodingKey::from_secret(b"public key as secret"),
        )
        .unwrap();
        assert!(matches!(k.verify(&hs), Err(TokenError::Header(_))));
        // tampered payload
        let mut tampered = claims.clone();
        tampered["tid"] = "co-2".into();
        let forged = format!("{}.{}.{}", parts[0], b64(&tampered), parts[2]);
        assert!(matches!(k.verify(&forged), Err(TokenError::Invalid(_))));
        // wrong audience, properly signed
        let mut wrong_aud = claims.clone();
        wrong_aud["aud"] = "someone-else".into();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(k.kid().into());
        let t = jsonwebtoken::encode(&header, &wrong_aud, &k.encoding).unwrap();
        assert!(matches!(k.verify(&t), Err(TokenError::Invalid(_))));
        // another agent's key
        let other = TokenKeys::from_seed(&[8u8; 32], 3600).unwrap();
        assert!(k.verify(&other.issue("co-1", "co-1", TokenRole::CompanyAdmin, 1, now).unwrap()).is_err());
        assert!(k.verify(&good).is_ok());
    }
}
