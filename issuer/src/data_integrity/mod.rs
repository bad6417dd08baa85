//! W3C Data Integrity proofs with the EdDSA cryptosuites `eddsa-jcs-2022`
//! and `eddsa-rdfc-2022`, for VC Data Model 2.0 credentials and
//! presentations.
//!
//! Specifications:
//! - [Data Integrity EdDSA Cryptosuites v1.0](https://www.w3.org/TR/vc-di-eddsa/):
//!   §3.2 (`eddsa-rdfc-2022`: §3.2.1 Create Proof, §3.2.3 Transformation,
//!   §3.2.4 Hashing, §3.2.5 Proof Configuration, §3.2.6 Proof
//!   Serialization) and §3.3 (`eddsa-jcs-2022`, the same steps with JCS).
//! - [VC Data Integrity 1.0](https://www.w3.org/TR/vc-data-integrity/) §2.1
//!   (proofs: `type` `DataIntegrityProof`, `cryptosuite`, `created`,
//!   `verificationMethod`, `proofPurpose`, `challenge`, `domain`,
//!   `proofValue`) and §4.2 (Add Proof).
//! - [VC Data Model 2.0](https://www.w3.org/TR/vc-data-model-2.0/) §4.12
//!   (securing mechanisms) and §4.13 (presentations).
//!
//! The data to sign is `SHA-256(canonical proof configuration) ‖
//! SHA-256(canonical document)` (64 bytes); canonical means JCS (RFC 8785,
//! `serde_json_canonicalizer`) for `jcs` and RDFC-1.0 N-Quads after JSON-LD
//! expansion for `rdfc` ([`rdfc`]). Signing goes through the wallet's
//! [`Signer`], so secret keys never reach this crate; time is a parameter
//! (`created`). JSON-LD contexts are bundled ([`contexts`]): an unknown
//! context is an error, never a fetch.
//!
//! [`hash_data`] is public so the verifier recomputes exactly what was signed.

pub mod contexts;
pub mod rdfc;

use std::fmt;
use std::str::FromStr;

use idelta_types::signer::Signer;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Why a proof could not be made or its signed data computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Returned when the document to secure is not a JSON object.
    #[error("the document must be a JSON object")]
    NotAnObject,
    /// Returned when the cryptosuite name is not one this module implements.
    #[error("unsupported cryptosuite `{0}`")]
    UnsupportedCryptosuite(String),
    /// Returned when the proof purpose is not `assertionMethod` or `authentication`.
    #[error("unsupported proof purpose `{0}`")]
    UnsupportedPurpose(String),
    /// Returned when JCS or JSON-LD/RDFC-1.0 canonicalization fails (for
    /// RDFC, e.g. a context that is not bundled).
    #[error("canonicalization failed: {0}")]
    Canonicalization(String),
    /// Returned when an `eddsa-jcs-2022` proof's `@context` is not the
    /// document's.
    #[error("the proof's @context is not the document's")]
    ContextMismatch,
    /// Returned when `created` cannot be written as an `xsd:dateTime`.
    #[error("invalid time: {0}")]
    Time(String),
    /// Returned when the wallet refuses to sign or the signer's key is not Ed25519.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The EdDSA cryptosuites (Data Integrity EdDSA Cryptosuites v1.0 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cryptosuite {
    /// `eddsa-rdfc-2022`: RDFC-1.0 canonical N-Quads.
    EddsaRdfc2022,
    /// `eddsa-jcs-2022`: JSON Canonicalization Scheme (RFC 8785).
    EddsaJcs2022,
}

impl Cryptosuite {
    /// The `cryptosuite` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Cryptosuite::EddsaRdfc2022 => "eddsa-rdfc-2022",
            Cryptosuite::EddsaJcs2022 => "eddsa-jcs-2022",
        }
    }

    /// The canonical form of `value` under this suite's transformation.
    pub fn canonicalize(self, value: &Value) -> Result<Vec<u8>> {
        match self {
            Cryptosuite::EddsaJcs2022 => {
                serde_json_canonicalizer::to_vec(value).map_err(|e| Error::Canonicalization(e.to_string()))
            }
            Cryptosuite::EddsaRdfc2022 => rdfc::canonical_nquads(value).map(String::into_bytes),
        }
    }
}

impl fmt::Display for Cryptosuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Cryptosuite {
    type Err = Error;

    fn from_str(s: &str) -> Result<Cryptosuite> {
        match s {
            "eddsa-rdfc-2022" => Ok(Cryptosuite::EddsaRdfc2022),
            "eddsa-jcs-2022" => Ok(Cryptosuite::EddsaJcs2022),
            other => Err(Error::UnsupportedCryptosuite(other.to_owned())),
        }
    }
}

/// Why the proof is made (VC Data Integrity 1.0 §2.1.2, Proof Purposes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProofPurpose {
    /// `assertionMethod`: an issuer asserting a credential.
    AssertionMethod,
    /// `authentication`: a holder proving control, e.g. of a presentation.
    Authentication,
}

impl ProofPurpose {
    /// The `proofPurpose` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ProofPurpose::AssertionMethod => "assertionMethod",
            ProofPurpose::Authentication => "authentication",
        }
    }
}

impl FromStr for ProofPurpose {
    type Err = Error;

    fn from_str(s: &str) -> Result<ProofPurpose> {
        match s {
            "assertionMethod" => Ok(ProofPurpose::AssertionMethod),
            "authentication" => Ok(ProofPurpose::Authentication),
            other => Err(Error::UnsupportedPurpose(other.to_owned())),
        }
    }
}

/// The proof options of Add Proof (VC Data Integrity 1.0 §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofOptions {
    /// The cryptosuite.
    pub cryptosuite: Cryptosuite,
    /// The verification method id (`did:…#…`) of the signer's key.
    pub verification_method: String,
    /// The proof purpose.
    pub proof_purpose: ProofPurpose,
    /// When the proof is made; written in UTC to the second.
    pub created: OffsetDateTime,
    /// The verifier's challenge, for presentations.
    pub challenge: Option<String>,
    /// The verifier's domain, for presentations.
    pub domain: Option<String>,
}

/// Writes `t` as an `xsd:dateTime` in UTC without fractional seconds.
pub fn xsd_date_time(t: OffsetDateTime) -> Result<String> {
    t.to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|e| Error::Time(e.to_string()))?
        .format(&Rfc3339)
        .map_err(|e| Error::Time(e.to_string()))
}

/// The proof configuration of a proof (EdDSA Cryptosuites §3.2.5 / §3.3.5):
/// the proof without `proofValue`, carrying the document's `@context`.
///
/// `eddsa-rdfc-2022` adds the document's `@context` only to the
/// configuration; `eddsa-jcs-2022` puts it in the proof itself (§3.3.1 step
/// 2), so the configuration is the proof as written, whose `@context` must
/// then be the document's (§3.3.2 step 4; idelta requires equality rather
/// than a prefix, so no context escapes the signature).
pub fn proof_configuration(
    suite: Cryptosuite,
    document: &Map<String, Value>,
    proof: &Map<String, Value>,
) -> Result<Value> {
    let mut config = proof.clone();
    config.remove("proofValue");
    match suite {
        Cryptosuite::EddsaRdfc2022 => {
            if let Some(context) = document.get("@context") {
                config.insert("@context".into(), context.clone());
            }
        }
        Cryptosuite::EddsaJcs2022 => {
            if config.contains_key("@context") && config.get("@context") != document.get("@context") {
                return Err(Error::ContextMismatch);
            }
        }
    }
    Ok(Value::Object(config))
}

/// The data signed (EdDSA Cryptosuites §3.2.4 / §3.3.4):
/// `SHA-256(canonical proof configuration) ‖ SHA-256(canonical document)`,
/// where `unsecured` is the document without its `proof`.
pub fn hash_data(suite: Cryptosuite, unsecured: &Value, proof_config: &Value) -> Result<Vec<u8>> {
    let config_hash = Sha256::digest(suite.canonicalize(proof_config)?);
    let document_hash = Sha256::digest(suite.canonicalize(unsecured)?);
    let mut data = Vec::with_capacity(64);
    data.extend_from_slice(&config_hash);
    data.extend_from_slice(&document_hash);
    Ok(data)
}

/// Secures `document` (a credential or presentation) with a Data Integrity
/// proof signed by `signer` (VC Data Integrity 1.0 §4.2, Add Proof).
///
/// Any existing `proof` is replaced: proof sets and chains are not made here.
pub async fn add_proof(document: Value, options: ProofOptions, signer: &dyn Signer) -> Result<Value> {
    let Value::Object(mut document) = document else {
        return Err(Error::NotAnObject);
    };
    document.remove("proof");
    let mut proof = Map::new();
    proof.insert("type".into(), "DataIntegrityProof".into());
    proof.insert("cryptosuite".into(), options.cryptosuite.as_str().into());
    proof.insert("created".into(), xsd_date_time(options.created)?.into());
    proof.insert("verificationMethod".into(), options.verification_method.into());
    proof.insert("proofPurpose".into(), options.proof_purpose.as_str().into());
    if let Some(challenge) = options.challenge {
        proof.insert("challenge".into(), challenge.into());
    }
    if let Some(domain) = options.domain {
        proof.insert("domain".into(), domain.into());
    }
    if options.cryptosuite == Cryptosuite::EddsaJcs2022 {
        if let Some(context) = document.get("@context") {
            proof.insert("@context".into(), context.clone());
        }
    }
    let config = proof_configuration(options.cryptosuite, &document, &proof)?;
    let unsecured = Value::Object(document);
    let data = hash_data(options.cryptosuite, &unsecured, &config)?;
    if !matches!(signer.public_key(), idelta_types::PublicKey::Ed25519(_)) {
        return Err(Error::Sign(format!("key {} is not Ed25519", signer.key_id())));
    }
    let signature = signer.sign(&data).await.map_err(|e| Error::Sign(e.to_string()))?;
    proof.insert("proofValue".into(), multibase::encode(multibase::Base::Base58Btc, signature).into());
    let Value::Object(mut document) = unsecured else {
        return Err(Error::NotAnObject);
    };
    document.insert("proof".into(), Value::Object(proof));
    Ok(Value::Object(document))
}

#[cfg(test)]
pub(crate) mod tests;
