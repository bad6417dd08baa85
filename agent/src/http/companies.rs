//! `/v1/companies`: the operator registers, lists and removes companies and
//! issues their admin tokens.

use super::error::{ApiError, Problem};
use super::extract::{Caller, IdempotencyKey, Json, PageQuery, Path, Query};
use super::{idempotency, now_ms, AppState};
use crate::db::companies::Company;
use crate::tenants::{CompanyCreated, IssuedToken, Page};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register, list))
        .routes(routes!(get_company, remove))
        .routes(routes!(admin_token))
}

/// A company to register.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    /// Display name, unique among active companies.
    pub name: String,
}

/// Options of a new token.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Make every earlier token of the subject stop working.
    #[serde(default)]
    pub invalidate_previous: bool,
}

/// Register a company: its super-wallet, an Ed25519 `did:idelta` DID on
/// the ledger endorsed by the operator, and a company-admin token.
#[utoipa::path(post, path = "/v1/companies", tag = "operator", request_body = NewCompany,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 201, body = CompanyCreated), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
async fn register(
    state: axum::extract::State<AppState>,
    caller: Caller,
    key: Option<IdempotencyKey>,
    Json(body): Json<NewCompany>,
) -> Result<Response, ApiError> {
    caller.operator()?;
    let now = now_ms();
    idempotency::once(&state, "operator", key, &body, now, || async {
        Ok((StatusCode::CREATED, state.tenants.register_company(&body.name, now).await?))
    })
    .await
}

/// List companies, oldest first.
#[utoipa::path(get, path = "/v1/companies", tag = "operator", params(PageQuery),
    responses((status = 200, body = Page<Company>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<Company>>, ApiError> {
    caller.operator()?;
    Ok(Json(state.tenants.companies(q.cursor.as_deref(), q.limit).await?))
}

/// A company: for the operator and its own admin.
#[utoipa::path(get, path = "/v1/companies/{company}", tag = "operator", params(("company" = String, Path)),
    responses((status = 200, body = Company), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_company(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
) -> Result<Json<Company>, ApiError> {
    caller.operator_or_admin_of(&company)?;
    Ok(Json(state.tenants.company(&company).await?))
}

/// Remove a company: its and its employees' tokens stop working at once;
/// an audit record stays.
#[utoipa::path(delete, path = "/v1/companies/{company}", tag = "operator", params(("company" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn remove(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.operator()?;
    let now = now_ms();
    // A removed company sells nothing: its benefits are delisted first.
    state.loyalty.delist_company(&company, now).await?;
    state.tenants.remove_company(&company, "operator", now).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issue a company-admin token; optionally invalidate the older ones.
#[utoipa::path(post, path = "/v1/companies/{company}/admin-tokens", tag = "operator", params(("company" = String, Path)),
    request_body = NewToken,
    responses((status = 201, body = IssuedToken), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn admin_token(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    Json(body): Json<NewToken>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    caller.operator_or_admin_of(&company)?;
    Ok((
        StatusCode::CREATED,
        Json(state.tenants.issue_admin_token(&company, body.invalidate_previous, &caller.0.label(), now_ms()).await?),
    ))
}
