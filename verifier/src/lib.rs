//! Credential and presentation verification for idelta (design.md §6).
//!
//! Verification is pure and reports everything: the DID resolver is a
//! trait passed in ([`resolver`]), and the result ([`report`]) lists each
//! check by name with its outcome; `verified` is the AND of all of them
//! (identity.rs `jwt_credential_validator.rs`). Format-specific checks
//! (Data Integrity, SD-JWT VC, BBS) build on these two modules;
//! [`data_integrity`] verifies `eddsa-rdfc-2022` and `eddsa-jcs-2022`
//! proofs (W3C VC Data Integrity 1.0, Data Integrity EdDSA Cryptosuites v1.0);
//! [`bbs_2023`] verifies `bbs-2023` derived proofs (Data Integrity BBS
//! Cryptosuites v1.0); [`dcql`] parses presentation requests (OpenID4VP
//! 1.0 DCQL) and checks that a response answers them; [`schema`] checks
//! credentials against idelta's bundled JSON Schemas.

pub mod bbs_2023;
pub mod data_integrity;
pub mod dcql;
pub mod report;
pub mod resolver;
pub mod schema;
pub mod sd_jwt;
pub mod status;

pub use report::{Check, Report};
pub use resolver::{DidKeyResolver, KeyResolver, Relationship, ResolvedKey, ResolverError};
