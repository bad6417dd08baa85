//! Revocation for idelta (design.md §6; issue 4, item 5).
//!
//! Two status-list formats, one per credential family:
//!
//! - [`bitstring`]: W3C [Bitstring Status List v1.0]
//!   (<https://www.w3.org/TR/vc-bitstring-status-list/>) for Data Integrity
//!   credentials: §2.1 `BitstringStatusListEntry`, §2.2
//!   `BitstringStatusListCredential`, §3.1 bitstring generation, §3.2
//!   validation, §3.3 bitstring expansion, §3.6 processing errors.
//! - [`token_status`]: IETF Token Status List
//!   (<https://datatracker.ietf.org/doc/draft-ietf-oauth-status-list/>) for
//!   SD-JWT VC: §4 status list, §5 Status List Token, §6 referenced token,
//!   §7 status types.
//!
//! Around both: [`allocate`] hands out indexes at random without reuse, so a
//! credential's position says nothing about when it was issued; [`batch`]
//! keeps updates pending until the caller confirms publication, so a
//! revocation is never lost when publishing fails.
//!
//! This is a domain crate: no I/O, no clock, no global randomness. Time and
//! random number generators are parameters. Publishing a list (ledger
//! `object.put` of kind `statusList`) and serving it over HTTP belong to the
//! agent.

pub mod allocate;
pub mod batch;
pub mod bitstring;
mod codec;
mod error;
pub mod token_status;

use std::fmt;
use std::str::FromStr;

pub use allocate::IndexAllocator;
pub use batch::{BatchId, PendingUpdates, Prepared, StatusTarget};
pub use bitstring::{BitstringStatusListEntry, BitstringStatusListSubject, StatusCheck, StatusList, StatusPurpose};
pub use error::{Error, Result};
pub use token_status::{StatusListToken, TokenStatus, TokenStatusList};

/// The herd-privacy minimum: 131,072 entries (16 KiB at one bit each), the
/// Bitstring Status List v1.0 §3.1 minimum, applied to every list idelta
/// issues in either format.
pub const MIN_ENTRIES: usize = 131_072;

/// Position of a credential's status in a list. Parsed, never validated
/// after the fact: any value is a non-negative integer below 2^32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusIndex(u32);

impl StatusIndex {
    /// Wraps an index.
    pub const fn new(index: u32) -> Self {
        Self(index)
    }

    /// The index as an integer.
    pub const fn get(self) -> u32 {
        self.0
    }

    pub(crate) fn as_usize(self) -> usize {
        self.0 as usize
    }
}

impl From<u32> for StatusIndex {
    fn from(index: u32) -> Self {
        Self(index)
    }
}

impl fmt::Display for StatusIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for StatusIndex {
    type Err = Error;

    /// Decimal digits only: no sign, no whitespace, no leading `+`
    /// (Bitstring Status List §2.1 `statusListIndex` is "an arbitrary size
    /// integer ... expressed as a string").
    fn from_str(s: &str) -> Result<Self> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidIndex(s.to_owned()));
        }
        s.parse::<u32>().map(Self).map_err(|_| Error::InvalidIndex(s.to_owned()))
    }
}

/// Serialises as a JSON number (Token Status List `idx`).
impl serde::Serialize for StatusIndex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for StatusIndex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        u32::deserialize(d).map(Self)
    }
}

/// Serde helper writing a [`StatusIndex`] as a decimal string (Bitstring
/// Status List `statusListIndex`).
pub(crate) mod index_as_string {
    use super::StatusIndex;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(index: &StatusIndex, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(index)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<StatusIndex, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_index_parses_digits_only() {
        assert_eq!("0".parse::<StatusIndex>().unwrap(), StatusIndex::new(0));
        assert_eq!("131071".parse::<StatusIndex>().unwrap(), StatusIndex::new(131_071));
        for bad in ["", "-1", "+1", " 1", "1.0", "0x10", "4294967296"] {
            assert!(matches!(bad.parse::<StatusIndex>(), Err(Error::InvalidIndex(_))), "{bad:?}");
        }
    }
}
