//! Credential types over HTTP, public (no credentials): what a verifier or
//! a holder anywhere needs to read idelta's credentials.
//!
//! - `GET /contexts/v1`: idelta's JSON-LD context (`application/ld+json`),
//!   the bundled document byte for byte; its URL
//!   `https://idelta.example/contexts/v1` names it, and verification uses
//!   the bundled copy, never this one.
//! - `GET /schemas/{type}`: a type's JSON Schema
//!   (`application/schema+json`), byte for byte as bundled.
//! - `GET /v1/credential-types`: every type with its context, schema URL,
//!   the ledger id of its schema object, and its SD-JWT VC `vct`.

use super::error::{ApiError, Problem};
use super::extract::Path;
use super::AppState;
use crate::credentials::schemas::schema_ledger_id;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use idelta_issuer::data_integrity::contexts;
use idelta_issuer::types;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(context)).routes(routes!(schema)).routes(routes!(list))
}

/// One credential type.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialTypeView {
    /// The type's name, as listed in a credential's `type`.
    #[serde(rename = "type")]
    pub name: &'static str,
    /// The JSON-LD context defining it and its claims.
    pub context: &'static str,
    /// The schema's URL (`credentialSchema.id`), served at `schemaPath`.
    pub schema: &'static str,
    /// Where this agent serves the schema.
    pub schema_path: String,
    /// The ledger object holding the schema (`{endorser}/schema/{type}`).
    pub ledger_schema_id: String,
    /// The `vct` of an SD-JWT VC of this type.
    pub vct: &'static str,
}

/// The credential types.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CredentialTypes {
    /// Every type idelta issues with a schema.
    pub items: Vec<CredentialTypeView>,
}

/// idelta's JSON-LD context, as bundled.
#[utoipa::path(get, path = "/contexts/v1", tag = "public",
    responses((status = 200, description = "The JSON-LD context", content_type = "application/ld+json")))]
async fn context() -> Response {
    let document = contexts::context_document(contexts::IDELTA_V1).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/ld+json")], document).into_response()
}

/// A credential type's JSON Schema (2020-12), as bundled.
#[utoipa::path(get, path = "/schemas/{type}", tag = "public",
    params(("type" = String, Path, description = "A credential type, e.g. EmployeeCredential")),
    responses((status = 200, description = "The JSON Schema", content_type = "application/schema+json"),
        (status = 404, body = Problem)))]
async fn schema(Path(name): Path<String>) -> Result<Response, ApiError> {
    let t = types::by_name(&name).ok_or_else(|| ApiError::NotFound(format!("no credential type `{name}`")))?;
    Ok(([(header::CONTENT_TYPE, "application/schema+json")], t.schema).into_response())
}

/// The credential types, their contexts, schemas and ledger objects.
#[utoipa::path(get, path = "/v1/credential-types", tag = "public",
    responses((status = 200, body = CredentialTypes)))]
async fn list(State(state): State<AppState>) -> Json<CredentialTypes> {
    let endorser = state.tenants.ledger().endorser();
    let items = types::TYPES
        .iter()
        .map(|t| CredentialTypeView {
            name: t.name,
            context: t.context(),
            schema: t.schema_id,
            schema_path: format!("/schemas/{}", t.name),
            ledger_schema_id: schema_ledger_id(endorser, t),
            vct: t.schema_id,
        })
        .collect();
    Json(CredentialTypes { items })
}
