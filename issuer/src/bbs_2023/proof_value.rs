//! The `proofValue` of bbs-2023 proofs (Data Integrity BBS Cryptosuites
//! v1.0 §3.3.2 serializeBaseProofValue, §3.3.3 parseBaseProofValue, §3.3.6
//! serializeDerivedProofValue, §3.3.7 parseDerivedProofValue): multibase
//! base64url without padding of a three-byte header (CBOR tag 0x5d02 for a
//! base proof, 0x5d03 for a derived one) followed by a CBOR array.
//!
//! Byte strings are CBOR major type 2; tag 64 (a typed array of bytes, as
//! some encoders write a `Uint8Array`) is accepted when reading.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ciborium::Value as Cbor;

use super::{Error, Result};

/// Header of a base proof value.
const BASE_HEADER: [u8; 3] = [0xd9, 0x5d, 0x02];
/// Header of a derived (disclosure) proof value.
pub const DERIVED_HEADER: [u8; 3] = [0xd9, 0x5d, 0x03];

/// Length of a BBS signature (BLS12-381: a G1 point and a scalar).
pub const SIGNATURE_LEN: usize = 80;
/// Length of a compressed BLS12-381 G2 public key.
pub const PUBLIC_KEY_LEN: usize = 96;
/// Length of the bbs header: `proofHash ‖ mandatoryHash`.
const BBS_HEADER_LEN: usize = 64;
/// Length of the HMAC key that shuffles blank node labels.
pub const HMAC_KEY_LEN: usize = 32;

/// The components of a base proof value, which only the holder sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseProofValue {
    /// The BBS signature over the non-mandatory N-Quads.
    pub signature: [u8; SIGNATURE_LEN],
    /// `SHA-256(canonical proof configuration) ‖ SHA-256(mandatory N-Quads)`.
    pub bbs_header: [u8; BBS_HEADER_LEN],
    /// The issuer's BLS12-381 G2 public key.
    pub public_key: [u8; PUBLIC_KEY_LEN],
    /// The key of the HMAC that relabels blank nodes.
    pub hmac_key: [u8; HMAC_KEY_LEN],
    /// JSON pointers to what every derived proof must disclose.
    pub mandatory_pointers: Vec<String>,
}

/// The components of a derived proof value, which the verifier sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivedProofValue {
    /// The BBS proof of knowledge of the signature.
    pub bbs_proof: Vec<u8>,
    /// Canonical blank node label `c14nN` of the disclosed document → the
    /// issuer's shuffled label `bM`, stored as N → M.
    pub label_map: BTreeMap<u64, u64>,
    /// Which disclosed N-Quads (indexes in sorted order) are mandatory.
    pub mandatory_indexes: Vec<u64>,
    /// Which signed non-mandatory messages are disclosed.
    pub selective_indexes: Vec<u64>,
    /// The presentation header bound into the BBS proof.
    pub presentation_header: Vec<u8>,
}

impl BaseProofValue {
    /// The multibase `proofValue`.
    pub fn encode(&self) -> Result<String> {
        let payload = Cbor::Array(vec![
            Cbor::Bytes(self.signature.to_vec()),
            Cbor::Bytes(self.bbs_header.to_vec()),
            Cbor::Bytes(self.public_key.to_vec()),
            Cbor::Bytes(self.hmac_key.to_vec()),
            Cbor::Array(self.mandatory_pointers.iter().cloned().map(Cbor::Text).collect()),
        ]);
        encode(&BASE_HEADER, &payload)
    }

    /// Parses a base `proofValue`.
    pub fn decode(text: &str) -> Result<BaseProofValue> {
        let items = decode(text, &BASE_HEADER, "base")?;
        let [signature, bbs_header, public_key, hmac_key, pointers] = <[Cbor; 5]>::try_from(items)
            .map_err(|_| Error::ProofValue("a base proof value has five components".into()))?;
        Ok(BaseProofValue {
            signature: fixed(signature, "bbsSignature")?,
            bbs_header: fixed(bbs_header, "bbsHeader")?,
            public_key: fixed(public_key, "publicKey")?,
            hmac_key: fixed(hmac_key, "hmacKey")?,
            mandatory_pointers: array(pointers, "mandatoryPointers")?
                .into_iter()
                .map(|p| p.into_text().map_err(|_| Error::ProofValue("mandatoryPointers must be strings".into())))
                .collect::<Result<_>>()?,
        })
    }
}

impl DerivedProofValue {
    /// The multibase `proofValue`.
    pub fn encode(&self) -> Result<String> {
        let int = |n: u64| Cbor::Integer(n.into());
        let payload = Cbor::Array(vec![
            Cbor::Bytes(self.bbs_proof.clone()),
            Cbor::Map(self.label_map.iter().map(|(&k, &v)| (int(k), int(v))).collect()),
            Cbor::Array(self.mandatory_indexes.iter().copied().map(int).collect()),
            Cbor::Array(self.selective_indexes.iter().copied().map(int).collect()),
            Cbor::Bytes(self.presentation_header.clone()),
        ]);
        encode(&DERIVED_HEADER, &payload)
    }

    /// Parses a derived `proofValue`.
    pub fn decode(text: &str) -> Result<DerivedProofValue> {
        let items = decode(text, &DERIVED_HEADER, "derived")?;
        let [bbs_proof, label_map, mandatory, selective, ph] = <[Cbor; 5]>::try_from(items)
            .map_err(|_| Error::ProofValue("a derived proof value has five components".into()))?;
        let Cbor::Map(entries) = label_map else {
            return Err(Error::ProofValue("the label map must be a CBOR map".into()));
        };
        let mut map = BTreeMap::new();
        for (k, v) in entries {
            if map.insert(uint(k, "label map")?, uint(v, "label map")?).is_some() {
                return Err(Error::ProofValue("the label map repeats a label".into()));
            }
        }
        let indexes = |value: Cbor, what: &str| -> Result<Vec<u64>> {
            array(value, what)?.into_iter().map(|i| uint(i, what)).collect()
        };
        Ok(DerivedProofValue {
            bbs_proof: bytes(bbs_proof, "bbsProof")?,
            label_map: map,
            mandatory_indexes: indexes(mandatory, "mandatoryIndexes")?,
            selective_indexes: indexes(selective, "selectiveIndexes")?,
            presentation_header: bytes(ph, "presentationHeader")?,
        })
    }
}

fn encode(header: &[u8; 3], payload: &Cbor) -> Result<String> {
    let mut out = header.to_vec();
    ciborium::into_writer(payload, &mut out).map_err(|e| Error::ProofValue(format!("CBOR: {e}")))?;
    Ok(format!("u{}", URL_SAFE_NO_PAD.encode(out)))
}

fn decode(text: &str, header: &[u8; 3], kind: &str) -> Result<Vec<Cbor>> {
    let b64 = text
        .strip_prefix('u')
        .ok_or_else(|| Error::ProofValue("proofValue must be multibase base64url (`u…`)".into()))?;
    let raw = URL_SAFE_NO_PAD.decode(b64).map_err(|e| Error::ProofValue(format!("base64url: {e}")))?;
    let payload = raw
        .strip_prefix(header.as_slice())
        .ok_or_else(|| Error::ProofValue(format!("proofValue is not a bbs-2023 {kind} proof")))?;
    let value: Cbor = ciborium::from_reader(payload).map_err(|e| Error::ProofValue(format!("CBOR: {e}")))?;
    array(value, "proofValue")
}

/// The value inside a tag 64 (typed byte array), or the value itself.
fn untag(value: Cbor) -> Cbor {
    match value {
        Cbor::Tag(64, inner) => *inner,
        other => other,
    }
}

fn bytes(value: Cbor, what: &str) -> Result<Vec<u8>> {
    untag(value).into_bytes().map_err(|_| Error::ProofValue(format!("{what} must be a byte string")))
}

fn fixed<const N: usize>(value: Cbor, what: &str) -> Result<[u8; N]> {
    let raw = bytes(value, what)?;
    <[u8; N]>::try_from(raw.as_slice()).map_err(|_| Error::ProofValue(format!("{what} must be {N} bytes")))
}

fn array(value: Cbor, what: &str) -> Result<Vec<Cbor>> {
    value.into_array().map_err(|_| Error::ProofValue(format!("{what} must be a CBOR array")))
}

fn uint(value: Cbor, what: &str) -> Result<u64> {
    value
        .as_integer()
        .and_then(|i| u64::try_from(i).ok())
        .ok_or_else(|| Error::ProofValue(format!("{what} must hold unsigned integers")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn base_and_derived_values_round_trip_and_are_told_apart() {
        let base = BaseProofValue {
            signature: [1; SIGNATURE_LEN],
            bbs_header: [2; BBS_HEADER_LEN],
            public_key: [3; PUBLIC_KEY_LEN],
            hmac_key: [4; HMAC_KEY_LEN],
            mandatory_pointers: vec!["/issuer".into(), "/credentialSubject/id".into()],
        };
        let text = base.encode().unwrap();
        assert!(text.starts_with("u2V0C"), "{text}");
        assert_eq!(BaseProofValue::decode(&text).unwrap(), base);
        assert!(DerivedProofValue::decode(&text).is_err());

        let derived = DerivedProofValue {
            bbs_proof: vec![5; 272],
            label_map: BTreeMap::from([(0, 2), (1, 0), (2, 1)]),
            mandatory_indexes: vec![0, 3],
            selective_indexes: vec![1],
            presentation_header: b"challenge".to_vec(),
        };
        let text = derived.encode().unwrap();
        assert!(text.starts_with("u2V0D"), "{text}");
        assert_eq!(DerivedProofValue::decode(&text).unwrap(), derived);
        assert!(BaseProofValue::decode(&text).is_err());
    }

    #[test]
    fn malformed_values_are_errors() {
        for bad in ["", "z2V0C", "u", "u2V0C", "u____", "u2V0DgA"] {
            assert!(DerivedProofValue::decode(bad).is_err(), "{bad}");
            assert!(BaseProofValue::decode(bad).is_err(), "{bad}");
        }
    }
}
