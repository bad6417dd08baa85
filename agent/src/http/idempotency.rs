//! `Idempotency-Key` on writes that create things: the first answer to a
//! key is stored and replayed for a retry of the same request; the same
//! key with another request is refused, and so is a retry while the first
//! is still running.

use super::error::ApiError;
use super::extract::IdempotencyKey;
use super::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::future::Future;

/// Runs `run` at most once per `(scope, key)`.
pub async fn once<T, F, Fut>(
    state: &AppState,
    scope: &str,
    key: Option<IdempotencyKey>,
    request: &impl Serialize,
    now_ms: i64,
    run: F,
) -> Result<Response, ApiError>
where
    T: Serialize,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, T), ApiError>>,
{
    let Some(IdempotencyKey(key)) = key else {
        let (status, body) = run().await?;
        return Ok((status, axum::Json(body)).into_response());
    };
    let hash = hex::encode(Sha256::digest(serde_json::to_vec(request).unwrap_or_default()));
    if let Some(stored) = state.db.claim_idempotency_key(scope, &key, &hash, now_ms).await? {
        if stored.request_hash != hash {
            return Err(ApiError::Idempotency("this Idempotency-Key was used for a different request".into()));
        }
        if stored.status == 0 {
            return Err(ApiError::Idempotency("a request with this Idempotency-Key is still running".into()));
        }
        let status =
            u16::try_from(stored.status).ok().and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::OK);
        return Ok((status, [("content-type", "application/json"), ("idempotent-replayed", "true")], stored.body)
            .into_response());
    }
    match run().await {
        Ok((status, body)) => {
            let json = serde_json::to_string(&body).unwrap_or_default();
            state.db.complete_idempotency_key(scope, &key, status.as_u16(), &json).await?;
            Ok((status, [("content-type", "application/json")], json).into_response())
        }
        Err(e) => {
            state.db.release_idempotency_key(scope, &key).await?;
            Err(e)
        }
    }
}
