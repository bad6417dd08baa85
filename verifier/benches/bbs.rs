//! bbs-2023 derived-proof verification throughput. See BENCHMARKS.md,
//! section "bbs-2023".
//!
//! ```text
//! cargo bench -p idelta-verifier --bench bbs -- [--secs S] [--threads T[,T...]]
//! ```
//! Defaults: 5 s per run, threads 1,2.
//!
//! One `EmployeeCredential` is issued with a bbs-2023 base proof (mandatory:
//! issuer and validity), and 64 derived proofs disclosing the role are made
//! from it, each bound to its own presentation header. Each thread then
//! verifies them round-robin with `idelta_verifier::bbs_2023::verify`
//! (issuer key from `did:key`, so no ledger), and only a report with
//! `verified: true` counts. Then the cost of each step of one verification,
//! single-threaded, so the figure can be explained.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use idelta_issuer::bbs_2023::canon::nquads_with_label_map;
use idelta_issuer::bbs_2023::proof_value::DerivedProofValue;
use idelta_issuer::bbs_2023::{add_base_proof, derive, proof_hash, BaseProofOptions, BbsSecretKey};
use idelta_issuer::data_integrity::contexts;
use idelta_verifier::bbs_2023::{verify, Expectations};
use idelta_verifier::DidKeyResolver;
use serde_json::{json, Value};
use time::OffsetDateTime;
use zkryptium::bbsplus::ciphersuites::{BbsCiphersuite, Bls12381Sha256};
use zkryptium::bbsplus::generators::Generators;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn expectations() -> Expectations {
    Expectations { presentation_header: None, now: OffsetDateTime::from_unix_timestamp(1_748_736_000).unwrap() }
}

fn derived_proofs(n: usize) -> Vec<Value> {
    let key = BbsSecretKey::generate().unwrap();
    let mb = key.public_key_multibase();
    let credential = json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "id": "urn:uuid:5d0c2a9e-0c35-4f7e-9a53-8f6f3b0f2c21",
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "issuer": format!("did:key:{mb}"),
        "validFrom": "2025-01-01T00:00:00Z",
        "validUntil": "2035-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "employer": "did:idelta:acme",
            "employeeId": "E-2002",
            "role": "auditor"
        }
    });
    let options = BaseProofOptions {
        verification_method: format!("did:key:{mb}#{mb}"),
        mandatory_pointers: vec!["/issuer".into(), "/validFrom".into(), "/validUntil".into()],
    };
    let secured = add_base_proof(credential, &options, &key).unwrap();
    (0..n)
        .map(|i| derive(&secured, &["/credentialSubject/role".into()], format!("nonce-{i}").as_bytes()).unwrap())
        .collect()
}

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`),
/// so a figure can be told apart from other load on a shared machine.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Verifications per wall-clock second over `secs` with `threads` threads,
/// and per CPU-second of the verifying threads.
fn throughput(proofs: &[Value], threads: usize, secs: u64) -> (f64, f64) {
    let deadline = Duration::from_secs(secs);
    let start = Instant::now();
    let total: (usize, u64) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let expected = expectations();
                    // RDFC blocks on its (ready) loader futures with
                    // `futures::executor`, which cannot nest in itself: drive
                    // the async verification with tokio, as the agent does.
                    let rt = runtime();
                    let cpu = thread_cpu_ns();
                    let mut done = 0;
                    while start.elapsed() < deadline {
                        let doc = &proofs[(t + done * threads) % proofs.len()];
                        let report = rt.block_on(verify(doc, &DidKeyResolver, &expected));
                        assert!(report.verified, "{report:?}");
                        done += 1;
                    }
                    (done, thread_cpu_ns() - cpu)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).fold((0, 0), |(n, c), (dn, dc)| (n + dn, c + dc))
    });
    let (done, cpu_ns) = total;
    (done as f64 / start.elapsed().as_secs_f64(), done as f64 * 1e9 / cpu_ns.max(1) as f64)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

/// Mean µs of `f` over 200 runs.
fn mean_us<T>(mut f: impl FnMut(usize) -> T) -> f64 {
    let start = Instant::now();
    for i in 0..200 {
        std::hint::black_box(f(i));
    }
    start.elapsed().as_secs_f64() * 1e6 / 200.0
}

fn main() {
    let secs: u64 = arg("--secs").map(|s| s.parse().unwrap()).unwrap_or(5);
    let threads: Vec<usize> =
        arg("--threads").map(|s| s.split(',').map(|t| t.parse().unwrap()).collect()).unwrap_or_else(|| vec![1, 2]);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("bbs-2023 derived-proof verification, {cores} cores available, {secs} s per run");
    let proofs = derived_proofs(64);
    for &t in &threads {
        let (wall, cpu) = throughput(&proofs, t, secs);
        println!("threads {t:>2}: {wall:>8.0} verifications/s ({cpu:.0} per CPU-second)");
    }

    let doc = proofs[0].as_object().unwrap();
    let mut unsecured = doc.clone();
    let proof = unsecured.remove("proof").unwrap();
    let proof = proof.as_object().unwrap();
    let value = DerivedProofValue::decode(proof["proofValue"].as_str().unwrap()).unwrap();
    let unsecured_value = Value::Object(unsecured.clone());
    let expected = expectations();
    println!("steps of one verification (mean µs, one thread):");
    let rt = runtime();
    let whole = mean_us(|_| rt.block_on(verify(&proofs[0], &DidKeyResolver, &expected)));
    let config = mean_us(|_| proof_hash(&unsecured, proof).unwrap());
    let document = mean_us(|_| nquads_with_label_map(&unsecured_value, &value.label_map).unwrap());
    println!("  whole verification                       {whole:>8.0}");
    println!("  proof configuration: JSON-LD + RDFC-1.0  {config:>8.0}");
    println!("  document: JSON-LD + RDFC-1.0 + relabel   {document:>8.0}");
    println!("  BBS ProofVerify and the rest (by diff.)  {:>8.0}", whole - config - document);
    // zkryptium derives the message generators (hash to curve) on every
    // verification; they are constants a verifier could keep.
    let n = value.selective_indexes.len() + (value.bbs_proof.len() - 272) / 32 + 1;
    let generators = mean_us(|_| Generators::create::<Bls12381Sha256>(n, Some(Bls12381Sha256::API_ID)));
    println!("    of which creating its {n} generators       {generators:>8.0}");
}
