//! The agent's HTTP API: REST with JSON, RFC 9457 problem details, an
//! OpenAPI 3.1 document at `/openapi.json` and an offline interactive
//! reference at `/docs`, cursor pagination, `Idempotency-Key` on creating
//! writes, per-tenant server-sent events, and operations endpoints.
//! Handlers are thin: extract, check scope, call one service method.

mod companies;
mod employees;
pub mod error;
mod events;
pub mod extract;
mod holder;
mod idempotency;
mod loyalty;
mod me;
mod ops;
mod presentation_requests;
mod status;
mod types;
mod vc_api;
mod webhooks;

use crate::auth::Authenticator;
use crate::db::Db;
use crate::events::Events;
use crate::tenants::Tenants;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Companies and employees.
    pub tenants: Arc<Tenants>,
    /// Issuing and verifying credentials (W3C VC API).
    pub credentials: Arc<crate::credentials::Credentials>,
    /// Bearer credentials.
    pub auth: Arc<Authenticator>,
    /// The event bus.
    pub events: Arc<Events>,
    /// The loyalty marketplace.
    pub loyalty: Arc<crate::loyalty::Loyalty>,
    /// Webhook registrations and delivery.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    /// The agent database.
    pub db: Db,
    /// Prometheus metrics.
    pub metrics: PrometheusHandle,
}

/// The edge's clock, read once per request (and by the command line):
/// milliseconds since the epoch.
#[allow(clippy::disallowed_methods)]
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "idelta agent", description = "Multi-tenant SSI agent: company super-wallets, employee sub-wallets, tokens and events."),
    modifiers(&BearerAuth),
    tags(
        (name = "operator", description = "The consortium operator (API key)."),
        (name = "company admin", description = "A company's admin (company-admin token)."),
        (name = "employee", description = "An employee (employee token)."),
        (name = "any caller", description = "Any authenticated caller."),
        (name = "public", description = "Anyone, without credentials (published status lists, credential types, contexts and schemas)."),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The operator API key, or a company-admin or employee JWT."))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().split_for_parts().1
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(companies::router())
        .merge(employees::router())
        .merge(me::router())
        .merge(loyalty::router())
        .merge(events::router())
        .merge(webhooks::router())
        .merge(vc_api::router())
        .merge(holder::router())
        .merge(presentation_requests::router())
        .merge(status::router())
        .merge(types::router())
}

/// Counts requests and their latency by route and status.
async fn track(request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("idelta_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("idelta_http_request_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The agent's routes, with `/openapi.json`, `/docs` and operations.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api_routes().split_for_parts();
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", doc);
    api.merge(ops::router())
        .merge(crate::web::router())
        .layer(axum::middleware::from_fn(track))
        .fallback(
            |uri: axum::http::Uri| async move { error::ApiError::NotFound(format!("no route for {}", uri.path())) },
        )
        .with_state(state)
        .merge(docs)
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
