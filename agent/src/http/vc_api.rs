//! The W3C VC API paths of design.md §9 (VC API, "Issuing" and
//! "Verifying"): `POST /vc-api/credentials/issue`,
//! `/vc-api/credentials/verify` and `/vc-api/presentations/verify`.
//!
//! The bearer token chooses the issuing tenant: only a company admin may
//! issue, and only as its own company. Any authenticated caller may verify.
//! Verification answers 200 whatever the verdict; `verified` is the AND of
//! every check, `errors` the checks that failed, and `report` the full
//! per-check report.

use super::error::{ApiError, Problem};
use super::extract::{Caller, IdempotencyKey, Json};
use super::{idempotency, now_ms, AppState};
use crate::auth::Principal;
use crate::credentials::holding::SD_JWT_DATA_PREFIX;
use crate::credentials::Securing;
use axum::http::StatusCode;
use axum::response::Response;
use idelta_issuer::data_integrity::Cryptosuite;
use idelta_verifier::Report;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(issue)).routes(routes!(verify_credential)).routes(routes!(verify_presentation))
}

/// Options of an issue request.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueOptions {
    /// `eddsa-rdfc-2022` (the default), `eddsa-jcs-2022` or `bbs-2023`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cryptosuite: Option<String>,
    /// With `bbs-2023`: JSON pointers a holder must always disclose, on top
    /// of `/issuer`, `/type`, `/validFrom`, `/validUntil`,
    /// `/credentialSchema` and `/credentialStatus`, which always are.
    #[serde(default, rename = "mandatoryPointers", skip_serializing_if = "Option::is_none")]
    pub mandatory_pointers: Option<Vec<String>>,
    /// Whether the credential gets a status, so that it can be revoked and
    /// suspended: `true` (the default), `false`, or the VC API form
    /// `{"type": "BitstringStatusListEntry"}`.
    #[serde(default, rename = "credentialStatus", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub credential_status: Option<Value>,
    /// Who holds the credential: `{"employee": "<id>"}` (an employee of the
    /// caller's company; its sub-wallet stores the credential) or
    /// `{"did": "<did:key or did:idelta>"}`. Sets `credentialSubject.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<crate::credentials::holding::HolderOption>,
    /// `dc+sd-jwt` for an SD-JWT VC, answered as an
    /// `EnvelopedVerifiableCredential` (`data:application/dc+sd-jwt,…`);
    /// absent for a Data Integrity proof (`cryptosuite`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// With `dc+sd-jwt`: JSON pointers into `credentialSubject` of the
    /// claims the holder may disclose selectively (default: every
    /// top-level claim but `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosable: Option<Vec<String>>,
}

impl IssueOptions {
    /// How to secure the credential: a Data Integrity cryptosuite, or an
    /// SD-JWT VC; options of the one never apply to the other.
    fn securing(&self) -> Result<Securing, ApiError> {
        let bbs = self.cryptosuite.as_deref() == Some(idelta_issuer::bbs_2023::CRYPTOSUITE);
        if self.mandatory_pointers.is_some() && !bbs {
            return Err(ApiError::BadRequest(
                "options.mandatoryPointers needs options.cryptosuite \"bbs-2023\"".into(),
            ));
        }
        match self.format.as_deref() {
            None => {
                if self.disclosable.is_some() {
                    return Err(ApiError::BadRequest("options.disclosable needs options.format \"dc+sd-jwt\"".into()));
                }
                if bbs {
                    let mandatory_pointers = self.mandatory_pointers.clone().unwrap_or_default();
                    return Ok(Securing::Bbs { mandatory_pointers });
                }
                let suite = match self.cryptosuite.as_deref() {
                    None => Cryptosuite::EddsaRdfc2022,
                    Some(s) => s
                        .parse()
                        .map_err(|e: idelta_issuer::data_integrity::Error| ApiError::BadRequest(e.to_string()))?,
                };
                Ok(Securing::DataIntegrity(suite))
            }
            Some(idelta_issuer::sd_jwt::SD_JWT_VC_TYP) if self.cryptosuite.is_none() => {
                Ok(Securing::SdJwt { disclosable: self.disclosable.clone() })
            }
            Some(idelta_issuer::sd_jwt::SD_JWT_VC_TYP) => Err(ApiError::BadRequest(
                "options.cryptosuite applies to Data Integrity proofs, not to options.format \"dc+sd-jwt\"".into(),
            )),
            Some(other) => Err(ApiError::BadRequest(format!(
                "options.format `{other}` is not supported: \"dc+sd-jwt\", or none for a Data Integrity proof"
            ))),
        }
    }

    /// Whether to add a status, refusing values that name another mechanism.
    fn with_status(&self) -> Result<bool, ApiError> {
        match &self.credential_status {
            None | Some(Value::Bool(true)) => Ok(true),
            Some(Value::Bool(false)) => Ok(false),
            Some(Value::Object(o)) if o.get("type").and_then(Value::as_str) == Some("BitstringStatusListEntry") => {
                Ok(true)
            }
            Some(_) => Err(ApiError::BadRequest(
                "options.credentialStatus must be true, false or {\"type\": \"BitstringStatusListEntry\"}".into(),
            )),
        }
    }
}

/// A credential to issue.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// An unsecured VC Data Model 2.0 credential. `issuer` is the caller's
    /// company DID, filled in when absent; `validFrom` defaults to now.
    #[schema(value_type = Object)]
    pub credential: Value,
    /// Proof options.
    #[serde(default)]
    pub options: IssueOptions,
}

/// The issued credential.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssueResponse {
    /// The credential with its Data Integrity proof, or an
    /// `EnvelopedVerifiableCredential` carrying the SD-JWT VC.
    #[schema(value_type = Object)]
    pub verifiable_credential: Value,
    /// The agent's id of the issued credential, to revoke or suspend it
    /// (`POST /vc-api/credentials/status`); absent without a status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
}

/// Options of a credential verification (none are needed yet).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyCredentialOptions {}

/// A credential to verify.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyCredentialRequest {
    /// A credential secured with a Data Integrity proof, or an
    /// `EnvelopedVerifiableCredential` (`data:application/dc+sd-jwt,…`).
    #[schema(value_type = Object)]
    pub verifiable_credential: Value,
    /// Verification options.
    #[serde(default)]
    #[allow(dead_code)]
    pub options: VerifyCredentialOptions,
}

/// Options of a presentation verification.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyPresentationOptions {
    /// The challenge the verifier issued; the proof must carry it.
    #[serde(default)]
    pub challenge: Option<String>,
    /// The domain the verifier expects; the proof must carry it.
    #[serde(default)]
    pub domain: Option<String>,
}

/// A presentation to verify.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyPresentationRequest {
    /// A presentation secured with a Data Integrity proof, or an
    /// `EnvelopedVerifiablePresentation` (`data:application/dc+sd-jwt,…`,
    /// with its Key Binding JWT).
    #[schema(value_type = Object)]
    pub verifiable_presentation: Value,
    /// Verification options.
    #[serde(default)]
    pub options: VerifyPresentationOptions,
}

/// A failed check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckError {
    /// The check's name (`signature`, `issuer`, `validity`, ...).
    pub name: String,
    /// Why it failed.
    pub detail: String,
}

/// The verdict.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifyResponse {
    /// The AND of every check; false when there is none.
    pub verified: bool,
    /// The names of the checks made, in order.
    pub checks: Vec<String>,
    /// Things worth knowing that do not fail verification.
    pub warnings: Vec<String>,
    /// The checks that failed.
    pub errors: Vec<CheckError>,
    /// Every check with its outcome.
    #[schema(value_type = Object)]
    pub report: Report,
}

impl From<Report> for VerifyResponse {
    fn from(report: Report) -> VerifyResponse {
        VerifyResponse {
            verified: report.verified,
            checks: report.checks.iter().map(|c| c.name.clone()).collect(),
            warnings: report.warnings.clone(),
            errors: report
                .failures()
                .map(|c| CheckError { name: c.name.clone(), detail: c.detail.clone().unwrap_or_default() })
                .collect(),
            report,
        }
    }
}

fn object(value: &Value, member: &str) -> Result<(), ApiError> {
    if value.is_object() {
        Ok(())
    } else if value.is_string() {
        Err(ApiError::BadRequest(format!(
            "{member} must be a JSON object: send an SD-JWT VC enveloped, as {{\"type\": \"Enveloped{}\", \"id\": \"{SD_JWT_DATA_PREFIX}<sd-jwt>\"}} (VC Data Model 2.0 §4.13)",
            if member == "verifiablePresentation" { "VerifiablePresentation" } else { "VerifiableCredential" }
        )))
    } else {
        Err(ApiError::BadRequest(format!("{member} must be a JSON object")))
    }
}

/// Issue a credential as the caller's company, secured with a Data
/// Integrity proof, or as an SD-JWT VC (`options.format: "dc+sd-jwt"`,
/// answered enveloped), signed by the company DID's current key.
#[utoipa::path(post, path = "/vc-api/credentials/issue", tag = "company admin", request_body = IssueRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for a retry")),
    responses((status = 201, body = IssueResponse), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem),
        (status = 503, body = Problem)),
    security(("bearer" = [])))]
async fn issue(
    state: axum::extract::State<AppState>,
    caller: Caller,
    key: Option<IdempotencyKey>,
    Json(body): Json<IssueRequest>,
) -> Result<Response, ApiError> {
    let Principal::CompanyAdmin { company } = &caller.0 else {
        return Err(ApiError::Forbidden("only a company admin may issue credentials, as its company".into()));
    };
    let securing = body.options.securing()?;
    let with_status = body.options.with_status()?;
    let now = now_ms();
    idempotency::once(&state, &format!("{company}/vc-api/issue"), key, &body, now, || async {
        let issued = state
            .credentials
            .issue(company, body.credential.clone(), securing.clone(), with_status, body.options.holder.as_ref(), now)
            .await?;
        let response = IssueResponse { verifiable_credential: issued.credential, credential_id: issued.credential_id };
        Ok((StatusCode::CREATED, response))
    })
    .await
}

/// Verify a credential: proof, issuer DID on the ledger (proof checked),
/// signature and validity period.
#[utoipa::path(post, path = "/vc-api/credentials/verify", tag = "any caller", request_body = VerifyCredentialRequest,
    responses((status = 200, body = VerifyResponse), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
async fn verify_credential(
    state: axum::extract::State<AppState>,
    _caller: Caller,
    Json(body): Json<VerifyCredentialRequest>,
) -> Result<Json<VerifyResponse>, ApiError> {
    object(&body.verifiable_credential, "verifiableCredential")?;
    let report = state.credentials.verify_credential(&body.verifiable_credential, now_ms()).await;
    Ok(Json(report.into()))
}

/// Verify a presentation: its proof (`authentication`, with the expected
/// challenge and domain) and every credential in it.
#[utoipa::path(post, path = "/vc-api/presentations/verify", tag = "any caller", request_body = VerifyPresentationRequest,
    responses((status = 200, body = VerifyResponse), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
async fn verify_presentation(
    state: axum::extract::State<AppState>,
    _caller: Caller,
    Json(body): Json<VerifyPresentationRequest>,
) -> Result<Json<VerifyResponse>, ApiError> {
    object(&body.verifiable_presentation, "verifiablePresentation")?;
    let VerifyPresentationOptions { challenge, domain } = body.options;
    let report =
        state.credentials.verify_presentation(&body.verifiable_presentation, challenge, domain, now_ms()).await;
    Ok(Json(report.into()))
}
