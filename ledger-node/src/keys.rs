//! Key files: the node's signing key, and the development key store the
//! command line uses until the agent's wallet takes over.
//!
//! Both are JSON files with owner-only permissions. The development key
//! store says what it is in its first member: secret keys in plain text are
//! for trying idelta out, never for production.

use crate::error::{NodeError, Result};
use ed25519_dalek::SigningKey;
use idelta_types::{Did, PublicKey};
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::Zeroizing;

/// Multicodec varint prefix of `ed25519-priv` (0x1300).
const ED25519_PRIV: [u8; 2] = [0x80, 0x26];

/// Encodes an Ed25519 secret key as `secretKeyMultibase`.
pub fn secret_to_multibase(key: &SigningKey) -> Zeroizing<String> {
    let bytes = Zeroizing::new([ED25519_PRIV.as_slice(), key.as_bytes()].concat());
    Zeroizing::new(format!("z{}", idelta_types::multikey::base58btc(bytes.as_slice())))
}

/// Decodes a `secretKeyMultibase` Ed25519 key.
pub fn secret_from_multibase(text: &str) -> Result<SigningKey> {
    let body = text
        .strip_prefix('z')
        .ok_or_else(|| NodeError::Config("secretKeyMultibase must be base58btc (`z…`)".into()))?;
    let bytes = Zeroizing::new(
        idelta_types::multikey::base58btc_decode(body)
            .map_err(|e| NodeError::Config(format!("secretKeyMultibase: {e}")))?,
    );
    let raw: [u8; 32] = bytes
        .strip_prefix(ED25519_PRIV.as_slice())
        .and_then(|r| r.try_into().ok())
        .ok_or_else(|| NodeError::Config("secretKeyMultibase must be an ed25519-priv key of 32 bytes".into()))?;
    Ok(SigningKey::from_bytes(&raw))
}

/// The file a node keeps its signing key in, inside its data directory.
pub const NODE_KEY_FILE: &str = "node-key.json";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NodeKeyFile {
    public_key_multibase: String,
    secret_key_multibase: String,
}

/// Generates and stores a node key; refuses to overwrite one.
pub fn create_node_key(dir: &Path) -> Result<SigningKey> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let file = NodeKeyFile {
        public_key_multibase: PublicKey::Ed25519(key.verifying_key()).to_multibase(),
        secret_key_multibase: secret_to_multibase(&key).to_string(),
    };
    write_private(&dir.join(NODE_KEY_FILE), &file, false)?;
    Ok(key)
}

/// Loads the node key of a data directory.
pub fn load_node_key(dir: &Path) -> Result<SigningKey> {
    let path = dir.join(NODE_KEY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        NodeError::Config(format!("cannot read {}: {e} (run `idelta ledger init` first)", path.display()))
    })?;
    let file: NodeKeyFile =
        serde_json::from_str(&text).map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?;
    secret_from_multibase(&file.secret_key_multibase)
}

/// Writes JSON readable by the owner only. With `replace` false an
/// existing file is an error, so keys are never overwritten by accident.
pub fn write_private<T: Serialize>(path: &Path, value: &T, replace: bool) -> Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(|e| NodeError::Config(e.to_string()))?;
    write_private_bytes(path, &json, replace)
}

/// Writes bytes readable by the owner only, synced to disk; see
/// [`write_private`].
pub fn write_private_bytes(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file =
        options.open(path).map_err(|e| NodeError::Config(format!("cannot write {}: {e}", path.display())))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Warning at the top of every development key store.
pub const DEV_STORE_WARNING: &str =
    "DEVELOPMENT KEY STORE: secret keys in plain text, for trying idelta out. Real keys live in the agent's wallet.";

/// One DID and its controller key in a development key store.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevKey {
    /// The DID.
    pub did: Did,
    /// The verification method id that signs (`did#key-1`).
    pub kid: String,
    /// The public key.
    pub public_key_multibase: String,
    /// The secret key, plain.
    pub secret_key_multibase: String,
}

impl DevKey {
    /// A new `did:idelta` DID with a fresh inception key.
    pub fn generate() -> (DevKey, SigningKey) {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        (DevKey::from_signing_key(&key), key)
    }

    /// The entry for a `did:idelta` DID derived from `key`.
    pub fn from_signing_key(key: &SigningKey) -> DevKey {
        let public = PublicKey::Ed25519(key.verifying_key());
        let did = Did::idelta_from_key(&public);
        DevKey {
            kid: did.with_fragment("key-1"),
            did,
            public_key_multibase: public.to_multibase(),
            secret_key_multibase: secret_to_multibase(key).to_string(),
        }
    }

    /// The secret key.
    pub fn signing_key(&self) -> Result<SigningKey> {
        secret_from_multibase(&self.secret_key_multibase)
    }
}

/// A development key store: `{ "warning", "keys": [..] }`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DevKeyStore {
    /// Always [`DEV_STORE_WARNING`].
    pub warning: String,
    /// The keys, newest last.
    pub keys: Vec<DevKey>,
}

impl DevKeyStore {
    /// Reads a store; a missing file is an empty store.
    pub fn load(path: &Path) -> Result<DevKeyStore> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| NodeError::Config(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DevKeyStore::default()),
            Err(e) => Err(NodeError::Config(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// Writes the store with owner-only permissions.
    pub fn save(&mut self, path: &Path) -> Result<()> {
        self.warning = DEV_STORE_WARNING.into();
        write_private(path, self, true)
    }

    /// The entries of `did` (the newest is the current key).
    pub fn find(&self, did: &Did) -> Option<&DevKey> {
        self.keys.iter().rev().find(|k| &k.did == did)
    }
}
