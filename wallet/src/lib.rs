//! Custody for idelta: company super-wallets and employee sub-wallets on
//! aries-askar (design.md §2 "Components", §3 "Who owns which data", §7
//! "Agent": operator → companies → employees and devices).
//!
//! - **One askar store per company** (its super-wallet), in SQLite or
//!   PostgreSQL ([`Backend`]). Its default profile holds the company's own
//!   keys and records ([`Holder::Company`]). A write returns once it is
//!   durable (on SQLite by default through a group commit, see
//!   [`SqliteSync`]).
//! - **One askar profile per employee or device** (a sub-wallet,
//!   [`Holder::Sub`]), encrypted under its own profile key. Creating one is
//!   a single row, so onboarding thousands of employees is cheap, unlike
//!   one store per tenant; [`CompanyWallet::create_sub_wallet_with_did_key`]
//!   does a whole onboarding (profile, Ed25519 key, `did:key` record) with
//!   one wait for durability.
//! - **Store keys come from one operator [`MasterKey`]** by HKDF, per
//!   company; nothing secret is in code or in the stores' own files.
//! - **Keys never leave the wallet** (style.md): callers hold key ids and
//!   public keys, and sign through [`CompanyWallet::sign`] or a [`Signer`].
//! - **Records** are JSON values with tags: DIDs ([`DID_CATEGORY`]),
//!   credentials ([`CREDENTIAL_CATEGORY`], laid out by [`HeldCredential`]),
//!   link secrets later.
//!
//! askar's storage types stay inside this crate; its public API speaks
//! strings, `serde_json::Value` and [`idelta_types::PublicKey`].

mod backend;
mod company;
mod credentials;
mod error;
mod keys;
mod master;
mod names;
mod records;
mod sqlite;
mod wallets;

pub use backend::{Backend, SqliteSync};
pub use company::{CompanyWallet, Holder};
pub use credentials::{CredentialFilter, CredentialFormat, CredentialPage, HeldCredential};
pub use error::{Error, Result};
pub use idelta_types::signer::Signer;
pub use keys::{KeyInfo, KeyType, WalletSigner};
pub use master::MasterKey;
pub use records::{Record, CREDENTIAL_CATEGORY, DID_CATEGORY};
pub use wallets::Wallets;
