//! Wallets for idelta (design.md §2, §7).
//!
//! This crate will hold custody of keys and credentials on top of
//! aries-askar: one askar store per company (its *super-wallet*) and one
//! profile per employee or device (its *sub-wallet*). Callers sign by key
//! id through a `Signer`; secret bytes never leave this crate.
//!
//! It is empty until the agent-and-wallet issue lands; it compiles so the
//! workspace and its dependency direction are fixed from the start.
