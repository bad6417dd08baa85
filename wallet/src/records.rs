//! Records: DIDs (category `did`), credentials (`credential`) and whatever
//! else a holder keeps, as JSON values with tags.
//!
//! askar encrypts category, id, value and tags with the holder's profile
//! key; tags are matched through keyed hashes, so equality queries work
//! without the database seeing a tag in the clear.

use aries_askar::entry::{Entry, EntryOperation, TagFilter};
use aries_askar::ErrorKind as AskarKind;
use serde_json::json;

use crate::company::{CompanyWallet, Holder};
use crate::error::{Error, Result};
use crate::keys::{entry_tags, new_key, KeyInfo, KeyType};
use crate::names::{check_item, check_tag_name};

/// Category of DID records.
pub const DID_CATEGORY: &str = "did";
/// Category of credential records.
pub const CREDENTIAL_CATEGORY: &str = "credential";

/// A stored record.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The record id, unique within its holder and category.
    pub id: String,
    /// The JSON value.
    pub value: serde_json::Value,
    /// The tags, sorted by name then value.
    pub tags: Vec<(String, String)>,
}

impl CompanyWallet {
    /// Stores `value` under `(category, id)` for `holder`, replacing any
    /// record already there (value and tags).
    pub async fn put_record(
        &self,
        holder: Holder<'_>,
        category: &str,
        id: &str,
        value: &serde_json::Value,
        tags: &[(&str, &str)],
    ) -> Result<()> {
        check_item("record category", category)?;
        check_item("record id", id)?;
        let tags = entry_tags(tags)?;
        let bytes = serde_json::to_vec(value).map_err(|e| Error::Backend(format!("encoding record {id}: {e}")))?;
        {
            let _turn = self.write_turn().await;
            let mut session = self.session(holder).await?;
            // Insert first: it is the common case and a single statement.
            match session.insert(category, id, &bytes, Some(&tags), None).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == AskarKind::Duplicate => session
                    .update(EntryOperation::Replace, category, id, Some(&bytes), Some(&tags), None)
                    .await
                    .map_err(|e| Error::askar(format_args!("record {category}/{id} in {holder}"), e)),
                Err(e) => Err(Error::askar(format_args!("record {category}/{id} in {holder}"), e)),
            }?;
        }
        self.durable().await
    }

    /// The record `(category, id)` of `holder`, if any.
    pub async fn get_record(&self, holder: Holder<'_>, category: &str, id: &str) -> Result<Option<Record>> {
        check_item("record category", category)?;
        check_item("record id", id)?;
        let mut session = self.session(holder).await?;
        let entry = session
            .fetch(category, id, false)
            .await
            .map_err(|e| Error::askar(format_args!("record {category}/{id} in {holder}"), e))?;
        entry.map(record).transpose()
    }

    /// `holder`'s records of `category` carrying every tag in `tags` (an
    /// AND of equalities; no tags matches all), at most `limit` of them.
    pub async fn find_records(
        &self,
        holder: Holder<'_>,
        category: &str,
        tags: &[(&str, &str)],
        limit: Option<i64>,
    ) -> Result<Vec<Record>> {
        check_item("record category", category)?;
        let filter = if tags.is_empty() {
            None
        } else {
            let parts = tags
                .iter()
                .map(|(name, value)| {
                    check_tag_name(name)?;
                    Ok(TagFilter::is_eq(*name, *value))
                })
                .collect::<Result<Vec<_>>>()?;
            Some(TagFilter::all_of(parts))
        };
        let mut session = self.session(holder).await?;
        let entries = session
            .fetch_all(Some(category), filter, limit, None, false, false)
            .await
            .map_err(|e| Error::askar(format_args!("records {category} in {holder}"), e))?;
        entries.into_iter().map(record).collect()
    }

    /// Deletes the record `(category, id)` of `holder`; [`Error::NotFound`]
    /// if there is none.
    pub async fn delete_record(&self, holder: Holder<'_>, category: &str, id: &str) -> Result<()> {
        check_item("record category", category)?;
        check_item("record id", id)?;
        {
            let _turn = self.write_turn().await;
            let mut session = self.session(holder).await?;
            session
                .remove(category, id)
                .await
                .map_err(|e| Error::askar(format_args!("record {category}/{id} in {holder}"), e))?;
        }
        self.durable().await
    }

    /// Creates a `did:key` (Ed25519) for `holder`: the key and a `did`
    /// record tagged `method = key`, in one transaction. The DID is
    /// `did:key:` followed by the key id.
    pub async fn create_did_key(&self, holder: Holder<'_>) -> Result<(String, KeyInfo)> {
        let created = self.insert_did_key(holder).await?;
        self.durable().await?;
        Ok(created)
    }

    /// Creates the sub-wallet `name` with a `did:key` in it: what onboarding
    /// an employee or device takes. Same as [`create_sub_wallet`] followed by
    /// [`create_did_key`], with one wait for durability instead of two. If the
    /// DID cannot be created the sub-wallet is removed again.
    ///
    /// [`create_sub_wallet`]: CompanyWallet::create_sub_wallet
    /// [`create_did_key`]: CompanyWallet::create_did_key
    pub async fn create_sub_wallet_with_did_key(&self, name: &str) -> Result<(String, KeyInfo)> {
        self.insert_sub_wallet(name).await?;
        match self.insert_did_key(Holder::Sub(name)).await {
            Ok(created) => {
                self.durable().await?;
                Ok(created)
            }
            Err(e) => {
                let _ = self.remove_sub_wallet(name).await;
                Err(e)
            }
        }
    }

    /// The key and DID record of a new `did:key`; committed, not yet durable.
    async fn insert_did_key(&self, holder: Holder<'_>) -> Result<(String, KeyInfo)> {
        let (key, info) = new_key(KeyType::Ed25519)?;
        let did = format!("did:key:{}", info.id);
        let value = json!({
            "did": did,
            "method": "key",
            "key_id": info.id,
            "verification_method": format!("{did}#{}", info.id),
        });
        let bytes = serde_json::to_vec(&value).map_err(|e| Error::Backend(format!("encoding DID record: {e}")))?;
        // Every tag is one more encrypted row per creation: keep only the
        // one queries need (the key id is in the value).
        let did_tags = entry_tags(&[("method", "key")])?;
        let _turn = self.write_turn().await;
        let mut txn = self.transaction(holder).await?;
        txn.insert_key(&info.id, &key, None, None, None, None)
            .await
            .map_err(|e| Error::askar(format_args!("key {} in {holder}", info.id), e))?;
        txn.insert(DID_CATEGORY, &did, &bytes, Some(&did_tags), None)
            .await
            .map_err(|e| Error::askar(format_args!("DID {did} in {holder}"), e))?;
        txn.commit().await.map_err(|e| Error::askar(format_args!("DID {did} in {holder}"), e))?;
        Ok((did, info))
    }
}

fn record(entry: Entry) -> Result<Record> {
    let value = serde_json::from_slice(entry.value.as_ref())
        .map_err(|e| Error::Backend(format!("record {} does not hold JSON: {e}", entry.name)))?;
    let mut tags: Vec<(String, String)> =
        entry.tags.iter().map(|t| (t.name().to_owned(), t.value().to_owned())).collect();
    tags.sort_unstable();
    Ok(Record { id: entry.name, value, tags })
}
