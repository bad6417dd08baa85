//! Credentials a holder keeps in its profile (an employee's or device's
//! sub-wallet, or the company's own): records of category
//! [`CREDENTIAL_CATEGORY`] whose value is the secured credential as it was
//! issued, tagged with its format, issuer and types so that a holder can
//! find the ones a presentation request asks for without decrypting all of
//! them.
//!
//! Why a layer over [`CompanyWallet::put_record`]: the record layout (value
//! members, tag names) is decided once here, so the agent's issuance
//! pipeline, the holder API and the presentation code cannot disagree on
//! it, and the conformance suite checks it on every backend.
//!
//! Listing is by id, ascending, in pages after a cursor (the last id of the
//! previous page). askar has no offset or range query over encrypted
//! names, so a page reads the holder's credential records and pages them in
//! memory: fine for one holder's handful of credentials, not meant for a
//! company-wide scan. Callers that want creation order use time-ordered ids
//! (the agent's `ids::new_id`).

use serde_json::{json, Map, Value};

use crate::company::{CompanyWallet, Holder};
use crate::error::{Error, Result};
use crate::keys::entry_tags;
use crate::names::check_item;
use crate::records::CREDENTIAL_CATEGORY;

/// How a held credential is secured, named as OpenID4VP 1.0 (Appendix B)
/// names credential formats in a DCQL query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialFormat {
    /// A W3C VC Data Model 2.0 credential secured with a Data Integrity
    /// proof (`eddsa-rdfc-2022`, `eddsa-jcs-2022`, `bbs-2023`): DCQL
    /// format `ldp_vc`. The value is the credential JSON object.
    DataIntegrity,
    /// An SD-JWT VC: DCQL format `dc+sd-jwt`. The value is the compact
    /// SD-JWT string with every disclosure (`<jwt>~<d>~…~`).
    SdJwt,
}

impl CredentialFormat {
    /// The DCQL format identifier: `ldp_vc` or `dc+sd-jwt`.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialFormat::DataIntegrity => "ldp_vc",
            CredentialFormat::SdJwt => "dc+sd-jwt",
        }
    }

    /// The format named by a DCQL format identifier, if it is one idelta holds.
    pub fn from_dcql(format: &str) -> Option<CredentialFormat> {
        match format {
            "ldp_vc" => Some(CredentialFormat::DataIntegrity),
            "dc+sd-jwt" => Some(CredentialFormat::SdJwt),
            _ => None,
        }
    }
}

/// A credential in a holder's wallet.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldCredential {
    /// Its id in the wallet (unique per holder).
    pub id: String,
    /// How it is secured.
    pub format: CredentialFormat,
    /// The issuer's DID.
    pub issuer: String,
    /// Its types: the VC `type` values, or the SD-JWT VC `vct`.
    pub types: Vec<String>,
    /// The secured credential: a JSON object (Data Integrity) or a JSON
    /// string holding the compact SD-JWT.
    pub credential: Value,
    /// When the holder received it, milliseconds since the epoch.
    pub received_at: i64,
}

/// Which held credentials a listing returns: every given field must match
/// (an AND; nothing given matches all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialFilter<'a> {
    /// Only credentials of this format.
    pub format: Option<CredentialFormat>,
    /// Only credentials from this issuer DID.
    pub issuer: Option<&'a str>,
    /// Only credentials having this type among their types.
    pub r#type: Option<&'a str>,
}

/// A page of held credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct CredentialPage {
    /// The credentials, ascending by id.
    pub items: Vec<HeldCredential>,
    /// The id to pass as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
}

impl HeldCredential {
    fn to_value(&self) -> Value {
        json!({
            "format": self.format.as_str(),
            "issuer": self.issuer,
            "types": self.types,
            "credential": self.credential,
            "receivedAt": self.received_at,
        })
    }

    fn from_record(id: String, value: Value) -> Result<HeldCredential> {
        let bad = |what: &str| Error::Backend(format!("credential record {id}: {what}"));
        let Value::Object(mut fields): Value = value else { return Err(bad("not an object")) };
        let take_str = |name: &str, fields: &mut Map<String, Value>| match fields.remove(name) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(bad(&format!("no string `{name}`"))),
        };
        let format = take_str("format", &mut fields)?;
        let format = CredentialFormat::from_dcql(&format).ok_or_else(|| bad("unknown format"))?;
        let issuer = take_str("issuer", &mut fields)?;
        let types = match fields.remove("types") {
            Some(Value::Array(ts)) => {
                { ts.into_iter().map(|t| t.as_str().map(str::to_owned).ok_or_else(|| bad("a type is not a string"))) }
                    .collect::<Result<Vec<_>>>()?
            }
            _ => return Err(bad("no `types` array")),
        };
        let credential = fields.remove("credential").ok_or_else(|| bad("no `credential`"))?;
        let received_at = fields.get("receivedAt").and_then(Value::as_i64).ok_or_else(|| bad("no `receivedAt`"))?;
        Ok(HeldCredential { id, format, issuer, types, credential, received_at })
    }
}

fn check_value(held: &HeldCredential) -> Result<()> {
    let ok = match held.format {
        CredentialFormat::DataIntegrity => held.credential.is_object(),
        CredentialFormat::SdJwt => held.credential.as_str().is_some_and(|s| s.contains('~')),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(format!(
            "credential {}: a {} credential must be {}",
            held.id,
            held.format.as_str(),
            match held.format {
                CredentialFormat::DataIntegrity => "a JSON object",
                CredentialFormat::SdJwt => "a compact SD-JWT string",
            }
        )))
    }
}

impl CompanyWallet {
    /// Stores `held` for `holder`, refusing an id already held
    /// ([`Error::AlreadyExists`]): a credential is never silently replaced.
    /// Returns once the write is durable.
    pub async fn store_credential(&self, holder: Holder<'_>, held: &HeldCredential) -> Result<()> {
        check_value(held)?;
        let mut tags: Vec<(&str, &str)> = vec![("format", held.format.as_str()), ("issuer", held.issuer.as_str())];
        tags.extend(held.types.iter().map(|t| ("type", t.as_str())));
        check_item("credential id", &held.id)?;
        let tags = entry_tags(&tags)?;
        let bytes = serde_json::to_vec(&held.to_value())
            .map_err(|e| Error::Backend(format!("encoding credential {}: {e}", held.id)))?;
        {
            let _turn = self.write_turn().await;
            let mut session = self.session(holder).await?;
            session
                .insert(CREDENTIAL_CATEGORY, &held.id, &bytes, Some(&tags), None)
                .await
                .map_err(|e| Error::askar(format_args!("credential {} in {holder}", held.id), e))?;
        }
        self.durable().await
    }

    /// The credential `id` of `holder`, if it holds one.
    pub async fn credential(&self, holder: Holder<'_>, id: &str) -> Result<Option<HeldCredential>> {
        self.get_record(holder, CREDENTIAL_CATEGORY, id)
            .await?
            .map(|r| HeldCredential::from_record(r.id, r.value))
            .transpose()
    }

    /// A page of `holder`'s credentials matching `filter`, ascending by id,
    /// starting after the id `after`, at most `limit` (at least one).
    pub async fn credentials(
        &self,
        holder: Holder<'_>,
        filter: &CredentialFilter<'_>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<CredentialPage> {
        let mut tags = Vec::with_capacity(3);
        if let Some(format) = filter.format {
            tags.push(("format", format.as_str()));
        }
        if let Some(issuer) = filter.issuer {
            tags.push(("issuer", issuer));
        }
        if let Some(t) = filter.r#type {
            tags.push(("type", t));
        }
        let mut records = self.find_records(holder, CREDENTIAL_CATEGORY, &tags, None).await?;
        records.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let limit = limit.max(1);
        let start = after.map_or(0, |after| records.partition_point(|r| r.id.as_str() <= after));
        let rest = records.len().saturating_sub(start);
        let items = records
            .into_iter()
            .skip(start)
            .take(limit)
            .map(|r| HeldCredential::from_record(r.id, r.value))
            .collect::<Result<Vec<_>>>()?;
        let next = if rest > limit { items.last().map(|c| c.id.clone()) } else { None };
        Ok(CredentialPage { items, next })
    }

    /// Deletes `holder`'s credential `id`; [`Error::NotFound`] if it holds none.
    pub async fn delete_credential(&self, holder: Holder<'_>, id: &str) -> Result<()> {
        self.delete_record(holder, CREDENTIAL_CATEGORY, id).await
    }
}
