//! Admission: from untrusted bytes to a transaction the state machine can
//! judge (tessera's "personality" layer, kept apart from the log).
//!
//! Admission checks everything that needs no ledger state — JSON shape,
//! size, DID syntax, signature encoding, the typed payload — and computes
//! the canonical bytes once. It may also pre-verify signatures against the
//! committed state on the caller's thread ([`crate::state::auth::preverify`]),
//! which spreads the Ed25519 work over all cores while the single
//! sequencer only confirms the result.

use crate::error::Rejection;
use ed25519_dalek::{Signature, VerifyingKey};
use idelta_types::loyalty::{did_key_may_author, LoyaltyOp};
use idelta_types::tx::{DidCreate, DidUpdate, Genesis, ObjectPut, RoleGrant, RoleRevoke, MAX_TX_BYTES};
use idelta_types::{Did, DidDocument, DidUrl, PublicKey, SignedTransaction, TxType};

/// Most signatures one transaction may carry.
pub const MAX_SIGNATURES: usize = 8;

/// The typed operation of a transaction.
#[derive(Debug, Clone)]
pub enum Operation {
    /// See [`TxType::Genesis`].
    Genesis(Genesis),
    /// See [`TxType::DidCreate`].
    DidCreate(DidCreate),
    /// See [`TxType::DidUpdate`].
    DidUpdate(DidUpdate),
    /// See [`TxType::DidDeactivate`].
    DidDeactivate,
    /// See [`TxType::RoleGrant`].
    RoleGrant(RoleGrant),
    /// See [`TxType::RoleRevoke`].
    RoleRevoke(RoleRevoke),
    /// See [`TxType::ObjectPut`].
    ObjectPut(ObjectPut),
    /// A loyalty transaction (`token.*`, `account.close`, `benefit.*`,
    /// `unit.*`, `market.*`), already checked by [`LoyaltyOp::from_tx`].
    Loyalty(LoyaltyOp),
}

/// A decoded signature.
#[derive(Debug, Clone)]
pub struct ParsedSignature {
    /// The DID that signed.
    pub signer: Did,
    /// The verification method id (`did#fragment`).
    pub vm_id: String,
    /// The signature.
    pub signature: Signature,
}

/// A transaction that passed admission.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The transaction as submitted.
    pub tx: SignedTransaction,
    /// Its typed operation.
    pub op: Operation,
    /// JCS of the whole signed transaction: what goes into the leaf.
    pub canonical: Vec<u8>,
    /// JCS without signatures: what the signatures cover.
    pub signing_input: Vec<u8>,
    /// The decoded signatures, in order.
    pub sigs: Vec<ParsedSignature>,
    /// Controller keys of the document a `did.create` or `did.update`
    /// carries, validated at admission (it needs no state), so the single
    /// sequencer thread never parses a key.
    pub document_keys: Vec<(String, VerifyingKey)>,
    /// The key a `did:key` author's DID encodes, with its only vm id
    /// `did:key:z…#z…`, decoded at admission like `document_keys`.
    pub author_key: Option<(String, VerifyingKey)>,
    /// `(signature index, key)` pairs already verified; the state machine
    /// skips recomputing those (same inputs, same answer).
    pub(crate) preverified: Vec<(usize, [u8; 32])>,
}

/// Validates `doc` as the document of `did` (docs/did-method.md §3) and
/// returns its controller keys, which are Ed25519 by that rule.
pub(crate) fn validated_keys(doc: &DidDocument, did: &Did) -> Result<Vec<(String, VerifyingKey)>, Rejection> {
    let keys = doc.validate(did).map_err(|e| Rejection::InvalidDocument(e.to_string()))?;
    keys.into_iter()
        .map(|(id, key)| match key {
            PublicKey::Ed25519(vk) => Ok((id, vk)),
            PublicKey::Bls12381G2(_) => {
                Err(Rejection::InvalidDocument(format!("controller key `{id}` must be Ed25519")))
            }
        })
        .collect()
}

/// Parses and admits a transaction from a request body.
pub fn admit_json(body: &[u8]) -> Result<Admitted, Rejection> {
    if body.len() > 2 * MAX_TX_BYTES {
        return Err(Rejection::Malformed(format!("body exceeds {} bytes", 2 * MAX_TX_BYTES)));
    }
    let tx: SignedTransaction = serde_json::from_slice(body).map_err(|e| Rejection::Malformed(e.to_string()))?;
    admit(tx)
}

/// Admits a parsed transaction.
pub fn admit(tx: SignedTransaction) -> Result<Admitted, Rejection> {
    let malformed = |m: String| Rejection::Malformed(m);
    let author_key = author_key(&tx)?;
    if let Some(e) = &tx.endorser {
        if !e.is_idelta() {
            return Err(malformed(format!("endorser {e} must be a did:idelta DID")));
        }
        if *e == tx.author {
            return Err(malformed("an author cannot endorse its own transaction".into()));
        }
    }
    if tx.seq == 0 {
        return Err(malformed("seq starts at 1".into()));
    }
    if tx.signatures.is_empty() {
        return Err(Rejection::BadSignature("the transaction carries no signature".into()));
    }
    if tx.signatures.len() > MAX_SIGNATURES {
        return Err(malformed(format!("at most {MAX_SIGNATURES} signatures")));
    }
    let mut sigs = Vec::with_capacity(tx.signatures.len());
    for s in &tx.signatures {
        if s.alg != "EdDSA" {
            return Err(Rejection::BadSignature(format!("alg `{}` is not allowed: only EdDSA", s.alg)));
        }
        let url: DidUrl = s.signer.parse().map_err(|e| Rejection::BadSignature(format!("signer: {e}")))?;
        if url.fragment.is_none() || !url.query.is_empty() {
            return Err(Rejection::BadSignature(format!("signer `{}` must be a `did#fragment` key id", s.signer)));
        }
        let bytes = s.bytes().map_err(|e| Rejection::BadSignature(e.to_string()))?;
        let signature = Signature::from_slice(&bytes).map_err(|_| {
            Rejection::BadSignature(format!("signature of {} must be 64 bytes, got {}", s.signer, bytes.len()))
        })?;
        sigs.push(ParsedSignature { signer: url.did, vm_id: s.signer.clone(), signature });
    }
    let op = match tx.tx_type {
        TxType::Genesis => Operation::Genesis(payload(&tx)?),
        TxType::DidCreate => Operation::DidCreate(payload(&tx)?),
        TxType::DidUpdate => Operation::DidUpdate(payload(&tx)?),
        TxType::DidDeactivate => {
            payload::<idelta_types::tx::DidDeactivate>(&tx)?;
            Operation::DidDeactivate
        }
        TxType::RoleGrant => Operation::RoleGrant(payload(&tx)?),
        TxType::RoleRevoke => Operation::RoleRevoke(payload(&tx)?),
        TxType::ObjectPut => Operation::ObjectPut(payload(&tx)?),
        other => match LoyaltyOp::from_tx(&tx).map_err(|e| malformed(e.to_string()))? {
            Some(op) => Operation::Loyalty(op),
            None => return Err(malformed(format!("transaction type {other} is not supported by this node"))),
        },
    };
    let canonical = tx.canonical_bytes().map_err(|e| malformed(e.to_string()))?;
    if canonical.len() > MAX_TX_BYTES {
        return Err(malformed(format!("transaction is {} bytes; the limit is {MAX_TX_BYTES}", canonical.len())));
    }
    let signing_input = tx.signing_input().map_err(|e| malformed(e.to_string()))?;
    let document_keys = match &op {
        Operation::DidCreate(DidCreate { document }) | Operation::DidUpdate(DidUpdate { document }) => {
            validated_keys(document, &tx.author)?
        }
        _ => Vec::new(),
    };
    Ok(Admitted { tx, op, canonical, signing_input, sigs, document_keys, author_key, preverified: Vec::new() })
}

/// Authors are `did:idelta` DIDs, except that an employee's `did:key` may
/// author the operations on its own loyalty account
/// ([`did_key_may_author`]); its only key is the one the DID encodes.
fn author_key(tx: &SignedTransaction) -> Result<Option<(String, VerifyingKey)>, Rejection> {
    let author = &tx.author;
    if author.is_idelta() {
        return Ok(None);
    }
    if author.method() != "key" {
        return Err(Rejection::Malformed(format!(
            "author {author} must be a did:idelta (or, for account operations, did:key) DID"
        )));
    }
    if !did_key_may_author(tx.tx_type) {
        return Err(Rejection::Unauthorized(format!(
            "a did:key author may only write account operations, not {}",
            tx.tx_type
        )));
    }
    let id = author.method_specific_id();
    match PublicKey::from_multibase(id) {
        Ok(PublicKey::Ed25519(key)) => Ok(Some((author.with_fragment(id), key))),
        Ok(PublicKey::Bls12381G2(_)) => {
            Err(Rejection::Malformed(format!("did:key author {author} must be an Ed25519 key")))
        }
        Err(e) => Err(Rejection::Malformed(format!("did:key author {author}: {e}"))),
    }
}

fn payload<P: serde::de::DeserializeOwned>(tx: &SignedTransaction) -> Result<P, Rejection> {
    tx.payload_as().map_err(|e| Rejection::Malformed(e.to_string()))
}
