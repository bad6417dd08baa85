//! Credential issuance for idelta (design.md §6).
//!
//! This crate builds and signs credentials in the formats idelta issues. It
//! signs through the wallet's `Signer` and never sees secret key bytes.
//!
//! - [`data_integrity`]: W3C VC Data Model 2.0 credentials and
//!   presentations secured with Data Integrity proofs, cryptosuites
//!   `eddsa-rdfc-2022` and `eddsa-jcs-2022` (W3C Data Integrity EdDSA
//!   Cryptosuites v1.0), with bundled JSON-LD contexts.
//!
//! - [`sd_jwt`]: SD-JWT VC (IETF draft).
//!
//! - [`types`]: the credential types idelta issues and their bundled JSON
//!   Schemas.
//!
//! - [`bbs_2023`]: Data Integrity `bbs-2023` (W3C Data Integrity BBS
//!   Cryptosuites v1.0): base proofs for the issuer, selectively
//!   disclosing, unlinkable derived proofs for the holder. Its BBS
//!   signatures use the BLS12-381 secret the caller takes from the wallet
//!   for one signature.

pub mod bbs_2023;
pub mod data_integrity;
pub mod sd_jwt;
pub mod types;
