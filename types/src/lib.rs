//! Shared wire types of idelta.
//!
//! Everything two idelta components (or an outside tool) must agree on byte
//! for byte lives here, and nothing else: DID syntax (DID Core §3.1),
//! `Multikey` public keys (Controlled Identifiers §2.2.2), DID documents,
//! ledger transactions and their canonical signing bytes (JCS, RFC 8785),
//! the loyalty marketplace's payloads and read views, the log's wire
//! formats (design.md §9) and RFC 6962 proof verification.
//!
//! The crate does no I/O and knows nothing of HTTP or storage, so every
//! other crate (and a verifier that trusts no server) can depend on it.

pub mod canonical;
pub mod did;
pub mod document;
pub mod error;
pub mod log;
pub mod loyalty;
pub mod merkle;
pub mod multikey;
pub mod resolution;
pub mod signer;
pub mod tx;

pub use did::{Did, DidUrl};
pub use document::{DidDocument, Service, VerificationMethod};
pub use error::{Error, Result};
pub use multikey::PublicKey;
pub use signer::{LocalSigner, Signer};
pub use tx::{SignedTransaction, TxSignature, TxType};
