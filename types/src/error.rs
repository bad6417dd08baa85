//! The one error type of this crate.

/// Errors from parsing and checking shared wire types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Returned when a string is not a DID or DID URL under DID Core §3.
    #[error("invalid DID `{value}`: {reason}")]
    InvalidDid {
        /// The rejected input.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Returned when a `publicKeyMultibase` value is not a supported Multikey.
    #[error("invalid Multikey: {0}")]
    InvalidKey(String),
    /// Returned when a signature is malformed or does not verify.
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    /// Returned when a DID document breaks a rule of the did:idelta method.
    #[error("invalid DID document: {0}")]
    InvalidDocument(String),
    /// Returned when a transaction is structurally malformed.
    #[error("malformed transaction: {0}")]
    MalformedTransaction(String),
    /// Returned when a value cannot be encoded canonically (JCS).
    #[error("canonicalization failed: {0}")]
    Canonicalization(String),
    /// Returned when base64 or another binary encoding is malformed.
    #[error("invalid encoding of `{field}`: {reason}")]
    Encoding {
        /// The field that failed to decode.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
