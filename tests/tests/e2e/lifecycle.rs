//! The life of a DID and of roles: rotation, history, deactivation,
//! the last trustee, endorsement through granted roles.

use idelta_ledger_node::node::ResolveOptions;
use idelta_tests::{check_ledger_proof, expect_resolution_error, Actor, TestLedger};
use idelta_types::log::Receipt;
use idelta_types::resolution::ResolutionResult;
use idelta_types::tx::Role;
use idelta_types::DidDocument;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn by_id(v: &str) -> ResolveOptions {
    ResolveOptions { version_id: Some(v.into()), version_time: None }
}

fn at_time(t: &str) -> ResolveOptions {
    ResolveOptions { version_id: None, version_time: Some(t.into()) }
}

#[tokio::test]
async fn key_rotation_retires_the_old_key_and_keeps_history() {
    let ledger = TestLedger::start().await;
    let t = &ledger.trustee;
    let mut actor = Actor::generate();
    let mut docs: Vec<DidDocument> = Vec::new();
    let mut receipts: Vec<Receipt> = Vec::new();

    docs.push(actor.document.clone());
    receipts.push({
        let tx = actor.create_tx(Some(t));
        ledger.accept(&mut actor, &tx).await
    });

    // v2: rotate #key-1 -> #key-2, signed by #key-1.
    let old = actor.clone();
    let change = actor.rotation(2);
    receipts.push({
        let tx = actor.rotate_tx(&change, Some(t));
        ledger.accept(&mut actor, &tx).await
    });
    docs.push(change.document.clone());
    actor.adopt(change);

    // The old key no longer authorises anything, even at the right seq.
    let mut stale = old.clone();
    stale.next_seq = actor.next_seq;
    let p = ledger
        .reject(&stale.update_tx(&stale.with_service("evil", "https://evil.example"), Some(t)), 403, "bad-signature")
        .await;
    assert!(p["detail"].as_str().unwrap().contains("key-1"), "{p}");
    ledger.reject(&stale.deactivate_tx(Some(t)), 403, "bad-signature").await;

    // v3: the new key adds a service.
    let v3 = actor.with_service("web", "https://alice.example");
    receipts.push({
        let tx = actor.update_tx(&v3, Some(t));
        ledger.accept(&mut actor, &tx).await
    });
    actor.document = v3.clone();
    docs.push(v3);

    // The latest answer is v3, verified.
    let latest = ledger.resolve_verified(&actor.did, &ResolveOptions::default()).await;
    assert_eq!(latest.document.as_ref(), Some(&docs[2]));
    assert_eq!(latest.result.did_document_metadata.version_id.as_deref(), Some("3"));

    // versionId 1, 2, 3: the historical documents, each proved by its own leaf.
    let mut metas = Vec::new();
    for (i, (doc, receipt)) in docs.iter().zip(&receipts).enumerate() {
        let n = (i + 1).to_string();
        let r = ledger.resolve_verified(&actor.did, &by_id(&n)).await;
        assert_eq!(r.document.as_ref(), Some(doc), "versionId={n}");
        let meta = &r.result.did_document_metadata;
        assert_eq!(meta.version_id.as_deref(), Some(n.as_str()));
        assert_eq!(meta.next_version_id, (i < 2).then(|| (i + 2).to_string()), "nextVersionId of {n}");
        assert_eq!(meta.ledger.as_ref().unwrap().leaf_index, receipt.leaf_index, "versionId={n} proved by its leaf");
        check_ledger_proof(&r.result, &ledger.node_key);
        metas.push(meta.clone());
    }
    let created = metas[0].created.clone().expect("created");
    assert!(
        metas.iter().all(|m| m.created.as_deref() == Some(created.as_str())),
        "created is the same for every version"
    );
    assert_eq!(metas[0].updated, None, "version 1 was never updated");

    // versionTime with the metadata's own timestamps. They have second
    // precision (DID Core §7.1.3), so the answer is the last version written
    // in or before that second, computed from the receipts' batch times.
    let times: Vec<String> = std::iter::once(created.clone())
        .chain(metas[1..].iter().map(|m| m.updated.clone().expect("updated of an update")))
        .collect();
    for (i, t) in times.iter().enumerate() {
        let secs = OffsetDateTime::parse(t, &Rfc3339).unwrap().unix_timestamp() as u64;
        assert_eq!(secs, receipts[i].timestamp / 1000, "metadata time of version {} is its batch time", i + 1);
        let expected = receipts.iter().rposition(|r| r.timestamp / 1000 <= secs).unwrap();
        let r = ledger.resolve_verified(&actor.did, &at_time(t)).await;
        assert_eq!(r.document.as_ref(), Some(&docs[expected]), "versionTime={t}");
        assert_eq!(r.result.did_document_metadata.version_id, Some((expected + 1).to_string()));
    }
    // Before the DID existed: not found. Far in the future: the latest.
    expect_resolution_error(
        ledger.resolve_raw(actor.did.as_str(), "?versionTime=1999-12-31T23:59:59Z", None).await,
        404,
        "notFound",
    )
    .await;
    let future = ledger.resolve_verified(&actor.did, &at_time("2999-01-01T00:00:00Z")).await;
    assert_eq!(future.document.as_ref(), Some(&docs[2]));
}

#[tokio::test]
async fn deactivation_is_final_and_reported() {
    let ledger = TestLedger::start().await;
    let t = &ledger.trustee;
    let mut actor = ledger.onboard().await;
    let before = ledger.resolve_verified(&actor.did, &ResolveOptions::default()).await;
    let receipt = {
        let tx = actor.deactivate_tx(Some(t));
        ledger.accept(&mut actor, &tx).await
    };

    // 410 with deactivated: true, proved by the deactivation leaf.
    let resp = ledger.resolve_raw(actor.did.as_str(), "", None).await;
    assert_eq!(resp.status(), 410);
    let result: ResolutionResult = resp.json().await.unwrap();
    assert_eq!(result.did_document_metadata.deactivated, Some(true));
    let leaf = check_ledger_proof(&result, &ledger.node_key);
    assert_eq!(leaf.tx.tx_type, idelta_types::TxType::DidDeactivate);
    assert_eq!(result.did_document_metadata.ledger.as_ref().unwrap().leaf_index, receipt.leaf_index);
    let verified = ledger.resolve_verified(&actor.did, &ResolveOptions::default()).await;
    assert!(verified.deactivated);
    assert!(verified.into_active_document().is_err());
    // History stays readable.
    let v1 = ledger.resolve_verified(&actor.did, &by_id("1")).await;
    assert_eq!(v1.document, before.document);

    // Every further write by the DID: 410 deactivated.
    let p = ledger
        .reject(&actor.update_tx(&actor.with_service("web", "https://a.example"), Some(t)), 410, "deactivated")
        .await;
    assert!(p["detail"].as_str().unwrap().contains(actor.did.as_str()), "{p}");
    ledger.reject(&actor.deactivate_tx(Some(t)), 410, "deactivated").await;
    // A deactivated DID cannot co-sign as an endorser either.
    let newcomer = Actor::generate();
    ledger.reject(&newcomer.create_tx(Some(&actor)), 403, "invalid-endorser").await;
}

#[tokio::test]
async fn the_last_trustee_stays() {
    let mut ledger = TestLedger::start().await;
    let t = ledger.trustee.clone();
    let p = ledger.reject(&t.deactivate_tx(None), 409, "last-trustee").await;
    assert!(!p["detail"].as_str().unwrap().is_empty());
    ledger.reject(&t.revoke_tx(&t.did), 409, "last-trustee").await;
    ledger.reject(&t.grant_tx(&t.did, Role::Endorser), 409, "last-trustee").await;

    // With a second trustee, the first may go, and then the second is last.
    let mut second = ledger.onboard().await;
    ledger.grant(&second.did, Role::Trustee).await;
    let tx = second.revoke_tx(&t.did);
    ledger.accept(&mut second, &tx).await;
    assert_eq!(ledger.author(&t.did).await.role, None);
    ledger.reject(&second.deactivate_tx(None), 409, "last-trustee").await;
    ledger.reject(&second.revoke_tx(&second.did), 409, "last-trustee").await;
    // The revoked founder lost its powers.
    let mut founder = ledger.trustee.clone();
    founder.next_seq = ledger.author(&founder.did).await.seq + 1;
    ledger.reject(&founder.grant_tx(&second.did, Role::Endorser), 403, "unauthorized").await;
    ledger.reject(&Actor::generate().create_tx(Some(&founder)), 403, "invalid-endorser").await;
}

#[tokio::test]
async fn granted_endorsers_endorse_until_revoked() {
    let mut ledger = TestLedger::start().await;
    let endorser = ledger.onboard().await;
    let refused = Actor::generate();
    ledger.reject(&refused.create_tx(Some(&endorser)), 403, "invalid-endorser").await;

    ledger.grant(&endorser.did, Role::Endorser).await;
    assert_eq!(ledger.author(&endorser.did).await.role, Some(Role::Endorser));
    let mut author = Actor::generate();
    {
        let tx = author.create_tx(Some(&endorser));
        ledger.accept(&mut author, &tx).await
    };
    let resolved = ledger.resolve_verified(&author.did, &ResolveOptions::default()).await;
    assert_eq!(resolved.document.as_ref(), Some(&author.document));
    // The endorsed create is in the log with both signatures.
    let leaf = check_ledger_proof(&resolved.result, &ledger.node_key);
    assert_eq!(leaf.tx.endorser.as_ref(), Some(&endorser.did));
    // An endorser writes its own transactions without endorsement.
    let mut endorser = endorser;
    let own = endorser.update_tx(&endorser.with_service("web", "https://e.example"), None);
    ledger.accept(&mut endorser, &own).await;

    ledger.revoke(&endorser.did).await;
    assert_eq!(ledger.author(&endorser.did).await.role, None);
    let late = Actor::generate();
    let p = ledger.reject(&late.create_tx(Some(&endorser)), 403, "invalid-endorser").await;
    assert!(p["detail"].as_str().unwrap().contains(endorser.did.as_str()), "{p}");
    // Its endorsement of the author's update is refused too.
    ledger
        .reject(
            &author.update_tx(&author.with_service("web", "https://a.example"), Some(&endorser)),
            403,
            "invalid-endorser",
        )
        .await;
    // Revoking again: it holds no role.
    let tx = ledger.trustee.revoke_tx(&endorser.did);
    ledger.reject(&tx, 409, "no-role").await;
}
