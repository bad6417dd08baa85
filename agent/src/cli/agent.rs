//! `idelta agent serve`: the multi-tenant agent on its own, against a
//! ledger node elsewhere. (`idelta up` runs it beside a local ledger.)

use super::ledger::{bind, shutdown_signal};
use super::LedgerArgs;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use idelta_agent::service::{AgentConfig, DEFAULT_TOKEN_TTL_SECS};
use idelta_ledger_node::keys::DevKeyStore;
use idelta_wallet::MasterKey;
use std::path::PathBuf;

/// The default address of `idelta agent serve`.
const DEFAULT_AGENT_LISTEN: &str = "127.0.0.1:8701";

/// `idelta agent ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum AgentCommand {
    /// Run the agent's HTTP API (companies, employees, tokens, events) against a ledger node.
    #[command(after_help = "\
Example:
  export IDELTA_MASTER_KEY=$(head -c 32 /dev/urandom | xxd -p -c 64)
  export IDELTA_OPERATOR_API_KEY=$(head -c 24 /dev/urandom | base64)
  idelta agent serve --ledger http://ledger.example:8700 --ledger-key z6Mk... \\
      --db postgres://idelta@db/idelta --wallets postgres://idelta@db/wallets

On first start the agent creates the operator's endorser DID in its own wallet. A trustee must grant it
the endorser role (the agent logs the command) before companies can be registered, unless
--bootstrap-trustee-keys names a trustee's development key file.")]
    Serve(ServeArgs),
}

/// `idelta agent serve`.
#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    ledger: LedgerArgs,
    /// The agent's database: sqlite://PATH (created if missing) or postgres://...
    #[arg(long, value_name = "URL", env = "IDELTA_AGENT_DB", default_value = "sqlite://./agent-data/agent.db")]
    db: String,
    /// Where company wallets live: sqlite://DIR (one file per company) or postgres://... (one database per company).
    #[arg(long, value_name = "URL", env = "IDELTA_WALLETS", default_value = "sqlite://./agent-data/wallets")]
    wallets: String,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_AGENT_LISTEN)]
    listen: String,
    /// File holding the operator master key (hex or base58, mode 600). Without it, IDELTA_MASTER_KEY is read.
    #[arg(long, value_name = "FILE", env = "IDELTA_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// The operator's API key (at least 24 characters).
    #[arg(long, value_name = "KEY", env = "IDELTA_OPERATOR_API_KEY", hide_env_values = true)]
    operator_api_key: String,
    /// Lifetime of company-admin and employee tokens, seconds.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_TOKEN_TTL_SECS)]
    token_ttl: i64,
    /// A trustee's development key file: enrol the operator's endorser DID with it (local ledgers only).
    #[arg(long, value_name = "FILE")]
    bootstrap_trustee_keys: Option<PathBuf>,
    /// The agent's public base URL, written into credentials as the home of their status lists.
    #[arg(long, value_name = "URL", env = "IDELTA_PUBLIC_URL", default_value = "http://127.0.0.1:8701")]
    public_url: String,
}

pub(crate) async fn run(command: AgentCommand) -> anyhow::Result<()> {
    let AgentCommand::Serve(args) = command;
    let master_key = match &args.master_key_file {
        Some(path) => MasterKey::from_file(path)?,
        None => MasterKey::from_env("IDELTA_MASTER_KEY").context("set IDELTA_MASTER_KEY or pass --master-key-file")?,
    };
    prepare_sqlite_dirs(&args.db, &args.wallets)?;
    let bootstrap_trustee = args.bootstrap_trustee_keys.as_deref().map(DevKeyStore::load).transpose()?;
    let config = AgentConfig {
        db_url: args.db.clone(),
        wallets: args.wallets.parse()?,
        master_key,
        operator_api_key: args.operator_api_key.clone(),
        ledger: args.ledger.connect().await?,
        token_ttl_secs: args.token_ttl,
        bootstrap_trustee,
        public_url: Some(args.public_url.clone()),
    };
    let state = idelta_agent::start(config).await.context("the agent could not start")?;
    let (listener, addr) = bind(&args.listen).await?;
    println!("listening on http://{addr}");
    println!("agent API   http://{addr}/v1/companies ...");
    println!("API docs    http://{addr}/docs  (OpenAPI: /openapi.json)");
    axum::serve(listener, idelta_agent::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed")?;
    Ok(())
}

/// Creates the folders a `sqlite://` database or wallet directory needs.
pub(crate) fn prepare_sqlite_dirs(db: &str, wallets: &str) -> anyhow::Result<()> {
    if let Some(path) = db.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
    }
    if let Some(dir) = wallets.strip_prefix("sqlite://") {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    }
    Ok(())
}
