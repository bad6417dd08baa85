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

use aries_askar::{ErrorKind as AskarKind, Session, Store};

use crate::error::{Error, Result};
use crate::names::{sub_name, sub_profile, COMPANY_PROFILE};

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
#[derive(Clone)]
pub struct CompanyWallet {
    inner: Arc<CompanyInner>,
}

struct CompanyInner {
    company: String,
    store: Store,
}

impl fmt::Debug for CompanyWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompanyWallet").field("company", &self.inner.company).finish_non_exhaustive()
    }
}

impl CompanyWallet {
    pub(crate) fn new(company: String, store: Store) -> CompanyWallet {
        CompanyWallet { inner: Arc::new(CompanyInner { company, store }) }
    }

    /// The company id.
    pub fn company(&self) -> &str {
        &self.inner.company
    }

    pub(crate) async fn close(&self) -> Result<()> {
        self.inner
            .store
            .clone()
            .close()
            .await
            .map_err(|e| Error::askar(format_args!("company wallet {}", self.company()), e))
    }

    /// Creates the sub-wallet `name` (`[A-Za-z0-9._~:@-]{1,128}`), empty.
    /// Fails with [`Error::AlreadyExists`] if it exists.
    pub async fn create_sub_wallet(&self, name: &str) -> Result<()> {
        let profile = sub_profile(name)?;
        self.inner.store.create_profile(Some(profile)).await.map_err(|e| Error::askar(Holder::Sub(name), e))?;
        Ok(())
    }

    /// Deletes the sub-wallet `name` with all its keys and records (askar
    /// cascades the delete). Fails with [`Error::NotFound`] if there is none.
    pub async fn remove_sub_wallet(&self, name: &str) -> Result<()> {
        let profile = sub_profile(name)?;
        let removed = self.inner.store.remove_profile(profile).await.map_err(|e| Error::askar(Holder::Sub(name), e))?;
        if removed {
            Ok(())
        } else {
            Err(Error::NotFound(Holder::Sub(name).to_string()))
        }
    }

    /// The names of all sub-wallets, sorted.
    pub async fn sub_wallets(&self) -> Result<Vec<String>> {
        let profiles = self
            .inner
            .store
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
        self.inner.store.session(Some(profile)).await.map_err(|e| holder_error(holder, e))
    }

    /// A transaction on `holder`'s profile.
    pub(crate) async fn transaction(&self, holder: Holder<'_>) -> Result<Session> {
        let profile = holder.profile()?;
        self.inner.store.transaction(Some(profile)).await.map_err(|e| holder_error(holder, e))
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
