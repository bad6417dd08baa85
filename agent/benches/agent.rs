//! Agent benchmark: sub-wallet creations per second (over HTTP, through
//! `Tenants::add_employee`, and as the raw wallet operation) and
//! authenticated requests per second, on SQLite and PostgreSQL. See
//! BENCHMARKS.md, section "Agent".
//!
//! ```text
//! cargo bench -p idelta-agent --bench agent -- \
//!     [--employees N] [--clients C[,C...]] [--duration-secs S] [--max-secs S] \
//!     [--backends sqlite,postgres] [--pg URL] [--dir PATH] [--phases http,direct,raw,auth,steps]
//! ```
//! Defaults: 2000 employees per creation phase, clients 16,64, 5 s per
//! authenticated phase, 30 s cap per creation phase, both backends
//! (PostgreSQL at postgres://postgres@127.0.0.1:5432/postgres is skipped
//! if it does not answer).
//!
//! Per backend: a fresh ledger node (`Node::init`, `Node::start`) and the
//! agent (`idelta_agent::start`, operator enrolled as endorser by the
//! genesis trustee, like `idelta up`) run in one multi-threaded tokio
//! runtime (threads `server`), each on its own `127.0.0.1:0` listener. The
//! load generator runs in a second runtime (threads `loadgen`) with C
//! keep-alive HTTP/1.1 connections and request bodies built in advance.
//! Everything shares the machine's cores; CPU time is read per thread
//! group from /proc/self/task.
//!
//! Phases: for each C, `POST /v1/companies/{c}/employees` (a fresh company
//! each time, admin token, only 201 counts); at the largest C, the same
//! through `Tenants::add_employee` without HTTP and the raw wallet operation
//! (`create_sub_wallet` + `create_did_key` on a store of the same backend);
//! then, for each C, `GET .../employees/{e}/dids` and `GET /v1/me` with employee
//! tokens for S seconds. Then single-step costs at one client. PostgreSQL
//! databases get fresh names and are dropped at the end. Every loop is
//! bounded by a count and a time limit; all traffic goes to 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::too_many_arguments, missing_docs)]

#[path = "../../ledger-node/benches/support/mod.rs"]
mod support;
use support::{loadavg, mean_us};
mod service;
use service::*;

use axum::body::Bytes;
use hyper::{Method, StatusCode};
use idelta_agent::auth::tokens::TokenRole;
use idelta_agent::db::employees::Employee;
use idelta_agent::AppState;
use idelta_ledger_node::node::Node;
use idelta_wallet::{Holder, MasterKey, Wallets};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    employees: usize,
    clients: Vec<usize>,
    duration: Duration,
    max_secs: Duration,
    backends: Vec<String>,
    pg: String,
    dir: Option<PathBuf>,
    phases: Vec<String>,
}

impl Args {
    fn phase(&self, name: &str) -> bool {
        self.phases.iter().any(|p| p == name)
    }
}

fn parse_args() -> Args {
    let mut a = Args {
        employees: 2_000,
        clients: vec![16, 64],
        duration: Duration::from_secs(5),
        max_secs: Duration::from_secs(30),
        backends: vec!["sqlite".into(), "postgres".into()],
        pg: DEFAULT_PG.into(),
        dir: None,
        phases: ["http", "direct", "raw", "auth", "steps"].map(String::from).to_vec(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--employees" => a.employees = arg_number(it.next(), "--employees") as usize,
            "--duration-secs" => a.duration = Duration::from_secs(arg_number(it.next(), "--duration-secs")),
            "--max-secs" => a.max_secs = Duration::from_secs(arg_number(it.next(), "--max-secs")),
            "--clients" => a.clients = arg_clients(it.next()),
            "--backends" => a.backends = arg_list(it.next(), "--backends"),
            "--phases" => a.phases = arg_list(it.next(), "--phases"),
            "--pg" => a.pg = it.next().expect("--pg needs a URL"),
            "--dir" => a.dir = Some(PathBuf::from(it.next().expect("--dir needs a path"))),
            other => other_arg(other, include_str!("agent.rs"), 15),
        }
    }
    a
}

/// C tasks on the current runtime run `op(i)` for i in 0..count until
/// `limit`; `op` returns its (sub-wallet, did-key) split, if any.
async fn in_process<F, Fut>(clients: usize, count: usize, limit: Duration, op: F) -> Phase
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(u64, u64, String, String), String>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu = Cpu::now();
    let start = Instant::now();
    let deadline = start + limit;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (op, next) = (Arc::clone(&op), Arc::clone(&next));
            tokio::spawn(async move {
                let mut r = Phase::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count || Instant::now() > deadline {
                        break;
                    }
                    let t = Instant::now();
                    match op(i).await {
                        Ok((sub, did, employee, token)) => {
                            r.ok += 1;
                            r.latencies_us.push(t.elapsed().as_micros() as u64);
                            r.split_us.0 += sub;
                            r.split_us.1 += did;
                            if !token.is_empty() {
                                r.made.push((employee, token));
                            }
                        }
                        Err(e) => {
                            r.errors += 1;
                            r.first_error.get_or_insert(e);
                        }
                    }
                }
                r
            })
        })
        .collect();
    let mut total = Phase::default();
    for t in tasks {
        total.merge(t.await.expect("task"));
    }
    total.elapsed = start.elapsed();
    cpu.since(&mut total);
    total
}

/// Integrity after a creation phase: one row and one `employee.added`
/// event per 201.
async fn check_rows(state: &AppState, company: &str, ok: usize) {
    use sqlx::Row as _;
    let count = |sql: &'static str| async move {
        sqlx::query(sql)
            .bind(company)
            .fetch_one(state.db.pool())
            .await
            .and_then(|r| r.try_get::<i64, _>("n"))
            .unwrap_or(-1)
    };
    let rows = count("SELECT COUNT(*) AS n FROM employees WHERE company_id = $1").await;
    let events = count("SELECT COUNT(*) AS n FROM events WHERE tenant = $1 AND kind = 'employee.added'").await;
    let flag = if rows == ok as i64 && events == ok as i64 { "ok" } else { "MISMATCH" };
    println!("    integrity: {ok} created, {rows} employee rows, {events} employee.added events: {flag}");
}

/// Employees created over HTTP: (company, employee, token).
fn created(bodies: &[Bytes], company: &str) -> Vec<(String, String, String)> {
    bodies
        .iter()
        .filter_map(|b| {
            let v: serde_json::Value = serde_json::from_slice(b).ok()?;
            Some((company.to_owned(), v["employee"]["id"].as_str()?.to_owned(), v["token"].as_str()?.to_owned()))
        })
        .collect()
}

// ---------------------------------------------------------------- single-step costs

/// Each step of `add_employee`, one at a time (no concurrency).
async fn calibrate(run: &Running, raw: &Wallets, raw_company: &str, company: &str, token: &str) {
    let st = &run.state;
    let n = 200;
    let w = raw.open(raw_company).await.expect("raw wallet");
    let now = idelta_agent::http::now_ms();
    let ids: Vec<String> = (0..n).map(|_| idelta_agent::ids::new_id("em", now)).collect();
    let company_row = mean_us_async(n, |_| st.tenants.company(company)).await;
    let open = mean_us_async(n, |_| raw.open(raw_company)).await;
    let sub = mean_us_async(n, |i| w.create_sub_wallet(&ids[i])).await;
    let did = mean_us_async(n, |i| w.create_did_key(Holder::Sub(&ids[i]))).await;
    let rows: Vec<Employee> = ids
        .iter()
        .map(|id| Employee {
            id: id.clone(),
            company_id: company.into(),
            name: "Calibration".into(),
            did: format!("did:key:{id}"),
            status: "active".into(),
            created_at: now,
            removed_at: None,
            token_epoch: 1,
        })
        .collect();
    let insert = mean_us_async(n, |i| {
        let (db, row) = (&st.db, &rows[i]);
        async move {
            let mut tx = db.pool().begin().await.expect("begin");
            idelta_agent::db::Db::insert_employee(&mut tx, row).await.expect("insert");
            let data = serde_json::json!({ "name": row.name });
            idelta_agent::events::Events::record(&mut tx, company, "employee.added", &row.id, data, now)
                .await
                .expect("event");
            tx.commit().await.expect("commit");
        }
    })
    .await;
    let event = mean_us_async(n, |i| {
        st.events.publish(company, "bench.calibration", &ids[i], serde_json::json!({"i": i}), now)
    })
    .await;
    let issue = mean_us(n, |i| st.auth.tokens().issue(&ids[i], company, TokenRole::Employee, 1, now / 1000));
    let verify = mean_us(n * 10, |_| st.auth.tokens().verify(token).expect("verify"));
    let authn = mean_us_async(n * 10, |_| st.auth.authenticate(token, idelta_agent::http::now_ms() / 1000)).await;
    let id = mean_us(n * 10, |_| idelta_agent::ids::new_id("em", now));
    let keygen =
        mean_us(n * 10, |_| ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng).verifying_key().to_bytes());
    let records = mean_us_async(n, |i| w.find_records(Holder::Sub(&ids[i]), "did", &[], Some(200))).await;
    let emp_row = mean_us_async(n, |i| st.db.employee(company, &ids[i])).await;
    println!("  single-step costs, one at a time (no HTTP), mean of {n} (JWT/keygen/id: {}):", n * 10);
    println!("    add_employee steps, in order:");
    println!("      db.company (active_company)                 {company_row:>8.1} µs");
    println!("      wallets.open (cached handle)                {open:>8.1} µs");
    println!("      create_sub_wallet (askar create_profile)    {sub:>8.1} µs  (the agent makes both in one call:");
    println!("      create_did_key (keygen + 2 inserts, 1 txn)  {did:>8.1} µs   create_sub_wallet_with_did_key)");
    println!("      employee row + its event (1 txn)            {insert:>8.1} µs");
    println!("      events.publish alone (counter row, 1 txn)   {event:>8.1} µs");
    println!("      tokens.issue (EdDSA JWT sign)               {issue:>8.1} µs");
    println!("    per authenticated request:");
    println!("      tokens.verify (EdDSA JWT verify)            {verify:>8.1} µs");
    println!("      auth.authenticate (verify + cached subject) {authn:>8.1} µs");
    println!("      /dids: db.employee                          {emp_row:>8.1} µs");
    println!("      /dids: find_records (askar session + scan)  {records:>8.1} µs");
    println!("    other: ids::new_id {id:.2} µs, Ed25519 keygen (dalek) {keygen:.1} µs");
}

// ---------------------------------------------------------------- main

fn run_backend(args: &Args, name: &str, base: &Path, rows: &mut Vec<Row>) {
    let tmp = tempfile::Builder::new().prefix("idelta-agent-bench-").tempdir_in(base).expect("temp dir");
    Node::init(&tmp.path().join("ledger"), "bench", 1).expect("ledger init");
    let tag = format!("{:x}{:x}", std::process::id(), idelta_agent::http::now_ms());
    let pg = (name == "postgres").then(|| Pg {
        admin_url: args.pg.clone(),
        agent_db: format!("ia{tag}_agent"),
        wallet_prefix: format!("ib{tag}"),
    });
    println!(
        "\n== backend {name}: agent db + wallets {}; load average {}",
        match &pg {
            None => format!("SQLite in {}", tmp.path().display()),
            Some(p) => format!("PostgreSQL, databases {}_*", p.wallet_prefix),
        },
        loadavg()
    );
    let (server, loadgen) = runtimes();
    let (node, run) = server.block_on(start_all(tmp.path(), pg.as_ref()));
    let raw = Wallets::new(run.backend.clone(), MasterKey::generate());
    let mut employees: Vec<(String, String, String)> = Vec::new();
    let raw_company = format!("raw-{tag}");
    server.block_on(raw.create(&raw_company)).expect("raw wallet");

    let max_clients = args.clients.iter().copied().max().unwrap_or(1);
    let xacts = |rt: &tokio::runtime::Runtime| pg.as_ref().map(|p| rt.block_on(pg_xacts(p)));
    for &c in &args.clients {
        if !args.phase("http") {
            break;
        }
        let co = server
            .block_on(run.state.tenants.register_company(&format!("Bench {name} {c}"), idelta_agent::http::now_ms()))
            .expect("company");
        let company = co.company.id.clone();
        let reqs: Vec<Req> = (0..args.employees)
            .map(|i| Req {
                method: Method::POST,
                path: format!("/v1/companies/{company}/employees"),
                auth: bearer(&co.admin_token),
                body: Bytes::from(serde_json::to_vec(&serde_json::json!({ "name": format!("Employee {i}") })).unwrap()),
            })
            .collect();
        let before = xacts(&loadgen);
        let mut r = loadgen.block_on(load(
            run.addr,
            c,
            Arc::new(reqs),
            args.employees,
            args.max_secs,
            true,
            StatusCode::CREATED,
            true,
        ));
        print_phase("HTTP add employee", c, &mut r);
        print_xacts(before, xacts(&loadgen), r.ok);
        server.block_on(check_rows(&run.state, &company, r.ok));
        if employees.is_empty() {
            employees = created(&r.bodies, &company);
        }
        r.bodies.clear();
        rows.push(Row { backend: name.into(), phase: "HTTP POST employees", clients: c, r });
    }

    let c = max_clients;
    let co = server
        .block_on(run.state.tenants.register_company(&format!("Direct {name}"), idelta_agent::http::now_ms()))
        .expect("company");
    let direct_company = co.company.id.clone();
    let tenants = Arc::clone(&run.state.tenants);
    let direct = |count: usize, prefix: &'static str| {
        let (tenants, company) = (Arc::clone(&tenants), direct_company.clone());
        in_process(c, count, args.max_secs, move |i| {
            let (tenants, company) = (Arc::clone(&tenants), company.clone());
            async move {
                tenants
                    .add_employee(&company, &format!("{prefix} {i}"), idelta_agent::http::now_ms())
                    .await
                    .map(|e| (0, 0, e.employee.id, e.token))
                    .map_err(|e| e.to_string())
            }
        })
    };
    if args.phase("direct") {
        let before = xacts(&loadgen);
        let mut r = server.block_on(direct(args.employees, "Direct"));
        print_phase("Tenants::add_employee", c, &mut r);
        print_xacts(before, xacts(&loadgen), r.ok);
        rows.push(Row { backend: name.into(), phase: "Tenants::add_employee", clients: c, r });
    }
    if employees.is_empty() && args.phase("auth") {
        // No HTTP phase: employees for the authenticated phases, untimed.
        let r = server.block_on(direct(args.employees.min(1000), "Seed"));
        employees = r.made.into_iter().map(|(e, t)| (direct_company.clone(), e, t)).collect();
    }
    if args.phase("raw") {
        let w = server.block_on(raw.open(&raw_company)).expect("raw");
        let before = xacts(&loadgen);
        let mut r = server.block_on(in_process(c, args.employees, args.max_secs, move |i| {
            let w = w.clone();
            async move {
                let id = format!("c{c}-{i}");
                let t = Instant::now();
                w.create_sub_wallet(&id).await.map_err(|e| e.to_string())?;
                let a = t.elapsed().as_micros() as u64;
                w.create_did_key(Holder::Sub(&id)).await.map_err(|e| e.to_string())?;
                Ok((a, t.elapsed().as_micros() as u64 - a, String::new(), String::new()))
            }
        }));
        print_phase("raw wallet op", c, &mut r);
        print_xacts(before, xacts(&loadgen), r.ok);
        rows.push(Row { backend: name.into(), phase: "wallet sub-wallet + did:key", clients: c, r });
    }

    if !args.phase("auth") {
    } else if employees.is_empty() {
        println!("  no employee was created; skipping authenticated requests");
    } else {
        let dids: Vec<Req> = employees
            .iter()
            .map(|(c, e, t)| Req {
                method: Method::GET,
                path: format!("/v1/companies/{c}/employees/{e}/dids"),
                auth: bearer(t),
                body: Bytes::new(),
            })
            .collect();
        let me: Vec<Req> = employees
            .iter()
            .map(|(_, _, t)| Req { method: Method::GET, path: "/v1/me".into(), auth: bearer(t), body: Bytes::new() })
            .collect();
        let (dids, me) = (Arc::new(dids), Arc::new(me));
        for &c in &args.clients {
            for (phase, reqs) in [("GET .../dids", &dids), ("GET /v1/me", &me)] {
                let mut r = loadgen.block_on(load(
                    run.addr,
                    c,
                    Arc::clone(reqs),
                    usize::MAX,
                    args.duration,
                    false,
                    StatusCode::OK,
                    false,
                ));
                print_phase(phase, c, &mut r);
                rows.push(Row { backend: name.into(), phase, clients: c, r });
            }
        }
        let (_, _, token) = &employees[0];
        if args.phase("steps") {
            server.block_on(calibrate(&run, &raw, &raw_company, &direct_company, token));
        }
    }

    server.block_on(async {
        let _ = raw.close().await;
    });
    drop(run);
    drop(node);
    loadgen.shutdown_timeout(Duration::from_secs(5));
    server.shutdown_timeout(Duration::from_secs(5));
    if let Some(pg) = &pg {
        pg_cleanup(pg);
    }
}

fn main() {
    let args = parse_args();
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    print_machine("idelta agent benchmark", &base);
    println!(
        "  {} employees per creation phase (cap {} s), clients {:?}, {} s per authenticated phase",
        args.employees,
        args.max_secs.as_secs(),
        args.clients,
        args.duration.as_secs()
    );
    let mut rows = Vec::new();
    for b in &args.backends {
        match b.as_str() {
            "sqlite" => run_backend(&args, "sqlite", &base, &mut rows),
            "postgres" if pg_answers(&args.pg) => run_backend(&args, "postgres", &base, &mut rows),
            "postgres" => println!("\n== backend postgres: nothing answers at {}; skipped", args.pg),
            other => println!("\n== unknown backend `{other}`; skipped"),
        }
    }
    print_table(&rows);
    println!("\ntarget: >= 2,000 sub-wallets/s (ACA-Py 1.7: 64-146/s with askar profiles, ~2/s one store per tenant)");
}
