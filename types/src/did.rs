//! DIDs and DID URLs (DID Core §3.1, §3.2), parsed once into newtypes.
//!
//! A [`Did`] can only be built through [`str::parse`], so holding one means
//! the syntax was checked. For `did:idelta` the method-specific identifier
//! is also checked: it must be the base58btc encoding of 16 bytes, the
//! truncated SHA-256 of the inception key (docs/did-method.md §2).

use crate::error::{Error, Result};
use crate::multikey::PublicKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Name of idelta's own DID method.
pub const IDELTA_METHOD: &str = "idelta";
/// Length in bytes of a `did:idelta` method-specific identifier.
pub const IDELTA_ID_LEN: usize = 16;

/// A syntactically valid DID, without path, query or fragment.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Did(String);

impl Did {
    /// The `did:idelta` DID whose inception key is `key`: base58btc of the
    /// first 16 bytes of SHA-256 over the key's Multikey bytes (codec
    /// prefix and raw key). Nobody can claim it without that key.
    pub fn idelta_from_key(key: &PublicKey) -> Did {
        let digest = Sha256::digest(key.multicodec_bytes());
        let id = bs58::encode(&digest[..IDELTA_ID_LEN]).into_string();
        Did(format!("did:{IDELTA_METHOD}:{id}"))
    }

    /// The DID as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The method name, e.g. `idelta` or `key`.
    pub fn method(&self) -> &str {
        self.0.split(':').nth(1).unwrap_or_default()
    }

    /// The method-specific identifier.
    pub fn method_specific_id(&self) -> &str {
        let prefix = 4 + self.method().len() + 1;
        self.0.get(prefix..).unwrap_or_default()
    }

    /// Whether this is a `did:idelta` DID.
    pub fn is_idelta(&self) -> bool {
        self.method() == IDELTA_METHOD
    }

    /// Whether `key` is the inception key this `did:idelta` derives from.
    pub fn is_derived_from(&self, key: &PublicKey) -> bool {
        self.is_idelta() && *self == Did::idelta_from_key(key)
    }

    /// The DID URL `self#fragment`.
    pub fn with_fragment(&self, fragment: &str) -> String {
        format!("{}#{}", self.0, fragment)
    }
}

fn is_idchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '%')
}

fn invalid(value: &str, reason: &'static str) -> Error {
    Error::InvalidDid { value: value.to_owned(), reason }
}

impl FromStr for Did {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let rest = s.strip_prefix("did:").ok_or_else(|| invalid(s, "must start with `did:`"))?;
        let (method, id) = rest.split_once(':').ok_or_else(|| invalid(s, "missing method-specific identifier"))?;
        if method.is_empty() || !method.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return Err(invalid(s, "method name must be lowercase letters and digits"));
        }
        if id.is_empty() || id.ends_with(':') {
            return Err(invalid(s, "empty method-specific identifier"));
        }
        if !id.chars().all(|c| is_idchar(c) || c == ':') {
            return Err(invalid(s, "method-specific identifier has a character DID syntax forbids"));
        }
        if method == IDELTA_METHOD {
            let bytes =
                bs58::decode(id).into_vec().map_err(|_| invalid(s, "did:idelta identifier must be base58btc"))?;
            if bytes.len() != IDELTA_ID_LEN || bs58::encode(&bytes).into_string() != id {
                return Err(invalid(s, "did:idelta identifier must encode exactly 16 bytes"));
            }
        }
        Ok(Did(s.to_owned()))
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Did({})", self.0)
    }
}

impl Serialize for Did {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Did {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A DID URL: a DID with an optional query and fragment (DID Core §3.2).
/// Paths are not used by `did:idelta` and are refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DidUrl {
    /// The DID this URL dereferences through.
    pub did: Did,
    /// Query parameters in order, percent-decoding left to the caller.
    pub query: Vec<(String, String)>,
    /// The fragment, without `#`.
    pub fragment: Option<String>,
}

impl DidUrl {
    /// The value of the first query parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

impl FromStr for DidUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let (before_fragment, fragment) = match s.split_once('#') {
            Some((b, f)) => (b, Some(f.to_owned())),
            None => (s, None),
        };
        let (did_part, query) = match before_fragment.split_once('?') {
            Some((d, q)) => (d, Some(q)),
            None => (before_fragment, None),
        };
        if did_part.contains('/') {
            return Err(invalid(s, "DID URL paths are not supported"));
        }
        let did = did_part.parse()?;
        let query = query
            .map(|q| {
                q.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        (k.to_owned(), v.to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(DidUrl { did, query, fragment })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key() -> PublicKey {
        PublicKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key())
    }

    #[test]
    fn idelta_did_is_derived_from_key_and_parses_back() {
        let did = Did::idelta_from_key(&key());
        assert!(did.is_idelta());
        assert_eq!(did.as_str().parse::<Did>().unwrap(), did);
        assert!(did.is_derived_from(&key()));
        let other = PublicKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]).verifying_key());
        assert!(!did.is_derived_from(&other));
    }

    #[test]
    fn rejects_malformed_dids() {
        for bad in [
            "",
            "did",
            "did:",
            "did:idelta",
            "did:idelta:",
            "did:IDELTA:abc",
            "did:idelta:0OIl",           // not base58
            "did:idelta:3mJr7AoUXx2Wqd", // too short
            "did:key:abc def",
            "urn:idelta:x",
            "did:web:",
            "did:web:a:",
        ] {
            assert!(bad.parse::<Did>().is_err(), "{bad} should be refused");
        }
        assert!("did:web:example.com".parse::<Did>().is_ok());
        assert!("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK".parse::<Did>().is_ok());
    }

    #[test]
    fn did_url_query_and_fragment() {
        let did = Did::idelta_from_key(&key());
        let url: DidUrl = format!("{did}?versionId=3&x=#key-1").parse().unwrap();
        assert_eq!(url.did, did);
        assert_eq!(url.param("versionId"), Some("3"));
        assert_eq!(url.param("x"), Some(""));
        assert_eq!(url.fragment.as_deref(), Some("key-1"));
        assert!(format!("{did}/path").parse::<DidUrl>().is_err());
    }
}
