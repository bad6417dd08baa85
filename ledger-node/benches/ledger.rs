//! Ledger node benchmark: durable signed DID writes per second over HTTP
//! with concurrent clients, acknowledgement latency, and DID resolutions
//! (with proofs) per second. See BENCHMARKS.md.
//!
//! ```text
//! cargo bench -p idelta-ledger-node --bench ledger -- \
//!     [--writes N] [--updates N] [--clients C[,C,...]] [--resolutions N] \
//!     [--duration-secs S] [--max-write-secs S] [--dir PATH]
//! ```
//! Defaults: 20000 creates, 5000 updates, clients 16,64,256, up to 1000000
//! resolutions in 5 s, 60 s per write phase, `$TMPDIR` (about 30 s in all).
//!
//! For each client count a fresh node is initialised in a temporary data
//! directory (`Node::init`, `Node::start`), served by axum on
//! `127.0.0.1:0` from its own multi-threaded tokio runtime (threads
//! `server`), and loaded by C keep-alive HTTP/1.1 connections driven from a
//! second runtime (threads `loadgen`). Server, sequencer and load generator
//! share the same cores: the figures are for both on one machine.
//!
//! Every transaction is built and signed before the timed phase: signing is
//! the client's cost, not the ledger's. Each `did.create` is authored by a
//! fresh key and endorsed by the genesis trustee, so the node checks two
//! Ed25519 signatures per write. The optional `did.update` phase has the
//! created DIDs (no role) replace their documents, again endorsed.
//!
//! Every loop is bounded by a count and a time limit; all traffic goes to
//! 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;
use support::{connect, cpu_since, fsync_probe, loadavg, mean_us, ms, pct, thread_cpu, Sender};

use axum::body::Bytes;
use ed25519_dalek::{Signer as _, SigningKey};
use http_body_util::{BodyExt as _, Full};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use idelta_ledger_node::keys::{DevKey, DevKeyStore};
use idelta_ledger_node::node::{Node, TRUSTEE_KEYS_FILE};
use idelta_types::canonical::b64;
use idelta_types::log::{decode_hashes, LeafInput, Receipt};
use idelta_types::merkle::{leaf_hash, verify_inclusion};
use idelta_types::resolution::ResolutionResult;
use idelta_types::tx::{DidCreate, DidUpdate};
use idelta_types::{Did, DidDocument, PublicKey, Service, SignedTransaction, TxType};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest wait for one response before the client gives up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

struct Args {
    writes: usize,
    updates: usize,
    clients: Vec<usize>,
    resolutions: usize,
    duration: Duration,
    max_write: Duration,
    dir: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut a = Args {
        writes: 20_000,
        updates: 5_000,
        clients: vec![16, 64, 256],
        resolutions: 1_000_000,
        duration: Duration::from_secs(5),
        max_write: Duration::from_secs(60),
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>, name: &str| -> u64 {
        v.and_then(|s| s.replace('_', "").parse().ok()).unwrap_or_else(|| panic!("{name} needs a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--writes" => a.writes = num(it.next(), "--writes") as usize,
            "--updates" => a.updates = num(it.next(), "--updates") as usize,
            "--resolutions" => a.resolutions = num(it.next(), "--resolutions") as usize,
            "--duration-secs" => a.duration = Duration::from_secs(num(it.next(), "--duration-secs")),
            "--max-write-secs" => a.max_write = Duration::from_secs(num(it.next(), "--max-write-secs")),
            "--clients" => {
                let v = it.next().expect("--clients needs C or C,C,...");
                a.clients = v.split(',').map(|c| c.trim().parse().expect("--clients: numbers")).collect();
            }
            "--dir" => a.dir = Some(PathBuf::from(it.next().expect("--dir needs a path"))),
            // `cargo bench` passes `--bench`; libtest-style filters are ignored.
            "--bench" => {}
            "-h" | "--help" => {
                println!(
                    "{}",
                    include_str!("ledger.rs")
                        .lines()
                        .take(11)
                        .map(|l| l.trim_start_matches("//!"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                std::process::exit(0);
            }
            other => eprintln!("ignoring argument `{other}`"),
        }
    }
    assert!(a.clients.iter().all(|&c| c > 0), "--clients must be positive");
    a
}

// ---------------------------------------------------------------- machine

fn machine_info(dir: &std::path::Path) -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let mhz = cpuinfo
        .lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .map(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<u64>().ok()).unwrap_or(0) / 1024 / 1024)
        .unwrap_or(0);
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let fs = filesystem_of(dir);
    let fsync = fsync_probe(dir);
    vec![
        ("cores (nproc)".into(), nproc.to_string()),
        ("cpu".into(), format!("{model} {mhz} MHz")),
        ("memory".into(), format!("{mem} GiB")),
        ("data dir".into(), format!("{} ({fs})", dir.display())),
        ("fsync (4 KiB write + fdatasync)".into(), fsync),
    ]
}

/// The mount that holds `dir`, from /proc/mounts (longest prefix).
fn filesystem_of(dir: &std::path::Path) -> String {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && dir.starts_with(f[1])).then(|| (f[1].len(), format!("{} on {}, {}", f[0], f[1], f[2])))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, s)| s)
        .unwrap_or_else(|| "unknown fs".into())
}

// ---------------------------------------------------------------- workload

struct Signer {
    did: Did,
    kid: String,
    key: SigningKey,
}

fn trustee(dir: &std::path::Path) -> Signer {
    let store = DevKeyStore::load(&dir.join(TRUSTEE_KEYS_FILE)).expect("trustee key store");
    let dev = store.keys.first().expect("a trustee");
    Signer { did: dev.did.clone(), kid: dev.kid.clone(), key: dev.signing_key().expect("trustee key") }
}

/// Pre-signed request bodies: creates, updates (of the first DIDs) and the
/// DIDs, built on every core before anything is timed.
struct Workload {
    creates: Vec<Bytes>,
    updates: Vec<Bytes>,
    dids: Vec<Did>,
}

fn build_workload(trustee: &Signer, writes: usize, updates: usize) -> Workload {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let chunk = writes.div_ceil(threads).max(1);
    let parts: Vec<Vec<(Did, Bytes, Option<Bytes>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..writes)
            .step_by(chunk)
            .map(|start| {
                let end = (start + chunk).min(writes);
                s.spawn(move || (start..end).map(|i| one_did(trustee, i < updates)).collect::<Vec<_>>())
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("signer thread")).collect()
    });
    let mut w = Workload { creates: Vec::with_capacity(writes), updates: Vec::new(), dids: Vec::with_capacity(writes) };
    for (did, create, update) in parts.into_iter().flatten() {
        w.dids.push(did);
        w.creates.push(create);
        w.updates.extend(update);
    }
    w
}

fn sign_all(tx: &mut SignedTransaction, signers: &[(&str, &SigningKey)]) {
    for (kid, key) in signers {
        tx.add_signature((*kid).to_owned(), |m| key.sign(m).to_bytes()).expect("sign");
    }
}

/// A fresh DID: its endorsed `did.create` (seq 1) and, if asked, an
/// endorsed `did.update` (seq 2) adding a service.
fn one_did(trustee: &Signer, with_update: bool) -> (Did, Bytes, Option<Bytes>) {
    let (dev, key) = DevKey::generate();
    let public = PublicKey::Ed25519(key.verifying_key());
    let document = DidDocument::with_ed25519_key(&dev.did, &public, vec![]);
    let signers = [(dev.kid.as_str(), &key), (trustee.kid.as_str(), &trustee.key)];
    let mut create = SignedTransaction::new(
        TxType::DidCreate,
        dev.did.clone(),
        1,
        &DidCreate { document },
        Some(trustee.did.clone()),
    )
    .expect("create");
    sign_all(&mut create, &signers);
    let update = with_update.then(|| {
        let service = Service {
            id: dev.did.with_fragment("home"),
            kind: "LinkedDomains".into(),
            service_endpoint: serde_json::json!("https://example.com/"),
        };
        let document = DidDocument::with_ed25519_key(&dev.did, &public, vec![service]);
        let mut update = SignedTransaction::new(
            TxType::DidUpdate,
            dev.did.clone(),
            2,
            &DidUpdate { document },
            Some(trustee.did.clone()),
        )
        .expect("update");
        sign_all(&mut update, &signers);
        Bytes::from(serde_json::to_vec(&update).expect("json"))
    });
    (dev.did, Bytes::from(serde_json::to_vec(&create).expect("json")), update)
}

// ---------------------------------------------------------------- load generator

#[derive(Default)]
struct PhaseResult {
    ok: usize,
    errors: usize,
    first_error: Option<String>,
    latencies_us: Vec<u64>,
    elapsed: Duration,
    /// CPU seconds used during the phase, by thread group.
    cpu: Vec<(String, f64)>,
    /// Distinct `tree_size` values seen in receipts: one per batch (fsync).
    batches: HashSet<u64>,
}

impl PhaseResult {
    fn merge(&mut self, other: PhaseResult) {
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies_us.extend(other.latencies_us);
        self.batches.extend(other.batches);
    }
    /// CPU µs per successful request: (all threads, node threads only).
    fn cpu_per_op(&self) -> (f64, f64) {
        let all: f64 = self.cpu.iter().map(|(_, s)| s).sum();
        let node: f64 = self.cpu.iter().filter(|(n, _)| n != "loadgen").map(|(_, s)| s).sum();
        let ok = self.ok.max(1) as f64;
        (all * 1e6 / ok, node * 1e6 / ok)
    }
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// One request on a keep-alive connection: status, body, latency.
async fn exchange(sender: &mut Sender, req: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes, u64), String> {
    let start = Instant::now();
    let run = async {
        sender.ready().await.map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok::<_, String>((status, body))
    };
    let (status, body) =
        tokio::time::timeout(REQUEST_TIMEOUT, run).await.map_err(|_| "request timed out".to_owned())??;
    Ok((status, body, start.elapsed().as_micros() as u64))
}

/// C clients POST `bodies` (each once, shared cursor) until done or the
/// deadline; only 201 counts.
async fn post_all(addr: SocketAddr, clients: usize, bodies: Arc<Vec<Bytes>>, limit: Duration) -> PhaseResult {
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..clients {
        senders.push(connect(addr).await);
    }
    let cpu = thread_cpu();
    let start = Instant::now();
    let deadline = start + limit;
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let (next, bodies) = (Arc::clone(&next), Arc::clone(&bodies));
            tokio::spawn(async move {
                let mut r =
                    PhaseResult { latencies_us: Vec::with_capacity(bodies.len() / clients + 1), ..Default::default() };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= bodies.len() || Instant::now() > deadline {
                        break;
                    }
                    let req = Request::post("/v1/transactions")
                        .header(HOST, "127.0.0.1")
                        .header(CONTENT_TYPE, "application/json")
                        .body(Full::new(bodies[i].clone()))
                        .expect("request");
                    match exchange(&mut sender, req).await {
                        Ok((StatusCode::CREATED, body, us)) => {
                            r.ok += 1;
                            r.latencies_us.push(us);
                            if let Ok(receipt) = serde_json::from_slice::<Receipt>(&body) {
                                r.batches.insert(receipt.tree_size);
                            }
                        }
                        Ok((status, body, _)) => {
                            r.errors += 1;
                            r.first_error
                                .get_or_insert_with(|| format!("{status}: {}", String::from_utf8_lossy(&body)));
                        }
                        Err(e) => {
                            r.errors += 1;
                            r.first_error.get_or_insert(e);
                            break;
                        }
                    }
                }
                r
            })
        })
        .collect();
    let mut total = PhaseResult::default();
    for t in tasks {
        total.merge(t.await.expect("client task"));
    }
    total.elapsed = start.elapsed();
    total.cpu = cpu_since(&cpu);
    total
}

/// C clients GET random resolutions until `count` or `limit`; only 200 counts.
async fn resolve_all(
    addr: SocketAddr,
    clients: usize,
    paths: Arc<Vec<String>>,
    count: usize,
    limit: Duration,
) -> PhaseResult {
    let issued = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..clients {
        senders.push(connect(addr).await);
    }
    let cpu = thread_cpu();
    let start = Instant::now();
    let deadline = start + limit;
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(c, mut sender)| {
            let (issued, paths) = (Arc::clone(&issued), Arc::clone(&paths));
            tokio::spawn(async move {
                let mut r = PhaseResult { latencies_us: Vec::with_capacity(1 << 16), ..Default::default() };
                let mut rng = 0x9E37_79B9_7F4A_7C15_u64 ^ (c as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                loop {
                    if issued.fetch_add(1, Ordering::Relaxed) >= count || Instant::now() > deadline {
                        break;
                    }
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let path = &paths[(rng % paths.len() as u64) as usize];
                    let req = Request::get(path.as_str())
                        .header(HOST, "127.0.0.1")
                        .body(Full::new(Bytes::new()))
                        .expect("request");
                    match exchange(&mut sender, req).await {
                        Ok((StatusCode::OK, _, us)) => {
                            r.ok += 1;
                            r.latencies_us.push(us);
                        }
                        Ok((status, body, _)) => {
                            r.errors += 1;
                            r.first_error
                                .get_or_insert_with(|| format!("{status}: {}", String::from_utf8_lossy(&body)));
                        }
                        Err(e) => {
                            r.errors += 1;
                            r.first_error.get_or_insert(e);
                            break;
                        }
                    }
                }
                r
            })
        })
        .collect();
    let mut total = PhaseResult::default();
    for t in tasks {
        total.merge(t.await.expect("client task"));
    }
    total.elapsed = start.elapsed();
    total.cpu = cpu_since(&cpu);
    total
}

/// Fetches one resolution and checks its proof as a client would: the leaf
/// is the DID's transaction, the audit path leads to the root, the node
/// signed that root. Returns the response size.
async fn verify_one(addr: SocketAddr, did: &Did, node_key: &PublicKey, expect_version: &str) -> usize {
    let mut sender = connect(addr).await;
    let req = Request::get(format!("/1.0/identifiers/{did}"))
        .header(HOST, "127.0.0.1")
        .body(Full::new(Bytes::new()))
        .expect("req");
    let (status, body, _) = exchange(&mut sender, req).await.expect("resolve");
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let result: ResolutionResult = serde_json::from_slice(&body).expect("resolution result");
    let meta = &result.did_document_metadata;
    assert_eq!(meta.version_id.as_deref(), Some(expect_version), "version");
    let proof = meta.ledger.as_ref().expect("didDocumentMetadata.ledger");
    let input = b64::decode("leaf_input", &proof.leaf_input).expect("leaf_input");
    let leaf = LeafInput::decode(&input).expect("leaf");
    assert_eq!(&leaf.tx.author, did, "the proved leaf is the DID's transaction");
    let doc = result.did_document.as_ref().expect("document");
    assert_eq!(doc, &leaf.tx.payload["document"], "the document is the one in the proved leaf");
    let path = decode_hashes("audit_path", &proof.audit_path).expect("audit path");
    let root = proof.sth.root().expect("root");
    assert_eq!(proof.sth.tree_size, proof.tree_size);
    verify_inclusion(proof.leaf_index, proof.tree_size, &leaf_hash(&input), &path, &root).expect("inclusion proof");
    proof.sth.verify(node_key).expect("tree head signature");
    body.len()
}

// ---------------------------------------------------------------- calibration

/// Single-thread cost of each step a write and a resolution take, measured
/// in-process without HTTP, to attribute the figures above.
fn calibrate(node: &Node, bodies: &[Bytes], dids: &[Did]) {
    use idelta_ledger_node::admission::admit_json;
    let n = bodies.len().min(2000);
    if n == 0 {
        return;
    }
    let admitted: Vec<_> = bodies[..n].iter().map(|b| admit_json(b).expect("admit")).collect();
    let keys: Vec<Vec<ed25519_dalek::VerifyingKey>> = admitted
        .iter()
        .map(|a| {
            let doc: DidCreate = a.tx.payload_as().expect("payload");
            let author = match PublicKey::from_multibase(&doc.document.verification_method[0].public_key_multibase)
                .expect("key")
            {
                PublicKey::Ed25519(k) => k,
                PublicKey::Bls12381G2(_) => panic!("ed25519 expected"),
            };
            let trustee = node.author(a.tx.endorser.as_ref().expect("endorser"));
            assert!(trustee.role.is_some());
            vec![author]
        })
        .collect();
    let trustee_key = {
        let t = admitted[0].tx.endorser.clone().expect("endorser");
        let r = node.resolve(t.as_str(), &Default::default()).expect("trustee resolves");
        let doc: DidDocument = serde_json::from_value(r.result.did_document.expect("doc")).expect("doc");
        match PublicKey::from_multibase(&doc.verification_method[0].public_key_multibase).expect("key") {
            PublicKey::Ed25519(k) => k,
            PublicKey::Bls12381G2(_) => panic!("ed25519 expected"),
        }
    };
    let admit = mean_us(n, |i| {
        std::hint::black_box(admit_json(&bodies[i % n]).expect("admit"));
    });
    let verify2 = mean_us(n, |i| {
        let a = &admitted[i % n];
        keys[i % n][0].verify_strict(&a.signing_input, &a.sigs[0].signature).expect("author sig");
        trustee_key.verify_strict(&a.signing_input, &a.sigs[1].signature).expect("trustee sig");
    });
    let batch = {
        let m = n.min(64);
        let msgs: Vec<&[u8]> =
            admitted[..m].iter().flat_map(|a| [a.signing_input.as_slice(), a.signing_input.as_slice()]).collect();
        let sigs: Vec<_> = admitted[..m].iter().flat_map(|a| [a.sigs[0].signature, a.sigs[1].signature]).collect();
        let vks: Vec<_> = (0..m).flat_map(|i| [keys[i][0], trustee_key]).collect();
        mean_us(200, |_| ed25519_dalek::verify_batch(&msgs, &sigs, &vks).expect("batch")) / m as f64
    };
    let docs: Vec<DidCreate> = admitted.iter().map(|a| a.tx.payload_as().expect("payload")).collect();
    let decompress = mean_us(n, |i| {
        std::hint::black_box(
            PublicKey::from_multibase(&docs[i % n].document.verification_method[0].public_key_multibase).expect("key"),
        );
    });
    let validate = mean_us(n, |i| {
        docs[i % n].document.validate(&docs[i % n].document.id).expect("valid");
    });
    let leaf = mean_us(n, |i| {
        std::hint::black_box(leaf_hash(&LeafInput::encode(1, &admitted[i % n].canonical)));
    });
    let m = dids.len().min(n);
    let resolve = mean_us(m, |i| {
        std::hint::black_box(node.resolve(dids[i % m].as_str(), &Default::default()).expect("resolve"));
    });
    let resolve_json = mean_us(m, |i| {
        let r = node.resolve(dids[i % m].as_str(), &Default::default()).expect("resolve");
        std::hint::black_box(serde_json::to_vec(&r.result).expect("json"));
    });
    println!("  single-thread costs, in-process (no HTTP), mean of up to {n}:");
    println!("    admission (admit_json: JSON parse + 2 JCS)        {admit:>7.1} µs   [HTTP thread]");
    println!(
        "    2 x Ed25519 verify_strict (author + endorser)     {verify2:>7.1} µs   [HTTP thread, auth::preverify]"
    );
    println!(
        "      same 2 signatures in verify_batch of 64 txs     {:>7.1} µs   (NOT equivalent to verify_strict)",
        batch
    );
    println!(
        "    Multikey decode + point decompression            {decompress:>7.1} µs   [sequencer: x3 per did.create]"
    );
    println!("    DidDocument::validate                            {validate:>7.1} µs   [sequencer]");
    println!("    leaf encode + SHA-256 leaf hash                  {leaf:>7.1} µs   [sequencer]");
    println!("    Node::resolve (proof, redb leaf read)            {resolve:>7.1} µs   [HTTP thread]");
    println!("    Node::resolve + serde_json::to_vec               {resolve_json:>7.1} µs   [HTTP thread]");
}

// ---------------------------------------------------------------- report

struct Row {
    clients: usize,
    phase: &'static str,
    result: PhaseResult,
}

fn print_phase(phase: &str, r: &mut PhaseResult, total: usize) {
    r.latencies_us.sort_unstable();
    let l = &r.latencies_us;
    println!(
        "  {phase:<12} {ok:>8}/{total:<8} ok in {secs:>6.2} s = {rate:>9.0} /s   p50 {p50} ms  p99 {p99} ms  max {max} ms  errors {err}{batches}",
        ok = r.ok,
        secs = r.elapsed.as_secs_f64(),
        rate = r.rate(),
        p50 = ms(pct(l, 50.0)),
        p99 = ms(pct(l, 99.0)),
        max = ms(l.last().copied().unwrap_or(0)),
        err = r.errors,
        batches = if r.batches.is_empty() {
            String::new()
        } else {
            format!("  batches {} (avg {:.0} tx)", r.batches.len(), r.ok as f64 / r.batches.len() as f64)
        },
    );
    let wall = r.elapsed.as_secs_f64().max(1e-9);
    let all: f64 = r.cpu.iter().map(|(_, s)| s).sum();
    let parts: Vec<String> = r.cpu.iter().map(|(n, s)| format!("{n} {:.2}", s / wall)).collect();
    let (per_op, per_op_node) = r.cpu_per_op();
    println!(
        "    cores busy {:.2} ({}); CPU per request {per_op:.0} µs, of which node (server + sequencer) {per_op_node:.0} µs",
        all / wall,
        parts.join(", ")
    );
    if let Some(e) = &r.first_error {
        let e: String = e.chars().take(300).collect();
        println!("    first error: {e}");
    }
}

// ---------------------------------------------------------------- main

fn run_one(args: &Args, clients: usize, base: &std::path::Path, rows: &mut Vec<Row>, calibration: bool) {
    let tmp = tempfile::Builder::new().prefix("idelta-bench-").tempdir_in(base).expect("temp dir");
    let dir = tmp.path().join("node");
    Node::init(&dir, "bench", 1).expect("init");
    let trustee = trustee(&dir);

    let t = Instant::now();
    let work = build_workload(&trustee, args.writes, args.updates.min(args.writes));
    println!(
        "\n== {clients} clients: pre-signed {} did.create + {} did.update in {:.2} s (untimed, client side); load average {}",
        work.creates.len(),
        work.updates.len(),
        t.elapsed().as_secs_f64(),
        loadavg()
    );

    let server =
        tokio::runtime::Builder::new_multi_thread().thread_name("server").enable_all().build().expect("server runtime");
    let load = tokio::runtime::Builder::new_multi_thread()
        .thread_name("loadgen")
        .enable_all()
        .build()
        .expect("loadgen runtime");
    let (node, addr) = server.block_on(async {
        let node = Node::start(&dir).await.expect("start");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = idelta_ledger_node::http::router(node.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (node, addr)
    });

    let creates = Arc::new(work.creates);
    let mut create = load.block_on(post_all(addr, clients, Arc::clone(&creates), args.max_write));
    print_phase("did.create", &mut create, args.writes);
    let created = create.ok;
    rows.push(Row { clients, phase: "did.create", result: create });

    let mut updated = 0;
    if !work.updates.is_empty() {
        let n = work.updates.len();
        let mut update = load.block_on(post_all(addr, clients, Arc::new(work.updates), args.max_write));
        print_phase("did.update", &mut update, n);
        updated = update.ok;
        rows.push(Row { clients, phase: "did.update", result: update });
    }

    if created == 0 {
        println!("  no DID was created; skipping resolutions");
        return;
    }
    // Resolve only DIDs that were surely created (the cursor hands out the
    // bodies in order; a failed run may leave holes, so check with a GET).
    let dids: Vec<&Did> = work.dids.iter().take(created).collect();
    let paths: Arc<Vec<String>> = Arc::new(dids.iter().map(|d| format!("/1.0/identifiers/{d}")).collect());
    let size = load.block_on(verify_one(addr, dids[0], &node.public_key(), if updated > 0 { "2" } else { "1" }));
    println!(
        "  proof check  resolution of {} verified client-side (inclusion in tree of {} + STH signature), {size} bytes",
        dids[0],
        node.sth().tree_size
    );
    let mut res = load.block_on(resolve_all(addr, clients, paths, args.resolutions, args.duration));
    print_phase("resolve", &mut res, args.resolutions);
    rows.push(Row { clients, phase: "resolve", result: res });
    if calibration {
        let dids: Vec<Did> = dids.into_iter().cloned().collect();
        calibrate(&node, &creates, &dids);
    }

    drop(node);
    load.shutdown_timeout(Duration::from_secs(5));
    server.shutdown_timeout(Duration::from_secs(5));
}

fn main() {
    let args = parse_args();
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    println!("idelta ledger node benchmark");
    for (k, v) in machine_info(&base) {
        println!("  {k:<34} {v}");
    }
    println!(
        "  workload: {} did.create (author key + trustee endorsement = 2 Ed25519 verifications each), {} did.update, \
         resolutions: up to {} in {} s; server and load generator share the machine",
        args.writes,
        args.updates.min(args.writes),
        args.resolutions,
        args.duration.as_secs()
    );
    let mut rows = Vec::new();
    for (i, &c) in args.clients.iter().enumerate() {
        run_one(&args, c, &base, &mut rows, i == 0);
    }
    println!("\n| clients | phase | ok | errors | per second | p50 ms | p99 ms | max ms | avg batch | cores busy | node CPU µs/op |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let r = &row.result;
        let l = &r.latencies_us;
        let batch =
            if r.batches.is_empty() { "-".into() } else { format!("{:.0}", r.ok as f64 / r.batches.len() as f64) };
        let busy: f64 = r.cpu.iter().map(|(_, s)| s).sum::<f64>() / r.elapsed.as_secs_f64().max(1e-9);
        println!(
            "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {busy:.2} | {:.0} |",
            row.clients,
            row.phase,
            r.ok,
            r.errors,
            r.rate(),
            ms(pct(l, 50.0)),
            ms(pct(l, 99.0)),
            ms(l.last().copied().unwrap_or(0)),
            batch,
            r.cpu_per_op().1
        );
    }
    println!("\ntargets: >= 20,000 durable writes/s, >= 50,000 resolutions/s");
}
