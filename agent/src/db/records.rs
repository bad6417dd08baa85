//! Audit records, idempotency keys and operator settings.

use super::{conflict_aware, Db, DbError, Result};
use sqlx::Row as _;

/// How long an `Idempotency-Key` is honoured: 24 hours.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;

/// A stored answer to an `Idempotency-Key`.
#[derive(Clone, Debug)]
pub struct StoredResponse {
    /// Hash of the request it answered.
    pub request_hash: String,
    /// HTTP status; 0 while the first request is still running.
    pub status: i64,
    /// JSON body.
    pub body: String,
}

impl Db {
    /// Appends an audit record.
    pub async fn audit(
        &self,
        at: i64,
        actor: &str,
        tenant: Option<&str>,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit (id, at, actor, tenant, action, subject, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(crate::ids::new_id("au", at))
        .bind(at)
        .bind(actor)
        .bind(tenant)
        .bind(action)
        .bind(subject)
        .bind(detail)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Audit records of a tenant, newest last.
    pub async fn audit_of(&self, tenant: &str) -> Result<Vec<(i64, String, String, String)>> {
        let rows = sqlx::query("SELECT at, action, subject, detail FROM audit WHERE tenant = $1 ORDER BY at, id")
            .bind(tenant)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("at")?, r.try_get("action")?, r.try_get("subject")?, r.try_get("detail")?)))
            .collect()
    }

    /// Claims `(scope, key)` for a request. `Ok(None)`: claimed, run it.
    /// `Ok(Some(stored))`: it was seen before (status 0: still running).
    pub async fn claim_idempotency_key(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        at: i64,
    ) -> Result<Option<StoredResponse>> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency (scope, idem_key, request_hash, status, body, created_at) VALUES ($1, $2, $3, 0, '', $4)",
        )
        .bind(scope)
        .bind(key)
        .bind(request_hash)
        .bind(at)
        .execute(self.pool())
        .await
        .map_err(conflict_aware);
        match inserted {
            Ok(_) => Ok(None),
            Err(DbError::Conflict) => {
                let row = sqlx::query(
                    "SELECT request_hash, status, body FROM idempotency WHERE scope = $1 AND idem_key = $2",
                )
                .bind(scope)
                .bind(key)
                .fetch_one(self.pool())
                .await?;
                Ok(Some(StoredResponse {
                    request_hash: row.try_get("request_hash")?,
                    status: row.try_get::<i32, _>("status").map(i64::from)?,
                    body: row.try_get("body")?,
                }))
            }
            Err(e) => Err(e),
        }
    }

    /// Stores the answer to a claimed key.
    pub async fn complete_idempotency_key(&self, scope: &str, key: &str, status: u16, body: &str) -> Result<()> {
        sqlx::query("UPDATE idempotency SET status = $3, body = $4 WHERE scope = $1 AND idem_key = $2")
            .bind(scope)
            .bind(key)
            .bind(i32::from(status))
            .bind(body)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Releases a claimed key whose request failed, so it can be retried.
    pub async fn release_idempotency_key(&self, scope: &str, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM idempotency WHERE scope = $1 AND idem_key = $2 AND status = 0")
            .bind(scope)
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// An operator setting.
    pub async fn setting(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM operator_settings WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| r.try_get("value")).transpose().map_err(DbError::from)
    }

    /// Sets an operator setting.
    pub async fn set_setting(&self, name: &str, value: &str) -> Result<()> {
        sqlx::query("DELETE FROM operator_settings WHERE name = $1").bind(name).execute(self.pool()).await?;
        sqlx::query("INSERT INTO operator_settings (name, value) VALUES ($1, $2)")
            .bind(name)
            .bind(value)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
