//! Revocation and suspension of the credentials a company issues (issue 4
//! item 5; design.md §6): allocation at issuance, status changes, batched
//! publication on the ledger, and the lists served over HTTP.
//!
//! - **Lists.** Each company has Bitstring Status Lists (W3C, one bit per
//!   entry) for `revocation` and `suspension`, used by Data Integrity
//!   credentials, and Token Status Lists (IETF, two bits: 0 valid, 1
//!   invalid, 2 suspended) for SD-JWT VCs. Every list holds
//!   [`MIN_ENTRIES`] entries (herd privacy), and indexes are drawn at
//!   random without reuse by [`IndexAllocator`], whose state lives in the
//!   list's row; a full list is followed by a new one.
//! - **Issuance.** Allocation and the issued-credential record commit in
//!   one transaction, whose first statement locks the company's lists of
//!   that purpose, so two agents on one database never hand out one index
//!   twice.
//! - **Changes.** A revocation, suspension or reinstatement is a row in
//!   `status_updates` and an event, committed together; removing an
//!   employee or a company writes its revocations in the removal's own
//!   transaction ([`revoke_issued_in`]). A change is pending until the list
//!   carrying it is on the ledger.
//! - **Publication.** A background task ([`spawn_publisher`]), woken after
//!   each change and every second, folds a list's pending changes into its
//!   last published encoding ([`PendingUpdates`]), signs it as the company
//!   and writes it as the ledger object `{did}/statusList/{name}`. Only
//!   after the ledger's receipt are the changes marked published; on
//!   failure they stay pending, the error and attempt count are shown on
//!   the list, and the task retries with exponential backoff.
//! - **Serving.** `GET /status-lists/{company}/{name}` answers the last
//!   published list, freshly signed with a short `validUntil` (Bitstring)
//!   or `exp` (Token Status List), so a verifier anywhere can check it.
//!   The agent's own verifier does not trust that copy: it reads the list
//!   from the ledger ([`LedgerStatusSource`]).

use super::{invalid, time_of, CredentialError, Credentials, Result};
use crate::db::{Db, DbError};
use crate::events::Events;
use crate::ids::new_id;
use crate::tenants::TenantError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use futures::future::BoxFuture;
use idelta_issuer::data_integrity::{add_proof, Cryptosuite, ProofOptions, ProofPurpose};
use idelta_revocation::bitstring::{status_list_credential, BitstringStatusListEntry, ListCredential, StatusPurpose};
use idelta_revocation::token_status::{Bits, StatusClaim, StatusListToken, TokenStatus, STATUS_LIST_JWT_TYP};
use idelta_revocation::{IndexAllocator, PendingUpdates, StatusIndex, StatusList, TokenStatusList, MIN_ENTRIES};
use idelta_types::signer::Signer as _;
use idelta_types::tx::{ObjectKind, ObjectPut};
use idelta_verifier::status::StatusListSource;
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{AnyConnection, Row as _};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// Lifetime of a served list (`validUntil` − `validFrom`, or `exp` −
/// `iat`): five minutes, so a verifier sees a revocation within that time
/// after its publication.
pub const SERVED_TTL_MS: i64 = 5 * 60 * 1000;

/// First retry delay after a failed publication; doubled per failure.
const RETRY_BASE_MS: i64 = 250;
/// Longest retry delay.
const RETRY_MAX_MS: i64 = 30_000;
/// How often the publisher looks for due lists without being woken.
const PUBLISH_TICK: Duration = Duration::from_secs(1);

/// What a list's entries mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListPurpose {
    /// Bitstring Status List, `statusPurpose` `revocation`.
    Revocation,
    /// Bitstring Status List, `statusPurpose` `suspension`.
    Suspension,
    /// Token Status List of two-bit statuses.
    Token,
}

impl ListPurpose {
    /// The stored name, also the prefix of list names.
    pub fn as_str(self) -> &'static str {
        match self {
            ListPurpose::Revocation => "revocation",
            ListPurpose::Suspension => "suspension",
            ListPurpose::Token => "token",
        }
    }

    fn parse(text: &str) -> Result<ListPurpose> {
        match text {
            "revocation" => Ok(ListPurpose::Revocation),
            "suspension" => Ok(ListPurpose::Suspension),
            "token" => Ok(ListPurpose::Token),
            other => Err(corrupt(format!("unknown list purpose {other}"))),
        }
    }
}

/// The status an issued credential has (as changed; publication may lag).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CredentialState {
    /// Neither revoked nor suspended.
    Valid,
    /// Revoked: final.
    Revoked,
    /// Suspended: may be reinstated.
    Suspended,
}

impl CredentialState {
    fn as_str(self) -> &'static str {
        match self {
            CredentialState::Valid => "valid",
            CredentialState::Revoked => "revoked",
            CredentialState::Suspended => "suspended",
        }
    }

    fn parse(text: &str) -> Result<CredentialState> {
        match text {
            "valid" => Ok(CredentialState::Valid),
            "revoked" => Ok(CredentialState::Revoked),
            "suspended" => Ok(CredentialState::Suspended),
            other => Err(corrupt(format!("unknown credential status {other}"))),
        }
    }
}

/// A requested status change (VC API "update status" `status` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusChange {
    /// Revoke for good.
    Revoke,
    /// Suspend until reinstated.
    Suspend,
    /// Lift a suspension.
    Reinstate,
}

impl std::str::FromStr for StatusChange {
    type Err = CredentialError;

    fn from_str(s: &str) -> Result<StatusChange> {
        match s {
            "revoked" => Ok(StatusChange::Revoke),
            "suspended" => Ok(StatusChange::Suspend),
            "valid" | "reinstated" => Ok(StatusChange::Reinstate),
            other => Err(invalid(format!(
                "credentialStatus[].status `{other}` is not one of revoked, suspended, valid (reinstate)"
            ))),
        }
    }
}

/// A credential's status after a change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusUpdated {
    /// The agent's id of the issued credential.
    pub credential_id: String,
    /// Its status now.
    pub status: CredentialState,
    /// True until the list carrying the change is on the ledger.
    pub pending: bool,
}

/// One of a company's status lists, with its publication state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListInfo {
    /// The list's name (ledger object `{did}/statusList/{name}`).
    pub name: String,
    /// `revocation`, `suspension` or `token`.
    pub purpose: String,
    /// Where it is served.
    pub url: String,
    /// Entries in the list.
    pub capacity: u32,
    /// Entries handed out.
    pub allocated: u32,
    /// Publications so far (0: never published).
    pub version: i64,
    /// Ledger leaf of the last publication.
    pub leaf_index: Option<i64>,
    /// When it was last published (ms since the epoch).
    pub published_at: Option<i64>,
    /// Status changes not yet on the ledger.
    pub pending: i64,
    /// Failed publications since the last success.
    pub attempts: i64,
    /// Why the last publication failed.
    pub last_error: Option<String>,
    /// When the next attempt is due (ms since the epoch; 0: now).
    pub next_attempt_at: i64,
}

/// A status assigned at issuance.
#[derive(Debug)]
pub struct Assigned {
    /// The agent's id of the issued-credential record (`credentialId`).
    pub id: String,
    /// The `credentialStatus` entries (Bitstring) or the `status` claim
    /// (Token Status List) to put in the credential.
    pub status: Value,
    /// Lists created by this allocation, to publish at once.
    pub(crate) created: Vec<String>,
}

fn corrupt(detail: String) -> CredentialError {
    CredentialError::Status(detail)
}

fn db(e: impl Into<DbError>) -> CredentialError {
    CredentialError::Tenant(TenantError::Db(e.into()))
}

fn list_error(e: idelta_revocation::Error) -> CredentialError {
    CredentialError::Status(e.to_string())
}

/// A list row as the publisher and the server read it.
struct ListRow {
    purpose: ListPurpose,
    encoded: String,
    version: i64,
}

/// The decoded list of a row: last published state, or all zero.
enum Decoded {
    Bits(StatusList),
    Token(TokenStatusList),
}

impl Decoded {
    fn of(row: &ListRow) -> Result<Decoded> {
        let fresh = row.encoded.is_empty();
        Ok(match row.purpose {
            ListPurpose::Token if fresh => Decoded::Token(TokenStatusList::new(Bits::TWO)),
            ListPurpose::Token => Decoded::Token(TokenStatusList::decode(Bits::TWO, &row.encoded).map_err(list_error)?),
            _ if fresh => Decoded::Bits(StatusList::minimum()),
            _ => Decoded::Bits(
                StatusList::decode(&row.encoded, idelta_revocation::bitstring::StatusSize::ONE).map_err(list_error)?,
            ),
        })
    }
}

/// Status lists and issued credentials of every company, in the agent
/// database; every query is scoped by company id.
pub struct StatusService {
    db: Db,
    events: Arc<Events>,
    base_url: String,
    wake: Arc<tokio::sync::Notify>,
    /// Signed copies served over HTTP, per (company, list), with the
    /// publication they carry and when they stop being served.
    served: Mutex<HashMap<(String, String), CachedList>>,
    /// Status list objects read from the ledger (proof checked), with the
    /// tree head they were current under: while the ledger's signed tree
    /// head is unchanged no object can have a newer version, so one tree
    /// head fetch replaces the object's four proof fetches.
    objects: Mutex<HashMap<String, LedgerCopy>>,
    /// Indexes this process reserved per (company, purpose) and has not
    /// handed out yet, with their list.
    reserved: Mutex<HashMap<(String, ListPurpose), Reserved>>,
    /// Issued-credential records waiting to be written, and the turn to
    /// write them: see [`StatusService::record_issued`].
    waiting: Mutex<Vec<Waiting>>,
    committing: tokio::sync::Mutex<()>,
}

/// Reserved indexes, each with the name of its list.
type Reserved = VecDeque<(String, StatusIndex)>;

/// Indexes reserved per database transaction. Allocating is a read and a
/// write of the list's allocator state (16 KiB) under the company's lock,
/// so it is done for a block of indexes at once and each issuance takes
/// one from memory. A reserved index that is never handed out (the process
/// stops) stays allocated: it is never reused, only left unused, which
/// costs capacity and nothing else.
const RESERVE_BLOCK: usize = 64;

/// A ledger object's content as of a tree head.
struct LedgerCopy {
    tree_size: u64,
    root: String,
    content: Value,
    /// Whether this copy's proof verified with the issuer key resolved at
    /// the same tree head; a new tree head (any ledger write, a rotation
    /// included) replaces the copy, and with it this mark.
    verified: bool,
}

/// A signed copy of a list and how long it may be served.
struct CachedList {
    /// The publication it carries.
    version: i64,
    /// Served until then (ms since the epoch).
    until: i64,
    served: Served,
}

impl std::fmt::Debug for StatusService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusService").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// A served status list.
#[derive(Clone, Debug)]
pub enum Served {
    /// A signed `BitstringStatusListCredential`.
    Credential(Value),
    /// A Status List Token (`statuslist+jwt`).
    Token(String),
}

impl StatusService {
    /// The service; list URLs start with `base_url` (the agent's public
    /// URL, no trailing slash).
    pub fn new(db: Db, events: Arc<Events>, base_url: &str) -> StatusService {
        StatusService {
            db,
            events,
            base_url: base_url.trim_end_matches('/').to_owned(),
            wake: Arc::new(tokio::sync::Notify::new()),
            served: Mutex::new(HashMap::new()),
            objects: Mutex::new(HashMap::new()),
            reserved: Mutex::new(HashMap::new()),
            waiting: Mutex::new(Vec::new()),
            committing: tokio::sync::Mutex::new(()),
        }
    }

    /// Writes an issued credential's record, answering its id, before the
    /// credential is handed out (so that it can always be revoked),
    /// committed together with the records other issuances are writing at
    /// the same moment: whoever gets the turn writes every waiting record
    /// in one transaction, so concurrent issuances share one commit (and
    /// one fsync) instead of queueing for one each.
    async fn record_issued(
        &self,
        company: &str,
        credential_id: Option<&str>,
        holder_employee: Option<&str>,
        format: &'static str,
        (rev, sus): (Entry, Option<Entry>),
        now_ms: i64,
    ) -> Result<String> {
        let id = new_id("cr", now_ms);
        let row = IssuedRow {
            company: company.to_owned(),
            id: id.clone(),
            credential_id: credential_id.map(str::to_owned),
            holder_employee: holder_employee.map(str::to_owned),
            format,
            rev,
            sus,
            now_ms,
        };
        let (reply, written) = tokio::sync::oneshot::channel();
        self.waiting.lock().push((row, reply));
        {
            let _turn = self.committing.lock().await;
            let batch = std::mem::take(&mut *self.waiting.lock());
            if !batch.is_empty() {
                self.write_batch(batch).await;
            }
        }
        written.await.map_err(|_| corrupt("the issued credential's record was not written".into()))??;
        Ok(id)
    }

    /// Writes `batch` in one transaction; if that fails, each record in
    /// its own, so that a record that cannot be written fails only its own
    /// issuance.
    async fn write_batch(&self, batch: Vec<Waiting>) {
        if batch.len() > 1 {
            let together = async {
                let mut tx = self.db.pool().begin().await.map_err(db)?;
                for (row, _) in &batch {
                    insert_issued(&mut tx, row).await?;
                }
                tx.commit().await.map_err(db)
            };
            if together.await.is_ok() {
                for (_, reply) in batch {
                    let _ = reply.send(Ok(()));
                }
                return;
            }
        }
        for (row, reply) in batch {
            let alone = async {
                let mut tx = self.db.pool().begin().await.map_err(db)?;
                insert_issued(&mut tx, &row).await?;
                tx.commit().await.map_err(db)
            };
            let _ = reply.send(alone.await);
        }
    }

    /// A fresh index of a `purpose` list of `company`: one this process
    /// reserved, or the first of a new block reserved now. Lists created
    /// for the block are added to `created`.
    async fn take(
        &self,
        company: &str,
        purpose: ListPurpose,
        now_ms: i64,
        created: &mut Vec<String>,
    ) -> Result<(String, StatusIndex)> {
        let key = (company.to_owned(), purpose);
        if let Some(index) = self.reserved.lock().get_mut(&key).and_then(VecDeque::pop_front) {
            return Ok(index);
        }
        let mut tx = self.db.pool().begin().await.map_err(db)?;
        let mut block = allocate(&mut tx, company, purpose, RESERVE_BLOCK, now_ms, created).await?;
        tx.commit().await.map_err(db)?;
        let first = block.pop_front().ok_or_else(|| corrupt("an allocation reserved no index".into()))?;
        let mut reserved = self.reserved.lock();
        if reserved.len() >= 10_000 {
            // Bounded memory: dropped reservations are unused indexes, no harm.
            reserved.clear();
        }
        reserved.entry(key).or_default().extend(block);
        Ok(first)
    }

    /// The URL a list is served at.
    pub fn list_url(&self, company: &str, name: &str) -> String {
        format!("{}/status-lists/{company}/{name}", self.base_url)
    }

    /// `(company, name)` of a list URL of this agent.
    pub fn parse_list_url<'a>(&self, url: &'a str) -> Option<(&'a str, &'a str)> {
        let rest = url.strip_prefix(self.base_url.as_str())?.strip_prefix("/status-lists/")?;
        let (company, name) = rest.split_once('/')?;
        (!company.is_empty() && !name.is_empty() && !name.contains(['/', '?', '#'])).then_some((company, name))
    }

    /// Wakes the publisher.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Takes a revocation and a suspension index (Bitstring Status Lists)
    /// for a Data Integrity credential and records it. `status` is the
    /// `credentialStatus` array.
    pub async fn assign_bitstring(
        &self,
        company: &str,
        holder_employee: Option<&str>,
        credential_id: Option<&str>,
        now_ms: i64,
    ) -> Result<Assigned> {
        let mut created = Vec::new();
        let (rev_list, rev) = self.take(company, ListPurpose::Revocation, now_ms, &mut created).await?;
        let (sus_list, sus) = self.take(company, ListPurpose::Suspension, now_ms, &mut created).await?;
        let status = json!([
            BitstringStatusListEntry::new(&self.list_url(company, &rev_list), StatusPurpose::Revocation, rev).to_json(),
            BitstringStatusListEntry::new(&self.list_url(company, &sus_list), StatusPurpose::Suspension, sus).to_json(),
        ]);
        let entries = ((rev_list, rev), Some((sus_list, sus)));
        let id = self.record_issued(company, credential_id, holder_employee, "di", entries, now_ms).await?;
        Ok(Assigned { id, status, created })
    }

    /// Takes a Token Status List index for an SD-JWT VC and records it.
    /// `status` is the `status` claim
    /// `{"status_list": {"idx", "uri"}}` to put in the SD-JWT's payload
    /// (never selectively disclosable: the verifier needs it).
    pub async fn assign_token_status(
        &self,
        company: &str,
        holder_employee: Option<&str>,
        credential_id: Option<&str>,
        now_ms: i64,
    ) -> Result<Assigned> {
        let mut created = Vec::new();
        let (list, index) = self.take(company, ListPurpose::Token, now_ms, &mut created).await?;
        let status = StatusClaim::new(&self.list_url(company, &list), index).to_json();
        let id = self
            .record_issued(company, credential_id, holder_employee, "sd-jwt", ((list, index), None), now_ms)
            .await?;
        Ok(Assigned { id, status, created })
    }

    /// Changes the status of a credential `company` issued (by the agent's
    /// record id, or the credential's own `id`): the change and its event
    /// commit together, pending until published. Another company's
    /// credential is not found.
    pub async fn update_status(
        &self,
        company: &str,
        credential: &str,
        change: StatusChange,
        now_ms: i64,
    ) -> Result<StatusUpdated> {
        let mut tx = self.db.pool().begin().await.map_err(db)?;
        let row = sqlx::query(
            "SELECT id, format, status, rev_list, rev_index, sus_list, sus_index FROM issued_credentials \
             WHERE company_id = $1 AND (id = $2 OR credential_id = $2) ORDER BY created_at LIMIT 1",
        )
        .bind(company)
        .bind(credential)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or(CredentialError::Tenant(TenantError::NotFound("credential")))?;
        let issued = Issued::from_row(&row)?;
        let next = match (issued.state, change) {
            (CredentialState::Revoked, StatusChange::Revoke) => {
                return Ok(StatusUpdated {
                    credential_id: issued.id.clone(),
                    status: CredentialState::Revoked,
                    pending: pending_for(&mut tx, company, &issued.id).await?,
                })
            }
            (CredentialState::Revoked, _) => {
                return Err(CredentialError::Tenant(TenantError::Conflict(
                    "the credential is revoked; revocation is final".into(),
                )))
            }
            (_, StatusChange::Revoke) => CredentialState::Revoked,
            (_, StatusChange::Suspend) => CredentialState::Suspended,
            (_, StatusChange::Reinstate) => CredentialState::Valid,
        };
        if next != issued.state {
            for (list, index, value) in issued.writes(next) {
                record_update(&mut tx, company, &list, index, value, &issued.id, now_ms).await?;
            }
            set_state(&mut tx, company, &issued.id, next, now_ms).await?;
            let kind = format!("credential.{}", next_event(next));
            let event = Events::record(&mut tx, company, &kind, &issued.id, json!({ "status": next.as_str() }), now_ms)
                .await
                .map_err(db)?;
            let pending = pending_for(&mut tx, company, &issued.id).await?;
            tx.commit().await.map_err(db)?;
            self.events.announce(&event);
            self.wake();
            return Ok(StatusUpdated { credential_id: issued.id, status: next, pending });
        }
        let pending = pending_for(&mut tx, company, &issued.id).await?;
        Ok(StatusUpdated { credential_id: issued.id, status: next, pending })
    }

    /// A company's status lists and their publication state.
    pub async fn lists(&self, company: &str) -> Result<Vec<ListInfo>> {
        let rows = sqlx::query(
            "SELECT l.name, l.purpose, l.allocator, l.version, l.leaf_index, l.published_at, l.attempts, \
             l.last_error, l.next_attempt_at, \
             (SELECT COUNT(*) FROM status_updates u WHERE u.company_id = l.company_id AND u.list_name = l.name \
              AND u.published_at IS NULL) AS pending \
             FROM status_lists l WHERE l.company_id = $1 ORDER BY l.created_at, l.name",
        )
        .bind(company)
        .fetch_all(self.db.pool())
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get("name").map_err(db)?;
                let allocator: String = r.try_get("allocator").map_err(db)?;
                let allocator: IndexAllocator =
                    serde_json::from_str(&allocator).map_err(|e| corrupt(format!("allocator of {name}: {e}")))?;
                Ok(ListInfo {
                    url: self.list_url(company, &name),
                    purpose: r.try_get("purpose").map_err(db)?,
                    capacity: allocator.capacity(),
                    allocated: allocator.allocated(),
                    version: r.try_get("version").map_err(db)?,
                    leaf_index: r.try_get("leaf_index").map_err(db)?,
                    published_at: r.try_get("published_at").map_err(db)?,
                    pending: r.try_get("pending").map_err(db)?,
                    attempts: r.try_get("attempts").map_err(db)?,
                    last_error: r.try_get("last_error").map_err(db)?,
                    next_attempt_at: r.try_get("next_attempt_at").map_err(db)?,
                    name,
                })
            })
            .collect()
    }

    async fn list_row(&self, company: &str, name: &str) -> Result<Option<ListRow>> {
        let row = sqlx::query("SELECT purpose, encoded, version FROM status_lists WHERE company_id = $1 AND name = $2")
            .bind(company)
            .bind(name)
            .fetch_optional(self.db.pool())
            .await
            .map_err(db)?;
        row.map(|r| {
            Ok(ListRow {
                purpose: ListPurpose::parse(&r.try_get::<String, _>("purpose").map_err(db)?)?,
                encoded: r.try_get("encoded").map_err(db)?,
                version: r.try_get("version").map_err(db)?,
            })
        })
        .transpose()
    }

    /// Lists with unpublished changes (or never published) whose next
    /// attempt is due at `now_ms`.
    async fn due(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT l.company_id, l.name FROM status_lists l WHERE l.next_attempt_at <= $1 AND (l.version = 0 OR \
             EXISTS (SELECT 1 FROM status_updates u WHERE u.company_id = l.company_id AND u.list_name = l.name \
             AND u.published_at IS NULL) OR \
             l.signed_key <> (SELECT c.key_id FROM companies c WHERE c.id = l.company_id)) \
             ORDER BY l.next_attempt_at LIMIT 100",
        )
        .bind(now_ms)
        .fetch_all(self.db.pool())
        .await
        .map_err(db)?;
        rows.iter().map(|r| Ok((r.try_get("company_id").map_err(db)?, r.try_get("name").map_err(db)?))).collect()
    }
}

/// `credential.<what>` event names.
fn next_event(state: CredentialState) -> &'static str {
    match state {
        CredentialState::Valid => "reinstated",
        CredentialState::Revoked => "revoked",
        CredentialState::Suspended => "suspended",
    }
}

/// An issued-credential row.
struct Issued {
    id: String,
    format: String,
    state: CredentialState,
    rev: (String, i64),
    sus: Option<(String, i64)>,
}

impl Issued {
    fn from_row(r: &sqlx::any::AnyRow) -> Result<Issued> {
        let sus_list: Option<String> = r.try_get("sus_list").map_err(db)?;
        let sus_index: Option<i64> = r.try_get("sus_index").map_err(db)?;
        Ok(Issued {
            id: r.try_get("id").map_err(db)?,
            format: r.try_get("format").map_err(db)?,
            state: CredentialState::parse(&r.try_get::<String, _>("status").map_err(db)?)?,
            rev: (r.try_get("rev_list").map_err(db)?, r.try_get("rev_index").map_err(db)?),
            sus: sus_list.zip(sus_index),
        })
    }

    /// The list writes that move this credential to `next`: Bitstring
    /// credentials set the revocation bit or set / clear the suspension
    /// bit; Token Status List credentials take 1 (invalid), 2 (suspended)
    /// or 0 (valid).
    fn writes(&self, next: CredentialState) -> Vec<(String, i64, i64)> {
        let (rev_list, rev_index) = self.rev.clone();
        match (self.format.as_str(), next, &self.sus) {
            ("di", CredentialState::Revoked, _) => vec![(rev_list, rev_index, 1)],
            ("di", CredentialState::Suspended, Some((l, i))) => vec![(l.clone(), *i, 1)],
            ("di", CredentialState::Valid, Some((l, i))) => vec![(l.clone(), *i, 0)],
            (_, CredentialState::Revoked, _) => vec![(rev_list, rev_index, i64::from(TokenStatus::INVALID.0))],
            (_, CredentialState::Suspended, _) => vec![(rev_list, rev_index, i64::from(TokenStatus::SUSPENDED.0))],
            (_, CredentialState::Valid, _) => vec![(rev_list, rev_index, i64::from(TokenStatus::VALID.0))],
        }
    }
}

async fn pending_for(conn: &mut AnyConnection, company: &str, credential: &str) -> Result<bool> {
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM status_updates WHERE company_id = $1 AND credential = $2 AND published_at IS NULL",
    )
    .bind(company)
    .bind(credential)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?
    .try_get("n")
    .map_err(db)?;
    Ok(n > 0)
}

async fn set_state(
    conn: &mut AnyConnection,
    company: &str,
    id: &str,
    state: CredentialState,
    now_ms: i64,
) -> Result<()> {
    sqlx::query("UPDATE issued_credentials SET status = $3, updated_at = $4 WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(id)
        .bind(state.as_str())
        .bind(now_ms)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Queues `list[index] := value` for publication, numbered under the
/// list's row lock.
async fn record_update(
    conn: &mut AnyConnection,
    company: &str,
    list: &str,
    index: i64,
    value: i64,
    credential: &str,
    now_ms: i64,
) -> Result<()> {
    let seq: i64 = sqlx::query(
        "UPDATE status_lists SET update_seq = update_seq + 1 WHERE company_id = $1 AND name = $2 RETURNING update_seq",
    )
    .bind(company)
    .bind(list)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?
    .try_get("update_seq")
    .map_err(db)?;
    sqlx::query(
        "INSERT INTO status_updates (company_id, list_name, seq, idx, value, credential, batch, created_at, published_at) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, NULL)",
    )
    .bind(company)
    .bind(list)
    .bind(seq)
    .bind(index)
    .bind(value)
    .bind(credential)
    .bind(now_ms)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Revokes, inside the caller's transaction, every credential `company`
/// issued that is not revoked yet, or only those held by `holder_employee`:
/// the removal of a company or an employee and these revocations commit
/// together, so none is lost if the process stops right after. Returns how
/// many were revoked; the publisher picks them up within a second.
pub async fn revoke_issued_in(
    conn: &mut AnyConnection,
    company: &str,
    holder_employee: Option<&str>,
    now_ms: i64,
) -> Result<u64> {
    let rows = sqlx::query(
        "SELECT id, format, status, rev_list, rev_index, sus_list, sus_index FROM issued_credentials \
         WHERE company_id = $1 AND status <> 'revoked' AND ($2 IS NULL OR holder_employee = $2) ORDER BY id",
    )
    .bind(company)
    .bind(holder_employee)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    revoke_rows(conn, company, &rows, now_ms).await
}

/// Revokes, inside the caller's transaction, the credentials `company`
/// issued with these record ids (`credentialId`s) that are not revoked
/// yet: an ownership credential whose unit changed owner, or whose benefit
/// was delisted, commits its revocation with that change. Returns how many
/// were revoked. It reads before it writes: on SQLite the caller's
/// transaction must already hold the write lock (have written first).
pub async fn revoke_records_in(conn: &mut AnyConnection, company: &str, ids: &[&str], now_ms: i64) -> Result<u64> {
    let mut revoked = 0;
    for id in ids {
        let rows = sqlx::query(
            "SELECT id, format, status, rev_list, rev_index, sus_list, sus_index FROM issued_credentials \
             WHERE company_id = $1 AND id = $2 AND status <> 'revoked'",
        )
        .bind(company)
        .bind(*id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        revoked += revoke_rows(conn, company, &rows, now_ms).await?;
    }
    Ok(revoked)
}

/// Revokes the issued-credential `rows` of `company`.
async fn revoke_rows(conn: &mut AnyConnection, company: &str, rows: &[sqlx::any::AnyRow], now_ms: i64) -> Result<u64> {
    let mut revoked = 0;
    for row in rows {
        let issued = Issued::from_row(row)?;
        for (list, index, value) in issued.writes(CredentialState::Revoked) {
            record_update(conn, company, &list, index, value, &issued.id, now_ms).await?;
        }
        set_state(conn, company, &issued.id, CredentialState::Revoked, now_ms).await?;
        revoked += 1;
    }
    Ok(revoked)
}

async fn insert_issued(conn: &mut AnyConnection, row: &IssuedRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO issued_credentials (company_id, id, credential_id, holder_employee, format, status, rev_list, \
         rev_index, sus_list, sus_index, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'valid', $6, $7, $8, $9, $10, $10)",
    )
    .bind(&row.company)
    .bind(&row.id)
    .bind(row.credential_id.as_deref())
    .bind(row.holder_employee.as_deref())
    .bind(row.format)
    .bind(&row.rev.0)
    .bind(i64::from(row.rev.1.get()))
    .bind(row.sus.as_ref().map(|s| s.0.as_str()))
    .bind(row.sus.as_ref().map(|s| i64::from(s.1.get())))
    .bind(row.now_ms)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// A status list entry: the list's name and the index in it.
type Entry = (String, StatusIndex);

/// An issued credential's record: whose, which list entries.
struct IssuedRow {
    company: String,
    id: String,
    credential_id: Option<String>,
    holder_employee: Option<String>,
    format: &'static str,
    rev: Entry,
    sus: Option<Entry>,
    now_ms: i64,
}

/// A record waiting for the next group commit, with whom to tell.
type Waiting = (IssuedRow, tokio::sync::oneshot::Sender<Result<()>>);

/// Takes `n` free indexes, from the company's newest list of `purpose` and
/// then a new list when there is none or it fills. The first statement
/// writes the company's row, which locks it (PostgreSQL row lock; SQLite's
/// write lock) until the caller's transaction ends.
async fn allocate(
    conn: &mut AnyConnection,
    company: &str,
    purpose: ListPurpose,
    n: usize,
    now_ms: i64,
    created: &mut Vec<String>,
) -> Result<Reserved> {
    // Allocations of one company take turns: the company row is the lock,
    // since the status list row may not exist yet (two first issuances
    // would both create `{purpose}-1`). Removal locks in the same order,
    // company row first.
    sqlx::query("UPDATE companies SET id = id WHERE id = $1").bind(company).execute(&mut *conn).await.map_err(db)?;
    sqlx::query("UPDATE status_lists SET update_seq = update_seq WHERE company_id = $1 AND purpose = $2")
        .bind(company)
        .bind(purpose.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let newest = sqlx::query(
        "SELECT name, allocator FROM status_lists WHERE company_id = $1 AND purpose = $2 \
         ORDER BY created_at DESC, name DESC LIMIT 1",
    )
    .bind(company)
    .bind(purpose.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let mut rng = rand::rngs::OsRng;
    let mut out = VecDeque::with_capacity(n);
    if let Some(row) = &newest {
        let name: String = row.try_get("name").map_err(db)?;
        let state: String = row.try_get("allocator").map_err(db)?;
        let mut allocator: IndexAllocator =
            serde_json::from_str(&state).map_err(|e| corrupt(format!("allocator of {name}: {e}")))?;
        while out.len() < n {
            match allocator.allocate(&mut rng) {
                Ok(index) => out.push_back((name.clone(), index)),
                Err(idelta_revocation::Error::ListFull { .. }) => break,
                Err(e) => return Err(list_error(e)),
            }
        }
        if !out.is_empty() {
            save_allocator(conn, company, &name, &allocator).await?;
        }
        if out.len() == n {
            return Ok(out);
        }
    }
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM status_lists WHERE company_id = $1 AND purpose = $2")
        .bind(company)
        .bind(purpose.as_str())
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?
        .try_get("n")
        .map_err(db)?;
    let name = format!("{}-{}", purpose.as_str(), count + 1);
    let mut allocator = IndexAllocator::new(MIN_ENTRIES as u32);
    while out.len() < n {
        out.push_back((name.clone(), allocator.allocate(&mut rng).map_err(list_error)?));
    }
    let state = serde_json::to_string(&allocator).map_err(|e| corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO status_lists (company_id, name, purpose, allocator, encoded, version, leaf_index, published_at, \
         update_seq, attempts, last_error, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, '', 0, NULL, NULL, 0, 0, NULL, 0, $5)",
    )
    .bind(company)
    .bind(&name)
    .bind(purpose.as_str())
    .bind(state)
    .bind(now_ms)
    .execute(&mut *conn)
    .await
    .map_err(|e| db(crate::db::conflict_aware(e)))?;
    created.push(name);
    Ok(out)
}

async fn save_allocator(conn: &mut AnyConnection, company: &str, name: &str, allocator: &IndexAllocator) -> Result<()> {
    let state = serde_json::to_string(allocator).map_err(|e| corrupt(e.to_string()))?;
    sqlx::query("UPDATE status_lists SET allocator = $3 WHERE company_id = $1 AND name = $2")
        .bind(company)
        .bind(name)
        .bind(state)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Starts the publisher: woken by [`StatusService::wake`] and every
/// second, it publishes every due list. It runs as long as the
/// credentials service exists.
pub fn spawn_publisher(credentials: &Arc<Credentials>) {
    let weak = Arc::downgrade(credentials);
    tokio::spawn(async move {
        loop {
            let Some(credentials) = weak.upgrade() else { return };
            credentials.publish_due(crate::http::now_ms()).await;
            let wake = Arc::clone(&credentials.status.wake);
            drop(credentials);
            let _ = tokio::time::timeout(PUBLISH_TICK, wake.notified()).await;
        }
    });
}

/// The retry delay after `attempts` failures.
fn backoff_ms(attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    (RETRY_BASE_MS << shift).min(RETRY_MAX_MS)
}

impl Credentials {
    /// The status lists of the company (its revocation machinery).
    pub fn status(&self) -> &StatusService {
        &self.status
    }

    /// Stage 4 of issuance: allocates the credential's revocation and
    /// suspension indexes, records it (one transaction) and adds its
    /// `credentialStatus`. Returns the record id (`credentialId`). A list
    /// opened by this allocation is published at once (or retried).
    pub(crate) async fn add_status(
        &self,
        company: &str,
        credential: &mut serde_json::Map<String, Value>,
        holder_employee: Option<&str>,
        now_ms: i64,
    ) -> Result<String> {
        if credential.contains_key("credentialStatus") {
            return Err(invalid(
                "credential.credentialStatus is set by the agent: remove it (or send options.credentialStatus: false)",
            ));
        }
        let credential_id = credential.get("id").and_then(Value::as_str);
        let assigned = self.status.assign_bitstring(company, holder_employee, credential_id, now_ms).await?;
        credential.insert("credentialStatus".into(), assigned.status);
        for name in &assigned.created {
            self.publish_list(company, name, now_ms).await;
        }
        Ok(assigned.id)
    }

    /// Stage 4 of issuance for an SD-JWT VC: allocates a Token Status List
    /// index and records the credential (one transaction). Returns the
    /// record id (`credentialId`) and the `status` claim for the SD-JWT.
    pub(crate) async fn add_token_status(
        &self,
        company: &str,
        holder_employee: Option<&str>,
        now_ms: i64,
    ) -> Result<(String, Value)> {
        let assigned = self.status.assign_token_status(company, holder_employee, None, now_ms).await?;
        for name in &assigned.created {
            self.publish_list(company, name, now_ms).await;
        }
        Ok((assigned.id, assigned.status))
    }

    /// Publishes every list of `company` now, signed with its current key:
    /// after a key rotation, so that its lists verify again at once (a
    /// failure is retried like any publication).
    pub async fn republish_company(&self, company: &str, now_ms: i64) {
        let names = sqlx::query("SELECT name FROM status_lists WHERE company_id = $1 ORDER BY name")
            .bind(company)
            .fetch_all(self.status.db.pool())
            .await;
        match names {
            Ok(rows) => {
                for name in rows.iter().filter_map(|r| r.try_get::<String, _>("name").ok()) {
                    self.publish_list(company, &name, now_ms).await;
                }
            }
            Err(e) => tracing::error!(%company, error = %e, "cannot list status lists to sign again"),
        }
    }

    /// Publishes every due list; failures stay pending and are retried.
    /// Returns how many lists were published.
    pub async fn publish_due(&self, now_ms: i64) -> usize {
        let due = match self.status.due(now_ms).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "status lists: cannot read the publication queue");
                return 0;
            }
        };
        let mut published = 0;
        for (company, name) in due {
            if self.publish_list(&company, &name, now_ms).await {
                published += 1;
            }
        }
        published
    }

    /// Publishes one list with its pending changes; true on success. A
    /// failure is recorded on the list (attempts, error, next attempt).
    pub(crate) async fn publish_list(&self, company: &str, name: &str, now_ms: i64) -> bool {
        match self.try_publish(company, name, now_ms).await {
            Ok(()) => true,
            Err(e) => {
                let detail = e.to_string();
                tracing::warn!(%company, list = %name, error = %detail, "status list publication failed; will retry");
                let failed = sqlx::query(
                    "UPDATE status_lists SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4 \
                     WHERE company_id = $1 AND name = $2",
                )
                .bind(company)
                .bind(name)
                .bind(&detail)
                .bind(now_ms + backoff_ms(self.attempts(company, name).await))
                .execute(self.status.db.pool())
                .await;
                if let Err(e) = failed {
                    tracing::error!(%company, list = %name, error = %e, "cannot record a failed publication");
                }
                false
            }
        }
    }

    async fn attempts(&self, company: &str, name: &str) -> i64 {
        sqlx::query("SELECT attempts FROM status_lists WHERE company_id = $1 AND name = $2")
            .bind(company)
            .bind(name)
            .fetch_optional(self.status.db.pool())
            .await
            .ok()
            .flatten()
            .and_then(|r| r.try_get("attempts").ok())
            .unwrap_or(0)
    }

    async fn try_publish(&self, company_id: &str, name: &str, now_ms: i64) -> Result<()> {
        let pool = self.status.db.pool();
        let row = self.status.list_row(company_id, name).await?.ok_or(TenantError::NotFound("status list"))?;
        let updates = sqlx::query(
            "SELECT seq, idx, value FROM status_updates WHERE company_id = $1 AND list_name = $2 \
             AND published_at IS NULL ORDER BY seq",
        )
        .bind(company_id)
        .bind(name)
        .fetch_all(pool)
        .await
        .map_err(db)?;
        let mut pending = PendingUpdates::new();
        let mut last_seq = 0i64;
        let mut decoded = Decoded::of(&row)?;
        for u in &updates {
            let index = StatusIndex::new(u32::try_from(u.try_get::<i64, _>("idx").map_err(db)?).unwrap_or(u32::MAX));
            let value = u8::try_from(u.try_get::<i64, _>("value").map_err(db)?).unwrap_or(u8::MAX);
            last_seq = u.try_get("seq").map_err(db)?;
            match &decoded {
                Decoded::Bits(l) => pending.set(l, index, value),
                Decoded::Token(l) => pending.set(l, index, value),
            }
            .map_err(list_error)?;
        }
        let encoded = match &mut decoded {
            Decoded::Bits(l) => pending.prepare(l).map_err(list_error)?.map(|p| p.encoded_list),
            Decoded::Token(l) => pending.prepare(l).map_err(list_error)?.map(|p| p.encoded_list),
        };
        let encoded = match (encoded, &decoded) {
            (Some(e), _) => e,
            (None, Decoded::Bits(l)) => l.encode().map_err(list_error)?,
            (None, Decoded::Token(l)) => l.encode_lst().map_err(list_error)?,
        };
        // Sealed: these changes ride on this attempt (shown as their batch).
        sqlx::query(
            "UPDATE status_updates SET batch = $3 WHERE company_id = $1 AND list_name = $2 AND seq <= $3 \
             AND published_at IS NULL",
        )
        .bind(company_id)
        .bind(name)
        .bind(last_seq)
        .execute(pool)
        .await
        .map_err(db)?;

        let company = self.tenants.company(company_id).await?;
        let (signer, vm) = self.company_signer(&company).await?;
        let url = self.status.list_url(company_id, name);
        let content = match row.purpose {
            ListPurpose::Token => {
                let list = TokenStatusList::decode(Bits::TWO, &encoded).map_err(list_error)?;
                let claims =
                    StatusListToken::new(&url, &list, time_of(now_ms)).map_err(list_error)?.issuer(&company.did);
                json!({ "statusListToken": sign_jwt(&claims.claims(), &vm, &signer).await? })
            }
            purpose => {
                let list =
                    StatusList::decode(&encoded, idelta_revocation::bitstring::StatusSize::ONE).map_err(list_error)?;
                let vc = self.list_credential(&url, &company.did, purpose, &list, now_ms, None)?;
                self.sign(vc, &vm, &signer, now_ms).await?
            }
        };
        let did = company.did.parse().map_err(|e: idelta_types::Error| TenantError::Invalid(e.to_string()))?;
        let wallet = self.tenants.wallets().open(company_id).await.map_err(TenantError::from)?;
        let put = ObjectPut { kind: ObjectKind::StatusList, name: name.to_owned(), content };
        let receipt = self
            .tenants
            .ledger()
            .put_object(&wallet, &did, &company.key_id, &vm, &put)
            .await
            .map_err(|e| CredentialError::Status(format!("ledger: {e}")))?;

        let mut tx = pool.begin().await.map_err(db)?;
        let confirmed = sqlx::query(
            "UPDATE status_updates SET published_at = $4 WHERE company_id = $1 AND list_name = $2 AND seq <= $3 \
             AND published_at IS NULL",
        )
        .bind(company_id)
        .bind(name)
        .bind(last_seq)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        sqlx::query(
            "UPDATE status_lists SET encoded = $3, version = version + 1, leaf_index = $4, published_at = $5, \
             signed_key = $6, attempts = 0, last_error = NULL, next_attempt_at = 0 \
             WHERE company_id = $1 AND name = $2",
        )
        .bind(company_id)
        .bind(name)
        .bind(&encoded)
        .bind(i64::try_from(receipt.leaf_index).unwrap_or(i64::MAX))
        .bind(now_ms)
        .bind(&company.key_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let data = json!({ "list": name, "leaf_index": receipt.leaf_index, "updates": confirmed });
        let event =
            Events::record(&mut tx, company_id, "status_list.published", name, data, now_ms).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        self.status.events.announce(&event);
        tracing::info!(company = %company_id, list = %name, updates = confirmed, version = row.version + 1, "status list published");
        Ok(())
    }

    /// The unsigned `BitstringStatusListCredential` of a list.
    fn list_credential(
        &self,
        url: &str,
        issuer: &str,
        purpose: ListPurpose,
        list: &StatusList,
        now_ms: i64,
        valid_until_ms: Option<i64>,
    ) -> Result<Value> {
        let purpose =
            if purpose == ListPurpose::Suspension { StatusPurpose::Suspension } else { StatusPurpose::Revocation };
        let params = ListCredential {
            url,
            issuer,
            purpose,
            valid_from: time_of(now_ms),
            valid_until: valid_until_ms.map(time_of),
            ttl: valid_until_ms.map(|_| u64::try_from(SERVED_TTL_MS).unwrap_or(0)),
        };
        status_list_credential(&params, list).map_err(list_error)
    }

    /// Signs a status list credential as the company (`eddsa-rdfc-2022`,
    /// `assertionMethod`).
    async fn sign(&self, vc: Value, vm: &str, signer: &idelta_wallet::WalletSigner, now_ms: i64) -> Result<Value> {
        let options = ProofOptions {
            cryptosuite: Cryptosuite::EddsaRdfc2022,
            verification_method: vm.to_owned(),
            proof_purpose: ProofPurpose::AssertionMethod,
            created: time_of(now_ms),
            challenge: None,
            domain: None,
        };
        add_proof(vc, options, signer).await.map_err(CredentialError::Proof)
    }

    /// The list `name` of `company` as served over HTTP: its last
    /// publication, signed now with a short lifetime (cached for half of
    /// it). Unknown lists (and lists of unknown companies) are not found.
    pub async fn served_list(&self, company_id: &str, name: &str, now_ms: i64) -> Result<Served> {
        let row = self.status.list_row(company_id, name).await?.ok_or(TenantError::NotFound("status list"))?;
        let key = (company_id.to_owned(), name.to_owned());
        if let Some(cached) = self.status.served.lock().get(&key) {
            if cached.version == row.version && now_ms < cached.until {
                return Ok(cached.served.clone());
            }
        }
        let company = self.tenants.company(company_id).await?;
        let (signer, vm) = self.company_signer(&company).await?;
        let url = self.status.list_url(company_id, name);
        let valid_until = now_ms + SERVED_TTL_MS;
        let served = match Decoded::of(&row)? {
            Decoded::Token(list) => {
                let claims = StatusListToken::new(&url, &list, time_of(now_ms))
                    .map_err(list_error)?
                    .issuer(&company.did)
                    .expires(time_of(valid_until))
                    .ttl(u64::try_from(SERVED_TTL_MS / 1000).unwrap_or(0));
                Served::Token(sign_jwt(&claims.claims(), &vm, &signer).await?)
            }
            Decoded::Bits(list) => {
                let vc = self.list_credential(&url, &company.did, row.purpose, &list, now_ms, Some(valid_until))?;
                Served::Credential(self.sign(vc, &vm, &signer, now_ms).await?)
            }
        };
        let mut cache = self.status.served.lock();
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(
            key,
            CachedList { version: row.version, until: now_ms + SERVED_TTL_MS / 2, served: served.clone() },
        );
        Ok(served)
    }

    /// Adds the status checks of a credential, or of every credential in a
    /// presentation (`credential[i].status.*`), reading lists from the
    /// ledger.
    pub(crate) async fn check_status(&self, report: &mut idelta_verifier::Report, document: &Value, now_ms: i64) {
        let source = LedgerStatusSource::new(self);
        let resolver = self.resolver();
        let now = time_of(now_ms);
        let embedded = match document.get("verifiableCredential") {
            Some(Value::Array(vcs)) => vcs.iter().collect(),
            Some(vc @ Value::Object(_)) => vec![vc],
            _ => Vec::new(),
        };
        if embedded.is_empty() {
            idelta_verifier::status::check_bitstring(report, "", document, &source, &resolver, now).await;
        }
        for (i, vc) in embedded.into_iter().enumerate() {
            let prefix = format!("credential[{i}].");
            idelta_verifier::status::check_bitstring(report, &prefix, vc, &source, &resolver, now).await;
        }
    }
}

impl Credentials {
    /// Adds the `status` check of a verified SD-JWT VC's claims: its Token
    /// Status List read from the ledger, signed by the VC's issuer (`iss`).
    pub(crate) async fn check_token_claim(
        &self,
        report: &mut idelta_verifier::Report,
        claims: &serde_json::Map<String, Value>,
        now_ms: i64,
    ) {
        let Some(status) = claims.get("status") else {
            report.warn("the SD-JWT VC has no status claim: it cannot be revoked");
            return;
        };
        let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
        let source = LedgerStatusSource::new(self);
        let resolver = self.resolver();
        idelta_verifier::status::check_token_status(report, "", status, issuer, &source, &resolver, time_of(now_ms))
            .await;
    }
}

/// Signs `claims` as a compact JWS with `typ` `statuslist+jwt`, `alg`
/// `EdDSA` (pinned) and `kid` the verification method.
async fn sign_jwt(claims: &Value, vm: &str, signer: &idelta_wallet::WalletSigner) -> Result<String> {
    let header = json!({ "alg": "EdDSA", "kid": vm, "typ": STATUS_LIST_JWT_TYP });
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = signer.sign(input.as_bytes()).await.map_err(|e| corrupt(format!("signing: {e}")))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// Status lists as published on the ledger: a list URL of this agent maps
/// to the ledger object `{company DID}/statusList/{name}`, read with its
/// inclusion proof checked. URLs of other hosts are refused (the agent
/// fetches nothing a credential names).
pub struct LedgerStatusSource<'a> {
    credentials: &'a Credentials,
    /// The tree size of the copy returned for each URL in this
    /// verification, so that a verification mark is read from and set on
    /// exactly that copy.
    returned: Mutex<HashMap<String, u64>>,
}

impl<'a> LedgerStatusSource<'a> {
    fn new(credentials: &'a Credentials) -> Self {
        LedgerStatusSource { credentials, returned: Mutex::new(HashMap::new()) }
    }

    /// The kept copy of `url`, if it is the one returned in this verification.
    fn returned_copy<T>(&self, url: &str, f: impl FnOnce(&mut LedgerCopy) -> T) -> Option<T> {
        let size = *self.returned.lock().get(url)?;
        let mut objects = self.credentials.status.objects.lock();
        objects.get_mut(url).filter(|c| c.tree_size == size).map(f)
    }
}

impl LedgerStatusSource<'_> {
    /// The list at `url`, read from the ledger. Copies are kept by URL (a
    /// URL names one company's list for good) with the tree head they were
    /// read at, and reused while the ledger's tree head is unchanged.
    async fn object(&self, url: &str) -> std::result::Result<Value, String> {
        let client = self.credentials.tenants.ledger().client();
        let unreadable = |e: idelta_ledger_node::client::ClientError| {
            format!("status list {url} is not readable on the ledger: {e}")
        };
        let tree = self.credentials.resolver().current_tree().await.map_err(|e| format!("status list {url}: {e}"))?;
        let objects = &self.credentials.status.objects;
        if let Some(copy) = objects.lock().get(url) {
            if copy.tree_size == tree.size && copy.root == tree.root {
                self.returned.lock().insert(url.to_owned(), copy.tree_size);
                return Ok(copy.content.clone());
            }
        }
        let (company, name) = self
            .credentials
            .status
            .parse_list_url(url)
            .ok_or_else(|| format!("{url} is not a status list of this agent's ledger"))?;
        let company =
            self.credentials.tenants.company(company).await.map_err(|_| format!("no status list at {url}"))?;
        let id = format!("{}/{}/{name}", company.did, ObjectKind::StatusList.as_str());
        let view = client.object(&id, None).await.map_err(unreadable)?;
        let mut cache = objects.lock();
        if cache.len() >= 10_000 {
            cache.clear();
        }
        let copy = LedgerCopy { tree_size: tree.size, root: tree.root, content: view.content.clone(), verified: false };
        self.returned.lock().insert(url.to_owned(), copy.tree_size);
        cache.insert(url.to_owned(), copy);
        Ok(view.content)
    }
}

impl StatusListSource for LedgerStatusSource<'_> {
    fn verified_before(&self, url: &str) -> bool {
        self.returned_copy(url, |c| c.verified).unwrap_or(false)
    }

    fn remember_verified(&self, url: &str) {
        self.returned_copy(url, |c| c.verified = true);
    }

    fn bitstring_credential<'a>(&'a self, url: &'a str) -> BoxFuture<'a, std::result::Result<Value, String>> {
        Box::pin(self.object(url))
    }

    fn status_list_token<'a>(&'a self, uri: &'a str) -> BoxFuture<'a, std::result::Result<String, String>> {
        Box::pin(async move {
            let content = self.object(uri).await?;
            content
                .get("statusListToken")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("the ledger object of {uri} holds no Status List Token"))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        assert_eq!(backoff_ms(0), 250);
        assert_eq!(backoff_ms(1), 500);
        assert_eq!(backoff_ms(3), 2000);
        assert_eq!(backoff_ms(10), RETRY_MAX_MS);
        assert_eq!(backoff_ms(1000), RETRY_MAX_MS);
    }

    #[test]
    fn status_changes_parse_and_writes_follow_the_format() {
        assert_eq!("revoked".parse::<StatusChange>().unwrap(), StatusChange::Revoke);
        assert_eq!("valid".parse::<StatusChange>().unwrap(), StatusChange::Reinstate);
        assert!("deleted".parse::<StatusChange>().is_err());
        let di = Issued {
            id: "cr-1".into(),
            format: "di".into(),
            state: CredentialState::Valid,
            rev: ("revocation-1".into(), 7),
            sus: Some(("suspension-1".into(), 9)),
        };
        assert_eq!(di.writes(CredentialState::Revoked), vec![("revocation-1".to_owned(), 7, 1)]);
        assert_eq!(di.writes(CredentialState::Suspended), vec![("suspension-1".to_owned(), 9, 1)]);
        assert_eq!(di.writes(CredentialState::Valid), vec![("suspension-1".to_owned(), 9, 0)]);
        let jwt = Issued { format: "sd-jwt".into(), rev: ("token-1".into(), 3), sus: None, ..di };
        assert_eq!(jwt.writes(CredentialState::Revoked), vec![("token-1".to_owned(), 3, 1)]);
        assert_eq!(jwt.writes(CredentialState::Suspended), vec![("token-1".to_owned(), 3, 2)]);
        assert_eq!(jwt.writes(CredentialState::Valid), vec![("token-1".to_owned(), 3, 0)]);
    }
}
