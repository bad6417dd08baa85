//! `Multikey` public keys (W3C Controlled Identifiers 1.0 §2.2.2).
//!
//! A `publicKeyMultibase` value is multibase base58btc (`z`) over a
//! multicodec prefix and the raw key. idelta verifies Ed25519 today and
//! recognises BLS12-381 G2 keys (for `bbs-2023`) so DID documents can carry
//! them before the issuer signs with them.

use crate::error::{Error, Result};
use ed25519_dalek::{Signature, VerifyingKey};

/// Multicodec varint prefix of `ed25519-pub` (0xed).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// Multicodec varint prefix of `bls12_381-g2-pub` (0xeb).
const BLS12_381_G2_PUB: [u8; 2] = [0xeb, 0x01];
/// Length of a compressed BLS12-381 G2 point.
const BLS12_381_G2_LEN: usize = 96;

/// A public key idelta understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// An Ed25519 key (RFC 8032).
    Ed25519(VerifyingKey),
    /// A compressed BLS12-381 G2 point, kept as bytes until BBS lands.
    Bls12381G2(Vec<u8>),
}

impl PublicKey {
    /// Parses a `publicKeyMultibase` value.
    pub fn from_multibase(text: &str) -> Result<PublicKey> {
        let (base, bytes) = multibase::decode(text).map_err(|e| Error::InvalidKey(e.to_string()))?;
        if base != multibase::Base::Base58Btc {
            return Err(Error::InvalidKey("publicKeyMultibase must use base58btc (`z`)".into()));
        }
        match (bytes.get(..2), bytes.get(2..)) {
            (Some(p), Some(raw)) if p == ED25519_PUB => {
                let raw: [u8; 32] = raw
                    .try_into()
                    .map_err(|_| Error::InvalidKey(format!("Ed25519 key must be 32 bytes, got {}", raw.len())))?;
                VerifyingKey::from_bytes(&raw)
                    .map(PublicKey::Ed25519)
                    .map_err(|e| Error::InvalidKey(format!("not an Ed25519 point: {e}")))
            }
            (Some(p), Some(raw)) if p == BLS12_381_G2_PUB => {
                if raw.len() != BLS12_381_G2_LEN {
                    return Err(Error::InvalidKey(format!(
                        "BLS12-381 G2 key must be {BLS12_381_G2_LEN} bytes, got {}",
                        raw.len()
                    )));
                }
                Ok(PublicKey::Bls12381G2(raw.to_vec()))
            }
            _ => Err(Error::InvalidKey("unsupported multicodec (expected ed25519-pub or bls12_381-g2-pub)".into())),
        }
    }

    /// The multicodec prefix followed by the raw key.
    pub fn multicodec_bytes(&self) -> Vec<u8> {
        let (prefix, raw): (&[u8], &[u8]) = match self {
            PublicKey::Ed25519(k) => (&ED25519_PUB, k.as_bytes()),
            PublicKey::Bls12381G2(b) => (&BLS12_381_G2_PUB, b),
        };
        [prefix, raw].concat()
    }

    /// The `publicKeyMultibase` value of this key.
    pub fn to_multibase(&self) -> String {
        multibase::encode(multibase::Base::Base58Btc, self.multicodec_bytes())
    }

    /// The JOSE / Data Integrity algorithm name of signatures by this key.
    pub fn alg(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "EdDSA",
            PublicKey::Bls12381G2(_) => "BBS",
        }
    }

    /// Verifies `signature` over `message` under Ed25519's strict rules
    /// (no malleable signatures, no weak keys), as the ledger does. Only
    /// Ed25519 signs ledger transactions and tree heads; BLS keys are
    /// refused here.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        match self {
            PublicKey::Ed25519(key) => {
                let sig = Signature::from_slice(signature).map_err(|_| {
                    Error::InvalidSignature(format!("Ed25519 signature must be 64 bytes, got {}", signature.len()))
                })?;
                key.verify_strict(message, &sig)
                    .map_err(|_| Error::InvalidSignature("Ed25519 signature does not verify".into()))
            }
            PublicKey::Bls12381G2(_) => {
                Err(Error::InvalidSignature("BLS12-381 keys cannot sign ledger transactions".into()))
            }
        }
    }
}

/// base58btc (Bitcoin alphabet) encoding, as multibase `z` uses it.
pub fn base58btc(bytes: &[u8]) -> String {
    bs58::encode(bytes).into_string()
}

/// base58btc decoding.
pub fn base58btc_decode(text: &str) -> Result<Vec<u8>> {
    bs58::decode(text).into_vec().map_err(|e| Error::InvalidKey(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn ed25519_multikey_round_trip_matches_known_prefix() {
        let sk = SigningKey::from_bytes(&[1u8; 32]);
        let pk = PublicKey::Ed25519(sk.verifying_key());
        let mb = pk.to_multibase();
        // Every Ed25519 Multikey starts with z6Mk (0xed01 prefix in base58btc).
        assert!(mb.starts_with("z6Mk"), "{mb}");
        assert_eq!(PublicKey::from_multibase(&mb).unwrap(), pk);
        let sig = sk.sign(b"msg");
        pk.verify(b"msg", &sig.to_bytes()).unwrap();
        assert!(pk.verify(b"other", &sig.to_bytes()).is_err());
        assert!(pk.verify(b"msg", &[0u8; 10]).is_err());
    }

    #[test]
    fn refuses_foreign_encodings() {
        assert!(PublicKey::from_multibase("mAAAA").is_err());
        assert!(PublicKey::from_multibase("z111").is_err());
        assert!(PublicKey::from_multibase("").is_err());
        let short = multibase::encode(multibase::Base::Base58Btc, [0xed, 0x01, 1, 2, 3]);
        assert!(PublicKey::from_multibase(&short).is_err());
        // A compressed G2 point has its top bit set, which is why real
        // BLS12-381 G2 Multikeys start with `zUC7`.
        let mut point = [0u8; 96];
        point[0] = 0xa0;
        let bls = multibase::encode(multibase::Base::Base58Btc, [[0xeb, 0x01].as_slice(), &point].concat());
        assert!(matches!(PublicKey::from_multibase(&bls).unwrap(), PublicKey::Bls12381G2(_)));
        assert!(bls.starts_with("zUC7"), "{bls}");
    }
}
