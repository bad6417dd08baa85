//! `/v1/presentation-requests`: a company admin, acting as a verifier,
//! creates presentation requests (OpenID4VP 1.0 DCQL query, nonce, domain)
//! and checks the responses holders give, with a report of every check.
//! A company reaches only its own requests.

use super::error::{ApiError, Problem};
use super::extract::{Caller, Json, Path};
use super::vc_api::VerifyResponse;
use super::{now_ms, AppState};
use crate::auth::Principal;
use crate::credentials::requests::{PresentationRequest, Verifier};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create)).routes(routes!(get_one)).routes(routes!(respond))
}

/// A presentation request to make.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPresentationRequest {
    /// The DCQL query (OpenID4VP 1.0 §6; the subset in docs/credentials.md).
    #[schema(value_type = Object)]
    pub dcql_query: Value,
    /// The verifier identifier presentations must be bound to; defaults to the company's DID.
    #[serde(default)]
    pub domain: Option<String>,
}

/// A holder's response.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresentationResponse {
    /// Per credential query id, the presentations (OpenID4VP 1.0 §8.1).
    #[schema(value_type = Object)]
    pub vp_token: Value,
}

/// The verdict on a response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResponseVerdict {
    /// Every check (`request.expiry`, `request.query`, `request.unused`,
    /// and `vp_token.<id>[<i>].<check>` per presentation).
    #[serde(flatten)]
    pub verdict: VerifyResponse,
    /// Per credential query, the claims of each presented credential; empty unless verified.
    #[schema(value_type = Object)]
    pub presented: BTreeMap<String, Vec<Value>>,
}

fn verifier_company(caller: &Caller) -> Result<&str, ApiError> {
    match &caller.0 {
        Principal::CompanyAdmin { company } => Ok(company),
        _ => Err(ApiError::Forbidden("only a company admin makes presentation requests, for its company".into())),
    }
}

/// Create a presentation request: the query is validated, a fresh nonce
/// drawn; it can be answered once, within ten minutes.
#[utoipa::path(post, path = "/v1/presentation-requests", tag = "company admin", request_body = NewPresentationRequest,
    responses((status = 201, body = PresentationRequest), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn create(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Json(body): Json<NewPresentationRequest>,
) -> Result<(StatusCode, Json<PresentationRequest>), ApiError> {
    let company = verifier_company(&caller)?;
    let verifier = Verifier::new(&state.db, &state.events, &state.credentials);
    let request = verifier.create(company, &body.dcql_query, body.domain.as_deref(), now_ms()).await?;
    Ok((StatusCode::CREATED, Json(request)))
}

/// One of the company's presentation requests.
#[utoipa::path(get, path = "/v1/presentation-requests/{request}", tag = "company admin", params(("request" = String, Path)),
    responses((status = 200, body = PresentationRequest), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_one(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PresentationRequest>, ApiError> {
    let company = verifier_company(&caller)?;
    Ok(Json(Verifier::new(&state.db, &state.events, &state.credentials).get(company, &id).await?))
}

/// Check a holder's response to the request: every presentation verified
/// against the request's nonce and domain, the query satisfied, the
/// request unexpired and answered only once. 200 whatever the verdict.
#[utoipa::path(post, path = "/v1/presentation-requests/{request}/responses", tag = "company admin",
    params(("request" = String, Path)), request_body = PresentationResponse,
    responses((status = 200, body = ResponseVerdict), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn respond(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<PresentationResponse>,
) -> Result<Json<ResponseVerdict>, ApiError> {
    let company = verifier_company(&caller)?;
    let verifier = Verifier::new(&state.db, &state.events, &state.credentials);
    let checked = verifier.check_response(company, &id, &body.vp_token, now_ms()).await?;
    Ok(Json(ResponseVerdict { verdict: checked.report.into(), presented: checked.presented }))
}
