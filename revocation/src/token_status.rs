//! IETF Token Status List
//! (<https://datatracker.ietf.org/doc/draft-ietf-oauth-status-list/>), the
//! status mechanism of SD-JWT VC.
//!
//! - §4.1 status list: `bits` ∈ {1, 2, 4, 8}; status `i` occupies bits
//!   `i * bits ..` counted from the least significant bit of byte 0 (the
//!   draft's figures: statuses `[1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1]` are bytes
//!   `B9 A3`); §4.2 JSON form `{bits, lst}` where `lst` is base64url without
//!   padding of the ZLIB (RFC 1950) compressed bytes, highest compression
//!   recommended.
//! - §5.1 Status List Token in JWT format: header `typ` `statuslist+jwt`;
//!   claims `sub`, `iat`, optional `exp` and `ttl`, `status_list`. Signing is
//!   the issuer crate's.
//! - §6.2 referenced token: the `status` claim
//!   `{ "status_list": { "idx", "uri" } }`.
//! - §7 status types: VALID 0x00, INVALID 0x01, SUSPENDED 0x02.
//!
//! idelta issues lists of at least [`crate::MIN_ENTRIES`] entries
//! ([`TokenStatusList::new`]); decoding accepts any size up to the
//! decompression cap, because the draft sets no minimum.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::codec::{self, Container};
use crate::{Error, Result, StatusIndex, MIN_ENTRIES};

/// JWT `typ` of a Status List Token (§5.1).
pub const STATUS_LIST_JWT_TYP: &str = "statuslist+jwt";
/// Media type of a Status List Token in JWT format (§8.2).
pub const STATUS_LIST_JWT_MEDIA_TYPE: &str = "application/statuslist+jwt";

/// A status value (§7.1). Values 3 and above are application-specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenStatus(pub u8);

impl TokenStatus {
    /// 0x00: the token is valid.
    pub const VALID: TokenStatus = TokenStatus(0);
    /// 0x01: revoked; irreversible.
    pub const INVALID: TokenStatus = TokenStatus(1);
    /// 0x02: temporarily invalid; reversible.
    pub const SUSPENDED: TokenStatus = TokenStatus(2);
}

/// Bits per status (§4.1): 1, 2, 4 or 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Bits(u8);

impl Bits {
    /// One bit: VALID or INVALID only.
    pub const ONE: Bits = Bits(1);
    /// Two bits: room for SUSPENDED.
    pub const TWO: Bits = Bits(2);

    /// The count.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Bits {
    type Error = Error;

    fn try_from(bits: u8) -> Result<Self> {
        match bits {
            1 | 2 | 4 | 8 => Ok(Bits(bits)),
            other => Err(Error::InvalidBits(other)),
        }
    }
}

impl From<Bits> for u8 {
    fn from(b: Bits) -> u8 {
        b.0
    }
}

/// The JSON status list object `{bits, lst}` (§4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListJson {
    /// Bits per status.
    pub bits: Bits,
    /// base64url(ZLIB(bytes)), no padding.
    pub lst: String,
}

/// A byte array of statuses (§4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStatusList {
    bits: Bits,
    entries: usize,
    bytes: Vec<u8>,
}

impl TokenStatusList {
    /// An all-VALID list of [`MIN_ENTRIES`] statuses: what idelta issues.
    pub fn new(bits: Bits) -> Self {
        Self::zeroed(bits, MIN_ENTRIES)
    }

    /// An all-VALID list of `entries` statuses, at least [`MIN_ENTRIES`].
    pub fn with_len(bits: Bits, entries: usize) -> Result<Self> {
        if entries < MIN_ENTRIES {
            return Err(Error::ListTooShort { entries, minimum: MIN_ENTRIES });
        }
        let bytes = (entries.saturating_mul(bits.0 as usize)).div_ceil(8);
        if bytes > codec::MAX_DECOMPRESSED_BYTES {
            return Err(Error::ListTooLong { entries, maximum: codec::MAX_DECOMPRESSED_BYTES * 8 / bits.0 as usize });
        }
        Ok(Self::zeroed(bits, entries))
    }

    fn zeroed(bits: Bits, entries: usize) -> Self {
        Self { bits, entries, bytes: vec![0; (entries * bits.0 as usize).div_ceil(8)] }
    }

    /// A list over raw bytes: `bytes.len() * 8 / bits` statuses. No
    /// minimum: for reading others' lists and the draft's examples.
    pub fn from_bytes(bits: Bits, bytes: Vec<u8>) -> Result<Self> {
        if bytes.len() > codec::MAX_DECOMPRESSED_BYTES {
            return Err(Error::TooLarge { limit: codec::MAX_DECOMPRESSED_BYTES });
        }
        Ok(Self { bits, entries: bytes.len() * 8 / bits.0 as usize, bytes })
    }

    /// Bits per status.
    pub fn bits(&self) -> Bits {
        self.bits
    }

    /// Statuses in the list.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True for a list of no statuses (only possible via `from_bytes`).
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The uncompressed byte array.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn locate(&self, index: StatusIndex) -> Result<(usize, u32)> {
        let i = index.as_usize();
        if i >= self.entries {
            return Err(Error::IndexOutOfRange { index, entries: self.entries });
        }
        let bit = i * self.bits.0 as usize;
        Ok((bit / 8, (bit % 8) as u32))
    }

    fn mask(&self) -> u8 {
        if self.bits.0 == 8 {
            0xff
        } else {
            (1u8 << self.bits.0) - 1
        }
    }

    /// The status at `index`.
    pub fn get(&self, index: StatusIndex) -> Result<TokenStatus> {
        let (byte, shift) = self.locate(index)?;
        Ok(TokenStatus((self.bytes[byte] >> shift) & self.mask()))
    }

    /// Sets the status at `index`.
    pub fn set(&mut self, index: StatusIndex, status: TokenStatus) -> Result<()> {
        let (byte, shift) = self.locate(index)?;
        let mask = self.mask();
        if status.0 & !mask != 0 {
            return Err(Error::ValueTooLarge { value: status.0, bits: self.bits.0 });
        }
        self.bytes[byte] = (self.bytes[byte] & !(mask << shift)) | (status.0 << shift);
        Ok(())
    }

    /// `lst`: base64url (no padding) of the ZLIB-compressed bytes (§4.2).
    pub fn encode_lst(&self) -> Result<String> {
        codec::compress_encode(&self.bytes, Container::Zlib)
    }

    /// The JSON status list object `{bits, lst}`.
    pub fn to_json(&self) -> Result<StatusListJson> {
        Ok(StatusListJson { bits: self.bits, lst: self.encode_lst()? })
    }

    /// Decodes `lst`, refusing bad base64url, bad ZLIB and lists above the
    /// decompression cap.
    pub fn decode(bits: Bits, lst: &str) -> Result<Self> {
        let bytes = codec::decode_decompress(lst, Container::Zlib)?;
        Self::from_bytes(bits, bytes)
    }

    /// Decodes the JSON status list object.
    pub fn from_json(list: &StatusListJson) -> Result<Self> {
        Self::decode(list.bits, &list.lst)
    }
}

/// Claims and header of an unsigned Status List Token (§5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListToken {
    /// Issuer, when the referenced tokens carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// URI of this status list; equals the referenced tokens' `uri`.
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expiry, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Seconds a relying party may cache the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// The list.
    pub status_list: StatusListJson,
}

impl StatusListToken {
    /// Claims for `list`, served at `uri`, issued at `now`.
    pub fn new(uri: &str, list: &TokenStatusList, now: OffsetDateTime) -> Result<Self> {
        Ok(Self {
            iss: None,
            sub: uri.to_owned(),
            iat: now.unix_timestamp(),
            exp: None,
            ttl: None,
            status_list: list.to_json()?,
        })
    }

    /// Sets `exp`.
    pub fn expires(mut self, exp: OffsetDateTime) -> Self {
        self.exp = Some(exp.unix_timestamp());
        self
    }

    /// Sets `ttl` in seconds.
    pub fn ttl(mut self, seconds: u64) -> Self {
        self.ttl = Some(seconds);
        self
    }

    /// Sets `iss`.
    pub fn issuer(mut self, iss: &str) -> Self {
        self.iss = Some(iss.to_owned());
        self
    }

    /// The JOSE header to sign with: `typ` `statuslist+jwt`, plus `alg` and
    /// `kid` chosen by the signer.
    pub fn header(alg: &str, kid: &str) -> Value {
        json!({ "alg": alg, "kid": kid, "typ": STATUS_LIST_JWT_TYP })
    }

    /// The claims as JSON.
    pub fn claims(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// `status_list` member of a referenced token's `status` claim (§6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListReference {
    /// Index in the list.
    pub idx: StatusIndex,
    /// URI of the Status List Token.
    pub uri: String,
}

/// The `status` claim of a referenced token (§6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusClaim {
    /// The status list reference.
    pub status_list: StatusListReference,
}

impl StatusClaim {
    /// `{"status_list": {"idx": index, "uri": uri}}`.
    pub fn new(uri: &str, index: StatusIndex) -> Self {
        Self { status_list: StatusListReference { idx: index, uri: uri.to_owned() } }
    }

    /// The claim as JSON, to place under `status`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(i: u32) -> StatusIndex {
        StatusIndex::new(i)
    }

    fn list_of(bits: Bits, statuses: &[u8]) -> TokenStatusList {
        let len = (statuses.len() * bits.0 as usize).div_ceil(8);
        let mut list = TokenStatusList::from_bytes(bits, vec![0; len]).unwrap();
        for (i, &s) in statuses.iter().enumerate() {
            list.set(idx(i as u32), TokenStatus(s)).unwrap();
        }
        list
    }

    /// draft-ietf-oauth-status-list §4.1 (1-bit example).
    #[test]
    fn draft_example_one_bit() {
        let statuses = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
        let list = list_of(Bits::ONE, &statuses);
        assert_eq!(list.as_bytes(), &[0xB9, 0xA3]);
        assert_eq!(list.encode_lst().unwrap(), "eNrbuRgAAhcBXQ");
        let back = TokenStatusList::decode(Bits::ONE, "eNrbuRgAAhcBXQ").unwrap();
        assert_eq!(back.as_bytes(), &[0xB9, 0xA3]);
        for (i, &s) in statuses.iter().enumerate() {
            assert_eq!(back.get(idx(i as u32)).unwrap(), TokenStatus(s));
        }
    }

    /// draft-ietf-oauth-status-list §4.1 (2-bit example).
    #[test]
    fn draft_example_two_bits() {
        let statuses = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
        let list = list_of(Bits::TWO, &statuses);
        assert_eq!(list.as_bytes(), &[0xC9, 0x44, 0xF9]);
        assert_eq!(list.encode_lst().unwrap(), "eNo76fITAAPfAgc");
        let json = serde_json::to_value(list.to_json().unwrap()).unwrap();
        assert_eq!(json, json!({"bits": 2, "lst": "eNo76fITAAPfAgc"}));
        let back = TokenStatusList::decode(Bits::TWO, "eNo76fITAAPfAgc").unwrap();
        for (i, &s) in statuses.iter().enumerate() {
            assert_eq!(back.get(idx(i as u32)).unwrap(), TokenStatus(s));
        }
    }

    #[test]
    fn four_and_eight_bits_round_trip() {
        for bits in [4u8, 8] {
            let bits = Bits::try_from(bits).unwrap();
            let mut list = TokenStatusList::new(bits);
            let max = if bits.0 == 8 { 255 } else { 15 };
            list.set(idx(0), TokenStatus(max)).unwrap();
            list.set(idx(1), TokenStatus::SUSPENDED).unwrap();
            list.set(idx(131_071), TokenStatus::INVALID).unwrap();
            let back = TokenStatusList::decode(bits, &list.encode_lst().unwrap()).unwrap();
            assert_eq!(back, list);
            assert_eq!(back.get(idx(0)).unwrap(), TokenStatus(max));
            assert_eq!(back.get(idx(1)).unwrap(), TokenStatus::SUSPENDED);
        }
        // 4 bits: index 0 in the low nibble.
        let list = list_of(Bits::try_from(4).unwrap(), &[0x2, 0xA]);
        assert_eq!(list.as_bytes(), &[0xA2]);
    }

    #[test]
    fn invalid_inputs_refused() {
        for bad in [0u8, 3, 5, 16] {
            assert_eq!(Bits::try_from(bad), Err(Error::InvalidBits(bad)));
        }
        assert!(serde_json::from_value::<StatusListJson>(json!({"bits": 3, "lst": ""})).is_err());
        let mut list = TokenStatusList::new(Bits::ONE);
        assert_eq!(list.len(), MIN_ENTRIES);
        assert_eq!(list.as_bytes().len(), 16 * 1024);
        assert!(matches!(list.set(idx(0), TokenStatus::SUSPENDED), Err(Error::ValueTooLarge { value: 2, bits: 1 })));
        assert!(matches!(list.get(idx(131_072)), Err(Error::IndexOutOfRange { .. })));
        assert!(matches!(TokenStatusList::with_len(Bits::ONE, 1000), Err(Error::ListTooShort { .. })));
        assert_eq!(
            TokenStatusList::decode(Bits::ONE, "eNrbuRgAAhcBXQ=="),
            TokenStatusList::decode(Bits::ONE, "eNrbuRgAAhcBXQ"),
            "padding tolerated on input"
        );
        assert_eq!(TokenStatusList::decode(Bits::ONE, "not*base64"), Err(Error::MalformedBase64));
        // GZIP where ZLIB is required.
        let gz = crate::StatusList::minimum().encode().unwrap();
        assert_eq!(TokenStatusList::decode(Bits::ONE, &gz[1..]), Err(Error::MalformedCompression("ZLIB")));
        // Checksum damage: flip a byte of the Adler-32 trailer.
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut raw = b64.decode("eNrbuRgAAhcBXQ").unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(TokenStatusList::decode(Bits::ONE, &b64.encode(raw)), Err(Error::MalformedCompression("ZLIB")));
    }

    #[test]
    fn decompression_bomb_refused() {
        use std::io::Write;
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 17 * 1024 * 1024]).unwrap();
        let lst = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, enc.finish().unwrap());
        assert_eq!(
            TokenStatusList::decode(Bits::ONE, &lst),
            Err(Error::TooLarge { limit: codec::MAX_DECOMPRESSED_BYTES })
        );
    }

    #[test]
    fn token_and_claim_shapes() {
        let list = list_of(Bits::ONE, &[1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]);
        let now = OffsetDateTime::from_unix_timestamp(1_686_920_170).unwrap();
        let exp = OffsetDateTime::from_unix_timestamp(2_291_720_170).unwrap();
        let token =
            StatusListToken::new("https://example.com/statuslists/1", &list, now).unwrap().expires(exp).ttl(43_200);
        assert_eq!(
            token.claims(),
            json!({
                "sub": "https://example.com/statuslists/1",
                "iat": 1_686_920_170,
                "exp": 2_291_720_170_i64,
                "ttl": 43_200,
                "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}
            })
        );
        assert_eq!(
            StatusListToken::header("ES256", "12"),
            json!({"alg": "ES256", "kid": "12", "typ": "statuslist+jwt"})
        );
        let parsed: StatusListToken = serde_json::from_value(token.claims()).unwrap();
        assert_eq!(parsed, token);
        assert_eq!(
            StatusClaim::new("https://example.com/statuslists/1", idx(0)).to_json(),
            json!({"status_list": {"idx": 0, "uri": "https://example.com/statuslists/1"}})
        );
    }
}
