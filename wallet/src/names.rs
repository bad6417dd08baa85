//! The names this crate accepts, checked once at the edge of each call.
//!
//! Company ids become file and database names, so they are restricted to
//! `[a-z0-9-]{1,64}`. Sub-wallet names are chosen by the caller (employee
//! or device ids) and become askar profile names behind a `sub:` prefix,
//! so that no sub-wallet can ever take the company's own profile name.

use crate::error::{Error, Result};

/// Name of the askar profile holding the company's own keys and records
/// (the store's default profile).
pub(crate) const COMPANY_PROFILE: &str = "company";
/// Prefix of every sub-wallet profile name.
const SUB_PREFIX: &str = "sub:";
/// Longest company id.
pub(crate) const MAX_COMPANY_LEN: usize = 64;
/// Longest sub-wallet name.
const MAX_SUB_LEN: usize = 128;

/// A validated company id: `[a-z0-9-]{1,64}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CompanyId(String);

impl CompanyId {
    pub(crate) fn parse(text: &str) -> Result<CompanyId> {
        let ok = !text.is_empty()
            && text.len() <= MAX_COMPANY_LEN
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(CompanyId(text.to_owned()))
        } else {
            Err(Error::InvalidName(format!("company id {text:?} must match [a-z0-9-]{{1,64}}")))
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The askar profile of sub-wallet `name`, after checking that the name is
/// 1 to 128 characters of `[A-Za-z0-9._~:@-]`.
pub(crate) fn sub_profile(name: &str) -> Result<String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_SUB_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~:@-".contains(&b));
    if ok {
        Ok(format!("{SUB_PREFIX}{name}"))
    } else {
        Err(Error::InvalidName(format!("sub-wallet name {name:?} must match [A-Za-z0-9._~:@-]{{1,128}}")))
    }
}

/// The sub-wallet name of an askar profile, if it is a sub-wallet profile.
pub(crate) fn sub_name(profile: &str) -> Option<&str> {
    profile.strip_prefix(SUB_PREFIX)
}

/// Checks a record category or id: non-empty, at most 1024 bytes.
pub(crate) fn check_item(kind: &str, text: &str) -> Result<()> {
    if text.is_empty() || text.len() > 1024 {
        return Err(Error::InvalidName(format!("{kind} must be 1 to 1024 bytes")));
    }
    Ok(())
}

/// Checks a tag name: non-empty and not starting with `~` (askar reserves
/// that prefix for plaintext tags, which a query would then look for in
/// the wrong place).
pub(crate) fn check_tag_name(name: &str) -> Result<()> {
    if name.is_empty() || name.starts_with('~') || name.len() > 256 {
        return Err(Error::InvalidName(format!("tag name {name:?} must be 1 to 256 bytes and not start with '~'")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_ids() {
        for ok in ["a", "acme", "acme-2", &"a".repeat(64)] {
            assert!(CompanyId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Acme", "acme_2", "a/b", "../x", "a.b", &"a".repeat(65), "ü"] {
            assert!(matches!(CompanyId::parse(bad), Err(Error::InvalidName(_))), "{bad}");
        }
    }

    #[test]
    fn sub_wallet_names_cannot_reach_the_company_profile() {
        assert_eq!(sub_profile("company").unwrap(), "sub:company");
        assert_eq!(sub_name("sub:alice@acme"), Some("alice@acme"));
        assert_eq!(sub_name(COMPANY_PROFILE), None);
        for bad in ["", "a b", "a/b", "ü", &"x".repeat(129)] {
            assert!(sub_profile(bad).is_err(), "{bad}");
        }
        assert!(sub_profile("3f2c-uuid.device:7").is_ok());
    }

    #[test]
    fn tag_names() {
        assert!(check_tag_name("method").is_ok());
        assert!(check_tag_name("~plain").is_err());
        assert!(check_tag_name("").is_err());
    }
}
