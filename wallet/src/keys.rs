//! Keys that never leave the wallet.
//!
//! Keys are generated inside askar's key store (category `cryptokey`, apart
//! from records) and used by id: callers get public keys and signatures,
//! never secret bytes (style.md, "Keys never leave the wallet"). A key's id
//! is its public key as a Multikey (`z6Mk…` for Ed25519), so the id alone
//! tells verifiers which key to expect and a `did:key` is `did:key:` + id.
//!
//! [`Signer`] lets issuer and ledger code sign without a wallet type in
//! sight; [`WalletSigner`] loads the key once and signs in memory, so a
//! batch of signatures costs one database read, not one per signature.

use std::fmt;
use std::sync::Arc;

use aries_askar::crypto::alg::BlsCurves;
use aries_askar::entry::EntryTag;
use aries_askar::kms::{KeyAlg, LocalKey};
use idelta_types::signer::{SignError, SignFuture, Signer};
use idelta_types::PublicKey;

use crate::company::{CompanyWallet, Holder};
use crate::error::{Error, Result};
use crate::names::check_tag_name;

/// Key algorithms the wallet generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// Ed25519 (RFC 8032), for `did:key`, `did:idelta` and `eddsa-rdfc-2022`.
    Ed25519,
    /// BLS12-381 G2 (askar `bls12381g2`), the issuer key of `bbs-2023`.
    Bls12381G2,
}

impl KeyType {
    fn askar_alg(self) -> KeyAlg {
        match self {
            KeyType::Ed25519 => KeyAlg::Ed25519,
            KeyType::Bls12381G2 => KeyAlg::Bls12_381(BlsCurves::G2),
        }
    }
}

/// A key held in a wallet: its id and public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id within its holder: the public key's Multikey text.
    pub id: String,
    /// The public key.
    pub public: PublicKey,
}

/// A [`Signer`] over one wallet key, loaded once from the store.
///
/// It keeps working after its sub-wallet is removed; hold it for one job
/// (an issuance, a batch), not for the life of the process.
#[derive(Clone)]
pub struct WalletSigner {
    key_id: String,
    public: PublicKey,
    key: Arc<LocalKey>,
}

impl fmt::Debug for WalletSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalletSigner").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl Signer for WalletSigner {
    fn key_id(&self) -> &str {
        &self.key_id
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign<'a>(&'a self, msg: &'a [u8]) -> SignFuture<'a> {
        Box::pin(async move { sign_with(&self.key, &self.key_id, msg).map_err(|e| SignError(e.to_string())) })
    }
}

impl CompanyWallet {
    /// Generates a key of type `alg` for `holder`, stored with `tags`.
    pub async fn generate_key(&self, holder: Holder<'_>, alg: KeyType, tags: &[(&str, &str)]) -> Result<KeyInfo> {
        let tags = entry_tags(tags)?;
        let (key, info) = new_key(alg)?;
        {
            let _turn = self.write_turn().await;
            let mut session = self.session(holder).await?;
            session
                .insert_key(&info.id, &key, None, None, Some(&tags), None)
                .await
                .map_err(|e| Error::askar(format_args!("key {} in {holder}", info.id), e))?;
        }
        self.durable().await?;
        Ok(info)
    }

    /// The public key of `holder`'s key `key_id`.
    pub async fn public_key(&self, holder: Holder<'_>, key_id: &str) -> Result<PublicKey> {
        let key = self.load_key(holder, key_id).await?;
        public_of(&key)
    }

    /// Signs `message` with `holder`'s key `key_id`.
    pub async fn sign(&self, holder: Holder<'_>, key_id: &str, message: &[u8]) -> Result<Vec<u8>> {
        let key = self.load_key(holder, key_id).await?;
        sign_with(&key, key_id, message)
    }

    /// Runs `sign` with the secret of `holder`'s BLS12-381 G2 key `key_id`
    /// (32 bytes, big-endian, as askar exports it) and returns its result.
    ///
    /// This is the one place a secret leaves askar's key store, because BBS
    /// signing (`issuer::bbs_2023`) is not one of askar's operations: the
    /// bytes live in a buffer zeroized when `sign` returns, are lent to
    /// `sign` only, and are never stored or logged. Any other key type is
    /// refused ([`Error::Crypto`]), so Ed25519 keys never leave the store.
    pub async fn with_bbs_secret<R>(
        &self,
        holder: Holder<'_>,
        key_id: &str,
        sign: impl FnOnce(&[u8]) -> R,
    ) -> Result<R> {
        let key = self.load_key(holder, key_id).await?;
        if key.algorithm() != KeyAlg::Bls12_381(BlsCurves::G2) {
            return Err(Error::Crypto(format!("key {key_id} is not a BLS12-381 G2 key")));
        }
        // `SecretBytes` zeroizes its buffer on drop.
        let secret = key.to_secret_bytes().map_err(|e| Error::Crypto(format!("key {key_id}: {e}")))?;
        Ok(sign(secret.as_ref()))
    }

    /// A [`Signer`] for `holder`'s key `key_id`.
    pub async fn signer(&self, holder: Holder<'_>, key_id: &str) -> Result<WalletSigner> {
        let key = self.load_key(holder, key_id).await?;
        Ok(WalletSigner { key_id: key_id.to_owned(), public: public_of(&key)?, key: Arc::new(key) })
    }

    /// The ids of `holder`'s keys, sorted.
    pub async fn key_ids(&self, holder: Holder<'_>) -> Result<Vec<String>> {
        let mut session = self.session(holder).await?;
        let entries = session
            .fetch_all_keys(None, None, None, None, false)
            .await
            .map_err(|e| Error::askar(format_args!("keys of {holder}"), e))?;
        let mut ids: Vec<String> = entries.iter().map(|e| e.name().to_owned()).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// The ids of `holder`'s keys of type `alg`, sorted.
    pub async fn key_ids_of(&self, holder: Holder<'_>, alg: KeyType) -> Result<Vec<String>> {
        let mut session = self.session(holder).await?;
        let entries = session
            .fetch_all_keys(Some(alg.askar_alg().as_str()), None, None, None, false)
            .await
            .map_err(|e| Error::askar(format_args!("{alg:?} keys of {holder}"), e))?;
        let mut ids: Vec<String> = entries.iter().map(|e| e.name().to_owned()).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    async fn load_key(&self, holder: Holder<'_>, key_id: &str) -> Result<LocalKey> {
        let mut session = self.session(holder).await?;
        let entry = session
            .fetch_key(key_id, false)
            .await
            .map_err(|e| Error::askar(format_args!("key {key_id} in {holder}"), e))?
            .ok_or_else(|| Error::NotFound(format!("key {key_id} in {holder}")))?;
        entry.load_local_key().map_err(|e| Error::Crypto(format!("loading key {key_id}: {e}")))
    }
}

/// A fresh key and its info; CPU only, done before any session is opened
/// so that no connection (or SQLite write lock) waits on it.
pub(crate) fn new_key(alg: KeyType) -> Result<(LocalKey, KeyInfo)> {
    let key = LocalKey::generate_with_rng(alg.askar_alg(), false)
        .map_err(|e| Error::Crypto(format!("generating {alg:?} key: {e}")))?;
    let public = public_of(&key)?;
    Ok((key, KeyInfo { id: public.to_multibase(), public }))
}

fn public_of(key: &LocalKey) -> Result<PublicKey> {
    match key.algorithm() {
        KeyAlg::Ed25519 => {
            let bytes = key.to_public_bytes().map_err(|e| Error::Crypto(format!("public key: {e}")))?;
            let raw: [u8; 32] = bytes
                .as_ref()
                .try_into()
                .map_err(|_| Error::Crypto(format!("Ed25519 public key of {} bytes", bytes.len())))?;
            ed25519_dalek::VerifyingKey::from_bytes(&raw)
                .map(PublicKey::Ed25519)
                .map_err(|e| Error::Crypto(format!("Ed25519 public key: {e}")))
        }
        KeyAlg::Bls12_381(BlsCurves::G2) => {
            let bytes = key.to_public_bytes().map_err(|e| Error::Crypto(format!("public key: {e}")))?;
            Ok(PublicKey::Bls12381G2(bytes.as_ref().to_vec()))
        }
        other => Err(Error::Crypto(format!("unsupported key algorithm {}", other.as_str()))),
    }
}

fn sign_with(key: &LocalKey, key_id: &str, msg: &[u8]) -> Result<Vec<u8>> {
    key.sign_message(msg, None).map_err(|e| Error::Crypto(format!("signing with {key_id}: {e}")))
}

/// Caller tags as askar tags. All are stored encrypted: askar can still
/// match them for equality (it compares keyed hashes), which is all our
/// queries need, and tag values (names, emails) stay confidential at rest.
pub(crate) fn entry_tags(tags: &[(&str, &str)]) -> Result<Vec<EntryTag>> {
    tags.iter()
        .map(|(name, value)| {
            check_tag_name(name)?;
            Ok(EntryTag::Encrypted((*name).to_owned(), (*value).to_owned()))
        })
        .collect()
}
