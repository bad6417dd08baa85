//! The agent's [`KeyResolver`]: `did:idelta` verification methods are
//! resolved on the ledger through the typed [`LedgerClient`], which checks
//! the answer's inclusion proof against the pinned tree-head key before
//! returning it; `did:key` is resolved locally ([`DidKeyResolver`]).
//!
//! A method counts only when its id is listed under the relationship asked
//! for (DID Core §5.3), so a key of a rotated-out document, or one meant
//! only for authentication, does not verify a credential. Nothing is
//! cached: every verification sees the DID's current, proved document.

use futures::future::BoxFuture;
use idelta_ledger_node::client::{ClientError, LedgerClient};
use idelta_types::{Did, PublicKey};
use idelta_verifier::{DidKeyResolver, KeyResolver, Relationship, ResolvedKey, ResolverError};

/// Resolves `did:idelta` on the ledger (proof checked) and `did:key` locally.
#[derive(Clone, Debug)]
pub struct LedgerKeyResolver {
    client: LedgerClient,
}

impl LedgerKeyResolver {
    /// A resolver over `client`.
    pub fn new(client: LedgerClient) -> LedgerKeyResolver {
        LedgerKeyResolver { client }
    }

    async fn resolve_idelta(
        &self,
        did: &Did,
        vm_id: &str,
        fragment: &str,
        relationship: Relationship,
    ) -> Result<ResolvedKey, ResolverError> {
        let resolution = match self.client.resolve(did, &Default::default()).await {
            Ok(r) => r,
            Err(ClientError::NotFound) => return Err(ResolverError::NotFound(did.to_string())),
            Err(ClientError::Deactivated) => return Err(ResolverError::Deactivated(did.to_string())),
            Err(ClientError::Problem { code, .. }) if code == "invalidDid" => {
                return Err(ResolverError::InvalidId(vm_id.to_owned()))
            }
            Err(e) => return Err(ResolverError::Failed(e.to_string())),
        };
        let document = resolution.into_active_document().map_err(|e| match e {
            ClientError::Deactivated => ResolverError::Deactivated(did.to_string()),
            other => ResolverError::Failed(other.to_string()),
        })?;
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
