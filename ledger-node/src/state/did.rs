//! Rules of the `did:idelta` method (docs/did-method.md §5): create,
//! update (key rotation, services) and deactivate, each authorised by the
//! controller's current keys.

use super::auth;
use super::roles::require_endorsement;
use super::{Deactivation, DidRecord, DidVersion, Position, View};
use crate::admission::Admitted;
use crate::error::Rejection;
use idelta_types::tx::{DidCreate, DidUpdate, Role};
use idelta_types::PublicKey;
use std::sync::Arc;

/// `did.create`: the author is the new DID, derived from the key that signs.
pub(super) fn create(view: &mut View<'_>, tx: &Admitted, op: &DidCreate, at: Position) -> Result<(), Rejection> {
    let did = &tx.tx.author;
    // The document itself was validated against the author at admission.
    if view.did(did).is_some() {
        return Err(Rejection::AlreadyExists(did.clone()));
    }
    let signed = auth::check(view, tx)?;
    if !signed.author.iter().any(|(_, k)| did.is_derived_from(&PublicKey::Ed25519(*k))) {
        return Err(Rejection::NotSelfCertifying(did.clone()));
    }
    require_endorsement(view, tx)?;
    let controller_keys = tx.document_keys.clone();
    let version = DidVersion {
        document: Arc::new(op.document.clone()),
        leaf_index: at.leaf_index,
        timestamp_ms: at.timestamp_ms,
    };
    view.changes
        .dids
        .insert(did.clone(), Arc::new(DidRecord { versions: vec![version], deactivated: None, controller_keys }));
    Ok(())
}

/// `did.update`: a whole new document, signed by a current controller key.
pub(super) fn update(view: &mut View<'_>, tx: &Admitted, op: &DidUpdate, at: Position) -> Result<(), Rejection> {
    let did = &tx.tx.author;
    let record = active(view, did)?;
    let controller_keys = tx.document_keys.clone();
    auth::check(view, tx)?;
    require_endorsement(view, tx)?;
    let mut next = DidRecord::clone(record);
    next.versions.push(DidVersion {
        document: Arc::new(op.document.clone()),
        leaf_index: at.leaf_index,
        timestamp_ms: at.timestamp_ms,
    });
    next.controller_keys = controller_keys;
    view.changes.dids.insert(did.clone(), Arc::new(next));
    Ok(())
}

/// `did.deactivate`: final; the DID keeps its history but can sign nothing.
pub(super) fn deactivate(view: &mut View<'_>, tx: &Admitted, at: Position) -> Result<(), Rejection> {
    let did = &tx.tx.author;
    let record = active(view, did)?;
    auth::check(view, tx)?;
    require_endorsement(view, tx)?;
    if view.role(did) == Some(Role::Trustee) && view.active_trustees() <= 1 {
        return Err(Rejection::LastTrustee);
    }
    let mut next = DidRecord::clone(record);
    next.deactivated = Some(Deactivation { leaf_index: at.leaf_index, timestamp_ms: at.timestamp_ms });
    next.controller_keys.clear();
    view.changes.dids.insert(did.clone(), Arc::new(next));
    Ok(())
}

fn active<'v>(view: &'v View<'_>, did: &idelta_types::Did) -> Result<&'v Arc<DidRecord>, Rejection> {
    let record = view.did(did).ok_or_else(|| Rejection::UnknownDid(did.clone()))?;
    if record.deactivated.is_some() {
        return Err(Rejection::Deactivated(did.clone()));
    }
    Ok(record)
}
