//! The `employees` table: one row per employee, whose keys and
//! credentials live in a sub-wallet (askar profile) of the company's store.

use super::{conflict_aware, Db, Result};
use serde::Serialize;
use sqlx::Row as _;

/// An employee as the agent stores it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Employee {
    /// Opaque id, `em-…`; also the name of the sub-wallet.
    pub id: String,
    /// The company.
    pub company_id: String,
    /// Display name.
    pub name: String,
    /// A private `did:key` kept in the sub-wallet, not on the ledger.
    pub did: String,
    /// `active` or `removed`.
    pub status: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When the employee was removed.
    pub removed_at: Option<i64>,
    /// Tokens carrying an older epoch are refused.
    #[serde(skip)]
    pub token_epoch: i64,
}

const COLUMNS: &str = "id, company_id, name, did, status, token_epoch, created_at, removed_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Employee> {
    Ok(Employee {
        id: row.try_get("id")?,
        company_id: row.try_get("company_id")?,
        name: row.try_get("name")?,
        did: row.try_get("did")?,
        status: row.try_get("status")?,
        token_epoch: row.try_get("token_epoch")?,
        created_at: row.try_get("created_at")?,
        removed_at: row.try_get("removed_at")?,
    })
}

impl Db {
    /// Inserts a new active employee within the caller's transaction.
    pub async fn insert_employee(conn: &mut sqlx::AnyConnection, e: &Employee) -> Result<()> {
        sqlx::query(
            "INSERT INTO employees (id, company_id, name, did, status, token_epoch, created_at, removed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&e.id)
        .bind(&e.company_id)
        .bind(&e.name)
        .bind(&e.did)
        .bind(&e.status)
        .bind(e.token_epoch)
        .bind(e.created_at)
        .bind(e.removed_at)
        .execute(conn)
        .await
        .map_err(conflict_aware)?;
        Ok(())
    }

    /// An employee of `company` by id. Scoped by company: another
    /// company's employee is not found.
    pub async fn employee(&self, company: &str, id: &str) -> Result<Option<Employee>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM employees WHERE company_id = $1 AND id = $2"))
            .bind(company)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Employees of `company` ordered by id, after `cursor`, at most `limit`.
    pub async fn employees(&self, company: &str, cursor: Option<&str>, limit: i64) -> Result<Vec<Employee>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM employees WHERE company_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(company)
        .bind(cursor.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Marks an employee removed and invalidates its tokens, in the caller's
    /// transaction (which the revocation of the employee's credentials
    /// shares).
    pub async fn remove_employee(conn: &mut sqlx::AnyConnection, company: &str, id: &str, at: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE employees SET status = 'removed', removed_at = $3, token_epoch = token_epoch + 1 \
             WHERE company_id = $1 AND id = $2 AND status = 'active'",
        )
        .bind(company)
        .bind(id)
        .bind(at)
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Starts a new token epoch for an employee.
    pub async fn bump_employee_epoch(&self, company: &str, id: &str) -> Result<i64> {
        let row = sqlx::query(
            "UPDATE employees SET token_epoch = token_epoch + 1 \
             WHERE company_id = $1 AND id = $2 AND status = 'active' RETURNING token_epoch",
        )
        .bind(company)
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("token_epoch")?)
    }
}
