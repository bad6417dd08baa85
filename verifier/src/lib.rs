//! Credential and presentation verification for idelta (design.md §6).
//!
//! Verification is pure and reports everything: the DID resolver is a
//! trait passed in ([`resolver`]), and the result ([`report`]) lists each
//! check by name with its outcome; `verified` is the AND of all of them
//! (identity.rs `jwt_credential_validator.rs`). Format-specific checks
//! (Data Integrity, SD-JWT VC, BBS) build on these two modules.

pub mod report;
pub mod resolver;

pub use report::{Check, Report};
pub use resolver::{DidKeyResolver, KeyResolver, Relationship, ResolvedKey, ResolverError};
