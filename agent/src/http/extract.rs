//! Extractors: who is calling (bearer credential), JSON bodies, paths and
//! queries whose rejections are problem details, and the scope checks every
//! tenant-scoped handler makes before doing anything.

use super::error::ApiError;
use super::AppState;
use crate::auth::Principal;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use serde::Deserialize;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(crate::auth::AuthError::Missing)?;
        let credential = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(crate::auth::AuthError::Missing)?;
        let principal = state.auth.authenticate(credential.trim(), super::now_ms() / 1000).await?;
        Ok(Caller(principal))
    }
}

impl Caller {
    /// Only the operator.
    pub fn operator(&self) -> Result<(), ApiError> {
        match self.0 {
            Principal::Operator => Ok(()),
            _ => Err(ApiError::Forbidden("only the operator may do this".into())),
        }
    }

    /// The operator, or the admin of `company`.
    pub fn operator_or_admin_of(&self, company: &str) -> Result<(), ApiError> {
        match &self.0 {
            Principal::Operator => Ok(()),
            Principal::CompanyAdmin { company: c } if c == company => Ok(()),
            _ => Err(forbidden_tenant()),
        }
    }

    /// Only the admin of `company`.
    pub fn admin_of(&self, company: &str) -> Result<(), ApiError> {
        match &self.0 {
            Principal::CompanyAdmin { company: c } if c == company => Ok(()),
            _ => Err(forbidden_tenant()),
        }
    }

    /// Only the employee `employee` of `company`.
    pub fn employee(&self, company: &str, employee: &str) -> Result<(), ApiError> {
        match &self.0 {
            Principal::Employee { company: c, employee: e } if c == company && e == employee => Ok(()),
            _ => Err(forbidden_tenant()),
        }
    }
}

/// The same answer for every resource outside the caller's scope, so a
/// refusal does not reveal whether the resource exists.
fn forbidden_tenant() -> ApiError {
    ApiError::Forbidden("this resource is outside the scope of your credentials".into())
}

/// `axum::Json` answering bad input with a problem.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` answering bad input with a problem.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// `axum::extract::Query` answering bad input with a problem.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Cursor pagination parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The `Idempotency-Key` header of a write.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub String);

impl OptionalFromRequestParts<AppState> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Option<Self>, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else { return Ok(None) };
        let key = value.to_str().map_err(|_| ApiError::BadRequest("Idempotency-Key must be ASCII".into()))?;
        if key.is_empty() || key.len() > 255 {
            return Err(ApiError::BadRequest("Idempotency-Key must be 1 to 255 characters".into()));
        }
        Ok(Some(IdempotencyKey(key.to_owned())))
    }
}
