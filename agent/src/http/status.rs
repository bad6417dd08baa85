//! Credential status over HTTP (issue 4 item 5):
//!
//! - `POST /vc-api/credentials/status`: the W3C VC API "update status"
//!   call, `{ credentialId, credentialStatus: [{ type, status }] }`, for the
//!   admin of the issuing company only; another company's credential is
//!   not found.
//! - `GET /v1/companies/{company}/status-lists`: the company's lists with
//!   what is still pending publication and why (the visible side of "never
//!   lost").
//! - `GET /status-lists/{company}/{list}`: the published list, public
//!   (verifiers anywhere fetch it): a `BitstringStatusListCredential`
//!   (`application/vc+ld+json`), or a Status List Token
//!   (`application/statuslist+jwt`) for Token Status Lists.

use super::error::{ApiError, Problem};
use super::extract::{Caller, Json, Path};
use super::{now_ms, AppState};
use crate::auth::Principal;
use crate::credentials::status::{ListInfo, Served, StatusChange, StatusUpdated};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use idelta_revocation::token_status::STATUS_LIST_JWT_MEDIA_TYPE;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(update_status)).routes(routes!(lists)).routes(routes!(served))
}

/// One requested status.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestedStatus {
    /// `BitstringStatusListEntry` (Data Integrity) or `TokenStatusList`
    /// (SD-JWT VC).
    #[serde(rename = "type")]
    pub kind: String,
    /// `revoked` (final), `suspended`, or `valid` to reinstate.
    pub status: String,
}

/// A status update (VC API "Update Status").
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateStatusRequest {
    /// The `credentialId` the issue call answered (or the credential's own `id`).
    pub credential_id: String,
    /// Exactly one status to set.
    pub credential_status: Vec<RequestedStatus>,
}

/// Revoke, suspend or reinstate a credential the caller's company issued.
/// The change is recorded at once and published on the ledger in the next
/// batch; `pending` says whether that has happened yet.
#[utoipa::path(post, path = "/vc-api/credentials/status", tag = "company admin", request_body = UpdateStatusRequest,
    responses((status = 200, body = StatusUpdated), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn update_status(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Json(body): Json<UpdateStatusRequest>,
) -> Result<Json<StatusUpdated>, ApiError> {
    let Principal::CompanyAdmin { company } = &caller.0 else {
        return Err(ApiError::Forbidden("only a company admin may change the status of its credentials".into()));
    };
    let [requested] = body.credential_status.as_slice() else {
        return Err(ApiError::BadRequest("credentialStatus must hold exactly one {type, status}".into()));
    };
    if !["BitstringStatusListEntry", "TokenStatusList"].contains(&requested.kind.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "credentialStatus[0].type `{}` is not BitstringStatusListEntry or TokenStatusList",
            requested.kind
        )));
    }
    let change: StatusChange = requested.status.parse()?;
    let updated = state.credentials.status().update_status(company, &body.credential_id, change, now_ms()).await?;
    Ok(Json(updated))
}

/// The company's status lists: allocation, publication, and the changes
/// still pending with the last publication error.
#[utoipa::path(get, path = "/v1/companies/{company}/status-lists", tag = "company admin",
    params(("company" = String, Path)),
    responses((status = 200, body = Vec<ListInfo>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn lists(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
) -> Result<Json<Vec<ListInfo>>, ApiError> {
    caller.admin_of(&company)?;
    Ok(Json(state.credentials.status().lists(&company).await?))
}

/// A published status list, for anyone: a signed
/// `BitstringStatusListCredential`, or a Status List Token
/// (`application/statuslist+jwt`) for Token Status Lists, whatever the
/// `Accept` header asks (the list's kind decides). Short-lived
/// (`validUntil` / `exp` five minutes ahead); the ledger object
/// `{did}/statusList/{list}` is the authoritative copy.
#[utoipa::path(get, path = "/status-lists/{company}/{list}", tag = "public",
    params(("company" = String, Path), ("list" = String, Path)),
    responses((status = 200, description = "The status list credential or token"), (status = 404, body = Problem)))]
async fn served(
    state: axum::extract::State<AppState>,
    Path((company, list)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let served = state.credentials.served_list(&company, &list, now_ms()).await?;
    let cache = [(header::CACHE_CONTROL, "public, max-age=60")];
    match served {
        Served::Token(jwt) => {
            Ok((StatusCode::OK, [(header::CONTENT_TYPE, STATUS_LIST_JWT_MEDIA_TYPE)], cache, jwt).into_response())
        }
        Served::Credential(vc) => Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/vc+ld+json")],
            cache,
            serde_json::to_string(&vc).unwrap_or_default(),
        )
            .into_response()),
    }
}
