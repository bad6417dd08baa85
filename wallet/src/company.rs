//! A company's super-wallet and its sub-wallets.
//!
//! One askar store per company; its default profile (named `company`)
//! holds the company's own keys and records, and each employee or device
//! gets a profile of its own (a *sub-wallet*). askar encrypts every profile
//! under its own profile key, so profiles are separate at the storage
//! level, not by a filter in our queries: a session opened on one profile
//! cannot name another profile's items.

use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;

use aries_askar::{ErrorKind as AskarKind, Session, Store};

use crate::error::{Error, Result};
use crate::names::{sub_name, sub_profile, COMPANY_PROFILE};
use crate::sqlite::SqliteWrites;

/// Whose keys and records an operation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Holder<'a> {
    /// The company itself (the store's default profile).
    Company,
    /// The sub-wallet of an employee or device, by the name it was created
    /// with.
    Sub(&'a str),
}

impl fmt::Display for Holder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Company => f.write_str("company wallet"),
            Holder::Sub(name) => write!(f, "sub-wallet {name}"),
        }
    }
}

impl Holder<'_> {
    /// The askar profile of this holder.
    pub(crate) fn profile(&self) -> Result<String> {
        match self {
            Holder::Company => Ok(COMPANY_PROFILE.to_owned()),
            Holder::Sub(name) => sub_profile(name),
        }
    }
}

/// An open company super-wallet. Cheap to clone; clones share the store.
///
/// When the company is removed (or [`Wallets::close`](crate::Wallets::close)
/// runs), every clone stops working at once and reports
/// [`Error::NotFound`].
#[derive(Clone)]
pub struct CompanyWallet {
    inner: Arc<CompanyInner>,
}

struct CompanyInner {
    company: String,
    /// `None` once closed. Operations clone the handle (an `Arc`) for their
    /// duration, so closing waits for nobody and the pool is freed when the
    /// last operation in flight ends.
    store: RwLock<Option<Store>>,
    /// Write queue and group commit, for SQLite stores (`sqlite.rs`).
    sqlite: Option<SqliteWrites>,
}

impl fmt::Debug for CompanyWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompanyWallet").field("company", &self.inner.company).finish_non_exhaustive()
    }
}

impl CompanyWallet {
    pub(crate) fn new(company: String, store: Store, sqlite: Option<SqliteWrites>) -> CompanyWallet {
        CompanyWallet { inner: Arc::new(CompanyInner { company, store: RwLock::new(Some(store)), sqlite }) }
    }

    /// Waits for this store's turn to write (SQLite), or returns at once.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.inner.sqlite {
            Some(sqlite) => Some(sqlite.turn().await),
            None => None,
        }
    }

    /// Returns once this caller's committed writes are durable (SQLite
    /// group commit); PostgreSQL commits are durable when they return.
    pub(crate) async fn durable(&self) -> Result<()> {
        match &self.inner.sqlite {
            Some(sqlite) => sqlite.durable().await,
            None => Ok(()),
        }
    }

    /// The company id.
    pub fn company(&self) -> &str {
        &self.inner.company
    }

    /// The store, unless the wallet was closed.
    fn store(&self) -> Result<Store> {
        self.inner
            .store
            .read()
            .clone()
            .ok_or_else(|| Error::NotFound(format!("company wallet {} (closed)", self.company())))
    }

    /// Closes the store and lets go of it, for every clone of this handle.
    pub(crate) async fn close(&self) -> Result<()> {
        let Some(store) = self.inner.store.write().take() else { return Ok(()) };
        let result =
            store.clone().close().await.map_err(|e| Error::askar(format_args!("company wallet {}", self.company()), e));
        // Dropping the handle matters as much as closing it: sqlx 0.8's
        // `Pool::close` can return while a connection is still on its way
        // back to the pool, which then sits idle and open (PostgreSQL
        // refuses to drop a database with a session on it; SQLite keeps its
        // WAL). Such a connection closes when the pool itself is dropped,
        // which happens once no handle and no operation in flight holds the
        // store any more.
        drop(store);
        result
    }

    /// Creates the sub-wallet `name` (`[A-Za-z0-9._~:@-]{1,128}`), empty.
    /// Fails with [`Error::AlreadyExists`] if it exists.
    pub async fn create_sub_wallet(&self, name: &str) -> Result<()> {
        self.insert_sub_wallet(name).await?;
        self.durable().await
    }

    /// Creates the profile of sub-wallet `name`; committed, not yet durable.
    pub(crate) async fn insert_sub_wallet(&self, name: &str) -> Result<()> {
        let profile = sub_profile(name)?;
        let _turn = self.write_turn().await;
        self.store()?.create_profile(Some(profile)).await.map_err(|e| Error::askar(Holder::Sub(name), e))?;
        Ok(())
    }

    /// Deletes the sub-wallet `name` with all its keys and records (askar
    /// cascades the delete). Fails with [`Error::NotFound`] if there is none.
    pub async fn remove_sub_wallet(&self, name: &str) -> Result<()> {
        let profile = sub_profile(name)?;
        let removed = {
            let _turn = self.write_turn().await;
            self.store()?.remove_profile(profile).await.map_err(|e| Error::askar(Holder::Sub(name), e))?
        };
        if removed {
            self.durable().await
        } else {
            Err(Error::NotFound(Holder::Sub(name).to_string()))
        }
    }

    /// The names of all sub-wallets, sorted.
    pub async fn sub_wallets(&self) -> Result<Vec<String>> {
        let profiles = self
            .store()?
            .list_profiles()
            .await
            .map_err(|e| Error::askar(format_args!("profiles of company wallet {}", self.company()), e))?;
        let mut names: Vec<String> = profiles.iter().filter_map(|p| sub_name(p)).map(str::to_owned).collect();
        names.sort_unstable();
        Ok(names)
    }

    /// A session on `holder`'s profile. askar checks that the profile
    /// exists, so a removed sub-wallet gives [`Error::NotFound`].
    pub(crate) async fn session(&self, holder: Holder<'_>) -> Result<Session> {
        let profile = holder.profile()?;
        self.store()?.session(Some(profile)).await.map_err(|e| holder_error(holder, e))
    }

    /// A transaction on `holder`'s profile.
    pub(crate) async fn transaction(&self, holder: Holder<'_>) -> Result<Session> {
        let profile = holder.profile()?;
        self.store()?.transaction(Some(profile)).await.map_err(|e| holder_error(holder, e))
    }
}

/// An error opening a session: not found means the holder is missing.
fn holder_error(holder: Holder<'_>, e: aries_askar::Error) -> Error {
    if e.kind() == AskarKind::NotFound {
        Error::NotFound(holder.to_string())
    } else {
        Error::askar(holder, e)
    }
}
