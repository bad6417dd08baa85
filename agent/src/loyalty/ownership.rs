//! Ownership credentials: after the ledger gives a unit to a new owner, the
//! owner (when it is an employee of a company on this agent) gets a
//! `BenefitOwnershipCredential` in its sub-wallet, issued by the benefit's
//! company through the usual issuance pipeline (schema, status lists,
//! `eddsa-rdfc-2022`), and the previous owner's credential is revoked.
//!
//! **Order.** The ledger decides first; the credential follows. If issuing
//! fails (a wallet error, the issuer's key not on the ledger yet), the unit
//! is recorded `pending` in the same transaction that records the new
//! owner and revokes the previous owner's credential, and a background task
//! ([`spawn_retries`]) issues it later, with backoff. The previous owner
//! loses its credential either way: it no longer owns the unit.
//!
//! **Group commit.** Each change (revocation, new row, events) is one
//! small write; concurrent changes are committed together, one transaction
//! for all that wait (as the status lists' issued records are), and a
//! failed batch is retried change by change.
//!
//! **Races.** Rows carry the leaf that gave the unit to its owner; a change
//! older than the recorded one (two quick resales committed out of order)
//! is not applied, and the credential it issued is revoked.

use super::db::{self, UnitFilter, UnitRow, ISSUED, PENDING};
use super::{Loyalty, LoyaltyError, Result};
use crate::credentials::{CredentialError, Recipient, Securing};
use crate::db::DbError;
use crate::events::{Event, Events};
use idelta_issuer::data_integrity::{contexts, xsd_date_time, Cryptosuite};
use idelta_types::loyalty::views::BenefitView;
use idelta_types::Did;
use parking_lot::Mutex;
use serde_json::{json, Value};
use sqlx::AnyConnection;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// First retry delay of a pending credential; doubled per failure.
const RETRY_BASE_MS: i64 = 500;
/// Longest retry delay.
const RETRY_MAX_MS: i64 = 60_000;
/// Attempts to record one ownership change on its own after its batch failed.
const ALONE_ATTEMPTS: u64 = 3;
/// How often the retry task looks for due credentials without being woken.
const RETRY_TICK: Duration = Duration::from_secs(1);

/// The retry delay after `attempts` failures.
fn backoff_ms(attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    (RETRY_BASE_MS << shift).min(RETRY_MAX_MS)
}

/// An event to record with a change.
#[derive(Debug, Clone)]
pub struct EventSpec {
    /// The company whose stream gets it.
    pub tenant: String,
    /// `loyalty.purchased`, ...
    pub kind: &'static str,
    /// What it is about.
    pub subject: String,
    /// Details.
    pub data: Value,
}

/// A unit's new owner, as the ledger accepted it.
#[derive(Debug)]
pub struct Moved<'a> {
    /// The benefit.
    pub benefit: &'a BenefitView,
    /// The unit.
    pub unit: u64,
    /// The new owner's account.
    pub to: &'a Did,
    /// `(company, employee)` of the new owner when the caller knows it;
    /// otherwise looked up by DID.
    pub to_employee: Option<(String, String)>,
    /// The ledger leaf of the change.
    pub leaf_index: u64,
    /// Its batch time, ms since the epoch.
    pub timestamp: u64,
}

/// One change waiting for the group commit.
struct Change {
    benefit: String,
    unit: i64,
    leaf_index: i64,
    row: Option<UnitRow>,
    events: Vec<EventSpec>,
    now_ms: i64,
}

/// What a committed change did.
struct Applied {
    events: Vec<Event>,
    revoked: bool,
}

type Waiting = (Change, tokio::sync::oneshot::Sender<std::result::Result<bool, String>>);

/// The group commit of ownership changes and the retry task's wake-up.
#[derive(Default)]
pub(crate) struct Ownership {
    waiting: Mutex<Vec<Waiting>>,
    committing: tokio::sync::Mutex<()>,
    wake: Arc<tokio::sync::Notify>,
    /// Units whose change of owner this process is recording right now:
    /// the owner's benefits view does not "repair" them meanwhile.
    in_flight: Mutex<HashSet<(String, u64)>>,
}

impl Ownership {
    /// Whether a change of `unit`'s owner is being recorded now.
    pub(crate) fn in_flight(&self, benefit: &Did, unit: u64) -> bool {
        self.in_flight.lock().contains(&(benefit.to_string(), unit))
    }
}

/// Marks a unit in flight until dropped.
struct InFlight<'a> {
    ownership: &'a Ownership,
    key: (String, u64),
}

impl<'a> InFlight<'a> {
    fn new(ownership: &'a Ownership, benefit: &Did, unit: u64) -> InFlight<'a> {
        let key = (benefit.to_string(), unit);
        ownership.in_flight.lock().insert(key.clone());
        InFlight { ownership, key }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.ownership.in_flight.lock().remove(&self.key);
    }
}

fn revocation(e: CredentialError) -> DbError {
    match e {
        CredentialError::Tenant(crate::tenants::TenantError::Db(d)) => d,
        other => DbError::Sqlx(sqlx::Error::Protocol(other.to_string())),
    }
}

/// Revokes one credential record of `issuer` inside the caller's transaction.
async fn revoke_in(conn: &mut AnyConnection, issuer: &str, credential: &str, now_ms: i64) -> Result<bool, DbError> {
    let n =
        crate::credentials::status::revoke_records_in(conn, issuer, &[credential], now_ms).await.map_err(revocation)?;
    Ok(n > 0)
}

/// Records a change: revokes the previous owner's credential (or, for a
/// stale change, the one it issued), writes or deletes the unit's row,
/// records the events.
async fn apply(conn: &mut AnyConnection, change: &Change) -> Result<Applied, DbError> {
    let previous = db::lock_unit(conn, &change.benefit, change.unit).await?;
    let stale = previous.as_ref().is_some_and(|p| p.leaf_index > change.leaf_index);
    let mut revoked = false;
    if stale {
        if let Some(UnitRow { credential_id: Some(id), issuer_id, .. }) = &change.row {
            revoked |= revoke_in(conn, issuer_id, id, change.now_ms).await?;
        }
    } else {
        if let Some(UnitRow { credential_id: Some(id), issuer_id, .. }) = &previous {
            revoked |= revoke_in(conn, issuer_id, id, change.now_ms).await?;
        }
        match (&change.row, &previous) {
            (Some(row), _) => db::put_unit(conn, row).await?,
            (None, Some(_)) => db::delete_unit(conn, &change.benefit, change.unit).await?,
            (None, None) => {}
        }
    }
    let mut events = Vec::with_capacity(change.events.len());
    for e in &change.events {
        events.push(Events::record(conn, &e.tenant, e.kind, &e.subject, e.data.clone(), change.now_ms).await?);
    }
    Ok(Applied { events, revoked })
}

impl Ownership {
    /// Commits `change` together with whatever else is waiting; true when
    /// a credential was revoked (the status lists then have work).
    async fn commit(&self, db: &crate::db::Db, events: &Events, change: Change) -> Result<bool, DbError> {
        let (reply, done) = tokio::sync::oneshot::channel();
        self.waiting.lock().push((change, reply));
        {
            let _turn = self.committing.lock().await;
            let batch = std::mem::take(&mut *self.waiting.lock());
            if !batch.is_empty() {
                write_batch(db, events, batch).await;
            }
        }
        match done.await {
            Ok(Ok(revoked)) => Ok(revoked),
            Ok(Err(e)) => Err(DbError::Sqlx(sqlx::Error::Protocol(e))),
            Err(_) => Err(DbError::Sqlx(sqlx::Error::Protocol("the ownership change was not written".into()))),
        }
    }
}

/// Writes `batch` in one transaction, or change by change if that fails.
async fn write_batch(db: &crate::db::Db, events: &Events, batch: Vec<Waiting>) {
    if batch.len() > 1 {
        let together = async {
            let mut tx = db.pool().begin().await?;
            let mut applied = Vec::with_capacity(batch.len());
            for (change, _) in &batch {
                applied.push(apply(&mut tx, change).await?);
            }
            tx.commit().await?;
            Ok::<_, DbError>(applied)
        };
        if let Ok(applied) = together.await {
            for ((_, reply), a) in batch.into_iter().zip(applied) {
                a.events.iter().for_each(|e| events.announce(e));
                let _ = reply.send(Ok(a.revoked));
            }
            return;
        }
    }
    for (change, reply) in batch {
        let alone = || async {
            let mut tx = db.pool().begin().await?;
            let a = apply(&mut tx, &change).await?;
            tx.commit().await?;
            Ok::<_, DbError>(a)
        };
        // A revocation must not be lost to a passing database error.
        let mut outcome = alone().await;
        for attempt in 1..ALONE_ATTEMPTS {
            if outcome.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            outcome = alone().await;
        }
        let _ = reply.send(match outcome {
            Ok(a) => {
                a.events.iter().for_each(|e| events.announce(e));
                Ok(a.revoked)
            }
            Err(e) => Err(e.to_string()),
        });
    }
}

/// `ms` since the epoch as an XML Schema dateTime.
fn date_time(ms: u64) -> std::result::Result<String, CredentialError> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| CredentialError::Invalid(format!("time {ms}: {e}")))?;
    xsd_date_time(t).map_err(CredentialError::Proof)
}

impl Loyalty {
    /// The id of the benefit's company when it is on this agent (the
    /// issuer of its ownership credentials).
    async fn issuer_of(&self, benefit: &BenefitView) -> Result<Option<String>> {
        self.company_of(&benefit.company).await
    }

    /// Issues the `BenefitOwnershipCredential` of `unit` as `issuer` into
    /// the sub-wallet of `employee` of `company`; returns its record id.
    async fn issue_ownership(
        &self,
        issuer: &str,
        (company, employee): (&str, &str),
        benefit: &BenefitView,
        unit: u64,
        acquired_ms: u64,
        now_ms: i64,
    ) -> std::result::Result<String, CredentialError> {
        let mut credential = json!({
            "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
            "type": ["VerifiableCredential", "BenefitOwnershipCredential"],
            "credentialSubject": {
                "benefitDid": benefit.benefit,
                "benefit": benefit.terms.name,
                "provider": benefit.company,
                "unit": unit,
                "acquiredAt": date_time(acquired_ms)?,
            },
        });
        // How long the benefit may be used: the credential's validity.
        if let (Some(until), Value::Object(c)) = (benefit.terms.valid_until, &mut credential) {
            if i64::try_from(until).is_ok_and(|u| u > now_ms) {
                c.insert("validUntil".into(), date_time(until)?.into());
            }
        }
        let issued = self
            .credentials
            .issue_to(
                issuer,
                credential,
                Securing::DataIntegrity(Cryptosuite::EddsaRdfc2022),
                true,
                Some(Recipient::EmployeeOf { company, employee }),
                now_ms,
            )
            .await?;
        issued.credential_id.ok_or_else(|| CredentialError::Status("the credential was issued without a record".into()))
    }

    /// After the ledger gave a unit to a new owner: issues the owner's
    /// credential (when it is an employee here; `pending` if that fails),
    /// revokes the previous owner's, records the unit's row and `events`.
    /// Returns the new credential's record id, if one was issued. The
    /// ledger change stands whatever happens here, so a database failure
    /// is logged, not returned.
    pub(crate) async fn moved(&self, m: Moved<'_>, events: Vec<EventSpec>, now_ms: i64) -> Result<Option<String>> {
        let _recording = InFlight::new(&self.ownership, &m.benefit.benefit, m.unit);
        let looked_up = async {
            let owner = match m.to_employee {
                Some(owner) => Some(owner),
                None if m.to.method() == "key" => self.db.employee_by_did(m.to.as_str()).await?,
                None => None,
            };
            Ok::<_, LoyaltyError>((owner, self.issuer_of(m.benefit).await?))
        };
        let (owner, issuer) = match looked_up.await {
            Ok(found) => found,
            Err(e) => {
                // The ledger's change stands; the owner's benefits view
                // issues the credential once the database answers again.
                tracing::error!(benefit = %m.benefit.benefit, unit = m.unit, error = %e,
                    "the ledger moved the unit but the agent cannot look up its owner and issuer");
                return Ok(None);
            }
        };
        let mut row = None;
        let mut credential_id = None;
        if let (Some((company, employee)), Some(issuer)) = (owner, issuer) {
            let mut r = UnitRow {
                benefit_did: m.benefit.benefit.to_string(),
                unit: db::unit_i64(m.unit),
                company_id: company,
                employee_id: employee,
                issuer_id: issuer,
                leaf_index: db::unit_i64(m.leaf_index),
                acquired_at: db::unit_i64(m.timestamp),
                credential_id: None,
                state: ISSUED.into(),
                attempts: 0,
                last_error: None,
                next_attempt_at: 0,
            };
            let holder = (r.company_id.as_str(), r.employee_id.as_str());
            match self.issue_ownership(&r.issuer_id, holder, m.benefit, m.unit, m.timestamp, now_ms).await {
                Ok(id) => {
                    credential_id = Some(id.clone());
                    r.credential_id = Some(id);
                }
                Err(e) => {
                    tracing::warn!(benefit = %m.benefit.benefit, unit = m.unit, error = %e,
                        "ownership credential not issued yet; it stays pending and is retried");
                    r.state = PENDING.into();
                    r.attempts = 1;
                    r.last_error = Some(e.to_string());
                    r.next_attempt_at = now_ms + backoff_ms(1);
                }
            }
            row = Some(r);
        }
        let pending = row.as_ref().is_some_and(|r| r.state == PENDING);
        let change = Change {
            benefit: m.benefit.benefit.to_string(),
            unit: db::unit_i64(m.unit),
            leaf_index: db::unit_i64(m.leaf_index),
            row,
            events,
            now_ms,
        };
        match self.ownership.commit(&self.db, &self.events, change).await {
            Ok(revoked) => {
                if revoked {
                    self.credentials.status().wake();
                }
            }
            Err(e) => tracing::error!(benefit = %m.benefit.benefit, unit = m.unit, error = %e,
                "the ledger moved the unit but the agent could not record it; the owner's benefits view repairs it"),
        }
        if pending {
            self.ownership.wake.notify_one();
        }
        Ok(credential_id)
    }

    /// Revokes the ownership credentials of the units `filter` names (a
    /// delisted benefit's, a removed employee's) and forgets their rows, in
    /// one transaction; returns how many were revoked.
    pub(crate) async fn revoke_units(&self, filter: UnitFilter<'_>, now_ms: i64) -> Result<u64> {
        let mut tx = self.db.pool().begin().await.map_err(DbError::from)?;
        let rows = db::take_units(&mut tx, filter).await?;
        let mut revoked = 0;
        for row in &rows {
            if let Some(id) = &row.credential_id {
                if revoke_in(&mut tx, &row.issuer_id, id, now_ms).await? {
                    revoked += 1;
                }
            }
        }
        tx.commit().await.map_err(DbError::from)?;
        if revoked > 0 {
            self.credentials.status().wake();
        }
        Ok(revoked)
    }

    /// Issues the credentials whose retry is due; returns how many were issued.
    pub async fn retry_pending(&self, now_ms: i64) -> usize {
        let due = match self.db.due_units(now_ms, 100).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "ownership credentials: cannot read the retry queue");
                return 0;
            }
        };
        let mut issued = 0;
        for row in due {
            match self.retry_one(&row, now_ms).await {
                Ok(()) => issued += 1,
                Err(e) => {
                    let detail = e.to_string();
                    tracing::warn!(benefit = %row.benefit_did, unit = row.unit, error = %detail, "ownership credential retry failed");
                    if let Err(e) = self.db.set_unit_failed(&row, &detail, now_ms + backoff_ms(row.attempts + 1)).await
                    {
                        tracing::error!(error = %e, "cannot record a failed ownership credential retry");
                    }
                }
            }
        }
        issued
    }

    async fn retry_one(&self, row: &UnitRow, now_ms: i64) -> Result<()> {
        let benefit = self.benefit(&super::parse_did("benefit", &row.benefit_did)?, false).await?;
        let unit = u64::try_from(row.unit).unwrap_or_default();
        let acquired = u64::try_from(row.acquired_at).unwrap_or_default();
        let holder = (row.company_id.as_str(), row.employee_id.as_str());
        let id = self
            .issue_ownership(&row.issuer_id, holder, &benefit, unit, acquired, now_ms)
            .await
            .map_err(|e| LoyaltyError::Wallet(format!("ownership credential: {e}")))?;
        if !self.db.set_unit_issued(row, &id).await? {
            // The unit changed owner meanwhile: what was just issued is void.
            let mut tx = self.db.pool().begin().await.map_err(DbError::from)?;
            db::lock_unit(&mut tx, &row.benefit_did, row.unit).await?;
            revoke_in(&mut tx, &row.issuer_id, &id, now_ms).await?;
            tx.commit().await.map_err(DbError::from)?;
            self.credentials.status().wake();
        }
        Ok(())
    }
}

/// Starts the retry task of pending ownership credentials: woken when a
/// credential goes pending and every second, as long as the service exists.
pub fn spawn_retries(loyalty: &Arc<Loyalty>) {
    let weak = Arc::downgrade(loyalty);
    tokio::spawn(async move {
        loop {
            let Some(loyalty) = weak.upgrade() else { return };
            loyalty.retry_pending(crate::http::now_ms()).await;
            let wake = Arc::clone(&loyalty.ownership.wake);
            drop(loyalty);
            let _ = tokio::time::timeout(RETRY_TICK, wake.notified()).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_then_cap() {
        assert_eq!(backoff_ms(0), 500);
        assert_eq!(backoff_ms(1), 1000);
        assert_eq!(backoff_ms(30), RETRY_MAX_MS);
    }
}
