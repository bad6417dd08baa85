//! Per-tenant events: every state change is recorded with a per-tenant
//! sequence number, then fanned out to live subscribers (SSE) and webhooks.
//! Recording first means a subscriber that reconnects with `Last-Event-ID`
//! misses nothing.

use crate::db::{Db, DbError};
use parking_lot::Mutex;
use serde::Serialize;
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
    /// Serialises numbering; holds each tenant's last sequence number.
    numbering: tokio::sync::Mutex<HashMap<String, i64>>,
    live: Mutex<HashMap<String, broadcast::Sender<Event>>>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

const LIVE_BUFFER: usize = 1024;

impl Events {
    /// A bus over `db`.
    pub fn new(db: Db) -> Events {
        Events { db, numbering: tokio::sync::Mutex::new(HashMap::new()), live: Mutex::new(HashMap::new()) }
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
        let mut numbering = self.numbering.lock().await;
        let last = match numbering.get(tenant) {
            Some(n) => *n,
            None => {
                let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM events WHERE tenant = $1")
                    .bind(tenant)
                    .fetch_one(self.db.pool())
                    .await?;
                row.try_get::<i64, _>("n")?
            }
        };
        let event =
            Event { tenant: tenant.into(), seq: last + 1, at, kind: kind.into(), subject: subject.into(), data };
        sqlx::query("INSERT INTO events (tenant, seq, at, kind, subject, data) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&event.tenant)
            .bind(event.seq)
            .bind(event.at)
            .bind(&event.kind)
            .bind(&event.subject)
            .bind(event.data.to_string())
            .execute(self.db.pool())
            .await?;
        numbering.insert(tenant.into(), event.seq);
        drop(numbering);
        if let Some(sender) = self.live.lock().get(tenant) {
            // No live subscriber is not an error: the event is recorded.
            let _ = sender.send(event.clone());
        }
        metrics::counter!("idelta_events_total", "kind" => event.kind.clone()).increment(1);
        Ok(event)
    }

    /// Live events of a tenant from now on.
    pub fn subscribe(&self, tenant: &str) -> broadcast::Receiver<Event> {
        self.live.lock().entry(tenant.to_owned()).or_insert_with(|| broadcast::channel(LIVE_BUFFER).0).subscribe()
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
