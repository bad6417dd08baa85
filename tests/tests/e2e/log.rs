//! The RFC 6962 log endpoints: signed tree heads, entries, inclusion and
//! consistency proofs, and their error answers (design.md §9).

use idelta_ledger_node::node::NodeInfo;
use idelta_tests::{expect_problem, flip_byte_b64, TestLedger};
use idelta_types::canonical::b64;
use idelta_types::log::{
    decode_hashes, node_signer_id, ConsistencyProof, InclusionProof, LeafInput, LogEntry, SignedTreeHead,
};
use idelta_types::merkle;
use idelta_types::PublicKey;

async fn get_json<T: serde::de::DeserializeOwned>(ledger: &TestLedger, path: &str) -> T {
    let resp = ledger.http.get(format!("{}{path}", ledger.url)).send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "GET {path}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
}

async fn get_problem(ledger: &TestLedger, path: &str, status: u16, code: &str) {
    let resp = ledger.http.get(format!("{}{path}", ledger.url)).send().await.unwrap();
    expect_problem(resp, status, code).await;
}

/// Grows a log to `n` DIDs past the genesis, recording the head after
/// every write.
async fn grow(ledger: &TestLedger, n: usize) -> Vec<SignedTreeHead> {
    let mut heads = vec![ledger.sth().await];
    for _ in 0..n {
        ledger.onboard().await;
        heads.push(ledger.sth().await);
    }
    heads
}

#[tokio::test]
async fn tree_heads_are_signed_by_the_node_key() {
    let ledger = TestLedger::start().await;
    let info: NodeInfo = get_json(&ledger, "/v1/node").await;
    let key = PublicKey::from_multibase(&info.public_key_multibase).unwrap();
    assert_eq!(key, ledger.node_key);
    assert_eq!(info.signer, node_signer_id(&key));
    assert_eq!(info.network, "test");

    let sth: SignedTreeHead = get_json(&ledger, "/v1/log/sth").await;
    assert_eq!(sth.tree_size, 1, "the genesis is leaf 0");
    sth.verify(&key).unwrap();
    assert_eq!(sth.signatures[0].signer, info.signer);
    assert_eq!(sth.signatures[0].alg, "EdDSA");
    // Tampered heads do not verify.
    let mut bad = sth.clone();
    bad.tree_size += 1;
    assert!(bad.verify(&key).is_err());
    let mut bad = sth.clone();
    bad.sha256_root_hash = flip_byte_b64(&bad.sha256_root_hash, 0);
    assert!(bad.verify(&key).is_err());
    let mut bad = sth.clone();
    bad.timestamp += 1;
    assert!(bad.verify(&key).is_err());
    let other = PublicKey::Ed25519(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng).verifying_key());
    assert!(sth.verify(&other).is_err());

    // The head grows with a write and stays signed.
    ledger.onboard().await;
    let next = ledger.client.sth().await.unwrap();
    assert_eq!(next.tree_size, 2);
    assert!(next.timestamp >= sth.timestamp);
}

#[tokio::test]
async fn every_leaf_is_included_and_every_head_is_consistent() {
    let ledger = TestLedger::start().await;
    let heads = grow(&ledger, 19).await;
    let sth = heads.last().unwrap().clone();
    assert_eq!(sth.tree_size, 20);
    sth.verify(&ledger.node_key).unwrap();
    let root = sth.root().unwrap();

    for i in 0..sth.tree_size {
        let entry: LogEntry = get_json(&ledger, &format!("/v1/log/entries/{i}")).await;
        assert_eq!(entry.leaf_index, i);
        let input = b64::decode("leaf_input", &entry.leaf_input).unwrap();
        let leaf = LeafInput::decode(&input).unwrap();
        assert_eq!(leaf.tx, entry.tx, "leaf {i}: tx is the decoded leaf input");
        assert_eq!(leaf.timestamp_ms, entry.timestamp);
        assert_eq!(entry.tx.tx_type == idelta_types::TxType::Genesis, i == 0);
        let hash = merkle::leaf_hash(&input);

        let proof: InclusionProof =
            get_json(&ledger, &format!("/v1/log/proof/inclusion?leaf_index={i}&tree_size={}", sth.tree_size)).await;
        assert_eq!((proof.leaf_index, proof.tree_size), (i, sth.tree_size));
        let path = decode_hashes("audit_path", &proof.audit_path).unwrap();
        merkle::verify_inclusion(i, sth.tree_size, &hash, &path, &root).unwrap_or_else(|e| panic!("leaf {i}: {e}"));
        // The same leaf against every earlier head that contains it.
        for head in heads.iter().filter(|h| h.tree_size > i) {
            let proof: InclusionProof =
                get_json(&ledger, &format!("/v1/log/proof/inclusion?leaf_index={i}&tree_size={}", head.tree_size))
                    .await;
            let path = decode_hashes("audit_path", &proof.audit_path).unwrap();
            merkle::verify_inclusion(i, head.tree_size, &hash, &path, &head.root().unwrap())
                .unwrap_or_else(|e| panic!("leaf {i} in head {}: {e}", head.tree_size));
        }
        // A mutated leaf, path or position does not verify.
        let mut tampered = input.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(merkle::verify_inclusion(i, sth.tree_size, &merkle::leaf_hash(&tampered), &path, &root).is_err());
        if let Some(first) = path.first() {
            let mut bad = path.clone();
            bad[0] = merkle::node_hash(first, first);
            assert!(merkle::verify_inclusion(i, sth.tree_size, &hash, &bad, &root).is_err());
        }
        assert!(merkle::verify_inclusion((i + 1) % sth.tree_size, sth.tree_size, &hash, &path, &root).is_err());
    }

    // Consistency between every pair of heads seen while growing, through
    // the raw endpoint and through the client.
    for (a, old) in heads.iter().enumerate() {
        for new in &heads[a..] {
            let proof: ConsistencyProof = get_json(
                &ledger,
                &format!("/v1/log/proof/consistency?first={}&second={}", old.tree_size, new.tree_size),
            )
            .await;
            assert_eq!((proof.first, proof.second), (old.tree_size, new.tree_size));
            let hashes = decode_hashes("consistency", &proof.consistency).unwrap();
            merkle::verify_consistency(
                old.tree_size,
                new.tree_size,
                &old.root().unwrap(),
                &new.root().unwrap(),
                &hashes,
            )
            .unwrap_or_else(|e| panic!("consistency {} -> {}: {e}", old.tree_size, new.tree_size));
            if old.tree_size < new.tree_size {
                let wrong_old = merkle::leaf_hash(b"not the old root");
                assert!(merkle::verify_consistency(
                    old.tree_size,
                    new.tree_size,
                    &wrong_old,
                    &new.root().unwrap(),
                    &hashes
                )
                .is_err());
            }
        }
        ledger
            .client
            .verify_consistency(old, &sth)
            .await
            .unwrap_or_else(|e| panic!("client consistency {} -> 20: {e}", old.tree_size));
    }
    // RFC 6962 §2.1.2 defines PROOF(m, D[n]) for 0 < m only; the node
    // refuses the empty tree with a problem rather than an empty proof.
    get_problem(&ledger, "/v1/log/proof/consistency?first=0&second=20", 400, "out-of-range").await;
}

#[tokio::test]
async fn out_of_range_and_malformed_log_requests_are_problems() {
    let ledger = TestLedger::start().await;
    grow(&ledger, 3).await;
    let n = ledger.tree_size().await;
    assert_eq!(n, 4);

    get_problem(&ledger, &format!("/v1/log/entries/{n}"), 400, "out-of-range").await;
    get_problem(&ledger, "/v1/log/entries/18446744073709551615", 400, "out-of-range").await;
    get_problem(&ledger, &format!("/v1/log/proof/inclusion?leaf_index={n}&tree_size={n}"), 400, "out-of-range").await;
    get_problem(&ledger, &format!("/v1/log/proof/inclusion?leaf_index=0&tree_size={}", n + 1), 400, "out-of-range")
        .await;
    get_problem(&ledger, "/v1/log/proof/inclusion?leaf_index=0&tree_size=0", 400, "out-of-range").await;
    get_problem(&ledger, &format!("/v1/log/proof/consistency?first={n}&second=2"), 400, "out-of-range").await;
    get_problem(&ledger, &format!("/v1/log/proof/consistency?first=1&second={}", n + 1), 400, "out-of-range").await;

    // Malformed parameters: problem documents, not axum's plain text.
    for path in [
        "/v1/log/entries/abc",
        "/v1/log/entries/-1",
        "/v1/log/proof/inclusion?leaf_index=abc&tree_size=1",
        "/v1/log/proof/inclusion?leaf_index=0",
        "/v1/log/proof/inclusion",
        "/v1/log/proof/consistency?first=x&second=2",
        "/v1/log/proof/consistency?first=1",
    ] {
        get_problem(&ledger, path, 400, "bad-request").await;
    }

    // Unknown routes: 404 problems.
    for path in ["/v1/nope", "/v1/log", "/v2/log/sth", "/"] {
        get_problem(&ledger, path, 404, "not-found").await;
    }
    // The log did not change.
    assert_eq!(ledger.tree_size().await, n);
}
