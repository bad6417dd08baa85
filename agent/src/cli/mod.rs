//! The command line: one module per subcommand group, plus [`tx`] for what
//! the write commands share.

mod agent;
mod did;
mod ledger;
mod role;
mod tx;
mod up;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use idelta_ledger_node::client::{parse_node_key, LedgerClient};
use std::process::ExitCode;

/// The default address of a ledger node, where `idelta up` and
/// `idelta ledger serve` listen unless told otherwise.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8700";
const DEFAULT_LEDGER_URL: &str = "http://127.0.0.1:8700";

const ABOUT: &str = "idelta: a permissioned DID ledger (did:idelta) on an RFC 6962 transparency log.";

const LONG_ABOUT: &str = "\
idelta: a permissioned DID ledger (did:idelta) on an RFC 6962 transparency log.

One binary runs a ledger node, creates and manages DIDs on it, and resolves
DIDs with every answer checked against the node's signed Merkle tree head.

Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=debug) to change the level.
Commands that print an identifier print only that on stdout, so scripts can
capture it.";

const EXAMPLES: &str = "\
All commands (see `idelta <group> <command> --help` for their options):
  idelta up                Run a ledger node with the DID resolver here (created in ./data if missing) and print
                           where everything is served; --demo adds example DIDs
  idelta ledger init       Create a data directory: node key, founding trustee keys and genesis
  idelta ledger serve      Run a ledger node on a data directory and serve its HTTP API
  idelta ledger verify     Replay a stopped node's data and check leaves, root and signed tree head
  idelta did create        Create a did:idelta DID with a fresh key and print the DID
  idelta did update        Rotate a DID's key and/or add and remove services
  idelta did deactivate    Deactivate a DID for good
  idelta did resolve       Resolve a DID, check its proof against the node's signed tree head, print the result
  idelta role grant        As a trustee, give a DID the trustee, steward or endorser role
  idelta role revoke       As a trustee, take a DID's role away
  idelta agent serve       Run the multi-tenant agent (companies, employees, tokens, events) against a ledger

Examples:
  # Everything on one machine: a ledger in ./data on 127.0.0.1:8700
  idelta up

  # A DID endorsed by the founding trustee of that ledger
  DID=$(idelta did create --keys my-keys.json \\
          --endorser $(jq -r '.keys[0].did' data/trustee-keys.json) \\
          --endorser-keys data/trustee-keys.json)

  # Resolve it, checking the proof against a pinned node key
  idelta did resolve \"$DID\" --ledger-key z6Mk...

  # Rotate its key, then deactivate it
  idelta did update --keys my-keys.json --did \"$DID\" --rotate --endorser ... --endorser-keys ...
  idelta did deactivate --keys my-keys.json --did \"$DID\" --endorser ... --endorser-keys ...

  # A node of your own
  idelta ledger init --data node1 --network my-net --trustees 3
  idelta ledger serve --data node1 --listen 0.0.0.0:8700
  idelta ledger verify --data node1";

/// Command line arguments of `idelta`.
#[derive(Parser, Debug)]
#[command(name = "idelta", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub(crate) struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "IDELTA_LOG_FORMAT")]
    pub(crate) log_format: LogFormat,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommand groups.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Create, run and check a ledger node's data directory.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Create, update, deactivate and resolve did:idelta DIDs on a ledger node.
    #[command(subcommand)]
    Did(did::DidCommand),
    /// Grant and revoke ledger roles (trustee, steward, endorser) as a trustee.
    #[command(subcommand)]
    Role(role::RoleCommand),
    /// Run the multi-tenant agent (companies, employees, tokens, events) against a ledger node.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Run everything on this machine with the embedded defaults, and print where each part is served.
    Up(up::UpArgs),
}

/// Sets up `tracing` on stderr; `RUST_LOG` chooses the level (default `info`).
pub(crate) fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    // A second initialisation can only come from a test harness; ignore it.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Runs a subcommand; the exit code is its verdict.
pub(crate) async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Ledger(c) => ledger::run(c).await,
        Command::Did(c) => did::run(c).await.map(|()| ExitCode::SUCCESS),
        Command::Role(c) => role::run(c).await.map(|()| ExitCode::SUCCESS),
        Command::Agent(c) => agent::run(c).await.map(|()| ExitCode::SUCCESS),
        Command::Up(args) => up::run(args).await.map(|()| ExitCode::SUCCESS),
    }
}

/// Where the ledger node is, and which key signs its tree heads.
#[derive(Args, Debug, Clone)]
pub(crate) struct LedgerArgs {
    /// Base URL of the ledger node.
    #[arg(long, value_name = "URL", env = "IDELTA_LEDGER", default_value = DEFAULT_LEDGER_URL)]
    pub(crate) ledger: String,
    /// The node's tree-head key (z6Mk... or did:key:z6Mk..., printed by `idelta ledger init`). Every answer is
    /// checked against it. Without it the key the node names is trusted on first use, with a warning.
    #[arg(long, value_name = "KEY", env = "IDELTA_LEDGER_KEY")]
    pub(crate) ledger_key: Option<String>,
}

impl LedgerArgs {
    /// A client with the node key pinned, or trusted on first use.
    pub(crate) async fn connect(&self) -> anyhow::Result<LedgerClient> {
        match &self.ledger_key {
            Some(key) => {
                let key = parse_node_key(key).context("--ledger-key must be the node's z6Mk... key")?;
                Ok(LedgerClient::new(&self.ledger, key)?)
            }
            None => {
                let client = LedgerClient::trust_on_first_use(&self.ledger).await.with_context(|| {
                    format!("cannot reach the ledger at {} (is it running? try `idelta up`)", self.ledger)
                })?;
                eprintln!(
                    "warning: trusting the key the ledger names ({}) on first use; pass --ledger-key {} once you \
                     have checked it with the ledger's operator",
                    client.node_key().to_multibase(),
                    client.node_key().to_multibase()
                );
                Ok(client)
            }
        }
    }
}
