//! `idelta ledger`: create, serve and check a ledger node's data directory
//! (docs/ledger.md).

use anyhow::Context as _;
use clap::{Args, Subcommand};
use idelta_ledger_node::node::TRUSTEE_KEYS_FILE;
use idelta_ledger_node::verify::verify_data_dir;
use idelta_ledger_node::{Node, NodeError};
use idelta_types::log::node_signer_id;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokio::net::TcpListener;

/// `idelta ledger ...`
#[derive(Subcommand, Debug)]
pub(crate) enum LedgerCommand {
    /// Create a data directory: node key, founding trustee keys and the genesis; print the node key to pin.
    #[command(after_help = "Example:\n  idelta ledger init --data node1 --network my-net --trustees 3")]
    Init(InitArgs),
    /// Run a ledger node on a data directory and serve its HTTP API (ledger, log and DID resolver).
    #[command(after_help = "Example:\n  idelta ledger serve --data node1 --listen 0.0.0.0:8700\n\n\
                            The first line on stdout is `listening on http://ADDR` (useful with --listen 127.0.0.1:0).")]
    Serve(ServeArgs),
    /// Replay a stopped node's data directory and check every leaf, the Merkle root and the signed tree head.
    #[command(after_help = "Exit code 0 if consistent; 1 with the first inconsistency on stderr otherwise.")]
    Verify(VerifyArgs),
}

/// `idelta ledger init`.
#[derive(Args, Debug)]
pub(crate) struct InitArgs {
    /// The data directory to create.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Name of the network, written into the genesis.
    #[arg(long, value_name = "NAME", default_value = "idelta-local")]
    network: String,
    /// Number of founding trustees.
    #[arg(long, value_name = "N", default_value_t = 1)]
    trustees: usize,
}

/// `idelta ledger serve`.
#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// The data directory (made by `idelta ledger init`).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = super::DEFAULT_LISTEN)]
    listen: String,
}

/// `idelta ledger verify`.
#[derive(Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The data directory to check (the node should be stopped).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(command: LedgerCommand) -> anyhow::Result<ExitCode> {
    match command {
        LedgerCommand::Init(args) => {
            init(&args.data, &args.network, args.trustees)?;
        }
        LedgerCommand::Serve(args) => {
            let node = open(&args.data).await?;
            let (listener, addr) = bind(&args.listen).await?;
            println!("listening on http://{addr}");
            println!("node key    {}", node.public_key().to_multibase());
            serve(listener, node).await?;
        }
        LedgerCommand::Verify(args) => return verify(&args.data, args.json),
    }
    Ok(ExitCode::SUCCESS)
}

/// `Node::init`, and prints what was made.
pub(crate) fn init(dir: &Path, network: &str, trustees: usize) -> anyhow::Result<()> {
    let report = Node::init(dir, network, trustees).with_context(|| format!("cannot initialise {}", dir.display()))?;
    println!("node key     {}", node_signer_id(&report.node_key));
    for t in &report.trustees {
        println!("trustee      {}", t.did);
    }
    println!("trustee keys {}", dir.join(TRUSTEE_KEYS_FILE).display());
    eprintln!(
        "clients pin the node key with --ledger-key {}; the trustee key file holds secret keys in plain text",
        report.node_key.to_multibase()
    );
    Ok(())
}

/// Opens a data directory and applies its genesis if the log is empty.
pub(crate) async fn open(dir: &Path) -> anyhow::Result<Node> {
    Node::start(dir).await.with_context(|| format!("cannot open the ledger in {}", dir.display()))
}

/// Binds `listen`; returns the address actually bound (port 0 resolved).
pub(crate) async fn bind(listen: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (in use? try another --listen)"))?;
    let addr = listener.local_addr().context("cannot read the bound address")?;
    Ok((listener, addr))
}

/// Serves the ledger's HTTP API until Ctrl-C or SIGTERM, then lets
/// requests in flight finish.
pub(crate) async fn serve(listener: TcpListener, node: Node) -> anyhow::Result<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), "serving the ledger API");
    axum::serve(listener, idelta_ledger_node::http::router(node))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn verify(dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    match verify_data_dir(dir) {
        Ok(report) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&report).context("cannot print the report")?);
            } else {
                println!(
                    "consistent: {} leaves, root {}, signed tree size {}, {} DIDs",
                    report.leaves, report.root, report.signed_tree_size, report.dids
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(NodeError::Corrupt(what)) => {
            eprintln!("inconsistent: {what}");
            Ok(ExitCode::from(1))
        }
        Err(e @ NodeError::Storage(_)) => Err(e)
            .with_context(|| format!("cannot check {} (is a node still running on it? stop it first)", dir.display())),
        Err(e) => Err(e).with_context(|| format!("cannot check {}", dir.display())),
    }
}
