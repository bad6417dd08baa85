//! Permissioning, after Hyperledger Indy: trustees, stewards and endorsers
//! are ledger state rooted in the genesis; trustees grant and revoke roles;
//! an author without a role writes only with an endorser's counter-signature.

use super::auth;
use super::{DidRecord, DidVersion, Position, View};
use crate::admission::validated_keys;
use crate::admission::Admitted;
use crate::error::Rejection;
use idelta_types::tx::{Genesis, Role, RoleGrant, RoleRevoke};
use idelta_types::{Did, PublicKey};
use std::collections::HashSet;
use std::sync::Arc;

/// Most trustees a genesis may name: each signs it, and a transaction
/// carries at most this many signatures.
pub const MAX_GENESIS_TRUSTEES: usize = crate::admission::MAX_SIGNATURES;

/// Requires an endorsement unless the author holds a role; a named
/// endorser must hold a role whether or not one was needed. Runs after
/// `auth::check`, which has already established that a named endorser is
/// on the ledger, active, and signed.
pub(super) fn require_endorsement(view: &View<'_>, tx: &Admitted) -> Result<(), Rejection> {
    match &tx.tx.endorser {
        Some(endorser) if view.role(endorser).is_none() => Err(Rejection::InvalidEndorser {
            endorser: endorser.clone(),
            reason: "holds no trustee, steward or endorser role".into(),
        }),
        Some(_) => Ok(()),
        None if view.role(&tx.tx.author).is_some() => Ok(()),
        None => Err(Rejection::EndorsementRequired { author: tx.tx.author.clone() }),
    }
}

fn require_trustee(view: &View<'_>, tx: &Admitted, what: &str) -> Result<(), Rejection> {
    if view.role(&tx.tx.author) == Some(Role::Trustee) {
        Ok(())
    } else {
        Err(Rejection::Unauthorized(format!("only a trustee can {what}; {} is not one", tx.tx.author)))
    }
}

fn require_active(view: &View<'_>, did: &Did) -> Result<(), Rejection> {
    match view.did(did) {
        None => Err(Rejection::UnknownDid(did.clone())),
        Some(r) if r.deactivated.is_some() => Err(Rejection::Deactivated(did.clone())),
        Some(_) => Ok(()),
    }
}

/// `role.grant`: trustees only. A DID holds at most one role.
pub(super) fn grant(view: &mut View<'_>, tx: &Admitted, op: &RoleGrant) -> Result<(), Rejection> {
    auth::check(view, tx)?;
    require_trustee(view, tx, "grant roles")?;
    require_active(view, &op.did)?;
    if view.role(&op.did) == Some(Role::Trustee) && op.role != Role::Trustee && view.active_trustees() <= 1 {
        return Err(Rejection::LastTrustee);
    }
    view.changes.roles.insert(op.did.clone(), Some(op.role));
    Ok(())
}

/// `role.revoke`: trustees only; the last active trustee stays.
pub(super) fn revoke(view: &mut View<'_>, tx: &Admitted, op: &RoleRevoke) -> Result<(), Rejection> {
    auth::check(view, tx)?;
    require_trustee(view, tx, "revoke roles")?;
    let role = view.role(&op.did).ok_or_else(|| Rejection::NoRole(op.did.clone()))?;
    let target_active = view.did(&op.did).is_some_and(|r| r.deactivated.is_none());
    if role == Role::Trustee && target_active && view.active_trustees() <= 1 {
        return Err(Rejection::LastTrustee);
    }
    view.changes.roles.insert(op.did.clone(), None);
    Ok(())
}

/// `genesis`: only as leaf 0. Founds the network and its trustees; every
/// founding trustee signs with the inception key its DID derives from.
pub(super) fn genesis(view: &mut View<'_>, tx: &Admitted, op: &Genesis, at: Position) -> Result<(), Rejection> {
    if view.network().is_some() || at.leaf_index != 0 {
        return Err(Rejection::GenesisMisplaced);
    }
    let bad = |m: String| Err(Rejection::Malformed(format!("genesis: {m}")));
    if op.network.is_empty() || op.network.len() > 64 {
        return bad("network name must be 1 to 64 characters".into());
    }
    if op.trustees.is_empty() || op.trustees.len() > MAX_GENESIS_TRUSTEES {
        return bad(format!("name 1 to {MAX_GENESIS_TRUSTEES} trustees"));
    }
    if tx.tx.endorser.is_some() || tx.tx.seq != 1 {
        return bad("no endorser, and seq 1".into());
    }
    if op.trustees.first().map(|d| &d.id) != Some(&tx.tx.author) {
        return bad("the author must be the first trustee".into());
    }
    let mut seen = HashSet::new();
    let mut records = Vec::with_capacity(op.trustees.len());
    for doc in &op.trustees {
        if !seen.insert(&doc.id) {
            return bad(format!("trustee {} is named twice", doc.id));
        }
        let keys = validated_keys(doc, &doc.id)?;
        let mut by_inception_key = false;
        for s in tx.sigs.iter().filter(|s| s.signer == doc.id) {
            let (_, key) = keys.iter().find(|(id, _)| *id == s.vm_id).ok_or_else(|| {
                Rejection::BadSignature(format!("{} is not a controller key of trustee {}", s.vm_id, doc.id))
            })?;
            if key.verify_strict(&tx.signing_input, &s.signature).is_err() {
                return Err(Rejection::BadSignature(format!("genesis signature by {} does not verify", s.vm_id)));
            }
            by_inception_key |= doc.id.is_derived_from(&PublicKey::Ed25519(*key));
        }
        if !by_inception_key {
            return Err(Rejection::BadSignature(format!(
                "trustee {} did not sign the genesis with its inception key",
                doc.id
            )));
        }
        let version =
            DidVersion { document: Arc::new(doc.clone()), leaf_index: at.leaf_index, timestamp_ms: at.timestamp_ms };
        records.push((doc.id.clone(), DidRecord { versions: vec![version], deactivated: None, controller_keys: keys }));
    }
    if tx.sigs.iter().any(|s| !seen.contains(&s.signer)) {
        return Err(Rejection::BadSignature("only founding trustees may sign the genesis".into()));
    }
    view.changes.network = Some(op.network.clone());
    for (did, record) in records {
        view.changes.roles.insert(did.clone(), Some(Role::Trustee));
        view.changes.dids.insert(did, Arc::new(record));
    }
    view.changes.seqs.insert(tx.tx.author.clone(), 1);
    Ok(())
}
