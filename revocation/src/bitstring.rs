//! W3C Bitstring Status List v1.0
//! (<https://www.w3.org/TR/vc-bitstring-status-list/>).
//!
//! - §2.1 `BitstringStatusListEntry`: [`BitstringStatusListEntry`].
//! - §2.2 `BitstringStatusListCredential` and its `credentialSubject`:
//!   [`status_list_credential`], [`BitstringStatusListSubject`].
//! - §3.1 bitstring generation and §3.3 expansion: [`StatusList::encode`],
//!   [`StatusList::decode`]. Entry `i` of `statusSize` bits occupies bits
//!   `i * statusSize ..` counted from the left-most (most significant) bit of
//!   the first byte; a multi-bit value is written most significant bit first.
//!   `encodedList` is multibase base64url without padding (prefix `u`) of the
//!   GZIP-compressed bitstring.
//! - §3.2 validation: [`check_status`]; §3.6 error types:
//!   [`crate::Error::spec_code`].
//!
//! Every list holds at least [`crate::MIN_ENTRIES`] (131,072) entries, the
//! spec's herd-privacy minimum; decoding refuses shorter lists.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::codec::{self, Container};
use crate::{Error, Result, StatusIndex, MIN_ENTRIES};

/// VC Data Model 2.0 base context.
pub const VC_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// `type` of a credential's status entry.
pub const ENTRY_TYPE: &str = "BitstringStatusListEntry";
/// `type` of the list credential's subject.
pub const SUBJECT_TYPE: &str = "BitstringStatusList";
/// Second `type` of the list credential.
pub const CREDENTIAL_TYPE: &str = "BitstringStatusListCredential";

/// Largest list accepted: what fits in the decompression cap at one bit each.
const MAX_BITS: usize = codec::MAX_DECOMPRESSED_BYTES * 8;

/// `statusPurpose` (§2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum StatusPurpose {
    /// Irreversible cancellation.
    Revocation,
    /// Reversible, temporary invalidity.
    Suspension,
    /// Arbitrary messages chosen by `statusMessage` (`statusSize` > 1).
    Message,
}

impl StatusPurpose {
    /// The JSON string.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusPurpose::Revocation => "revocation",
            StatusPurpose::Suspension => "suspension",
            StatusPurpose::Message => "message",
        }
    }
}

impl std::fmt::Display for StatusPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bits per entry (`statusSize`, §2.1), 1 to 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusSize(u8);

impl StatusSize {
    /// One bit per entry, the default.
    pub const ONE: StatusSize = StatusSize(1);

    /// Checks `1..=8`.
    pub fn new(bits: u8) -> Result<Self> {
        if (1..=8).contains(&bits) {
            Ok(Self(bits))
        } else {
            Err(Error::InvalidStatusSize(bits))
        }
    }

    /// Bits per entry.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// A bitstring of statuses (§3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    size: StatusSize,
    entries: usize,
    bytes: Vec<u8>,
}

impl StatusList {
    /// An all-zero list of `entries` entries (at least [`MIN_ENTRIES`]).
    pub fn new(entries: usize, size: StatusSize) -> Result<Self> {
        if entries < MIN_ENTRIES {
            return Err(Error::ListTooShort { entries, minimum: MIN_ENTRIES });
        }
        let bits = entries.saturating_mul(size.0 as usize);
        if bits > MAX_BITS {
            return Err(Error::ListTooLong { entries, maximum: MAX_BITS / size.0 as usize });
        }
        Ok(Self { size, entries, bytes: vec![0; bits.div_ceil(8)] })
    }

    /// The minimum list: 131,072 one-bit entries, 16 KiB.
    pub fn minimum() -> Self {
        Self { size: StatusSize::ONE, entries: MIN_ENTRIES, bytes: vec![0; MIN_ENTRIES / 8] }
    }

    /// Entries in the list.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Always false: a list has at least [`MIN_ENTRIES`] entries.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Bits per entry.
    pub fn status_size(&self) -> StatusSize {
        self.size
    }

    /// The uncompressed bitstring.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn check_index(&self, index: StatusIndex) -> Result<usize> {
        let i = index.as_usize();
        if i >= self.entries {
            return Err(Error::IndexOutOfRange { index, entries: self.entries });
        }
        Ok(i * self.size.0 as usize)
    }

    /// The status at `index`.
    pub fn get(&self, index: StatusIndex) -> Result<u8> {
        let start = self.check_index(index)?;
        let mut value = 0u8;
        for bit in start..start + self.size.0 as usize {
            let set = self.bytes[bit / 8] & (0x80 >> (bit % 8)) != 0;
            value = (value << 1) | u8::from(set);
        }
        Ok(value)
    }

    /// Sets the status at `index`.
    pub fn set(&mut self, index: StatusIndex, value: u8) -> Result<()> {
        let start = self.check_index(index)?;
        let width = self.size.0;
        if width < 8 && value >> width != 0 {
            return Err(Error::ValueTooLarge { value, bits: width });
        }
        for (k, bit) in (start..start + width as usize).enumerate() {
            let mask = 0x80u8 >> (bit % 8);
            if value & (1 << (width as usize - 1 - k)) != 0 {
                self.bytes[bit / 8] |= mask;
            } else {
                self.bytes[bit / 8] &= !mask;
            }
        }
        Ok(())
    }

    /// `encodedList`: `u` + base64url (no padding) of the GZIP-compressed
    /// bitstring (§3.1 step 4, §2.2).
    pub fn encode(&self) -> Result<String> {
        let body = codec::compress_encode(&self.bytes, Container::Gzip)?;
        Ok(format!("u{body}"))
    }

    /// Expands an `encodedList` (§3.3), refusing malformed multibase, bad
    /// GZIP, lists above the decompression cap and lists with fewer than
    /// [`MIN_ENTRIES`] entries of `size` bits.
    pub fn decode(encoded: &str, size: StatusSize) -> Result<Self> {
        let body = encoded.strip_prefix('u').ok_or(Error::MissingMultibasePrefix)?;
        let bytes = codec::decode_decompress(body, Container::Gzip)?;
        let entries = bytes.len() * 8 / size.0 as usize;
        if entries < MIN_ENTRIES {
            return Err(Error::ListTooShort { entries, minimum: MIN_ENTRIES });
        }
        Ok(Self { size, entries, bytes })
    }
}

/// One `statusMessage` item (§2.1): the message for a status value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusMessage {
    /// The value as a hexadecimal string with `0x` prefix, e.g. `"0x1"`.
    pub status: String,
    /// What the value means.
    pub message: String,
}

/// A credential's `credentialStatus` entry (§2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BitstringStatusListEntry {
    /// `{statusListCredential}#{index}` when built here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Always [`ENTRY_TYPE`]; checked by [`check_status`].
    #[serde(rename = "type")]
    pub kind: String,
    /// What a set bit means.
    pub status_purpose: StatusPurpose,
    /// Position in the list, a decimal string on the wire.
    #[serde(with = "crate::index_as_string")]
    pub status_list_index: StatusIndex,
    /// URL of the `BitstringStatusListCredential`.
    pub status_list_credential: String,
    /// Bits per entry; absent means 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_size: Option<u8>,
    /// Meaning of each value; required by the spec when `statusSize` > 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<Vec<StatusMessage>>,
}

impl BitstringStatusListEntry {
    /// A one-bit entry for `index` in the list credential at `list_url`.
    pub fn new(list_url: &str, purpose: StatusPurpose, index: StatusIndex) -> Self {
        Self {
            id: Some(format!("{list_url}#{index}")),
            kind: ENTRY_TYPE.to_owned(),
            status_purpose: purpose,
            status_list_index: index,
            status_list_credential: list_url.to_owned(),
            status_size: None,
            status_message: None,
        }
    }

    /// A multi-bit entry with its messages (§2.1 `statusSize`,
    /// `statusMessage`).
    pub fn with_messages(mut self, size: StatusSize, messages: Vec<StatusMessage>) -> Self {
        self.status_size = Some(size.get());
        self.status_message = Some(messages);
        self
    }

    /// The entry as JSON, ready to place under `credentialStatus`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads an entry from a credential's `credentialStatus` item.
    pub fn from_json(value: &Value) -> Result<Self> {
        serde_json::from_value(value.clone())
            .map_err(|e| Error::Malformed { what: "BitstringStatusListEntry", detail: e.to_string() })
    }

    /// `statusSize`, defaulting to 1.
    pub fn size(&self) -> Result<StatusSize> {
        StatusSize::new(self.status_size.unwrap_or(1))
    }
}

/// The list credential's `credentialSubject` (§2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BitstringStatusListSubject {
    /// Subject id, `{list_url}#list` when built here.
    pub id: String,
    /// Always [`SUBJECT_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// What the list's set bits mean.
    pub status_purpose: StatusPurpose,
    /// The compressed bitstring.
    pub encoded_list: String,
    /// Cache hint in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
}

/// Inputs for [`status_list_credential`].
#[derive(Debug, Clone)]
pub struct ListCredential<'a> {
    /// URL the credential is served at; also its `id`.
    pub url: &'a str,
    /// Issuer DID.
    pub issuer: &'a str,
    /// Purpose of every entry in the list.
    pub purpose: StatusPurpose,
    /// `validFrom`, usually the publication time.
    pub valid_from: OffsetDateTime,
    /// Optional `validUntil`.
    pub valid_until: Option<OffsetDateTime>,
    /// Optional `ttl` (milliseconds).
    pub ttl: Option<u64>,
}

fn rfc3339(t: OffsetDateTime) -> Result<String> {
    t.format(&Rfc3339).map_err(|e| Error::Timestamp(e.to_string()))
}

/// The unsigned `BitstringStatusListCredential` (§2.2) for `list`. The
/// caller secures it (Data Integrity proof) before publishing.
pub fn status_list_credential(params: &ListCredential<'_>, list: &StatusList) -> Result<Value> {
    let subject = BitstringStatusListSubject {
        id: format!("{}#list", params.url),
        kind: SUBJECT_TYPE.to_owned(),
        status_purpose: params.purpose,
        encoded_list: list.encode()?,
        ttl: params.ttl,
    };
    let mut vc = json!({
        "@context": [VC_V2_CONTEXT],
        "id": params.url,
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": params.issuer,
        "validFrom": rfc3339(params.valid_from)?,
        "credentialSubject": serde_json::to_value(&subject).map_err(|e| Error::Malformed {
            what: "BitstringStatusList",
            detail: e.to_string(),
        })?,
    });
    if let (Some(until), Some(obj)) = (params.valid_until, vc.as_object_mut()) {
        obj.insert("validUntil".into(), Value::String(rfc3339(until)?));
    }
    Ok(vc)
}

/// The outcome of [`check_status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCheck {
    /// The purpose checked.
    pub purpose: StatusPurpose,
    /// The value at the entry's index.
    pub value: u8,
    /// The matching `statusMessage`, if the entry has messages.
    pub message: Option<String>,
}

impl StatusCheck {
    /// True when the value is non-zero: revoked for `revocation`,
    /// suspended for `suspension`.
    pub fn is_set(&self) -> bool {
        self.value != 0
    }
}

/// Validates a credential's entry against its list credential's subject
/// (§3.2): types, purpose match, minimum length, index range, then reads
/// the status. Securing-mechanism checks on the list credential (proof,
/// validity period) are the verifier's.
pub fn check_status(entry: &BitstringStatusListEntry, subject: &BitstringStatusListSubject) -> Result<StatusCheck> {
    if entry.kind != ENTRY_TYPE {
        return Err(Error::WrongType { expected: ENTRY_TYPE, found: entry.kind.clone() });
    }
    if subject.kind != SUBJECT_TYPE {
        return Err(Error::WrongType { expected: SUBJECT_TYPE, found: subject.kind.clone() });
    }
    if entry.status_purpose != subject.status_purpose {
        return Err(Error::PurposeMismatch {
            entry: entry.status_purpose.to_string(),
            list: subject.status_purpose.to_string(),
        });
    }
    let list = StatusList::decode(&subject.encoded_list, entry.size()?)?;
    let value = list.get(entry.status_list_index)?;
    let message = entry
        .status_message
        .as_ref()
        .and_then(|messages| messages.iter().find(|m| parse_hex(&m.status) == Some(value)).map(|m| m.message.clone()));
    Ok(StatusCheck { purpose: entry.status_purpose, value, message })
}

/// Like [`check_status`], taking the whole list credential and checking it
/// is the one the entry names (`id` equals `statusListCredential`).
pub fn check_status_in_credential(entry: &BitstringStatusListEntry, credential: &Value) -> Result<StatusCheck> {
    let id = credential
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Malformed { what: "BitstringStatusListCredential", detail: "missing id".into() })?;
    if id != entry.status_list_credential {
        return Err(Error::CredentialMismatch { expected: entry.status_list_credential.clone(), found: id.to_owned() });
    }
    let subject = credential.get("credentialSubject").ok_or_else(|| Error::Malformed {
        what: "BitstringStatusListCredential",
        detail: "missing credentialSubject".into(),
    })?;
    let subject: BitstringStatusListSubject = serde_json::from_value(subject.clone())
        .map_err(|e| Error::Malformed { what: "BitstringStatusList", detail: e.to_string() })?;
    check_status(entry, &subject)
}

fn parse_hex(s: &str) -> Option<u8> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    u8::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use std::io::Write;

    fn idx(i: u32) -> StatusIndex {
        StatusIndex::new(i)
    }

    fn gzip_b64(bytes: &[u8]) -> String {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        let gz = enc.finish().unwrap();
        format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(gz))
    }

    #[test]
    fn index_zero_is_left_most_bit_of_first_byte() {
        let mut list = StatusList::minimum();
        list.set(idx(0), 1).unwrap();
        list.set(idx(7), 1).unwrap();
        list.set(idx(10), 1).unwrap();
        // 1000_0001 0010_0000
        assert_eq!(&list.as_bytes()[..2], &[0x81, 0x20]);
        assert_eq!(list.get(idx(0)).unwrap(), 1);
        assert_eq!(list.get(idx(1)).unwrap(), 0);
        list.set(idx(0), 0).unwrap();
        assert_eq!(list.as_bytes()[0], 0x01);
    }

    #[test]
    fn multi_bit_entries_are_msb_first_and_cross_bytes() {
        let mut list = StatusList::new(MIN_ENTRIES, StatusSize::new(3).unwrap()).unwrap();
        list.set(idx(0), 0b101).unwrap();
        list.set(idx(2), 0b111).unwrap(); // bits 6,7,8: crosses into byte 1
                                          // 101 000 11 | 1 0000000
        assert_eq!(&list.as_bytes()[..2], &[0b1010_0011, 0b1000_0000]);
        assert_eq!(list.get(idx(0)).unwrap(), 5);
        assert_eq!(list.get(idx(1)).unwrap(), 0);
        assert_eq!(list.get(idx(2)).unwrap(), 7);
        assert!(matches!(list.set(idx(1), 8), Err(Error::ValueTooLarge { value: 8, bits: 3 })));
    }

    #[test]
    fn minimum_size_enforced() {
        assert_eq!(StatusList::minimum().as_bytes().len(), 16 * 1024);
        assert!(matches!(StatusList::new(MIN_ENTRIES - 1, StatusSize::ONE), Err(Error::ListTooShort { .. })));
        // A valid encoding of a short (1 KiB) list is refused.
        let short = gzip_b64(&[0u8; 1024]);
        let err = StatusList::decode(&short, StatusSize::ONE).unwrap_err();
        assert!(matches!(err, Error::ListTooShort { entries: 8192, minimum: MIN_ENTRIES }));
        assert_eq!(err.spec_code(), "STATUS_LIST_LENGTH_ERROR");
        // 16 KiB is enough for 1-bit entries but not for 2-bit ones.
        let exact = gzip_b64(&[0u8; 16 * 1024]);
        assert!(StatusList::decode(&exact, StatusSize::ONE).is_ok());
        assert!(matches!(StatusList::decode(&exact, StatusSize::new(2).unwrap()), Err(Error::ListTooShort { .. })));
        assert!(matches!(StatusSize::new(0), Err(Error::InvalidStatusSize(0))));
        assert!(matches!(StatusSize::new(9), Err(Error::InvalidStatusSize(9))));
    }

    #[test]
    fn encode_decode_round_trip() {
        let mut list = StatusList::minimum();
        for i in [0u32, 1, 4242, 65_535, 131_071] {
            list.set(idx(i), 1).unwrap();
        }
        let encoded = list.encode().unwrap();
        assert!(encoded.starts_with('u'));
        assert!(!encoded.contains('='));
        let body = &encoded[1..];
        let gz = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).unwrap();
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "GZIP magic");
        let back = StatusList::decode(&encoded, StatusSize::ONE).unwrap();
        assert_eq!(back, list);
        assert!(matches!(list.get(idx(131_072)), Err(Error::IndexOutOfRange { .. })));
    }

    #[test]
    fn malformed_encodings_refused() {
        let good = StatusList::minimum().encode().unwrap();
        assert_eq!(StatusList::decode(&good[1..], StatusSize::ONE), Err(Error::MissingMultibasePrefix));
        assert_eq!(
            StatusList::decode(&format!("z{}", &good[1..]), StatusSize::ONE),
            Err(Error::MissingMultibasePrefix)
        );
        assert_eq!(StatusList::decode("u!!!not base64", StatusSize::ONE), Err(Error::MalformedBase64));
        let not_gzip =
            format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b"plain bytes, not gzip"));
        assert_eq!(StatusList::decode(&not_gzip, StatusSize::ONE), Err(Error::MalformedCompression("GZIP")));
        // Truncated GZIP stream.
        let gz = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&good[1..]).unwrap();
        let truncated = format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&gz[..gz.len() / 2]));
        assert_eq!(StatusList::decode(&truncated, StatusSize::ONE), Err(Error::MalformedCompression("GZIP")));
    }

    #[test]
    fn decompression_bomb_refused() {
        // 17 MiB of zeros compresses to ~17 KiB.
        let bomb = gzip_b64(&vec![0u8; 17 * 1024 * 1024]);
        assert!(bomb.len() < 64 * 1024);
        assert_eq!(
            StatusList::decode(&bomb, StatusSize::ONE),
            Err(Error::TooLarge { limit: codec::MAX_DECOMPRESSED_BYTES })
        );
    }

    fn list_url() -> &'static str {
        "https://issuer.example/status/3"
    }

    #[test]
    fn credential_and_entry_shapes() {
        let mut list = StatusList::minimum();
        list.set(idx(94_567), 1).unwrap();
        let valid_from = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let vc = status_list_credential(
            &ListCredential {
                url: list_url(),
                issuer: "did:idelta:acme",
                purpose: StatusPurpose::Revocation,
                valid_from,
                valid_until: None,
                ttl: None,
            },
            &list,
        )
        .unwrap();
        assert_eq!(vc["@context"], json!([VC_V2_CONTEXT]));
        assert_eq!(vc["type"], json!(["VerifiableCredential", "BitstringStatusListCredential"]));
        assert_eq!(vc["id"], list_url());
        assert_eq!(vc["validFrom"], "2023-11-14T22:13:20Z");
        assert!(vc.get("validUntil").is_none());
        let subject = &vc["credentialSubject"];
        assert_eq!(subject["id"], format!("{}#list", list_url()));
        assert_eq!(subject["type"], "BitstringStatusList");
        assert_eq!(subject["statusPurpose"], "revocation");
        assert!(subject["encodedList"].as_str().unwrap().starts_with('u'));

        let entry = BitstringStatusListEntry::new(list_url(), StatusPurpose::Revocation, idx(94_567));
        let json = entry.to_json();
        assert_eq!(
            json,
            json!({
                "id": "https://issuer.example/status/3#94567",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "94567",
                "statusListCredential": "https://issuer.example/status/3"
            })
        );
        assert_eq!(BitstringStatusListEntry::from_json(&json).unwrap(), entry);

        let check = check_status_in_credential(&entry, &vc).unwrap();
        assert!(check.is_set());
        let other = BitstringStatusListEntry::new(list_url(), StatusPurpose::Revocation, idx(1));
        assert!(!check_status_in_credential(&other, &vc).unwrap().is_set());
    }

    #[test]
    fn checker_errors_are_named() {
        let list = StatusList::minimum();
        let subject = BitstringStatusListSubject {
            id: format!("{}#list", list_url()),
            kind: SUBJECT_TYPE.into(),
            status_purpose: StatusPurpose::Suspension,
            encoded_list: list.encode().unwrap(),
            ttl: None,
        };
        let entry = BitstringStatusListEntry::new(list_url(), StatusPurpose::Revocation, idx(5));
        let err = check_status(&entry, &subject).unwrap_err();
        assert!(matches!(err, Error::PurposeMismatch { .. }));
        assert_eq!(err.spec_code(), "STATUS_VERIFICATION_ERROR");

        let far = BitstringStatusListEntry::new(list_url(), StatusPurpose::Suspension, idx(200_000));
        let err = check_status(&far, &subject).unwrap_err();
        assert!(matches!(err, Error::IndexOutOfRange { .. }));
        assert_eq!(err.spec_code(), "RANGE_ERROR");

        let mut wrong = BitstringStatusListEntry::new(list_url(), StatusPurpose::Suspension, idx(1));
        wrong.kind = "StatusList2021Entry".into();
        assert!(matches!(check_status(&wrong, &subject), Err(Error::WrongType { .. })));

        let bad_index = json!({
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": 5,
            "statusListCredential": list_url()
        });
        assert!(matches!(BitstringStatusListEntry::from_json(&bad_index), Err(Error::Malformed { .. })));

        let vc = json!({"id": "https://elsewhere.example/1", "credentialSubject": subject});
        let ok = BitstringStatusListEntry::new(list_url(), StatusPurpose::Suspension, idx(1));
        assert!(matches!(check_status_in_credential(&ok, &vc), Err(Error::CredentialMismatch { .. })));
    }

    #[test]
    fn status_messages_for_multi_bit_entries() {
        let size = StatusSize::new(2).unwrap();
        let mut list = StatusList::new(MIN_ENTRIES, size).unwrap();
        list.set(idx(9), 2).unwrap();
        let subject = BitstringStatusListSubject {
            id: format!("{}#list", list_url()),
            kind: SUBJECT_TYPE.into(),
            status_purpose: StatusPurpose::Message,
            encoded_list: list.encode().unwrap(),
            ttl: None,
        };
        let messages = ["pending", "accepted", "rejected", "undefined"]
            .iter()
            .enumerate()
            .map(|(i, m)| StatusMessage { status: format!("0x{i:x}"), message: (*m).into() })
            .collect();
        let entry =
            BitstringStatusListEntry::new(list_url(), StatusPurpose::Message, idx(9)).with_messages(size, messages);
        assert_eq!(entry.to_json()["statusSize"], 2);
        let check = check_status(&entry, &subject).unwrap();
        assert_eq!(check.value, 2);
        assert_eq!(check.message.as_deref(), Some("rejected"));
    }
}
