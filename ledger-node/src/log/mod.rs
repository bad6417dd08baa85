//! The append-only transaction log: an RFC 6962 Merkle tree kept in memory
//! ([`tree`]) over leaves kept durably on disk ([`store`]).

pub mod store;
pub mod tree;
