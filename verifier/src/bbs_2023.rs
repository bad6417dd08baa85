//! Verifying `bbs-2023` derived proofs (Data Integrity BBS Cryptosuites
//! v1.0 §3.3.7 parseDerivedProofValue, §3.3.8 createVerifyData and the
//! derived proof verification of §3.4), on credentials a holder derived
//! from an issuer's base proof.
//!
//! The verifier canonicalizes what it was shown, relabels the blank nodes
//! with the proof's label map, recomputes the mandatory hash and the proof
//! configuration hash, and checks the BBS proof (`zkryptium`, IETF
//! draft-irtf-cfrg-bbs-signatures-13, BLS12-381-SHA-256) over the disclosed
//! non-mandatory N-Quads. Each step is a named check in the [`Report`]:
//!
//! - `proof`: one `DataIntegrityProof`, cryptosuite `bbs-2023`,
//!   `proofPurpose` `assertionMethod`, a derived (`0xd95d03`) proofValue;
//! - `issuer`: the verification method resolves under `assertionMethod`, is
//!   a BLS12-381 G2 key, and is controlled by the credential's `issuer`;
//! - `signature`: the BBS proof verifies;
//! - `validity`: `validFrom` / `validUntil` against `now`;
//! - `presentationHeader`: when the verifier expects one, the proof is
//!   bound to it.
//!
//! Base proofs are refused: they are for the holder, and verifying one
//! would mean seeing every claim.

use idelta_issuer::bbs_2023::canon::nquads_with_label_map;
use idelta_issuer::bbs_2023::proof_value::{DerivedProofValue, PUBLIC_KEY_LEN};
use idelta_issuer::bbs_2023::{bbs_header, mandatory_hash, proof_hash, CRYPTOSUITE};
use idelta_types::PublicKey;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use zkryptium::bbsplus::keys::BBSplusPublicKey;
use zkryptium::schemes::algorithms::BbsBls12381Sha256;
use zkryptium::schemes::generics::PoKSignature;

use crate::data_integrity::{data_integrity_proof, party_id, validity};
use crate::report::Report;
use crate::resolver::{KeyResolver, Relationship};

/// What the verifier requires of a bbs-2023 derived proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectations {
    /// The presentation header the proof must be bound to, if any (e.g.
    /// the verifier's challenge as bytes).
    pub presentation_header: Option<Vec<u8>>,
    /// The time to check validity against.
    pub now: OffsetDateTime,
}

/// The fixed part of a BBS proof: `Abar`, `Bbar`, `D` (G1 points),
/// `e^`, `r1^`, `r3^` and the challenge (scalars).
const PROOF_FIXED_LEN: usize = 3 * 48 + 4 * 32;

/// Whether `document` carries a bbs-2023 proof, so callers can dispatch.
pub fn is_bbs_2023(document: &Value) -> bool {
    document.get("proof").and_then(|p| p.get("cryptosuite")).and_then(Value::as_str) == Some(CRYPTOSUITE)
}

/// Verifies `document`, a credential with a bbs-2023 derived proof, and
/// reports every check.
pub async fn verify(document: &Value, resolver: &dyn KeyResolver, expected: &Expectations) -> Report {
    let mut report = Report::new();
    let Some(document) = document.as_object() else {
        report.check("proof", Err("the document is not a JSON object".into()));
        return report;
    };
    let mut unsecured = document.clone();
    let proof = unsecured.remove("proof");
    let parsed = parse_proof(proof.as_ref());
    report.check("proof", parsed.as_ref().map(|_| ()).map_err(Clone::clone));

    if let Ok((proof, value)) = &parsed {
        let vm = proof.get("verificationMethod").and_then(Value::as_str).unwrap_or_default();
        let key = match resolver.resolve_key(vm, Relationship::AssertionMethod).await {
            Ok(key) => {
                let outcome = match (&key.key, party_id(document, "issuer")) {
                    (PublicKey::Bls12381G2(_), Some(id)) if id == key.controller.as_str() => Ok(()),
                    (PublicKey::Bls12381G2(_), Some(id)) => {
                        Err(format!("{vm} is controlled by {}, not by the issuer {id}", key.controller.as_str()))
                    }
                    (PublicKey::Bls12381G2(_), None) => Err("the credential names no issuer".into()),
                    (other, _) => Err(format!("{vm} is a {} key, not BLS12-381 G2", other.alg())),
                };
                let ok = outcome.is_ok();
                report.check("issuer", outcome);
                ok.then_some(key.key)
            }
            Err(e) => {
                report.check("issuer", Err(e.to_string()));
                None
            }
        };
        let signature = match key {
            Some(PublicKey::Bls12381G2(pk)) => verify_derived_proof(&unsecured, proof, value, &pk),
            _ => Err("no BLS12-381 G2 key to check the proof with".to_owned()),
        };
        report.check("signature", signature);
    }

    report.check("validity", validity(document, expected.now));
    if let Some(want) = &expected.presentation_header {
        let outcome = match &parsed {
            Ok((_, value)) if &value.presentation_header == want => Ok(()),
            Ok(_) => Err("the proof is bound to another presentation header".into()),
            Err(_) => Err("no proof to read the presentation header from".into()),
        };
        report.check("presentationHeader", outcome);
    }
    report
}

fn parse_proof(proof: Option<&Value>) -> Result<(Map<String, Value>, DerivedProofValue), String> {
    let map = data_integrity_proof(proof)?;
    let field = |key: &str| map.get(key).and_then(Value::as_str);
    if field("cryptosuite") != Some(CRYPTOSUITE) {
        return Err(format!("cryptosuite {:?} is not bbs-2023", map.get("cryptosuite")));
    }
    if field("proofPurpose") != Some("assertionMethod") {
        return Err(format!("proofPurpose {:?} is not assertionMethod", map.get("proofPurpose")));
    }
    field("verificationMethod").ok_or("the proof has no verificationMethod")?;
    let value = DerivedProofValue::decode(field("proofValue").ok_or("the proof has no proofValue")?)
        .map_err(|e| format!("{e} (a base proof is for the holder: verify a derived one)"))?;
    Ok((map, value))
}

/// Checks the BBS proof of `value` over the disclosed `unsecured` document
/// (BBS Cryptosuites §3.3.8 createVerifyData, then ProofVerify).
fn verify_derived_proof(
    unsecured: &Map<String, Value>,
    proof: &Map<String, Value>,
    value: &DerivedProofValue,
    public_key: &[u8],
) -> Result<(), String> {
    let proof_hash = proof_hash(unsecured, proof).map_err(|e| e.to_string())?;
    let nquads =
        nquads_with_label_map(&Value::Object(unsecured.clone()), &value.label_map).map_err(|e| e.to_string())?;
    let mut mandatory = Vec::new();
    let mut disclosed = Vec::new();
    for (i, nquad) in nquads.iter().enumerate() {
        if value.mandatory_indexes.contains(&(i as u64)) {
            mandatory.push(nquad.as_str());
        } else {
            disclosed.push(nquad.clone().into_bytes());
        }
    }
    if mandatory.len() != value.mandatory_indexes.len() {
        return Err("mandatoryIndexes point past the disclosed statements".into());
    }
    let header = bbs_header(&proof_hash, &mandatory_hash(mandatory));
    if disclosed.len() != value.selective_indexes.len() {
        return Err(format!(
            "{} statements are disclosed but the proof reveals {}",
            disclosed.len(),
            value.selective_indexes.len()
        ));
    }
    // zkryptium indexes by slice: check lengths and order before it does.
    let bbs_proof = &value.bbs_proof;
    if bbs_proof.len() < PROOF_FIXED_LEN || (bbs_proof.len() - PROOF_FIXED_LEN) % 32 != 0 {
        return Err(format!("a BBS proof of {} bytes is malformed", bbs_proof.len()));
    }
    let hidden = (bbs_proof.len() - PROOF_FIXED_LEN) / 32;
    let total = (hidden + disclosed.len()) as u64;
    if !value.selective_indexes.windows(2).all(|w| w[0] < w[1]) || value.selective_indexes.iter().any(|&i| i >= total) {
        return Err("selectiveIndexes must ascend and stay below the number of signed messages".into());
    }
    if public_key.len() != PUBLIC_KEY_LEN {
        return Err(format!("a BLS12-381 G2 key is {PUBLIC_KEY_LEN} bytes, not {}", public_key.len()));
    }
    let pk = BBSplusPublicKey::from_bytes(public_key).map_err(|e| format!("public key: {e}"))?;
    let pok = PoKSignature::<BbsBls12381Sha256>::from_bytes(bbs_proof).map_err(|e| format!("BBS proof: {e}"))?;
    let indexes: Vec<usize> = value.selective_indexes.iter().map(|&i| i as usize).collect();
    pok.proof_verify(&pk, Some(&disclosed), Some(&indexes), Some(header.as_slice()), Some(&value.presentation_header))
        .map_err(|e| format!("the BBS proof does not verify: {e}"))
}

#[cfg(test)]
mod tests;
