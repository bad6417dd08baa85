//! The deterministic state machine of the ledger (design.md §4).
//!
//! [`apply`] is pure: it reads a committed [`State`] and an admitted batch
//! and returns the [`Changes`] plus one verdict per transaction. No clock,
//! no randomness, no I/O: the batch carries its timestamp, so every node
//! that applies the same log reaches the same state, and a restart replays
//! the log through this very function. The sequencer makes the changes
//! durable first and merges them with [`State::commit`] only afterwards, so
//! nothing a reader sees can be lost in a crash.
//!
//! Rules live one module per concern: [`did`] (the `did:idelta` method),
//! [`roles`] (permissioning and endorsement), [`objects`] (generic ledger
//! objects), [`loyalty`] (tokens, benefits, the marketplace) and [`auth`]
//! (signatures).

pub mod auth;
pub mod did;
pub mod loyalty;
pub mod objects;
pub mod roles;

use crate::admission::{Admitted, Operation};
use crate::error::Rejection;
use ed25519_dalek::VerifyingKey;
use idelta_types::tx::Role;
use idelta_types::{Did, DidDocument};
use std::collections::HashMap;
use std::sync::Arc;

/// One version of a DID document.
#[derive(Clone, Debug)]
pub struct DidVersion {
    /// The document as its controller wrote it.
    pub document: Arc<DidDocument>,
    /// The leaf of the transaction that wrote it.
    pub leaf_index: u64,
    /// Batch time of that transaction.
    pub timestamp_ms: u64,
}

/// When a DID was deactivated.
#[derive(Clone, Copy, Debug)]
pub struct Deactivation {
    /// The leaf of the deactivating transaction.
    pub leaf_index: u64,
    /// Its batch time.
    pub timestamp_ms: u64,
}

/// Everything the ledger knows about one DID.
#[derive(Clone, Debug)]
pub struct DidRecord {
    /// Versions in order; version *n* (1-based) is `versions[n - 1]`.
    pub versions: Vec<DidVersion>,
    /// Set once the DID is deactivated.
    pub deactivated: Option<Deactivation>,
    /// Parsed `capabilityInvocation` keys of the latest version: the only
    /// keys that may sign the DID's next write. Empty once deactivated.
    pub controller_keys: Vec<(String, VerifyingKey)>,
}

/// One version of a ledger object.
#[derive(Clone, Debug)]
pub struct ObjectVersion {
    /// The content written.
    pub content: Arc<serde_json::Value>,
    /// The leaf that wrote it.
    pub leaf_index: u64,
    /// Its batch time.
    pub timestamp_ms: u64,
}

/// A generic ledger object: schema, credential definition, status list...
#[derive(Clone, Debug)]
pub struct ObjectRecord {
    /// The owning DID; only it may write new versions.
    pub owner: Did,
    /// Versions in order, 1-based like DID versions.
    pub versions: Vec<ObjectVersion>,
}

/// The committed ledger state.
#[derive(Debug, Default)]
pub struct State {
    network: Option<String>,
    dids: HashMap<Did, Arc<DidRecord>>,
    roles: HashMap<Did, Role>,
    seqs: HashMap<Did, u64>,
    objects: HashMap<String, Arc<ObjectRecord>>,
    loyalty: loyalty::Books,
    /// Leaves applied so far: the state is the one after this many.
    tree_size: u64,
}

/// What one batch changes, kept apart from [`State`] until it is durable.
#[derive(Debug, Default)]
pub struct Changes {
    network: Option<String>,
    dids: HashMap<Did, Arc<DidRecord>>,
    roles: HashMap<Did, Option<Role>>,
    seqs: HashMap<Did, u64>,
    objects: HashMap<String, Arc<ObjectRecord>>,
    loyalty: loyalty::BookChanges,
    tree_size: u64,
}

/// A batch the sequencer hands to [`apply`].
#[derive(Debug)]
pub struct Batch<'a> {
    /// Leaf index the first accepted transaction will get.
    pub first_leaf_index: u64,
    /// The proposer's time stamp for the whole batch.
    pub timestamp_ms: u64,
    /// Admitted transactions in sequence order.
    pub txs: &'a [Admitted],
}

/// Where an accepted transaction lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Its leaf index.
    pub leaf_index: u64,
}

/// Applies `batch` to `state`, purely. Transactions are judged one after
/// the other, each seeing the effects of those accepted before it. A
/// rejected transaction changes nothing: every rule checks all it needs
/// before its first write to the view (validate, then mutate).
pub fn apply(state: &State, batch: &Batch<'_>) -> (Changes, Vec<Result<Accepted, Rejection>>) {
    let mut view = View { base: state, changes: Changes::default() };
    let mut next = batch.first_leaf_index;
    let mut verdicts = Vec::with_capacity(batch.txs.len());
    for tx in batch.txs {
        let at = Position { leaf_index: next, timestamp_ms: batch.timestamp_ms };
        let verdict = apply_one(&mut view, tx, at).map(|()| {
            next += 1;
            Accepted { leaf_index: at.leaf_index }
        });
        verdicts.push(verdict);
    }
    view.changes.tree_size = next;
    (view.changes, verdicts)
}

/// Position and time of the transaction being applied.
#[derive(Clone, Copy, Debug)]
pub struct Position {
    /// Its leaf index if accepted.
    pub leaf_index: u64,
    /// Its batch time.
    pub timestamp_ms: u64,
}

fn apply_one(view: &mut View<'_>, tx: &Admitted, at: Position) -> Result<(), Rejection> {
    if let Operation::Genesis(genesis) = &tx.op {
        return roles::genesis(view, tx, genesis, at);
    }
    if view.network().is_none() {
        return Err(Rejection::NoGenesis);
    }
    let expected = view.seq(&tx.tx.author) + 1;
    if tx.tx.seq != expected {
        return Err(Rejection::Sequence { author: tx.tx.author.clone(), expected, got: tx.tx.seq });
    }
    match &tx.op {
        Operation::DidCreate(op) => did::create(view, tx, op, at)?,
        Operation::DidUpdate(op) => did::update(view, tx, op, at)?,
        Operation::DidDeactivate => did::deactivate(view, tx, at)?,
        Operation::RoleGrant(op) => roles::grant(view, tx, op)?,
        Operation::RoleRevoke(op) => roles::revoke(view, tx, op)?,
        Operation::ObjectPut(op) => objects::put(view, tx, op, at)?,
        Operation::Loyalty(op) => loyalty::apply(view, tx, op, at)?,
        Operation::Genesis(_) => return Err(Rejection::GenesisMisplaced),
    }
    view.changes.seqs.insert(tx.tx.author.clone(), tx.tx.seq);
    Ok(())
}

impl State {
    /// Merges durable changes.
    pub fn commit(&mut self, changes: Changes) {
        if let Some(n) = changes.network {
            self.network = Some(n);
        }
        self.dids.extend(changes.dids);
        for (did, role) in changes.roles {
            match role {
                Some(r) => self.roles.insert(did, r),
                None => self.roles.remove(&did),
            };
        }
        self.seqs.extend(changes.seqs);
        self.objects.extend(changes.objects);
        self.loyalty.commit(changes.loyalty);
        self.tree_size = self.tree_size.max(changes.tree_size);
    }

    /// Leaves applied: the state is the one after the first `tree_size`.
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// The loyalty marketplace's state.
    pub fn loyalty(&self) -> &loyalty::Books {
        &self.loyalty
    }

    /// The network name from the genesis, once applied.
    pub fn network(&self) -> Option<&str> {
        self.network.as_deref()
    }

    /// A DID's record.
    pub fn did(&self, did: &Did) -> Option<&Arc<DidRecord>> {
        self.dids.get(did)
    }

    /// A DID's role.
    pub fn role(&self, did: &Did) -> Option<Role> {
        self.roles.get(did).copied()
    }

    /// The last accepted sequence number of `author` (0 if none).
    pub fn seq(&self, author: &Did) -> u64 {
        self.seqs.get(author).copied().unwrap_or(0)
    }

    /// A ledger object by id.
    pub fn object(&self, id: &str) -> Option<&Arc<ObjectRecord>> {
        self.objects.get(id)
    }

    /// Number of DIDs known.
    pub fn did_count(&self) -> usize {
        self.dids.len()
    }
}

/// The committed state seen through a batch's pending changes.
pub struct View<'a> {
    base: &'a State,
    changes: Changes,
}

impl View<'_> {
    fn network(&self) -> Option<&str> {
        self.changes.network.as_deref().or(self.base.network.as_deref())
    }

    fn did(&self, did: &Did) -> Option<&Arc<DidRecord>> {
        self.changes.dids.get(did).or_else(|| self.base.dids.get(did))
    }

    fn role(&self, did: &Did) -> Option<Role> {
        match self.changes.roles.get(did) {
            Some(r) => *r,
            None => self.base.roles.get(did).copied(),
        }
    }

    fn seq(&self, did: &Did) -> u64 {
        self.changes.seqs.get(did).or_else(|| self.base.seqs.get(did)).copied().unwrap_or(0)
    }

    fn object(&self, id: &str) -> Option<&Arc<ObjectRecord>> {
        self.changes.objects.get(id).or_else(|| self.base.objects.get(id))
    }

    /// Active trustees, counting pending changes.
    fn active_trustees(&self) -> usize {
        let mut trustees: std::collections::HashSet<&Did> =
            self.base.roles.iter().filter(|(_, r)| **r == Role::Trustee).map(|(d, _)| d).collect();
        for (did, role) in &self.changes.roles {
            if *role == Some(Role::Trustee) {
                trustees.insert(did);
            } else {
                trustees.remove(did);
            }
        }
        trustees.into_iter().filter(|d| self.did(d).is_some_and(|r| r.deactivated.is_none())).count()
    }
}

#[cfg(test)]
mod tests;
