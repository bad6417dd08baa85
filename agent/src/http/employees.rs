//! `/v1/companies/{company}/employees`: a company admin adds, lists and
//! removes employees, issues their tokens, and rotates the company DID.

use super::companies::NewToken;
use super::error::{ApiError, Problem};
use super::extract::{Caller, IdempotencyKey, Json, PageQuery, Path, Query};
use super::{idempotency, now_ms, AppState};
use crate::db::employees::Employee;
use crate::tenants::{EmployeeCreated, IssuedToken, Page, Rotated};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add, list))
        .routes(routes!(get_employee, remove))
        .routes(routes!(employee_token))
        .routes(routes!(rotate_did))
}

/// An employee to add.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmployee {
    /// Display name.
    pub name: String,
}

/// Add an employee: a sub-wallet with a private `did:key`, and a token.
#[utoipa::path(post, path = "/v1/companies/{company}/employees", tag = "company admin", params(("company" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = NewEmployee,
    responses((status = 201, body = EmployeeCreated), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn add(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    key: Option<IdempotencyKey>,
    Json(body): Json<NewEmployee>,
) -> Result<Response, ApiError> {
    caller.admin_of(&company)?;
    let now = now_ms();
    idempotency::once(&state, &company, key, &body, now, || async {
        Ok((StatusCode::CREATED, state.tenants.add_employee(&company, &body.name, now).await?))
    })
    .await
}

/// List a company's employees, oldest first.
#[utoipa::path(get, path = "/v1/companies/{company}/employees", tag = "company admin", params(("company" = String, Path), PageQuery),
    responses((status = 200, body = Page<Employee>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<Employee>>, ApiError> {
    caller.admin_of(&company)?;
    Ok(Json(state.tenants.employees(&company, q.cursor.as_deref(), q.limit).await?))
}

/// One employee.
#[utoipa::path(get, path = "/v1/companies/{company}/employees/{employee}", tag = "company admin",
    params(("company" = String, Path), ("employee" = String, Path)),
    responses((status = 200, body = Employee), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_employee(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path((company, employee)): Path<(String, String)>,
) -> Result<Json<Employee>, ApiError> {
    caller.admin_of(&company)?;
    Ok(Json(state.tenants.employee(&company, &employee).await?))
}

/// Remove an employee: its tokens stop working at once.
#[utoipa::path(delete, path = "/v1/companies/{company}/employees/{employee}", tag = "company admin",
    params(("company" = String, Path), ("employee" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn remove(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path((company, employee)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.admin_of(&company)?;
    let now = now_ms();
    // The documented rule: everything the employee holds on the ledger
    // (every token, every unit) goes to the company's treasury first.
    state.loyalty.close_account(&company, &employee, now).await?;
    state.tenants.remove_employee(&company, &employee, &caller.0.label(), now).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issue an employee token; optionally invalidate the older ones.
#[utoipa::path(post, path = "/v1/companies/{company}/employees/{employee}/tokens", tag = "company admin",
    params(("company" = String, Path), ("employee" = String, Path)), request_body = NewToken,
    responses((status = 201, body = IssuedToken), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn employee_token(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path((company, employee)): Path<(String, String)>,
    Json(body): Json<NewToken>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    caller.admin_of(&company)?;
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .tenants
                .issue_employee_token(&company, &employee, body.invalidate_previous, &caller.0.label(), now_ms())
                .await?,
        ),
    ))
}

/// Rotate the company DID's key on the ledger; the old key stops
/// authorising anything.
#[utoipa::path(post, path = "/v1/companies/{company}/did/rotate", tag = "company admin", params(("company" = String, Path)),
    responses((status = 200, body = Rotated), (status = 401, body = Problem), (status = 403, body = Problem), (status = 502, body = Problem)),
    security(("bearer" = [])))]
async fn rotate_did(
    state: axum::extract::State<AppState>,
    caller: Caller,
    Path(company): Path<String>,
) -> Result<Json<Rotated>, ApiError> {
    caller.admin_of(&company)?;
    let now = now_ms();
    let rotated = state.tenants.rotate_company_did(&company, now).await?;
    // Status lists signed by the retired key no longer verify: sign them again.
    state.credentials.republish_company(&company, now).await;
    Ok(Json(rotated))
}
