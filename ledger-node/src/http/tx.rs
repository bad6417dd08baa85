//! Writing: transaction submission, and what an author needs to write
//! (its sequence number, the node key, objects).

use super::error::ApiError;
use super::extract::{Path, Query};
use crate::node::{AuthorInfo, Node, NodeInfo, ObjectView};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use idelta_types::log::Receipt;
use idelta_types::tx::MAX_TX_BYTES;
use idelta_types::Did;
use serde::Deserialize;

/// Largest request body read; admission refuses transactions over
/// `MAX_TX_BYTES` with a precise message, this only bounds the read.
pub(super) const MAX_BODY_BYTES: usize = 2 * MAX_TX_BYTES;

pub(super) fn router() -> Router<Node> {
    Router::new()
        .route("/v1/transactions", post(submit).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)))
        .route("/v1/authors/{did}", get(author))
        .route("/v1/node", get(info))
        .route("/v1/objects/{owner}/{kind}/{name}", get(object))
}

/// The body is parsed by admission, which names what is malformed.
async fn submit(
    State(node): State<Node>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(MAX_BODY_BYTES),
        _ => ApiError::BadRequest(e.body_text()),
    })?;
    Ok((StatusCode::CREATED, Json(node.submit_json(&body).await?)))
}

async fn author(State(node): State<Node>, Path(did): Path<String>) -> Result<Json<AuthorInfo>, ApiError> {
    let did: Did = did.parse().map_err(|e: idelta_types::Error| ApiError::BadRequest(e.to_string()))?;
    Ok(Json(node.author(&did)))
}

async fn info(State(node): State<Node>) -> Json<NodeInfo> {
    Json(node.info())
}

#[derive(Deserialize)]
struct VersionQuery {
    version: Option<u64>,
}

async fn object(
    State(node): State<Node>,
    Path((owner, kind, name)): Path<(String, String, String)>,
    Query(q): Query<VersionQuery>,
) -> Result<Json<ObjectView>, ApiError> {
    let id = format!("{owner}/{kind}/{name}");
    node.object(&id, q.version).map(Json).ok_or_else(|| {
        ApiError::NotFound(format!("no object {id}{}", q.version.map(|v| format!(" version {v}")).unwrap_or_default()))
    })
}
