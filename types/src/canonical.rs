//! Canonical bytes for signing and hashing: JCS (RFC 8785).
//!
//! Every signature over a ledger transaction, and every leaf of the log,
//! covers JCS bytes, so two parties who disagree about whitespace or key
//! order still compute the same hash. The algorithm comes from the
//! maintained `serde_json_canonicalizer` crate; this module only names it.

use crate::error::{Error, Result};
use serde::Serialize;

/// Serialises `value` to its RFC 8785 canonical form.
pub fn jcs<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| Error::Canonicalization(e.to_string()))
}

/// Standard base64 with padding, the binary encoding of every JSON wire
/// format of the ledger (design.md §9).
pub mod b64 {
    use crate::error::{Error, Result};
    use base64::Engine as _;

    /// Encodes bytes as standard, padded base64.
    pub fn encode(bytes: impl AsRef<[u8]>) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Decodes standard, padded base64, naming `field` in the error.
    pub fn decode(field: &'static str, text: &str) -> Result<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| Error::Encoding { field, reason: e.to_string() })
    }

    /// Decodes a base64 SHA-256 value (exactly 32 bytes).
    pub fn decode_hash(field: &'static str, text: &str) -> Result<[u8; 32]> {
        let bytes = decode(field, text)?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| Error::Encoding { field, reason: format!("expected 32 bytes, got {}", bytes.len()) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn jcs_sorts_keys_and_strips_whitespace() {
        let v: serde_json::Value = serde_json::from_str(r#"{ "b": 1, "a": [true, "x"] }"#).unwrap();
        assert_eq!(jcs(&v).unwrap(), br#"{"a":[true,"x"],"b":1}"#);
    }

    #[test]
    fn hash_decoding_checks_length() {
        assert!(b64::decode_hash("h", &b64::encode([0u8; 31])).is_err());
        assert_eq!(b64::decode_hash("h", &b64::encode([7u8; 32])).unwrap(), [7u8; 32]);
        assert!(b64::decode("h", "not base64!").is_err());
    }
}
