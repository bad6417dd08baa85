//! Durable storage of the log in redb, an embedded crash-safe store.
//!
//! Each batch is one redb write transaction holding the new leaf inputs,
//! their leaf hashes and the signed tree head that covers them; it commits
//! with `Durability::Immediate` (fsync) before any write in the batch is
//! acknowledged. One fsync serves the whole batch: that is the group
//! commit. Leaf hashes are stored next to the leaves so that
//! `idelta ledger verify` can recompute each one and point at the first
//! entry that no longer matches.

use crate::error::Result;
use idelta_types::log::SignedTreeHead;
use idelta_types::merkle::Hash;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

const LEAVES: TableDefinition<u64, &[u8]> = TableDefinition::new("leaves");
const HASHES: TableDefinition<u64, &[u8]> = TableDefinition::new("leaf_hashes");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const STH_KEY: &str = "sth";

/// One stored leaf.
#[derive(Debug, Clone)]
pub struct StoredLeaf {
    /// Its index.
    pub index: u64,
    /// The leaf input bytes.
    pub input: Vec<u8>,
    /// The leaf hash stored with it.
    pub hash: Vec<u8>,
}

/// The log's durable store.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

impl Store {
    /// Opens or creates the store at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        {
            txn.open_table(LEAVES)?;
            txn.open_table(HASHES)?;
            txn.open_table(META)?;
        }
        txn.commit()?;
        Ok(Store { db })
    }

    /// Appends a batch of leaves starting at `first` with the tree head that
    /// covers them, durably, in one transaction.
    pub fn append(&self, first: u64, leaves: &[(Vec<u8>, Hash)], sth: &SignedTreeHead) -> Result<()> {
        let sth_json = serde_json::to_vec(sth).map_err(|e| crate::NodeError::Storage(e.to_string()))?;
        let mut txn = self.db.begin_write()?;
        // The default, spelled out: this commit is the acknowledgement's fsync.
        txn.set_durability(redb::Durability::Immediate).map_err(|e| crate::NodeError::Storage(e.to_string()))?;
        {
            let mut inputs = txn.open_table(LEAVES)?;
            let mut hashes = txn.open_table(HASHES)?;
            for (offset, (input, hash)) in (0u64..).zip(leaves) {
                inputs.insert(first + offset, input.as_slice())?;
                hashes.insert(first + offset, hash.as_slice())?;
            }
            txn.open_table(META)?.insert(STH_KEY, sth_json.as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// The leaf input at `index`.
    pub fn leaf(&self, index: u64) -> Result<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(LEAVES)?;
        Ok(table.get(index)?.map(|v| v.value().to_vec()))
    }

    /// The last tree head stored.
    pub fn sth(&self) -> Result<Option<SignedTreeHead>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(META)?;
        let Some(bytes) = table.get(STH_KEY)? else { return Ok(None) };
        serde_json::from_slice(bytes.value())
            .map(Some)
            .map_err(|e| crate::NodeError::Corrupt(format!("stored tree head: {e}")))
    }

    /// Calls `f` on every leaf in index order, with the hash stored for it.
    pub fn for_each_leaf(&self, mut f: impl FnMut(StoredLeaf) -> Result<()>) -> Result<()> {
        let txn = self.db.begin_read()?;
        let inputs = txn.open_table(LEAVES)?;
        let hashes = txn.open_table(HASHES)?;
        for entry in inputs.iter()? {
            let (k, v) = entry?;
            let index = k.value();
            let hash = hashes.get(index)?.map(|h| h.value().to_vec()).unwrap_or_default();
            f(StoredLeaf { index, input: v.value().to_vec(), hash })?;
        }
        Ok(())
    }

    /// Overwrites one stored leaf input, bypassing every check. Exists for
    /// tamper-detection tests and nothing else.
    #[doc(hidden)]
    pub fn tamper_leaf_for_tests(&self, index: u64, input: &[u8]) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(LEAVES)?.insert(index, input)?;
        txn.commit()?;
        Ok(())
    }
}
