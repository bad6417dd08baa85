//! Finding the public key behind a verification method id.
//!
//! Verifiers take a [`KeyResolver`]: the agent passes one that resolves
//! `did:idelta` on the ledger with its proof checked (and `did:key`
//! locally); tests and offline tools use [`DidKeyResolver`]. Only
//! verification methods listed under the required relationship count, so
//! a key meant for authentication cannot sign credentials.

use futures::future::BoxFuture;
use idelta_types::{Did, PublicKey};

/// Why a verification method could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolverError {
    /// Returned when the id is not a `did#fragment` URL or its DID is malformed.
    #[error("invalid verification method id `{0}`")]
    InvalidId(String),
    /// Returned when the DID method is not supported by this resolver.
    #[error("DID method not supported: {0}")]
    UnsupportedMethod(String),
    /// Returned when the DID or the verification method does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Returned when the DID is deactivated.
    #[error("DID {0} is deactivated")]
    Deactivated(String),
    /// Returned when the method exists but not under the required relationship.
    #[error("{id} is not listed under {relationship}")]
    NotAuthorized {
        /// The verification method.
        id: String,
        /// The relationship required.
        relationship: &'static str,
    },
    /// Returned when the resolver cannot reach its source or a proof fails.
    #[error("resolution failed: {0}")]
    Failed(String),
}

/// Verification relationships (DID Core §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relationship {
    /// `assertionMethod`: signing credentials.
    AssertionMethod,
    /// `authentication`: proving control, e.g. signing presentations.
    Authentication,
}

impl Relationship {
    /// The DID Core name.
    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::AssertionMethod => "assertionMethod",
            Relationship::Authentication => "authentication",
        }
    }
}

/// A resolved verification method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedKey {
    /// The verification method id.
    pub id: String,
    /// Its controller DID.
    pub controller: Did,
    /// The public key.
    pub key: PublicKey,
}

/// Resolves verification method ids to keys.
pub trait KeyResolver: Send + Sync {
    /// The key of `vm_id`, which must be listed under `relationship`.
    fn resolve_key<'a>(
        &'a self,
        vm_id: &'a str,
        relationship: Relationship,
    ) -> BoxFuture<'a, Result<ResolvedKey, ResolverError>>;
}

/// Resolves `did:key` Ed25519 and BLS12-381 G2 keys locally (W3C did:key
/// v0.7): the key is the method-specific id, and its one verification
/// method `did:key:z…#z…` serves every relationship.
#[derive(Clone, Copy, Debug, Default)]
pub struct DidKeyResolver;

impl DidKeyResolver {
    /// Resolves synchronously.
    pub fn resolve(vm_id: &str) -> Result<ResolvedKey, ResolverError> {
        let (did, fragment) = vm_id.split_once('#').ok_or_else(|| ResolverError::InvalidId(vm_id.to_owned()))?;
        let did: Did = did.parse().map_err(|_| ResolverError::InvalidId(vm_id.to_owned()))?;
        if did.method() != "key" {
            return Err(ResolverError::UnsupportedMethod(did.method().to_owned()));
        }
        let multibase = did.method_specific_id();
        if fragment != multibase {
            return Err(ResolverError::NotFound(vm_id.to_owned()));
        }
        let key =
            PublicKey::from_multibase(multibase).map_err(|e| ResolverError::InvalidId(format!("{vm_id}: {e}")))?;
        Ok(ResolvedKey { id: vm_id.to_owned(), controller: did, key })
    }
}

impl KeyResolver for DidKeyResolver {
    fn resolve_key<'a>(&'a self, vm_id: &'a str, _: Relationship) -> BoxFuture<'a, Result<ResolvedKey, ResolverError>> {
        Box::pin(async move { DidKeyResolver::resolve(vm_id) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn did_key_resolves_its_one_method() {
        let key = PublicKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]).verifying_key());
        let mb = key.to_multibase();
        let vm = format!("did:key:{mb}#{mb}");
        let r = DidKeyResolver.resolve_key(&vm, Relationship::AssertionMethod).await.unwrap();
        assert_eq!(r.key, key);
        assert_eq!(r.controller.as_str(), format!("did:key:{mb}"));
        assert!(matches!(DidKeyResolver::resolve(&format!("did:key:{mb}#other")), Err(ResolverError::NotFound(_))));
        assert!(matches!(DidKeyResolver::resolve(&format!("did:key:{mb}")), Err(ResolverError::InvalidId(_))));
        assert!(matches!(DidKeyResolver::resolve("did:web:example.com#k"), Err(ResolverError::UnsupportedMethod(_))));
    }
}
