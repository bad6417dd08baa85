//! Refused writes: every refusal is a problem document with the expected
//! `code` and a `detail`, and leaves the log exactly as it was.

use ed25519_dalek::{Signer as _, SigningKey};
use idelta_ledger_node::client::ClientError;
use idelta_tests::{flip_byte_b64, Actor, TestLedger};
use idelta_types::document::{DidDocument, VerificationMethod};
use idelta_types::tx::{DidCreate, ObjectKind, Role};
use idelta_types::{Did, PublicKey, TxType};
use serde_json::json;

#[tokio::test]
async fn unauthorised_writes_are_refused() {
    let ledger = TestLedger::start().await;

    // An author without a role and without an endorser.
    let lone = Actor::generate();
    let p = ledger.reject(&lone.create_tx(None), 403, "endorsement-required").await;
    assert!(p["detail"].as_str().unwrap().contains(lone.did.as_str()), "{p}");

    // A registered author without a role writing alone (update, object).
    let author = ledger.onboard().await;
    ledger
        .reject(&author.update_tx(&author.with_service("web", "https://a.example"), None), 403, "endorsement-required")
        .await;
    ledger.reject(&author.object_put_tx(ObjectKind::Schema, "s", json!({}), None), 403, "endorsement-required").await;

    // A non-trustee granting or revoking a role, even for itself.
    let other = ledger.onboard().await;
    ledger.reject(&author.grant_tx(&other.did, Role::Endorser), 403, "unauthorized").await;
    ledger.reject(&author.grant_tx(&author.did, Role::Trustee), 403, "unauthorized").await;
    ledger.reject(&author.revoke_tx(&ledger.trustee.did), 403, "unauthorized").await;
}

#[tokio::test]
async fn endorsers_need_a_role() {
    let mut ledger = TestLedger::start().await;
    let no_role = ledger.onboard().await;
    let newcomer = Actor::generate();
    let p = ledger.reject(&newcomer.create_tx(Some(&no_role)), 403, "invalid-endorser").await;
    assert!(p["detail"].as_str().unwrap().contains(no_role.did.as_str()), "{p}");

    // A non-trustee endorser role does not allow granting roles.
    ledger.grant(&no_role.did, Role::Endorser).await;
    let endorser = no_role;
    ledger.reject(&endorser.grant_tx(&newcomer.did, Role::Endorser), 403, "unauthorized").await;
    // But it endorses.
    let mut newcomer = newcomer;
    {
        let tx = newcomer.create_tx(Some(&endorser));
        ledger.accept(&mut newcomer, &tx).await
    };
}

#[tokio::test]
async fn endorsers_must_be_on_the_ledger() {
    let ledger = TestLedger::start().await;
    let ghost = Actor::generate();
    let newcomer = Actor::generate();
    ledger.reject(&newcomer.create_tx(Some(&ghost)), 403, "invalid-endorser").await;
}

#[tokio::test]
async fn replayed_and_skipped_sequence_numbers_are_refused() {
    let ledger = TestLedger::start().await;
    let mut actor = Actor::generate();
    let create = actor.create_tx(Some(&ledger.trustee));
    ledger.accept(&mut actor, &create).await;
    // The very same signed bytes again.
    let p = ledger.reject(&create, 409, "sequence").await;
    assert!(p["detail"].as_str().unwrap().contains("expected 2"), "{p}");

    let update = actor.update_tx(&actor.with_service("web", "https://a.example"), Some(&ledger.trustee));
    ledger.accept(&mut actor, &update).await;
    ledger.reject(&update, 409, "sequence").await;

    // A gap: seq 4 when 3 is next.
    let doc = actor.with_service("web2", "https://b.example");
    let skipped = actor.tx_at(
        TxType::DidUpdate,
        &idelta_types::tx::DidUpdate { document: doc.clone() },
        Some(&ledger.trustee),
        actor.next_seq + 1,
    );
    ledger.reject(&skipped, 409, "sequence").await;
    // Seq 0 is malformed, not merely out of order.
    let zero = actor.tx_at(TxType::DidUpdate, &idelta_types::tx::DidUpdate { document: doc }, Some(&ledger.trustee), 0);
    ledger.reject(&zero, 400, "malformed-transaction").await;

    // The trustee's own replay protection: its genesis used seq 1.
    let other = ledger.onboard().await;
    let mut stale = ledger.trustee.clone();
    stale.next_seq = 1;
    ledger.reject(&stale.grant_tx(&other.did, Role::Endorser), 409, "sequence").await;

    // The client surfaces the same refusal as a typed problem.
    match ledger.client.submit(&create).await {
        Err(ClientError::Problem { status: 409, code, .. }) => assert_eq!(code, "sequence"),
        other => panic!("expected a sequence problem, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_signatures_are_refused() {
    let ledger = TestLedger::start().await;
    let actor = Actor::generate();

    // One flipped bit in the author's signature.
    let mut tx = actor.create_tx(Some(&ledger.trustee));
    tx.signatures[0].signature = flip_byte_b64(&tx.signatures[0].signature, 5);
    ledger.reject(&tx, 403, "bad-signature").await;
    // ... in the endorser's.
    let mut tx = actor.create_tx(Some(&ledger.trustee));
    tx.signatures[1].signature = flip_byte_b64(&tx.signatures[1].signature, 60);
    ledger.reject(&tx, 403, "bad-signature").await;
    // A signature that is not 64 bytes, and one that is not base64.
    let mut tx = actor.create_tx(Some(&ledger.trustee));
    tx.signatures[0].signature = idelta_types::canonical::b64::encode([1u8; 63]);
    ledger.reject(&tx, 403, "bad-signature").await;
    let mut tx = actor.create_tx(Some(&ledger.trustee));
    tx.signatures[0].signature = "not base64!".into();
    ledger.reject(&tx, 403, "bad-signature").await;
    // A payload changed after signing.
    let mut tx = actor.create_tx(Some(&ledger.trustee));
    tx.payload["document"]["service"] =
        json!([{ "id": actor.did.with_fragment("x"), "type": "X", "serviceEndpoint": "https://x" }]);
    ledger.reject(&tx, 403, "bad-signature").await;
    // Another algorithm name.
    let mut tx = actor.create_tx(Some(&ledger.trustee));
    tx.signatures[0].alg = "ES256".into();
    ledger.reject(&tx, 403, "bad-signature").await;
    // No signature by the author (only the endorser's).
    let mut tx = actor.create_tx(Some(&ledger.trustee));
    tx.signatures.remove(0);
    ledger.reject(&tx, 403, "bad-signature").await;
    // An endorser named who did not sign.
    let mut tx = actor.create_tx(Some(&ledger.trustee));
    tx.signatures.remove(1);
    ledger.reject(&tx, 403, "bad-signature").await;
    // An empty signature list.
    let mut tx = actor.create_tx(Some(&ledger.trustee));
    tx.signatures.clear();
    ledger.reject(&tx, 403, "bad-signature").await;

    // A key of the DID that is not in capabilityInvocation.
    let mut holder = ledger.onboard().await;
    let aux = SigningKey::generate(&mut rand::rngs::OsRng);
    let aux_id = holder.did.with_fragment("auth-2");
    let mut doc = holder.document.clone();
    doc.verification_method.push(VerificationMethod {
        id: aux_id.clone(),
        kind: "Multikey".into(),
        controller: holder.did.clone(),
        public_key_multibase: PublicKey::Ed25519(aux.verifying_key()).to_multibase(),
    });
    doc.authentication.push(aux_id.clone());
    let add_aux = holder.update_tx(&doc, Some(&ledger.trustee));
    ledger.accept(&mut holder, &add_aux).await;
    holder.document = doc;
    let mut by_aux = holder.unsigned_at(
        TxType::DidUpdate,
        &idelta_types::tx::DidUpdate { document: holder.with_service("s", "https://s") },
        Some(&ledger.trustee),
        holder.next_seq,
    );
    by_aux.add_signature(aux_id, |m| aux.sign(m).to_bytes()).unwrap();
    ledger.trustee.sign(&mut by_aux);
    let p = ledger.reject(&by_aux, 403, "bad-signature").await;
    assert!(p["detail"].as_str().unwrap().contains("capabilityInvocation"), "{p}");
    // A key id the document does not have at all.
    let mut by_ghost_kid = holder.unsigned_at(
        TxType::DidDeactivate,
        &idelta_types::tx::DidDeactivate {},
        Some(&ledger.trustee),
        holder.next_seq,
    );
    let key = holder.key.clone();
    by_ghost_kid.add_signature(holder.did.with_fragment("key-9"), |m| key.sign(m).to_bytes()).unwrap();
    ledger.trustee.sign(&mut by_ghost_kid);
    ledger.reject(&by_ghost_kid, 403, "bad-signature").await;

    // A signer that is neither the author nor the endorser.
    let stranger = ledger.onboard().await;
    let mut tx = actor.create_tx(Some(&ledger.trustee));
    stranger.sign(&mut tx);
    let p = ledger.reject(&tx, 403, "bad-signature").await;
    assert!(p["detail"].as_str().unwrap().contains("neither"), "{p}");

    // After all that, the untouched transaction is still accepted.
    let mut actor = actor;
    {
        let tx = actor.create_tx(Some(&ledger.trustee));
        ledger.accept(&mut actor, &tx).await
    };
}

#[tokio::test]
async fn malformed_bodies_are_refused() {
    let ledger = TestLedger::start().await;
    let actor = Actor::generate();
    let good = serde_json::to_value(actor.create_tx(Some(&ledger.trustee))).unwrap();

    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"this is not json".to_vec()),
        ("empty body", Vec::new()),
        ("truncated JSON", br#"{"type":"did.create","author":"#.to_vec()),
        ("a JSON array", b"[]".to_vec()),
        ("a JSON string", br#""did.create""#.to_vec()),
    ];
    let mut mutate = |name: &'static str, f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        f(&mut v);
        cases.push((name, serde_json::to_vec(&v).unwrap()));
    };
    mutate("seq as a string", &|v| v["seq"] = json!("1"));
    mutate("negative seq", &|v| v["seq"] = json!(-1));
    mutate("author as a number", &|v| v["author"] = json!(42));
    mutate("author not a DID", &|v| v["author"] = json!("alice"));
    mutate("author of another method", &|v| v["author"] = json!("did:web:example.com"));
    mutate("signatures as an object", &|v| v["signatures"] = json!({}));
    mutate("unknown top-level member", &|v| v["extra"] = json!(1));
    mutate("unknown member in a signature", &|v| v["signatures"][0]["kid"] = json!("x"));
    mutate("unknown member in the payload", &|v| v["payload"]["extra"] = json!(true));
    mutate("unknown member in the document", &|v| v["payload"]["document"]["extra"] = json!(true));
    mutate("missing signatures", &|v| {
        v.as_object_mut().unwrap().remove("signatures");
    });
    mutate("missing seq", &|v| {
        v.as_object_mut().unwrap().remove("seq");
    });
    mutate("missing payload", &|v| {
        v.as_object_mut().unwrap().remove("payload");
    });
    mutate("unknown transaction type", &|v| v["type"] = json!("nym"));
    mutate("payload of the wrong shape", &|v| v["payload"] = json!({ "did": "x" }));
    mutate("payload not an object", &|v| v["payload"] = json!([1, 2]));
    mutate("author endorsing itself", &|v| v["endorser"] = v["author"].clone());

    for (name, body) in cases {
        let before = ledger.sth().await;
        let resp = ledger.post_raw(body).await;
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 400, "{name}: {text}");
        let p: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {text}"));
        assert_eq!(p["code"], "malformed-transaction", "{name}: {text}");
        assert!(!p["detail"].as_str().unwrap_or_default().is_empty(), "{name}: {text}");
        assert_eq!(ledger.sth().await, before, "{name}: the log changed");
    }
    // And the media type, once through the checked helper.
    ledger.reject_raw("{", 400, "malformed-transaction").await;
}

#[tokio::test]
async fn dids_must_derive_from_the_signing_key() {
    let ledger = TestLedger::start().await;
    // The DID of key A, with a document naming key B as #key-1, signed by B.
    let a = Actor::generate();
    let b = SigningKey::generate(&mut rand::rngs::OsRng);
    let squatter = Actor { key: b.clone(), ..a.clone() };
    let doc = DidDocument::with_ed25519_key(&a.did, &PublicKey::Ed25519(b.verifying_key()), vec![]);
    let tx = squatter.tx(TxType::DidCreate, &DidCreate { document: doc }, Some(&ledger.trustee));
    let p = ledger.reject(&tx, 403, "not-self-certifying").await;
    assert!(p["detail"].as_str().unwrap().contains(a.did.as_str()), "{p}");
    // The rightful owner can still create it.
    let mut a = a;
    {
        let tx = a.create_tx(Some(&ledger.trustee));
        ledger.accept(&mut a, &tx).await
    };
}

#[tokio::test]
async fn duplicate_creates_are_refused() {
    let ledger = TestLedger::start().await;
    let mut actor = ledger.onboard().await;
    // A second create at the next sequence number (so it is not a replay).
    let again = actor.create_tx(Some(&ledger.trustee));
    assert_eq!(again.seq, 2);
    ledger.reject(&again, 409, "already-exists").await;
    // The trustee's DID, too, exists from the genesis.
    let mut trustee = ledger.trustee.clone();
    trustee.next_seq = ledger.author(&trustee.did).await.seq + 1;
    ledger.reject(&trustee.create_tx(None), 409, "already-exists").await;
    // The refusal spent nothing: seq 2 is still usable.
    let update = actor.update_tx(&actor.with_service("web", "https://a.example"), Some(&ledger.trustee));
    ledger.accept(&mut actor, &update).await;
}

#[tokio::test]
async fn invalid_documents_are_refused() {
    let ledger = TestLedger::start().await;
    let fresh = Actor::generate();
    let create_with = |f: &dyn Fn(&mut DidDocument)| {
        let mut doc = fresh.document.clone();
        f(&mut doc);
        fresh.tx(TxType::DidCreate, &DidCreate { document: doc }, Some(&ledger.trustee))
    };
    let cases: Vec<(&str, idelta_types::SignedTransaction)> = vec![
        ("no controller key", create_with(&|d| d.capability_invocation.clear())),
        (
            "no verification method",
            create_with(&|d| {
                d.verification_method.clear();
                d.authentication.clear();
                d.assertion_method.clear();
            }),
        ),
        (
            "wrong verification method type",
            create_with(&|d| d.verification_method[0].kind = "Ed25519VerificationKey2020".into()),
        ),
        ("dangling reference", create_with(&|d| d.authentication.push(d.id.with_fragment("nope")))),
        (
            "relative service id",
            create_with(&|d| {
                d.service.push(idelta_types::Service {
                    id: "#svc".into(),
                    kind: "X".into(),
                    service_endpoint: json!("https://a"),
                })
            }),
        ),
        ("bad key encoding", create_with(&|d| d.verification_method[0].public_key_multibase = "z111".into())),
        ("missing DID context", create_with(&|d| d.context = vec!["https://example.com".into()])),
        (
            "foreign controller",
            create_with(&|d| d.verification_method[0].controller = "did:web:example.com".parse::<Did>().unwrap()),
        ),
    ];
    for (name, tx) in cases {
        let p = ledger.reject(&tx, 422, "invalid-document").await;
        assert!(!p["detail"].as_str().unwrap().is_empty(), "{name}");
    }
    // A document for another DID than the author.
    let other = Actor::generate();
    let tx = fresh.tx(TxType::DidCreate, &DidCreate { document: other.document.clone() }, Some(&ledger.trustee));
    ledger.reject(&tx, 422, "invalid-document").await;

    // An update that would leave nobody in control.
    let mut actor = ledger.onboard().await;
    let mut doc = actor.document.clone();
    doc.capability_invocation.clear();
    ledger.reject(&actor.update_tx(&doc, Some(&ledger.trustee)), 422, "invalid-document").await;
    // The refusals spent no sequence number.
    let ok = actor.update_tx(&actor.with_service("web", "https://a.example"), Some(&ledger.trustee));
    ledger.accept(&mut actor, &ok).await;
}

#[tokio::test]
async fn concurrent_replays_are_accepted_once() {
    let ledger = TestLedger::start().await;
    let actor = Actor::generate();
    let body = serde_json::to_vec(&actor.create_tx(Some(&ledger.trustee))).unwrap();
    let before = ledger.tree_size().await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, url, body) = (ledger.http.clone(), format!("{}/v1/transactions", ledger.url), body.clone());
        tasks.spawn(async move {
            let resp = http.post(url).header("content-type", "application/json").body(body).send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (status, text)
        });
    }
    let mut statuses = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (status, text) = joined.unwrap();
        if status != 201 {
            let p: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!((status, p["code"].as_str()), (409, Some("sequence")), "{text}");
        }
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(ledger.tree_size().await, before + 1);
}

#[tokio::test]
async fn oversized_transactions_are_malformed() {
    let ledger = TestLedger::start().await;
    let actor = ledger.onboard().await;
    // Over the 64 KiB canonical limit, under the body limit.
    let big = "x".repeat(70 * 1024);
    let tx = actor.object_put_tx(ObjectKind::Schema, "big", json!({ "blob": big }), Some(&ledger.trustee));
    ledger.reject(&tx, 400, "malformed-transaction").await;
}

#[tokio::test]
async fn huge_bodies_are_refused_with_a_problem() {
    let ledger = TestLedger::start().await;
    let before = ledger.tree_size().await;
    let body = vec![b' '; 3 * 1024 * 1024];
    let resp = ledger.post_raw(body).await;
    let status = resp.status().as_u16();
    let media = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = resp.text().await.unwrap();
    assert!(status == 400 || status == 413, "{status}: {text}");
    assert!(media.starts_with(idelta_tests::PROBLEM_JSON), "{status} with `{media}`, not a problem: {text}");
    assert_eq!(ledger.tree_size().await, before);
}
