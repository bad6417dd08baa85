//! `/v1/me/credentials` and `/v1/me/presentations`: an employee lists,
//! reads and deletes the credentials in its own sub-wallet, and answers a
//! verifier's presentation request with them. Only an employee token
//! reaches these routes, and it only ever names its own sub-wallet.

use super::error::{ApiError, Problem};
use super::extract::{Caller, Json, PageQuery, Path, Query};
use super::{now_ms, AppState};
use crate::auth::Principal;
use crate::credentials::holding::{HeldView, PresentationAnswer, PresentationAsk};
use crate::tenants::Page;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(get_one, delete_one)).routes(routes!(present))
}

/// The calling employee's company and id.
fn employee(caller: &Caller) -> Result<(&str, &str), ApiError> {
    match &caller.0 {
        Principal::Employee { company, employee } => Ok((company, employee)),
        _ => Err(ApiError::Forbidden("only an employee holds credentials: use an employee token".into())),
    }
}

/// List the credentials the calling employee holds, oldest first.
#[utoipa::path(get, path = "/v1/me/credentials", tag = "employee", params(PageQuery),
    responses((status = 200, body = Page<HeldView>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<HeldView>>, ApiError> {
    let (company, employee) = employee(&caller)?;
    Ok(Json(state.credentials.held(company, employee, q.cursor.as_deref(), q.limit).await?))
}

/// One credential the calling employee holds.
#[utoipa::path(get, path = "/v1/me/credentials/{credential}", tag = "employee", params(("credential" = String, Path)),
    responses((status = 200, body = HeldView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_one(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<HeldView>, ApiError> {
    let (company, employee) = employee(&caller)?;
    Ok(Json(state.credentials.held_one(company, employee, &id).await?))
}

/// Delete a credential from the calling employee's sub-wallet (the issuer
/// does not revoke it by this).
#[utoipa::path(delete, path = "/v1/me/credentials/{credential}", tag = "employee", params(("credential" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn delete_one(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (company, employee) = employee(&caller)?;
    state.credentials.delete_held(&state.events, company, employee, &id, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Answer a presentation request (its DCQL query, nonce and domain as the
/// verifier gave them) with the calling employee's credentials: OpenID4VP
/// `vp_token`, one presentation per credential, bound to nonce and domain.
#[utoipa::path(post, path = "/v1/me/presentations", tag = "employee", request_body = PresentationAsk,
    responses((status = 200, body = PresentationAnswer), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn present(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Json(body): Json<PresentationAsk>,
) -> Result<Json<PresentationAnswer>, ApiError> {
    let (company, employee) = employee(&caller)?;
    Ok(Json(state.credentials.present(company, employee, &body, now_ms()).await?))
}
