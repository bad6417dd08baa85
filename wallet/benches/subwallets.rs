//! Sub-wallet creations per second (issue 3's target: ≥ 2,000/s).
//!
//! One creation is what onboarding an employee costs the wallet: an askar
//! profile, an Ed25519 key and a `did:key` record, either as two calls
//! (`create_sub_wallet` + `create_did_key`, two waits for durability) or as
//! one (`create_sub_wallet_with_did_key`, one wait). A single task gives the
//! latency floor; `CONCURRENCY` tasks (default 16) sharing one company store
//! create `SUBWALLETS` (default 2,000) sub-wallets each way. Then signatures
//! by key id (one read each) and through a `WalletSigner` (key loaded once).
//!
//! Runs on SQLite (temp dir, `synchronous=full` and `normal`) and on
//! PostgreSQL when `IDELTA_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) answers; `BACKENDS=sqlite`
//! or `BACKENDS=postgres` runs one, `PG_OPTIONS=?max_connections=N` tunes the
//! pool.
//!
//! `cargo bench -p idelta-wallet --bench subwallets`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idelta_wallet::{Backend, CompanyWallet, Holder, MasterKey, Signer, SqliteSync, Wallets};
use rand::RngCore;
use sqlx::{Connection, Executor, PgConnection};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

async fn run() {
    let total = env_usize("SUBWALLETS", 2_000);
    let concurrency = env_usize("CONCURRENCY", 16);
    println!(
        "sub-wallet creation = profile + Ed25519 key + did:key record; {} cores",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );

    let only = std::env::var("BACKENDS").unwrap_or_else(|_| "sqlite,postgres".to_owned());
    let dir = tempfile::tempdir().unwrap();
    if only.contains("sqlite") {
        for sync in [SqliteSync::Full, SqliteSync::Normal] {
            let sqlite = Backend::Sqlite { dir: dir.path().to_path_buf(), sync };
            bench_backend(
                &sqlite.to_string().replace(&dir.path().display().to_string(), "TMP"),
                sqlite,
                total,
                concurrency,
            )
            .await;
        }
    }
    if !only.contains("postgres") {
        return;
    }

    let admin_url = std::env::var("IDELTA_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
    match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&admin_url)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            let mut random = [0u8; 4];
            rand::thread_rng().fill_bytes(&mut random);
            let prefix = format!("idtwbench_{}", random.iter().map(|b| format!("{b:02x}")).collect::<String>());
            let authority = admin_url.split('?').next().and_then(|h| h.rsplit_once('/')).map(|(a, _)| a).unwrap();
            let options = std::env::var("PG_OPTIONS").unwrap_or_default();
            let backend: Backend = format!("{authority}/{prefix}{options}").parse().unwrap();
            bench_backend("postgres", backend, total, concurrency).await;
            // remove() dropped the databases; make sure of it if a run failed half-way.
            let mut conn = PgConnection::connect(&admin_url).await.unwrap();
            for company in ["bench-seq", "bench-par"] {
                let _ = conn
                    .execute(format!(r#"DROP DATABASE IF EXISTS "{prefix}_{company}" WITH (FORCE)"#).as_str())
                    .await;
            }
        }
        _ => println!("postgres: skipped, {admin_url} does not answer (set IDELTA_TEST_POSTGRES)"),
    }
}

async fn bench_backend(label: &str, backend: Backend, total: usize, concurrency: usize) {
    let wallets = Wallets::new(backend, MasterKey::generate());

    let seq = wallets.create("bench-seq").await.unwrap();
    let seq_n = (total / 4).max(1);
    println!("{label}: {seq_n} creations, 1 task, two calls: {}", create_many(&seq, 0..seq_n, 1, false).await);
    println!("{label}: {seq_n} creations, 1 task, one call: {}", create_many(&seq, seq_n..2 * seq_n, 1, true).await);

    let par = wallets.create("bench-par").await.unwrap();
    println!(
        "{label}: {total} creations, {concurrency} tasks, two calls: {}",
        create_many(&par, 0..total, concurrency, false).await
    );
    println!(
        "{label}: {total} creations, {concurrency} tasks, one call: {}",
        create_many(&par, total..2 * total, concurrency, true).await
    );

    // Signing: by key id (a read per signature) and through a signer.
    let (_, key) = par.create_did_key(Holder::Company).await.unwrap();
    let n = 2_000;
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (par, key_id, done) = (par.clone(), key.id.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while done.fetch_add(1, Ordering::Relaxed) < n {
                par.sign(Holder::Company, &key_id, b"benchmark message").await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    println!("{label}: sign by key id, {concurrency} tasks: {:.0}/s", n as f64 / started.elapsed().as_secs_f64());
    let signer = par.signer(Holder::Company, &key.id).await.unwrap();
    let started = Instant::now();
    for _ in 0..n {
        signer.sign(b"benchmark message").await.unwrap();
    }
    println!("{label}: sign through WalletSigner, 1 task: {:.0}/s", n as f64 / started.elapsed().as_secs_f64());

    wallets.remove("bench-seq").await.unwrap();
    wallets.remove("bench-par").await.unwrap();
}

/// Creates `total` sub-wallets with `concurrency` tasks; returns
/// (creations/s, p50 ms, p99 ms).
async fn create_many(
    wallet: &CompanyWallet,
    range: std::ops::Range<usize>,
    concurrency: usize,
    combined: bool,
) -> Creations {
    let total = range.len();
    let next = Arc::new(AtomicUsize::new(range.start));
    let end = range.end;
    let started = Instant::now();
    let cpu_before = (cpu_ticks(Who::Me), cpu_ticks(Who::Postgres));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (wallet, next) = (wallet.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    break latencies;
                }
                let name = format!("employee-{i}");
                let t = Instant::now();
                if combined {
                    wallet.create_sub_wallet_with_did_key(&name).await.unwrap();
                } else {
                    wallet.create_sub_wallet(&name).await.unwrap();
                    wallet.create_did_key(Holder::Sub(&name)).await.unwrap();
                }
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    let cpu = (cpu_ticks(Who::Me) - cpu_before.0, cpu_ticks(Who::Postgres) - cpu_before.1);
    latencies.sort_unstable();
    let pct = |p: f64| {
        let idx = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(idx).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    assert!(wallet.sub_wallets().await.unwrap().len() >= end);
    // Clock ticks are 10 ms: per-creation CPU in µs.
    let per = |ticks: u64| ticks as f64 * 10_000.0 / total as f64;
    Creations {
        rate: total as f64 / elapsed.as_secs_f64(),
        p50: pct(0.5),
        p99: pct(0.99),
        cpu: (per(cpu.0), per(cpu.1)),
    }
}

struct Creations {
    rate: f64,
    p50: f64,
    p99: f64,
    /// CPU µs per creation: this process, PostgreSQL server processes.
    cpu: (f64, f64),
}

impl std::fmt::Display for Creations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0}/s (p50 {:.2} ms, p99 {:.2} ms; CPU/creation: wallet {:.0} µs, postgres {:.0} µs)",
            self.rate, self.p50, self.p99, self.cpu.0, self.cpu.1
        )
    }
}

enum Who {
    Me,
    Postgres,
}

/// User + system clock ticks used so far by this process or by all live
/// PostgreSQL server processes (Linux `/proc`; 0 elsewhere). A machine
/// shared with other work makes rates noisy; CPU per creation is not.
fn cpu_ticks(who: Who) -> u64 {
    let ticks = |stat: &str| -> u64 {
        // Fields after the parenthesised command: state is field 3, utime 14, stime 15.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let get = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        get(14) + get(15)
    };
    match who {
        Who::Me => std::fs::read_to_string("/proc/self/stat").map(|s| ticks(&s)).unwrap_or(0),
        Who::Postgres => std::fs::read_dir("/proc")
            .map(|dir| {
                dir.flatten()
                    .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
                    .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
                    .filter(|stat| stat.contains("(postgres)"))
                    .map(|stat| ticks(&stat))
                    .sum()
            })
            .unwrap_or(0),
    }
}
