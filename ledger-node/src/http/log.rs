//! `/v1/log/*`: signed tree heads, entries and proofs (RFC 6962 §4).

use super::error::ApiError;
use super::extract::{Path, Query};
use crate::node::Node;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use idelta_types::log::{ConsistencyProof, InclusionProof, LogEntry, SignedTreeHead};
use serde::Deserialize;

pub(super) fn router() -> Router<Node> {
    Router::new()
        .route("/v1/log/sth", get(sth))
        .route("/v1/log/entries/{leaf_index}", get(entry))
        .route("/v1/log/proof/inclusion", get(inclusion))
        .route("/v1/log/proof/consistency", get(consistency))
}

async fn sth(State(node): State<Node>) -> Json<SignedTreeHead> {
    Json((*node.sth()).clone())
}

async fn entry(State(node): State<Node>, Path(index): Path<u64>) -> Result<Json<LogEntry>, ApiError> {
    Ok(Json(node.entry(index)?))
}

#[derive(Deserialize)]
struct InclusionQuery {
    leaf_index: u64,
    tree_size: u64,
}

async fn inclusion(
    State(node): State<Node>,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<InclusionProof>, ApiError> {
    Ok(Json(node.inclusion_proof(q.leaf_index, q.tree_size)?))
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    first: u64,
    second: u64,
}

async fn consistency(
    State(node): State<Node>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    Ok(Json(node.consistency_proof(q.first, q.second)?))
}
