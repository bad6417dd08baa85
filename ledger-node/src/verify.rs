//! Replaying and verifying a stored log: what `idelta ledger verify` runs,
//! and what every node runs when it starts.
//!
//! Every leaf is checked against the hash stored beside it, decoded,
//! re-admitted and re-applied through the same pure state machine (so a
//! stored transaction that the rules would refuse is caught too), and the
//! recomputed root is compared with the signed tree head stored with the
//! last batch. The first inconsistency stops the replay and is named.

use crate::admission::{self, Admitted};
use crate::error::{NodeError, Result};
use crate::log::store::{Store, StoredLeaf};
use crate::log::tree::MerkleTree;
use crate::state::{apply, Batch, State};
use idelta_types::canonical::b64;
use idelta_types::log::{LeafInput, SignedTreeHead};
use idelta_types::merkle::leaf_hash;
use idelta_types::PublicKey;
use std::path::Path;

/// A replayed log.
pub struct Replayed {
    /// The state the log leads to.
    pub state: State,
    /// The Merkle tree over every leaf.
    pub tree: MerkleTree,
    /// The stored tree head, checked against the tree and the node key.
    pub sth: Option<SignedTreeHead>,
}

/// What `idelta ledger verify` reports.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// Leaves checked.
    pub leaves: u64,
    /// base64 root recomputed from storage.
    pub root: String,
    /// Size of the stored signed tree head that matched.
    pub signed_tree_size: u64,
    /// DIDs in the replayed state.
    pub dids: usize,
}

fn corrupt(index: u64, what: impl std::fmt::Display) -> NodeError {
    NodeError::Corrupt(format!("leaf {index}: {what}"))
}

struct Replayer {
    state: State,
    tree: MerkleTree,
    batch: Vec<Admitted>,
    batch_time: u64,
    batch_first: u64,
}

impl Replayer {
    fn leaf(&mut self, leaf: StoredLeaf) -> Result<()> {
        let expected = self.tree.len() + self.batch.len() as u64;
        if leaf.index != expected {
            return Err(corrupt(expected, "missing from the store"));
        }
        let hash = leaf_hash(&leaf.input);
        if leaf.hash != hash {
            return Err(corrupt(
                leaf.index,
                "its input does not hash to the stored leaf hash (tampered or damaged entry)",
            ));
        }
        let decoded = LeafInput::decode(&leaf.input).map_err(|e| corrupt(leaf.index, e))?;
        if decoded.timestamp_ms < self.batch_time {
            return Err(corrupt(leaf.index, "timestamp goes backwards"));
        }
        if decoded.timestamp_ms != self.batch_time {
            self.flush()?;
            self.batch_time = decoded.timestamp_ms;
            self.batch_first = leaf.index;
        }
        self.batch.push(admission::admit(decoded.tx).map_err(|e| corrupt(leaf.index, e))?);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = Batch { first_leaf_index: self.batch_first, timestamp_ms: self.batch_time, txs: &self.batch };
        let (changes, verdicts) = apply(&self.state, &batch);
        for (offset, verdict) in (0u64..).zip(verdicts) {
            verdict.map_err(|e| corrupt(self.batch_first + offset, format!("the rules refuse it on replay: {e}")))?;
        }
        for tx in &self.batch {
            self.tree.push(leaf_hash(&LeafInput::encode(self.batch_time, &tx.canonical)));
        }
        self.state.commit(changes);
        self.batch.clear();
        Ok(())
    }
}

/// Replays `store`, checking every leaf and the stored tree head against
/// `node_key`.
pub fn replay(store: &Store, node_key: &PublicKey) -> Result<Replayed> {
    let mut r =
        Replayer { state: State::default(), tree: MerkleTree::new(), batch: Vec::new(), batch_time: 0, batch_first: 0 };
    store.for_each_leaf(|leaf| r.leaf(leaf))?;
    r.flush()?;
    let sth = store.sth()?;
    if let Some(sth) = &sth {
        if sth.tree_size != r.tree.len() {
            return Err(NodeError::Corrupt(format!(
                "stored tree head covers {} leaves but the store holds {}",
                sth.tree_size,
                r.tree.len()
            )));
        }
        let root = r.tree.root(sth.tree_size).map_err(|e| NodeError::Corrupt(e.to_string()))?;
        if sth.root().ok() != Some(root) {
            return Err(NodeError::Corrupt("recomputed root differs from the stored signed tree head".into()));
        }
        sth.verify(node_key).map_err(|e| NodeError::Corrupt(format!("stored tree head signature: {e}")))?;
    } else if !r.tree.is_empty() {
        return Err(NodeError::Corrupt("leaves are stored but no signed tree head".into()));
    }
    Ok(Replayed { state: r.state, tree: r.tree, sth })
}

/// `idelta ledger verify --data DIR`: replays the store read-only.
pub fn verify_data_dir(dir: &Path) -> Result<Report> {
    let key = crate::keys::load_node_key(dir)?;
    let path = dir.join(crate::node::STORE_FILE);
    if !path.exists() {
        return Err(NodeError::Config(format!("{} does not exist", path.display())));
    }
    let store = Store::open(&path)?;
    let replayed = replay(&store, &PublicKey::Ed25519(key.verifying_key()))?;
    let size = replayed.tree.len();
    let root = replayed.tree.root(size).map_err(|e| NodeError::Corrupt(e.to_string()))?;
    Ok(Report {
        leaves: size,
        root: b64::encode(root),
        signed_tree_size: replayed.sth.map(|s| s.tree_size).unwrap_or(0),
        dids: replayed.state.did_count(),
    })
}
