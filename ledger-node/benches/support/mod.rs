//! What both benchmarks share (`ledger-node/benches/ledger.rs`, and
//! `agent/benches/agent.rs` by `#[path]`): per-thread CPU accounting from
//! /proc, an fsync probe, load average, percentiles, keep-alive HTTP/1.1
//! connections for the load generator, and a bounded timing loop.

use axum::body::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Median and p99 of 200 `write + fdatasync` of 4 KiB (at most 5 s).
pub fn fsync_probe(dir: &std::path::Path) -> String {
    use std::io::Write as _;
    let path = dir.join("fsync-probe");
    let Ok(mut f) = std::fs::File::create(&path) else { return "unavailable".into() };
    let block = [7u8; 4096];
    let mut lat = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    for _ in 0..200 {
        if Instant::now() > deadline {
            break;
        }
        let t = Instant::now();
        if f.write_all(&block).and_then(|()| f.sync_data()).is_err() {
            return "failed".into();
        }
        lat.push(t.elapsed().as_micros() as u64);
    }
    let _ = std::fs::remove_file(&path);
    lat.sort_unstable();
    format!("p50 {} µs, p99 {} µs over {} syncs", pct(&lat, 50.0), pct(&lat, 99.0), lat.len())
}

/// CPU time (user + system, clock ticks of 10 ms) of this process's
/// threads, summed by thread name: `server`, `loadgen`, `ledger-sequence`.
pub fn thread_cpu() -> BTreeMap<String, u64> {
    let mut by_name = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return by_name };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // pid (comm) state ... field 14 utime, 15 stime (1-based).
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let name = stat[open + 1..close].to_owned();
        let rest: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks = rest.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
            + rest.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        *by_name.entry(name).or_insert(0) += ticks;
    }
    by_name
}

/// CPU seconds each thread group used since `before`.
pub fn cpu_since(before: &BTreeMap<String, u64>) -> Vec<(String, f64)> {
    thread_cpu()
        .into_iter()
        .map(|(name, t)| {
            let used = t.saturating_sub(before.get(&name).copied().unwrap_or(0)) as f64 / 100.0;
            (name, used)
        })
        .filter(|(_, used)| *used > 0.0)
        .collect()
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// A keep-alive HTTP/1.1 connection of the load generator.
pub type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Opens one keep-alive connection (no Nagle delay) to `addr`.
pub async fn connect(addr: SocketAddr) -> Sender {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect to the server");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
}

/// Mean µs of `f` over up to `n` runs (at most 1 s).
pub fn mean_us<T>(n: usize, mut f: impl FnMut(usize) -> T) -> f64 {
    let start = Instant::now();
    let mut done = 0;
    while done < n && start.elapsed() < Duration::from_secs(1) {
        std::hint::black_box(f(done));
        done += 1;
    }
    start.elapsed().as_secs_f64() * 1e6 / done.max(1) as f64
}
