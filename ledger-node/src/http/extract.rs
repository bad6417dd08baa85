//! Extractors whose rejections are problem details, not axum's plain text.

use super::error::ApiError;
use axum::extract::FromRequestParts;

/// `axum::extract::Query` answering bad input with a problem.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` answering bad input with a problem.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);
