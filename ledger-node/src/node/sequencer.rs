//! The sequencer: one thread that orders writes, applies them, makes them
//! durable and only then acknowledges them (sequence, then integrate).
//!
//! Group commit falls out of the loop: while one batch is being fsynced,
//! new writes queue up, and the next iteration takes all of them (up to
//! [`MAX_BATCH`]) into one redb transaction and one fsync. On a storage
//! failure the node stops accepting writes (fail-stop): after a failed
//! fsync the only trustworthy state is what a restart replays from disk.

use super::{now_ms, sign_tree_head, Pending, Shared, MAX_BATCH};
use crate::admission::Admitted;
use crate::error::NodeError;
use crate::state::{apply, Batch};
use idelta_types::canonical::b64;
use idelta_types::log::{LeafInput, Receipt};
use idelta_types::merkle::{leaf_hash, Hash};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<Receipt, NodeError>>;

pub(super) fn run(shared: Arc<Shared>, mut queue: mpsc::Receiver<Pending>) {
    let mut last_timestamp = shared.sth.read().timestamp;
    while let Some(first) = queue.blocking_recv() {
        let mut pending = vec![first];
        while pending.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(p) => pending.push(p),
                Err(_) => break,
            }
        }
        let (txs, replies): (Vec<Admitted>, Vec<Reply>) = pending.into_iter().map(|p| (p.tx, p.reply)).unzip();
        if let Some(reason) = shared.failed.lock().clone() {
            fail_all(replies, &reason);
            continue;
        }
        // Time only moves forward, even if the wall clock steps back.
        last_timestamp = last_timestamp.max(now_ms());
        integrate(&shared, &txs, replies, last_timestamp);
    }
}

fn fail_all(replies: Vec<Reply>, reason: &str) {
    for reply in replies {
        let _ = reply.send(Err(NodeError::Unavailable(reason.to_owned())));
    }
}

fn integrate(shared: &Shared, txs: &[Admitted], replies: Vec<Reply>, timestamp: u64) {
    let first_leaf_index = shared.tree.read().len();
    let (changes, verdicts) = {
        let state = shared.state.read();
        apply(&state, &Batch { first_leaf_index, timestamp_ms: timestamp, txs })
    };
    let leaves: Vec<(Vec<u8>, Hash)> = txs
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| v.is_ok())
        .map(|(tx, _)| {
            let input = LeafInput::encode(timestamp, &tx.canonical);
            let hash = leaf_hash(&input);
            (input, hash)
        })
        .collect();
    let mut tree_size = first_leaf_index;
    if !leaves.is_empty() {
        let root = {
            let mut tree = shared.tree.write();
            for (_, hash) in &leaves {
                tree.push(*hash);
            }
            tree_size = tree.len();
            tree.root(tree_size)
        };
        let root = match root {
            Ok(r) => r,
            Err(e) => return stop(shared, replies, format!("tree: {e}")),
        };
        let sth = sign_tree_head(&shared.key, timestamp, tree_size, &root);
        if let Err(e) = shared.store.append(first_leaf_index, &leaves, &sth) {
            return stop(shared, replies, e.to_string());
        }
        shared.state.write().commit(changes);
        *shared.sth.write() = Arc::new(sth);
    }
    let mut hashes = leaves.iter().map(|(_, h)| h);
    for (verdict, reply) in verdicts.into_iter().zip(replies) {
        let answer = match verdict {
            Ok(accepted) => Ok(Receipt {
                leaf_index: accepted.leaf_index,
                leaf_hash: hashes.next().map(b64::encode).unwrap_or_default(),
                timestamp,
                tree_size,
            }),
            Err(rejection) => Err(NodeError::Rejected(rejection)),
        };
        let _ = reply.send(answer);
    }
}

fn stop(shared: &Shared, replies: Vec<Reply>, reason: String) {
    tracing::error!(%reason, "ledger storage failed; refusing further writes until restart");
    let reason = format!("storage failure, restart the node: {reason}");
    *shared.failed.lock() = Some(reason.clone());
    fail_all(replies, &reason);
}
