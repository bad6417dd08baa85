//! DID resolution with proofs (W3C DID Resolution, DIF Universal Resolver
//! HTTP binding), as of the latest signed tree head.

use super::Shared;
use crate::state::DidRecord;
use idelta_types::canonical::b64;
use idelta_types::resolution::{DocumentMetadata, LedgerProof, ResolutionMetadata, ResolutionResult};
use idelta_types::DidUrl;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Resolution options (DID Resolution §4.1), from the query string or the
/// DID URL's own parameters.
#[derive(Clone, Debug, Default)]
pub struct ResolveOptions {
    /// 1-based version number.
    pub version_id: Option<String>,
    /// XML datetime; the version in force at that second.
    pub version_time: Option<String>,
}

/// A successful resolution.
#[derive(Clone, Debug)]
pub struct Resolution {
    /// The result, with its ledger proof.
    pub result: ResolutionResult,
    /// Whether the answer is "deactivated" (HTTP 410).
    pub deactivated: bool,
}

/// Why a DID did not resolve; the names are DID Resolution error codes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// Returned when the input is not a valid DID (`invalidDid`).
    #[error("{0}")]
    InvalidDid(String),
    /// Returned for a DID of another method (`methodNotSupported`).
    #[error("{0}")]
    MethodNotSupported(String),
    /// Returned when the DID or the requested version does not exist (`notFound`).
    #[error("{0}")]
    NotFound(String),
    /// Returned when resolution options are malformed or conflict (`invalidOptions`).
    #[error("{0}")]
    InvalidOptions(String),
    /// Returned when the node cannot build the proof (`internalError`).
    #[error("{0}")]
    Internal(String),
}

impl ResolveError {
    /// The DID Resolution error code.
    pub fn code(&self) -> &'static str {
        match self {
            ResolveError::InvalidDid(_) => "invalidDid",
            ResolveError::MethodNotSupported(_) => "methodNotSupported",
            ResolveError::NotFound(_) => "notFound",
            ResolveError::InvalidOptions(_) => "invalidOptions",
            ResolveError::Internal(_) => "internalError",
        }
    }
}

fn xml_datetime(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

pub(super) fn resolve(shared: &Shared, did_url: &str, options: &ResolveOptions) -> Result<Resolution, ResolveError> {
    let url: DidUrl = did_url.parse().map_err(|e: idelta_types::Error| ResolveError::InvalidDid(e.to_string()))?;
    if url.fragment.is_some() {
        return Err(ResolveError::InvalidDid("resolve the DID; fragments are dereferenced by the client".into()));
    }
    if !url.did.is_idelta() {
        return Err(ResolveError::MethodNotSupported(format!(
            "this ledger resolves did:idelta, not did:{}",
            url.did.method()
        )));
    }
    let version_id = options.version_id.as_deref().or(url.param("versionId"));
    let version_time = options.version_time.as_deref().or(url.param("versionTime"));
    if version_id.is_some() && version_time.is_some() {
        return Err(ResolveError::InvalidOptions("give versionId or versionTime, not both".into()));
    }
    let sth = Arc::clone(&shared.sth.read());
    let size = sth.tree_size;
    let not_found = || ResolveError::NotFound(format!("{} is not on this ledger", url.did));
    let record: Arc<DidRecord> = shared.state.read().did(&url.did).cloned().ok_or_else(not_found)?;
    // Versions are in log order; only those under the signed size are visible.
    let visible = record.versions.partition_point(|v| v.leaf_index < size);
    if visible == 0 {
        return Err(not_found());
    }
    let deactivation = record.deactivated.filter(|d| d.leaf_index < size);
    let index = match (version_id, version_time) {
        (Some(v), _) => {
            let n: usize = v
                .parse()
                .map_err(|_| ResolveError::InvalidOptions(format!("versionId `{v}` must be a positive integer")))?;
            if n == 0 || n > visible {
                return Err(ResolveError::NotFound(format!("{} has no version {n}", url.did)));
            }
            n - 1
        }
        (None, Some(t)) => {
            let at = OffsetDateTime::parse(t, &Rfc3339)
                .map_err(|e| ResolveError::InvalidOptions(format!("versionTime `{t}` is not an XML datetime: {e}")))?;
            let secs = u64::try_from(at.unix_timestamp()).unwrap_or(0);
            let count = record.versions[..visible].partition_point(|v| v.timestamp_ms / 1000 <= secs);
            if count == 0 {
                return Err(ResolveError::NotFound(format!("{} did not exist at {t}", url.did)));
            }
            count - 1
        }
        (None, None) => visible - 1,
    };
    let version = record.versions.get(index).ok_or_else(not_found)?;
    // The answer is "deactivated" when the caller asks for the present (or a
    // time after the deactivation); an explicit versionId returns history.
    let deactivated = match (deactivation, version_id, version_time) {
        (Some(_), Some(_), _) => false,
        (Some(d), None, Some(t)) => OffsetDateTime::parse(t, &Rfc3339)
            .map(|at| u64::try_from(at.unix_timestamp()).unwrap_or(0) >= d.timestamp_ms / 1000)
            .unwrap_or(false),
        (Some(_), None, None) => true,
        (None, _, _) => false,
    };
    let proof_leaf = match (deactivated, deactivation) {
        (true, Some(d)) => d.leaf_index,
        _ => version.leaf_index,
    };
    let audit_path =
        shared.tree.read().inclusion_proof(proof_leaf, size).map_err(|e| ResolveError::Internal(e.to_string()))?;
    let leaf_input = shared
        .store
        .leaf(proof_leaf)
        .map_err(|e| ResolveError::Internal(e.to_string()))?
        .ok_or_else(|| ResolveError::Internal(format!("leaf {proof_leaf} missing from the store")))?;
    let document = serde_json::to_value(&*version.document).map_err(|e| ResolveError::Internal(e.to_string()))?;
    let metadata = DocumentMetadata {
        created: record.versions.first().map(|v| xml_datetime(v.timestamp_ms)),
        updated: (index > 0).then(|| xml_datetime(version.timestamp_ms)),
        deactivated: deactivation.is_some().then_some(true),
        version_id: Some((index + 1).to_string()),
        next_version_id: (index + 1 < visible).then(|| (index + 2).to_string()),
        ledger: Some(LedgerProof {
            leaf_index: proof_leaf,
            tree_size: size,
            sha256_root_hash: sth.sha256_root_hash.clone(),
            audit_path: audit_path.iter().map(b64::encode).collect(),
            leaf_input: b64::encode(&leaf_input),
            sth: (*sth).clone(),
        }),
    };
    Ok(Resolution {
        result: ResolutionResult {
            did_document: Some(document),
            did_document_metadata: metadata,
            did_resolution_metadata: ResolutionMetadata {
                content_type: Some("application/did+ld+json".into()),
                ..Default::default()
            },
        },
        deactivated,
    })
}
