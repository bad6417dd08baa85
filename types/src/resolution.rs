//! DID resolution results, DIF Universal Resolver HTTP binding
//! (W3C DID Resolution §4, design.md §9).
//!
//! `didDocumentMetadata.ledger` carries everything a client needs to check
//! the answer without trusting the node: the leaf that set the document,
//! its inclusion proof, and the signed tree head the proof is against.

use crate::log::SignedTreeHead;
use serde::{Deserialize, Serialize};

/// Media type of a resolution result.
pub const RESOLUTION_MEDIA_TYPE: &str = "application/did-resolution";
/// Media type of a bare DID document.
pub const DID_JSON_MEDIA_TYPE: &str = "application/did+json";

/// A DID resolution result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolutionResult {
    /// The document, absent when resolution failed.
    pub did_document: Option<serde_json::Value>,
    /// Metadata about the document.
    pub did_document_metadata: DocumentMetadata,
    /// Metadata about the resolution.
    pub did_resolution_metadata: ResolutionMetadata,
}

/// `didDocumentMetadata` (DID Core §7.1.3).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentMetadata {
    /// When the DID was created (XML datetime, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When the returned version was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Present and true once the DID is deactivated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated: Option<bool>,
    /// The returned version: 1 for the create, one more per update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The version after the returned one, when it is not the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_version_id: Option<String>,
    /// Proof of the transaction behind the returned version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerProof>,
}

/// `didDocumentMetadata.ledger`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerProof {
    /// The leaf of the transaction that set this version.
    pub leaf_index: u64,
    /// The tree the proof is against.
    pub tree_size: u64,
    /// base64 root of that tree.
    pub sha256_root_hash: String,
    /// base64 hashes, RFC 6962 §2.1.1.
    pub audit_path: Vec<String>,
    /// base64 leaf input, so the proof can be checked offline.
    pub leaf_input: String,
    /// The signed tree head of `tree_size`.
    pub sth: SignedTreeHead,
}

/// `didResolutionMetadata`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolutionMetadata {
    /// Media type of the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `notFound`, `invalidDid`, `invalidOptions`, ... on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Human-readable detail of `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}
