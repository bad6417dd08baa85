//! The registry of company stores: provision, open once, remove.
//!
//! Opening an askar store costs a connection pool, a key derivation and a
//! round trip, so each company's store is opened once per process and the
//! handle shared by every caller ([`CompanyWallet`] is a cheap clone). A
//! per-company async lock serialises create, open and remove of the same
//! company, so two requests never provision or open the same store twice;
//! different companies do not wait for each other.

use std::collections::HashMap;
use std::sync::Arc;

use aries_askar::{ErrorKind as AskarKind, PassKey, Store, StoreKeyMethod};
use parking_lot::Mutex;

use crate::backend::Backend;
use crate::company::CompanyWallet;
use crate::error::{Error, Result};
use crate::master::MasterKey;
use crate::names::{CompanyId, COMPANY_PROFILE};
use crate::sqlite::{fsync_dir, SqliteWrites};

/// A company's cache slot: `None` until its store is opened here.
type Slot = Arc<tokio::sync::Mutex<Option<CompanyWallet>>>;

/// All company wallets of one backend, protected by one master key.
///
/// Cheap to clone; clones share open stores. A `Wallets` (and the stores it
/// opened) belongs to the Tokio runtime it was first used on: sqlx pools
/// run their connections on that runtime.
#[derive(Clone)]
pub struct Wallets {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    master: MasterKey,
    slots: Mutex<HashMap<CompanyId, Slot>>,
}

impl std::fmt::Debug for Wallets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallets").field("backend", &self.inner.backend).finish_non_exhaustive()
    }
}

impl Wallets {
    /// Company wallets kept in `backend`, their store keys derived from
    /// `master`. Nothing is opened until a company is.
    pub fn new(backend: Backend, master: MasterKey) -> Wallets {
        Wallets { inner: Arc::new(Inner { backend, master, slots: Mutex::new(HashMap::new()) }) }
    }

    /// The backend the stores live in.
    pub fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    /// Provisions the super-wallet of `company` (`[a-z0-9-]{1,64}`): a new
    /// askar store whose default profile holds the company's own keys.
    /// Fails with [`Error::AlreadyExists`] if the store exists, whatever
    /// key it was made with.
    pub async fn create(&self, company: &str) -> Result<CompanyWallet> {
        let id = CompanyId::parse(company)?;
        let slot = self.slot(&id);
        let mut cached = slot.lock().await;
        if cached.is_some() {
            return Err(already(&id));
        }
        let url = self.inner.backend.store_url(&id)?;
        let key = self.inner.master.store_key(id.as_str())?;
        self.inner.backend.prepare().await?;
        // askar's provision opens an existing store instead of failing, so
        // look first. Other errors (an empty file or database left by a
        // crash during provisioning) fall through to provision, which
        // initialises an empty store and reports anything else.
        match Store::open(&url, Some(StoreKeyMethod::RawKey), PassKey::from(key.as_str()), None).await {
            Ok(store) => {
                let _ = store.close().await;
                return Err(already(&id));
            }
            Err(e) if e.kind() == AskarKind::Encryption => return Err(already(&id)),
            Err(_) => {}
        }
        let store = Store::provision(
            &url,
            StoreKeyMethod::RawKey,
            PassKey::from(key.as_str()),
            Some(COMPANY_PROFILE.to_owned()),
            false,
        )
        .await
        .map_err(|e| Error::askar(format_args!("company wallet {}", id.as_str()), e))?;
        let wallet = self.wallet(&id, store);
        wallet.durable().await?;
        if let Some(dir) = self.inner.backend.sqlite_dir() {
            // The new store file and its WAL are directory entries.
            fsync_dir(dir.to_path_buf()).await?;
        }
        *cached = Some(wallet.clone());
        Ok(wallet)
    }

    /// The super-wallet of `company`, opened on first use and shared after.
    /// Fails with [`Error::NotFound`] if it was never created and with
    /// [`Error::Crypto`] if the master key does not open it.
    pub async fn open(&self, company: &str) -> Result<CompanyWallet> {
        let id = CompanyId::parse(company)?;
        let slot = self.slot(&id);
        let mut cached = slot.lock().await;
        if let Some(wallet) = cached.as_ref() {
            return Ok(wallet.clone());
        }
        let url = self.inner.backend.store_url(&id)?;
        let key = self.inner.master.store_key(id.as_str())?;
        let store = Store::open(&url, Some(StoreKeyMethod::RawKey), PassKey::from(key.as_str()), None)
            .await
            .map_err(|e| match e.kind() {
                AskarKind::Encryption => Error::Crypto(format!(
                    "the store key derived for company {} does not open its wallet (wrong master key, or a store of another company)",
                    id.as_str()
                )),
                _ => Error::askar(format_args!("company wallet {}", id.as_str()), e),
            })?;
        let wallet = self.wallet(&id, store);
        *cached = Some(wallet.clone());
        Ok(wallet)
    }

    /// Closes and deletes the super-wallet of `company` with every
    /// sub-wallet, key and record in it. Handles still held elsewhere fail
    /// from then on. Fails with [`Error::NotFound`] if there is no store.
    pub async fn remove(&self, company: &str) -> Result<()> {
        let id = CompanyId::parse(company)?;
        let slot = self.slot(&id);
        let mut cached = slot.lock().await;
        if let Some(wallet) = cached.take() {
            wallet.close().await?;
        }
        let url = self.inner.backend.store_url(&id)?;
        let removed =
            Store::remove(&url).await.map_err(|e| Error::askar(format_args!("company wallet {}", id.as_str()), e))?;
        self.inner.backend.after_remove(&id).await?;
        drop(cached);
        self.inner.slots.lock().remove(&id);
        if removed {
            Ok(())
        } else {
            Err(Error::NotFound(format!("company wallet {}", id.as_str())))
        }
    }

    /// Closes every store opened here (their pools drain and SQLite
    /// checkpoints its WAL). Later calls open stores again.
    pub async fn close(&self) -> Result<()> {
        let slots: Vec<Slot> = self.inner.slots.lock().drain().map(|(_, slot)| slot).collect();
        let mut first_error = None;
        for slot in slots {
            if let Some(wallet) = slot.lock().await.take() {
                if let Err(e) = wallet.close().await {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn wallet(&self, id: &CompanyId, store: Store) -> CompanyWallet {
        let sqlite = self.inner.backend.sqlite_wal(id).map(SqliteWrites::new);
        CompanyWallet::new(id.as_str().to_owned(), store, sqlite)
    }

    fn slot(&self, id: &CompanyId) -> Slot {
        self.inner.slots.lock().entry(id.clone()).or_default().clone()
    }
}

fn already(id: &CompanyId) -> Error {
    Error::AlreadyExists(format!("company wallet {}", id.as_str()))
}
