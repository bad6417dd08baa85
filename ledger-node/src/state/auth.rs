//! Signature checks: who signed a transaction, with which controller key.
//!
//! A signature counts only if its signer is the author or the named
//! endorser, its key is one of that DID's *current* `capabilityInvocation`
//! keys (so a rotated-out key authorises nothing), and it verifies under
//! Ed25519's strict rules (no malleable signatures, no weak keys), which
//! keeps every node's verdict identical. An employee's `did:key`, which
//! may author its own loyalty account operations, has exactly one key:
//! the one its DID encodes (`did:key:z…#z…`), so it needs no ledger record.

use super::{DidRecord, State, View};
use crate::admission::{Admitted, Operation};
use crate::error::Rejection;
use ed25519_dalek::VerifyingKey;
use idelta_types::Did;
use std::sync::Arc;

/// Read access to DID records, shared by the committed state and a view.
pub(crate) trait Lookup {
    fn did_record(&self, did: &Did) -> Option<&Arc<DidRecord>>;
}

impl Lookup for State {
    fn did_record(&self, did: &Did) -> Option<&Arc<DidRecord>> {
        self.did(did)
    }
}

impl Lookup for View<'_> {
    fn did_record(&self, did: &Did) -> Option<&Arc<DidRecord>> {
        self.did(did)
    }
}

/// The valid signatures of a transaction, by party.
#[derive(Debug, Default)]
pub struct SignedBy {
    /// The author's keys that signed: `(vm id, key)`.
    pub author: Vec<(String, VerifyingKey)>,
    /// Whether the named endorser signed.
    pub endorser: bool,
}

/// The keys that may sign for `party` in `tx`. A DID being created brings
/// its keys in the payload, a `did:key` author its one key in the DID
/// itself (admission decoded it); every other DID must be on the ledger,
/// active.
fn party_keys(lookup: &impl Lookup, tx: &Admitted, party: &Did) -> Result<Vec<(String, VerifyingKey)>, Rejection> {
    if *party == tx.tx.author {
        if matches!(tx.op, Operation::DidCreate(_)) {
            return Ok(tx.document_keys.clone());
        }
        if let Some(key) = &tx.author_key {
            return Ok(vec![key.clone()]);
        }
    }
    let record = lookup.did_record(party).ok_or_else(|| Rejection::UnknownDid(party.clone()))?;
    if record.deactivated.is_some() {
        return Err(Rejection::Deactivated(party.clone()));
    }
    Ok(record.controller_keys.clone())
}

#[derive(Clone, Copy, PartialEq)]
enum Party {
    Author,
    Endorser,
}

fn party_of(tx: &Admitted, signer: &Did) -> Result<Party, Rejection> {
    if *signer == tx.tx.author {
        Ok(Party::Author)
    } else if tx.tx.endorser.as_ref() == Some(signer) {
        Ok(Party::Endorser)
    } else {
        Err(Rejection::BadSignature(format!("{signer} is neither the author nor the endorser")))
    }
}

/// Checks every signature of `tx`; all must be valid, the author must have
/// signed, and a named endorser too.
pub(crate) fn check(lookup: &impl Lookup, tx: &Admitted) -> Result<SignedBy, Rejection> {
    let mut author_keys = None;
    let mut endorser_keys = None;
    let mut signed = SignedBy::default();
    for (i, sig) in tx.sigs.iter().enumerate() {
        let party = party_of(tx, &sig.signer)?;
        let slot = if party == Party::Author { &mut author_keys } else { &mut endorser_keys };
        let keys = match slot {
            Some(k) => k,
            None => slot.insert(party_keys(lookup, tx, &sig.signer).map_err(|e| match (party, e) {
                // An endorser that cannot sign is an endorsement problem,
                // named as such rather than as a generic lookup failure.
                (Party::Endorser, Rejection::UnknownDid(d)) => {
                    Rejection::InvalidEndorser { endorser: d, reason: "not on the ledger".into() }
                }
                (Party::Endorser, Rejection::Deactivated(d)) => {
                    Rejection::InvalidEndorser { endorser: d, reason: "deactivated".into() }
                }
                (_, e) => e,
            })?),
        };
        let (_, key) = keys.iter().find(|(id, _)| *id == sig.vm_id).ok_or_else(|| {
            Rejection::BadSignature(format!(
                "{} is not a current controller key (capabilityInvocation) of {}",
                sig.vm_id, sig.signer
            ))
        })?;
        let known = tx.preverified.contains(&(i, key.to_bytes()));
        if !known && key.verify_strict(&tx.signing_input, &sig.signature).is_err() {
            return Err(Rejection::BadSignature(format!("signature by {} does not verify", sig.vm_id)));
        }
        match party {
            Party::Author => signed.author.push((sig.vm_id.clone(), *key)),
            Party::Endorser => signed.endorser = true,
        }
    }
    if signed.author.is_empty() {
        return Err(Rejection::BadSignature(format!("no signature by the author {}", tx.tx.author)));
    }
    if let Some(e) = &tx.tx.endorser {
        if !signed.endorser {
            return Err(Rejection::BadSignature(format!("endorser {e} is named but did not sign")));
        }
    }
    Ok(signed)
}

/// Verifies what can be verified against the committed state, off the
/// sequencer, and records it in `tx`. Failures are left for [`check`] to
/// report with the state the transaction is actually applied to.
pub fn preverify(state: &State, tx: &mut Admitted) {
    let mut verified = Vec::new();
    for (i, sig) in tx.sigs.iter().enumerate() {
        if party_of(tx, &sig.signer).is_err() {
            continue;
        }
        let Ok(keys) = party_keys(state, tx, &sig.signer) else { continue };
        if let Some((_, key)) = keys.iter().find(|(id, _)| *id == sig.vm_id) {
            if key.verify_strict(&tx.signing_input, &sig.signature).is_ok() {
                verified.push((i, key.to_bytes()));
            }
        }
    }
    tx.preverified = verified;
}
