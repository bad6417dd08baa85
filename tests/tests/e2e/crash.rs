//! Durability of the real binary: every acknowledged write survives a
//! SIGKILL under load, and a tampered store is caught by
//! `idelta ledger verify` and refused at start-up.

use idelta_ledger_node::client::LedgerClient;
use idelta_ledger_node::log::store::Store;
use idelta_ledger_node::node::{ResolveOptions, STORE_FILE};
use idelta_ledger_node::Node;
use idelta_tests::{load_trustee, run_binary, spawn_binary, try_spawn_binary, Actor};
use idelta_types::canonical::b64;
use idelta_types::log::Receipt;
use idelta_types::merkle;
use idelta_types::Did;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Writers hammering the node while it is killed.
const WRITERS: usize = 16;
/// How long the load runs before the SIGKILL.
const LOAD_WINDOW: Duration = Duration::from_millis(1500);

/// Does `text` name `leaf {index}` (not merely a longer number starting
/// with the same digits)?
fn names_leaf(text: &str, index: u64) -> bool {
    let needle = format!("leaf {index}");
    text.match_indices(&needle).any(|(at, _)| !text[at + needle.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_and_tampering_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let init = Node::init(dir.path(), "crash", 1).unwrap();
    let trustee = Actor::from_dev_key(&load_trustee(dir.path()), 2);
    let serve = ["ledger", "serve", "--data", data.as_str(), "--listen", "127.0.0.1:0"];

    let mut node = spawn_binary(&serve).await;
    let client = LedgerClient::new(&node.url, init.node_key.clone()).unwrap();
    assert_eq!(client.sth().await.unwrap().tree_size, 1, "the binary wrote the genesis");

    // Load: WRITERS tasks create endorsed DIDs as fast as they can and keep
    // every acknowledged receipt.
    let stop = Arc::new(AtomicBool::new(false));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..WRITERS {
        let (stop, http, trustee) = (Arc::clone(&stop), http.clone(), trustee.clone());
        let url = format!("{}/v1/transactions", node.url);
        writers.spawn(async move {
            let mut acked: Vec<(Did, Receipt)> = Vec::new();
            let mut unexpected: Vec<String> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let actor = Actor::generate();
                let tx = actor.create_tx(Some(&trustee));
                let resp = match http.post(&url).json(&tx).send().await {
                    Ok(r) => r,
                    Err(_) => break, // the node is gone
                };
                let status = resp.status();
                match resp.bytes().await {
                    Ok(body) if status == 201 => match serde_json::from_slice::<Receipt>(&body) {
                        Ok(receipt) => acked.push((actor.did, receipt)),
                        Err(e) => unexpected.push(format!("201 with a body that is not a receipt: {e}")),
                    },
                    Ok(body) => unexpected.push(format!("{status}: {}", String::from_utf8_lossy(&body))),
                    Err(_) => break, // killed mid-answer: not acknowledged
                }
            }
            (acked, unexpected)
        });
    }
    tokio::time::sleep(LOAD_WINDOW).await;
    node.kill().await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    while let Some(joined) = writers.join_next().await {
        let (a, unexpected) = joined.unwrap();
        assert!(unexpected.is_empty(), "writes refused under load: {unexpected:?}");
        acked.extend(a);
    }
    assert!(acked.len() >= WRITERS, "the load acknowledged only {} writes", acked.len());

    // Restart on the same directory: everything acknowledged is there.
    let mut node = spawn_binary(&serve).await;
    let client = LedgerClient::new(&node.url, init.node_key.clone()).unwrap();
    let sth = client.sth().await.unwrap();
    eprintln!("crash: {} writes acknowledged before SIGKILL; {} leaves after restart", acked.len(), sth.tree_size);
    let max_index = acked.iter().map(|(_, r)| r.leaf_index).max().unwrap();
    assert!(sth.tree_size > max_index, "tree size {} lost acknowledged leaf {max_index}", sth.tree_size);
    let mut indexes: Vec<u64> = acked.iter().map(|(_, r)| r.leaf_index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), acked.len(), "two receipts name the same leaf");

    let acked = Arc::new(acked);
    let mut checkers = tokio::task::JoinSet::new();
    for part in 0..8usize {
        let (acked, client) = (Arc::clone(&acked), client.clone());
        checkers.spawn(async move {
            for (did, receipt) in acked.iter().skip(part).step_by(8) {
                let resolved = client.resolve(did, &ResolveOptions::default()).await.unwrap_or_else(|e| {
                    panic!("acknowledged {did} (leaf {}) does not resolve: {e}", receipt.leaf_index)
                });
                assert!(!resolved.deactivated);
                let ledger = resolved.result.did_document_metadata.ledger.as_ref().unwrap();
                assert_eq!(ledger.leaf_index, receipt.leaf_index, "{did} is proved by its receipt's leaf");
                let entry = client.entry(receipt.leaf_index).await.unwrap();
                let input = b64::decode("leaf_input", &entry.leaf_input).unwrap();
                assert_eq!(
                    b64::encode(merkle::leaf_hash(&input)),
                    receipt.leaf_hash,
                    "leaf {} changed",
                    receipt.leaf_index
                );
                assert_eq!(&entry.tx.author, did);
            }
        });
    }
    while let Some(joined) = checkers.join_next().await {
        joined.unwrap();
    }

    // A live store is locked by the node: verify the directory once it stops.
    node.kill().await;
    let out = run_binary(&["ledger", "verify", "--data", data.as_str()]).await;
    assert!(
        out.status.success(),
        "`idelta ledger verify` failed on an intact log: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Tamper with one byte of a middle leaf, behind the node's back.
    let middle = sth.tree_size / 2;
    {
        let store = Store::open(&dir.path().join(STORE_FILE)).unwrap();
        let mut input = store.leaf(middle).unwrap().expect("middle leaf");
        let at = input.len() / 2;
        input[at] ^= 0x20;
        store.tamper_leaf_for_tests(middle, &input).unwrap();
    }
    let out = run_binary(&["ledger", "verify", "--data", data.as_str()]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "`idelta ledger verify` accepted a tampered leaf {middle}");
    assert!(names_leaf(&stderr, middle), "verify must name leaf {middle}; stderr: {stderr}");

    // Starting the node refuses the tampered store too.
    match try_spawn_binary(&serve).await {
        Ok(mut started) => {
            started.kill().await;
            panic!("the node started on a store with a tampered leaf {middle}");
        }
        Err(failure) => {
            assert!(failure.status.is_some_and(|s| !s.success()), "the node must exit non-zero: {failure:?}");
        }
    }
}

#[test]
fn names_leaf_matches_whole_numbers() {
    assert!(names_leaf("inconsistent ledger data: leaf 12: tampered", 12));
    assert!(!names_leaf("leaf 123: tampered", 12));
    assert!(names_leaf("leaf 123 and leaf 12", 12));
}
