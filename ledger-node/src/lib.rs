//! The idelta ledger node: a permissioned DID ledger on a transparency log.
//!
//! - [`admission`] turns untrusted JSON into typed, canonical transactions.
//! - [`state`] is the deterministic state machine: the `did:idelta` method,
//!   roles and endorsement (after Hyperledger Indy), generic objects, and
//!   the loyalty marketplace (tokens, benefits, purchases, settlement).
//! - [`log`] is the RFC 6962 Merkle tree and its crash-safe store.
//! - [`node`] sequences writes (group commit, fsync before acknowledging),
//!   signs tree heads and answers proof-carrying reads.
//! - [`http`] serves design.md §9 over axum; [`client`] is the typed client
//!   that checks every proof it receives.
//!
//! Specifications: RFC 6962 (log), RFC 8785 (canonical JSON), W3C DID Core
//! and DID Resolution, DIF Universal Resolver HTTP binding, RFC 9457
//! (problem details), and this project's docs/did-method.md.

pub mod admission;
pub mod client;
pub mod error;
pub mod genesis;
pub mod http;
pub mod keys;
pub mod log;
pub mod node;
pub mod state;
pub mod verify;

pub use error::{NodeError, Rejection};
pub use node::Node;
