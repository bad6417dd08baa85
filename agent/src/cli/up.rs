//! `idelta up`: everything on one machine with the embedded defaults
//! (design.md §9): the ledger node, its DID resolver and the agent, on one
//! address, with SQLite and local wallets under the data directory.
//!
//! The ledger answers as soon as the address is bound. The agent talks to
//! it over HTTP like any client (node key pinned), so it starts right
//! after, and its routes are mounted on the same address once it is ready;
//! until then they answer 503.

use super::agent::prepare_sqlite_dirs;
use super::ledger::{self, shutdown_signal};
use anyhow::Context as _;
use axum::response::IntoResponse as _;
use axum::Router;
use clap::Args;
use idelta_agent::service::{AgentConfig, DEFAULT_TOKEN_TTL_SECS};
use idelta_agent::AppState;
use idelta_ledger_node::client::LedgerClient;
use idelta_ledger_node::genesis::GENESIS_FILE;
use idelta_ledger_node::keys::{write_private, write_private_bytes, DevKeyStore};
use idelta_ledger_node::node::TRUSTEE_KEYS_FILE;
use idelta_wallet::MasterKey;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// Network name of a ledger `idelta up` creates.
const LOCAL_NETWORK: &str = "idelta-local";

/// `idelta up`.
#[derive(Args, Debug)]
#[command(after_help = "\
Example:
  idelta up --data ./data --listen 127.0.0.1:8700 --demo

If DIR holds no ledger yet, one is created (network \"idelta-local\", one trustee, whose keys are in
DIR/trustee-keys.json). The agent keeps its database in DIR/agent.db, the company wallets in
DIR/wallets, its master key in DIR/master.key and the operator API key in DIR/operator-api-key
(all created on first run, readable by the owner only). Stop with Ctrl-C.")]
pub(crate) struct UpArgs {
    /// Data directory; created and initialised if it holds no genesis.
    #[arg(long, value_name = "DIR", default_value = "./data")]
    data: PathBuf,
    /// Address everything listens on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = super::DEFAULT_LISTEN)]
    listen: String,
    /// Seed a consortium of two companies with admins and employees, a loyalty token each (minted, with an
    /// exchange rate, every employee paid) and a few benefits each, and write what a newcomer needs to use
    /// the API (URL, operator API key, company DIDs, access tokens, benefit DIDs) to DIR/demo.json.
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
    let agent: Arc<OnceLock<Router>> = Arc::new(OnceLock::new());
    let app = idelta_ledger_node::http::routes(node)
        .fallback_service(tower::service_fn({
            let agent = Arc::clone(&agent);
            move |request: axum::extract::Request| {
                let agent = agent.get().cloned();
                async move {
                    Ok::<_, std::convert::Infallible>(match agent {
                        Some(router) => tower::ServiceExt::oneshot(router, request).await.into_response(),
                        None => idelta_agent::http::error::problem(
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            "starting",
                            "Starting",
                            "the agent is starting; retry in a moment".into(),
                        ),
                    })
                }
            }
        }))
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.context("the HTTP server failed")
    });
    let url = format!("http://{}", reachable(addr));
    let (state, operator_api_key) = match start_agent(dir, &url, node_key.clone()).await {
        Ok(started) => started,
        Err(e) => {
            server.abort();
            return Err(e);
        }
    };
    let _ = agent.set(idelta_agent::router(state.clone()));
    println!("listening on http://{addr}");
    println!("ledger API   {url}/v1/log/sth, /v1/transactions, ...");
    println!("DID resolver {url}/1.0/identifiers/{{did}}");
    println!("agent API    {url}/v1/companies, ...   (operator API key in {})", dir.join(OPERATOR_KEY_FILE).display());
    println!("API docs     {url}/docs   (OpenAPI 3.1: {url}/openapi.json)");
    println!("web apps     {url}/wallet (employees), {url}/admin (admins, operator), {url}/ledger (ledger browser)");
    println!("operations   {url}/healthz, /readyz, /metrics");
    println!("trustee keys {}", dir.join(TRUSTEE_KEYS_FILE).display());
    println!("node key     {}", node_key.to_multibase());
    if args.demo {
        match demo(&state, dir, &url, &operator_api_key).await {
            Ok(path) => println!("demo         {} (companies, admins, employees and their tokens)", path.display()),
            Err(e) => {
                server.abort();
                return Err(e.context("the demo failed"));
            }
        }
    }
    server.await.context("the server task failed")?
}

/// File of the operator API key inside the data directory.
const OPERATOR_KEY_FILE: &str = "operator-api-key";

/// Starts the agent on the embedded defaults of `dir`.
async fn start_agent(dir: &Path, url: &str, node_key: idelta_types::PublicKey) -> anyhow::Result<(AppState, String)> {
    let db = format!("sqlite://{}", dir.join("agent.db").display());
    let wallets = format!("sqlite://{}", dir.join("wallets").display());
    prepare_sqlite_dirs(&db, &wallets)?;
    let operator_api_key = operator_key(dir)?;
    let config = AgentConfig {
        db_url: db,
        wallets: wallets.parse()?,
        master_key: MasterKey::load_or_create(dir.join("master.key"))?,
        operator_api_key: operator_api_key.clone(),
        ledger: LedgerClient::new(url, node_key)?,
        token_ttl_secs: DEFAULT_TOKEN_TTL_SECS,
        bootstrap_trustee: Some(DevKeyStore::load(&dir.join(TRUSTEE_KEYS_FILE))?),
        public_url: Some(url.to_owned()),
    };
    let state = idelta_agent::start(config).await.context("the agent could not start")?;
    Ok((state, operator_api_key))
}

/// The operator API key of a local setup: made on first run, kept in a
/// file only the owner can read.
fn operator_key(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join(OPERATOR_KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(text.trim().to_owned());
    }
    let mut bytes = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let key = format!("op_{}", hex::encode(bytes));
    write_private_bytes(&path, format!("{key}\n").as_bytes(), false)?;
    Ok(key)
}

/// Where a client on this machine reaches a server bound to `addr`.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

/// `DIR/demo.json`.
#[derive(Serialize)]
struct Demo {
    url: String,
    operator_api_key: String,
    companies: Vec<DemoCompany>,
}

#[derive(Serialize)]
struct DemoCompany {
    name: String,
    id: String,
    did: String,
    admin_token: String,
    employees: Vec<DemoEmployee>,
    /// The loyalty token's symbol (its id is the company DID).
    token: &'static str,
    /// The DIDs of the benefits it lists.
    benefits: Vec<String>,
}

#[derive(Serialize)]
struct DemoEmployee {
    name: String,
    id: String,
    did: String,
    token: String,
}

/// The demo consortium: two companies, an admin each, employees.
const DEMO: [(&str, &[&str]); 2] = [("Acme Retail", &["Alice", "Bob"]), ("Globex Energy", &["Carol", "Dave"])];

/// A demo company's loyalty: token symbol, tokens minted, tokens paid to
/// each employee, exchange rate (settlement micro-units per token unit),
/// and benefits (name, category, price, quantity).
struct DemoLoyalty {
    symbol: &'static str,
    minted: u64,
    paid_each: u64,
    unit_value: u64,
    benefits: &'static [(&'static str, &'static str, u64, u64)],
}

const DEMO_LOYALTY: [DemoLoyalty; 2] = [
    DemoLoyalty {
        symbol: "ACME",
        minted: 100_000,
        paid_each: 1_000,
        unit_value: 10_000,
        benefits: &[
            ("Gym day pass", "sport", 50, 100),
            ("Coffee voucher", "food", 5, 500),
            ("Cinema ticket", "leisure", 30, 50),
        ],
    },
    DemoLoyalty {
        symbol: "GLOBEX",
        minted: 100_000,
        paid_each: 400,
        unit_value: 25_000,
        benefits: &[
            ("EV charging hour", "mobility", 15, 200),
            ("Home energy check", "home", 120, 20),
            ("Yoga class", "sport", 20, 60),
        ],
    },
];

/// Seeds a demo company's loyalty on first run: its token, minted into the
/// treasury, an exchange rate, every employee paid, a few benefits. A
/// company that has its token already is left as it is. Returns the DIDs
/// of its benefits.
async fn demo_loyalty(
    state: &AppState,
    company: &str,
    employees: &[String],
    seed: &DemoLoyalty,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let loyalty = &state.loyalty;
    if loyalty.token(company).await.is_err() {
        loyalty.create_token(company, seed.symbol, &format!("{} points", seed.symbol), now).await?;
        loyalty.mint(company, seed.minted, now).await?;
        loyalty.set_rate(company, seed.unit_value, now).await?;
        let payments = employees
            .iter()
            .map(|e| idelta_agent::loyalty::Payment { employee: e.clone(), amount: seed.paid_each })
            .collect();
        loyalty.pay(company, &idelta_agent::loyalty::Payments { payments, memo: Some("welcome".into()) }, now).await?;
        for (name, category, price, quantity) in seed.benefits {
            let terms = idelta_types::loyalty::BenefitTerms {
                name: (*name).to_owned(),
                description: format!("{name}, a demo benefit"),
                category: (*category).to_owned(),
                price: *price,
                quantity: *quantity,
                valid_from: None,
                valid_until: None,
            };
            loyalty.create_benefit(company, terms, now).await?;
        }
    }
    let listed = loyalty.company_benefits(company, Default::default()).await?;
    Ok(listed.items.into_iter().map(|b| b.benefit.to_string()).collect())
}

/// Seeds the demo consortium, or reuses it, issuing fresh tokens.
async fn demo(state: &AppState, dir: &Path, url: &str, operator_api_key: &str) -> anyhow::Result<PathBuf> {
    let tenants = &state.tenants;
    let now = idelta_agent::http::now_ms();
    let existing = tenants.companies(None, Some(idelta_agent::tenants::MAX_PAGE)).await?.items;
    let mut companies = Vec::new();
    for ((name, employees), seed) in DEMO.into_iter().zip(&DEMO_LOYALTY) {
        let (company, admin_token) = match existing.iter().find(|c| c.name == name && c.status == "active") {
            Some(c) => (c.clone(), tenants.issue_admin_token(&c.id, false, "operator", now).await?.token),
            None => {
                let created = tenants.register_company(name, now).await?;
                (created.company, created.admin_token)
            }
        };
        let mut staff = tenants.employees(&company.id, None, Some(idelta_agent::tenants::MAX_PAGE)).await?.items;
        staff.retain(|e| e.status == "active");
        let mut out = Vec::new();
        for person in employees {
            let (employee, token) = match staff.iter().find(|e| e.name == *person) {
                Some(e) => {
                    (e.clone(), tenants.issue_employee_token(&company.id, &e.id, false, "operator", now).await?.token)
                }
                None => {
                    let created = tenants.add_employee(&company.id, person, now).await?;
                    (created.employee, created.token)
                }
            };
            out.push(DemoEmployee { name: employee.name, id: employee.id, did: employee.did, token });
        }
        let ids: Vec<String> = out.iter().map(|e| e.id.clone()).collect();
        let benefits = demo_loyalty(state, &company.id, &ids, seed, now).await?;
        companies.push(DemoCompany {
            name: company.name,
            id: company.id,
            did: company.did,
            admin_token,
            employees: out,
            token: seed.symbol,
            benefits,
        });
    }
    let demo = Demo { url: url.to_owned(), operator_api_key: operator_api_key.to_owned(), companies };
    let path = dir.join("demo.json");
    write_private(&path, &demo, true)?;
    Ok(path)
}
