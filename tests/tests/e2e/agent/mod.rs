//! The multi-tenant agent, end to end: every scenario runs once on SQLite
//! and once on PostgreSQL (askar's `tests/backends.rs` manner), each on an
//! agent of its own started in-process against a ledger of its own.
//!
//! - [`isolation`]: every route of the OpenAPI document against callers of
//!   other tenants and scopes;
//! - [`tokens`]: forged, confused, expired and revoked credentials;
//! - [`behaviour`]: registration, validation, pagination, idempotency, DID
//!   rotation, `/v1/me`, operations and docs;
//! - [`events`]: server-sent events, resumption and their scope;
//! - [`restart`]: a restarted agent keeps everything;
//! - [`revocation`]: revoke, suspend and reinstate through status lists on
//!   the ledger; publication failures stay pending; removals revoke;
//! - [`types`]: credential types: served contexts and schemas, schema
//!   validation, schemas and credential definitions on the ledger;
//! - [`sd_jwt`]: SD-JWT VC through the VC API, enveloped;
//! - [`bbs`]: bbs-2023 derived proofs verified through the VC API;
//! - [`vc_api`]: the W3C VC API: issue as one's own company, verify
//!   credentials and presentations, every check named;
//! - [`holding`]: credentials held in employees' sub-wallets, presentation
//!   requests answered and checked;
//! - [`loyalty`]: the loyalty marketplace: the race for the last unit,
//!   failed purchases that leave nothing, settlement, tenant negatives,
//!   resale, gift, swap and removals.

use idelta_tests::agent::TestAgent;
use serde_json::Value;

/// Instantiates each `async fn scenario(Backend)` as a test per backend,
/// in `sqlite::` and `postgres::` submodules. Attributes (such as
/// `#[ignore = "..."]`) are copied to both.
macro_rules! on_both_backends {
    ($($(#[$meta:meta])* $scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(idelta_tests::agent::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(idelta_tests::agent::Backend::Postgres).await;
                }
            )*
        }
    };
}

mod bbs;
mod behaviour;
mod events;
mod holding;
mod isolation;
mod loyalty;
mod restart;
mod revocation;
mod sd_jwt;
mod tokens;
mod types;
mod vc_api;

/// A company with its admin token and employees (with their tokens).
pub struct Tenant {
    /// The company as the API returned it.
    pub company: Value,
    /// Its admin token.
    pub admin: String,
    /// Its employees and their tokens, in creation order.
    pub employees: Vec<(Value, String)>,
}

impl Tenant {
    /// Registers `name` with `employees`.
    pub async fn register(agent: &TestAgent, name: &str, employees: &[&str]) -> Tenant {
        let (company, admin) = agent.register_company(name).await;
        let mut added = Vec::new();
        for e in employees {
            added.push(agent.add_employee(&company, &admin, e).await);
        }
        Tenant { company, admin, employees: added }
    }

    /// The company id.
    pub fn id(&self) -> &str {
        idelta_tests::agent::id(&self.company)
    }

    /// The company DID.
    pub fn did(&self) -> &str {
        self.company["did"].as_str().expect("company did")
    }

    /// Employee `i`.
    pub fn employee(&self, i: usize) -> &Value {
        &self.employees[i].0
    }

    /// Employee `i`'s id.
    pub fn employee_id(&self, i: usize) -> &str {
        idelta_tests::agent::id(&self.employees[i].0)
    }

    /// Employee `i`'s token.
    pub fn token(&self, i: usize) -> &str {
        &self.employees[i].1
    }
}
