//! Per-tenant events: every state change is recorded with a per-tenant
//! sequence number, then fanned out to live subscribers (SSE) and webhooks.
//! Recording first means a subscriber that reconnects with `Last-Event-ID`
//! misses nothing.

use crate::db::{Db, DbError};
use parking_lot::Mutex;
use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::Row as _;
use std::collections::HashMap;
use tokio::sync::broadcast;

/// One event.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Event {
    /// The company it belongs to.
    pub tenant: String,
    /// Position in the tenant's stream, from 1.
    pub seq: i64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// What happened, e.g. `employee.added`.
    pub kind: String,
    /// The record it is about (a company or employee id).
    pub subject: String,
    /// Details.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// The event bus.
pub struct Events {
    db: Db,
    live: Mutex<HashMap<String, broadcast::Sender<Event>>>,
    /// Every tenant's events, for the webhook dispatcher.
    all: broadcast::Sender<Event>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

const LIVE_BUFFER: usize = 1024;
/// The webhook dispatcher only hands each event to a task, so it keeps up
/// with bursts far deeper than this.
const ALL_BUFFER: usize = 4096;

impl Events {
    /// A bus over `db`.
    pub fn new(db: Db) -> Events {
        Events { db, live: Mutex::new(HashMap::new()), all: broadcast::channel(ALL_BUFFER).0 }
    }

    /// Records and publishes an event.
    pub async fn publish(
        &self,
        tenant: &str,
        kind: &str,
        subject: &str,
        data: serde_json::Value,
        at: i64,
    ) -> Result<Event, DbError> {
        let mut tx = self.db.pool().begin().await?;
        let event = Events::record(&mut tx, tenant, kind, subject, data, at).await?;
        tx.commit().await?;
        self.announce(&event);
        Ok(event)
    }

    /// Records an event inside the caller's transaction, so a change and
    /// its event commit together (one durable commit, never one without
    /// the other). The tenant's counter row is incremented (its row lock
    /// queues concurrent writers, in this agent or another one on the same
    /// database) and the event inserted with that number: numbers are
    /// unique and gap-free and no event is lost to a collision. Call
    /// [`Events::announce`] after the commit.
    pub async fn record(
        conn: &mut AnyConnection,
        tenant: &str,
        kind: &str,
        subject: &str,
        data: serde_json::Value,
        at: i64,
    ) -> Result<Event, DbError> {
        sqlx::query("INSERT INTO event_counters (tenant, seq) VALUES ($1, 0) ON CONFLICT (tenant) DO NOTHING")
            .bind(tenant)
            .execute(&mut *conn)
            .await?;
        let seq: i64 = sqlx::query("UPDATE event_counters SET seq = seq + 1 WHERE tenant = $1 RETURNING seq")
            .bind(tenant)
            .fetch_one(&mut *conn)
            .await?
            .try_get("seq")?;
        sqlx::query("INSERT INTO events (tenant, seq, at, kind, subject, data) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(tenant)
            .bind(seq)
            .bind(at)
            .bind(kind)
            .bind(subject)
            .bind(data.to_string())
            .execute(&mut *conn)
            .await?;
        Ok(Event { tenant: tenant.into(), seq, at, kind: kind.into(), subject: subject.into(), data })
    }

    /// Hands a committed event to live subscribers and webhooks.
    pub fn announce(&self, event: &Event) {
        {
            let mut live = self.live.lock();
            // No live subscriber is not an error: the event is recorded. A
            // channel nobody listens to any more is dropped.
            if live.get(&event.tenant).is_some_and(|sender| sender.send(event.clone()).is_err()) {
                live.remove(&event.tenant);
            }
        }
        let _ = self.all.send(event.clone());
        metrics::counter!("idelta_events_total", "kind" => event.kind.clone()).increment(1);
    }

    /// Live events of a tenant from now on.
    pub fn subscribe(&self, tenant: &str) -> broadcast::Receiver<Event> {
        self.live.lock().entry(tenant.to_owned()).or_insert_with(|| broadcast::channel(LIVE_BUFFER).0).subscribe()
    }

    /// Live events of every tenant from now on (the webhook dispatcher).
    pub fn subscribe_all(&self) -> broadcast::Receiver<Event> {
        self.all.subscribe()
    }

    /// Recorded events of a tenant after `after_seq`, oldest first.
    pub async fn since(&self, tenant: &str, after_seq: i64, limit: i64) -> Result<Vec<Event>, DbError> {
        let rows = sqlx::query(
            "SELECT tenant, seq, at, kind, subject, data FROM events WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(tenant)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let data: String = r.try_get("data")?;
                Ok(Event {
                    tenant: r.try_get("tenant")?,
                    seq: r.try_get("seq")?,
                    at: r.try_get("at")?,
                    kind: r.try_get("kind")?,
                    subject: r.try_get("subject")?,
                    data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }
}
