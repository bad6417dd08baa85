//! The one place ledger errors become HTTP responses: RFC 9457 problem
//! details (`application/problem+json`) with a stable `code` member a
//! client can match. 5xx bodies never carry internals.

use crate::error::{NodeError, Rejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Errors of the HTTP layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Returned when the node refuses or fails an operation.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// Returned when a path or query parameter is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// Returned when a request body exceeds the limit (bytes).
    #[error("the request body exceeds {0} bytes")]
    TooLarge(usize),
    /// Returned for an unknown route or object.
    #[error("{0}")]
    NotFound(String),
}

/// An RFC 9457 problem.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the type.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// Stable machine name, also the last segment of `type`.
    pub code: &'static str,
}

fn rejection_status(r: &Rejection) -> (StatusCode, &'static str, &'static str) {
    use Rejection::*;
    match r {
        Malformed(_) => (StatusCode::BAD_REQUEST, "malformed-transaction", "Malformed transaction"),
        BadSignature(_) => (StatusCode::FORBIDDEN, "bad-signature", "Signature not accepted"),
        EndorsementRequired { .. } => (StatusCode::FORBIDDEN, "endorsement-required", "Endorsement required"),
        InvalidEndorser { .. } => (StatusCode::FORBIDDEN, "invalid-endorser", "Endorser not accepted"),
        Unauthorized(_) => (StatusCode::FORBIDDEN, "unauthorized", "Not authorised"),
        NotSelfCertifying(_) => {
            (StatusCode::FORBIDDEN, "not-self-certifying", "DID not derived from its inception key")
        }
        Sequence { .. } => (StatusCode::CONFLICT, "sequence", "Sequence number out of order"),
        AlreadyExists(_) => (StatusCode::CONFLICT, "already-exists", "DID already exists"),
        LastTrustee => (StatusCode::CONFLICT, "last-trustee", "Last trustee"),
        NoRole(_) => (StatusCode::CONFLICT, "no-role", "No role to revoke"),
        GenesisMisplaced => (StatusCode::CONFLICT, "genesis-misplaced", "Genesis not accepted"),
        UnknownDid(_) => (StatusCode::NOT_FOUND, "unknown-did", "Unknown DID"),
        Deactivated(_) => (StatusCode::GONE, "deactivated", "DID deactivated"),
        InvalidDocument(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid-document", "Invalid DID document"),
        NoGenesis => (StatusCode::SERVICE_UNAVAILABLE, "no-genesis", "Ledger not initialised"),
        InsufficientBalance { .. } => (StatusCode::CONFLICT, "insufficient-balance", "Insufficient balance"),
        SoldOut(_) => (StatusCode::CONFLICT, "sold-out", "Sold out"),
        CostExceedsMax { .. } => (StatusCode::CONFLICT, "cost-exceeds-max", "Cost exceeds maxCost"),
        NoExchangeRate(_) => (StatusCode::CONFLICT, "no-exchange-rate", "No exchange rate"),
        BenefitRemoved(_) => (StatusCode::GONE, "benefit-removed", "Benefit removed"),
        BenefitNotValid { .. } => (StatusCode::CONFLICT, "benefit-not-valid", "Benefit outside its validity"),
        NotOwner { .. } => (StatusCode::FORBIDDEN, "not-owner", "Not the owner"),
        NotOffered(_) => (StatusCode::CONFLICT, "not-offered", "Not offered"),
        AccountClosed(_) => (StatusCode::CONFLICT, "account-closed", "Account closed"),
        UnknownBenefit(_) => (StatusCode::NOT_FOUND, "unknown-benefit", "Unknown benefit"),
        UnknownUnit { .. } => (StatusCode::NOT_FOUND, "unknown-unit", "Unknown unit"),
        UnknownToken(_) => (StatusCode::NOT_FOUND, "unknown-token", "Unknown token"),
        TokenExists(_) => (StatusCode::CONFLICT, "token-exists", "Token exists"),
        InvalidBenefitDid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid-benefit-did", "Invalid benefit DID"),
        QuantityBelowSold { .. } => (StatusCode::CONFLICT, "quantity-below-sold", "Quantity below units sold"),
        SelfDealing(_) => (StatusCode::CONFLICT, "self-dealing", "Trading with oneself"),
    }
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str, String) {
        match self {
            ApiError::Node(NodeError::Rejected(r)) => {
                let (status, code, title) = rejection_status(r);
                (status, code, title, r.to_string())
            }
            ApiError::Node(NodeError::OutOfRange(m)) => {
                (StatusCode::BAD_REQUEST, "out-of-range", "Out of range", m.clone())
            }
            ApiError::Node(NodeError::Unavailable(_) | NodeError::Storage(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Ledger unavailable",
                "the ledger cannot accept writes right now; retry later".into(),
            ),
            ApiError::Node(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "the node failed; its operator has the details in the log".into(),
            ),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request", m.clone()),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not-found", "Not found", m.clone()),
            ApiError::TooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Request too large", self.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, title, detail) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let problem =
            Problem { kind: format!("urn:idelta:problem:{code}"), title, status: status.as_u16(), detail, code };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response()
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
