//! The ledger node's HTTP API (design.md §9): DID resolution through the
//! Universal Resolver binding, the RFC 6962-style log endpoints, and what a
//! client needs to write (transaction submission, author sequence numbers,
//! node key, objects). Handlers are thin: extract, call one [`Node`]
//! method, map the error in [`error`].

pub mod error;
mod extract;
mod identifiers;
mod log;
mod loyalty;
mod tx;

use crate::node::Node;
use axum::routing::get;
use axum::Router;
use error::ApiError;

/// The node's API routes alone, to be merged into a larger app (as
/// `idelta up` does with the agent) that brings its own fallback.
pub fn routes(node: Node) -> Router {
    Router::new()
        .merge(identifiers::router())
        .merge(log::router())
        .merge(loyalty::router())
        .merge(tx::router())
        .with_state(node)
}

/// The node's routes with `/healthz`, a problem-details fallback and
/// request tracing: what `idelta ledger serve` serves.
pub fn router(node: Node) -> Router {
    routes(node)
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|uri: axum::http::Uri| async move { ApiError::NotFound(format!("no route for {}", uri.path())) })
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
