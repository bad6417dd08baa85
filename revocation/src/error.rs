//! The crate's one error type.
//!
//! [`Error::spec_code`] names the W3C Bitstring Status List error type
//! (Bitstring Status List v1.0 §3.6 "Processing Errors") a failure maps to,
//! so a verifier report can quote it.

use crate::StatusIndex;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong building, decoding, checking or updating a
/// status list.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Returned when a list would hold, or a decoded list holds, fewer
    /// entries than the herd-privacy minimum.
    #[error("status list holds {entries} entries, fewer than the minimum {minimum}")]
    ListTooShort {
        /// Entries the list holds.
        entries: usize,
        /// Required minimum.
        minimum: usize,
    },
    /// Returned when a list would exceed the largest size this crate handles.
    #[error("status list of {entries} entries exceeds the maximum {maximum}")]
    ListTooLong {
        /// Entries requested.
        entries: usize,
        /// Largest size accepted.
        maximum: usize,
    },
    /// Returned when an index is not inside the list.
    #[error("status index {index} is outside a list of {entries} entries")]
    IndexOutOfRange {
        /// The index asked for.
        index: StatusIndex,
        /// Entries in the list.
        entries: usize,
    },
    /// Returned when a status value does not fit in the list's bits per entry.
    #[error("status value {value} does not fit in {bits} bits")]
    ValueTooLarge {
        /// The value.
        value: u8,
        /// Bits per entry.
        bits: u8,
    },
    /// Returned when a Bitstring `statusSize` is not in 1..=8.
    #[error("statusSize {0} is not supported (1 to 8)")]
    InvalidStatusSize(u8),
    /// Returned when a Token Status List `bits` is not 1, 2, 4 or 8.
    #[error("bits {0} is not one of 1, 2, 4, 8")]
    InvalidBits(u8),
    /// Returned when a status index string is not a decimal integer in range.
    #[error("status index {0:?} is not a non-negative decimal integer below 2^32")]
    InvalidIndex(String),
    /// Returned when an `encodedList` lacks the multibase base64url prefix `u`.
    #[error("encodedList is not multibase base64url (prefix `u`)")]
    MissingMultibasePrefix,
    /// Returned when the list text is not base64url.
    #[error("list is not valid base64url")]
    MalformedBase64,
    /// Returned when the decoded bytes are not a valid GZIP (Bitstring) or
    /// ZLIB (Token Status List) stream.
    #[error("list is not a valid {0} stream")]
    MalformedCompression(&'static str),
    /// Returned when the compressed or decompressed list exceeds the cap
    /// (decompression-bomb guard).
    #[error("list exceeds the size limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Returned when a JSON object has the wrong `type`.
    #[error("expected type {expected}, found {found:?}")]
    WrongType {
        /// The type required.
        expected: &'static str,
        /// The type present.
        found: String,
    },
    /// Returned when the entry's `statusPurpose` differs from the list's.
    #[error("status purpose {entry} of the entry does not match the list's {list}")]
    PurposeMismatch {
        /// Purpose in the credential's entry.
        entry: String,
        /// Purpose of the status list.
        list: String,
    },
    /// Returned when a status list credential is not the one the entry names.
    #[error("entry names status list credential {expected}, got {found}")]
    CredentialMismatch {
        /// `statusListCredential` of the entry.
        expected: String,
        /// `id` of the credential given.
        found: String,
    },
    /// Returned when a JSON document lacks a field or has one of the wrong shape.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// Returned when a timestamp cannot be formatted as RFC 3339.
    #[error("timestamp cannot be formatted: {0}")]
    Timestamp(String),
    /// Returned when an allocator has handed out every index.
    #[error("status list is full: all {capacity} indexes are allocated")]
    ListFull {
        /// Capacity of the list.
        capacity: usize,
    },
    /// Returned when persisted allocator or batch state is inconsistent.
    #[error("persisted state is inconsistent: {0}")]
    CorruptState(String),
    /// Returned when a batch id is not an unpublished batch.
    #[error("batch {0} is not pending publication")]
    UnknownBatch(u64),
    /// Returned when compressing a list fails (an I/O error on an in-memory buffer).
    #[error("compression failed: {0}")]
    Compression(String),
}

impl Error {
    /// The W3C Bitstring Status List v1.0 §3.6 error type this maps to, for
    /// verifier reports.
    pub fn spec_code(&self) -> &'static str {
        match self {
            Error::ListTooShort { .. } => "STATUS_LIST_LENGTH_ERROR",
            Error::IndexOutOfRange { .. } => "RANGE_ERROR",
            Error::PurposeMismatch { .. } | Error::CredentialMismatch { .. } | Error::WrongType { .. } => {
                "STATUS_VERIFICATION_ERROR"
            }
            _ => "MALFORMED_VALUE_ERROR",
        }
    }
}
