//! Revocation for idelta (design.md §6).
//!
//! This crate will hold W3C Bitstring Status Lists (for Data Integrity
//! credentials) and IETF Token Status Lists (for SD-JWT VC): random index
//! allocation without reuse, batched updates, and publication on the ledger
//! that is retried, never silently lost.
//!
//! It is empty until the credentials issue lands.
