//! Batched status updates with explicit publication state (issue 4 item 5:
//! "a revocation is never lost when publishing fails: it stays visibly
//! pending and is retried").
//!
//! An update moves through three states:
//!
//! 1. **queued**: recorded by [`PendingUpdates::set`]; last write per index
//!    wins.
//! 2. **sealed** into a numbered batch by [`PendingUpdates::seal`] (or
//!    [`PendingUpdates::prepare`]) and applied to the list; still
//!    unpublished.
//! 3. **published**: the caller confirms with
//!    [`PendingUpdates::mark_published`] once the encoded list carrying the
//!    batch is on the ledger; only then is the batch forgotten.
//!
//! Applying is idempotent (a status is set, never toggled), so after a failed
//! publish or a crash the caller re-applies every unpublished batch, in
//! order, to the last list it holds and publishes again. Each encoded list
//! contains every earlier batch, so confirming batch `n` confirms all batches
//! up to `n`. The whole state is serde-serialisable: persist it in the same
//! transaction as the request that caused the update.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bitstring::StatusList;
use crate::token_status::{TokenStatus, TokenStatusList};
use crate::{Error, Result, StatusIndex};

/// A list that batches can be applied to.
pub trait StatusTarget {
    /// Refuses an index or value the list cannot hold, without changing it.
    fn check(&self, index: StatusIndex, value: u8) -> Result<()>;
    /// Sets one status.
    fn set_status(&mut self, index: StatusIndex, value: u8) -> Result<()>;
    /// The list's published encoding (`encodedList` or `lst`).
    fn encode_list(&self) -> Result<String>;
}

impl StatusTarget for StatusList {
    fn check(&self, index: StatusIndex, value: u8) -> Result<()> {
        self.get(index)?;
        let width = self.status_size().get();
        if width < 8 && value >> width != 0 {
            return Err(Error::ValueTooLarge { value, bits: width });
        }
        Ok(())
    }

    fn set_status(&mut self, index: StatusIndex, value: u8) -> Result<()> {
        self.set(index, value)
    }

    fn encode_list(&self) -> Result<String> {
        self.encode()
    }
}

impl StatusTarget for TokenStatusList {
    fn check(&self, index: StatusIndex, value: u8) -> Result<()> {
        self.get(index)?;
        let width = self.bits().get();
        if width < 8 && value >> width != 0 {
            return Err(Error::ValueTooLarge { value, bits: width });
        }
        Ok(())
    }

    fn set_status(&mut self, index: StatusIndex, value: u8) -> Result<()> {
        self.set(index, TokenStatus(value))
    }

    fn encode_list(&self) -> Result<String> {
        self.encode_lst()
    }
}

/// Number of a sealed batch, increasing from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BatchId(pub u64);

impl std::fmt::Display for BatchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One unpublished update, as [`PendingUpdates::pending`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingEntry {
    /// Index in the list.
    pub index: StatusIndex,
    /// New status.
    pub value: u8,
    /// `None` while queued; the batch once sealed.
    pub batch: Option<BatchId>,
}

/// What to publish: the list encoding carrying every unpublished batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Confirm this id with [`PendingUpdates::mark_published`] once the
    /// encoding is published.
    pub batch: BatchId,
    /// `encodedList` (Bitstring) or `lst` (Token Status List).
    pub encoded_list: String,
    /// Updates carried that are not yet published.
    pub updates: usize,
}

/// Updates waiting to be published for one list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingUpdates {
    queued: BTreeMap<u32, u8>,
    batches: BTreeMap<u64, BTreeMap<u32, u8>>,
    next_batch: u64,
}

impl PendingUpdates {
    /// No updates.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `index := value`, checked against `list`; replaces any queued
    /// value for the same index.
    pub fn set<T: StatusTarget + ?Sized>(&mut self, list: &T, index: StatusIndex, value: u8) -> Result<()> {
        list.check(index, value)?;
        self.queued.insert(index.get(), value);
        Ok(())
    }

    /// True when nothing is queued or unpublished.
    pub fn is_empty(&self) -> bool {
        self.queued.is_empty() && self.batches.is_empty()
    }

    /// Every update not yet published: sealed batches oldest first, then the
    /// queue.
    pub fn pending(&self) -> Vec<PendingEntry> {
        let sealed = self.batches.iter().flat_map(|(&id, updates)| {
            updates.iter().map(move |(&i, &v)| PendingEntry {
                index: StatusIndex::new(i),
                value: v,
                batch: Some(BatchId(id)),
            })
        });
        let queued =
            self.queued.iter().map(|(&i, &v)| PendingEntry { index: StatusIndex::new(i), value: v, batch: None });
        sealed.chain(queued).collect()
    }

    /// Sealed batches awaiting publication, oldest first.
    pub fn unpublished_batches(&self) -> Vec<BatchId> {
        self.batches.keys().map(|&id| BatchId(id)).collect()
    }

    /// The newest unpublished value for `index`, if any: what a status
    /// query should answer before publication catches up.
    pub fn effective(&self, index: StatusIndex) -> Option<u8> {
        let i = index.get();
        self.queued
            .get(&i)
            .copied()
            .or_else(|| self.batches.values().rev().find_map(|updates| updates.get(&i).copied()))
    }

    /// Seals the queue into a new batch. `None` when nothing is queued.
    pub fn seal(&mut self) -> Result<Option<BatchId>> {
        if self.queued.is_empty() {
            return Ok(None);
        }
        let id = self.next_batch.max(1);
        if self.batches.range(id..).next().is_some() {
            return Err(Error::CorruptState(format!("next batch id {id} is not above the unpublished batches")));
        }
        self.next_batch = id + 1;
        self.batches.insert(id, std::mem::take(&mut self.queued));
        Ok(Some(BatchId(id)))
    }

    /// Applies every sealed, unpublished batch to `list`, oldest first, so
    /// later writes win. Checks everything before changing anything;
    /// applying twice changes nothing.
    pub fn apply<T: StatusTarget + ?Sized>(&self, list: &mut T) -> Result<()> {
        for updates in self.batches.values() {
            for (&i, &v) in updates {
                list.check(StatusIndex::new(i), v)?;
            }
        }
        for updates in self.batches.values() {
            for (&i, &v) in updates {
                list.set_status(StatusIndex::new(i), v)?;
            }
        }
        Ok(())
    }

    /// Seals the queue, applies every unpublished batch to `list` and
    /// encodes it. `None` when nothing is unpublished. Call again to retry
    /// after a failed publish: it yields the same or a newer encoding.
    pub fn prepare<T: StatusTarget + ?Sized>(&mut self, list: &mut T) -> Result<Option<Prepared>> {
        self.seal()?;
        let Some((&latest, _)) = self.batches.last_key_value() else {
            return Ok(None);
        };
        self.apply(list)?;
        Ok(Some(Prepared {
            batch: BatchId(latest),
            encoded_list: list.encode_list()?,
            updates: self.batches.values().map(BTreeMap::len).sum(),
        }))
    }

    /// Confirms that the encoding carrying `batch` is published: forgets it
    /// and every older batch. Returns how many updates were confirmed.
    pub fn mark_published(&mut self, batch: BatchId) -> Result<usize> {
        if !self.batches.contains_key(&batch.0) {
            return Err(Error::UnknownBatch(batch.0));
        }
        let newer = self.batches.split_off(&(batch.0 + 1));
        let confirmed = std::mem::replace(&mut self.batches, newer);
        Ok(confirmed.values().map(BTreeMap::len).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token_status::Bits;

    fn idx(i: u32) -> StatusIndex {
        StatusIndex::new(i)
    }

    #[test]
    fn last_write_wins_in_queue_and_across_batches() {
        let mut list = TokenStatusList::new(Bits::TWO);
        let mut p = PendingUpdates::new();
        p.set(&list, idx(5), 1).unwrap();
        p.set(&list, idx(5), 2).unwrap();
        assert_eq!(p.pending().len(), 1);
        assert_eq!(p.effective(idx(5)), Some(2));
        let b1 = p.seal().unwrap().unwrap();
        p.set(&list, idx(5), 0).unwrap(); // reinstate after suspension
        let prepared = p.prepare(&mut list).unwrap().unwrap();
        assert!(prepared.batch > b1);
        assert_eq!(list.get(idx(5)).unwrap(), TokenStatus::VALID);
        assert_eq!(p.effective(idx(5)), Some(0));
    }

    #[test]
    fn failed_publish_keeps_updates_visible_and_retry_carries_them() {
        let mut list = StatusList::minimum();
        let mut p = PendingUpdates::new();
        p.set(&list, idx(42), 1).unwrap();
        let first = p.prepare(&mut list).unwrap().unwrap();
        assert_eq!(first.batch, BatchId(1));

        // Publishing fails: nothing is confirmed. The revocation is still
        // listed, sealed in batch 1, and survives a restart.
        let saved = serde_json::to_string(&p).unwrap();
        let mut p: PendingUpdates = serde_json::from_str(&saved).unwrap();
        assert_eq!(p.pending(), vec![PendingEntry { index: idx(42), value: 1, batch: Some(BatchId(1)) }]);

        // More revocations arrive; the list in memory was lost in the crash.
        let mut list = StatusList::minimum();
        p.set(&list, idx(7), 1).unwrap();
        let retry = p.prepare(&mut list).unwrap().unwrap();
        assert_eq!(retry.batch, BatchId(2));
        assert_eq!(retry.updates, 2);
        let published = StatusList::decode(&retry.encoded_list, list.status_size()).unwrap();
        assert_eq!(published.get(idx(42)).unwrap(), 1, "batch 1 not lost");
        assert_eq!(published.get(idx(7)).unwrap(), 1);

        // Publishing batch 2 confirms both.
        assert_eq!(p.mark_published(BatchId(2)).unwrap(), 2);
        assert!(p.is_empty());
        assert!(p.prepare(&mut list).unwrap().is_none());
        assert_eq!(p.mark_published(BatchId(2)), Err(Error::UnknownBatch(2)));
        // Batch ids keep increasing after confirmation.
        p.set(&list, idx(8), 1).unwrap();
        assert_eq!(p.seal().unwrap(), Some(BatchId(3)));
    }

    #[test]
    fn reapply_is_idempotent() {
        let mut list = StatusList::minimum();
        let mut p = PendingUpdates::new();
        for i in [1u32, 2, 3, 100_000] {
            p.set(&list, idx(i), 1).unwrap();
        }
        let a = p.prepare(&mut list).unwrap().unwrap();
        let before = list.clone();
        p.apply(&mut list).unwrap();
        p.apply(&mut list).unwrap();
        assert_eq!(list, before);
        let b = p.prepare(&mut list).unwrap().unwrap();
        assert_eq!(a, b, "retry without new updates republishes the same list");
    }

    #[test]
    fn confirming_an_older_batch_keeps_newer_ones() {
        let mut list = StatusList::minimum();
        let mut p = PendingUpdates::new();
        p.set(&list, idx(1), 1).unwrap();
        let one = p.prepare(&mut list).unwrap().unwrap().batch;
        p.set(&list, idx(2), 1).unwrap();
        let two = p.seal().unwrap().unwrap();
        assert_eq!(p.unpublished_batches(), vec![one, two]);
        assert_eq!(p.mark_published(one).unwrap(), 1);
        assert_eq!(p.unpublished_batches(), vec![two]);
        assert_eq!(p.effective(idx(2)), Some(1));
        assert_eq!(p.effective(idx(1)), None);
    }

    #[test]
    fn invalid_updates_refused_at_queue_time() {
        let list = StatusList::minimum();
        let mut p = PendingUpdates::new();
        assert!(matches!(p.set(&list, idx(131_072), 1), Err(Error::IndexOutOfRange { .. })));
        assert!(matches!(p.set(&list, idx(0), 2), Err(Error::ValueTooLarge { .. })));
        assert!(p.is_empty());
    }
}
