//! `idelta up`: everything on one machine with the embedded defaults
//! (design.md §9). Today that is the ledger node and its DID resolver; the
//! agent and the web apps join here as they land.

use super::did::{self, ServiceSpec};
use super::ledger;
use super::tx::{self, KeyFile};
use anyhow::Context as _;
use clap::Args;
use idelta_ledger_node::client::{ClientError, LedgerClient};
use idelta_ledger_node::genesis::GENESIS_FILE;
use idelta_ledger_node::node::{ResolveOptions, TRUSTEE_KEYS_FILE};
use idelta_types::Did;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Network name of a ledger `idelta up` creates.
const LOCAL_NETWORK: &str = "idelta-local";
/// Where `--demo` keeps the keys of its example DIDs, inside the data directory.
const DEMO_KEYS_FILE: &str = "demo-keys.json";

/// `idelta up`.
#[derive(Args, Debug)]
#[command(after_help = "\
Example:
  idelta up --data ./data --listen 127.0.0.1:8700 --demo

If DIR holds no ledger yet, one is created (network \"idelta-local\", one trustee, whose keys are in
DIR/trustee-keys.json). Stop with Ctrl-C.")]
pub(crate) struct UpArgs {
    /// Data directory; created and initialised if it holds no genesis.
    #[arg(long, value_name = "DIR", default_value = "./data")]
    data: PathBuf,
    /// Address the ledger API and DID resolver listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = super::DEFAULT_LISTEN)]
    listen: String,
    /// Also create two example DIDs endorsed by the trustee (keys in DIR/demo-keys.json) and print them. For now
    /// that is all the demo does; the agent will extend it with issuers, holders and credentials.
    #[arg(long)]
    demo: bool,
}

pub(crate) async fn run(args: UpArgs) -> anyhow::Result<()> {
    let dir = &args.data;
    if !dir.join(GENESIS_FILE).exists() {
        eprintln!("no ledger in {} yet: creating one", dir.display());
        ledger::init(dir, LOCAL_NETWORK, 1)?;
    }
    let node = ledger::open(dir).await?;
    let node_key = node.public_key();
    let (listener, addr) = ledger::bind(&args.listen).await?;
    println!("listening on http://{addr}");
    println!("ledger API  http://{addr}/v1/...");
    println!("DID resolver http://{addr}/1.0/identifiers/{{did}}");
    println!("trustee keys {}", dir.join(TRUSTEE_KEYS_FILE).display());
    println!("node key    {}", node_key.to_multibase());
    let server = tokio::spawn(ledger::serve(listener, node));
    if args.demo {
        // The demo is a client like any other: over HTTP, node key pinned.
        let client = LedgerClient::new(&format!("http://{}", reachable(addr)), node_key)?;
        if let Err(e) = demo(&client, dir).await {
            server.abort();
            return Err(e.context("the demo failed"));
        }
    }
    server.await.context("the server task failed")?
}

/// Where a client on this machine reaches a server bound to `addr`.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

/// Two DIDs endorsed by the trustee; reused if an earlier run made them.
async fn demo(client: &LedgerClient, dir: &Path) -> anyhow::Result<()> {
    let mut keys = KeyFile::load(&dir.join(DEMO_KEYS_FILE))?;
    let mut dids = Vec::new();
    for did in keys.dids() {
        if on_ledger(client, &did).await? {
            dids.push(did);
        }
    }
    if dids.len() < 2 {
        let trustees = KeyFile::load(&dir.join(TRUSTEE_KEYS_FILE))?;
        let trustee = trustees.dids().into_iter().next().context("the trustee key file holds no keys")?;
        let endorsement = tx::endorsement(client, &trustees, &trustee).await?;
        for name in ["alice", "bob"].into_iter().skip(dids.len()) {
            let web = ServiceSpec::new("web", "LinkedDomains", &format!("https://{name}.example"));
            let (did, _) = did::create(client, &mut keys, Some(&endorsement), &[web]).await?;
            dids.push(did);
        }
    }
    for did in &dids {
        println!("demo DID    {did}");
    }
    println!("demo keys   {}", keys.path().display());
    Ok(())
}

async fn on_ledger(client: &LedgerClient, did: &Did) -> anyhow::Result<bool> {
    match client.resolve(did, &ResolveOptions::default()).await {
        Ok(v) => Ok(!v.deactivated),
        Err(ClientError::NotFound) => Ok(false),
        Err(e) => Err(tx::explain(e, client)),
    }
}
