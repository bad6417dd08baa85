//! `GET /1.0/identifiers/{did}`: DID resolution, DIF Universal Resolver
//! HTTP binding. Errors are resolution results with `didResolutionMetadata.error`,
//! as resolver clients expect, not problem details.

use super::extract::{Path, Query};
use crate::node::{Node, ResolveError, ResolveOptions};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use idelta_types::resolution::{ResolutionMetadata, ResolutionResult, RESOLUTION_MEDIA_TYPE};
use serde::Deserialize;

pub(super) fn router() -> Router<Node> {
    Router::new().route("/1.0/identifiers/{did}", get(resolve))
}

#[derive(Deserialize)]
struct Options {
    #[serde(rename = "versionId")]
    version_id: Option<String>,
    #[serde(rename = "versionTime")]
    version_time: Option<String>,
}

/// The bare-document media type the client asked for, if it asked for one
/// rather than a resolution result.
fn wanted_document_type(headers: &HeaderMap) -> Option<&'static str> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())?;
    if accept.contains("application/did+ld+json") {
        Some("application/did+ld+json")
    } else if accept.contains("application/did+json") {
        Some("application/did+json")
    } else {
        None
    }
}

async fn resolve(
    State(node): State<Node>,
    Path(did): Path<String>,
    Query(q): Query<Options>,
    headers: HeaderMap,
) -> Response {
    let options = ResolveOptions { version_id: q.version_id, version_time: q.version_time };
    let answer = match wanted_document_type(&headers) {
        Some(media_type) => node.resolve(&did, &options).map(|resolution| {
            let status = if resolution.deactivated { StatusCode::GONE } else { StatusCode::OK };
            let body = serde_json::to_vec(&resolution.result.did_document).unwrap_or_default();
            (status, [(header::CONTENT_TYPE, media_type)], body).into_response()
        }),
        None => node.resolve_serialized(&did, &options).map(|serialized| {
            let status = if serialized.deactivated { StatusCode::GONE } else { StatusCode::OK };
            let body = axum::body::Body::from(serialized.body.clone());
            (status, [(header::CONTENT_TYPE, RESOLUTION_MEDIA_TYPE)], body).into_response()
        }),
    };
    answer.unwrap_or_else(|e| {
        let status = match e {
            ResolveError::NotFound(_) => StatusCode::NOT_FOUND,
            ResolveError::MethodNotSupported(_) => StatusCode::NOT_IMPLEMENTED,
            ResolveError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let message = match &e {
            ResolveError::Internal(detail) => {
                tracing::error!(%detail, "resolution failed");
                "the node failed to build a proof".to_owned()
            }
            other => other.to_string(),
        };
        let result = ResolutionResult {
            did_document: None,
            did_document_metadata: Default::default(),
            did_resolution_metadata: ResolutionMetadata {
                content_type: None,
                error: Some(e.code().into()),
                error_message: Some(message),
            },
        };
        respond(status, &result)
    })
}

fn respond(status: StatusCode, result: &ResolutionResult) -> Response {
    match serde_json::to_vec(result) {
        Ok(body) => (status, [(header::CONTENT_TYPE, RESOLUTION_MEDIA_TYPE)], body).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
