//! Loyalty benchmark: purchases per second end to end (HTTP -> ledger ->
//! ownership credential in the buyer's sub-wallet), B concurrent buyers
//! over N benefits, and the double sells counted afterwards on the ledger.
//! See BENCHMARKS.md, section "Loyalty marketplace".
//!
//! ```text
//! cargo bench -p idelta-agent --bench loyalty -- \
//!     [--buyers B] [--benefits N] [--units Q] [--burst K] [--duration-secs S] \
//!     [--backend sqlite|postgres] [--pg URL] [--dir PATH]
//! ```
//! Defaults: 64 buyers (half employees of company A, half of company B),
//! 1,000 benefits (half listed by each), 16 units each (16,000 purchases
//! at most), bursts of 8, 120 s limit, SQLite.
//!
//! The ledger node and the agent start as `idelta up` starts them (one
//! tokio runtime, threads `server`); the load generator is a second
//! runtime (threads `loadgen`) with B keep-alive HTTP/1.1 connections
//! and request bodies built in advance. Set-up (untimed): two companies,
//! their employees, tokens, equal exchange rates (so half the purchases
//! are across companies and settle), every buyer paid enough, the
//! benefits listed. Timed: `POST /v1/me/purchases` (only 201 counts);
//! request i is buyer i mod B and benefit (i / K) mod N, so K buyers at a
//! time race for the same benefit and every benefit is asked for exactly
//! Q units (K is lowered to a divisor of Q). Then every benefit once more
//! by B concurrent buyers: each must be refused `sold-out` (409); a 201
//! there is a sale and is counted as one. Then, untimed, the double sells:
//! a unit acknowledged twice, a benefit whose ledger `sold` differs from
//! the purchases acknowledged for it or exceeds its quantity, an
//! acknowledged unit not owned on the ledger by a buyer, and the
//! ownership credentials the buyers' sub-wallets hold, which must equal
//! the purchases acknowledged. Every loop is bounded by a count and a
//! time limit; all traffic goes to 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod service;
#[path = "../../ledger-node/benches/support/mod.rs"]
#[allow(dead_code)]
mod support;

use service::{arg_number, other_arg, print_machine, runtimes};
use service::{bearer, load, pg_cleanup, print_phase, print_table, start_all};
use service::{Req, Row, Running, DEFAULT_PG};
use support::loadavg;

use axum::body::Bytes;
use futures::StreamExt as _;
use hyper::{Method, StatusCode};
use idelta_agent::http::now_ms;
use idelta_ledger_node::node::Node;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    buyers: usize,
    benefits: usize,
    units: usize,
    burst: usize,
    duration: Duration,
    backend: String,
    pg: String,
    dir: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut a = Args {
        buyers: 64,
        benefits: 1_000,
        units: 16,
        burst: 8,
        duration: Duration::from_secs(120),
        backend: "sqlite".into(),
        pg: DEFAULT_PG.into(),
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--buyers" => a.buyers = (arg_number(it.next(), "--buyers") as usize).max(2),
            "--benefits" => a.benefits = (arg_number(it.next(), "--benefits") as usize).max(1),
            "--units" => a.units = (arg_number(it.next(), "--units") as usize).max(1),
            "--burst" => a.burst = (arg_number(it.next(), "--burst") as usize).max(1),
            "--duration-secs" => a.duration = Duration::from_secs(arg_number(it.next(), "--duration-secs")),
            "--backend" => a.backend = it.next().expect("--backend needs sqlite or postgres"),
            "--pg" => a.pg = it.next().expect("--pg needs a URL"),
            "--dir" => a.dir = Some(PathBuf::from(it.next().expect("--dir needs a path"))),
            other => other_arg(other, include_str!("loyalty.rs"), 13),
        }
    }
    a
}

/// A company of the run.
struct Company {
    id: String,
    admin: String,
}

/// A buyer: an employee's DID and token.
struct Buyer {
    did: String,
    token: String,
}

/// Set-up over HTTP, outside the timed phases.
struct Setup {
    http: reqwest::Client,
    base: String,
}

impl Setup {
    async fn call(&self, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// Two companies with `buyers` employees between them, tokens, rates,
/// payments, and `benefits` benefits of `units` units each (price 1);
/// returns the buyers and the benefits' DIDs.
async fn set_up(run: &Running, args: &Args) -> (Vec<Buyer>, Vec<String>) {
    let tenants = &run.state.tenants;
    let setup = Setup { http: reqwest::Client::new(), base: format!("http://{}", run.addr) };
    let mut companies = Vec::new();
    let mut buyers = Vec::new();
    for (k, symbol) in ["ACME", "GLOBEX"].iter().enumerate() {
        let co = tenants.register_company(&format!("Loyalty Bench {symbol}"), now_ms()).await.expect("company");
        let company = Company { id: co.company.id.clone(), admin: co.admin_token };
        let count = args.buyers / 2 + (k == 0 && args.buyers % 2 == 1) as usize;
        let made = futures::future::join_all((0..count).map(|i| {
            let (id, name) = (company.id.clone(), format!("{symbol} buyer {i}"));
            async move { tenants.add_employee(&id, &name, now_ms()).await }
        }))
        .await;
        // Each buyer can afford every purchase of the run.
        let budget = (args.benefits * args.units) as u64;
        let path = format!("/v1/companies/{}/token", company.id);
        setup
            .call(reqwest::Method::POST, &path, &company.admin, Some(json!({ "symbol": symbol, "name": symbol })))
            .await;
        let rate = format!("/v1/exchange-rates/{}", company.id);
        setup.call(reqwest::Method::PUT, &rate, &run.operator_key, Some(json!({ "unitValue": 1_000_000 }))).await;
        let mint = json!({ "amount": budget * count as u64 });
        setup.call(reqwest::Method::POST, &format!("{path}/mint"), &company.admin, Some(mint)).await;
        let mut payments = Vec::new();
        for e in made {
            let e = e.expect("employee");
            payments.push(json!({ "employee": e.employee.id, "amount": budget }));
            buyers.push(Buyer { did: e.employee.did.clone(), token: e.token });
        }
        for chunk in payments.chunks(1000) {
            let body = json!({ "payments": chunk });
            setup.call(reqwest::Method::POST, &format!("{path}/payments"), &company.admin, Some(body)).await;
        }
        companies.push(company);
    }
    // Benefits, listed 32 at a time, alternating between the companies.
    let t = Instant::now();
    let setup = &setup;
    let companies = &companies;
    let benefits: Vec<String> = futures::stream::iter(0..args.benefits)
        .map(|i| async move {
            let co = &companies[i % 2];
            let terms = json!({ "name": format!("Bench benefit {i}"), "description": "loyalty bench",
                                "category": format!("c{}", i % 7), "price": 1, "quantity": args.units });
            let path = format!("/v1/companies/{}/benefits", co.id);
            let view = setup.call(reqwest::Method::POST, &path, &co.admin, Some(terms)).await;
            view["benefit"].as_str().expect("benefit DID").to_owned()
        })
        .buffered(32)
        .collect()
        .await;
    println!(
        "  set-up: {} buyers of 2 companies, {} benefits of {} units listed in {:.1} s",
        buyers.len(),
        benefits.len(),
        args.units,
        t.elapsed().as_secs_f64()
    );
    (buyers, benefits)
}

fn purchase(buyer: &Buyer, benefit: &str) -> Req {
    Req {
        method: Method::POST,
        path: "/v1/me/purchases".into(),
        auth: bearer(&buyer.token),
        body: Bytes::from(serde_json::to_vec(&json!({ "benefit": benefit })).unwrap()),
    }
}

/// The double sells, counted on the ledger and in the wallets after the
/// run; returns their number.
async fn double_sells(
    run: &Running,
    ledger_url: &str,
    buyers: &[Buyer],
    benefits: &[String],
    acks: &[Bytes],
    units: usize,
) -> usize {
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move {
            let resp = http.get(&url).send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
            resp.json::<Value>().await.unwrap_or_else(|e| panic!("{url}: {e}"))
        }
    };
    // Acknowledged units: none twice.
    let mut acked: HashSet<(String, u64)> = HashSet::new();
    let mut per_benefit: HashMap<String, u64> = HashMap::new();
    let mut twice = 0;
    for body in acks {
        let v: Value = serde_json::from_slice(body).expect("purchase JSON");
        let key = (v["benefit"].as_str().expect("benefit").to_owned(), v["unit"].as_u64().expect("unit"));
        *per_benefit.entry(key.0.clone()).or_default() += 1;
        if !acked.insert(key) {
            twice += 1;
        }
    }
    // Per benefit: sold on the ledger == acknowledged, <= quantity.
    let views: Vec<Value> = futures::stream::iter(benefits)
        .map(|b| get(format!("{ledger_url}/v1/loyalty/benefits/{b}")))
        .buffered(64)
        .collect()
        .await;
    let (mut mismatched, mut over, mut sold_total) = (0, 0, 0);
    for (b, view) in benefits.iter().zip(&views) {
        let sold = view["sold"].as_u64().unwrap_or_else(|| panic!("sold in {view}"));
        sold_total += sold;
        mismatched += usize::from(sold != per_benefit.get(b).copied().unwrap_or(0));
        over += usize::from(sold > units as u64);
    }
    // Every acknowledged unit is owned by a buyer.
    let owners: HashSet<&str> = buyers.iter().map(|b| b.did.as_str()).collect();
    let units_seen: Vec<Value> = futures::stream::iter(&acked)
        .map(|(b, u)| get(format!("{ledger_url}/v1/loyalty/benefits/{b}/units/{u}")))
        .buffered(64)
        .collect()
        .await;
    let not_owned = units_seen.iter().filter(|v| !v["owner"].as_str().is_some_and(|o| owners.contains(o))).count();
    // Ownership credentials in the buyers' sub-wallets.
    let base = format!("http://{}", run.addr);
    let mut held = 0;
    for buyer in buyers {
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{base}/v1/me/credentials?limit=200&cursor={c}"),
                None => format!("{base}/v1/me/credentials?limit=200"),
            };
            let page: Value =
                http.get(&url).bearer_auth(&buyer.token).send().await.expect("held").json().await.expect("JSON");
            held += page["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter(|i| i["types"].as_array().is_some_and(|t| t.iter().any(|t| t == "BenefitOwnershipCredential")))
                .count();
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
    }
    let acknowledged = acks.len();
    println!("\n  double sells (checked after the run on the ledger and in the wallets):");
    println!("    purchases acknowledged (201)                  {acknowledged}");
    println!("    units acknowledged twice                      {twice}");
    println!("    sold on the ledger, all benefits              {sold_total}");
    println!("    benefits whose ledger `sold` != acknowledged  {mismatched}");
    println!("    benefits sold beyond their quantity           {over}");
    println!("    acknowledged units not owned by a buyer       {not_owned}");
    println!("    ownership credentials in the buyers' wallets  {held}");
    let doubles = twice + mismatched + over + not_owned + usize::from(held != acknowledged);
    println!("  => double sells: {doubles}");
    doubles
}

fn main() {
    let args = parse_args();
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    print_machine("idelta loyalty benchmark", &base);
    println!(
        "  {} buyers, {} benefits x {} units, bursts of {}, at most {} s, backend {}",
        args.buyers,
        args.benefits,
        args.units,
        args.burst,
        args.duration.as_secs(),
        args.backend
    );
    let tmp = tempfile::Builder::new().prefix("idelta-loyalty-bench-").tempdir_in(&base).expect("temp dir");
    Node::init(&tmp.path().join("ledger"), "bench", 1).expect("ledger init");
    let pg = service::backend(&args.backend, &args.pg, "il");
    let (server, loadgen) = runtimes();
    let (node, run) = server.block_on(start_all(tmp.path(), pg.as_ref()));
    let ledger_url = run.state.tenants.ledger().client().base_url().to_owned();
    println!("  agent at {}; load average {}", run.addr, loadavg());
    let (buyers, benefits) = loadgen.block_on(set_up(&run, &args));

    // Request i: buyer i mod B, benefit (i / K) mod N: K buyers at a time
    // on one benefit, each benefit asked for exactly Q units.
    let total = args.benefits * args.units;
    let burst = (1..=args.burst.min(args.units)).rev().find(|k| args.units % k == 0).unwrap_or(1);
    let reqs: Vec<Req> =
        (0..total).map(|i| purchase(&buyers[i % buyers.len()], &benefits[(i / burst) % benefits.len()])).collect();
    println!("  {burst} buyers at a time on one benefit; load average before the run {}", loadavg());
    let c = buyers.len();
    let mut rows = Vec::new();
    let mut r =
        loadgen.block_on(load(run.addr, c, Arc::new(reqs), total, args.duration, true, StatusCode::CREATED, true));
    let mut acks = std::mem::take(&mut r.bodies);
    print_phase("purchase", c, &mut r);
    rows.push(Row { backend: args.backend.clone(), phase: "purchase", clients: c, r });

    // Every benefit once more: each must be refused (sold out). A 201 here
    // is a sale too (only possible if the time limit cut the purchases
    // short), and counts in the double-sell check.
    let again: Vec<Req> = (0..benefits.len()).map(|i| purchase(&buyers[i % buyers.len()], &benefits[i])).collect();
    let n = again.len();
    let r = loadgen.block_on(load(run.addr, c, Arc::new(again), n, args.duration, true, StatusCode::CREATED, true));
    println!(
        "  once more per benefit, C={c}: {} refused (first: {}), {} sold",
        r.errors,
        r.first_error.as_deref().unwrap_or("none").chars().take(160).collect::<String>(),
        r.ok
    );
    acks.extend(r.bodies);

    let doubles = loadgen.block_on(double_sells(&run, &ledger_url, &buyers, &benefits, &acks, args.units));
    print_table(&rows);
    println!(
        "\ntarget: >= 5,000 purchases/s end to end with zero double sells; {} acknowledged, {doubles} double sells",
        acks.len()
    );

    drop(run);
    drop(node);
    loadgen.shutdown_timeout(Duration::from_secs(5));
    server.shutdown_timeout(Duration::from_secs(5));
    if let Some(pg) = &pg {
        pg_cleanup(pg);
    }
    drop(tmp);
}
