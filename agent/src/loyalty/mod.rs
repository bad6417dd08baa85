//! The loyalty marketplace, agent side (issue 5; docs/loyalty.md): company
//! tokens, benefits with DIDs of their own, purchases, resale, gifts and
//! swaps, each one ledger transaction, and the ownership credentials that
//! follow a unit into its owner's sub-wallet.
//!
//! The ledger holds every rule and every balance (ledger-node
//! `state/loyalty.rs`); this module signs the writes and turns their
//! outcome into credentials and events:
//! - **Who signs.** A company writes as its `did:idelta` (token, mint, pay,
//!   benefits); an employee writes as its own `did:key` from its sub-wallet
//!   (purchases, transfers, offers, gifts, swaps), so "an employee cannot
//!   spend another's tokens" is the ledger's signature rule, not ours. The
//!   operator's endorser counter-signs both ([`crate::ledger::Author`]).
//! - **Order of effects** ([`purchase`]): everything that can be checked
//!   before the ledger write is (the buyer's sub-wallet answers, the quote),
//!   so a refusal or an unreachable ledger leaves nothing anywhere. Once the
//!   ledger accepted, the change stands; the ownership credential
//!   ([`ownership`]) is issued, and if that fails the unit is recorded as
//!   `pending` and a background task retries it.
//! - **Removals.** Removing an employee first closes its ledger account to
//!   its company's treasury (every token and every unit; the documented
//!   rule), then revokes what it held; removing a company delists its
//!   benefits first ([`Loyalty::close_account`], [`Loyalty::delist_company`]).
//!
//! What the agent reads from the ledger it may remember briefly (benefit
//! terms and exchange rates, [`CACHE_TTL`]): a purchase then costs one
//! ledger round trip. A quote from a stale copy cannot overcharge: it is the
//! purchase's `maxCost`, and a `cost-exceeds-max` refusal of a quote the
//! agent made is retried once with fresh terms.

pub mod db;
pub mod ownership;
pub mod purchase;

use crate::credentials::Credentials;
use crate::db::companies::Company;
use crate::db::employees::Employee;
use crate::db::{Db, DbError};
use crate::events::Events;
use crate::ledger::{Author, LedgerError};
use crate::tenants::{TenantError, Tenants};
use idelta_ledger_node::client::{ClientError, LedgerClient};
use idelta_types::log::Receipt;
use idelta_types::loyalty::views::{
    AccountView, BenefitQuery, BenefitView, BenefitsPage, HistoryPage, MarketView, SettlementReport, TokenView,
};
use idelta_types::loyalty::{
    BenefitCreate, BenefitRemove, BenefitTerms, BenefitUpdate, LoyaltyPayload, MarketCommission, MarketRate,
    TokenCreate, TokenMint, TokenTransfer, Transfer, MAX_BULK,
};
use idelta_types::{Did, Service};
use idelta_wallet::{Holder, KeyType};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long ledger reads (benefit terms, exchange rates) are reused.
pub const CACHE_TTL: Duration = Duration::from_secs(2);
/// Most benefit views remembered.
const BENEFITS_CAPACITY: usize = 50_000;
/// The service type a benefit DID's document names its company with.
pub const BENEFIT_SERVICE: &str = "LoyaltyBenefit";

/// Why a loyalty operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoyaltyError {
    /// Returned when the request is malformed; says what is wrong.
    #[error("{0}")]
    Invalid(String),
    /// Returned when a token, benefit, unit or employee does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Returned when the ledger refuses the write; `code` is its reason
    /// (`insufficient-balance`, `sold-out`, `benefit-removed`, ...).
    #[error("{detail}")]
    Refused {
        /// The ledger's HTTP status.
        status: u16,
        /// The ledger's problem code.
        code: String,
        /// What the ledger says.
        detail: String,
    },
    /// Returned when the ledger cannot be reached: nothing was written.
    /// The cause (with the ledger's address) is logged, not answered.
    #[error("the ledger is unreachable: try again later")]
    Unavailable(String),
    /// Returned when a wallet cannot sign (a sub-wallet removed meanwhile):
    /// nothing was written.
    #[error("{0}")]
    Wallet(String),
    /// Returned when the ledger's answer does not verify or decode.
    #[error("ledger: {0}")]
    Ledger(ClientError),
    /// Returned when the tenancy service fails (unknown company, ...).
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// Returned when the agent database fails.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Result with [`LoyaltyError`].
pub type Result<T, E = LoyaltyError> = std::result::Result<T, E>;

impl LoyaltyError {
    /// The HTTP status of a refusal, by the ledger's code (docs/loyalty.md).
    pub fn refusal_status(code: &str, ledger_status: u16) -> u16 {
        match code {
            "insufficient-balance"
            | "sold-out"
            | "cost-exceeds-max"
            | "no-exchange-rate"
            | "benefit-not-valid"
            | "not-offered"
            | "account-closed"
            | "token-exists"
            | "sequence"
            | "quantity-below-sold" => 409,
            "benefit-removed" => 410,
            "not-owner" | "unauthorized" => 403,
            "unknown-benefit" | "unknown-unit" | "unknown-token" | "unknown-did" => 404,
            "invalid-benefit-did" => 422,
            "malformed" => 400,
            _ => ledger_status,
        }
    }

    fn refused(status: u16, code: &str, detail: impl Into<String>) -> LoyaltyError {
        LoyaltyError::Refused { status, code: code.into(), detail: detail.into() }
    }

    /// The ledger's refusal code, if this is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            LoyaltyError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl From<ClientError> for LoyaltyError {
    fn from(e: ClientError) -> LoyaltyError {
        match e {
            ClientError::Problem { status, code, detail } => {
                // The ledger names every malformed transaction so; the
                // loyalty API calls it `malformed`.
                let code = if code == "malformed-transaction" { "malformed".to_owned() } else { code };
                LoyaltyError::Refused { status: LoyaltyError::refusal_status(&code, status), code, detail }
            }
            ClientError::Http(detail) => {
                tracing::warn!(%detail, "the ledger is unreachable");
                LoyaltyError::Unavailable(detail)
            }
            ClientError::NotFound => LoyaltyError::NotFound("not found on the ledger".into()),
            other => LoyaltyError::Ledger(other),
        }
    }
}

impl From<LedgerError> for LoyaltyError {
    fn from(e: LedgerError) -> LoyaltyError {
        match e {
            LedgerError::Client(c) => c.into(),
            LedgerError::Wallet(idelta_wallet::Error::NotFound(what)) => {
                LoyaltyError::Wallet(format!("the wallet cannot sign ({what}): nothing was written"))
            }
            other => LoyaltyError::Tenant(TenantError::Ledger(other)),
        }
    }
}

impl From<idelta_types::Error> for LoyaltyError {
    fn from(e: idelta_types::Error) -> LoyaltyError {
        LoyaltyError::Invalid(e.to_string())
    }
}

/// Parses a DID named by a request member.
pub fn parse_did(member: &str, text: &str) -> Result<Did> {
    text.parse().map_err(|e: idelta_types::Error| LoyaltyError::Invalid(format!("{member}: {e}")))
}

fn company_did(company: &Company) -> Result<Did> {
    parse_did("company DID", &company.did)
}

/// A value read from the ledger and when.
struct Cached<T> {
    value: T,
    at: Instant,
}

impl<T: Clone> Cached<T> {
    fn fresh(&self) -> Option<T> {
        (self.at.elapsed() < CACHE_TTL).then(|| self.value.clone())
    }
}

/// An employee and the accounts it pays from.
#[derive(Clone, Debug)]
pub struct Member {
    /// The company.
    pub company: Company,
    /// The company's DID: its treasury and its token.
    pub company_did: Did,
    /// The employee.
    pub employee: Employee,
    /// The employee's `did:key`: its account.
    pub did: Did,
}

/// A company's token and its treasury balance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanyToken {
    /// The token.
    #[schema(value_type = Object)]
    pub token: TokenView,
    /// What the company's treasury holds of it.
    pub treasury: u64,
}

/// The outcome of a mint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Minted {
    /// The token's supply after it.
    pub supply: u64,
    /// The treasury's balance after it.
    pub treasury: u64,
    /// The ledger leaf.
    pub leaf_index: u64,
}

/// One payment of a company to an employee.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Payment {
    /// The employee id.
    pub employee: String,
    /// Token units, > 0.
    pub amount: u64,
}

/// A payment order: one ledger transaction, all or nothing.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Payments {
    /// 1 to 1000 payments.
    pub payments: Vec<Payment>,
    /// Up to 256 characters, recorded on the ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

/// The outcome of a ledger write that moved tokens.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Paid {
    /// The ledger leaf.
    pub leaf_index: u64,
    /// Token units moved in total.
    pub total: u64,
}

/// An employee's balance, for the admin.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenHolder {
    /// The employee id.
    pub employee: String,
    /// Its name.
    pub name: String,
    /// Its account.
    pub did: String,
    /// What it holds of the company's token.
    pub balance: u64,
}

/// An exchange rate set by the operator.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateSet {
    /// The token (its company's DID).
    pub token: String,
    /// Settlement micro-units per token unit.
    pub unit_value: u64,
    /// The ledger leaf.
    pub leaf_index: u64,
}

/// The commission set by the operator.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommissionSet {
    /// Basis points of each settlement entry's value.
    pub basis_points: u32,
    /// Who it is owed to.
    pub beneficiary: String,
    /// The ledger leaf.
    pub leaf_index: u64,
}

/// The loyalty service.
pub struct Loyalty {
    tenants: Arc<Tenants>,
    credentials: Arc<Credentials>,
    events: Arc<Events>,
    db: Db,
    benefits: Mutex<HashMap<Did, Cached<BenefitView>>>,
    market: Mutex<Option<Cached<MarketView>>>,
    /// Company DID -> company id, for the companies on this agent.
    companies: Mutex<HashMap<Did, String>>,
    ownership: ownership::Ownership,
}

impl std::fmt::Debug for Loyalty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loyalty").finish_non_exhaustive()
    }
}

impl Loyalty {
    /// The service over the agent's parts.
    pub fn new(tenants: Arc<Tenants>, credentials: Arc<Credentials>, events: Arc<Events>, db: Db) -> Loyalty {
        Loyalty {
            tenants,
            credentials,
            events,
            db,
            benefits: Mutex::new(HashMap::new()),
            market: Mutex::new(None),
            companies: Mutex::new(HashMap::new()),
            ownership: ownership::Ownership::default(),
        }
    }

    fn client(&self) -> &LedgerClient {
        self.tenants.ledger().client()
    }

    /// An active company of this agent and its DID.
    async fn active_company(&self, id: &str) -> Result<(Company, Did)> {
        let company = self.tenants.company(id).await?;
        if company.status != "active" {
            return Err(TenantError::NotFound("company").into());
        }
        let did = company_did(&company)?;
        Ok((company, did))
    }

    /// An active employee of `company` and its accounts.
    pub async fn member(&self, company: &str, employee: &str) -> Result<Member> {
        let (company, company_did) = self.active_company(company).await?;
        let employee = self.tenants.employee(&company.id, employee).await?;
        if employee.status != "active" {
            return Err(TenantError::NotFound("employee").into());
        }
        let did = parse_did("employee DID", &employee.did)?;
        Ok(Member { company, company_did, employee, did })
    }

    /// Writes as a company, signed with its DID's wallet key.
    async fn write_as_company<P: LoyaltyPayload>(&self, company: &Company, did: &Did, payload: &P) -> Result<Receipt> {
        payload.validate()?;
        let wallet = self.tenants.wallets().open(&company.id).await.map_err(TenantError::from)?;
        let author = Author::Company { wallet: &wallet, did, key_id: &company.key_id };
        Ok(self.tenants.ledger().write(author, P::TX_TYPE, payload).await?)
    }

    /// Writes as an employee, signed with its `did:key` in its sub-wallet.
    async fn write_as_member<P: LoyaltyPayload>(&self, member: &Member, payload: &P) -> Result<Receipt> {
        payload.validate()?;
        let wallet = self.tenants.wallets().open(&member.company.id).await.map_err(TenantError::from)?;
        let author = Author::Employee { wallet: &wallet, employee: &member.employee.id, did: &member.did };
        Ok(self.tenants.ledger().write(author, P::TX_TYPE, payload).await?)
    }

    /// Writes as the operator (exchange rates, commission).
    async fn write_as_operator<P: LoyaltyPayload>(&self, payload: &P) -> Result<Receipt> {
        payload.validate()?;
        Ok(self.tenants.ledger().write(Author::Operator, P::TX_TYPE, payload).await?)
    }

    /// Records an event; the change it reports is done, so a failure is logged.
    async fn event(&self, tenant: &str, kind: &str, subject: &str, data: serde_json::Value, now_ms: i64) {
        if let Err(e) = self.events.publish(tenant, kind, subject, data, now_ms).await {
            tracing::error!(%tenant, %kind, %subject, error = %e, "event not recorded");
        }
    }

    // ---- reads, briefly remembered ----

    /// A benefit's view; `fresh` skips the remembered copy.
    pub async fn benefit(&self, benefit: &Did, fresh: bool) -> Result<BenefitView> {
        if !fresh {
            if let Some(view) = self.benefits.lock().get(benefit).and_then(Cached::fresh) {
                return Ok(view);
            }
        }
        let view = match self.client().loyalty_benefit(benefit).await {
            Ok(v) => v.view,
            Err(ClientError::NotFound) => {
                return Err(LoyaltyError::refused(
                    404,
                    "unknown-benefit",
                    format!("no benefit {benefit} on the ledger"),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        self.remember(&view);
        Ok(view)
    }

    fn remember(&self, view: &BenefitView) {
        let mut cache = self.benefits.lock();
        if cache.len() >= BENEFITS_CAPACITY {
            cache.clear();
        }
        cache.insert(view.benefit.clone(), Cached { value: view.clone(), at: Instant::now() });
    }

    fn forget(&self, benefit: &Did) {
        self.benefits.lock().remove(benefit);
    }

    /// The id of the company on this agent whose DID is `did`, if any
    /// (remembered: a company's DID never changes hands).
    pub(crate) async fn company_of(&self, did: &Did) -> Result<Option<String>> {
        if let Some(id) = self.companies.lock().get(did) {
            return Ok(Some(id.clone()));
        }
        let id = self.db.company_id_by_did(did.as_str()).await?;
        if let Some(id) = &id {
            let mut companies = self.companies.lock();
            if companies.len() >= BENEFITS_CAPACITY {
                companies.clear();
            }
            companies.insert(did.clone(), id.clone());
        }
        Ok(id)
    }

    /// The exchange rates and commission; `fresh` skips the remembered copy.
    pub async fn market(&self, fresh: bool) -> Result<MarketView> {
        if !fresh {
            if let Some(view) = self.market.lock().as_ref().and_then(Cached::fresh) {
                return Ok(view);
            }
        }
        let view = self.client().loyalty_market().await?;
        *self.market.lock() = Some(Cached { value: view.clone(), at: Instant::now() });
        Ok(view)
    }

    /// What `price` units of `priced_in` cost in `pay_with`:
    /// `ceil(price * value(priced_in) / value(pay_with))`, or `price`
    /// itself in the same token. A missing rate is `no-exchange-rate`.
    pub async fn cost_in(&self, pay_with: &Did, priced_in: &Did, price: u64, fresh: bool) -> Result<u64> {
        if pay_with == priced_in {
            return Ok(price);
        }
        let mut market = self.market(fresh).await?;
        let rate = |m: &MarketView, t: &Did| m.rates.iter().find(|r| &r.token == t).map(|r| r.unit_value);
        if !fresh && (rate(&market, pay_with).is_none() || rate(&market, priced_in).is_none()) {
            market = self.market(true).await?;
        }
        let missing = |t: &Did| {
            LoyaltyError::refused(
                409,
                "no-exchange-rate",
                format!("token {t} has no exchange rate set by the operator"),
            )
        };
        let to = rate(&market, pay_with).ok_or_else(|| missing(pay_with))?;
        let from = rate(&market, priced_in).ok_or_else(|| missing(priced_in))?;
        // The ledger's own arithmetic, so the quote is the cost to the unit.
        idelta_types::loyalty::convert(price, from, to).map(|c| c.cost).ok_or_else(|| {
            LoyaltyError::refused(400, "malformed", "the converted price does not fit in a token amount")
        })
    }

    // ---- company admin ----

    /// Creates the company's token.
    pub async fn create_token(&self, company: &str, symbol: &str, name: &str, now_ms: i64) -> Result<TokenView> {
        let (company, did) = self.active_company(company).await?;
        let payload = TokenCreate { symbol: symbol.to_owned(), name: name.to_owned() };
        let receipt = self.write_as_company(&company, &did, &payload).await?;
        let view = TokenView {
            token: did.clone(),
            symbol: payload.symbol,
            name: payload.name,
            supply: 0,
            unit_value: None,
            leaf_index: receipt.leaf_index,
        };
        let data = json!({ "token": did, "symbol": view.symbol, "leafIndex": receipt.leaf_index });
        self.event(&company.id, "loyalty.token_created", &company.id, data, now_ms).await;
        Ok(view)
    }

    /// The company's token and treasury balance.
    pub async fn token(&self, company: &str) -> Result<CompanyToken> {
        let (_, did) = self.active_company(company).await?;
        let token = match self.client().loyalty_token(&did).await {
            Ok(t) => t.view,
            Err(ClientError::NotFound) => return Err(LoyaltyError::NotFound("the company has no token yet".into())),
            Err(e) => return Err(e.into()),
        };
        let account = self.client().loyalty_account(&did).await?;
        Ok(CompanyToken { treasury: balance_of(&account, &did), token })
    }

    /// Mints into the company's treasury.
    pub async fn mint(&self, company: &str, amount: u64, now_ms: i64) -> Result<Minted> {
        let (company, did) = self.active_company(company).await?;
        let receipt = self.write_as_company(&company, &did, &TokenMint { amount }).await?;
        let token = self.client().loyalty_token(&did).await?.view;
        let account = self.client().loyalty_account(&did).await?;
        let minted =
            Minted { supply: token.supply, treasury: balance_of(&account, &did), leaf_index: receipt.leaf_index };
        let data = json!({ "amount": amount, "supply": minted.supply, "leafIndex": receipt.leaf_index });
        self.event(&company.id, "loyalty.minted", &company.id, data, now_ms).await;
        Ok(minted)
    }

    /// Pays employees from the treasury: one transaction, all or nothing.
    pub async fn pay(&self, company: &str, order: &Payments, now_ms: i64) -> Result<Paid> {
        let (company, did) = self.active_company(company).await?;
        if order.payments.is_empty() || order.payments.len() > MAX_BULK {
            return Err(LoyaltyError::Invalid(format!("payments must hold 1 to {MAX_BULK} payments")));
        }
        let ids: Vec<String> = order.payments.iter().map(|p| p.employee.clone()).collect();
        let dids: HashMap<String, String> = self.db.employee_dids(&company.id, &ids).await?.into_iter().collect();
        let mut transfers = Vec::with_capacity(order.payments.len());
        for (i, p) in order.payments.iter().enumerate() {
            let to = dids.get(&p.employee).ok_or_else(|| {
                LoyaltyError::NotFound(format!("payments[{i}].employee: no active employee {} here", p.employee))
            })?;
            transfers.push(Transfer { to: parse_did("employee DID", to)?, amount: p.amount });
        }
        let payload = TokenTransfer { token: did.clone(), transfers, memo: order.memo.clone() };
        let total = payload.total()?;
        let receipt = self.write_as_company(&company, &did, &payload).await?;
        let data = json!({ "payments": order.payments.len(), "total": total, "leafIndex": receipt.leaf_index });
        self.event(&company.id, "loyalty.paid", &company.id, data, now_ms).await;
        Ok(Paid { leaf_index: receipt.leaf_index, total })
    }

    /// A page of the company's employees with their balances of its token.
    pub async fn holders(
        &self,
        company: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<crate::tenants::Page<TokenHolder>> {
        let (company, did) = self.active_company(company).await?;
        let page = self.tenants.employees(&company.id, cursor, limit).await?;
        let mut items = Vec::with_capacity(page.items.len());
        let accounts = futures::future::join_all(page.items.iter().map(|e| async {
            self.client().loyalty_account(&parse_did("employee DID", &e.did)?).await.map_err(LoyaltyError::from)
        }))
        .await;
        for (e, account) in page.items.into_iter().zip(accounts) {
            items.push(TokenHolder { balance: balance_of(&account?, &did), employee: e.id, name: e.name, did: e.did });
        }
        Ok(crate::tenants::Page { items, next_cursor: page.next_cursor })
    }

    /// Lists a benefit: a fresh key in the company's wallet, its
    /// `did:idelta` DID with a `LoyaltyBenefit` service naming the company,
    /// then `benefit.create`.
    pub async fn create_benefit(&self, company: &str, terms: BenefitTerms, now_ms: i64) -> Result<BenefitView> {
        let (company, did) = self.active_company(company).await?;
        terms.validate()?;
        // A benefit is priced in the company's token: without one the
        // ledger refuses `benefit.create`, so no DID is made for nothing.
        match self.client().loyalty_token(&did).await {
            Ok(_) => {}
            Err(ClientError::NotFound) => {
                return Err(LoyaltyError::refused(
                    404,
                    "unknown-token",
                    "the company has no token yet: create it first (POST /v1/companies/{company}/token)",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        let wallet = self.tenants.wallets().open(&company.id).await.map_err(TenantError::from)?;
        let key = wallet
            .generate_key(Holder::Company, KeyType::Ed25519, &[("purpose", "benefit")])
            .await
            .map_err(TenantError::from)?;
        let benefit = Did::idelta_from_key(&key.public);
        let service = Service {
            id: benefit.with_fragment("benefit"),
            kind: BENEFIT_SERVICE.into(),
            service_endpoint: serde_json::Value::String(did.to_string()),
        };
        self.tenants.ledger().create_did_with_services(&wallet, &key.id, &key.public, vec![service]).await?;
        let payload = BenefitCreate { benefit: benefit.clone(), terms };
        let receipt = self.write_as_company(&company, &did, &payload).await?;
        let row = db::BenefitRow {
            benefit_did: benefit.to_string(),
            company_id: company.id.clone(),
            key_id: key.id,
            created_at: now_ms,
            removed_at: None,
        };
        // The ledger holds the benefit now; the row only keeps its key id,
        // so a failure here is logged rather than failing the listing.
        if let Err(e) = self.db.insert_benefit(&row).await {
            tracing::error!(%benefit, error = %e, "benefit listed but its key id was not recorded");
        }
        let view = BenefitView {
            benefit: benefit.clone(),
            company: did,
            remaining: payload.terms.quantity,
            terms: payload.terms,
            sold: 0,
            removed: false,
            leaf_index: receipt.leaf_index,
            updated_leaf_index: receipt.leaf_index,
        };
        self.remember(&view);
        let data = json!({ "benefit": benefit, "name": view.terms.name, "leafIndex": receipt.leaf_index });
        self.event(&company.id, "benefit.created", benefit.as_str(), data, now_ms).await;
        Ok(view)
    }

    /// The company's benefit. Another company's is "not found", exactly as
    /// a benefit that exists nowhere, so a refusal tells nothing about it.
    async fn own_benefit(&self, company_did: &Did, benefit: &str) -> Result<BenefitView> {
        let benefit = parse_did("benefit", benefit)?;
        let unknown = || LoyaltyError::NotFound(format!("your company has no benefit {benefit}"));
        let view = self.benefit(&benefit, true).await.map_err(|e| match e.code() {
            Some("unknown-benefit") => unknown(),
            _ => e,
        })?;
        if &view.company != company_did {
            return Err(unknown());
        }
        Ok(view)
    }

    /// Changes a benefit's terms.
    pub async fn update_benefit(
        &self,
        company: &str,
        benefit: &str,
        terms: BenefitTerms,
        now_ms: i64,
    ) -> Result<BenefitView> {
        let (company, did) = self.active_company(company).await?;
        let view = self.own_benefit(&did, benefit).await?;
        let payload = BenefitUpdate { benefit: view.benefit.clone(), terms };
        let receipt = self.write_as_company(&company, &did, &payload).await?;
        self.forget(&view.benefit);
        let view = self.benefit(&view.benefit, true).await?;
        let data = json!({ "benefit": view.benefit, "leafIndex": receipt.leaf_index });
        self.event(&company.id, "benefit.updated", view.benefit.as_str(), data, now_ms).await;
        Ok(view)
    }

    /// Delists a benefit and revokes the ownership credentials of its units.
    pub async fn remove_benefit(&self, company: &str, benefit: &str, now_ms: i64) -> Result<()> {
        let (company, did) = self.active_company(company).await?;
        let view = self.own_benefit(&did, benefit).await?;
        self.remove_benefits(&company, &did, std::slice::from_ref(&view.benefit), now_ms).await
    }

    /// `benefit.remove` for `benefits` (chunks of 1000), then the
    /// revocation of their units' ownership credentials and the events.
    async fn remove_benefits(&self, company: &Company, did: &Did, benefits: &[Did], now_ms: i64) -> Result<()> {
        for chunk in benefits.chunks(MAX_BULK) {
            let receipt = self.write_as_company(company, did, &BenefitRemove { benefits: chunk.to_vec() }).await?;
            let names: Vec<String> = chunk.iter().map(Did::to_string).collect();
            self.db.mark_benefits_removed(&names, now_ms).await?;
            for b in chunk {
                self.forget(b);
                let revoked = self.revoke_units(db::UnitFilter::Benefit(b.as_str()), now_ms).await?;
                let data = json!({ "benefit": b, "credentialsRevoked": revoked, "leafIndex": receipt.leaf_index });
                self.event(&company.id, "benefit.removed", b.as_str(), data, now_ms).await;
            }
        }
        Ok(())
    }

    /// The company's benefits (removed ones included unless filtered).
    pub async fn company_benefits(&self, company: &str, mut query: BenefitQuery) -> Result<BenefitsPage> {
        let (_, did) = self.active_company(company).await?;
        query.company = Some(did);
        Ok(self.client().loyalty_benefits(&query).await?)
    }

    /// The settlement report for `[from, to)`; with `company`, only the
    /// rows naming it.
    pub async fn settlement(&self, company: Option<&str>, from: u64, to: u64) -> Result<SettlementReport> {
        if from >= to {
            return Err(LoyaltyError::Invalid("from must be before to".into()));
        }
        let mut report = self.client().loyalty_settlement(from, to).await?;
        if let Some(company) = company {
            let (_, did) = self.active_company(company).await?;
            report.gross.retain(|r| r.payer == did || r.payee == did);
            report.net.retain(|r| r.payer == did || r.payee == did);
            report.commission.retain(|r| r.company == did);
            report.positions.retain(|r| r.company == did);
        }
        Ok(report)
    }

    // ---- operator ----

    /// Sets a company token's settlement value.
    pub async fn set_rate(&self, company: &str, unit_value: u64, now_ms: i64) -> Result<RateSet> {
        let (company, did) = self.active_company(company).await?;
        let receipt = self.write_as_operator(&MarketRate { token: did.clone(), unit_value }).await?;
        *self.market.lock() = None;
        let data = json!({ "token": did, "unitValue": unit_value, "leafIndex": receipt.leaf_index });
        self.event(&company.id, "loyalty.rate_set", &company.id, data, now_ms).await;
        Ok(RateSet { token: did.to_string(), unit_value, leaf_index: receipt.leaf_index })
    }

    /// Sets the platform commission; the beneficiary defaults to the
    /// operator's DID.
    pub async fn set_commission(&self, basis_points: u32, beneficiary: Option<&str>) -> Result<CommissionSet> {
        let beneficiary = match beneficiary {
            Some(b) => parse_did("beneficiary", b)?,
            None => self.tenants.ledger().endorser().clone(),
        };
        let receipt =
            self.write_as_operator(&MarketCommission { basis_points, beneficiary: beneficiary.clone() }).await?;
        *self.market.lock() = None;
        Ok(CommissionSet { basis_points, beneficiary: beneficiary.to_string(), leaf_index: receipt.leaf_index })
    }

    // ---- employee reads ----

    /// An employee's account: balances and units, and its company's token.
    pub async fn account(&self, company: &str, employee: &str) -> Result<(Member, AccountView, Option<TokenView>)> {
        let member = self.member(company, employee).await?;
        let (account, token) = futures::join!(
            self.client().loyalty_account(&member.did),
            self.client().loyalty_token(&member.company_did)
        );
        let token = match token {
            Ok(t) => Some(t.view),
            Err(ClientError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        Ok((member, account?, token))
    }

    /// An employee's ledger history, newest first.
    pub async fn history(
        &self,
        company: &str,
        employee: &str,
        before: Option<u64>,
        limit: Option<u32>,
    ) -> Result<HistoryPage> {
        let member = self.member(company, employee).await?;
        if limit.is_some_and(|l| !(1..=200).contains(&l)) {
            return Err(LoyaltyError::Invalid("limit must be 1 to 200".into()));
        }
        Ok(self.client().loyalty_history(&member.did, before, limit).await?)
    }
}

/// What `account` holds of `token`.
pub fn balance_of(account: &AccountView, token: &Did) -> u64 {
    account.balances.iter().find(|b| &b.token == token).map_or(0, |b| b.amount)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn refusals_map_to_the_documented_statuses() {
        for (code, status) in [
            ("insufficient-balance", 409),
            ("sold-out", 409),
            ("benefit-removed", 410),
            ("not-owner", 403),
            ("unknown-benefit", 404),
            ("invalid-benefit-did", 422),
            ("malformed", 400),
            ("something-new", 418),
        ] {
            assert_eq!(LoyaltyError::refusal_status(code, 418), status, "{code}");
        }
    }
}
