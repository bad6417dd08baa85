//! Credential issuance for idelta (design.md §6).
//!
//! This crate will build and sign credentials in each format idelta
//! issues: W3C VC Data Model 2.0 secured with Data Integrity
//! (`eddsa-rdfc-2022`, `eddsa-jcs-2022`, `bbs-2023`) and SD-JWT VC. It signs
//! through the wallet's `Signer` and never sees secret key bytes.
//!
//! It is empty until the credentials issue lands.
