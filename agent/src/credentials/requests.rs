//! A company as a verifier: presentation requests (OpenID4VP 1.0 with a
//! DCQL query, see [`idelta_verifier::dcql`]) and the checking of their
//! responses.
//!
//! A request is a DCQL query, a fresh `nonce` (256 random bits, the
//! challenge), a `domain` (the verifier's identifier, OpenID4VP
//! `client_id`; by default the company's DID) and an expiry. The verifier
//! hands it to a holder out of band; the holder answers with a `vp_token`.
//! Checking a response reports, besides every check of every presentation
//! (signatures, issuer on the ledger, status, validity, holder binding,
//! challenge and domain, prefixed `vp_token.<query id>[<i>].`):
//! - `request.expiry`: the request has not expired;
//! - `request.query`: what was presented and verified satisfies the DCQL
//!   query (naming the unmet claim);
//! - `request.unused`: this is the request's first response. Marking it
//!   answered and its event commit in one transaction, and the update is
//!   conditional, so of two concurrent responses exactly one is first; a
//!   replay, even of a valid response, fails.
//!
//! Every query is scoped by company: another company's request is "not
//! found", never read or checked.

use super::{invalid, CredentialError, Credentials, Result};
use crate::db::{Db, DbError};
use crate::events::Events;
use crate::ids::new_id;
use crate::tenants::TenantError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use idelta_issuer::data_integrity::contexts;
use idelta_verifier::dcql::{self, Candidate, Query};
use idelta_verifier::sd_jwt::decode_unverified;
use idelta_verifier::Report;
use rand::RngCore as _;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sqlx::Row as _;
use std::collections::BTreeMap;

use super::holding::{compact_sd_jwt, SD_JWT_DATA_PREFIX};

/// How long a presentation request can be answered: ten minutes.
pub const REQUEST_TTL_MS: i64 = 10 * 60 * 1000;
/// Longest accepted `domain`.
const MAX_DOMAIN: usize = 512;

/// A presentation request, as the verifier gives it to a holder.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PresentationRequest {
    /// Its id.
    pub id: String,
    /// The DCQL query.
    #[schema(value_type = Object)]
    pub dcql_query: Value,
    /// The challenge a presentation must carry (proof `challenge`, KB-JWT `nonce`).
    pub nonce: String,
    /// The verifier's identifier a presentation must carry (proof `domain`, KB-JWT `aud`).
    pub domain: String,
    /// When it stops being answerable, milliseconds since the epoch.
    #[serde(rename = "expiresAt")]
    pub expires_at: i64,
    /// When it was answered, if it was.
    #[serde(rename = "answeredAt", skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<i64>,
}

/// A checked response: every check, and what each credential query was
/// answered with when everything verified.
#[derive(Debug)]
pub struct CheckedResponse {
    /// Every check; `verified` is their AND.
    pub report: Report,
    /// Per credential query, the claims of each presented credential (the
    /// credential JSON, or the SD-JWT's disclosed claims); empty unless verified.
    pub presented: BTreeMap<String, Vec<Value>>,
}

/// The verifier side of a company: its presentation requests.
#[derive(Debug)]
pub struct Verifier<'a> {
    db: &'a Db,
    events: &'a Events,
    credentials: &'a Credentials,
}

fn request_from_row(row: &sqlx::any::AnyRow) -> Result<PresentationRequest> {
    let db = |e: sqlx::Error| CredentialError::from(TenantError::Db(DbError::from(e)));
    let query: String = row.try_get("dcql_query").map_err(db)?;
    Ok(PresentationRequest {
        id: row.try_get("id").map_err(db)?,
        dcql_query: serde_json::from_str(&query).map_err(|e| invalid(format!("stored query: {e}")))?,
        nonce: row.try_get("nonce").map_err(db)?,
        domain: row.try_get("domain").map_err(db)?,
        expires_at: row.try_get("expires_at").map_err(db)?,
        answered_at: row.try_get("answered_at").map_err(db)?,
    })
}

fn db_error(e: sqlx::Error) -> CredentialError {
    TenantError::Db(DbError::from(e)).into()
}

/// Adds `sub`'s checks to `report`, each name prefixed.
fn merge(report: &mut Report, prefix: &str, sub: Report) {
    for c in sub.checks {
        report
            .check(&format!("{prefix}.{}", c.name), if c.passed { Ok(()) } else { Err(c.detail.unwrap_or_default()) });
    }
    for w in sub.warnings {
        report.warn(format!("{prefix}: {w}"));
    }
}

/// The credentials inside a VP (`verifiableCredential`, one or many).
fn embedded(vp: &Map<String, Value>) -> Vec<&Value> {
    match vp.get("verifiableCredential") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// Holder binding of a Data Integrity presentation: the presentation has a
/// `holder` (whose key the proof check required) and every credential in
/// it names that holder as its subject, so nobody presents a credential
/// issued to someone else.
fn check_subjects(vp: &Map<String, Value>) -> Result<(), String> {
    let holder = vp.get("holder").and_then(|h| h.as_str().or_else(|| h.get("id")?.as_str()));
    let holder = holder.ok_or("the presentation names no holder")?;
    let credentials = embedded(vp);
    if credentials.is_empty() {
        return Err("the presentation carries no credential".into());
    }
    for (i, c) in credentials.iter().enumerate() {
        let subjects: Vec<&Value> = match c.get("credentialSubject") {
            Some(Value::Array(s)) => s.iter().collect(),
            Some(s) => vec![s],
            None => Vec::new(),
        };
        if !subjects.iter().any(|s| s.get("id").and_then(Value::as_str) == Some(holder)) {
            return Err(format!("credential {i} is not issued to the presenting holder {holder}"));
        }
    }
    Ok(())
}

fn types_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// A presented credential as the DCQL check sees it.
struct Presented {
    format: &'static str,
    types: Vec<String>,
    claims: Value,
    context: Option<Value>,
}

impl<'a> Verifier<'a> {
    /// The verifier over the agent's database, events and credentials service.
    pub fn new(db: &'a Db, events: &'a Events, credentials: &'a Credentials) -> Verifier<'a> {
        Verifier { db, events, credentials }
    }

    /// Creates a request for `company`: the query is validated, the nonce
    /// drawn, and the domain defaults to the company's DID.
    pub async fn create(
        &self,
        company: &str,
        dcql_query: &Value,
        domain: Option<&str>,
        now_ms: i64,
    ) -> Result<PresentationRequest> {
        Query::parse(dcql_query).map_err(|e| invalid(e.to_string()))?;
        let c = self.credentials.tenants.company(company).await?;
        if c.status != "active" {
            return Err(TenantError::NotFound("company").into());
        }
        let domain = domain.unwrap_or(&c.did);
        if domain.is_empty() || domain.len() > MAX_DOMAIN || domain.chars().any(char::is_control) {
            return Err(invalid(format!("domain must be 1 to {MAX_DOMAIN} printable characters")));
        }
        let mut random = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut random);
        let request = PresentationRequest {
            id: new_id("pr", now_ms),
            dcql_query: dcql_query.clone(),
            nonce: URL_SAFE_NO_PAD.encode(random),
            domain: domain.to_owned(),
            expires_at: now_ms.saturating_add(REQUEST_TTL_MS),
            answered_at: None,
        };
        let mut tx = self.db.pool().begin().await.map_err(db_error)?;
        sqlx::query(
            "INSERT INTO presentation_requests (company_id, id, dcql_query, nonce, domain, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(company)
        .bind(&request.id)
        .bind(request.dcql_query.to_string())
        .bind(&request.nonce)
        .bind(&request.domain)
        .bind(now_ms)
        .bind(request.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        let data = json!({ "domain": request.domain, "expiresAt": request.expires_at });
        let event = Events::record(&mut tx, company, "presentation_request.created", &request.id, data, now_ms)
            .await
            .map_err(TenantError::from)?;
        tx.commit().await.map_err(db_error)?;
        self.events.announce(&event);
        Ok(request)
    }

    /// The company's request `id`.
    pub async fn get(&self, company: &str, id: &str) -> Result<PresentationRequest> {
        let row = sqlx::query(
            "SELECT id, dcql_query, nonce, domain, expires_at, answered_at FROM presentation_requests \
             WHERE company_id = $1 AND id = $2",
        )
        .bind(company)
        .bind(id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(db_error)?;
        row.as_ref()
            .map(request_from_row)
            .transpose()?
            .ok_or_else(|| TenantError::NotFound("presentation request").into())
    }

    /// Verifies one presentation, adding its checks under `prefix`; the
    /// credentials it presents when they could be read.
    async fn verify_one(
        &self,
        report: &mut Report,
        prefix: &str,
        presentation: &Value,
        request: &PresentationRequest,
        now_ms: i64,
    ) -> Vec<Presented> {
        if let Some(compact) = compact_sd_jwt(presentation) {
            // The agent's one SD-JWT path (signature, disclosures, key
            // binding, status, schema), on the presentation enveloped as VC
            // 2.0 says; its claims are read once everything verified.
            let enveloped = json!({
                "@context": [contexts::CREDENTIALS_V2],
                "type": super::sd_jwt::ENVELOPED_PRESENTATION,
                "id": format!("{SD_JWT_DATA_PREFIX}{compact}"),
            });
            let (nonce, domain) = (Some(request.nonce.clone()), Some(request.domain.clone()));
            let sub = self.credentials.verify_presentation(&enveloped, nonce, domain, now_ms).await;
            let claims = if sub.verified { decode_unverified(compact).ok() } else { None };
            merge(report, prefix, sub);
            return claims
                .map(|claims| {
                    let types = types_of(claims.get("vct"));
                    Presented { format: "dc+sd-jwt", types, claims: Value::Object(claims), context: None }
                })
                .into_iter()
                .collect();
        }
        let Value::Object(vp) = presentation else {
            report.check(&format!("{prefix}.format"), Err("a presentation must be a VP object or an SD-JWT".into()));
            return Vec::new();
        };
        let sub = self
            .credentials
            .verify_presentation(presentation, Some(request.nonce.clone()), Some(request.domain.clone()), now_ms)
            .await;
        merge(report, prefix, sub);
        report.check(&format!("{prefix}.holderBinding"), check_subjects(vp));
        embedded(vp)
            .into_iter()
            .map(|c| Presented {
                format: "ldp_vc",
                types: types_of(c.get("type")),
                claims: c.clone(),
                context: c.get("@context").cloned(),
            })
            .collect()
    }

    /// Checks a response (`vp_token`) to the company's request `id`, and
    /// marks the request answered.
    pub async fn check_response(
        &self,
        company: &str,
        id: &str,
        vp_token: &Value,
        now_ms: i64,
    ) -> Result<CheckedResponse> {
        let request = self.get(company, id).await?;
        let Value::Object(entries) = vp_token else {
            return Err(invalid("vp_token must be an object mapping credential query ids to arrays of presentations"));
        };
        if entries.values().any(|v| !v.is_array()) {
            return Err(invalid("vp_token: each value must be an array of presentations"));
        }
        let query = Query::parse(&request.dcql_query).map_err(|e| invalid(e.to_string()))?;
        let mut report = Report::new();
        report.check(
            "request.expiry",
            if now_ms < request.expires_at { Ok(()) } else { Err("the presentation request has expired".into()) },
        );
        let mut presented: BTreeMap<String, Vec<Presented>> = BTreeMap::new();
        for (query_id, presentations) in entries {
            for (i, p) in presentations.as_array().into_iter().flatten().enumerate() {
                let found =
                    self.verify_one(&mut report, &format!("vp_token.{query_id}[{i}]"), p, &request, now_ms).await;
                if !found.is_empty() {
                    presented.entry(query_id.clone()).or_default().extend(found);
                }
            }
        }
        let candidates: BTreeMap<String, Vec<Candidate<'_>>> = presented
            .iter()
            .map(|(k, ps)| {
                let cs = ps
                    .iter()
                    .map(|p| Candidate {
                        format: p.format,
                        types: &p.types,
                        claims: &p.claims,
                        context: p.context.as_ref(),
                    })
                    .collect();
                (k.clone(), cs)
            })
            .collect();
        let unread =
            entries.iter().find(|(k, v)| !presented.contains_key(*k) && v.as_array().is_some_and(|a| !a.is_empty()));
        let query_met = match unread {
            Some((k, _)) => {
                Err(format!("credential query `{k}`: no presentation under it verified, so its claims are not known"))
            }
            None => dcql::check_response(&query, &candidates),
        };
        report.check("request.query", query_met);

        // Single use: the first response marks the request, with its event.
        let mut tx = self.db.pool().begin().await.map_err(db_error)?;
        let first = sqlx::query(
            "UPDATE presentation_requests SET answered_at = $1 WHERE company_id = $2 AND id = $3 AND answered_at IS NULL",
        )
        .bind(now_ms)
        .bind(company)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected()
            == 1;
        report.check(
            "request.unused",
            if first { Ok(()) } else { Err("the request was already answered: it takes one response".into()) },
        );
        let event = if first {
            let data = json!({ "verified": report.verified });
            let event = Events::record(&mut tx, company, "presentation_request.answered", id, data, now_ms)
                .await
                .map_err(TenantError::from)?;
            tx.commit().await.map_err(db_error)?;
            Some(event)
        } else {
            None
        };
        if let Some(event) = &event {
            self.events.announce(event);
        }
        let presented = if report.verified {
            presented.into_iter().map(|(k, ps)| (k, ps.into_iter().map(|p| p.claims).collect())).collect()
        } else {
            BTreeMap::new()
        };
        Ok(CheckedResponse { report, presented })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn a_presentation_binds_only_credentials_issued_to_its_holder() {
        let vp = |holder: Value, subject: &str| {
            json!({ "holder": holder, "verifiableCredential": [{ "credentialSubject": { "id": subject } }] })
                .as_object()
                .cloned()
                .unwrap()
        };
        check_subjects(&vp(json!("did:key:a"), "did:key:a")).unwrap();
        check_subjects(&vp(json!({ "id": "did:key:a" }), "did:key:a")).unwrap();
        assert!(check_subjects(&vp(json!("did:key:b"), "did:key:a")).unwrap_err().contains("not issued"));
        assert!(check_subjects(&json!({ "holder": "did:key:a" }).as_object().cloned().unwrap())
            .unwrap_err()
            .contains("no credential"));
        assert!(check_subjects(&json!({}).as_object().cloned().unwrap()).unwrap_err().contains("no holder"));
    }
}
