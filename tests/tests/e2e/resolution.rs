//! DID resolution over the DIF Universal Resolver binding (design.md §9).

use idelta_ledger_node::client::ClientError;
use idelta_ledger_node::node::ResolveOptions;
use idelta_tests::{check_ledger_proof, expect_resolution_error, Actor, TestLedger};
use idelta_types::resolution::ResolutionResult;

#[tokio::test]
async fn created_did_resolves_with_a_verified_proof() {
    let ledger = TestLedger::start().await;
    let mut actor = Actor::generate();
    let doc = actor.with_service("web", "https://alice.example");
    actor.document = doc.clone();
    let receipt = {
        let tx = actor.create_tx(Some(&ledger.trustee));
        ledger.accept(&mut actor, &tx).await
    };

    // The typed client checks the signed head, the audit path and the leaf.
    let verified = ledger.resolve_verified(&actor.did, &ResolveOptions::default()).await;
    assert!(!verified.deactivated);
    assert_eq!(verified.document.as_ref(), Some(&doc));

    // The raw answer, checked independently of the client.
    let resp = ledger.resolve_raw(actor.did.as_str(), "", None).await;
    assert_eq!(resp.status(), 200);
    let media = resp.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(media.starts_with("application/did-resolution"), "{media}");
    let result: ResolutionResult = resp.json().await.unwrap();
    assert_eq!(result.did_document, Some(serde_json::to_value(&doc).unwrap()));
    assert_eq!(result.did_resolution_metadata.error, None);
    let meta = &result.did_document_metadata;
    assert_eq!(meta.version_id.as_deref(), Some("1"));
    assert_eq!(meta.next_version_id, None);
    assert_eq!(meta.deactivated, None);
    assert!(meta.created.is_some());
    let leaf = check_ledger_proof(&result, &ledger.node_key);
    assert_eq!(meta.ledger.as_ref().unwrap().leaf_index, receipt.leaf_index);
    assert_eq!(leaf.tx.author, actor.did);
    assert_eq!(leaf.timestamp_ms, receipt.timestamp);

    // The explicit resolution media type gives the same result.
    let resp = ledger.resolve_raw(actor.did.as_str(), "", Some("application/did-resolution")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<ResolutionResult>().await.unwrap().did_document, result.did_document);

    // The genesis trustee resolves too, proved by leaf 0.
    let trustee = ledger.resolve_verified(&ledger.trustee.did, &ResolveOptions::default()).await;
    assert_eq!(trustee.document.as_ref(), Some(&ledger.trustee.document));
    assert_eq!(trustee.result.did_document_metadata.ledger.as_ref().unwrap().leaf_index, 0);
}

#[tokio::test]
async fn bare_document_on_did_json_accept() {
    let ledger = TestLedger::start().await;
    let actor = ledger.onboard().await;
    for accept in ["application/did+json", "application/did+ld+json"] {
        let resp = ledger.resolve_raw(actor.did.as_str(), "", Some(accept)).await;
        assert_eq!(resp.status(), 200, "{accept}");
        let media = resp.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_owned();
        assert!(media.starts_with("application/did+"), "{accept}: {media}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body, serde_json::to_value(&actor.document).unwrap(), "{accept}: the bare document");
        assert!(body.get("didDocumentMetadata").is_none());
    }
}

#[tokio::test]
async fn did_json_accept_is_answered_as_did_json() {
    let ledger = TestLedger::start().await;
    let actor = ledger.onboard().await;
    let resp = ledger.resolve_raw(actor.did.as_str(), "", Some("application/did+json")).await;
    assert_eq!(resp.status(), 200);
    let media = resp.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(media.starts_with("application/did+json"), "asked for application/did+json, got {media}");
}

#[tokio::test]
async fn unknown_did_is_not_found() {
    let ledger = TestLedger::start().await;
    let unknown = Actor::generate();
    let body = expect_resolution_error(ledger.resolve_raw(unknown.did.as_str(), "", None).await, 404, "notFound").await;
    assert!(body["didResolutionMetadata"]["errorMessage"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(matches!(
        ledger.client.resolve(&unknown.did, &ResolveOptions::default()).await,
        Err(ClientError::NotFound)
    ));
    // A DID refused at creation does not resolve either.
    ledger.reject(&unknown.create_tx(None), 403, "endorsement-required").await;
    expect_resolution_error(ledger.resolve_raw(unknown.did.as_str(), "", None).await, 404, "notFound").await;
}

#[tokio::test]
async fn malformed_dids_are_invalid() {
    let ledger = TestLedger::start().await;
    let valid = ledger.onboard().await;
    let too_long = format!("{}x", valid.did);
    let with_fragment = format!("{}%23key-1", valid.did);
    for bad in [
        "did:idelta:0OIl",
        "did:idelta:short",
        "notadid",
        "did:IDELTA:x",
        "did:idelta:",
        too_long.as_str(),
        with_fragment.as_str(),
    ] {
        expect_resolution_error(ledger.resolve_raw(bad, "", None).await, 400, "invalidDid").await;
    }
}

#[tokio::test]
async fn other_methods_are_not_supported() {
    let ledger = TestLedger::start().await;
    for other in ["did:web:example.com", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"] {
        expect_resolution_error(ledger.resolve_raw(other, "", None).await, 501, "methodNotSupported").await;
    }
}

#[tokio::test]
async fn version_options_are_checked() {
    let ledger = TestLedger::start().await;
    let did = ledger.onboard().await.did;
    let did = did.as_str();
    for query in [
        "?versionId=abc",
        "?versionId=-1",
        "?versionId=1.5",
        "?versionTime=yesterday",
        "?versionId=1&versionTime=2020-01-01T00:00:00Z",
    ] {
        expect_resolution_error(ledger.resolve_raw(did, query, None).await, 400, "invalidOptions").await;
    }
    for query in ["?versionId=2", "?versionId=99", "?versionId=0", "?versionTime=2000-01-01T00:00:00Z"] {
        expect_resolution_error(ledger.resolve_raw(did, query, None).await, 404, "notFound").await;
    }
    let resp = ledger.resolve_raw(did, "?versionId=1", None).await;
    assert_eq!(resp.status(), 200);
}
