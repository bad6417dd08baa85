//! Webhooks: a company admin registers URLs, and every event of the
//! company (the same JSON as [`crate::events::Event`], the same stream as
//! SSE) is POSTed to each of them, signed with the webhook's secret.
//!
//! Delivery never slows down the change that caused it: [`Events`] hands
//! each recorded event to a broadcast channel, and the dispatcher started
//! by [`Webhooks::start`] gives every event its own task. Each attempt
//! carries
//!
//! - `Idelta-Event-Id: {tenant}:{seq}`, stable across retries, so a
//!   receiver can drop duplicates (delivery is at least once);
//! - `Idelta-Signature: t={unix seconds},v1={hex HMAC-SHA256(secret,
//!   "{t}.{body}")}`, where the key is the secret exactly as shown at
//!   creation (its 64 hex characters as bytes) — the scheme Stripe and
//!   others use, so receivers can reject forged and replayed requests.
//!
//! A non-2xx answer, a network error or no answer within the timeout is
//! retried with exponential backoff ([`DeliveryConfig`]); then the
//! delivery is given up, logged and counted in
//! `idelta_webhook_deliveries_total{result}`. Retries live in memory only:
//! after a restart the events stay in the event log, where the SSE stream
//! replays them from `Last-Event-ID`.
//!
//! Each tenant's webhooks are cached, dropped from the cache when a webhook
//! is added or removed here and re-read after [`DeliveryConfig::cache_ttl`]
//! so that agents sharing one database converge. A removed company gets its
//! `company.removed` event and nothing after; pending retries for a removed
//! webhook or company stop.

use crate::db::{Db, DbError};
use crate::events::{Event, Events};
use crate::ids::new_id;
use crate::tenants::{Page, MAX_PAGE};
use axum::body::Bytes;
use hmac::{Hmac, Mac as _};
use parking_lot::Mutex;
use serde::Serialize;
use sha2::Sha256;
use sqlx::Row as _;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// The header naming the event: `{tenant}:{seq}`.
pub const EVENT_ID_HEADER: &str = "Idelta-Event-Id";
/// The header carrying `t={unix seconds},v1={hex HMAC-SHA256}`.
pub const SIGNATURE_HEADER: &str = "Idelta-Signature";
/// Longest webhook URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// The event after which a company's webhooks get nothing more.
const COMPANY_REMOVED: &str = "company.removed";

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// Returned when a URL or a page limit is unacceptable.
    #[error("{0}")]
    Invalid(String),
    /// Returned when the webhook does not exist or is another company's.
    #[error("webhook not found")]
    NotFound,
    /// Returned when the company does not exist or is removed.
    #[error("company not found")]
    CompanyNotFound,
    /// Returned when the database fails.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Result with [`WebhookError`].
pub type Result<T, E = WebhookError> = std::result::Result<T, E>;

/// An absolute `http://` or `https://` URL with a host, at most
/// [`MAX_URL_LEN`] characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl FromStr for WebhookUrl {
    type Err = WebhookError;

    fn from_str(s: &str) -> Result<WebhookUrl> {
        let invalid = |why: &str| WebhookError::Invalid(format!("url {why}"));
        if s.len() > MAX_URL_LEN {
            return Err(invalid(&format!("must be at most {MAX_URL_LEN} characters")));
        }
        let url = reqwest::Url::parse(s).map_err(|e| invalid(&format!("is not an absolute URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("must start with http:// or https://"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("must name a host"));
        }
        // Stored as given: the receiver may care about its exact form.
        Ok(WebhookUrl(s.to_owned()))
    }
}

impl WebhookUrl {
    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A webhook as listed; its secret is shown only once, at creation.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    /// Opaque id, `wh-…`.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// A new webhook with its signing secret.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookCreated {
    /// Opaque id, `wh-…`.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// The HMAC-SHA256 key of `Idelta-Signature` (64 hex characters, used
    /// as they are). Shown only in this answer.
    pub secret: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// `Idelta-Signature` of `body` sent at `t` (Unix seconds): `t={t},v1={hex
/// HMAC-SHA256(secret, "{t}.{body}")}`.
pub fn signature_header(secret: &str, t: i64, body: &[u8]) -> Result<String, hmac::digest::InvalidLength> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes())))
}

/// How deliveries are attempted.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Wait before the first retry; each further retry waits twice as long.
    pub first_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
    /// Time limit of one attempt, connection included.
    pub timeout: Duration,
    /// Events waiting for delivery beyond which new ones are dropped (and
    /// left to the event log), so a dead receiver cannot exhaust memory.
    pub max_pending: usize,
    /// Requests in flight at once, over all receivers.
    pub max_in_flight: usize,
    /// How long a tenant's webhook list is trusted before it is re-read.
    pub cache_ttl: Duration,
    /// The wall clock, milliseconds since the Unix epoch (signatures carry it).
    pub clock: fn() -> i64,
}

impl Default for DeliveryConfig {
    /// First attempt, then retries after 1, 2, 4, 8 and 16 s; 5 s per attempt.
    fn default() -> Self {
        DeliveryConfig {
            retries: 5,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            max_pending: 10_000,
            max_in_flight: 256,
            cache_ttl: Duration::from_secs(60),
            clock: crate::http::now_ms,
        }
    }
}

impl DeliveryConfig {
    /// The wait before retry `n` (from 1).
    fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// One receiver, as the dispatcher needs it.
#[derive(Clone)]
struct Target {
    id: String,
    url: String,
    secret: String,
}

/// A tenant's receivers and whether the tenant is still active.
struct Targets {
    active: bool,
    hooks: Vec<Target>,
}

impl Targets {
    /// Whether `event` should (still) go to webhook `id`.
    fn wants(&self, event: &Event, id: &str) -> bool {
        (self.active || event.kind == COMPANY_REMOVED) && self.hooks.iter().any(|h| h.id == id)
    }
}

struct Cached {
    targets: Arc<Targets>,
    loaded: Instant,
}

/// Registered webhooks and their delivery.
pub struct Webhooks {
    db: Db,
    events: Arc<Events>,
    client: reqwest::Client,
    config: DeliveryConfig,
    cache: Mutex<HashMap<String, Cached>>,
    /// Bumped by every invalidation, so a lookup that raced one does not
    /// put a stale list back into the cache.
    generation: AtomicU64,
    pending: AtomicUsize,
    in_flight: Semaphore,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks").field("config", &self.config).finish_non_exhaustive()
    }
}

fn count(result: &'static str) {
    metrics::counter!("idelta_webhook_deliveries_total", "result" => result).increment(1);
}

/// An error with its causes, for the log (reqwest hides them otherwise).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Decrements the pending count when a delivery task ends, however it ends.
struct PendingGuard(Arc<Webhooks>);

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0.pending.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Webhooks {
    /// The service over `db`, announcing its own changes on `events`.
    pub fn new(db: Db, events: Arc<Events>, config: DeliveryConfig) -> Result<Webhooks, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A redirect is an answer the receiver must fix, not follow.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("idelta-agent/", env!("CARGO_PKG_VERSION"), " webhooks"))
            .build()?;
        let in_flight = Semaphore::new(config.max_in_flight.max(1));
        Ok(Webhooks {
            db,
            events,
            client,
            config,
            cache: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            pending: AtomicUsize::new(0),
            in_flight,
        })
    }

    /// Registers a webhook for an active company.
    pub async fn create(&self, tenant: &str, url: &WebhookUrl, actor: &str, now_ms: i64) -> Result<WebhookCreated> {
        self.active_company(tenant).await?;
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        let created = WebhookCreated {
            id: new_id("wh", now_ms),
            url: url.as_str().to_owned(),
            secret: hex::encode(secret),
            created_at: now_ms,
        };
        sqlx::query("INSERT INTO webhooks (id, tenant, url, secret, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&created.id)
            .bind(tenant)
            .bind(&created.url)
            .bind(&created.secret)
            .bind(created.created_at)
            .execute(self.db.pool())
            .await
            .map_err(DbError::from)?;
        self.invalidate(tenant);
        self.record(tenant, actor, "webhook.created", &created.id, serde_json::json!({ "url": created.url }), now_ms)
            .await;
        Ok(created)
    }

    /// A page of a company's webhooks, oldest first, without secrets.
    pub async fn list(&self, tenant: &str, cursor: Option<&str>, limit: Option<i64>) -> Result<Page<Webhook>> {
        let limit = match limit.unwrap_or(50) {
            l if (1..=MAX_PAGE).contains(&l) => l,
            _ => return Err(WebhookError::Invalid(format!("limit must be 1 to {MAX_PAGE}"))),
        };
        let rows =
            sqlx::query("SELECT id, url, created_at FROM webhooks WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3")
                .bind(tenant)
                .bind(cursor.unwrap_or(""))
                .bind(limit + 1)
                .fetch_all(self.db.pool())
                .await
                .map_err(DbError::from)?;
        let mut items = rows
            .iter()
            .map(|r| Ok(Webhook { id: r.try_get("id")?, url: r.try_get("url")?, created_at: r.try_get("created_at")? }))
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(DbError::from)?;
        let full = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        if full {
            items.truncate(usize::try_from(limit).unwrap_or(0));
        }
        let next_cursor = if full { items.last().map(|w| w.id.clone()) } else { None };
        Ok(Page { items, next_cursor })
    }

    /// Removes one of a company's webhooks; pending retries to it stop.
    pub async fn remove(&self, tenant: &str, id: &str, actor: &str, now_ms: i64) -> Result<()> {
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND tenant = $2")
            .bind(id)
            .bind(tenant)
            .execute(self.db.pool())
            .await
            .map_err(DbError::from)?;
        if done.rows_affected() == 0 {
            return Err(WebhookError::NotFound);
        }
        self.invalidate(tenant);
        self.record(tenant, actor, "webhook.removed", id, serde_json::json!({}), now_ms).await;
        Ok(())
    }

    async fn active_company(&self, tenant: &str) -> Result<()> {
        match self.db.company(tenant).await? {
            Some(c) if c.status == "active" => Ok(()),
            _ => Err(WebhookError::CompanyNotFound),
        }
    }

    /// Audit record and event of a committed change; their failure is
    /// logged, as the change stays done.
    async fn record(&self, tenant: &str, actor: &str, kind: &str, subject: &str, data: serde_json::Value, now_ms: i64) {
        if let Err(e) = self.db.audit(now_ms, actor, Some(tenant), kind, subject, &data.to_string()).await {
            tracing::error!(%tenant, %kind, %subject, error = %e, "audit record lost");
        }
        if let Err(e) = self.events.publish(tenant, kind, subject, data, now_ms).await {
            tracing::error!(%tenant, %kind, %subject, error = %e, "event not recorded");
        }
    }

    fn invalidate(&self, tenant: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.cache.lock().remove(tenant);
    }

    /// A tenant's receivers, from the cache or the database.
    async fn targets(&self, tenant: &str) -> Result<Arc<Targets>, DbError> {
        if let Some(c) = self.cache.lock().get(tenant) {
            if c.loaded.elapsed() < self.config.cache_ttl {
                return Ok(Arc::clone(&c.targets));
            }
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let active = self.db.company(tenant).await?.is_some_and(|c| c.status == "active");
        let rows = sqlx::query("SELECT id, url, secret FROM webhooks WHERE tenant = $1 ORDER BY id")
            .bind(tenant)
            .fetch_all(self.db.pool())
            .await?;
        let hooks = rows
            .iter()
            .map(|r| Ok(Target { id: r.try_get("id")?, url: r.try_get("url")?, secret: r.try_get("secret")? }))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let targets = Arc::new(Targets { active, hooks });
        let mut cache = self.cache.lock();
        if self.generation.load(Ordering::SeqCst) == generation {
            cache.insert(tenant.to_owned(), Cached { targets: Arc::clone(&targets), loaded: Instant::now() });
        }
        Ok(targets)
    }

    /// Starts the dispatcher: from now on every event published on
    /// `events` goes to its tenant's webhooks. The task ends when this
    /// service or `events` is dropped.
    pub fn start(self: &Arc<Self>, events: &Events) -> tokio::task::JoinHandle<()> {
        let mut published = events.subscribe_all();
        // Weak: the service owns the bus that feeds this task, so a strong
        // reference here would keep both alive forever.
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let received = published.recv().await;
                let Some(this) = this.upgrade() else { break };
                match received {
                    Ok(event) => this.accept(event),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "webhook dispatcher fell behind; those events stay in the event log");
                        metrics::counter!("idelta_webhook_deliveries_total", "result" => "dropped").increment(missed);
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        })
    }

    /// Hands one event to a delivery task, without waiting for it.
    fn accept(self: &Arc<Self>, event: Event) {
        if event.kind == COMPANY_REMOVED {
            // Later events of the company see it removed.
            self.invalidate(&event.tenant);
        }
        if self.pending.fetch_add(1, Ordering::Relaxed) >= self.config.max_pending {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            tracing::warn!(tenant = %event.tenant, seq = event.seq, "too many webhook deliveries pending; event dropped");
            count("dropped");
            return;
        }
        let guard = PendingGuard(Arc::clone(self));
        tokio::spawn(async move { guard.0.deliver_event(&event).await });
    }

    async fn deliver_event(&self, event: &Event) {
        let targets = match self.targets(&event.tenant).await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(tenant = %event.tenant, seq = event.seq, error = %e, "cannot read webhooks; event not delivered");
                count("failed");
                return;
            }
        };
        let hooks: Vec<&Target> = targets.hooks.iter().filter(|h| targets.wants(event, &h.id)).collect();
        if hooks.is_empty() {
            return;
        }
        let body = match serde_json::to_vec(event) {
            Ok(b) => Bytes::from(b),
            Err(e) => {
                tracing::error!(tenant = %event.tenant, seq = event.seq, error = %e, "cannot serialise event");
                return;
            }
        };
        futures::future::join_all(hooks.into_iter().map(|hook| self.deliver(event, hook, body.clone()))).await;
    }

    /// Delivers one event to one receiver, retrying with backoff.
    async fn deliver(&self, event: &Event, hook: &Target, body: Bytes) {
        let event_id = format!("{}:{}", event.tenant, event.seq);
        for attempt in 0..=self.config.retries {
            if attempt > 0 {
                tokio::time::sleep(self.config.backoff(attempt)).await;
                match self.targets(&event.tenant).await {
                    Ok(t) if !t.wants(event, &hook.id) => {
                        tracing::info!(webhook = %hook.id, %event_id, "webhook or company removed; retries stop");
                        count("cancelled");
                        return;
                    }
                    Ok(_) => {}
                    // Retrying is still right: the webhook was there.
                    Err(e) => tracing::warn!(webhook = %hook.id, error = %e, "cannot re-read webhooks"),
                }
            }
            let outcome = match self.in_flight.acquire().await {
                Ok(_permit) => self.attempt(hook, &event_id, body.clone()).await,
                Err(_) => return,
            };
            match outcome {
                Ok(()) => {
                    tracing::debug!(webhook = %hook.id, %event_id, attempt = attempt + 1, "webhook delivered");
                    count("delivered");
                    return;
                }
                Err(why) => {
                    tracing::warn!(webhook = %hook.id, %event_id, attempt = attempt + 1, error = %why, "webhook attempt failed")
                }
            }
        }
        tracing::error!(webhook = %hook.id, %event_id, attempts = self.config.retries + 1,
            "webhook delivery given up; the event stays in the event log");
        count("failed");
    }

    /// One signed POST; `Ok` on a 2xx answer.
    async fn attempt(&self, hook: &Target, event_id: &str, body: Bytes) -> Result<(), String> {
        let t = (self.config.clock)().div_euclid(1000);
        let signature = signature_header(&hook.secret, t, &body).map_err(|e| e.to_string())?;
        let response = self
            .client
            .post(&hook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_ID_HEADER, event_id)
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            // Without the URL: it may carry the receiver's own credentials.
            .map_err(|e| chain(&e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered {status}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::companies::Company;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::atomic::AtomicU16;

    const SECRET: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const BODY: &[u8] = br#"{"tenant":"co-1","seq":7}"#;

    #[test]
    fn signature_matches_a_fixed_vector() {
        // Computed outside Rust: printf '1700000000.{"tenant":"co-1","seq":7}' |
        //   openssl dgst -sha256 -hmac 000102…1e1f
        let expected = "08024966395825d5b4ad492132e196d4cf31d17ba927da41287784c0a7f940b0";
        assert_eq!(signature_header(SECRET, 1_700_000_000, BODY).unwrap(), format!("t=1700000000,v1={expected}"));
        // And with the hmac crate on the concatenated message.
        let mut mac = HmacSha256::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(b"1700000000.{\"tenant\":\"co-1\",\"seq\":7}");
        assert_eq!(hex::encode(mac.finalize().into_bytes()), expected);
        // Another time, body or secret gives another signature.
        assert_ne!(signature_header(SECRET, 1_700_000_001, BODY).unwrap(), format!("t=1700000001,v1={expected}"));
        assert!(!signature_header(SECRET, 1_700_000_000, b"{}").unwrap().ends_with(expected));
        assert!(!signature_header("ff", 1_700_000_000, BODY).unwrap().ends_with(expected));
    }

    #[test]
    fn urls_are_parsed() {
        for ok in ["http://127.0.0.1:9000/hook", "https://example.com/a?b=c", "HTTPS://Example.com"] {
            assert!(ok.parse::<WebhookUrl>().is_ok(), "{ok}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        for bad in ["", "example.com/hook", "ftp://example.com", "file:///etc/passwd", "http://", "mailto:a@b", &long] {
            assert!(matches!(bad.parse::<WebhookUrl>(), Err(WebhookError::Invalid(_))), "{bad}");
        }
        let exact = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN - "https://example.com/".len()));
        assert!(exact.parse::<WebhookUrl>().is_ok());
    }

    #[test]
    fn backoff_doubles_and_is_bounded() {
        let c = DeliveryConfig::default();
        let waits: Vec<u64> = (1..=5).map(|n| c.backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16]);
        assert_eq!(c.backoff(40), c.max_backoff);
    }

    /// What a receiver saw.
    #[derive(Clone, Debug)]
    struct Received {
        headers: HeaderMap,
        body: Bytes,
    }

    #[derive(Clone)]
    struct Receiver {
        seen: Arc<Mutex<Vec<Received>>>,
        /// Answers with 500 this many times first.
        failures: Arc<AtomicU16>,
    }

    async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
        r.seen.lock().push(Received { headers, body });
        let failing = r.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if failing {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::NO_CONTENT
        }
    }

    /// A receiver on 127.0.0.1:0: its URL and what it saw.
    async fn receiver(failures: u16) -> (String, Arc<Mutex<Vec<Received>>>) {
        let r = Receiver { seen: Arc::default(), failures: Arc::new(AtomicU16::new(failures)) };
        let seen = Arc::clone(&r.seen);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(r);
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/hook"), seen)
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        db: Db,
        events: Arc<Events>,
        hooks: Arc<Webhooks>,
    }

    fn clock() -> i64 {
        1_800_000_000_000
    }

    async fn fixture(companies: &[&str]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/t.db", dir.path().display())).await.unwrap();
        for id in companies {
            db.insert_company(&Company {
                id: (*id).into(),
                name: (*id).into(),
                did: format!("did:idelta:test:{id}"),
                status: "active".into(),
                created_at: 1,
                removed_at: None,
                key_id: "k".into(),
                token_epoch: 1,
            })
            .await
            .unwrap();
        }
        let events = Arc::new(Events::new(db.clone()));
        let config = DeliveryConfig {
            first_backoff: Duration::from_millis(20),
            timeout: Duration::from_secs(2),
            clock,
            ..DeliveryConfig::default()
        };
        let hooks = Arc::new(Webhooks::new(db.clone(), Arc::clone(&events), config).unwrap());
        hooks.start(&events);
        Fixture { _dir: dir, db, events, hooks }
    }

    /// Waits until `seen` holds `n` requests (or fails after 10 s).
    async fn wait_for(seen: &Mutex<Vec<Received>>, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = seen.lock().clone();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Checks the signature as a receiver would, with the hmac crate.
    fn verifies(secret: &str, r: &Received) -> bool {
        let header = r.headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let Some((t, v1)) = header.strip_prefix("t=").and_then(|h| h.split_once(",v1=")) else { return false };
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(&r.body);
        t == "1800000000" && mac.verify_slice(&hex::decode(v1).unwrap_or_default()).is_ok()
    }

    fn events_in(seen: &[Received]) -> Vec<serde_json::Value> {
        seen.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect()
    }

    #[tokio::test]
    async fn events_are_posted_signed_and_identified() {
        let f = fixture(&["co-a"]).await;
        let (url, seen) = receiver(0).await;
        let hook = f.hooks.create("co-a", &url.parse().unwrap(), "admin:co-a", 10).await.unwrap();
        assert_eq!(hook.secret.len(), 64);
        assert!(hex::decode(&hook.secret).is_ok());
        let published = f
            .events
            .publish("co-a", "employee.added", "em-1", serde_json::json!({ "name": "Alice" }), 20)
            .await
            .unwrap();

        // The webhook's own creation is an event too (seq 1), then this one.
        let got = wait_for(&seen, 2).await;
        assert_eq!(got.len(), 2, "{got:?}");
        let mut by_seq = got.clone();
        by_seq.sort_by_key(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["seq"].as_i64());
        let r = &by_seq[1];
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(),
            serde_json::to_value(&published).unwrap()
        );
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(r.headers[EVENT_ID_HEADER], format!("co-a:{}", published.seq));
        assert!(verifies(&hook.secret, r));
        assert!(!verifies(&"0".repeat(64), r), "another secret does not verify");
        let mut tampered = r.clone();
        tampered.body =
            Bytes::from(r.body.iter().copied().map(|b| if b == b'A' { b'B' } else { b }).collect::<Vec<_>>());
        assert!(!verifies(&hook.secret, &tampered), "a changed body does not verify");
        let first = events_in(&by_seq[..1]);
        assert_eq!(first[0]["kind"], "webhook.created");
        assert!(!by_seq[0].body.windows(hook.secret.len()).any(|w| w == hook.secret.as_bytes()), "no secret in events");
    }

    #[tokio::test]
    async fn failed_attempts_are_retried_until_one_succeeds() {
        let f = fixture(&["co-a"]).await;
        let (url, seen) = receiver(2).await;
        // The creation event is the one retried: 500, 500, then 204.
        let hook = f.hooks.create("co-a", &url.parse().unwrap(), "admin:co-a", 10).await.unwrap();
        let got = wait_for(&seen, 3).await;
        assert_eq!(got.len(), 3);
        for r in &got {
            assert_eq!(r.headers[EVENT_ID_HEADER], "co-a:1");
            assert_eq!(r.body, got[0].body);
            assert!(verifies(&hook.secret, r));
        }
        // No fourth attempt after the success.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(seen.lock().len(), 3);
    }

    #[tokio::test]
    async fn deliveries_give_up_after_the_last_retry() {
        let f = fixture(&["co-a"]).await;
        let (url, seen) = receiver(u16::MAX).await;
        f.hooks.create("co-a", &url.parse().unwrap(), "admin:co-a", 10).await.unwrap();
        // First attempt and five retries at 20, 40, 80, 160, 320 ms.
        let got = wait_for(&seen, 6).await;
        assert_eq!(got.len(), 6);
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(seen.lock().len(), 6);
    }

    #[tokio::test]
    async fn tenants_get_only_their_own_events_and_nothing_after_removal() {
        let f = fixture(&["co-a", "co-b"]).await;
        let (url_a, seen_a) = receiver(0).await;
        let (url_b, seen_b) = receiver(0).await;
        f.hooks.create("co-a", &url_a.parse().unwrap(), "admin:co-a", 10).await.unwrap();
        let hook_b = f.hooks.create("co-b", &url_b.parse().unwrap(), "admin:co-b", 10).await.unwrap();
        f.events.publish("co-b", "employee.added", "em-b", serde_json::json!({}), 20).await.unwrap();
        let b = wait_for(&seen_b, 2).await;
        assert!(events_in(&b).iter().all(|e| e["tenant"] == "co-b"));
        let a = wait_for(&seen_a, 1).await;
        assert_eq!(a.len(), 1);
        assert!(events_in(&a).iter().all(|e| e["tenant"] == "co-a"));

        // Another company cannot see or remove a webhook.
        assert!(f.hooks.list("co-a", None, None).await.unwrap().items.iter().all(|w| w.id != hook_b.id));
        assert!(matches!(f.hooks.remove("co-a", &hook_b.id, "admin:co-a", 30).await, Err(WebhookError::NotFound)));

        // A removed company gets its removal event, then nothing.
        let mut tx = f.db.pool().begin().await.unwrap();
        assert!(Db::remove_company(&mut tx, "co-b", 40).await.unwrap());
        tx.commit().await.unwrap();
        f.events.publish("co-b", "company.removed", "co-b", serde_json::json!({}), 40).await.unwrap();
        f.events.publish("co-b", "employee.removed", "em-b", serde_json::json!({}), 41).await.unwrap();
        let b = wait_for(&seen_b, 3).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let kinds: Vec<_> = events_in(&seen_b.lock()).iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect();
        assert_eq!(b.len(), 3);
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        assert!(kinds.contains(&"company.removed".to_owned()));
        assert!(!kinds.contains(&"employee.removed".to_owned()));
        assert!(matches!(
            f.hooks.create("co-b", &url_b.parse().unwrap(), "admin:co-b", 50).await,
            Err(WebhookError::CompanyNotFound)
        ));
    }

    #[tokio::test]
    async fn the_dispatcher_ends_with_the_service() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/t.db", dir.path().display())).await.unwrap();
        let events = Arc::new(Events::new(db.clone()));
        let hooks = Arc::new(Webhooks::new(db, Arc::clone(&events), DeliveryConfig::default()).unwrap());
        let task = hooks.start(&events);
        drop((hooks, events));
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn removed_webhooks_get_nothing_more_and_lists_page() {
        let f = fixture(&["co-a"]).await;
        let (url, seen) = receiver(0).await;
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(f.hooks.create("co-a", &url.parse().unwrap(), "admin:co-a", 10 + i).await.unwrap().id);
        }
        let first = f.hooks.list("co-a", None, Some(2)).await.unwrap();
        assert_eq!(first.items.iter().map(|w| w.id.clone()).collect::<Vec<_>>(), ids[..2]);
        let rest = f.hooks.list("co-a", first.next_cursor.as_deref(), Some(2)).await.unwrap();
        assert_eq!(rest.items.iter().map(|w| w.id.clone()).collect::<Vec<_>>(), ids[2..]);
        assert!(rest.next_cursor.is_none());
        assert!(matches!(f.hooks.list("co-a", None, Some(0)).await, Err(WebhookError::Invalid(_))));

        for id in &ids {
            f.hooks.remove("co-a", id, "admin:co-a", 20).await.unwrap();
        }
        assert!(matches!(f.hooks.remove("co-a", &ids[0], "admin:co-a", 21).await, Err(WebhookError::NotFound)));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = seen.lock().len();
        f.events.publish("co-a", "employee.added", "em-1", serde_json::json!({}), 30).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(seen.lock().len(), before);
        assert!(f.hooks.list("co-a", None, None).await.unwrap().items.is_empty());
    }
}
