//! What an employee sees of its own sub-wallet, and `/v1/me` for any caller.

use super::error::{ApiError, Problem};
use super::extract::{Caller, Json, Path};
use super::AppState;
use crate::auth::Principal;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me)).routes(routes!(dids))
}

/// Who the credential belongs to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// `operator`, `company-admin` or `employee`.
    pub role: &'static str,
    /// The company, for admins and employees.
    pub company: Option<String>,
    /// The employee, for employees.
    pub employee: Option<String>,
}

/// A record of a sub-wallet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WalletRecord {
    /// Its id in the wallet.
    pub id: String,
    /// Its content.
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

/// Who am I: the role and scope of the bearer credential.
#[utoipa::path(get, path = "/v1/me", tag = "any caller",
    responses((status = 200, body = Me), (status = 401, body = Problem)), security(("bearer" = [])))]
async fn me(caller: Caller) -> Json<Me> {
    Json(match caller.0 {
        Principal::Operator => Me { role: "operator", company: None, employee: None },
        Principal::CompanyAdmin { company } => Me { role: "company-admin", company: Some(company), employee: None },
        Principal::Employee { company, employee } => {
            Me { role: "employee", company: Some(company), employee: Some(employee) }
        }
    })
}

async fn records(
    state: &AppState,
    caller: &Caller,
    company: &str,
    employee: &str,
    category: &str,
) -> Result<Json<Vec<WalletRecord>>, ApiError> {
    caller.employee(company, employee)?;
    let records = state.tenants.employee_records(company, employee, category).await?;
    Ok(Json(records.into_iter().map(|r| WalletRecord { id: r.id, value: r.value }).collect()))
}

/// An employee's own DIDs (a private `did:key` from the start).
#[utoipa::path(get, path = "/v1/companies/{company}/employees/{employee}/dids", tag = "employee",
    params(("company" = String, Path), ("employee" = String, Path)),
    responses((status = 200, body = Vec<WalletRecord>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn dids(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path((company, employee)): Path<(String, String)>,
) -> Result<Json<Vec<WalletRecord>>, ApiError> {
    records(&state, &caller, &company, &employee, "did").await
}
