//! The one place agent errors become HTTP responses: RFC 9457 problem
//! details with a stable `code`. 5xx bodies never carry internals.

use crate::auth::AuthError;
use crate::credentials::CredentialError;
use crate::ledger::LedgerError;
use crate::loyalty::LoyaltyError;
use crate::tenants::TenantError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use idelta_ledger_node::client::ClientError;
use serde::Serialize;

/// An RFC 9457 problem.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the type.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// Stable machine name, also the last segment of `type`.
    pub code: String,
}

/// Errors of the agent's HTTP layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Returned when authentication fails.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Returned when the caller may not touch this tenant or resource.
    #[error("{0}")]
    Forbidden(String),
    /// Returned when a tenancy operation fails.
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// Returned when the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// Returned when an `Idempotency-Key` is reused for another request or is in flight.
    #[error("{0}")]
    Idempotency(String),
    /// Returned when the agent's database fails.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// Returned for an unknown route.
    #[error("{0}")]
    NotFound(String),
    /// Returned when a credential cannot be issued.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// Returned when a loyalty operation fails or the ledger refuses it.
    #[error(transparent)]
    Loyalty(#[from] LoyaltyError),
}

/// The problem codes of the ledger's loyalty refusals that the agent passes
/// on as they are (docs/loyalty.md); any other refusal is `ledger-refused`.
const LEDGER_CODES: [&str; 20] = [
    "quantity-below-sold",
    "self-dealing",
    "insufficient-balance",
    "sold-out",
    "cost-exceeds-max",
    "no-exchange-rate",
    "benefit-removed",
    "benefit-not-valid",
    "not-owner",
    "not-offered",
    "account-closed",
    "unknown-benefit",
    "unknown-unit",
    "unknown-token",
    "token-exists",
    "invalid-benefit-did",
    "malformed",
    "unauthorized",
    "sequence",
    "unknown-did",
];

fn loyalty_kind(e: &LoyaltyError) -> Kind {
    match e {
        LoyaltyError::Invalid(_) => Kind(StatusCode::BAD_REQUEST, "invalid", "Invalid input"),
        LoyaltyError::NotFound(_) => Kind(StatusCode::NOT_FOUND, "not-found", "Not found"),
        LoyaltyError::Refused { status, code, .. } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
            match LEDGER_CODES.iter().find(|c| *c == code) {
                Some(code) => Kind(status, code, "Refused by the ledger"),
                None => Kind(StatusCode::BAD_GATEWAY, "ledger-refused", "Ledger refused the write"),
            }
        }
        LoyaltyError::Unavailable(_) => {
            Kind(StatusCode::SERVICE_UNAVAILABLE, "ledger-unavailable", "Ledger unavailable")
        }
        LoyaltyError::Wallet(_) => Kind(StatusCode::CONFLICT, "holder-gone", "Wallet cannot sign"),
        LoyaltyError::Ledger(_) => Kind(StatusCode::BAD_GATEWAY, "ledger-unavailable", "Ledger unavailable"),
        LoyaltyError::Tenant(t) => ApiError::tenant_kind(t),
        _ => Kind(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
    }
}

struct Kind(StatusCode, &'static str, &'static str);

impl ApiError {
    fn kind(&self) -> Kind {
        match self {
            ApiError::Auth(AuthError::Unavailable) => Kind(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Try again"),
            ApiError::Auth(_) => Kind(StatusCode::UNAUTHORIZED, "unauthorized", "Not authenticated"),
            ApiError::Forbidden(_) => Kind(StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ApiError::BadRequest(_) => Kind(StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            ApiError::Idempotency(_) => Kind(StatusCode::CONFLICT, "idempotency-key", "Idempotency key conflict"),
            ApiError::NotFound(_) => Kind(StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Db(_) => Kind(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
            ApiError::Credential(c) => match c {
                CredentialError::Invalid(_) => {
                    Kind(StatusCode::BAD_REQUEST, "invalid-credential", "Invalid credential")
                }
                CredentialError::WrongIssuer(_) => Kind(StatusCode::FORBIDDEN, "wrong-issuer", "Not your issuer"),
                CredentialError::Tenant(t) => ApiError::tenant_kind(t),
                CredentialError::NotHeld(_) => Kind(StatusCode::CONFLICT, "holder-gone", "Holder wallet gone"),
                CredentialError::NoMatch(_) => {
                    Kind(StatusCode::UNPROCESSABLE_ENTITY, "no-matching-credential", "Nothing held answers the request")
                }
                CredentialError::Ledger(_) => Kind(StatusCode::BAD_GATEWAY, "ledger-unavailable", "Ledger unavailable"),
                CredentialError::KeyNotPublished(_) => {
                    Kind(StatusCode::SERVICE_UNAVAILABLE, "issuer-key-unavailable", "Issuer key not on the ledger")
                }
                _ => Kind(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
            },
            ApiError::Tenant(t) => ApiError::tenant_kind(t),
            ApiError::Loyalty(l) => loyalty_kind(l),
        }
    }

    fn tenant_kind(t: &TenantError) -> Kind {
        match t {
            TenantError::NotFound(_) => Kind(StatusCode::NOT_FOUND, "not-found", "Not found"),
            TenantError::Conflict(_) => Kind(StatusCode::CONFLICT, "conflict", "Conflict"),
            TenantError::Invalid(_) => Kind(StatusCode::BAD_REQUEST, "invalid", "Invalid input"),
            TenantError::Ledger(LedgerError::NotReady(_)) => {
                Kind(StatusCode::SERVICE_UNAVAILABLE, "operator-not-ready", "Operator cannot endorse yet")
            }
            TenantError::Ledger(LedgerError::Client(ClientError::Problem { .. })) => {
                Kind(StatusCode::BAD_GATEWAY, "ledger-refused", "Ledger refused the write")
            }
            TenantError::Ledger(_) => Kind(StatusCode::BAD_GATEWAY, "ledger-unavailable", "Ledger unavailable"),
            TenantError::Wallet(idelta_wallet::Error::NotFound(_)) => {
                Kind(StatusCode::NOT_FOUND, "not-found", "Not found")
            }
            _ => Kind(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Kind(status, code, title) = self.kind();
        let detail = if status.is_server_error()
            && status != StatusCode::SERVICE_UNAVAILABLE
            && status != StatusCode::BAD_GATEWAY
        {
            tracing::error!(error = %self, "request failed");
            "the agent failed; its operator has the details in the log".to_owned()
        } else {
            if status.is_server_error() {
                tracing::warn!(error = %self, "request failed");
            }
            self.to_string()
        };
        problem(status, code, title, detail)
    }
}

/// A problem response.
pub fn problem(status: StatusCode, code: &str, title: &str, detail: String) -> Response {
    let body = Problem {
        kind: format!("urn:idelta:problem:{code}"),
        title: title.into(),
        status: status.as_u16(),
        detail,
        code: code.into(),
    };
    (status, [(header::CONTENT_TYPE, "application/problem+json")], serde_json::to_vec(&body).unwrap_or_default())
        .into_response()
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}
