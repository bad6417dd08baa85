//! The operator's master key and the per-company store keys derived from it.
//!
//! Every company store is encrypted by askar under its own raw store key.
//! Rather than keeping one secret per company somewhere, idelta keeps one
//! operator secret (from the environment or a key file, never from code)
//! and derives each store key with HKDF-SHA256 (RFC 5869), using the
//! company id as `info`. Consequences:
//! - a store copied or renamed under another company's id does not open,
//!   because that id derives a different key;
//! - losing the master key loses every wallet: back it up with the stores;
//! - derivation is a couple of HMACs, done once when a store is opened.
//!
//! The master key is already uniformly random, so HKDF's salt is not needed
//! (RFC 5869 §3.1) and none is used.

use std::fmt;
use std::io::Write;
use std::path::Path;

use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Length of the master key and of each derived store key.
const KEY_LEN: usize = 32;
/// HKDF `info` prefix; the company id follows it.
const STORE_KEY_INFO: &str = "idelta-wallet-store:";

/// The operator secret that protects every company store.
///
/// Text form: 64 hex digits or base58 (Bitcoin alphabet) of the 32 bytes;
/// [`MasterKey::to_text`] writes base58, as askar writes raw keys. `Debug`
/// never prints the key and the bytes are zeroized on drop.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; KEY_LEN]>);

impl MasterKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> MasterKey {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        MasterKey(bytes)
    }

    /// Parses the text form (hex or base58 of 32 bytes; surrounding
    /// whitespace ignored).
    pub fn parse(text: &str) -> Result<MasterKey> {
        let text = text.trim();
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode_to_slice(text, bytes.as_mut()).map_err(|_| Error::Config("master key: invalid hex".into()))?;
            return Ok(MasterKey(bytes));
        }
        let mut buf = Zeroizing::new([0u8; KEY_LEN + 8]);
        let len = bs58::decode(text)
            .onto(buf.as_mut())
            .map_err(|_| Error::Config("master key: expected 64 hex digits or base58 of 32 bytes".into()))?;
        if len != KEY_LEN {
            return Err(Error::Config(format!("master key: expected 32 bytes, got {len}")));
        }
        bytes.copy_from_slice(&buf[..KEY_LEN]);
        Ok(MasterKey(bytes))
    }

    /// Reads the key from environment variable `var`.
    pub fn from_env(var: &str) -> Result<MasterKey> {
        let text = Zeroizing::new(
            std::env::var(var)
                .map_err(|_| Error::Config(format!("master key: environment variable {var} is not set")))?,
        );
        MasterKey::parse(&text)
    }

    /// Reads the key from a file holding its text form. On Unix the file
    /// must not be readable by group or others (like ssh, we refuse rather
    /// than use a key that others may have read).
    pub fn from_file(path: impl AsRef<Path>) -> Result<MasterKey> {
        let path = path.as_ref();
        check_private(path)?;
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| Error::Config(format!("master key file {}: {e}", path.display())))?,
        );
        MasterKey::parse(&text)
    }

    /// Reads the key file, or creates it (mode 0600) with a fresh key if it
    /// does not exist. Meant for development and `idelta up`; production
    /// deployments provision the key themselves.
    pub fn load_or_create(path: impl AsRef<Path>) -> Result<MasterKey> {
        let path = path.as_ref();
        if path.exists() {
            return MasterKey::from_file(path);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Config(format!("creating {}: {e}", dir.display())))?;
        }
        let key = MasterKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = match options.open(path) {
            Ok(file) => file,
            // Another process created it between our check and now: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return MasterKey::from_file(path),
            Err(e) => return Err(Error::Config(format!("creating master key file {}: {e}", path.display()))),
        };
        let text = key.to_text();
        file.write_all(text.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::Config(format!("writing master key file {}: {e}", path.display())))?;
        Ok(key)
    }

    /// The text form (base58).
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(bs58::encode(self.0.as_ref()).into_string())
    }

    /// A 32-byte key for `purpose`, derived with HKDF-SHA256 (info =
    /// `purpose`). Other components (the agent's token key) use this, so
    /// the master key stays the one secret an operator keeps.
    pub fn derive(&self, purpose: &str) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        let hk = Hkdf::<Sha256>::new(None, self.0.as_ref());
        let mut okm = Zeroizing::new([0u8; KEY_LEN]);
        hk.expand(purpose.as_bytes(), okm.as_mut()).map_err(|_| Error::Crypto("HKDF output length rejected".into()))?;
        Ok(okm)
    }

    /// The askar raw store key of `company`: base58 of
    /// HKDF-SHA256(master, info = "idelta-wallet-store:" + company), the
    /// text form askar's `StoreKeyMethod::RawKey` expects.
    pub(crate) fn store_key(&self, company: &str) -> Result<Zeroizing<String>> {
        let okm = self.derive(&format!("{STORE_KEY_INFO}{company}"))?;
        Ok(Zeroizing::new(bs58::encode(okm.as_ref()).into_string()))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::metadata(path).map_err(|e| Error::Config(format!("master key file {}: {e}", path.display())))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(Error::Config(format!(
            "master key file {} has mode {:o}; it must not be accessible by group or others (chmod 600)",
            path.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_in_both_encodings() {
        let key = MasterKey::generate();
        let again = MasterKey::parse(&key.to_text()).unwrap();
        assert_eq!(*key.0, *again.0);
        let hex = hex::encode(key.0.as_ref());
        assert_eq!(*MasterKey::parse(&format!(" {hex}\n")).unwrap().0, *key.0);
        assert!(MasterKey::parse("").is_err());
        assert!(MasterKey::parse("0OIl").is_err());
        assert!(MasterKey::parse(&bs58::encode([1u8; 31]).into_string()).is_err());
        assert!(MasterKey::parse(&bs58::encode([1u8; 33]).into_string()).is_err());
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let key = MasterKey::parse(&"ab".repeat(32)).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "MasterKey(<redacted>)");
    }

    #[test]
    fn store_keys_differ_per_company_and_master() {
        let a = MasterKey::parse(&"11".repeat(32)).unwrap();
        let b = MasterKey::parse(&"22".repeat(32)).unwrap();
        let ka = a.store_key("acme").unwrap();
        assert_eq!(ka, a.store_key("acme").unwrap());
        assert_ne!(ka, a.store_key("acme2").unwrap());
        assert_ne!(ka, b.store_key("acme").unwrap());
        // askar's raw key form: base58 of 32 bytes.
        assert_eq!(bs58::decode(ka.as_str()).into_vec().unwrap().len(), 32);
    }

    #[test]
    fn load_or_create_writes_a_private_file_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/master.key");
        let created = MasterKey::load_or_create(&path).unwrap();
        let loaded = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(*created.0, *loaded.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(MasterKey::from_file(&path), Err(Error::Config(_))));
        }
    }
}
