//! A cache of serialized resolution results for one signed tree size.
//!
//! Under read-heavy load most resolutions ask for the latest version of a
//! DID while the tree does not move; the answer (document, metadata,
//! audit path, tree head) is then the same bytes every time. Entries are
//! keyed by DID and valid for exactly one tree size: the first lookup or
//! insert for a newer size empties the cache, so an answer is never older
//! than the head it is proved against, and never newer than what is signed.

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// Most entries kept; past that the cache starts over.
const CAPACITY: usize = 65_536;

/// A resolution result, serialized.
#[derive(Debug)]
pub struct SerializedResolution {
    /// The JSON resolution result; cloning shares the bytes.
    pub body: Bytes,
    /// Whether the answer is "deactivated" (HTTP 410).
    pub deactivated: bool,
}

#[derive(Default)]
pub(crate) struct ResolutionCache {
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    tree_size: u64,
    by_did: HashMap<String, Arc<SerializedResolution>>,
}

impl ResolutionCache {
    pub(crate) fn get(&self, tree_size: u64, did: &str) -> Option<Arc<SerializedResolution>> {
        let entries = self.inner.lock();
        if entries.tree_size != tree_size {
            return None;
        }
        entries.by_did.get(did).cloned()
    }

    pub(crate) fn put(&self, tree_size: u64, did: &str, value: Arc<SerializedResolution>) {
        let mut entries = self.inner.lock();
        if tree_size < entries.tree_size {
            return;
        }
        if tree_size > entries.tree_size || entries.by_did.len() >= CAPACITY {
            entries.by_did.clear();
            entries.tree_size = tree_size;
        }
        entries.by_did.insert(did.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(tag: u8) -> Arc<SerializedResolution> {
        Arc::new(SerializedResolution { body: Bytes::from(vec![tag]), deactivated: false })
    }

    #[test]
    fn entries_live_for_one_tree_size() {
        let cache = ResolutionCache::default();
        cache.put(5, "did:a", value(1));
        assert_eq!(cache.get(5, "did:a").unwrap().body, [1][..]);
        assert!(cache.get(6, "did:a").is_none());
        cache.put(6, "did:b", value(2));
        assert!(cache.get(5, "did:a").is_none());
        // A late writer for an older head cannot overwrite newer answers.
        cache.put(5, "did:b", value(3));
        assert_eq!(cache.get(6, "did:b").unwrap().body, [2][..]);
    }
}
