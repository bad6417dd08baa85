//! The loyalty marketplace over HTTP (docs/loyalty.md): company tokens and
//! benefits for company admins, exchange rates, commission and settlement
//! for the operator, and `/v1/me/...` for employees (balance, history,
//! purchases, transfers, offers, gifts, swaps). Writes that move value take
//! an `Idempotency-Key`. Each handler checks the caller's scope and calls
//! one [`crate::loyalty::Loyalty`] method.

use super::error::{ApiError, Problem};
use super::extract::{Caller, IdempotencyKey, Json, PageQuery, Path, Query};
use super::{idempotency, now_ms, AppState};
use crate::auth::Principal;
use crate::loyalty::purchase::Done;
use crate::loyalty::purchase::{
    GiftRequest, MarketPage, MarketQuery, OfferRequest, OwnedUnit, PurchaseRequest, Purchased, SwapRequest,
    TransferRequest,
};
use crate::loyalty::{CommissionSet, CompanyToken, Minted, Paid, Payments, RateSet, TokenHolder};
use crate::tenants::Page;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use idelta_types::loyalty::views::{
    AccountView, Balance, BenefitQuery, BenefitView, BenefitsPage, HistoryPage, MarketView, SettlementReport,
    TokenView, UnitView,
};
use idelta_types::loyalty::BenefitTerms;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_token, get_token))
        .routes(routes!(mint))
        .routes(routes!(pay))
        .routes(routes!(holders))
        .routes(routes!(create_benefit, list_benefits))
        .routes(routes!(update_benefit, remove_benefit))
        .routes(routes!(company_settlement))
        .routes(routes!(settlement))
        .routes(routes!(exchange_rates))
        .routes(routes!(set_rate))
        .routes(routes!(set_commission))
        .routes(routes!(account))
        .routes(routes!(history))
        .routes(routes!(marketplace))
        .routes(routes!(purchase))
        .routes(routes!(owned))
        .routes(routes!(transfer))
        .routes(routes!(gift))
        .routes(routes!(offer, withdraw))
        .routes(routes!(swap))
}

/// The employee a `/v1/me` request is about.
fn employee(caller: &Caller) -> Result<(&str, &str), ApiError> {
    match &caller.0 {
        Principal::Employee { company, employee } => Ok((company, employee)),
        _ => Err(ApiError::Forbidden("only an employee has a loyalty account: use an employee token".into())),
    }
}

/// A token to create.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewLoyaltyToken {
    /// 1 to 12 of A-Z0-9.
    pub symbol: String,
    /// 1 to 64 characters.
    pub name: String,
}

/// Create the company's loyalty token (once); its id is the company DID.
#[utoipa::path(post, path = "/v1/companies/{company}/token", tag = "company admin", params(("company" = String, Path)),
    request_body = NewLoyaltyToken,
    responses((status = 201, description = "TokenView", body = Object), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    Json(body): Json<NewLoyaltyToken>,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    caller.admin_of(&company)?;
    Ok((StatusCode::CREATED, Json(state.loyalty.create_token(&company, &body.symbol, &body.name, now_ms()).await?)))
}

/// The company's token and treasury.
#[utoipa::path(get, path = "/v1/companies/{company}/token", tag = "company admin", params(("company" = String, Path)),
    responses((status = 200, body = CompanyToken), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
) -> Result<Json<CompanyToken>, ApiError> {
    caller.admin_of(&company)?;
    Ok(Json(state.loyalty.token(&company).await?))
}

/// An amount to mint.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MintRequest {
    /// Token units, > 0.
    pub amount: u64,
}

/// Mint tokens into the company's treasury.
#[utoipa::path(post, path = "/v1/companies/{company}/token/mint", tag = "company admin", params(("company" = String, Path)),
    request_body = MintRequest,
    responses((status = 200, body = Minted), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn mint(
    State(state): State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    Json(body): Json<MintRequest>,
) -> Result<Json<Minted>, ApiError> {
    caller.admin_of(&company)?;
    Ok(Json(state.loyalty.mint(&company, body.amount, now_ms()).await?))
}

/// Pay employees from the treasury, one or many (one ledger transaction).
#[utoipa::path(post, path = "/v1/companies/{company}/token/payments", tag = "company admin",
    params(("company" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = Payments,
    responses((status = 201, body = Paid), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn pay(
    State(state): State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    key: Option<IdempotencyKey>,
    Json(body): Json<Payments>,
) -> Result<Response, ApiError> {
    caller.admin_of(&company)?;
    let now = now_ms();
    idempotency::once(&state, &format!("{company}/payments"), key, &body, now, || async {
        Ok((StatusCode::CREATED, state.loyalty.pay(&company, &body, now).await?))
    })
    .await
}

/// The company's employees with their balances of its token.
#[utoipa::path(get, path = "/v1/companies/{company}/token/holders", tag = "company admin",
    params(("company" = String, Path), PageQuery),
    responses((status = 200, body = Page<TokenHolder>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn holders(
    State(state): State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<TokenHolder>>, ApiError> {
    caller.admin_of(&company)?;
    Ok(Json(state.loyalty.holders(&company, q.cursor.as_deref(), q.limit).await?))
}

/// List a benefit: it gets a DID of its own, then `benefit.create`.
#[utoipa::path(post, path = "/v1/companies/{company}/benefits", tag = "company admin",
    params(("company" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body(content = Object, description = "BenefitTerms: name, description, category, price, quantity, validFrom?, validUntil?"),
    responses((status = 201, description = "BenefitView", body = Object), (status = 400, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn create_benefit(
    State(state): State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    key: Option<IdempotencyKey>,
    Json(terms): Json<BenefitTerms>,
) -> Result<Response, ApiError> {
    caller.admin_of(&company)?;
    let now = now_ms();
    idempotency::once(&state, &format!("{company}/benefits"), key, &terms, now, || async {
        Ok((StatusCode::CREATED, state.loyalty.create_benefit(&company, terms.clone(), now).await?))
    })
    .await
}

/// Filters of a company's benefits.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BenefitFilter {
    /// Only this category.
    pub category: Option<String>,
    /// Case-insensitive substring of name or description.
    pub q: Option<String>,
    /// `true`: listed with units left; `false`: the others.
    pub available: Option<bool>,
    /// `next` of the previous page.
    pub before: Option<u64>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// The company's benefits, newest first (delisted ones included).
#[utoipa::path(get, path = "/v1/companies/{company}/benefits", tag = "company admin",
    params(("company" = String, Path), BenefitFilter),
    responses((status = 200, description = "BenefitsPage", body = Object), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_benefits(
    State(state): State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    Query(f): Query<BenefitFilter>,
) -> Result<Json<BenefitsPage>, ApiError> {
    caller.admin_of(&company)?;
    let query = BenefitQuery {
        company: None,
        category: f.category,
        q: f.q,
        available: f.available,
        before: f.before,
        limit: f.limit,
    };
    Ok(Json(state.loyalty.company_benefits(&company, query).await?))
}

/// Change a benefit's terms (`quantity` at least what was sold).
#[utoipa::path(put, path = "/v1/companies/{company}/benefits/{benefit}", tag = "company admin",
    params(("company" = String, Path), ("benefit" = String, Path, description = "The benefit's DID")),
    request_body(content = Object, description = "BenefitTerms"),
    responses((status = 200, description = "BenefitView", body = Object), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 410, body = Problem)),
    security(("bearer" = [])))]
async fn update_benefit(
    State(state): State<AppState>,
    caller: Caller,
    Path((company, benefit)): Path<(String, String)>,
    Json(terms): Json<BenefitTerms>,
) -> Result<Json<BenefitView>, ApiError> {
    caller.admin_of(&company)?;
    Ok(Json(state.loyalty.update_benefit(&company, &benefit, terms, now_ms()).await?))
}

/// Delist a benefit; every ownership credential of its units is revoked.
#[utoipa::path(delete, path = "/v1/companies/{company}/benefits/{benefit}", tag = "company admin",
    params(("company" = String, Path), ("benefit" = String, Path, description = "The benefit's DID")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 410, body = Problem)),
    security(("bearer" = [])))]
async fn remove_benefit(
    State(state): State<AppState>,
    caller: Caller,
    Path((company, benefit)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.admin_of(&company)?;
    state.loyalty.remove_benefit(&company, &benefit, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A settlement period, `[from, to)` in ms since the epoch.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Period {
    /// Start, inclusive.
    pub from: u64,
    /// End, exclusive.
    pub to: u64,
}

/// The settlement report rows naming the company.
#[utoipa::path(get, path = "/v1/companies/{company}/settlement", tag = "company admin",
    params(("company" = String, Path), Period),
    responses((status = 200, description = "SettlementReport", body = Object), (status = 400, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn company_settlement(
    State(state): State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    Query(p): Query<Period>,
) -> Result<Json<SettlementReport>, ApiError> {
    caller.operator_or_admin_of(&company)?;
    Ok(Json(state.loyalty.settlement(Some(&company), p.from, p.to).await?))
}

/// The whole settlement report: gross, netted, commission, positions.
#[utoipa::path(get, path = "/v1/settlement", tag = "operator", params(Period),
    responses((status = 200, description = "SettlementReport", body = Object), (status = 400, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn settlement(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<Period>,
) -> Result<Json<SettlementReport>, ApiError> {
    caller.operator()?;
    Ok(Json(state.loyalty.settlement(None, p.from, p.to).await?))
}

/// The exchange rates and the commission.
#[utoipa::path(get, path = "/v1/exchange-rates", tag = "any caller",
    responses((status = 200, description = "MarketView", body = Object), (status = 401, body = Problem)),
    security(("bearer" = [])))]
async fn exchange_rates(State(state): State<AppState>, _caller: Caller) -> Result<Json<MarketView>, ApiError> {
    Ok(Json(state.loyalty.market(true).await?))
}

/// A token's settlement value.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateRequest {
    /// Settlement micro-units (1e-6 of the consortium currency) per token unit, > 0.
    pub unit_value: u64,
}

/// Set a company token's exchange rate.
#[utoipa::path(put, path = "/v1/exchange-rates/{company}", tag = "operator", params(("company" = String, Path)),
    request_body = RateRequest,
    responses((status = 200, body = RateSet), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn set_rate(
    State(state): State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    Json(body): Json<RateRequest>,
) -> Result<Json<RateSet>, ApiError> {
    caller.operator()?;
    Ok(Json(state.loyalty.set_rate(&company, body.unit_value, now_ms()).await?))
}

/// The platform commission.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CommissionRequest {
    /// 0 to 10000 basis points of each settlement entry's value.
    pub basis_points: u32,
    /// Who it is owed to; the operator's DID by default.
    #[serde(default)]
    pub beneficiary: Option<String>,
}

/// Set the platform commission.
#[utoipa::path(put, path = "/v1/commission", tag = "operator", request_body = CommissionRequest,
    responses((status = 200, body = CommissionSet), (status = 400, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn set_commission(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CommissionRequest>,
) -> Result<Json<CommissionSet>, ApiError> {
    caller.operator()?;
    Ok(Json(state.loyalty.set_commission(body.basis_points, body.beneficiary.as_deref()).await?))
}

/// An employee's account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyAccount {
    /// The account: the employee's `did:key`.
    pub account: String,
    /// The employee's company DID (its token id).
    pub company: String,
    /// The company's token, once created.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub token: Option<TokenView>,
    /// Balances, by token.
    #[schema(value_type = Vec<Object>)]
    pub balances: Vec<Balance>,
    /// Units owned.
    #[schema(value_type = Vec<Object>)]
    pub units: Vec<UnitView>,
}

/// The caller's balances and units.
#[utoipa::path(get, path = "/v1/me/account", tag = "employee",
    responses((status = 200, body = MyAccount), (status = 403, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
async fn account(State(state): State<AppState>, caller: Caller) -> Result<Json<MyAccount>, ApiError> {
    let (company, employee) = employee(&caller)?;
    let (member, AccountView { balances, units, .. }, token) = state.loyalty.account(company, employee).await?;
    Ok(Json(MyAccount {
        account: member.did.to_string(),
        company: member.company_did.to_string(),
        token,
        balances,
        units,
    }))
}

/// History paging.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// `next` of the previous page.
    pub before: Option<u64>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// The caller's ledger history, newest first.
#[utoipa::path(get, path = "/v1/me/history", tag = "employee", params(HistoryQuery),
    responses((status = 200, description = "HistoryPage", body = Object), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<HistoryPage>, ApiError> {
    let (company, employee) = employee(&caller)?;
    Ok(Json(state.loyalty.history(company, employee, q.before, q.limit).await?))
}

/// The marketplace: benefits of every company, or resale offers, with a
/// quote in the caller's company token.
#[utoipa::path(get, path = "/v1/marketplace", tag = "employee", params(MarketQuery),
    responses((status = 200, body = MarketPage), (status = 400, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn marketplace(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<MarketQuery>,
) -> Result<Json<MarketPage>, ApiError> {
    let company = caller
        .0
        .company()
        .ok_or_else(|| ApiError::Forbidden("the marketplace is for employees and company admins".into()))?;
    Ok(Json(state.loyalty.marketplace(company, &q).await?))
}

/// Buy a benefit: a new unit from its company, or a resale offer (`unit`).
#[utoipa::path(post, path = "/v1/me/purchases", tag = "employee",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = PurchaseRequest,
    responses((status = 201, body = Purchased), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
async fn purchase(
    State(state): State<AppState>,
    caller: Caller,
    key: Option<IdempotencyKey>,
    Json(body): Json<PurchaseRequest>,
) -> Result<Response, ApiError> {
    let (company, employee) = employee(&caller)?;
    let now = now_ms();
    idempotency::once(&state, &format!("{employee}/purchases"), key, &body, now, || async {
        Ok((StatusCode::CREATED, state.loyalty.purchase(company, employee, &body, now).await?))
    })
    .await
}

/// The units the caller owns, with their ownership credentials.
#[utoipa::path(get, path = "/v1/me/benefits", tag = "employee",
    responses((status = 200, body = Vec<OwnedUnit>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn owned(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<OwnedUnit>>, ApiError> {
    let (company, employee) = employee(&caller)?;
    Ok(Json(state.loyalty.owned(company, employee, now_ms()).await?))
}

/// Pay another account in the caller's company token.
#[utoipa::path(post, path = "/v1/me/transfers", tag = "employee",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = TransferRequest,
    responses((status = 201, body = Done), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn transfer(
    State(state): State<AppState>,
    caller: Caller,
    key: Option<IdempotencyKey>,
    Json(body): Json<TransferRequest>,
) -> Result<Response, ApiError> {
    let (company, employee) = employee(&caller)?;
    let now = now_ms();
    idempotency::once(&state, &format!("{employee}/transfers"), key, &body, now, || async {
        Ok((StatusCode::CREATED, state.loyalty.transfer(company, employee, &body, now).await?))
    })
    .await
}

/// Give an owned unit away.
#[utoipa::path(post, path = "/v1/me/benefits/{benefit}/{unit}/gift", tag = "employee",
    params(("benefit" = String, Path, description = "The benefit's DID"), ("unit" = u64, Path)),
    request_body = GiftRequest,
    responses((status = 200, body = Done), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn gift(
    State(state): State<AppState>,
    caller: Caller,
    Path((benefit, unit)): Path<(String, u64)>,
    Json(body): Json<GiftRequest>,
) -> Result<Json<Done>, ApiError> {
    let (company, employee) = employee(&caller)?;
    Ok(Json(state.loyalty.gift(company, employee, &benefit, unit, &body, now_ms()).await?))
}

/// Offer an owned unit for sale (in the caller's company token) or swap.
#[utoipa::path(put, path = "/v1/me/benefits/{benefit}/{unit}/offer", tag = "employee",
    params(("benefit" = String, Path, description = "The benefit's DID"), ("unit" = u64, Path)),
    request_body = OfferRequest,
    responses((status = 200, body = Done), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn offer(
    State(state): State<AppState>,
    caller: Caller,
    Path((benefit, unit)): Path<(String, u64)>,
    Json(body): Json<OfferRequest>,
) -> Result<Json<Done>, ApiError> {
    let (company, employee) = employee(&caller)?;
    Ok(Json(state.loyalty.offer(company, employee, &benefit, unit, &body, now_ms()).await?))
}

/// Withdraw the offer of an owned unit.
#[utoipa::path(delete, path = "/v1/me/benefits/{benefit}/{unit}/offer", tag = "employee",
    params(("benefit" = String, Path, description = "The benefit's DID"), ("unit" = u64, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path((benefit, unit)): Path<(String, u64)>,
) -> Result<StatusCode, ApiError> {
    let (company, employee) = employee(&caller)?;
    state.loyalty.withdraw(company, employee, &benefit, unit, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept a swap offer: `take` is offered for exactly `give`.
#[utoipa::path(post, path = "/v1/me/swaps", tag = "employee", request_body = SwapRequest,
    responses((status = 200, body = Done), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn swap(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<SwapRequest>,
) -> Result<Json<Done>, ApiError> {
    let (company, employee) = employee(&caller)?;
    Ok(Json(state.loyalty.swap(company, employee, &body, now_ms()).await?))
}
