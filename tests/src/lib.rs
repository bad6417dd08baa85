//! Harness of idelta's end-to-end tests.
//!
//! [`TestLedger`] starts a real ledger node (fresh temporary data
//! directory, genesis, redb store, axum router on `127.0.0.1:0`) inside the
//! test's runtime; [`Actor`] builds and signs transactions from the real
//! wire types; [`spawn_binary`] and [`run_binary`] drive the `idelta`
//! binary as a child process for the crash and tamper tests. Assertion
//! helpers check RFC 9457 problem documents (design.md §9) and, for every
//! write that is refused, that the log did not grow.
//!
//! [`agent::TestAgent`] starts the multi-tenant agent in-process against a
//! [`TestLedger`], on SQLite or PostgreSQL.
//!
//! The layout follows zero-to-production's `tests/api/helpers.rs`: one
//! fresh service per test, driven over HTTP with a typed client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod agent;

use ed25519_dalek::{Signer as _, SigningKey};
use idelta_ledger_node::client::LedgerClient;
use idelta_ledger_node::keys::{DevKey, DevKeyStore};
use idelta_ledger_node::node::{AuthorInfo, ResolveOptions, TRUSTEE_KEYS_FILE};
use idelta_ledger_node::Node;
use idelta_types::canonical::b64;
use idelta_types::document::{DidDocument, Service, VerificationMethod};
use idelta_types::log::{LeafInput, Receipt, SignedTreeHead};
use idelta_types::merkle;
use idelta_types::resolution::ResolutionResult;
use idelta_types::tx::{DidCreate, DidDeactivate, DidUpdate, ObjectKind, ObjectPut, Role, RoleGrant, RoleRevoke};
use idelta_types::{Did, PublicKey, SignedTransaction, TxType};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// Media type of RFC 9457 problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A plain HTTP client for the negative cases, where the exact status,
/// media type and problem `code` matter more than a typed answer.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("reqwest client")
}

/// A ledger node served in-process on a random port, on a fresh data
/// directory that lives as long as the value.
pub struct TestLedger {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    /// The founding trustee's key entry from `trustee-keys.json`.
    pub trustee_key: DevKey,
    /// The founding trustee as an [`Actor`] (its genesis used seq 1).
    pub trustee: Actor,
    /// The key that signs tree heads.
    pub node_key: PublicKey,
    /// The typed client, with `node_key` pinned.
    pub client: LedgerClient,
    /// Raw HTTP for negative cases.
    pub http: reqwest::Client,
    /// The node itself, for in-process checks.
    pub node: Node,
    server: tokio::task::JoinHandle<()>,
    dir: tempfile::TempDir,
}

impl Drop for TestLedger {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestLedger {
    /// Initialises a data directory with one trustee, starts the node and
    /// serves its router on `127.0.0.1:0`.
    pub async fn start() -> TestLedger {
        let dir = tempfile::tempdir().expect("temp dir");
        Node::init(dir.path(), "test", 1).expect("Node::init");
        let trustee_key = load_trustee(dir.path());
        let node = Node::start(dir.path()).await.expect("Node::start");
        let node_key = node.public_key();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let app = idelta_ledger_node::http::router(node.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let url = format!("http://{addr}");
        let client = LedgerClient::new(&url, node_key.clone()).expect("LedgerClient::new");
        let trustee = Actor::from_dev_key(&trustee_key, 2);
        TestLedger { url, trustee_key, trustee, node_key, client, http: http(), node, server, dir }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Current signed tree size, read over HTTP.
    pub async fn tree_size(&self) -> u64 {
        self.sth().await.tree_size
    }

    /// `GET /v1/log/sth`, unverified.
    pub async fn sth(&self) -> SignedTreeHead {
        let resp = self.http.get(format!("{}/v1/log/sth", self.url)).send().await.expect("GET sth");
        assert_eq!(resp.status(), 200, "GET /v1/log/sth");
        resp.json().await.expect("sth JSON")
    }

    /// `POST /v1/transactions` with a raw body.
    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/transactions", self.url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .expect("POST /v1/transactions")
    }

    /// Submits `tx`, expects 201 and a receipt that names it, and advances
    /// `actor`'s sequence number.
    pub async fn accept(&self, actor: &mut Actor, tx: &SignedTransaction) -> Receipt {
        assert_eq!(tx.author, actor.did, "accept: the transaction is not by this actor");
        let receipt = self.submit_ok(tx).await;
        actor.next_seq = tx.seq + 1;
        receipt
    }

    /// Submits `tx` and expects 201; checks the receipt with the client.
    pub async fn submit_ok(&self, tx: &SignedTransaction) -> Receipt {
        match self.client.submit(tx).await {
            Ok(r) => r,
            Err(e) => panic!("expected {} by {} (seq {}) to be accepted: {e}", tx.tx_type, tx.author, tx.seq),
        }
    }

    /// Submits `tx` and expects a problem with `status` and `code`; checks
    /// that the log did not grow. Returns the problem document.
    pub async fn reject(&self, tx: &SignedTransaction, status: u16, code: &str) -> serde_json::Value {
        self.reject_raw(serde_json::to_vec(tx).expect("tx JSON"), status, code).await
    }

    /// [`TestLedger::reject`] for a raw body.
    pub async fn reject_raw(&self, body: impl Into<reqwest::Body>, status: u16, code: &str) -> serde_json::Value {
        let before = self.sth().await;
        let problem = expect_problem(self.post_raw(body).await, status, code).await;
        let after = self.sth().await;
        assert_eq!(
            (after.tree_size, &after.sha256_root_hash),
            (before.tree_size, &before.sha256_root_hash),
            "a refused write ({code}) changed the log"
        );
        problem
    }

    /// Creates a new DID endorsed by the founding trustee.
    pub async fn onboard(&self) -> Actor {
        let mut actor = Actor::generate();
        let tx = actor.create_tx(Some(&self.trustee));
        self.accept(&mut actor, &tx).await;
        actor
    }

    /// Grants `role` to `did` as the founding trustee.
    pub async fn grant(&mut self, did: &Did, role: Role) -> Receipt {
        let tx = self.trustee.grant_tx(did, role);
        let mut trustee = self.trustee.clone();
        let receipt = self.accept(&mut trustee, &tx).await;
        self.trustee = trustee;
        receipt
    }

    /// Revokes `did`'s role as the founding trustee.
    pub async fn revoke(&mut self, did: &Did) -> Receipt {
        let tx = self.trustee.revoke_tx(did);
        let mut trustee = self.trustee.clone();
        let receipt = self.accept(&mut trustee, &tx).await;
        self.trustee = trustee;
        receipt
    }

    /// `GET /1.0/identifiers/{did}{query}` with an optional `Accept`.
    pub async fn resolve_raw(&self, did: &str, query: &str, accept: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(format!("{}/1.0/identifiers/{did}{query}", self.url));
        if let Some(a) = accept {
            req = req.header(reqwest::header::ACCEPT, a);
        }
        req.send().await.expect("GET /1.0/identifiers")
    }

    /// Resolves through the typed client, which checks the proof.
    pub async fn resolve_verified(
        &self,
        did: &Did,
        options: &ResolveOptions,
    ) -> idelta_ledger_node::client::VerifiedResolution {
        match self.client.resolve(did, options).await {
            Ok(r) => r,
            Err(e) => panic!("resolving {did} with {options:?} failed: {e}"),
        }
    }

    /// `GET /v1/authors/{did}`.
    pub async fn author(&self, did: &Did) -> AuthorInfo {
        self.client.author(did).await.expect("GET /v1/authors")
    }
}

/// Reads the trustee key store of a data directory made by `Node::init`.
pub fn load_trustee(dir: &Path) -> DevKey {
    let store = DevKeyStore::load(&dir.join(TRUSTEE_KEYS_FILE)).expect("trustee-keys.json");
    store.keys.first().cloned().expect("a trustee key")
}

/// Asserts that `resp` is an RFC 9457 problem with `status` and `code` and
/// a non-empty `detail`; returns the document.
pub async fn expect_problem(resp: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    let got = resp.status().as_u16();
    let media =
        resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = resp.text().await.expect("problem body");
    assert_eq!((got, code), (status, code), "expected {status} {code}, got {got}: {text}");
    assert!(media.starts_with(PROBLEM_JSON), "expected {PROBLEM_JSON}, got `{media}`: {text}");
    let problem: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("problem body is not JSON ({e}): {text}"));
    assert_eq!(problem["code"], code, "problem code: {text}");
    assert_eq!(problem["status"], status, "problem status member: {text}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(!detail.trim().is_empty(), "problem without detail: {text}");
    problem
}

/// Asserts a resolution error: `status`, and `didResolutionMetadata.error`
/// equal to `error`. Returns the body.
pub async fn expect_resolution_error(resp: reqwest::Response, status: u16, error: &str) -> serde_json::Value {
    let got = resp.status().as_u16();
    let text = resp.text().await.expect("resolution body");
    assert_eq!(got, status, "expected {status} {error}: {text}");
    let body: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("resolution body is not JSON ({e}): {text}"));
    assert_eq!(body["didResolutionMetadata"]["error"], error, "{text}");
    assert!(body["didDocument"].is_null(), "an error carries no document: {text}");
    body
}

/// Checks the ledger proof of a resolution result independently of the
/// client: the tree head is signed by `node_key`, the leaf input hashes
/// into the audit path up to the head's root, and the leaf is the write
/// that set the returned document. Returns the decoded leaf.
pub fn check_ledger_proof(result: &ResolutionResult, node_key: &PublicKey) -> LeafInput {
    let proof = result.did_document_metadata.ledger.as_ref().expect("didDocumentMetadata.ledger");
    proof.sth.verify(node_key).expect("tree head signed by the node key");
    assert_eq!(proof.tree_size, proof.sth.tree_size, "proof and head sizes");
    assert_eq!(proof.sha256_root_hash, proof.sth.sha256_root_hash, "proof and head roots");
    let input = b64::decode("leaf_input", &proof.leaf_input).expect("leaf_input base64");
    let path = idelta_types::log::decode_hashes("audit_path", &proof.audit_path).expect("audit path");
    let root = proof.sth.root().expect("root");
    merkle::verify_inclusion(proof.leaf_index, proof.tree_size, &merkle::leaf_hash(&input), &path, &root)
        .expect("inclusion proof verifies against the signed root");
    let leaf = LeafInput::decode(&input).expect("leaf input decodes");
    if let (Some(doc), TxType::DidCreate | TxType::DidUpdate) = (&result.did_document, leaf.tx.tx_type) {
        assert_eq!(&leaf.tx.payload["document"], doc, "the proved leaf wrote the returned document");
    }
    leaf
}

/// A DID with its current controller key and next sequence number, which
/// builds and signs transactions from the real wire types. Builders do not
/// change the actor: [`TestLedger::accept`] advances `next_seq`, and
/// [`Actor::adopt`] switches to a rotated key once the ledger took it.
#[derive(Clone)]
pub struct Actor {
    /// The DID.
    pub did: Did,
    /// The current controller key.
    pub key: SigningKey,
    /// Its verification method id, `did#key-N`.
    pub kid: String,
    /// The sequence number of the next write.
    pub next_seq: u64,
    /// The current document as this actor last wrote it.
    pub document: DidDocument,
}

/// A new controller key and the document that names it, not yet adopted.
#[derive(Clone)]
pub struct KeyChange {
    /// The new key.
    pub key: SigningKey,
    /// Its verification method id.
    pub kid: String,
    /// The document with only the new key in control.
    pub document: DidDocument,
}

impl Actor {
    /// A fresh, unregistered `did:idelta` DID.
    pub fn generate() -> Actor {
        Actor::from_key(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// The DID derived from `key`, unregistered, with `#key-1`.
    pub fn from_key(key: SigningKey) -> Actor {
        let public = PublicKey::Ed25519(key.verifying_key());
        let did = Did::idelta_from_key(&public);
        let document = DidDocument::with_ed25519_key(&did, &public, vec![]);
        Actor { kid: did.with_fragment("key-1"), did, key, next_seq: 1, document }
    }

    /// An existing DID from a development key store entry.
    pub fn from_dev_key(dev: &DevKey, next_seq: u64) -> Actor {
        let mut actor = Actor::from_key(dev.signing_key().expect("dev key"));
        assert_eq!(actor.did, dev.did, "dev key entry derives its DID");
        actor.next_seq = next_seq;
        actor
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        PublicKey::Ed25519(self.key.verifying_key())
    }

    /// An unsigned transaction at `seq`.
    pub fn unsigned_at<P: Serialize>(
        &self,
        tx_type: TxType,
        payload: &P,
        endorser: Option<&Actor>,
        seq: u64,
    ) -> SignedTransaction {
        SignedTransaction::new(tx_type, self.did.clone(), seq, payload, endorser.map(|e| e.did.clone()))
            .expect("transaction")
    }

    /// Signs `tx` with this actor's current key.
    pub fn sign(&self, tx: &mut SignedTransaction) {
        let key = self.key.clone();
        tx.add_signature(self.kid.clone(), move |m| key.sign(m).to_bytes()).expect("sign");
    }

    /// A transaction at `seq`, signed by the author and by `endorser`.
    pub fn tx_at<P: Serialize>(
        &self,
        tx_type: TxType,
        payload: &P,
        endorser: Option<&Actor>,
        seq: u64,
    ) -> SignedTransaction {
        let mut tx = self.unsigned_at(tx_type, payload, endorser, seq);
        self.sign(&mut tx);
        if let Some(e) = endorser {
            e.sign(&mut tx);
        }
        tx
    }

    /// A transaction at the next sequence number, signed.
    pub fn tx<P: Serialize>(&self, tx_type: TxType, payload: &P, endorser: Option<&Actor>) -> SignedTransaction {
        self.tx_at(tx_type, payload, endorser, self.next_seq)
    }

    /// `did.create` of this actor's current document.
    pub fn create_tx(&self, endorser: Option<&Actor>) -> SignedTransaction {
        self.tx(TxType::DidCreate, &DidCreate { document: self.document.clone() }, endorser)
    }

    /// `did.update` to `document`, signed with the current key.
    pub fn update_tx(&self, document: &DidDocument, endorser: Option<&Actor>) -> SignedTransaction {
        self.tx(TxType::DidUpdate, &DidUpdate { document: document.clone() }, endorser)
    }

    /// A new key `#key-{n}` replacing every current key, and the document
    /// naming it (services kept).
    pub fn rotation(&self, n: u32) -> KeyChange {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let kid = self.did.with_fragment(&format!("key-{n}"));
        let mut document = self.document.clone();
        let vm = VerificationMethod {
            id: kid.clone(),
            kind: "Multikey".into(),
            controller: self.did.clone(),
            public_key_multibase: PublicKey::Ed25519(key.verifying_key()).to_multibase(),
        };
        document.verification_method = vec![vm];
        document.authentication = vec![kid.clone()];
        document.assertion_method = vec![kid.clone()];
        document.capability_invocation = vec![kid.clone()];
        document.capability_delegation.clear();
        KeyChange { key, kid, document }
    }

    /// `did.update` rotating to `change`, signed with the current key.
    pub fn rotate_tx(&self, change: &KeyChange, endorser: Option<&Actor>) -> SignedTransaction {
        self.update_tx(&change.document, endorser)
    }

    /// Switches to a rotated key once the ledger accepted it.
    pub fn adopt(&mut self, change: KeyChange) {
        self.key = change.key;
        self.kid = change.kid;
        self.document = change.document;
    }

    /// The current document plus a `LinkedDomains` service `#{fragment}`.
    pub fn with_service(&self, fragment: &str, endpoint: &str) -> DidDocument {
        let mut doc = self.document.clone();
        doc.service.push(Service {
            id: self.did.with_fragment(fragment),
            kind: "LinkedDomains".into(),
            service_endpoint: serde_json::Value::String(endpoint.into()),
        });
        doc
    }

    /// `did.deactivate`.
    pub fn deactivate_tx(&self, endorser: Option<&Actor>) -> SignedTransaction {
        self.tx(TxType::DidDeactivate, &DidDeactivate {}, endorser)
    }

    /// `role.grant` of `role` to `did`.
    pub fn grant_tx(&self, did: &Did, role: Role) -> SignedTransaction {
        self.tx(TxType::RoleGrant, &RoleGrant { did: did.clone(), role }, None)
    }

    /// `role.revoke` of `did`'s role.
    pub fn revoke_tx(&self, did: &Did) -> SignedTransaction {
        self.tx(TxType::RoleRevoke, &RoleRevoke { did: did.clone() }, None)
    }

    /// `object.put` of `{did}/{kind}/{name}`.
    pub fn object_put_tx(
        &self,
        kind: ObjectKind,
        name: &str,
        content: serde_json::Value,
        endorser: Option<&Actor>,
    ) -> SignedTransaction {
        self.tx(TxType::ObjectPut, &ObjectPut { kind, name: name.into(), content }, endorser)
    }
}

/// Path of the `idelta` binary: `$IDELTA_BIN`, or `idelta` next to the
/// `deps/` directory this test executable lives in.
pub fn idelta_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("IDELTA_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("test executable under target/<profile>/deps");
    let bin = profile_dir.join(format!("idelta{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p idelta-agent --bin idelta` first (or set IDELTA_BIN)",
        bin.display()
    );
    bin
}

/// A running `idelta` child process that announced its address.
pub struct Spawned {
    /// The child; killed when dropped.
    pub child: Child,
    /// `http://ADDR` from its `listening on` line.
    pub url: String,
    /// Everything it wrote to stderr so far.
    pub stderr: Arc<Mutex<String>>,
}

impl Spawned {
    /// SIGKILLs the process (no clean shutdown) and reaps it.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// Why [`try_spawn_binary`] got no address: the exit status and output.
#[derive(Debug)]
pub struct SpawnFailure {
    /// The exit status, if the process ended.
    pub status: Option<std::process::ExitStatus>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

fn drain(
    mut from: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    into: Arc<Mutex<String>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0 {
                break;
            }
            into.lock().expect("stderr buffer").push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

/// Runs `idelta ARGS` and waits for a `listening on http://ADDR` line on
/// its stdout; returns the exit status and output if it ends first.
pub async fn try_spawn_binary(args: &[&str]) -> Result<Spawned, SpawnFailure> {
    let mut child = Command::new(idelta_bin())
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", idelta_bin().display()));
    let stderr = Arc::new(Mutex::new(String::new()));
    let stderr_task = drain(child.stderr.take().expect("piped stderr"), Arc::clone(&stderr));
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut seen = String::new();
    // A bound on start-up so a hung child fails the test instead of hanging it.
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(addr) = line.split("listening on ").nth(1) {
                return Some(addr.trim().trim_end_matches('/').to_owned());
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        None
    })
    .await;
    match found {
        Ok(Some(url)) => {
            assert!(url.starts_with("http://"), "`listening on` must be followed by http://ADDR, got `{url}`");
            let sink = Arc::new(Mutex::new(String::new()));
            drain(lines.into_inner(), sink);
            Ok(Spawned { child, url, stderr })
        }
        Ok(None) | Err(_) => {
            let status = match found {
                Ok(None) => child.wait().await.ok(),
                _ => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    None
                }
            };
            let _ = stderr_task.await;
            let stderr = stderr.lock().expect("stderr buffer").clone();
            Err(SpawnFailure { status, stdout: seen, stderr })
        }
    }
}

/// [`try_spawn_binary`] that must succeed.
pub async fn spawn_binary(args: &[&str]) -> Spawned {
    match try_spawn_binary(args).await {
        Ok(s) => s,
        Err(f) => panic!("`idelta {}` did not start: {f:?}", args.join(" ")),
    }
}

/// Runs `idelta ARGS` to completion.
pub async fn run_binary(args: &[&str]) -> std::process::Output {
    Command::new(idelta_bin())
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", idelta_bin().display()))
}

/// Base64 of `bytes` with one bit of byte `at` flipped.
pub fn flip_byte_b64(text: &str, at: usize) -> String {
    let mut bytes = b64::decode("flip", text).expect("base64");
    let i = at % bytes.len();
    bytes[i] ^= 0x01;
    b64::encode(bytes)
}
