//! What the agent's benchmarks share (`agent/benches/agent.rs`,
//! `agent/benches/credentials.rs` and `agent/benches/loyalty.rs`): the
//! ledger node and the agent started as `idelta up` starts them (SQLite,
//! or PostgreSQL when asked), the keep-alive HTTP load generator, CPU
//! accounting per thread group and for the machine, and the result rows.
//! Each bench uses part of it.

#![allow(dead_code, clippy::too_many_arguments)]

use super::support::{connect, cpu_since, fsync_probe, ms, pct, thread_cpu};

use axum::body::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::http::HeaderValue;
use hyper::{Method, Request, StatusCode};
use idelta_agent::http::now_ms;
use idelta_agent::service::{AgentConfig, DEFAULT_TOKEN_TTL_SECS};
use idelta_agent::AppState;
use idelta_ledger_node::client::LedgerClient;
use idelta_ledger_node::keys::DevKeyStore;
use idelta_ledger_node::node::{Node, TRUSTEE_KEYS_FILE};
use idelta_wallet::{Backend, MasterKey};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Prints the bench's title, the machine's cores and its fsync latency in `base`.
pub fn print_machine(title: &str, base: &Path) {
    println!("{title}");
    println!("  cores {}, {}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), fsync_probe(base));
}

/// The runtime of the service (threads `server`) and the load generator's (`loadgen`).
pub fn runtimes() -> (tokio::runtime::Runtime, tokio::runtime::Runtime) {
    let runtime = |name: &str| {
        tokio::runtime::Builder::new_multi_thread().thread_name(name).enable_all().build().expect("tokio runtime")
    };
    (runtime("server"), runtime("loadgen"))
}

// ---------------------------------------------------------------- command line

/// The number after `name` on the command line (`_` separators allowed).
pub fn arg_number(v: Option<String>, name: &str) -> u64 {
    v.and_then(|s| s.replace('_', "").parse().ok()).unwrap_or_else(|| panic!("{name} needs a number"))
}

/// The comma-separated list after `name`.
pub fn arg_list(v: Option<String>, name: &str) -> Vec<String> {
    v.unwrap_or_else(|| panic!("{name} needs a list")).split(',').map(|s| s.trim().to_owned()).collect()
}

/// The positive client counts after `--clients`.
pub fn arg_clients(v: Option<String>) -> Vec<usize> {
    let clients: Vec<usize> = arg_list(v, "--clients").iter().map(|c| c.parse().expect("--clients: numbers")).collect();
    assert!(clients.iter().all(|&c| c > 0), "--clients must be positive");
    clients
}

/// An argument the bench does not take itself: `--bench` (cargo adds it)
/// is ignored, `-h` / `--help` prints the first `lines` of the bench's
/// `//!` documentation `source` and exits, anything else is reported.
pub fn other_arg(arg: &str, source: &str, lines: usize) {
    match arg {
        "--bench" => {}
        "-h" | "--help" => {
            let doc: Vec<&str> = source.lines().take(lines).map(|l| l.trim_start_matches("//!")).collect();
            println!("{}", doc.join("\n"));
            std::process::exit(0);
        }
        other => eprintln!("ignoring argument `{other}`"),
    }
}

// ---------------------------------------------------------------- machine and CPU

/// Busy jiffies of the whole machine (all processes, all cores).
pub fn machine_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    f.iter().take(8).sum::<u64>() - f.get(3).copied().unwrap_or(0) - f.get(4).copied().unwrap_or(0)
}

/// CPU ticks of every process named `postgres` (the server and its backends).
pub fn postgres_ticks() -> u64 {
    let Ok(procs) = std::fs::read_dir("/proc") else { return 0 };
    procs
        .flatten()
        .filter(|p| p.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter_map(|p| std::fs::read_to_string(p.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .map(|stat| {
            let rest: Vec<&str> = stat[stat.rfind(')').unwrap_or(0) + 2..].split_whitespace().collect();
            rest.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
                + rest.get(12).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        })
        .sum()
}

/// Snapshot of CPU counters at the start of a phase.
pub struct Cpu {
    pub threads: BTreeMap<String, u64>,
    pub machine: u64,
    pub postgres: u64,
}

impl Cpu {
    pub fn now() -> Cpu {
        Cpu { threads: thread_cpu(), machine: machine_ticks(), postgres: postgres_ticks() }
    }
    /// Fills `r.cpu`, `r.machine_s` and `r.postgres_s` with what was used since.
    pub fn since(&self, r: &mut Phase) {
        r.cpu = cpu_since(&self.threads);
        r.machine_s = machine_ticks().saturating_sub(self.machine) as f64 / 100.0;
        r.postgres_s = postgres_ticks().saturating_sub(self.postgres) as f64 / 100.0;
    }
}

// ---------------------------------------------------------------- results

#[derive(Default)]
pub struct Phase {
    pub ok: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    pub latencies_us: Vec<u64>,
    pub elapsed: Duration,
    pub cpu: Vec<(String, f64)>,
    /// CPU seconds of the whole machine and of PostgreSQL processes.
    pub machine_s: f64,
    pub postgres_s: f64,
    pub bodies: Vec<Bytes>,
    /// In-process add_employee: (employee id, token).
    pub made: Vec<(String, String)>,
    /// Raw phase only: µs in create_sub_wallet and create_did_key.
    pub split_us: (u64, u64),
}

impl Phase {
    pub fn merge(&mut self, o: Phase) {
        self.ok += o.ok;
        self.errors += o.errors;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
        self.latencies_us.extend(o.latencies_us);
        self.bodies.extend(o.bodies);
        self.made.extend(o.made);
        self.split_us.0 += o.split_us.0;
        self.split_us.1 += o.split_us.1;
    }
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub fn busy(&self) -> f64 {
        self.cpu.iter().map(|(_, s)| s).sum::<f64>() / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// Server-side CPU µs per success (everything but the load generator).
    pub fn server_us(&self) -> f64 {
        let s: f64 = self.cpu.iter().filter(|(n, _)| n != "loadgen").map(|(_, s)| s).sum();
        s * 1e6 / self.ok.max(1) as f64
    }
}

pub struct Row {
    pub backend: String,
    pub phase: &'static str,
    pub clients: usize,
    pub r: Phase,
}

pub fn print_phase(phase: &str, clients: usize, r: &mut Phase) {
    r.latencies_us.sort_unstable();
    let l = &r.latencies_us;
    println!(
        "  {phase:<18} C={clients:<3} {:>6} ok in {:>5.2} s = {:>7.0} /s  p50 {} ms  p99 {} ms  max {} ms  errors {}",
        r.ok,
        r.elapsed.as_secs_f64(),
        r.rate(),
        ms(pct(l, 50.0)),
        ms(pct(l, 99.0)),
        ms(l.last().copied().unwrap_or(0)),
        r.errors
    );
    let wall = r.elapsed.as_secs_f64().max(1e-9);
    let parts: Vec<String> = r.cpu.iter().map(|(n, s)| format!("{n} {:.2}", s / wall)).collect();
    println!(
        "    cores busy {:.2} ({}); server-side CPU {:.0} µs/op; postgres processes {:.2} cores; whole machine {:.2} cores",
        r.busy(),
        parts.join(", "),
        r.server_us(),
        r.postgres_s / wall,
        r.machine_s / wall
    );
    if r.split_us != (0, 0) {
        let n = r.ok.max(1) as u64;
        println!(
            "    mean latency: create_sub_wallet {} ms, create_did_key {} ms",
            ms(r.split_us.0 / n),
            ms(r.split_us.1 / n)
        );
    }
    if let Some(e) = &r.first_error {
        println!("    first error: {}", e.chars().take(300).collect::<String>());
    }
}

// ---------------------------------------------------------------- HTTP load generator

/// One pre-built request: method, path, bearer, body.
#[derive(Clone)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub auth: HeaderValue,
    pub body: Bytes,
}

impl Req {
    pub fn build(&self) -> Request<Full<Bytes>> {
        let mut b = Request::builder()
            .method(self.method.clone())
            .uri(self.path.as_str())
            .header(HOST, "127.0.0.1")
            .header(AUTHORIZATION, self.auth.clone());
        if !self.body.is_empty() {
            b = b.header(CONTENT_TYPE, "application/json");
        }
        b.body(Full::new(self.body.clone())).expect("request")
    }
}

/// C clients send requests until `count` or `limit`. `sequential`: request
/// i is `reqs[i]` (each once); otherwise a random one. Only `expect` counts.
pub async fn load(
    addr: SocketAddr,
    clients: usize,
    reqs: Arc<Vec<Req>>,
    count: usize,
    limit: Duration,
    sequential: bool,
    expect: StatusCode,
    keep_bodies: bool,
) -> Phase {
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..clients {
        senders.push(connect(addr).await);
    }
    let cpu = Cpu::now();
    let start = Instant::now();
    let deadline = start + limit;
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(c, mut sender)| {
            let (next, reqs) = (Arc::clone(&next), Arc::clone(&reqs));
            tokio::spawn(async move {
                let mut r = Phase::default();
                let mut rng = 0x9E37_79B9_7F4A_7C15_u64 ^ (c as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count || Instant::now() > deadline {
                        break;
                    }
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let req = if sequential { &reqs[i] } else { &reqs[(rng % reqs.len() as u64) as usize] };
                    let t = Instant::now();
                    let run = async {
                        sender.ready().await.map_err(|e| e.to_string())?;
                        let resp = sender.send_request(req.build()).await.map_err(|e| e.to_string())?;
                        let status = resp.status();
                        let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
                        Ok::<_, String>((status, body))
                    };
                    match tokio::time::timeout(REQUEST_TIMEOUT, run).await {
                        Ok(Ok((status, body))) if status == expect => {
                            r.ok += 1;
                            r.latencies_us.push(t.elapsed().as_micros() as u64);
                            if keep_bodies {
                                r.bodies.push(body);
                            }
                        }
                        Ok(Ok((status, body))) => {
                            r.errors += 1;
                            r.first_error
                                .get_or_insert_with(|| format!("{status}: {}", String::from_utf8_lossy(&body)));
                        }
                        Ok(Err(e)) => {
                            r.errors += 1;
                            r.first_error.get_or_insert(e);
                            break;
                        }
                        Err(_) => {
                            r.errors += 1;
                            r.first_error.get_or_insert("request timed out".into());
                            break;
                        }
                    }
                }
                r
            })
        })
        .collect();
    let mut total = Phase::default();
    for t in tasks {
        total.merge(t.await.expect("client task"));
    }
    total.elapsed = start.elapsed();
    cpu.since(&mut total);
    total
}

// ---------------------------------------------------------------- setup

pub struct Pg {
    pub admin_url: String,
    pub agent_db: String,
    pub wallet_prefix: String,
}

/// The PostgreSQL databases of a run on `backend` (`sqlite`: none), named
/// with `prefix` and a tag unique to this process; panics (a bench's way to
/// stop) on an unknown backend or a PostgreSQL that does not answer.
pub fn backend(backend: &str, pg_url: &str, prefix: &str) -> Option<Pg> {
    match backend {
        "sqlite" => None,
        "postgres" if pg_answers(pg_url) => {
            let tag = format!("{:x}{:x}", std::process::id(), now_ms());
            Some(Pg {
                admin_url: pg_url.to_owned(),
                agent_db: format!("{prefix}{tag}_agent"),
                wallet_prefix: format!("{prefix}{tag}"),
            })
        }
        "postgres" => panic!("nothing answers at {pg_url}"),
        other => panic!("unknown backend `{other}`"),
    }
}

pub fn pg_answers(url: &str) -> bool {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return false };
    rt.block_on(async {
        use sqlx::Connection as _;
        match tokio::time::timeout(Duration::from_secs(3), sqlx::PgConnection::connect(url)).await {
            Ok(Ok(c)) => {
                let _ = c.close().await;
                true
            }
            _ => false,
        }
    })
}

pub async fn pg_exec(url: &str, sql: &str) {
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
    sqlx::query(sql).execute(&mut c).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = c.close().await;
}

/// Drops the agent database and every wallet database of this run.
pub fn pg_cleanup(pg: &Pg) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    rt.block_on(async {
        use sqlx::{Connection as _, Row as _};
        let mut c = sqlx::PgConnection::connect(&pg.admin_url).await.expect("postgres");
        let rows = sqlx::query("SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $2)")
            .bind(&pg.agent_db)
            .bind(format!("{}_", pg.wallet_prefix))
            .fetch_all(&mut c)
            .await
            .expect("list databases");
        for row in rows {
            let name: String = row.get(0);
            let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", name.replace('"', "\"\""));
            if let Err(e) = sqlx::query(&sql).execute(&mut c).await {
                eprintln!("could not drop {name}: {e}");
            }
        }
        let _ = c.close().await;
    });
}

/// (commits, rollbacks) of the agent database and of the wallet databases
/// of this run, after PostgreSQL has flushed its statistics (≤ 1 s).
pub async fn pg_xacts(pg: &Pg) -> [(i64, i64); 2] {
    use sqlx::{Connection as _, Row as _};
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut c = sqlx::PgConnection::connect(&pg.admin_url).await.expect("postgres");
    let mut out = [(0, 0); 2];
    for (i, (op, arg)) in [("=", pg.agent_db.clone()), ("^@", format!("{}_", pg.wallet_prefix))].iter().enumerate() {
        let row = sqlx::query(&format!(
            "SELECT COALESCE(SUM(xact_commit), 0)::BIGINT, COALESCE(SUM(xact_rollback), 0)::BIGINT \
             FROM pg_stat_database WHERE datname {op} $1"
        ))
        .bind(arg)
        .fetch_one(&mut c)
        .await
        .expect("pg_stat_database");
        out[i] = (row.get(0), row.get(1));
    }
    let _ = c.close().await;
    out
}

pub fn print_xacts(before: Option<[(i64, i64); 2]>, after: Option<[(i64, i64); 2]>, ok: usize) {
    let (Some(b), Some(a)) = (before, after) else { return };
    let per = |n: i64| n as f64 / ok.max(1) as f64;
    println!(
        "    postgres per success: agent db {:.1} commits + {:.1} rollbacks; wallet dbs {:.1} commits + {:.1} rollbacks",
        per(a[0].0 - b[0].0),
        per(a[0].1 - b[0].1),
        per(a[1].0 - b[1].0),
        per(a[1].1 - b[1].1)
    );
}

pub fn pg_url_with_db(admin: &str, db: &str) -> String {
    let (head, query) = admin.split_once('?').map_or((admin, ""), |(h, q)| (h, q));
    let base = head.rsplit_once('/').map_or(head, |(b, _)| b);
    if query.is_empty() {
        format!("{base}/{db}")
    } else {
        format!("{base}/{db}?{query}")
    }
}

pub struct Running {
    pub state: AppState,
    pub addr: SocketAddr,
    pub backend: Backend,
    /// The operator API key (for operator routes over HTTP).
    pub operator_key: String,
}

pub async fn start_all(dir: &Path, pg: Option<&Pg>) -> (Node, Running) {
    let ledger_dir = dir.join("ledger");
    let node = Node::start(&ledger_dir).await.expect("ledger start");
    let ledger_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let ledger_addr = ledger_listener.local_addr().expect("addr");
    let ledger_app = idelta_ledger_node::http::router(node.clone());
    tokio::spawn(async move { axum::serve(ledger_listener, ledger_app).await });

    let (db_url, backend) = match pg {
        None => {
            let wallets = dir.join("wallets");
            std::fs::create_dir_all(&wallets).expect("wallet dir");
            (
                format!("sqlite://{}", dir.join("agent.db").display()),
                format!("sqlite://{}", wallets.display()).parse::<Backend>().expect("backend"),
            )
        }
        Some(pg) => {
            pg_exec(&pg.admin_url, &format!("CREATE DATABASE \"{}\"", pg.agent_db)).await;
            (
                pg_url_with_db(&pg.admin_url, &pg.agent_db),
                pg_url_with_db(&pg.admin_url, &pg.wallet_prefix).parse::<Backend>().expect("backend"),
            )
        }
    };
    let mut key = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let operator_key = format!("op_{}", hex::encode(key));
    let config = AgentConfig {
        db_url,
        wallets: backend.clone(),
        master_key: MasterKey::generate(),
        operator_api_key: operator_key.clone(),
        ledger: LedgerClient::new(&format!("http://{ledger_addr}"), node.public_key()).expect("client"),
        token_ttl_secs: DEFAULT_TOKEN_TTL_SECS,
        bootstrap_trustee: Some(DevKeyStore::load(&ledger_dir.join(TRUSTEE_KEYS_FILE)).expect("trustee keys")),
        public_url: None,
    };
    let state = idelta_agent::start(config).await.expect("agent start");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = idelta_agent::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (node, Running { state, addr, backend, operator_key })
}

pub fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).expect("header")
}

pub async fn mean_us_async<Fut: std::future::Future>(n: usize, mut f: impl FnMut(usize) -> Fut) -> f64 {
    let t = Instant::now();
    for i in 0..n {
        std::hint::black_box(f(i).await);
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// The summary table of every phase run, as Markdown.
pub fn print_table(rows: &[Row]) {
    println!(
        "\n| backend | phase | clients | ok | errors | per second | p50 ms | p99 ms | bench process cores | agent CPU µs/op | postgres CPU µs/op | machine cores |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let r = &row.r;
        println!(
            "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {:.2} | {:.0} | {:.0} | {:.2} |",
            row.backend,
            row.phase,
            row.clients,
            r.ok,
            r.errors,
            r.rate(),
            ms(pct(&r.latencies_us, 50.0)),
            ms(pct(&r.latencies_us, 99.0)),
            r.busy(),
            r.server_us(),
            r.postgres_s * 1e6 / r.ok.max(1) as f64,
            r.machine_s / r.elapsed.as_secs_f64().max(1e-9)
        );
    }
}
