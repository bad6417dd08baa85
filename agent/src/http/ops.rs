//! Operations: liveness, readiness (database and ledger answer), and
//! Prometheus metrics.

use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(|| async { "ok" })).route("/readyz", get(ready)).route("/metrics", get(metrics))
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if let Err(e) = state.db.ping().await {
        tracing::warn!(error = %e, "not ready: database");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    }
    if let Err(e) = state.tenants.ledger().client().sth().await {
        tracing::warn!(error = %e, "not ready: ledger");
        return (StatusCode::SERVICE_UNAVAILABLE, "ledger unavailable");
    }
    (StatusCode::OK, "ready")
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
