//! The idelta agent: one multi-tenant service for a consortium (design.md §7).
//!
//! Each company has a super-wallet (an askar store) and a `did:idelta` DID
//! on the shared ledger; each employee a sub-wallet (an askar profile)
//! with a private `did:key`. The operator authenticates with an API key,
//! company admins and employees with short-lived EdDSA JWTs scoped to one
//! company. The agent's own state (tenant directory, audit, idempotency
//! keys, events) is in SQLite by default or PostgreSQL by URL.
//!
//! - [`service`] starts everything from an [`service::AgentConfig`];
//! - [`tenants`] is the tenancy service; [`ledger`] writes to the ledger
//!   with the operator as endorser; [`auth`] checks credentials;
//! - [`credentials`] issues and verifies credentials for the W3C VC API,
//!   resolving keys with [`resolver`] on the ledger;
//! - [`events`] records and fans out per-tenant events;
//! - [`db`] is the relational state; [`http`] the API edge.
//! - [`web`] serves the wallet, admin console and ledger browser pages.

pub mod auth;
pub mod credentials;
pub mod db;
pub mod events;
pub mod http;
pub mod ids;
pub mod ledger;
pub mod loyalty;
pub mod resolver;
pub mod service;
pub mod tenants;
pub mod web;
pub mod webhooks;

pub use http::{router, AppState};
pub use service::{start, AgentConfig};
