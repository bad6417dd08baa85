//! The agent's [`KeyResolver`]: `did:idelta` verification methods are
//! resolved on the ledger through the typed [`LedgerClient`], which checks
//! the answer's inclusion proof against the pinned tree-head key before
//! returning it; `did:key` is resolved locally ([`DidKeyResolver`]).
//!
//! A method counts only when its id is listed under the relationship asked
//! for (DID Core §5.3), so a key of a rotated-out document, or one meant
//! only for authentication, does not verify a credential.
//!
//! Every verification sees the DID's document as of a signed tree head
//! fetched after the verification began, exactly as if it resolved the DID
//! itself, but without paying for a resolution each time: proved
//! documents are remembered with the tree they were proved against, and
//! reused while the ledger's current signed tree head (`GET /v1/log/sth`,
//! one small answer whose signature the client checks) names that same
//! tree: an append-only log that has not grown cannot have changed a DID.
//! Any write to the ledger (a rotation included) grows the tree, and the
//! next verification resolves again: there is no staleness window.
//!
//! Inside [`at_one_tree_head`] every read of one verification (the issuer's
//! key, the holder's, each status list's) uses the one tree head fetched
//! first: the verification sees one consistent ledger state, and fetches
//! one head instead of one per key and per list.

use futures::future::BoxFuture;
use idelta_ledger_node::client::{ClientError, LedgerClient};
use idelta_types::{Did, DidDocument, PublicKey};
use idelta_verifier::{DidKeyResolver, KeyResolver, Relationship, ResolvedKey, ResolverError};
use std::collections::HashMap;
use std::sync::Arc;

/// Most DID documents remembered; past it the cache starts over.
const DOCUMENTS_CAPACITY: usize = 10_000;

/// Resolves `did:idelta` on the ledger (proof checked) and `did:key` locally.
/// Clones share one cache of proved documents.
#[derive(Clone, Debug)]
pub struct LedgerKeyResolver {
    client: LedgerClient,
    cache: Arc<Cache>,
}

/// A tree of the ledger's log, as a signed tree head names it.
/// A ledger tree head: its size and root hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    /// Leaves in the tree.
    pub size: u64,
    /// Its root hash, as the signed tree head gives it.
    pub root: String,
}

tokio::task_local! {
    /// The tree head the current verification reads at, once fetched.
    static PINNED: tokio::sync::OnceCell<Tree>;
}

/// Runs `f` (one verification) reading the ledger at one tree head: the
/// first read fetches the signed tree head, later reads reuse it.
pub async fn at_one_tree_head<F: std::future::Future>(f: F) -> F::Output {
    PINNED.scope(tokio::sync::OnceCell::new(), f).await
}

#[derive(Debug, Default)]
struct Cache {
    /// Active DID documents by DID, each with the tree it was proved against.
    documents: parking_lot::Mutex<HashMap<String, (Tree, Arc<DidDocument>)>>,
}

impl LedgerKeyResolver {
    /// A resolver over `client`, with an empty cache.
    pub fn new(client: LedgerClient) -> LedgerKeyResolver {
        LedgerKeyResolver { client, cache: Arc::default() }
    }

    /// The ledger's current tree, from a signed tree head fetched now (its
    /// signature checked by the client).
    /// The ledger's current tree head (its signature checked by the
    /// client), or the one this verification already read at.
    pub async fn current_tree(&self) -> Result<Tree, ResolverError> {
        if let Ok(Some(tree)) = PINNED.try_with(|pinned| pinned.get().cloned()) {
            return Ok(tree);
        }
        let sth = self.client.sth().await.map_err(|e| ResolverError::Failed(e.to_string()))?;
        let tree = Tree { size: sth.tree_size, root: sth.sha256_root_hash };
        // Outside a verification there is nothing to pin; a concurrent read
        // of the same verification may have pinned first, and wins.
        let _ = PINNED.try_with(|pinned| pinned.set(tree.clone()));
        Ok(PINNED.try_with(|pinned| pinned.get().cloned()).ok().flatten().unwrap_or(tree))
    }

    /// The DID's active document, proved against the current tree or a
    /// later one: from the cache when the ledger has not grown since it
    /// was proved, else resolved again.
    async fn document(&self, did: &Did, vm_id: &str) -> Result<Arc<DidDocument>, ResolverError> {
        let now = self.current_tree().await?;
        if let Some((proved, document)) = self.cache.documents.lock().get(did.as_str()) {
            if *proved == now || proved.size > now.size {
                return Ok(Arc::clone(document));
            }
        }
        let resolution = match self.client.resolve(did, &Default::default()).await {
            Ok(r) => r,
            Err(ClientError::NotFound) => return Err(ResolverError::NotFound(did.to_string())),
            Err(ClientError::Deactivated) => return Err(ResolverError::Deactivated(did.to_string())),
            Err(ClientError::Problem { code, .. }) if code == "invalidDid" => {
                return Err(ResolverError::InvalidId(vm_id.to_owned()))
            }
            Err(e) => return Err(ResolverError::Failed(e.to_string())),
        };
        let proved = Tree { size: resolution.sth.tree_size, root: resolution.sth.sha256_root_hash.clone() };
        let document = Arc::new(resolution.into_active_document().map_err(|e| match e {
            ClientError::Deactivated => ResolverError::Deactivated(did.to_string()),
            other => ResolverError::Failed(other.to_string()),
        })?);
        let mut documents = self.cache.documents.lock();
        if documents.len() >= DOCUMENTS_CAPACITY {
            documents.clear();
        }
        documents.insert(did.to_string(), (proved, Arc::clone(&document)));
        Ok(document)
    }

    async fn resolve_idelta(
        &self,
        did: &Did,
        vm_id: &str,
        fragment: &str,
        relationship: Relationship,
    ) -> Result<ResolvedKey, ResolverError> {
        let document = self.document(did, vm_id).await?;
        let method = document.method(vm_id).ok_or_else(|| ResolverError::NotFound(vm_id.to_owned()))?;
        let listed = match relationship {
            Relationship::AssertionMethod => &document.assertion_method,
            Relationship::Authentication => &document.authentication,
        };
        let relative = format!("#{fragment}");
        if !listed.iter().any(|id| id == vm_id || *id == relative) {
            return Err(ResolverError::NotAuthorized { id: vm_id.to_owned(), relationship: relationship.as_str() });
        }
        let key = PublicKey::from_multibase(&method.public_key_multibase)
            .map_err(|e| ResolverError::Failed(format!("{vm_id}: publicKeyMultibase: {e}")))?;
        Ok(ResolvedKey { id: vm_id.to_owned(), controller: method.controller.clone(), key })
    }
}

impl KeyResolver for LedgerKeyResolver {
    fn resolve_key<'a>(
        &'a self,
        vm_id: &'a str,
        relationship: Relationship,
    ) -> BoxFuture<'a, Result<ResolvedKey, ResolverError>> {
        Box::pin(async move {
            let (did, fragment) = vm_id.split_once('#').ok_or_else(|| ResolverError::InvalidId(vm_id.to_owned()))?;
            let did: Did = did.parse().map_err(|_| ResolverError::InvalidId(vm_id.to_owned()))?;
            match did.method() {
                "key" => DidKeyResolver::resolve(vm_id),
                "idelta" => self.resolve_idelta(&did, vm_id, fragment, relationship).await,
                other => Err(ResolverError::UnsupportedMethod(other.to_owned())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn resolver() -> LedgerKeyResolver {
        // Nothing listens on port 9: only the paths that never reach the
        // ledger are exercised here; the ledger paths are in the e2e tests.
        let key = PublicKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key());
        LedgerKeyResolver::new(LedgerClient::new("http://127.0.0.1:9", key).unwrap())
    }

    #[tokio::test]
    async fn did_key_is_local_and_other_methods_are_refused() {
        let key = PublicKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]).verifying_key());
        let mb = key.to_multibase();
        let r = resolver();
        let got = r.resolve_key(&format!("did:key:{mb}#{mb}"), Relationship::AssertionMethod).await.unwrap();
        assert_eq!(got.key, key);
        assert!(matches!(
            r.resolve_key("did:web:example.com#k", Relationship::AssertionMethod).await,
            Err(ResolverError::UnsupportedMethod(_))
        ));
        assert!(matches!(
            r.resolve_key("not a did", Relationship::AssertionMethod).await,
            Err(ResolverError::InvalidId(_))
        ));
        assert!(matches!(
            r.resolve_key("did:idelta:abc", Relationship::AssertionMethod).await,
            Err(ResolverError::InvalidId(_))
        ));
    }

    #[tokio::test]
    async fn an_unreachable_ledger_is_a_failure_not_a_verdict() {
        let got = resolver().resolve_key("did:idelta:z6MkexampleXXXX#key-1", Relationship::AssertionMethod).await;
        assert!(matches!(got, Err(ResolverError::Failed(_) | ResolverError::InvalidId(_))), "{got:?}");
    }
}
