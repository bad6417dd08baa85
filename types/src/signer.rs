//! Signing by key id across crates (design.md §2, style.md "Keys never
//! leave the wallet"): issuers and ledger code hold a `&dyn Signer` and
//! never see secret bytes. The wallet implements it over askar keys;
//! [`LocalSigner`] holds an Ed25519 key in memory for development key
//! stores and tests.

use crate::multikey::PublicKey;
use ed25519_dalek::{Signer as _, SigningKey};
use std::future::Future;
use std::pin::Pin;

/// Why a signature could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing failed: {0}")]
pub struct SignError(pub String);

/// The future a [`Signer`] returns.
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, SignError>> + Send + 'a>>;

/// Signs with one key, by id, without exposing the secret.
pub trait Signer: Send + Sync {
    /// The key id (Multikey text of the public key for wallet keys).
    fn key_id(&self) -> &str;
    /// The public key that verifies this signer's signatures.
    fn public_key(&self) -> &PublicKey;
    /// Signs `msg` (Ed25519: a 64-byte signature over the message itself).
    fn sign<'a>(&'a self, msg: &'a [u8]) -> SignFuture<'a>;
}

/// An Ed25519 key held in memory: for development key stores and tests,
/// never for tenant keys (those live in the wallet).
pub struct LocalSigner {
    key: SigningKey,
    public: PublicKey,
    key_id: String,
}

impl std::fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSigner").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl LocalSigner {
    /// A signer for `key`; its id is the Multikey text of the public key.
    pub fn new(key: SigningKey) -> LocalSigner {
        let public = PublicKey::Ed25519(key.verifying_key());
        LocalSigner { key_id: public.to_multibase(), public, key }
    }

    /// A signer from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> LocalSigner {
        LocalSigner::new(SigningKey::from_bytes(&seed))
    }

    /// The `did:key` of this key.
    pub fn did_key(&self) -> String {
        format!("did:key:{}", self.public.to_multibase())
    }

    /// The verification method id of this key as a `did:key`
    /// (`did:key:z…#z…`).
    pub fn did_key_url(&self) -> String {
        let mb = self.public.to_multibase();
        format!("did:key:{mb}#{mb}")
    }

    /// Signs synchronously.
    pub fn sign_now(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }
}

impl Signer for LocalSigner {
    fn key_id(&self) -> &str {
        &self.key_id
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign<'a>(&'a self, msg: &'a [u8]) -> SignFuture<'a> {
        let signature = self.sign_now(msg).to_vec();
        Box::pin(async move { Ok(signature) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_signatures_verify_with_the_public_key() {
        let s = LocalSigner::from_seed([4u8; 32]);
        assert_eq!(s.key_id(), s.public_key().to_multibase());
        let sig = futures_lite_block_on(s.sign(b"msg")).unwrap();
        s.public_key().verify(b"msg", &sig).unwrap();
        assert!(s.did_key().starts_with("did:key:z6Mk"));
    }

    /// Polls a ready future: a `LocalSigner` future completes at once.
    fn futures_lite_block_on<T>(f: Pin<Box<dyn Future<Output = T> + Send + '_>>) -> T {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = f;
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => unreachable!("LocalSigner futures are ready"),
        }
    }
}
