//! Starting the agent: database, wallets, token keys, the operator's
//! endorser identity on the ledger, and the HTTP state.

use crate::auth::tokens::TokenKeys;
use crate::auth::Authenticator;
use crate::db::Db;
use crate::events::Events;
use crate::http::AppState;
use crate::ledger::LedgerAccess;
use crate::tenants::Tenants;
use crate::webhooks::{DeliveryConfig, Webhooks};
use idelta_ledger_node::client::LedgerClient;
use idelta_ledger_node::keys::DevKeyStore;
use idelta_wallet::{Backend, MasterKey, Wallets};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};

/// Default lifetime of admin and employee tokens: one hour.
pub const DEFAULT_TOKEN_TTL_SECS: i64 = 3600;

/// What the agent needs to start.
pub struct AgentConfig {
    /// `sqlite://PATH` or `postgres://…` for the agent's own state.
    pub db_url: String,
    /// Where company wallets live.
    pub wallets: Backend,
    /// The operator master key protecting every wallet and signing tokens.
    pub master_key: MasterKey,
    /// The operator's API key.
    pub operator_api_key: String,
    /// The ledger, with its node key pinned.
    pub ledger: LedgerClient,
    /// Lifetime of issued tokens, seconds.
    pub token_ttl_secs: i64,
    /// A trustee's development key store, to enrol the operator's
    /// endorser DID on a local ledger (`idelta up`).
    pub bootstrap_trustee: Option<DevKeyStore>,
    /// The agent's public base URL, where verifiers fetch status lists
    /// (`{public_url}/status-lists/...`); [`DEFAULT_PUBLIC_URL`] when unset.
    pub public_url: Option<String>,
}

/// The public base URL when none is configured: the default listen address.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8701";

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Returned when the configuration is unusable.
    #[error("{0}")]
    Config(String),
    /// Returned when the database cannot be reached or migrated.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// Returned when the ledger or the operator wallet fails.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
}

/// The process-wide Prometheus recorder (metrics macros are global).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // A recorder may already be installed by an embedding program.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Operator API keys shorter than this are refused.
pub const MIN_OPERATOR_KEY_LEN: usize = 24;

/// Starts the agent's services and returns the HTTP state.
pub async fn start(config: AgentConfig) -> Result<AppState, StartError> {
    if config.operator_api_key.len() < MIN_OPERATOR_KEY_LEN {
        return Err(StartError::Config(format!(
            "the operator API key must be at least {MIN_OPERATOR_KEY_LEN} characters"
        )));
    }
    let db = Db::connect(&config.db_url).await?;
    let seed = config.master_key.derive("idelta-agent-token-key-v1").map_err(|e| StartError::Config(e.to_string()))?;
    let tokens = TokenKeys::from_seed(&seed, config.token_ttl_secs).map_err(|e| StartError::Config(e.to_string()))?;
    let auth = Arc::new(Authenticator::new(&config.operator_api_key, tokens, db.clone()));
    let wallets = Wallets::new(config.wallets, config.master_key);
    let ledger = LedgerAccess::bootstrap(config.ledger, &wallets, &db, config.bootstrap_trustee.as_ref()).await?;
    let events = Arc::new(Events::new(db.clone()));
    let tenants = Arc::new(Tenants::new(db.clone(), wallets, ledger, Arc::clone(&auth), Arc::clone(&events)));
    let webhooks = Arc::new(
        Webhooks::new(db.clone(), Arc::clone(&events), DeliveryConfig::default())
            .map_err(|e| StartError::Config(format!("webhook client: {e}")))?,
    );
    webhooks.start(&events);
    let status = crate::credentials::status::StatusService::new(
        db.clone(),
        Arc::clone(&events),
        config.public_url.as_deref().unwrap_or(DEFAULT_PUBLIC_URL),
    );
    let credentials = Arc::new(crate::credentials::Credentials::new(Arc::clone(&tenants), status));
    crate::credentials::status::spawn_publisher(&credentials);
    crate::credentials::schemas::spawn_schema_publication(&credentials);
    let loyalty = Arc::new(crate::loyalty::Loyalty::new(
        Arc::clone(&tenants),
        Arc::clone(&credentials),
        Arc::clone(&events),
        db.clone(),
    ));
    crate::loyalty::ownership::spawn_retries(&loyalty);
    Ok(AppState { tenants, credentials, auth, events, loyalty, webhooks, db, metrics: metrics_handle() })
}
