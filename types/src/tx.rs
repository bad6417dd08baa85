//! Ledger transactions: typed operations, authors, sequence numbers and
//! signatures over canonical bytes (design.md §4, docs/did-method.md §4).
//!
//! A transaction is JSON. Its *signing input* is the JCS (RFC 8785)
//! encoding of the transaction without its `signatures` member; every
//! signature (the author's, and an endorser's when one is named) covers
//! exactly those bytes. The ledger checks them, the per-author sequence
//! number and the author's permissions inside its state machine.

use crate::canonical::{b64, jcs};
use crate::did::Did;
use crate::document::DidDocument;
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest canonical transaction the ledger accepts, in bytes.
pub const MAX_TX_BYTES: usize = 64 * 1024;

/// What a transaction does. The wire names are the `type` member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TxType {
    /// The first entry of every log: the network and its trustees.
    #[serde(rename = "genesis")]
    Genesis,
    /// Registers a new `did:idelta` DID ([`DidCreate`]).
    #[serde(rename = "did.create")]
    DidCreate,
    /// Replaces a DID's document: key rotation, services ([`DidUpdate`]).
    #[serde(rename = "did.update")]
    DidUpdate,
    /// Deactivates a DID for good ([`DidDeactivate`]).
    #[serde(rename = "did.deactivate")]
    DidDeactivate,
    /// A trustee grants a role ([`RoleGrant`]).
    #[serde(rename = "role.grant")]
    RoleGrant,
    /// A trustee revokes a role ([`RoleRevoke`]).
    #[serde(rename = "role.revoke")]
    RoleRevoke,
    /// Writes a new version of a ledger object owned by the author ([`ObjectPut`]).
    #[serde(rename = "object.put")]
    ObjectPut,
    /// Creates the author's company token ([`crate::loyalty::TokenCreate`]).
    #[serde(rename = "token.create")]
    TokenCreate,
    /// Mints units of the author's token into its treasury ([`crate::loyalty::TokenMint`]).
    #[serde(rename = "token.mint")]
    TokenMint,
    /// Burns units of the author's balance ([`crate::loyalty::TokenBurn`]).
    #[serde(rename = "token.burn")]
    TokenBurn,
    /// Pays one or many accounts, all or none ([`crate::loyalty::TokenTransfer`]).
    #[serde(rename = "token.transfer")]
    TokenTransfer,
    /// Moves everything an account holds elsewhere and closes it ([`crate::loyalty::AccountClose`]).
    #[serde(rename = "account.close")]
    AccountClose,
    /// Lists a benefit that has its own DID ([`crate::loyalty::BenefitCreate`]).
    #[serde(rename = "benefit.create")]
    BenefitCreate,
    /// Changes a benefit's terms ([`crate::loyalty::BenefitUpdate`]).
    #[serde(rename = "benefit.update")]
    BenefitUpdate,
    /// Delists benefits ([`crate::loyalty::BenefitRemove`]).
    #[serde(rename = "benefit.remove")]
    BenefitRemove,
    /// Buys a new unit of a benefit from its company ([`crate::loyalty::BenefitPurchase`]).
    #[serde(rename = "benefit.purchase")]
    BenefitPurchase,
    /// Offers an owned unit for sale or swap ([`crate::loyalty::UnitOffer`]).
    #[serde(rename = "unit.offer")]
    UnitOffer,
    /// Withdraws an offer ([`crate::loyalty::UnitWithdraw`]).
    #[serde(rename = "unit.withdraw")]
    UnitWithdraw,
    /// Buys a unit offered for sale ([`crate::loyalty::UnitBuy`]).
    #[serde(rename = "unit.buy")]
    UnitBuy,
    /// Accepts a swap offer ([`crate::loyalty::UnitSwap`]).
    #[serde(rename = "unit.swap")]
    UnitSwap,
    /// Gives an owned unit away ([`crate::loyalty::UnitTransfer`]).
    #[serde(rename = "unit.transfer")]
    UnitTransfer,
    /// Sets a token's settlement value ([`crate::loyalty::MarketRate`]).
    #[serde(rename = "market.rate")]
    MarketRate,
    /// Sets the platform commission ([`crate::loyalty::MarketCommission`]).
    #[serde(rename = "market.commission")]
    MarketCommission,
}

impl TxType {
    /// Every type, in declaration order (for pickers such as the ledger
    /// browser's type filter, so a new type shows up without a second list).
    pub const ALL: [TxType; 23] = [
        TxType::Genesis,
        TxType::DidCreate,
        TxType::DidUpdate,
        TxType::DidDeactivate,
        TxType::RoleGrant,
        TxType::RoleRevoke,
        TxType::ObjectPut,
        TxType::TokenCreate,
        TxType::TokenMint,
        TxType::TokenBurn,
        TxType::TokenTransfer,
        TxType::AccountClose,
        TxType::BenefitCreate,
        TxType::BenefitUpdate,
        TxType::BenefitRemove,
        TxType::BenefitPurchase,
        TxType::UnitOffer,
        TxType::UnitWithdraw,
        TxType::UnitBuy,
        TxType::UnitSwap,
        TxType::UnitTransfer,
        TxType::MarketRate,
        TxType::MarketCommission,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TxType::Genesis => "genesis",
            TxType::DidCreate => "did.create",
            TxType::DidUpdate => "did.update",
            TxType::DidDeactivate => "did.deactivate",
            TxType::RoleGrant => "role.grant",
            TxType::RoleRevoke => "role.revoke",
            TxType::ObjectPut => "object.put",
            TxType::TokenCreate => "token.create",
            TxType::TokenMint => "token.mint",
            TxType::TokenBurn => "token.burn",
            TxType::TokenTransfer => "token.transfer",
            TxType::AccountClose => "account.close",
            TxType::BenefitCreate => "benefit.create",
            TxType::BenefitUpdate => "benefit.update",
            TxType::BenefitRemove => "benefit.remove",
            TxType::BenefitPurchase => "benefit.purchase",
            TxType::UnitOffer => "unit.offer",
            TxType::UnitWithdraw => "unit.withdraw",
            TxType::UnitBuy => "unit.buy",
            TxType::UnitSwap => "unit.swap",
            TxType::UnitTransfer => "unit.transfer",
            TxType::MarketRate => "market.rate",
            TxType::MarketCommission => "market.commission",
        }
    }
}

impl fmt::Display for TxType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One signature on a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxSignature {
    /// The verification method that signed: `did#fragment`, one of the
    /// signer DID's `capabilityInvocation` keys.
    pub signer: String,
    /// Always `EdDSA` (Ed25519) for now; pinned, never taken on trust.
    pub alg: String,
    /// The 64-byte signature, base64.
    pub signature: String,
}

impl TxSignature {
    /// The DID part of `signer`.
    pub fn signer_did(&self) -> Result<Did> {
        let did = self.signer.split('#').next().unwrap_or_default();
        did.parse()
    }

    /// The signature bytes.
    pub fn bytes(&self) -> Result<Vec<u8>> {
        b64::decode("signatures[].signature", &self.signature)
    }
}

/// A transaction as submitted and as stored in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTransaction {
    /// The operation.
    #[serde(rename = "type")]
    pub tx_type: TxType,
    /// The DID responsible for the write.
    pub author: Did,
    /// The author's sequence number: one more than its last accepted
    /// transaction, starting at 1. A replay reuses a spent number.
    pub seq: u64,
    /// The operation's arguments; its shape depends on `type`.
    pub payload: serde_json::Value,
    /// The endorser who counter-signs a write of an author without a role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorser: Option<Did>,
    /// Signatures over [`SignedTransaction::signing_input`].
    pub signatures: Vec<TxSignature>,
}

/// The members that signatures cover, borrowed so that the signing input is
/// computed without copying the payload.
#[derive(Serialize)]
struct Unsigned<'a> {
    #[serde(rename = "type")]
    tx_type: TxType,
    author: &'a Did,
    seq: u64,
    payload: &'a serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    endorser: Option<&'a Did>,
}

impl SignedTransaction {
    /// An unsigned transaction; add signatures with [`SignedTransaction::add_signature`].
    pub fn new<P: Serialize>(
        tx_type: TxType,
        author: Did,
        seq: u64,
        payload: &P,
        endorser: Option<Did>,
    ) -> Result<Self> {
        let payload = serde_json::to_value(payload).map_err(|e| Error::MalformedTransaction(e.to_string()))?;
        Ok(SignedTransaction { tx_type, author, seq, payload, endorser, signatures: vec![] })
    }

    /// The bytes every signature covers: JCS of the transaction without
    /// `signatures`.
    pub fn signing_input(&self) -> Result<Vec<u8>> {
        jcs(&Unsigned {
            tx_type: self.tx_type,
            author: &self.author,
            seq: self.seq,
            payload: &self.payload,
            endorser: self.endorser.as_ref(),
        })
    }

    /// The canonical bytes of the whole signed transaction, as they go into
    /// a log leaf.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>> {
        jcs(self)
    }

    /// Appends an Ed25519 signature by `signer` (a `did#fragment`) made
    /// with `sign`, which receives the signing input. Keys stay with the
    /// caller: this only records what the closure returns.
    pub fn add_signature(&mut self, signer: String, sign: impl FnOnce(&[u8]) -> [u8; 64]) -> Result<()> {
        let signature = sign(&self.signing_input()?);
        self.signatures.push(TxSignature { signer, alg: "EdDSA".into(), signature: b64::encode(signature) });
        Ok(())
    }

    /// Appends a signature made elsewhere (by a wallet, asynchronously)
    /// over [`SignedTransaction::signing_input`].
    pub fn push_signature(&mut self, signer: String, signature: &[u8]) {
        self.signatures.push(TxSignature { signer, alg: "EdDSA".into(), signature: b64::encode(signature) });
    }

    /// The payload as the typed operation of this transaction's type.
    pub fn payload_as<P: DeserializeOwned>(&self) -> Result<P> {
        P::deserialize(&self.payload)
            .map_err(|e| Error::MalformedTransaction(format!("payload of {}: {e}", self.tx_type)))
    }
}

/// A role in the permissioned ledger (after Hyperledger Indy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Governs the network: grants and revokes every role.
    Trustee,
    /// Runs infrastructure; writes without endorsement and may endorse.
    Steward,
    /// Writes without endorsement and counter-signs writes of authors.
    Endorser,
}

/// Payload of [`TxType::Genesis`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// A name for the network, so logs of two networks never mix.
    pub network: String,
    /// The founding trustees' DID documents. Each signs the genesis.
    pub trustees: Vec<DidDocument>,
}

/// Payload of [`TxType::DidCreate`]: the new DID is the author, and must be
/// derived from the key that signs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DidCreate {
    /// The first document.
    pub document: DidDocument,
}

/// Payload of [`TxType::DidUpdate`]: the whole new document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DidUpdate {
    /// The replacement document.
    pub document: DidDocument,
}

/// Payload of [`TxType::DidDeactivate`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DidDeactivate {}

/// Payload of [`TxType::RoleGrant`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleGrant {
    /// Who receives the role.
    pub did: Did,
    /// Which role; a DID holds at most one.
    pub role: Role,
}

/// Payload of [`TxType::RoleRevoke`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRevoke {
    /// Whose role is revoked.
    pub did: Did,
}

/// Kinds of generic ledger objects, ready for the credential machinery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectKind {
    /// A credential schema.
    Schema,
    /// A credential definition.
    CredDef,
    /// A status list (Bitstring Status List or Token Status List).
    StatusList,
    /// A revocation registry entry.
    RevocationEntry,
}

impl ObjectKind {
    /// The wire name, also the path segment of object ids.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Schema => "schema",
            ObjectKind::CredDef => "credDef",
            ObjectKind::StatusList => "statusList",
            ObjectKind::RevocationEntry => "revocationEntry",
        }
    }
}

/// Payload of [`TxType::ObjectPut`]: object `{author}/{kind}/{name}` gets a
/// new version with `content`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectPut {
    /// The kind of object.
    pub kind: ObjectKind,
    /// Name, unique per owner and kind: 1 to 128 of `A-Za-z0-9._-`.
    pub name: String,
    /// The object's content, any JSON.
    pub content: serde_json::Value,
}

impl ObjectPut {
    /// The object id this write addresses.
    pub fn object_id(&self, owner: &Did) -> Result<String> {
        let ok = (1..=128).contains(&self.name.len())
            && self.name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !ok {
            return Err(Error::MalformedTransaction(format!(
                "object name `{}` must be 1 to 128 of A-Za-z0-9._-",
                self.name
            )));
        }
        Ok(format!("{owner}/{}/{}", self.kind.as_str(), self.name))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::multikey::PublicKey;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn signing_input_excludes_signatures_and_is_canonical() {
        let sk = SigningKey::from_bytes(&[9u8; 32]);
        let did = Did::idelta_from_key(&PublicKey::Ed25519(sk.verifying_key()));
        let mut tx = SignedTransaction::new(TxType::DidDeactivate, did.clone(), 2, &DidDeactivate {}, None).unwrap();
        let before = tx.signing_input().unwrap();
        tx.add_signature(did.with_fragment("key-1"), |m| sk.sign(m).to_bytes()).unwrap();
        assert_eq!(tx.signing_input().unwrap(), before);
        let text = String::from_utf8(before).unwrap();
        assert_eq!(text, format!(r#"{{"author":"{did}","payload":{{}},"seq":2,"type":"did.deactivate"}}"#));
        let round: SignedTransaction = serde_json::from_slice(&tx.canonical_bytes().unwrap()).unwrap();
        assert_eq!(round, tx);
        let sig = &tx.signatures[0];
        PublicKey::Ed25519(sk.verifying_key()).verify(&tx.signing_input().unwrap(), &sig.bytes().unwrap()).unwrap();
        assert_eq!(sig.signer_did().unwrap(), did);
    }

    #[test]
    fn rejects_unknown_members_and_types() {
        assert!(serde_json::from_str::<SignedTransaction>(
            r#"{"type":"nym","author":"did:web:a","seq":1,"payload":{},"signatures":[]}"#
        )
        .is_err());
        assert!(serde_json::from_str::<SignedTransaction>(
            r#"{"type":"did.deactivate","author":"did:web:a","seq":1,"payload":{},"signatures":[],"x":1}"#
        )
        .is_err());
    }

    #[test]
    fn every_type_is_listed_once_with_its_serde_name() {
        let names: std::collections::HashSet<&str> = TxType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names.len(), TxType::ALL.len());
        for t in TxType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(t.as_str()));
        }
    }

    #[test]
    fn object_names_are_checked() {
        let did: Did = "did:web:example.com".parse().unwrap();
        let put =
            |name: &str| ObjectPut { kind: ObjectKind::Schema, name: name.into(), content: serde_json::json!({}) };
        assert_eq!(put("employee-1.0").object_id(&did).unwrap(), "did:web:example.com/schema/employee-1.0");
        assert!(put("").object_id(&did).is_err());
        assert!(put("a/b").object_id(&did).is_err());
    }
}
