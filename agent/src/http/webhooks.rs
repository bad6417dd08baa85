//! `/v1/companies/{company}/webhooks`: a company admin registers, lists
//! and removes the URLs its events are POSTed to (see
//! [`crate::webhooks`] for delivery and signatures).

use super::error::{ApiError, Problem};
use super::extract::{Caller, IdempotencyKey, Json, PageQuery, Path, Query};
use super::{idempotency, now_ms, AppState};
use crate::tenants::{Page, TenantError};
use crate::webhooks::{Webhook, WebhookCreated, WebhookError, WebhookUrl};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(remove))
}

/// A webhook to register.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `http://` or `https://` URL, at most 2048 characters.
    pub url: String,
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Invalid(why) => ApiError::Tenant(TenantError::Invalid(why)),
            WebhookError::NotFound => ApiError::Tenant(TenantError::NotFound("webhook")),
            WebhookError::CompanyNotFound => ApiError::Tenant(TenantError::NotFound("company")),
            WebhookError::Db(e) => ApiError::Db(e),
        }
    }
}

/// Register a webhook: every event of the company is POSTed to `url`,
/// signed with `secret` (`Idelta-Signature`). The secret is shown only here.
#[utoipa::path(post, path = "/v1/companies/{company}/webhooks", tag = "company admin", params(("company" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = NewWebhook,
    responses((status = 201, body = WebhookCreated), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn create(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    key: Option<IdempotencyKey>,
    Json(body): Json<NewWebhook>,
) -> Result<Response, ApiError> {
    caller.admin_of(&company)?;
    let url: WebhookUrl = body.url.parse()?;
    let now = now_ms();
    let actor = caller.0.label();
    idempotency::once(&state, &format!("{company}/webhooks"), key, &body, now, || async {
        Ok((StatusCode::CREATED, state.webhooks.create(&company, &url, &actor, now).await?))
    })
    .await
}

/// List a company's webhooks, oldest first (without secrets).
#[utoipa::path(get, path = "/v1/companies/{company}/webhooks", tag = "company admin", params(("company" = String, Path), PageQuery),
    responses((status = 200, body = Page<Webhook>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<Webhook>>, ApiError> {
    caller.admin_of(&company)?;
    Ok(Json(state.webhooks.list(&company, q.cursor.as_deref(), q.limit).await?))
}

/// Remove a webhook: nothing more is sent to it, pending retries included.
#[utoipa::path(delete, path = "/v1/companies/{company}/webhooks/{webhook}", tag = "company admin",
    params(("company" = String, Path), ("webhook" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn remove(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path((company, webhook)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.admin_of(&company)?;
    state.webhooks.remove(&company, &webhook, &caller.0.label(), now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}
