//! Credential and presentation verification for idelta (design.md §6).
//!
//! This crate will hold presentation requests and the verification of
//! credentials and presentations. Every check (signature, issuer DID
//! resolved on the ledger with its proof, status, validity, holder binding,
//! challenge and domain, schema) is reported, and `verified` is the AND of
//! all of them. Resolvers and status sources are traits passed in, so
//! verification stays pure.
//!
//! It is empty until the credentials issue lands.
