//! W3C Data Integrity `bbs-2023`: credentials the holder can disclose in
//! part, with derived proofs that verifiers cannot link to each other.
//!
//! Specification: [Data Integrity BBS Cryptosuites v1.0](https://www.w3.org/TR/vc-di-bbs/)
//! §3.3 (functions), §3.4 (base proof: transformation, hashing,
//! serialization) and §3.4.x / §3.3.5 (derived proof), reusing the
//! selective disclosure functions of Data Integrity ECDSA Cryptosuites v1.0
//! §3.4 ([`canon`], [`select`]).
//!
//! - **Issuer** ([`add_base_proof`]): canonicalizes the credential with
//!   blank node labels shuffled by a fresh HMAC key, splits the N-Quads into
//!   those the `mandatoryPointers` select and the rest, and BBS-signs the
//!   rest (one message per N-Quad) under the header
//!   `SHA-256(canonical proof configuration) ‖ SHA-256(mandatory N-Quads)`.
//!   The base `proofValue` carries the signature, header, public key, HMAC
//!   key and mandatory pointers, and goes only to the holder.
//! - **Holder** ([`derive`]): picks what to disclose with `selectivePointers`,
//!   and makes a BBS proof of knowledge of the signature that reveals only
//!   those N-Quads, bound to a presentation header (e.g. the verifier's
//!   challenge). The derived document carries only the selected claims.
//! - **Verifier**: `idelta_verifier::bbs_2023`, with [`canon::nquads_with_label_map`]
//!   and [`proof_value::DerivedProofValue`] from here.
//!
//! The BBS scheme is `zkryptium`'s implementation of IETF
//! draft-irtf-cfrg-bbs-signatures-13 with the ciphersuite
//! `BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_` (the one bbs-2023 requires); its
//! signatures and proofs are those of Digital Bazaar's
//! `@digitalbazaar/bbs-signatures` 3.0 (checked in tests/interop/bbs).
//!
//! Keys: the issuer's BLS12-381 G2 secret stays in the company's askar
//! wallet; [`BbsSecretKey`] holds it only for the time of one signature.
//! `created` is left out of proofs: a timestamp in every disclosure would
//! link them.

pub mod canon;
pub mod proof_value;
pub mod select;

use rand::RngCore;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;
use zkryptium::bbsplus::keys::{BBSplusPublicKey, BBSplusSecretKey};
use zkryptium::keys::pair::KeyPair;
use zkryptium::schemes::algorithms::BbsBls12381Sha256;
use zkryptium::schemes::generics::{PoKSignature, Signature};

use crate::data_integrity::rdfc::{canonical_nquads_of, to_dataset_safe};
use proof_value::{BaseProofValue, DerivedProofValue, HMAC_KEY_LEN, PUBLIC_KEY_LEN};

/// The `cryptosuite` name.
pub const CRYPTOSUITE: &str = "bbs-2023";

/// Why a bbs-2023 proof could not be made, derived or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Returned when the document is not a JSON object.
    #[error("the document must be a JSON object")]
    NotAnObject,
    /// Returned when a JSON pointer is malformed or matches nothing.
    #[error("JSON pointer: {0}")]
    Pointer(String),
    /// Returned when JSON-LD to RDF or RDFC-1.0 fails (e.g. a context that is not bundled).
    #[error("canonicalization failed: {0}")]
    Canonicalization(String),
    /// Returned when the document uses JSON-LD bbs-2023 cannot select from.
    #[error("unsupported document: {0}")]
    Unsupported(String),
    /// Returned when the document has no bbs-2023 base proof to derive from.
    #[error("no bbs-2023 base proof: {0}")]
    NoBaseProof(String),
    /// Returned when a `proofValue` is not a well-formed bbs-2023 value.
    #[error("invalid proofValue: {0}")]
    ProofValue(String),
    /// Returned when neither mandatory nor selective pointers select anything to disclose.
    #[error("nothing is selected for disclosure")]
    NothingDisclosed,
    /// Returned when a secret or public key is not a valid BLS12-381 key.
    #[error("invalid key: {0}")]
    Key(String),
    /// Returned when BBS signing or proof generation fails.
    #[error("signing failed: {0}")]
    Sign(String),
}

impl From<crate::data_integrity::Error> for Error {
    fn from(e: crate::data_integrity::Error) -> Error {
        Error::Canonicalization(e.to_string())
    }
}

/// `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A BLS12-381 secret key for BBS signatures, with its public key.
///
/// Built from the wallet's secret for one signature and dropped after it;
/// the copy of the secret bytes given to [`BbsSecretKey::from_bytes`] is
/// the caller's to zeroize (the wallet hands out `Zeroizing` buffers).
pub struct BbsSecretKey {
    secret: BBSplusSecretKey,
    public: BBSplusPublicKey,
}

impl std::fmt::Debug for BbsSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BbsSecretKey").field("public", &self.public_key_multibase()).finish_non_exhaustive()
    }
}

impl BbsSecretKey {
    /// The key whose secret scalar is `secret`: 32 bytes, big-endian
    /// (BBS draft §3.4 `OS2IP`, as Digital Bazaar and askar's `bls12381g2`
    /// export it).
    pub fn from_bytes(secret: &[u8]) -> Result<BbsSecretKey> {
        let secret = BBSplusSecretKey::from_bytes(secret).map_err(|e| Error::Key(e.to_string()))?;
        let public = secret.public_key();
        Ok(BbsSecretKey { secret, public })
    }

    /// A fresh random key (BBS draft §3.4.1 KeyGen from 64 random bytes).
    pub fn generate() -> Result<BbsSecretKey> {
        let mut ikm = Zeroizing::new([0u8; 64]);
        rand::thread_rng().fill_bytes(ikm.as_mut());
        let (secret, public) = KeyPair::<BbsBls12381Sha256>::generate(ikm.as_ref(), None, None)
            .map_err(|e| Error::Key(e.to_string()))?
            .into_parts();
        Ok(BbsSecretKey { secret, public })
    }

    /// The secret scalar, big-endian (to store in a wallet).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The compressed G2 public key.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.public.to_bytes()
    }

    /// The public key as a Multikey `publicKeyMultibase` (`zUC7…`).
    pub fn public_key_multibase(&self) -> String {
        idelta_types::PublicKey::Bls12381G2(self.public_key().to_vec()).to_multibase()
    }
}

/// Options of a base proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseProofOptions {
    /// The verification method id (`did:…#…`) of the issuer's BLS12-381 G2 key.
    pub verification_method: String,
    /// JSON pointers to what every disclosure must reveal (e.g. `/issuer`).
    pub mandatory_pointers: Vec<String>,
}

/// `SHA-256` of the canonical proof configuration: the proof without
/// `proofValue`, with the document's `@context` (BBS Cryptosuites §3.4.4).
pub fn proof_hash(document: &Map<String, Value>, proof: &Map<String, Value>) -> Result<[u8; 32]> {
    let mut config = proof.clone();
    config.remove("proofValue");
    if let Some(context) = document.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    Ok(Sha256::digest(canonical_nquads_of(&to_dataset_safe(&Value::Object(config))?)?).into())
}

/// `SHA-256` of the concatenated mandatory N-Quads (§3.3.x hashMandatoryNQuads).
pub fn mandatory_hash<'a>(mandatory: impl IntoIterator<Item = &'a str>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for nquad in mandatory {
        hasher.update(nquad.as_bytes());
    }
    hasher.finalize().into()
}

/// The bbs header: `proofHash ‖ mandatoryHash`.
pub fn bbs_header(proof_hash: &[u8; 32], mandatory_hash: &[u8; 32]) -> [u8; 64] {
    let mut header = [0u8; 64];
    header[..32].copy_from_slice(proof_hash);
    header[32..].copy_from_slice(mandatory_hash);
    header
}

/// Secures `document` (a credential) with a bbs-2023 base proof signed by
/// `key` (BBS Cryptosuites §3.4.1–§3.4.5). Any existing `proof` is replaced.
pub fn add_base_proof(document: Value, options: &BaseProofOptions, key: &BbsSecretKey) -> Result<Value> {
    let Value::Object(mut document) = document else {
        return Err(Error::NotAnObject);
    };
    document.remove("proof");
    let mut proof = Map::new();
    proof.insert("type".into(), "DataIntegrityProof".into());
    proof.insert("cryptosuite".into(), CRYPTOSUITE.into());
    proof.insert("verificationMethod".into(), options.verification_method.clone().into());
    proof.insert("proofPurpose".into(), "assertionMethod".into());
    let proof_hash = proof_hash(&document, &proof)?;

    let mut hmac_key = Zeroizing::new([0u8; HMAC_KEY_LEN]);
    rand::thread_rng().fill_bytes(hmac_key.as_mut());
    let unsecured = Value::Object(document);
    let grouped = canon::canonicalize_and_group(&unsecured, hmac_key.as_ref(), &[&options.mandatory_pointers])?;
    let mandatory = &grouped.groups[0].matching;
    let (mandatory_nquads, messages): (Vec<_>, Vec<_>) =
        grouped.nquads.iter().enumerate().partition(|(i, _)| mandatory.contains(i));
    let header = bbs_header(&proof_hash, &mandatory_hash(mandatory_nquads.iter().map(|(_, q)| q.as_str())));
    let messages: Vec<Vec<u8>> = messages.into_iter().map(|(_, q)| q.clone().into_bytes()).collect();
    let signature =
        Signature::<BbsBls12381Sha256>::sign(Some(&messages), &key.secret, &key.public, Some(header.as_slice()))
            .map_err(|e| Error::Sign(e.to_string()))?;

    let value = BaseProofValue {
        signature: signature.to_bytes(),
        bbs_header: header,
        public_key: key.public_key(),
        hmac_key: *hmac_key,
        mandatory_pointers: options.mandatory_pointers.clone(),
    };
    proof.insert("proofValue".into(), value.encode()?.into());
    let Value::Object(mut document) = unsecured else {
        return Err(Error::NotAnObject);
    };
    document.insert("proof".into(), Value::Object(proof));
    Ok(Value::Object(document))
}

/// Derives from `secured` (a credential with a bbs-2023 base proof) a
/// credential disclosing only what the base proof's mandatory pointers and
/// `selective_pointers` select, with a derived proof bound to
/// `presentation_header` (BBS Cryptosuites §3.3.5 createDisclosureData,
/// §3.3.6, and Add Derived Proof).
pub fn derive(secured: &Value, selective_pointers: &[String], presentation_header: &[u8]) -> Result<Value> {
    let Value::Object(document) = secured else {
        return Err(Error::NotAnObject);
    };
    let mut unsecured = document.clone();
    let proof = match unsecured.remove("proof") {
        Some(Value::Object(proof)) => proof,
        Some(_) => return Err(Error::NoBaseProof("`proof` must be one proof object".into())),
        None => return Err(Error::NoBaseProof("the document has no `proof`".into())),
    };
    if proof.get("cryptosuite").and_then(Value::as_str) != Some(CRYPTOSUITE) {
        return Err(Error::NoBaseProof("the proof's cryptosuite is not bbs-2023".into()));
    }
    let proof_value = proof
        .get("proofValue")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::NoBaseProof("the proof has no proofValue".into()))?;
    let base = BaseProofValue::decode(proof_value)?;
    if base.mandatory_pointers.is_empty() && selective_pointers.is_empty() {
        return Err(Error::NothingDisclosed);
    }

    let combined: Vec<String> = base.mandatory_pointers.iter().chain(selective_pointers).cloned().collect();
    let unsecured = Value::Object(unsecured);
    let grouped = canon::canonicalize_and_group(
        &unsecured,
        &base.hmac_key,
        &[&base.mandatory_pointers, selective_pointers, &combined],
    )?;
    let [mandatory, selective, combined_group] = [&grouped.groups[0], &grouped.groups[1], &grouped.groups[2]];

    // Mandatory N-Quads by position among the disclosed ones; selected
    // N-Quads by position among the signed (non-mandatory) messages.
    let mandatory_indexes = positions(combined_group.matching.iter(), |i| mandatory.matching.contains(i));
    let non_mandatory: Vec<usize> = (0..grouped.nquads.len()).filter(|i| !mandatory.matching.contains(i)).collect();
    let selective_indexes = positions(non_mandatory.iter(), |i| selective.matching.contains(i));
    let messages: Vec<Vec<u8>> = non_mandatory.iter().map(|&i| grouped.nquads[i].clone().into_bytes()).collect();

    let mut reveal = select::select(&unsecured, &combined)?.ok_or(Error::NothingDisclosed)?;
    // The verifier will see the canonical labels of the disclosed dataset;
    // tell it which shuffled label each stands for.
    let mut label_map = std::collections::BTreeMap::new();
    for (input, c14n) in canon::canonical_ids(&combined_group.selection)? {
        let c14n = c14n.strip_prefix("c14n").and_then(|n| n.parse::<u64>().ok());
        let shuffled = grouped.labels.get(&input).and_then(|b| b.strip_prefix('b')).and_then(|n| n.parse().ok());
        let (Some(c14n), Some(shuffled)) = (c14n, shuffled) else {
            return Err(Error::Canonicalization(format!("blank node {input} has no shuffled label")));
        };
        label_map.insert(c14n, shuffled);
    }

    let public = BBSplusPublicKey::from_bytes(&base.public_key).map_err(|e| Error::Key(e.to_string()))?;
    let indexes: Vec<usize> = selective_indexes.iter().map(|&i| i as usize).collect();
    let bbs_proof = PoKSignature::<BbsBls12381Sha256>::proof_gen(
        &public,
        &base.signature,
        Some(base.bbs_header.as_slice()),
        Some(presentation_header),
        Some(&messages),
        Some(&indexes),
    )
    .map_err(|e| Error::Sign(e.to_string()))?;

    let derived = DerivedProofValue {
        bbs_proof: bbs_proof.to_bytes(),
        label_map,
        mandatory_indexes,
        selective_indexes,
        presentation_header: presentation_header.to_vec(),
    };
    let mut new_proof = proof;
    new_proof.remove("@context");
    new_proof.insert("proofValue".into(), derived.encode()?.into());
    if let Value::Object(map) = &mut reveal {
        map.insert("proof".into(), Value::Object(new_proof));
    }
    Ok(reveal)
}

/// The positions, within `items`, of those that `keep` accepts.
fn positions<'a>(items: impl Iterator<Item = &'a usize>, keep: impl Fn(&usize) -> bool) -> Vec<u64> {
    items.enumerate().filter(|(_, i)| keep(i)).map(|(pos, _)| pos as u64).collect()
}

#[cfg(test)]
mod tests;
