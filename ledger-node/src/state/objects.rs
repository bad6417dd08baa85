//! Generic ledger objects owned by DIDs — schemas, credential definitions,
//! status lists, revocation entries — each with numbered versions. The
//! credential machinery builds on these; they are generic so that the
//! ledger does not have to change when a format does.

use super::roles::require_endorsement;
use super::{auth, ObjectRecord, ObjectVersion, Position, View};
use crate::admission::Admitted;
use crate::error::Rejection;
use idelta_types::tx::ObjectPut;
use std::sync::Arc;

/// `object.put`: a new version of `{author}/{kind}/{name}`.
pub(super) fn put(view: &mut View<'_>, tx: &Admitted, op: &ObjectPut, at: Position) -> Result<(), Rejection> {
    let id = op.object_id(&tx.tx.author).map_err(|e| Rejection::Malformed(e.to_string()))?;
    auth::check(view, tx)?;
    require_endorsement(view, tx)?;
    let version = ObjectVersion {
        content: Arc::new(op.content.clone()),
        leaf_index: at.leaf_index,
        timestamp_ms: at.timestamp_ms,
    };
    let record = match view.object(&id) {
        Some(existing) => {
            let mut next = ObjectRecord::clone(existing);
            next.versions.push(version);
            next
        }
        None => ObjectRecord { owner: tx.tx.author.clone(), versions: vec![version] },
    };
    view.changes.objects.insert(id, Arc::new(record));
    Ok(())
}
