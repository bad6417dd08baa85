//! The loyalty tables (migration `0005_loyalty.sql`): the benefit DIDs this
//! agent's companies listed (and which wallet key each DID has), and the
//! units its employees hold with the ownership credential issued for each.
//! The ledger is the truth about who owns what; a row here only says which
//! credential stands for it, or that one is still owed (`pending`).

use crate::db::{Db, Result};
use sqlx::{AnyConnection, Row as _};

/// A unit's credential is in the owner's sub-wallet.
pub const ISSUED: &str = "issued";
/// The ledger gave the unit to its owner; the credential is still owed.
pub const PENDING: &str = "pending";

/// A benefit listed by one of this agent's companies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenefitRow {
    /// The benefit's DID.
    pub benefit_did: String,
    /// The company that listed it.
    pub company_id: String,
    /// The wallet key (company profile) controlling the benefit DID.
    pub key_id: String,
    /// When it was listed.
    pub created_at: i64,
    /// When it was delisted.
    pub removed_at: Option<i64>,
}

/// A unit held by an employee of this agent, and its ownership credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitRow {
    /// The benefit's DID.
    pub benefit_did: String,
    /// The unit number.
    pub unit: i64,
    /// The owner's company.
    pub company_id: String,
    /// The owner.
    pub employee_id: String,
    /// The benefit's company, which issues the credential.
    pub issuer_id: String,
    /// Ledger leaf that gave the unit to this owner.
    pub leaf_index: i64,
    /// Its batch time, ms since the epoch.
    pub acquired_at: i64,
    /// The issued credential's record id, once issued.
    pub credential_id: Option<String>,
    /// [`ISSUED`] or [`PENDING`].
    pub state: String,
    /// Failed issuance attempts.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due.
    pub next_attempt_at: i64,
}

const UNIT_COLUMNS: &str = "benefit_did, unit, company_id, employee_id, issuer_id, leaf_index, acquired_at, \
                            credential_id, state, attempts, last_error, next_attempt_at";

fn unit_from_row(r: &sqlx::any::AnyRow) -> Result<UnitRow> {
    Ok(UnitRow {
        benefit_did: r.try_get("benefit_did")?,
        unit: r.try_get("unit")?,
        company_id: r.try_get("company_id")?,
        employee_id: r.try_get("employee_id")?,
        issuer_id: r.try_get("issuer_id")?,
        leaf_index: r.try_get("leaf_index")?,
        acquired_at: r.try_get("acquired_at")?,
        credential_id: r.try_get("credential_id")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
    })
}

/// A unit number as stored (units are leaf indexes, far below `i64::MAX`).
pub fn unit_i64(unit: u64) -> i64 {
    i64::try_from(unit).unwrap_or(i64::MAX)
}

impl Db {
    /// Records a benefit a company listed.
    pub async fn insert_benefit(&self, row: &BenefitRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO loyalty_benefits (benefit_did, company_id, key_id, created_at, removed_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&row.benefit_did)
        .bind(&row.company_id)
        .bind(&row.key_id)
        .bind(row.created_at)
        .bind(row.removed_at)
        .execute(self.pool())
        .await
        .map_err(crate::db::conflict_aware)?;
        Ok(())
    }

    /// A benefit listed by one of this agent's companies.
    pub async fn benefit_row(&self, benefit: &str) -> Result<Option<BenefitRow>> {
        let row = sqlx::query(
            "SELECT benefit_did, company_id, key_id, created_at, removed_at FROM loyalty_benefits WHERE benefit_did = $1",
        )
        .bind(benefit)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(BenefitRow {
                benefit_did: r.try_get("benefit_did")?,
                company_id: r.try_get("company_id")?,
                key_id: r.try_get("key_id")?,
                created_at: r.try_get("created_at")?,
                removed_at: r.try_get("removed_at")?,
            })
        })
        .transpose()
    }

    /// The DIDs of a company's benefits that are still listed.
    pub async fn listed_benefits(&self, company: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT benefit_did FROM loyalty_benefits WHERE company_id = $1 AND removed_at IS NULL ORDER BY benefit_did",
        )
        .bind(company)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("benefit_did")?)).collect()
    }

    /// Marks benefits delisted.
    pub async fn mark_benefits_removed(&self, benefits: &[String], at: i64) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for b in benefits {
            sqlx::query("UPDATE loyalty_benefits SET removed_at = $2 WHERE benefit_did = $1 AND removed_at IS NULL")
                .bind(b)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The id of the company whose DID is `did`, if it is on this agent.
    pub async fn company_id_by_did(&self, did: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT id FROM companies WHERE did = $1 ORDER BY created_at DESC LIMIT 1")
            .bind(did)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok(r.try_get("id")?)).transpose()
    }

    /// `(company, employee)` of the active employee whose `did:key` is `did`.
    pub async fn employee_by_did(&self, did: &str) -> Result<Option<(String, String)>> {
        let row = sqlx::query("SELECT company_id, id FROM employees WHERE did = $1 AND status = 'active' LIMIT 1")
            .bind(did)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((r.try_get("company_id")?, r.try_get("id")?))).transpose()
    }

    /// `(employee id, did)` of the given active employees of `company`
    /// (at most 1000 ids, one query).
    pub async fn employee_dids(&self, company: &str, ids: &[String]) -> Result<Vec<(String, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT id, did FROM employees WHERE company_id = $1 AND status = 'active' AND id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(company);
        for id in ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("did")?))).collect()
    }

    /// The units an employee holds, as this agent recorded them.
    pub async fn units_of(&self, company: &str, employee: &str) -> Result<Vec<UnitRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {UNIT_COLUMNS} FROM loyalty_units WHERE company_id = $1 AND employee_id = $2 \
             ORDER BY benefit_did, unit"
        ))
        .bind(company)
        .bind(employee)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(unit_from_row).collect()
    }

    /// Units whose credential is owed and due at `now_ms`, oldest first.
    pub async fn due_units(&self, now_ms: i64, limit: i64) -> Result<Vec<UnitRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {UNIT_COLUMNS} FROM loyalty_units WHERE state = $1 AND next_attempt_at <= $2 \
             ORDER BY next_attempt_at LIMIT $3"
        ))
        .bind(PENDING)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(unit_from_row).collect()
    }

    /// Records a retried credential as issued, unless the unit changed
    /// owner meanwhile (then the caller revokes what it issued).
    pub async fn set_unit_issued(&self, row: &UnitRow, credential_id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE loyalty_units SET state = $5, credential_id = $6, last_error = NULL \
             WHERE benefit_did = $1 AND unit = $2 AND employee_id = $3 AND leaf_index = $4 AND state = $7",
        )
        .bind(&row.benefit_did)
        .bind(row.unit)
        .bind(&row.employee_id)
        .bind(row.leaf_index)
        .bind(ISSUED)
        .bind(credential_id)
        .bind(PENDING)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed retry and when to try again.
    pub async fn set_unit_failed(&self, row: &UnitRow, error: &str, next_attempt_at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE loyalty_units SET attempts = attempts + 1, last_error = $4, next_attempt_at = $5 \
             WHERE benefit_did = $1 AND unit = $2 AND leaf_index = $3 AND state = $6",
        )
        .bind(&row.benefit_did)
        .bind(row.unit)
        .bind(row.leaf_index)
        .bind(error)
        .bind(next_attempt_at)
        .bind(PENDING)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

/// The row of a unit, locked for a change: a write statement, so that it
/// can come first in the caller's transaction and take the write lock:
/// the unit's row on PostgreSQL (so two agents record one unit's changes
/// in turn), the database's on SQLite, where a transaction that reads first
/// and writes later fails at once (not after the busy timeout) if another
/// connection committed in between.
pub async fn lock_unit(conn: &mut AnyConnection, benefit: &str, unit: i64) -> Result<Option<UnitRow>> {
    let row = sqlx::query(&format!(
        "UPDATE loyalty_units SET state = state WHERE benefit_did = $1 AND unit = $2 RETURNING {UNIT_COLUMNS}"
    ))
    .bind(benefit)
    .bind(unit)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(unit_from_row).transpose()
}

/// Writes a unit's row (its new owner), replacing the previous owner's.
pub async fn put_unit(conn: &mut AnyConnection, row: &UnitRow) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO loyalty_units ({UNIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (benefit_did, unit) DO UPDATE SET company_id = $3, employee_id = $4, issuer_id = $5, \
         leaf_index = $6, acquired_at = $7, credential_id = $8, state = $9, attempts = $10, last_error = $11, \
         next_attempt_at = $12"
    ))
    .bind(&row.benefit_did)
    .bind(row.unit)
    .bind(&row.company_id)
    .bind(&row.employee_id)
    .bind(&row.issuer_id)
    .bind(row.leaf_index)
    .bind(row.acquired_at)
    .bind(row.credential_id.as_deref())
    .bind(&row.state)
    .bind(row.attempts)
    .bind(row.last_error.as_deref())
    .bind(row.next_attempt_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes a unit's row (its owner is no employee here any more).
pub async fn delete_unit(conn: &mut AnyConnection, benefit: &str, unit: i64) -> Result<()> {
    sqlx::query("DELETE FROM loyalty_units WHERE benefit_did = $1 AND unit = $2")
        .bind(benefit)
        .bind(unit)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes and returns the rows matching `filter`, inside the caller's
/// transaction (one write statement, so it may come first): what a
/// removal revokes.
pub async fn take_units(conn: &mut AnyConnection, filter: UnitFilter<'_>) -> Result<Vec<UnitRow>> {
    let (condition, binds): (&str, Vec<&str>) = match filter {
        UnitFilter::Holder { company, employee } => ("company_id = $1 AND employee_id = $2", vec![company, employee]),
        UnitFilter::Benefit(benefit) => ("benefit_did = $1", vec![benefit]),
    };
    let delete = format!("DELETE FROM loyalty_units WHERE {condition} RETURNING {UNIT_COLUMNS}");
    let mut query = sqlx::query(&delete);
    for b in &binds {
        query = query.bind(*b);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(unit_from_row).collect()
}

/// Which unit rows a removal takes.
#[derive(Clone, Copy, Debug)]
pub enum UnitFilter<'a> {
    /// Every unit an employee holds.
    Holder {
        /// The employee's company.
        company: &'a str,
        /// The employee.
        employee: &'a str,
    },
    /// Every unit of a benefit.
    Benefit(&'a str),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(benefit: &str, unit: i64, employee: &str, leaf: i64) -> UnitRow {
        UnitRow {
            benefit_did: benefit.into(),
            unit,
            company_id: "co-1".into(),
            employee_id: employee.into(),
            issuer_id: "co-2".into(),
            leaf_index: leaf,
            acquired_at: 5,
            credential_id: None,
            state: PENDING.into(),
            attempts: 1,
            last_error: Some("wallet".into()),
            next_attempt_at: 10,
        }
    }

    /// The unit rows' life: written, replaced by the next owner, retried
    /// when pending, taken by a removal.
    #[tokio::test]
    async fn unit_rows_follow_their_owner() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/t.db", dir.path().display())).await.unwrap();
        let mut conn = db.pool().acquire().await.unwrap();
        put_unit(&mut conn, &row("did:idelta:b1", 7, "em-1", 7)).await.unwrap();
        put_unit(&mut conn, &row("did:idelta:b1", 8, "em-1", 8)).await.unwrap();
        put_unit(&mut conn, &row("did:idelta:b2", 9, "em-2", 9)).await.unwrap();
        // A resale: the next owner's row replaces the previous one.
        put_unit(&mut conn, &row("did:idelta:b1", 8, "em-2", 12)).await.unwrap();
        assert_eq!(lock_unit(&mut conn, "did:idelta:b1", 8).await.unwrap().unwrap().employee_id, "em-2");
        drop(conn);
        assert_eq!(db.units_of("co-1", "em-1").await.unwrap().len(), 1);
        assert_eq!(db.due_units(9, 10).await.unwrap().len(), 0, "not due before next_attempt_at");
        let due = db.due_units(10, 10).await.unwrap();
        assert_eq!(due.len(), 3);
        assert!(db.set_unit_issued(&due[0], "cr-1").await.unwrap());
        assert!(!db.set_unit_issued(&due[0], "cr-2").await.unwrap(), "issued once");
        db.set_unit_failed(&due[1], "again", 99).await.unwrap();
        assert_eq!(db.due_units(98, 10).await.unwrap().len(), 1);

        let mut tx = db.pool().begin().await.unwrap();
        let taken = take_units(&mut tx, UnitFilter::Holder { company: "co-1", employee: "em-2" }).await.unwrap();
        assert_eq!(taken.len(), 2);
        let taken = take_units(&mut tx, UnitFilter::Benefit("did:idelta:b1")).await.unwrap();
        assert_eq!(taken.len(), 1);
        tx.commit().await.unwrap();
        assert!(db.due_units(i64::MAX, 10).await.unwrap().is_empty());
    }
}
