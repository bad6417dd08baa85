//! Companies and employees: the tenancy of the agent (design.md §7).
//!
//! A company is an askar store (its super-wallet), a `did:idelta` DID on
//! the ledger whose key never leaves that store, and a row here. An
//! employee is a profile in that store (its sub-wallet) holding a private
//! `did:key`, and a row here. Every operation is scoped by company id, so
//! a query for one company can never return another's records.
//!
//! Order of effects, so that a failure leaves nothing half-made: wallet
//! first, then the ledger, then the database row; a failure undoes the
//! wallet part. A DID written to the ledger before a later step fails stays
//! there, unused: its key is gone with the wallet, so nobody can use it.

use crate::auth::tokens::TokenRole;
use crate::auth::Authenticator;
use crate::db::companies::Company;
use crate::db::employees::Employee;
use crate::db::{Db, DbError};
use crate::events::Events;
use crate::ids::new_id;
use crate::ledger::{LedgerAccess, LedgerError};
use idelta_wallet::{Holder, KeyType, Record, Wallets};
use serde::Serialize;
use std::sync::Arc;

/// Most items one list page returns.
pub const MAX_PAGE: i64 = 200;

/// Why a tenancy operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TenantError {
    /// Returned when the company or employee does not exist (or is another tenant's).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Returned when the operation conflicts with existing state.
    #[error("{0}")]
    Conflict(String),
    /// Returned when the input is invalid.
    #[error("{0}")]
    Invalid(String),
    /// Returned when the ledger refuses or fails.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Returned when the wallet fails.
    #[error("wallet: {0}")]
    Wallet(#[from] idelta_wallet::Error),
    /// Returned when the database fails.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Returned when a token cannot be issued.
    #[error("{0}")]
    Token(String),
}

/// Result with [`TenantError`].
pub type Result<T, E = TenantError> = std::result::Result<T, E>;

/// A registered company and its first admin token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CompanyCreated {
    /// The company.
    pub company: Company,
    /// A company-admin token.
    pub admin_token: String,
    /// The ledger leaf of its DID.
    pub leaf_index: u64,
}

/// An added employee and its first token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmployeeCreated {
    /// The employee.
    pub employee: Employee,
    /// An employee token.
    pub token: String,
}

/// A fresh token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    /// The JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// A rotated company DID.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Rotated {
    /// The DID.
    pub did: String,
    /// The wallet id of the new controller key.
    pub key_id: String,
    /// The ledger leaf of the update.
    pub leaf_index: u64,
}

/// A page of a list, with the cursor of the next page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items, oldest first.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn page<T>(mut items: Vec<T>, limit: i64, id: impl Fn(&T) -> &str) -> Page<T> {
    let full = i64::try_from(items.len()).unwrap_or(i64::MAX) > limit;
    if full {
        items.truncate(usize::try_from(limit).unwrap_or(0));
    }
    let next_cursor = if full { items.last().map(|i| id(i).to_owned()) } else { None };
    Page { items, next_cursor }
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(TenantError::Invalid("name must be 1 to 100 printable characters".into()));
    }
    Ok(name.to_owned())
}

/// Revokes what `company` issued (to `holder` only, when given) inside the
/// removal's transaction.
async fn revoke_issued(
    conn: &mut sqlx::AnyConnection,
    company: &str,
    holder: Option<&str>,
    now_ms: i64,
) -> Result<u64> {
    crate::credentials::status::revoke_issued_in(conn, company, holder, now_ms).await.map_err(|e| match e {
        crate::credentials::CredentialError::Tenant(t) => t,
        other => TenantError::Db(DbError::Sqlx(sqlx::Error::Protocol(other.to_string()))),
    })
}

fn check_limit(limit: Option<i64>) -> Result<i64> {
    match limit.unwrap_or(50) {
        l if (1..=MAX_PAGE).contains(&l) => Ok(l),
        _ => Err(TenantError::Invalid(format!("limit must be 1 to {MAX_PAGE}"))),
    }
}

/// The tenancy service.
pub struct Tenants {
    db: Db,
    wallets: Wallets,
    ledger: LedgerAccess,
    auth: Arc<Authenticator>,
    events: Arc<Events>,
}

impl std::fmt::Debug for Tenants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenants").finish_non_exhaustive()
    }
}

impl Tenants {
    /// The service over its parts.
    pub fn new(
        db: Db,
        wallets: Wallets,
        ledger: LedgerAccess,
        auth: Arc<Authenticator>,
        events: Arc<Events>,
    ) -> Tenants {
        Tenants { db, wallets, ledger, auth, events }
    }

    /// The ledger access (for flows that write to the ledger).
    pub fn ledger(&self) -> &LedgerAccess {
        &self.ledger
    }

    /// The company wallets (for flows that sign with a company's keys).
    pub fn wallets(&self) -> &Wallets {
        &self.wallets
    }

    /// Records a committed change: an audit record (when `actor` is given)
    /// and an event. The change itself is done and stays done, so a failure
    /// here is logged rather than reported as a failed request.
    async fn record(
        &self,
        tenant: &str,
        actor: Option<&str>,
        kind: &str,
        subject: &str,
        data: serde_json::Value,
        now_ms: i64,
    ) {
        if let Some(actor) = actor {
            if let Err(e) = self.db.audit(now_ms, actor, Some(tenant), kind, subject, &data.to_string()).await {
                tracing::error!(%tenant, %kind, %subject, error = %e, "audit record lost");
            }
        }
        if let Err(e) = self.events.publish(tenant, kind, subject, data, now_ms).await {
            tracing::error!(%tenant, %kind, %subject, error = %e, "event not recorded");
        }
    }

    fn token(&self, sub: &str, tid: &str, role: TokenRole, epoch: i64, now_ms: i64) -> Result<String> {
        self.auth.tokens().issue(sub, tid, role, epoch, now_ms / 1000).map_err(|e| TenantError::Token(e.to_string()))
    }

    /// Registers a company: super-wallet, DID on the ledger (endorsed by
    /// the operator), row, first admin token.
    pub async fn register_company(&self, name: &str, now_ms: i64) -> Result<CompanyCreated> {
        let name = check_name(name)?;
        if self.db.company_name_taken(&name).await? {
            return Err(TenantError::Conflict(format!("a company named `{name}` exists")));
        }
        let id = new_id("co", now_ms);
        let wallet = self.wallets.create(&id).await?;
        let made = async {
            let key = wallet.generate_key(Holder::Company, KeyType::Ed25519, &[("purpose", "did")]).await?;
            let (did, receipt) = self.ledger.create_did(&wallet, &key.id, &key.public).await?;
            let company = Company {
                id: id.clone(),
                name: name.clone(),
                did: did.to_string(),
                status: "active".into(),
                created_at: now_ms,
                removed_at: None,
                key_id: key.id,
                token_epoch: 1,
            };
            self.db.insert_company(&company).await.map_err(|e| match e {
                DbError::Conflict => TenantError::Conflict(format!("a company named `{name}` exists")),
                e => e.into(),
            })?;
            Ok::<_, TenantError>((company, receipt))
        }
        .await;
        let (company, receipt) = match made {
            Ok(m) => m,
            Err(e) => {
                if let Err(cleanup) = self.wallets.remove(&id).await {
                    tracing::error!(%id, error = %cleanup, "could not remove the wallet of a failed registration");
                }
                return Err(e);
            }
        };
        self.auth.update(TokenRole::CompanyAdmin, &company.id, true, company.token_epoch);
        let data = serde_json::json!({ "did": company.did, "name": company.name });
        self.record(&company.id, Some("operator"), "company.registered", &company.id, data, now_ms).await;
        let admin_token = self.token(&company.id, &company.id, TokenRole::CompanyAdmin, company.token_epoch, now_ms)?;
        Ok(CompanyCreated { company, admin_token, leaf_index: receipt.leaf_index })
    }

    /// A company by id.
    pub async fn company(&self, id: &str) -> Result<Company> {
        self.db.company(id).await?.ok_or(TenantError::NotFound("company"))
    }

    /// A page of companies.
    pub async fn companies(&self, cursor: Option<&str>, limit: Option<i64>) -> Result<Page<Company>> {
        let limit = check_limit(limit)?;
        Ok(page(self.db.companies(cursor, limit + 1).await?, limit, |c| &c.id))
    }

    /// Removes a company: its tokens and its employees' stop working at
    /// once, and every credential it issued is revoked in the same
    /// transaction (published by the status list publisher); the row stays
    /// as an audit record, and so does its wallet, which keeps signing its
    /// status lists.
    pub async fn remove_company(&self, id: &str, actor: &str, now_ms: i64) -> Result<()> {
        let company = self.company(id).await?;
        let mut tx = self.db.pool().begin().await.map_err(DbError::from)?;
        if !Db::remove_company(&mut tx, id, now_ms).await? {
            return Err(TenantError::Conflict(format!("company {id} is already removed")));
        }
        let revoked = revoke_issued(&mut tx, id, None, now_ms).await?;
        tx.commit().await.map_err(DbError::from)?;
        self.auth.update(TokenRole::CompanyAdmin, id, false, company.token_epoch + 1);
        let data = serde_json::json!({ "name": company.name, "credentials_revoked": revoked });
        self.record(id, Some(actor), "company.removed", id, data, now_ms).await;
        Ok(())
    }

    /// A new admin token; with `invalidate_previous`, older ones stop working.
    pub async fn issue_admin_token(
        &self,
        company: &str,
        invalidate_previous: bool,
        actor: &str,
        now_ms: i64,
    ) -> Result<IssuedToken> {
        let c = self.active_company(company).await?;
        let epoch = if invalidate_previous { self.db.bump_company_epoch(company).await? } else { c.token_epoch };
        self.auth.update(TokenRole::CompanyAdmin, company, true, epoch);
        if invalidate_previous {
            let data = serde_json::json!({ "role": "company-admin", "epoch": epoch });
            self.record(company, Some(actor), "tokens.invalidated", company, data, now_ms).await;
        }
        let token = self.token(company, company, TokenRole::CompanyAdmin, epoch, now_ms)?;
        Ok(IssuedToken { token, expires_in: self.auth.tokens().ttl_secs() })
    }

    async fn active_company(&self, id: &str) -> Result<Company> {
        let company = self.company(id).await?;
        if company.status != "active" {
            return Err(TenantError::NotFound("company"));
        }
        Ok(company)
    }

    /// Adds an employee: sub-wallet with a private `did:key`, row, token.
    pub async fn add_employee(&self, company: &str, name: &str, now_ms: i64) -> Result<EmployeeCreated> {
        let name = check_name(name)?;
        self.active_company(company).await?;
        let wallet = self.wallets.open(company).await?;
        let id = new_id("em", now_ms);
        let (did, _) = wallet.create_sub_wallet_with_did_key(&id).await?;
        let made = async {
            let employee = Employee {
                id: id.clone(),
                company_id: company.into(),
                name,
                did,
                status: "active".into(),
                created_at: now_ms,
                removed_at: None,
                token_epoch: 1,
            };
            // The row and its event commit together: one durable commit.
            let data = serde_json::json!({ "name": employee.name, "did": employee.did });
            let mut tx = self.db.pool().begin().await.map_err(DbError::from)?;
            Db::insert_employee(&mut tx, &employee).await?;
            let event = Events::record(&mut tx, company, "employee.added", &employee.id, data, now_ms).await?;
            tx.commit().await.map_err(DbError::from)?;
            Ok::<_, TenantError>((employee, event))
        }
        .await;
        let employee = match made {
            Ok((employee, event)) => {
                self.events.announce(&event);
                employee
            }
            Err(e) => {
                if let Err(cleanup) = wallet.remove_sub_wallet(&id).await {
                    tracing::error!(%id, error = %cleanup, "could not remove the sub-wallet of a failed addition");
                }
                return Err(e);
            }
        };
        self.auth.update(TokenRole::Employee, &employee.id, true, employee.token_epoch);
        let token = self.token(&employee.id, company, TokenRole::Employee, employee.token_epoch, now_ms)?;
        Ok(EmployeeCreated { employee, token })
    }

    /// An employee of `company`.
    pub async fn employee(&self, company: &str, id: &str) -> Result<Employee> {
        self.db.employee(company, id).await?.ok_or(TenantError::NotFound("employee"))
    }

    /// A page of a company's employees.
    pub async fn employees(&self, company: &str, cursor: Option<&str>, limit: Option<i64>) -> Result<Page<Employee>> {
        let limit = check_limit(limit)?;
        self.company(company).await?;
        Ok(page(self.db.employees(company, cursor, limit + 1).await?, limit, |e| &e.id))
    }

    /// Removes an employee: tokens stop at once, the sub-wallet goes, and
    /// every credential issued to the employee is revoked in the same
    /// transaction as the removal.
    pub async fn remove_employee(&self, company: &str, id: &str, actor: &str, now_ms: i64) -> Result<()> {
        let employee = self.employee(company, id).await?;
        let mut tx = self.db.pool().begin().await.map_err(DbError::from)?;
        if !Db::remove_employee(&mut tx, company, id, now_ms).await? {
            return Err(TenantError::Conflict(format!("employee {id} is already removed")));
        }
        let revoked = revoke_issued(&mut tx, company, Some(id), now_ms).await?;
        tx.commit().await.map_err(DbError::from)?;
        self.auth.update(TokenRole::Employee, id, false, employee.token_epoch + 1);
        let wallet = self.wallets.open(company).await?;
        if let Err(e) = wallet.remove_sub_wallet(id).await {
            tracing::error!(%id, error = %e, "employee removed but its sub-wallet could not be deleted");
        }
        let data = serde_json::json!({ "name": employee.name, "credentials_revoked": revoked });
        self.record(company, Some(actor), "employee.removed", id, data, now_ms).await;
        Ok(())
    }

    /// A new employee token; with `invalidate_previous`, older ones stop working.
    pub async fn issue_employee_token(
        &self,
        company: &str,
        id: &str,
        invalidate_previous: bool,
        actor: &str,
        now_ms: i64,
    ) -> Result<IssuedToken> {
        self.active_company(company).await?;
        let employee = self.employee(company, id).await?;
        if employee.status != "active" {
            return Err(TenantError::NotFound("employee"));
        }
        let epoch =
            if invalidate_previous { self.db.bump_employee_epoch(company, id).await? } else { employee.token_epoch };
        self.auth.update(TokenRole::Employee, id, true, epoch);
        if invalidate_previous {
            let data = serde_json::json!({ "role": "employee", "epoch": epoch });
            self.record(company, Some(actor), "tokens.invalidated", id, data, now_ms).await;
        }
        let token = self.token(id, company, TokenRole::Employee, epoch, now_ms)?;
        Ok(IssuedToken { token, expires_in: self.auth.tokens().ttl_secs() })
    }

    /// Rotates the company DID's key on the ledger: a new key in the
    /// super-wallet, the update signed by the old one.
    pub async fn rotate_company_did(&self, company: &str, now_ms: i64) -> Result<Rotated> {
        let c = self.active_company(company).await?;
        let wallet = self.wallets.open(company).await?;
        let did = c.did.parse().map_err(|e: idelta_types::Error| TenantError::Invalid(e.to_string()))?;
        let key = wallet.generate_key(Holder::Company, KeyType::Ed25519, &[("purpose", "did")]).await?;
        let receipt = self.ledger.rotate_key(&wallet, &did, &c.key_id, &key.public).await?;
        self.db.set_company_key(company, &key.id).await?;
        let data = serde_json::json!({ "did": c.did, "key_id": key.id, "leaf_index": receipt.leaf_index });
        self.record(company, Some(&format!("admin:{company}")), "company.did_rotated", company, data, now_ms).await;
        Ok(Rotated { did: c.did, key_id: key.id, leaf_index: receipt.leaf_index })
    }

    /// Records of one category in an employee's sub-wallet (`did`, `credential`).
    pub async fn employee_records(&self, company: &str, id: &str, category: &str) -> Result<Vec<Record>> {
        let employee = self.employee(company, id).await?;
        if employee.status != "active" {
            return Err(TenantError::NotFound("employee"));
        }
        let wallet = self.wallets.open(company).await?;
        Ok(wallet.find_records(Holder::Sub(id), category, &[], Some(MAX_PAGE)).await?)
    }
}
