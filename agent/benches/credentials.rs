//! Credential benchmark: issuances and verifications per second through
//! the W3C VC API, per format, with concurrent clients. See BENCHMARKS.md,
//! section "Credentials".
//!
//! ```text
//! cargo bench -p idelta-agent --bench credentials -- \
//!     [--clients C[,C...]] [--duration-secs S] [--count N] [--companies K] \
//!     [--formats rdfc,jcs,sd-jwt,bbs] [--backend sqlite|postgres] [--pg URL] [--dir PATH] [--no-steps]
//! ```
//! Defaults: clients 64, 5 s per phase, at most 40,000 issuances per phase,
//! 4 companies, formats rdfc,jcs,sd-jwt, SQLite.
//!
//! The ledger node and the agent start as `idelta up` starts them (one
//! tokio runtime, threads `server`); the load generator is a second runtime
//! (threads `loadgen`) with C keep-alive HTTP/1.1 connections and request
//! bodies built in advance. Per format: `POST /vc-api/credentials/issue`
//! (an `EmployeeCredential`, distinct per request, spread over K companies,
//! only 201 counts), then `POST /vc-api/credentials/verify` of the issued
//! credentials picked at random, where only an answer with
//! `"verified": true` counts. A format the agent does not offer yet is
//! probed with one request and skipped with its answer. Then the cost of
//! each step of issuing and verifying, one at a time and without HTTP, so
//! the figures can be explained. Every loop is bounded by a count and a
//! time limit; all traffic goes to 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod service;
#[path = "../../ledger-node/benches/support/mod.rs"]
mod support;

use service::{arg_clients, arg_list, arg_number, other_arg, print_machine, runtimes};
use service::{bearer, load, mean_us_async, pg_cleanup, print_phase, print_table, start_all};
use service::{Phase, Req, Row, Running, DEFAULT_PG};
use support::{loadavg, mean_us};

use axum::body::Bytes;
use hyper::{Method, StatusCode};
use idelta_agent::http::now_ms;
use idelta_issuer::data_integrity::{self, contexts, Cryptosuite};
use idelta_ledger_node::node::Node;
use idelta_types::signer::Signer as _;
use idelta_types::LocalSigner;
use idelta_verifier::{KeyResolver as _, Relationship};
use idelta_wallet::Holder;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

struct Args {
    clients: Vec<usize>,
    duration: Duration,
    count: usize,
    companies: usize,
    formats: Vec<String>,
    backend: String,
    pg: String,
    dir: Option<PathBuf>,
    steps: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        clients: vec![64],
        duration: Duration::from_secs(5),
        count: 40_000,
        companies: 4,
        formats: ["rdfc", "jcs", "sd-jwt"].map(String::from).to_vec(),
        backend: "sqlite".into(),
        pg: DEFAULT_PG.into(),
        dir: None,
        steps: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--clients" => a.clients = arg_clients(it.next()),
            "--duration-secs" => a.duration = Duration::from_secs(arg_number(it.next(), "--duration-secs")),
            "--count" => a.count = arg_number(it.next(), "--count") as usize,
            "--companies" => a.companies = (arg_number(it.next(), "--companies") as usize).max(1),
            "--formats" => a.formats = arg_list(it.next(), "--formats"),
            "--backend" => a.backend = it.next().expect("--backend needs sqlite or postgres"),
            "--pg" => a.pg = it.next().expect("--pg needs a URL"),
            "--dir" => a.dir = Some(PathBuf::from(it.next().expect("--dir needs a path"))),
            "--no-steps" => a.steps = false,
            other => other_arg(other, include_str!("credentials.rs"), 11),
        }
    }
    a
}

/// The issue options of a format, as the VC API takes them.
fn issue_options(format: &str) -> Option<Value> {
    match format {
        "rdfc" => Some(json!({ "cryptosuite": "eddsa-rdfc-2022" })),
        "jcs" => Some(json!({ "cryptosuite": "eddsa-jcs-2022" })),
        "sd-jwt" => Some(json!({ "format": "dc+sd-jwt", "disclosable": ["/employeeId", "/role"] })),
        "bbs" => Some(json!({ "cryptosuite": "bbs-2023" })),
        _ => None,
    }
}

/// The `i`-th credential of the run: an `EmployeeCredential` of an
/// external `did:key` holder, distinct per request.
fn credential(i: usize, holder: &str) -> Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "credentialSubject": {
            "id": holder,
            "employer": "Bench Industries",
            "employeeId": format!("E-{i:06}"),
            "role": "Engineer",
            "employedSince": "2024-03-01T09:00:00Z",
        },
    })
}

/// A company of the run: (id, admin bearer).
struct Company {
    id: String,
    admin: String,
}

fn issue_requests(companies: &[Company], count: usize, options: &Value, holder: &str) -> Vec<Req> {
    (0..count)
        .map(|i| {
            let co = &companies[i % companies.len()];
            let body = json!({ "credential": credential(i, holder), "options": options });
            Req {
                method: Method::POST,
                path: "/vc-api/credentials/issue".into(),
                auth: bearer(&co.admin),
                body: Bytes::from(serde_json::to_vec(&body).unwrap()),
            }
        })
        .collect()
}

/// Verify requests for the credentials that `issued` (201 bodies) holds.
fn verify_requests(issued: &[Bytes], token: &str) -> Vec<Req> {
    issued
        .iter()
        .filter_map(|b| {
            let v: Value = serde_json::from_slice(b).ok()?;
            let body = json!({ "verifiableCredential": v.get("verifiableCredential")? });
            Some(Req {
                method: Method::POST,
                path: "/vc-api/credentials/verify".into(),
                auth: bearer(token),
                body: Bytes::from(serde_json::to_vec(&body).unwrap()),
            })
        })
        .collect()
}

/// Moves the answers that do not say `"verified": true` from `ok` to
/// `errors`, keeping the first one as the error shown.
fn count_verdicts(r: &mut Phase) {
    let mut refused = 0;
    for body in &r.bodies {
        let verified = serde_json::from_slice::<Value>(body).ok().is_some_and(|v| v["verified"] == true);
        if !verified {
            refused += 1;
            r.first_error.get_or_insert_with(|| String::from_utf8_lossy(body).into_owned());
        }
    }
    r.ok -= refused;
    r.errors += refused;
    r.bodies.clear();
}

/// Issues then verifies one format at each client count.
fn run_format(
    args: &Args,
    format: &str,
    run: &Running,
    companies: &[Company],
    holder: &str,
    loadgen: &tokio::runtime::Runtime,
    rows: &mut Vec<Row>,
) {
    let Some(options) = issue_options(format) else {
        println!("\n-- format {format}: unknown (rdfc, jcs, sd-jwt, bbs); skipped");
        return;
    };
    println!("\n-- format {format}: issue options {options}");
    let probe = issue_requests(companies, 1, &options, holder);
    let r = loadgen.block_on(load(
        run.addr,
        1,
        Arc::new(probe),
        1,
        Duration::from_secs(30),
        true,
        StatusCode::CREATED,
        true,
    ));
    if r.ok != 1 {
        let why = r.first_error.unwrap_or_default();
        println!("  not offered by the VC API: {}", why.chars().take(300).collect::<String>());
        return;
    }
    let reqs = Arc::new(issue_requests(companies, args.count, &options, holder));
    let verifier = &companies[0].admin;
    for &c in &args.clients {
        let mut r = loadgen.block_on(load(
            run.addr,
            c,
            Arc::clone(&reqs),
            reqs.len(),
            args.duration,
            true,
            StatusCode::CREATED,
            true,
        ));
        let issued = std::mem::take(&mut r.bodies);
        let phase: &'static str = Box::leak(format!("issue {format}").into_boxed_str());
        print_phase(phase, c, &mut r);
        rows.push(Row { backend: args.backend.clone(), phase, clients: c, r });

        let verifies = verify_requests(&issued, verifier);
        if verifies.is_empty() {
            println!("  nothing was issued; no verification");
            continue;
        }
        let mut r = loadgen.block_on(load(
            run.addr,
            c,
            Arc::new(verifies),
            usize::MAX,
            args.duration,
            false,
            StatusCode::OK,
            true,
        ));
        count_verdicts(&mut r);
        let phase: &'static str = Box::leak(format!("verify {format}").into_boxed_str());
        print_phase(phase, c, &mut r);
        rows.push(Row { backend: args.backend.clone(), phase, clients: c, r });
    }
}

/// Each step of issuing and verifying one credential, one at a time and
/// without HTTP, in the agent's own state.
async fn steps(run: &Running, company: &Company, holder: &str) {
    let n = 300;
    let st = &run.state;
    let co = st.tenants.company(&company.id).await.expect("company");
    let wallet = st.tenants.wallets().open(&co.id).await.expect("wallet");
    let signer = wallet.signer(Holder::Company, &co.key_id).await.expect("signer");
    let local = LocalSigner::from_seed([9; 32]);
    let mut document = credential(0, holder);
    document["issuer"] = co.did.clone().into();
    document["validFrom"] = "2026-01-01T00:00:00Z".into();
    let rdfc_doc = mean_us(n, |_| Cryptosuite::EddsaRdfc2022.canonicalize(&document).expect("rdfc"));
    let jcs_doc = mean_us(n, |_| Cryptosuite::EddsaJcs2022.canonicalize(&document).expect("jcs"));
    // Proof configurations one second apart: each is new to the kept ones.
    let configs: Vec<Value> = (0..n)
        .map(|i| {
            let proof = json!({
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-rdfc-2022",
                "created": format!("2027-01-01T00:{:02}:{:02}Z", i / 60, i % 60),
                "verificationMethod": format!("{}#key-1", co.did),
                "proofPurpose": "assertionMethod",
            });
            data_integrity::proof_configuration(
                Cryptosuite::EddsaRdfc2022,
                document.as_object().unwrap(),
                proof.as_object().unwrap(),
            )
            .expect("config")
        })
        .collect();
    let rdfc_config = mean_us(n, |i| Cryptosuite::EddsaRdfc2022.canonicalize(&configs[i]).expect("rdfc"));
    let config = &configs[0];
    let rdfc_config_kept = mean_us(n, |_| Cryptosuite::EddsaRdfc2022.canonicalize(config).expect("rdfc"));
    let data = data_integrity::hash_data(Cryptosuite::EddsaRdfc2022, &document, config).expect("hash");
    let askar_sign = mean_us_async(n, |_| signer.sign(&data)).await;
    let dalek_sign = mean_us_async(n, |_| local.sign(&data)).await;
    let signature = local.sign(&data).await.expect("sign");
    let dalek_verify = mean_us(n, |_| local.public_key().verify(&data, &signature).expect("verify"));
    let resolver = idelta_agent::resolver::LedgerKeyResolver::new(st.tenants.ledger().client().clone());
    let vm = format!("{}#key-1", co.did);
    let resolve = mean_us_async(n, |_| resolver.resolve_key(&vm, Relationship::AssertionMethod)).await;
    let did: idelta_types::Did = co.did.parse().expect("did");
    let client = st.tenants.ledger().client();
    let latest = idelta_ledger_node::node::ResolveOptions::default();
    let resolution = mean_us_async(n, |_| client.resolve(&did, &latest)).await;
    let sth = mean_us_async(n, |_| client.sth()).await;
    let json_parse = {
        let text = serde_json::to_vec(&document).unwrap();
        mean_us(n * 10, |_| serde_json::from_slice::<Value>(&text).expect("json"))
    };
    println!("\n  single-step costs, one at a time (no HTTP), mean of {n}:");
    println!("    eddsa-rdfc-2022: canonicalize the credential (JSON-LD toRdf + RDFC-1.0) {rdfc_doc:>8.1} µs");
    println!("    eddsa-rdfc-2022: canonicalize a new proof configuration                {rdfc_config:>8.1} µs");
    println!("    eddsa-rdfc-2022: canonicalize a proof configuration already seen       {rdfc_config_kept:>8.1} µs");
    println!("    eddsa-jcs-2022:  canonicalize the credential (JCS)                     {jcs_doc:>8.1} µs");
    println!("    sign 64 bytes in the company's askar wallet (WalletSigner)           {askar_sign:>8.1} µs");
    println!("    sign 64 bytes with ed25519-dalek in memory (LocalSigner)             {dalek_sign:>8.1} µs");
    println!("    Ed25519 verify (dalek)                                               {dalek_verify:>8.1} µs");
    println!("    issuer key, document kept, one tree head fetched (LedgerKeyResolver) {resolve:>8.1} µs");
    println!("      of which GET /v1/log/sth with its signature checked                {sth:>8.1} µs");
    println!("    resolve the issuer DID on the ledger, proof checked (no cache)       {resolution:>8.1} µs");
    println!("    parse the credential JSON (serde_json)                               {json_parse:>8.1} µs");
}

fn main() {
    let args = parse_args();
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    print_machine("idelta credential benchmark", &base);
    println!(
        "  formats {:?}, clients {:?}, {} s and at most {} issuances per phase, {} companies, backend {}",
        args.formats,
        args.clients,
        args.duration.as_secs(),
        args.count,
        args.companies,
        args.backend
    );
    let tmp = tempfile::Builder::new().prefix("idelta-credentials-bench-").tempdir_in(&base).expect("temp dir");
    Node::init(&tmp.path().join("ledger"), "bench", 1).expect("ledger init");
    let pg = service::backend(&args.backend, &args.pg, "ic");
    let (server, loadgen) = runtimes();
    let (node, run) = server.block_on(start_all(tmp.path(), pg.as_ref()));
    println!("  agent at {}; load average {}", run.addr, loadavg());
    let companies: Vec<Company> = (0..args.companies)
        .map(|k| {
            let co = server
                .block_on(run.state.tenants.register_company(&format!("Bench Industries {k}"), now_ms()))
                .expect("company");
            Company { id: co.company.id, admin: co.admin_token }
        })
        .collect();
    let holder = LocalSigner::from_seed([42; 32]).did_key();

    let mut rows = Vec::new();
    for format in &args.formats {
        run_format(&args, format, &run, &companies, &holder, &loadgen, &mut rows);
    }
    if args.steps {
        server.block_on(steps(&run, &companies[0], &holder));
    }
    print_table(&rows);
    println!(
        "\ntargets: >= 3,000/s Data Integrity, >= 20,000/s SD-JWT VC, >= 500 BBS derived-proof verifications/s \
         (ACA-Py 1.7: 146-185 eddsa-jcs-2022 signatures/s)"
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
