//! The `companies` table: one row per company, its DID and the wallet key
//! that controls it, and the token epoch that invalidates old tokens.

use super::{conflict_aware, Db, Result};
use serde::Serialize;
use sqlx::Row as _;

/// A company as the agent stores it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Company {
    /// Opaque id, `co-…`.
    pub id: String,
    /// Display name, unique among active companies.
    pub name: String,
    /// Its `did:idelta` DID on the ledger.
    pub did: String,
    /// `active` or `removed`.
    pub status: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When it was removed.
    pub removed_at: Option<i64>,
    /// Wallet key id of the DID's current controller key.
    #[serde(skip)]
    pub key_id: String,
    /// Tokens carrying an older epoch are refused.
    #[serde(skip)]
    pub token_epoch: i64,
}

const COLUMNS: &str = "id, name, did, key_id, status, token_epoch, created_at, removed_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Company> {
    Ok(Company {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        did: row.try_get("did")?,
        key_id: row.try_get("key_id")?,
        status: row.try_get("status")?,
        token_epoch: row.try_get("token_epoch")?,
        created_at: row.try_get("created_at")?,
        removed_at: row.try_get("removed_at")?,
    })
}

impl Db {
    /// Inserts a new active company.
    pub async fn insert_company(&self, c: &Company) -> Result<()> {
        sqlx::query(
            "INSERT INTO companies (id, name, did, key_id, status, token_epoch, created_at, removed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.did)
        .bind(&c.key_id)
        .bind(&c.status)
        .bind(c.token_epoch)
        .bind(c.created_at)
        .bind(c.removed_at)
        .execute(self.pool())
        .await
        .map_err(conflict_aware)?;
        Ok(())
    }

    /// A company by id, whatever its status.
    pub async fn company(&self, id: &str) -> Result<Option<Company>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM companies WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Whether an active company has this name.
    pub async fn company_name_taken(&self, name: &str) -> Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM companies WHERE name = $1 AND status = 'active'")
            .bind(name)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Companies ordered by id, after `cursor`, at most `limit`.
    pub async fn companies(&self, cursor: Option<&str>, limit: i64) -> Result<Vec<Company>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM companies WHERE id > $1 ORDER BY id LIMIT $2"))
            .bind(cursor.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Marks a company and its employees removed, and moves every token
    /// epoch past the tokens issued, in the caller's transaction (which the
    /// revocation of everything the company issued shares).
    pub async fn remove_company(tx: &mut sqlx::AnyConnection, id: &str, at: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE companies SET status = 'removed', removed_at = $2, token_epoch = token_epoch + 1 \
             WHERE id = $1 AND status = 'active'",
        )
        .bind(id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE employees SET status = 'removed', removed_at = $2, token_epoch = token_epoch + 1 \
             WHERE company_id = $1 AND status = 'active'",
        )
        .bind(id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Starts a new token epoch for a company's admin tokens.
    pub async fn bump_company_epoch(&self, id: &str) -> Result<i64> {
        let row = sqlx::query(
            "UPDATE companies SET token_epoch = token_epoch + 1 WHERE id = $1 AND status = 'active' RETURNING token_epoch",
        )
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("token_epoch")?)
    }

    /// Records the new controller key after a DID key rotation.
    pub async fn set_company_key(&self, id: &str, key_id: &str) -> Result<()> {
        sqlx::query("UPDATE companies SET key_id = $2 WHERE id = $1")
            .bind(id)
            .bind(key_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
