//! The crate's one error type.
//!
//! askar reports a kind plus free text; callers of this crate need to tell
//! "no such wallet" from "already there" from "the backend failed" without
//! parsing strings, so askar errors are sorted into these variants once,
//! here. No variant ever carries secret material: askar's messages name
//! operations, never keys.

use aries_askar::{Error as AskarError, ErrorKind as AskarKind};

/// Errors of the wallet crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Returned when a company wallet, sub-wallet, key or record does not
    /// exist (or, for a sub-wallet holder, when the sub-wallet was removed).
    #[error("not found: {0}")]
    NotFound(String),
    /// Returned when creating a company wallet or sub-wallet whose name is
    /// already taken, or inserting a key whose id already exists.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// Returned when a company id, sub-wallet name, record category or id
    /// is not of the accepted form.
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// Returned when the storage backend (SQLite, PostgreSQL) fails; the
    /// text is askar's and names the failed operation, never a secret.
    #[error("wallet backend error: {0}")]
    Backend(String),
    /// Returned when a key does not open a store (wrong master key, or a
    /// store moved under another company's name), or a cryptographic
    /// operation fails.
    #[error("wallet cryptography error: {0}")]
    Crypto(String),
    /// Returned when configuration is unusable: a malformed backend URL or
    /// master key, or a key file that cannot be read or is readable by
    /// others.
    #[error("wallet configuration error: {0}")]
    Config(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Sorts an askar error into a variant; `what` names the object the
    /// operation was about ("sub-wallet alice", "key z6Mk…").
    pub(crate) fn askar(what: impl std::fmt::Display, err: AskarError) -> Error {
        // askar's Display appends the cause (sqlx's text) on a new line;
        // keep it on one line for logs.
        let text = err.to_string().replace('\n', ": ");
        match err.kind() {
            AskarKind::NotFound => Error::NotFound(format!("{what}")),
            AskarKind::Duplicate => Error::AlreadyExists(format!("{what}")),
            AskarKind::Encryption => Error::Crypto(format!("{what}: {text}")),
            _ => Error::Backend(format!("{what}: {text}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_object() {
        assert_eq!(Error::NotFound("sub-wallet bob".into()).to_string(), "not found: sub-wallet bob");
    }
}
