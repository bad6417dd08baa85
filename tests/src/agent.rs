//! Harness of the agent's end-to-end tests.
//!
//! [`TestAgent::start`] starts a [`TestLedger`], then the agent in-process
//! on `127.0.0.1:0` against it, the way `idelta up` wires them (the
//! ledger's trustee enrols the operator's endorser DID), on fresh storage:
//!
//! - [`Backend::Sqlite`]: a temporary directory with `agent.db` and
//!   `wallets/`;
//! - [`Backend::Postgres`]: a fresh database for the agent's state and a
//!   fresh wallet prefix (one database per company, `PREFIX_company`) on
//!   the server named by `IDELTA_TEST_POSTGRES` (default
//!   `postgres://postgres@127.0.0.1:5432/postgres`), all dropped when the
//!   value is. If the server does not answer, `start` prints a notice and
//!   returns `None`, unless `IDELTA_REQUIRE_POSTGRES` is set, when it
//!   fails.
//!
//! [`TestAgent::restart`] stops the server and starts a new agent on the
//! same database, wallets and master key, which is what a process restart
//! keeps. [`TestAgent::start_gated`] puts a [`LedgerGate`] between the
//! agent and its ledger, so a test can make the ledger unreachable.

use crate::{http, TestLedger, PROBLEM_JSON};
use idelta_agent::service::{AgentConfig, DEFAULT_TOKEN_TTL_SECS};
use idelta_ledger_node::client::LedgerClient;
use idelta_ledger_node::keys::DevKeyStore;
use idelta_ledger_node::node::TRUSTEE_KEYS_FILE;
use idelta_wallet::MasterKey;
use rand::RngCore as _;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection as _, Executor as _, PgConnection};
use std::time::Duration;

/// The PostgreSQL server used when `IDELTA_TEST_POSTGRES` is unset.
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Where the agent keeps its state and wallets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files in a temporary directory.
    Sqlite,
    /// Fresh PostgreSQL databases.
    Postgres,
}

/// Storage that lives as long as the agent under test (held for its
/// `Drop`).
#[allow(dead_code)]
enum Storage {
    Sqlite(tempfile::TempDir),
    Postgres(PgDatabases),
}

/// This test's PostgreSQL databases, dropped with it (also on failure).
struct PgDatabases {
    admin_url: String,
    /// The agent's database.
    agent_db: String,
    /// Prefix of the wallet databases.
    wallet_prefix: String,
}

impl Drop for PgDatabases {
    fn drop(&mut self) {
        let (admin_url, agent_db, prefix) = (self.admin_url.clone(), self.agent_db.clone(), self.wallet_prefix.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on:
        // clean up from a thread with a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                let Ok(mut conn) = PgConnection::connect(&admin_url).await else { return };
                let names: Vec<(String,)> = sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE $1")
                    .bind(format!("{}\\_%", prefix.replace('_', "\\_")))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_default();
                for name in names.into_iter().map(|(n,)| n).chain(std::iter::once(agent_db)) {
                    let _ = conn.execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str()).await;
                }
                let _ = conn.close().await;
            });
        });
        let _ = cleanup.join();
    }
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The admin URL of the test PostgreSQL server, or `None` (after a notice)
/// when it does not answer and is not required.
async fn postgres_admin_url() -> Option<String> {
    let admin_url = std::env::var("IDELTA_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
    let why = match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&admin_url)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            return Some(admin_url);
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out".to_owned(),
    };
    if std::env::var_os("IDELTA_REQUIRE_POSTGRES").is_some() {
        panic!("PostgreSQL required (IDELTA_REQUIRE_POSTGRES) but {admin_url} does not answer: {why}");
    }
    eprintln!("notice: skipping PostgreSQL case, {admin_url} does not answer ({why}); set IDELTA_TEST_POSTGRES");
    None
}

/// `postgres://AUTHORITY/NAME?QUERY` from the admin URL.
fn with_database(admin_url: &str, name: &str) -> String {
    let (head, query) = match admin_url.split_once('?') {
        Some((h, q)) => (h, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let rest = head.split_once("://").map(|(_, r)| r).unwrap_or(head);
    let authority = rest.split_once('/').map(|(a, _)| a).unwrap_or(rest);
    format!("postgres://{authority}/{name}{query}")
}

/// A running agent server.
struct Server {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Graceful shutdown, bounded; then abort.
    async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(Duration::from_secs(10), &mut self.task).await.is_err() {
            self.task.abort();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `(status, headers, body)` of an answer; the body is JSON, a JSON string
/// for other text, or `null` when empty or streaming.
pub type Answer = (StatusCode, HeaderMap, Value);

/// One server-sent event.
#[derive(Clone, Debug, PartialEq)]
pub struct SseEvent {
    /// `id:`.
    pub id: Option<i64>,
    /// `event:`.
    pub kind: String,
    /// `data:`, parsed as JSON.
    pub data: Value,
}

/// An agent served in-process against its own ledger, on fresh storage.
pub struct TestAgent {
    // Fields drop in order: the server first, the storage last.
    server: Option<Server>,
    /// `http://127.0.0.1:PORT` (changes on restart).
    pub url: String,
    /// The operator API key.
    pub operator_key: String,
    /// The ledger the agent writes to.
    pub ledger: TestLedger,
    /// Raw HTTP.
    pub http: reqwest::Client,
    /// The storage backend.
    pub backend: Backend,
    /// The agent's database URL.
    pub db_url: String,
    /// Where company wallets live.
    pub wallets: idelta_wallet::Backend,
    /// The operator master key.
    pub master_key: MasterKey,
    /// Lifetime of issued tokens.
    pub token_ttl_secs: i64,
    /// The gate the agent reaches its ledger through, when started with
    /// [`TestAgent::start_gated`].
    pub gate: Option<LedgerGate>,
    _storage: Storage,
}

impl TestAgent {
    /// An agent with the default token lifetime; `None` when `backend` is
    /// PostgreSQL and no server answers (and none is required).
    pub async fn start(backend: Backend) -> Option<TestAgent> {
        TestAgent::start_with_ttl(backend, DEFAULT_TOKEN_TTL_SECS).await
    }

    /// [`TestAgent::start`] with tokens living `token_ttl_secs`.
    pub async fn start_with_ttl(backend: Backend, token_ttl_secs: i64) -> Option<TestAgent> {
        TestAgent::launch(backend, token_ttl_secs, false).await
    }

    /// [`TestAgent::start`] with the agent reaching its ledger through a
    /// [`LedgerGate`] (in [`TestAgent::gate`]), so a test can make the
    /// ledger unreachable and reachable again.
    pub async fn start_gated(backend: Backend) -> Option<TestAgent> {
        TestAgent::launch(backend, DEFAULT_TOKEN_TTL_SECS, true).await
    }

    /// The gate of an agent started with [`TestAgent::start_gated`].
    pub fn gate(&self) -> &LedgerGate {
        self.gate.as_ref().expect("the agent was started with TestAgent::start_gated")
    }

    async fn launch(backend: Backend, token_ttl_secs: i64, gated: bool) -> Option<TestAgent> {
        let (storage, db_url, wallets) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let db_url = format!("sqlite://{}", dir.path().join("agent.db").display());
                let wallets = format!("sqlite://{}", dir.path().join("wallets").display());
                (Storage::Sqlite(dir), db_url, wallets)
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url().await?;
                let agent_db = format!("idelta_t_{}", random_hex(6));
                let wallet_prefix = format!("{agent_db}_w");
                let guard = PgDatabases { admin_url: admin_url.clone(), agent_db: agent_db.clone(), wallet_prefix };
                let mut conn = PgConnection::connect(&admin_url).await.expect("connect to PostgreSQL");
                conn.execute(format!(r#"CREATE DATABASE "{agent_db}""#).as_str()).await.expect("CREATE DATABASE");
                let _ = conn.close().await;
                let db_url = with_database(&admin_url, &agent_db);
                let wallets = with_database(&admin_url, &guard.wallet_prefix);
                (Storage::Postgres(guard), db_url, wallets)
            }
        };
        let ledger = TestLedger::start().await;
        let mut agent = TestAgent {
            server: None,
            url: String::new(),
            operator_key: format!("op-test-{}", random_hex(24)),
            ledger,
            http: http(),
            backend,
            db_url,
            wallets: wallets.parse().expect("wallet backend URL"),
            master_key: MasterKey::generate(),
            token_ttl_secs,
            gate: None,
            _storage: storage,
        };
        if gated {
            agent.gate = Some(LedgerGate::start(&agent.ledger.url).await);
        }
        agent.serve().await;
        Some(agent)
    }

    async fn serve(&mut self) {
        let config = AgentConfig {
            db_url: self.db_url.clone(),
            wallets: self.wallets.clone(),
            master_key: self.master_key.clone(),
            operator_api_key: self.operator_key.clone(),
            ledger: LedgerClient::new(
                self.gate.as_ref().map_or(self.ledger.url.as_str(), |g| g.url.as_str()),
                self.ledger.node_key.clone(),
            )
            .expect("LedgerClient::new"),
            token_ttl_secs: self.token_ttl_secs,
            bootstrap_trustee: Some(
                DevKeyStore::load(&self.ledger.dir().join(TRUSTEE_KEYS_FILE)).expect("trustee-keys.json"),
            ),
            public_url: None,
        };
        let state = idelta_agent::start(config).await.unwrap_or_else(|e| panic!("the agent did not start: {e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = idelta_agent::router(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        self.url = format!("http://{addr}");
        self.server = Some(Server { shutdown: Some(tx), task });
    }

    /// Stops the agent and starts a new one on the same database, wallet
    /// URLs and master key (its in-memory caches start empty).
    pub async fn restart(&mut self) {
        // A new client drops the pooled connections, so the old server's
        // connection tasks end and its state (pools, stores) is dropped.
        self.http = http();
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        self.serve().await;
    }

    /// A request to `path` with an optional bearer credential.
    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req
    }

    /// Sends `method path` with an optional token and JSON body.
    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Answer {
        let mut req = self.req(method.clone(), path, token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        read(resp).await
    }

    /// `GET path` with `token`.
    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.request(Method::GET, path, Some(token), None).await
    }

    /// Registers a company as the operator; returns the company and its
    /// admin token.
    pub async fn register_company(&self, name: &str) -> (Value, String) {
        let (status, _, body) =
            self.request(Method::POST, "/v1/companies", Some(&self.operator_key), Some(&json!({ "name": name }))).await;
        assert_eq!(status, StatusCode::CREATED, "register {name}: {body}");
        let token = body["admin_token"].as_str().unwrap_or_else(|| panic!("admin_token in {body}")).to_owned();
        (body["company"].clone(), token)
    }

    /// Adds an employee as the company admin; returns the employee and
    /// its token.
    pub async fn add_employee(&self, company: &Value, admin_token: &str, name: &str) -> (Value, String) {
        let path = format!("/v1/companies/{}/employees", id(company));
        let (status, _, body) =
            self.request(Method::POST, &path, Some(admin_token), Some(&json!({ "name": name }))).await;
        assert_eq!(status, StatusCode::CREATED, "add {name}: {body}");
        let token = body["token"].as_str().unwrap_or_else(|| panic!("token in {body}")).to_owned();
        (body["employee"].clone(), token)
    }

    /// Opens an SSE stream at `path`, resuming after `last_event_id`.
    pub async fn open_events(&self, path: &str, token: &str, last_event_id: Option<i64>) -> reqwest::Response {
        let mut req = self.req(Method::GET, path, Some(token)).header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(n) = last_event_id {
            req = req.header("Last-Event-ID", n.to_string());
        }
        req.send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}

/// A TCP relay between the agent and its ledger that a test closes to
/// make the ledger unreachable (new connections are refused, open ones
/// cut) and opens again, without touching the ledger itself.
pub struct LedgerGate {
    /// `http://127.0.0.1:PORT` of the gate.
    pub url: String,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl LedgerGate {
    /// An open gate in front of the ledger at `ledger_url`
    /// (`http://HOST:PORT`).
    pub async fn start(ledger_url: &str) -> LedgerGate {
        use std::sync::atomic::Ordering;
        let target = ledger_url.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the gate");
        let url = format!("http://{}", listener.local_addr().expect("gate address"));
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let (gate_open, gate_cut) = (std::sync::Arc::clone(&open), cut.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !gate_open.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is closed at once
                }
                let (target, mut cut) = (target.clone(), gate_cut.subscribe());
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        LedgerGate { url, open, cut, task }
    }

    /// Refuses new connections and cuts the open ones.
    pub fn close(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    /// Lets connections through again.
    pub fn open(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for LedgerGate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `id` member of a company or employee.
pub fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}"))
}

/// Reads an answer; a streaming (`text/event-stream`) body is not read.
pub async fn read(resp: reqwest::Response) -> Answer {
    let status = resp.status();
    let headers = resp.headers().clone();
    let media = headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if media.starts_with("text/event-stream") {
        return (status, headers, Value::Null);
    }
    let text = resp.text().await.expect("response body");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, headers, body)
}

/// Asserts an RFC 9457 problem with one of `statuses`; returns its body.
pub fn assert_problem<'a>(answer: &'a Answer, statuses: &[u16], context: &str) -> &'a Value {
    let (status, headers, body) = answer;
    assert!(statuses.contains(&status.as_u16()), "{context}: expected one of {statuses:?}, got {status}: {body}");
    let media = headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(media.starts_with(PROBLEM_JSON), "{context}: expected {PROBLEM_JSON}, got `{media}`: {body}");
    assert_eq!(body["status"], status.as_u16(), "{context}: problem status member: {body}");
    assert!(body["type"].is_string() && body["title"].is_string(), "{context}: problem members: {body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.trim().is_empty()), "{context}: problem detail: {body}");
    body
}

/// Reads server-sent events from `resp` until `done` holds or `within`
/// passes; returns every event read (comments and keep-alives skipped).
pub async fn read_events(
    mut resp: reqwest::Response,
    done: impl Fn(&[SseEvent]) -> bool,
    within: Duration,
) -> Vec<SseEvent> {
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = String::new();
    let mut events = Vec::new();
    loop {
        if done(&events) {
            return events;
        }
        let chunk = match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            _ => return events,
        };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        let normalised = buf.replace("\r\n", "\n");
        buf = normalised;
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let (mut id, mut kind, mut data) = (None, String::from("message"), String::new());
            for line in frame.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => id = value.parse().ok(),
                    "event" => kind = value.to_owned(),
                    "data" => {
                        if !data.is_empty() {
                            data.push('\n');
                        }
                        data.push_str(value);
                    }
                    _ => {}
                }
            }
            if !data.is_empty() {
                let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                events.push(SseEvent { id, kind, data });
            }
        }
    }
}
