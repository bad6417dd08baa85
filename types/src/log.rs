//! Wire formats of the transparency log (design.md §9, RFC 6962 §3–§4).
//!
//! A *leaf input* is `0x01 ‖ timestamp (u64, big-endian milliseconds since
//! the Unix epoch) ‖ JCS(signed transaction)`: the version byte lets the
//! format evolve, the timestamp is the batch time the proposer stamped, so a
//! `versionTime` answer is itself covered by the proof.
//!
//! Signed tree heads are signed over RFC 6962 §3.5's `TreeHeadSignature`
//! (`version v1 ‖ tree_hash ‖ timestamp ‖ tree_size ‖ sha256_root_hash`),
//! by the node's Ed25519 key, named as a `did:key`.

use crate::canonical::b64;
use crate::error::{Error, Result};
use crate::merkle::Hash;
use crate::multikey::PublicKey;
use crate::tx::SignedTransaction;
use serde::{Deserialize, Serialize};

/// Version byte of the current leaf input format.
pub const LEAF_VERSION: u8 = 1;

/// A decoded leaf input.
#[derive(Clone, Debug, PartialEq)]
pub struct LeafInput {
    /// Batch time, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The accepted transaction.
    pub tx: SignedTransaction,
}

impl LeafInput {
    /// Encodes a leaf from the transaction's canonical bytes.
    pub fn encode(timestamp_ms: u64, canonical_tx: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + canonical_tx.len());
        out.push(LEAF_VERSION);
        out.extend_from_slice(&timestamp_ms.to_be_bytes());
        out.extend_from_slice(canonical_tx);
        out
    }

    /// Decodes a leaf, checking that the transaction bytes are canonical:
    /// a leaf whose JSON is not JCS was not written by a correct node.
    pub fn decode(bytes: &[u8]) -> Result<LeafInput> {
        let malformed = |m: &str| Error::MalformedTransaction(format!("leaf input: {m}"));
        let (version, rest) = bytes.split_first().ok_or_else(|| malformed("empty"))?;
        if *version != LEAF_VERSION {
            return Err(malformed("unknown version byte"));
        }
        let ts: [u8; 8] =
            rest.get(..8).and_then(|s| s.try_into().ok()).ok_or_else(|| malformed("truncated timestamp"))?;
        let body = rest.get(8..).unwrap_or_default();
        let tx: SignedTransaction = serde_json::from_slice(body).map_err(|e| malformed(&e.to_string()))?;
        if tx.canonical_bytes()? != body {
            return Err(malformed("transaction bytes are not canonical JCS"));
        }
        Ok(LeafInput { timestamp_ms: u64::from_be_bytes(ts), tx })
    }
}

/// The bytes a tree head signature covers (RFC 6962 §3.5).
pub fn tree_head_signing_input(timestamp_ms: u64, tree_size: u64, root: &Hash) -> [u8; 50] {
    let mut out = [0u8; 50];
    out[0] = 0; // version v1
    out[1] = 1; // signature_type tree_hash
    out[2..10].copy_from_slice(&timestamp_ms.to_be_bytes());
    out[10..18].copy_from_slice(&tree_size.to_be_bytes());
    out[18..50].copy_from_slice(root);
    out
}

/// The `did:key` that names a node's signing key.
pub fn node_signer_id(key: &PublicKey) -> String {
    format!("did:key:{}", key.to_multibase())
}

/// A signature on a tree head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SthSignature {
    /// The node key, as `did:key:z6Mk…`.
    pub signer: String,
    /// `EdDSA`.
    pub alg: String,
    /// base64 signature over [`tree_head_signing_input`].
    pub signature: String,
}

/// `GET /v1/log/sth`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTreeHead {
    /// Number of leaves.
    pub tree_size: u64,
    /// Milliseconds since the Unix epoch when the head was signed.
    pub timestamp: u64,
    /// base64 Merkle tree hash.
    pub sha256_root_hash: String,
    /// Node signatures.
    pub signatures: Vec<SthSignature>,
}

impl SignedTreeHead {
    /// The root hash.
    pub fn root(&self) -> Result<Hash> {
        b64::decode_hash("sha256_root_hash", &self.sha256_root_hash)
    }

    /// Checks that `key` signed this head.
    pub fn verify(&self, key: &PublicKey) -> Result<()> {
        let signer = node_signer_id(key);
        let sig = self
            .signatures
            .iter()
            .find(|s| s.signer == signer)
            .ok_or_else(|| Error::InvalidSignature(format!("tree head carries no signature by {signer}")))?;
        if sig.alg != "EdDSA" {
            return Err(Error::InvalidSignature(format!("tree head signature alg `{}` is not EdDSA", sig.alg)));
        }
        let bytes = b64::decode("signatures[].signature", &sig.signature)?;
        key.verify(&tree_head_signing_input(self.timestamp, self.tree_size, &self.root()?), &bytes)
    }
}

/// `GET /v1/log/entries/{leaf_index}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Position in the log.
    pub leaf_index: u64,
    /// base64 of exactly the bytes hashed into the leaf.
    pub leaf_input: String,
    /// The transaction, decoded for convenience.
    pub tx: SignedTransaction,
    /// Batch time, milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// `GET /v1/log/proof/inclusion`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The leaf proved.
    pub leaf_index: u64,
    /// The tree it is proved in.
    pub tree_size: u64,
    /// base64 hashes, RFC 6962 §2.1.1.
    pub audit_path: Vec<String>,
}

/// `GET /v1/log/proof/consistency`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The older tree size.
    pub first: u64,
    /// The newer tree size.
    pub second: u64,
    /// base64 hashes, RFC 6962 §2.1.2.
    pub consistency: Vec<String>,
}

/// Decodes a list of base64 hashes.
pub fn decode_hashes(field: &'static str, items: &[String]) -> Result<Vec<Hash>> {
    items.iter().map(|h| b64::decode_hash(field, h)).collect()
}

/// The answer to a transaction submission, sent once the write is durable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Where the transaction sits in the log.
    pub leaf_index: u64,
    /// base64 `SHA-256(0x00 ‖ leaf_input)`.
    pub leaf_hash: String,
    /// Batch time, milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Size of the tree that first contained the leaf.
    pub tree_size: u64,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::did::Did;
    use crate::tx::{DidDeactivate, TxType};
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn leaf_round_trip_and_tamper_detection() {
        let did: Did = "did:web:example.com".parse().unwrap();
        let tx = SignedTransaction::new(TxType::DidDeactivate, did, 1, &DidDeactivate {}, None).unwrap();
        let bytes = LeafInput::encode(1234, &tx.canonical_bytes().unwrap());
        let leaf = LeafInput::decode(&bytes).unwrap();
        assert_eq!((leaf.timestamp_ms, &leaf.tx), (1234, &tx));
        let pretty = LeafInput::encode(1, &serde_json::to_vec_pretty(&tx).unwrap());
        assert!(LeafInput::decode(&pretty).is_err());
        assert!(LeafInput::decode(&[2]).is_err());
        assert!(LeafInput::decode(&[1, 0, 0]).is_err());
    }

    #[test]
    fn tree_head_signature_checks() {
        let sk = SigningKey::from_bytes(&[5u8; 32]);
        let pk = PublicKey::Ed25519(sk.verifying_key());
        let root = [1u8; 32];
        let sig = sk.sign(&tree_head_signing_input(9, 3, &root));
        let mut sth = SignedTreeHead {
            tree_size: 3,
            timestamp: 9,
            sha256_root_hash: b64::encode(root),
            signatures: vec![SthSignature {
                signer: node_signer_id(&pk),
                alg: "EdDSA".into(),
                signature: b64::encode(sig.to_bytes()),
            }],
        };
        sth.verify(&pk).unwrap();
        sth.tree_size = 4;
        assert!(sth.verify(&pk).is_err());
        let other = PublicKey::Ed25519(SigningKey::from_bytes(&[6u8; 32]).verifying_key());
        assert!(sth.verify(&other).is_err());
    }
}
