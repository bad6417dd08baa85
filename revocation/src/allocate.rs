//! Random index allocation without reuse (issue 4 item 5; Bitstring Status
//! List v1.0 §6.1 "Herd Privacy" and the Token Status List draft's privacy
//! considerations recommend that position reveal nothing about issuance).
//!
//! The allocator keeps a bitmap of used indexes (16 KiB for the minimum
//! list). Each allocation draws a uniform index with the caller's RNG and
//! takes it if free (rejection sampling); after a few misses, when the list
//! is dense, it draws a uniform rank among the free indexes instead and
//! finds it with a popcount scan. Either way every free index is equally
//! likely and no index is ever handed out twice. Cost: expected O(1) while
//! at most 7/8 of the list is used; above that a scan of `capacity / 64`
//! words (2,048 for the minimum list, about a microsecond).
//!
//! State is serde-serialisable (the bitmap as base64url) so the caller can
//! persist it with the list, in the same transaction as the credential that
//! took the index.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, StatusIndex};

/// Rejection-sampling draws before switching to the rank scan.
const TRIES: usize = 8;

/// Hands out indexes of a list of `capacity` entries, uniformly at random,
/// each at most once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AllocatorState", into = "AllocatorState")]
pub struct IndexAllocator {
    capacity: u32,
    allocated: u32,
    used: Vec<u64>,
}

/// Wire form of [`IndexAllocator`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AllocatorState {
    capacity: u32,
    allocated: u32,
    /// Little-endian u64 words of the used bitmap, base64url.
    used: String,
}

impl From<IndexAllocator> for AllocatorState {
    fn from(a: IndexAllocator) -> Self {
        let bytes: Vec<u8> = a.used.iter().flat_map(|w| w.to_le_bytes()).collect();
        Self { capacity: a.capacity, allocated: a.allocated, used: URL_SAFE_NO_PAD.encode(bytes) }
    }
}

impl TryFrom<AllocatorState> for IndexAllocator {
    type Error = Error;

    fn try_from(s: AllocatorState) -> Result<Self> {
        let bytes = URL_SAFE_NO_PAD
            .decode(&s.used)
            .map_err(|_| Error::CorruptState("allocator bitmap is not base64url".into()))?;
        let words = words_for(s.capacity);
        if bytes.len() != words * 8 {
            return Err(Error::CorruptState(format!(
                "allocator bitmap has {} bytes, capacity {} needs {}",
                bytes.len(),
                s.capacity,
                words * 8
            )));
        }
        let used: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect();
        let a = IndexAllocator { capacity: s.capacity, allocated: s.allocated, used };
        let count: u64 = a.used.iter().map(|w| u64::from(w.count_ones())).sum();
        if count != u64::from(s.allocated) {
            return Err(Error::CorruptState(format!(
                "allocator records {} allocations but its bitmap has {count}",
                s.allocated
            )));
        }
        if a.tail_mask() & a.used.last().copied().unwrap_or(0) != 0 {
            return Err(Error::CorruptState("allocator bitmap marks indexes beyond capacity".into()));
        }
        Ok(a)
    }
}

fn words_for(capacity: u32) -> usize {
    (capacity as usize).div_ceil(64)
}

impl IndexAllocator {
    /// An allocator for a list of `capacity` entries, none used.
    pub fn new(capacity: u32) -> Self {
        Self { capacity, allocated: 0, used: vec![0; words_for(capacity)] }
    }

    /// Entries in the list.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Indexes handed out so far.
    pub fn allocated(&self) -> u32 {
        self.allocated
    }

    /// Indexes still free.
    pub fn remaining(&self) -> u32 {
        self.capacity - self.allocated
    }

    /// Whether `index` has been handed out.
    pub fn is_allocated(&self, index: StatusIndex) -> bool {
        let i = index.as_usize();
        i < self.capacity as usize && self.used[i / 64] & (1 << (i % 64)) != 0
    }

    /// Bits of the last word that lie beyond capacity.
    fn tail_mask(&self) -> u64 {
        match self.capacity % 64 {
            0 => 0,
            r => !((1u64 << r) - 1),
        }
    }

    fn take(&mut self, i: usize) -> StatusIndex {
        self.used[i / 64] |= 1 << (i % 64);
        self.allocated += 1;
        StatusIndex::new(i as u32)
    }

    /// A fresh index chosen uniformly among the free ones.
    ///
    /// Fails with [`Error::ListFull`] when every index is used: the caller
    /// opens a new list.
    pub fn allocate<R: RngCore + ?Sized>(&mut self, rng: &mut R) -> Result<StatusIndex> {
        let remaining = self.remaining();
        if remaining == 0 {
            return Err(Error::ListFull { capacity: self.capacity as usize });
        }
        for _ in 0..TRIES {
            let i = rng.gen_range(0..self.capacity) as usize;
            if self.used[i / 64] & (1 << (i % 64)) == 0 {
                return Ok(self.take(i));
            }
        }
        // Dense: pick the rank-th free index, uniformly.
        let mut rank = rng.gen_range(0..remaining);
        let tail = self.tail_mask();
        let last = self.used.len().saturating_sub(1);
        for (w, &word) in self.used.iter().enumerate() {
            let free = !word & if w == last { !tail } else { u64::MAX };
            let n = free.count_ones();
            if rank < n {
                let mut bits = free;
                for _ in 0..rank {
                    bits &= bits - 1; // clear lowest set bit
                }
                let i = w * 64 + bits.trailing_zeros() as usize;
                return Ok(self.take(i));
            }
            rank -= n;
        }
        Err(Error::CorruptState("allocator count disagrees with its bitmap".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MIN_ENTRIES;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn every_index_exactly_once_then_full() {
        let cap = MIN_ENTRIES as u32;
        let mut a = IndexAllocator::new(cap);
        let mut rng = StdRng::seed_from_u64(1);
        let mut seen = vec![false; MIN_ENTRIES];
        for _ in 0..cap {
            let i = a.allocate(&mut rng).unwrap().as_usize();
            assert!(!seen[i], "index {i} handed out twice");
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(a.remaining(), 0);
        assert_eq!(a.allocate(&mut rng), Err(Error::ListFull { capacity: MIN_ENTRIES }));
    }

    #[test]
    fn different_seeds_give_different_orders_and_no_issuance_order() {
        let cap = MIN_ENTRIES as u32;
        let draw = |seed: u64| {
            let mut a = IndexAllocator::new(cap);
            let mut rng = StdRng::seed_from_u64(seed);
            (0..1000).map(|_| a.allocate(&mut rng).unwrap().get()).collect::<Vec<_>>()
        };
        let (x, y) = (draw(7), draw(8));
        assert_ne!(x, y);
        assert_eq!(draw(7), x, "same seed, same order");
        // Not sequential: far from sorted.
        let ascending = x.windows(2).filter(|w| w[0] < w[1]).count();
        assert!((400..600).contains(&ascending), "{ascending}");
    }

    #[test]
    fn odd_capacity_never_exceeds_bounds() {
        let mut a = IndexAllocator::new(100);
        let mut rng = StdRng::seed_from_u64(3);
        let mut got: Vec<u32> = (0..100).map(|_| a.allocate(&mut rng).unwrap().get()).collect();
        got.sort_unstable();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        assert!(matches!(a.allocate(&mut rng), Err(Error::ListFull { .. })));
    }

    #[test]
    fn state_round_trips_and_continues_without_reuse() {
        let mut a = IndexAllocator::new(1000);
        let mut rng = StdRng::seed_from_u64(9);
        let first: Vec<u32> = (0..600).map(|_| a.allocate(&mut rng).unwrap().get()).collect();
        let json = serde_json::to_string(&a).unwrap();
        let mut b: IndexAllocator = serde_json::from_str(&json).unwrap();
        assert_eq!(a, b);
        let dyn_rng: &mut dyn RngCore = &mut rng;
        let rest: Vec<u32> = (0..400).map(|_| b.allocate(&mut *dyn_rng).unwrap().get()).collect();
        let mut all: Vec<u32> = first.into_iter().chain(rest).collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn corrupt_state_refused() {
        let a = IndexAllocator::new(100);
        let mut v = serde_json::to_value(&a).unwrap();
        v["allocated"] = 3.into();
        assert!(serde_json::from_value::<IndexAllocator>(v).is_err());
        let mut v = serde_json::to_value(&a).unwrap();
        v["capacity"] = 1000.into();
        assert!(serde_json::from_value::<IndexAllocator>(v).is_err());
        // A bit set beyond capacity (index 127 of a 100-entry list).
        let mut bytes = vec![0u8; 16];
        bytes[15] = 0x80;
        let v = serde_json::json!({
            "capacity": 100, "allocated": 1, "used": URL_SAFE_NO_PAD.encode(bytes)
        });
        assert!(serde_json::from_value::<IndexAllocator>(v).is_err());
    }
}
