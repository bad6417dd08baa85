//! Issuing `bbs-2023` credentials: stage 5 of the issuance pipeline when
//! `options.cryptosuite` is `bbs-2023` (W3C Data Integrity BBS
//! Cryptosuites v1.0, `idelta_issuer::bbs_2023`).
//!
//! **The company's BBS key.** A company signs bbs-2023 base proofs with a
//! BLS12-381 G2 key kept in its super-wallet (askar `bls12381g2`; the
//! wallet tag `purpose=bbs-2023`). Its first bbs-2023 issuance creates the
//! key and adds it to the company's DID document as a Multikey under
//! `assertionMethod` only (`#bbs-1`), by a DID update signed with the
//! controller key and endorsed by the operator
//! ([`crate::ledger::LedgerAccess::add_bbs_key`]). Where the key lives is
//! the wallet itself: the company's BLS12-381 G2 key is the one of that
//! type in its default profile (no agent database column), so a key and
//! the record of it cannot disagree. First issuances are serialized per
//! company in this process, so two concurrent ones create one key; if the
//! DID update fails after the key was made, the next issuance finds the key
//! and publishes it (the ledger step is idempotent). Key rotation
//! (`rotate_key`) keeps the BBS method, so bbs-2023 credentials keep
//! verifying across rotations of the Ed25519 key.
//!
//! **What a holder must always disclose.** `/issuer`, `/type`,
//! `/validFrom`, `/validUntil`, `/credentialSchema` and `/credentialStatus`
//! (each when the credential has it) are always mandatory pointers, added to
//! the caller's `options.mandatoryPointers`: a holder can therefore never
//! derive a proof that hides the credential's status (and so its
//! revocation), its validity period, its type or its schema. Everything
//! else the holder may keep back.
//!
//! The secret key leaves askar only inside
//! [`idelta_wallet::CompanyWallet::with_bbs_secret`], for one signature.

use super::{invalid, CredentialError, Credentials, Result};
use crate::db::companies::Company;
use crate::tenants::TenantError;
use idelta_issuer::bbs_2023::{self, add_base_proof, BaseProofOptions, BbsSecretKey};
use idelta_types::Did;
use idelta_wallet::{Holder, KeyType};
use parking_lot::Mutex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Top-level members that are mandatory whenever the credential has them.
pub const ALWAYS_MANDATORY: [&str; 6] =
    ["issuer", "type", "validFrom", "validUntil", "credentialSchema", "credentialStatus"];

/// Most companies whose BBS key is remembered.
const KEYS_CAPACITY: usize = 10_000;

/// A company's BBS key: its wallet key id and its verification method id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BbsKey {
    /// The wallet key id (its Multikey, `zUC7…`).
    pub key_id: String,
    /// The `assertionMethod` id on the company's DID (`{did}#bbs-N`).
    pub verification_method: String,
}

/// The BBS keys known per company, and one lock per company so that
/// concurrent first issuances create one key.
#[derive(Debug, Default)]
pub struct BbsKeys {
    /// Company id → its key, or `None` when it has none (yet).
    known: Mutex<HashMap<String, Option<BbsKey>>>,
    /// Company id → the lock its key creation takes.
    creating: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The mandatory pointers of `credential`: [`ALWAYS_MANDATORY`] members it
/// has, then the caller's, checked to be JSON pointers, without duplicates.
pub fn mandatory_pointers(credential: &Map<String, Value>, requested: &[String]) -> Result<Vec<String>> {
    let mut pointers: Vec<String> =
        ALWAYS_MANDATORY.iter().filter(|m| credential.contains_key(**m)).map(|m| format!("/{m}")).collect();
    for p in requested {
        if !p.starts_with('/') {
            return Err(invalid(format!("options.mandatoryPointers: `{p}` is not a JSON pointer (RFC 6901)")));
        }
        if !pointers.contains(p) {
            pointers.push(p.clone());
        }
    }
    Ok(pointers)
}

fn wallet_error(e: idelta_wallet::Error) -> CredentialError {
    CredentialError::Tenant(TenantError::from(e))
}

impl Credentials {
    /// The company's BBS key if it has one, without creating it (for the
    /// credential definition of an issuance in another format).
    pub(super) async fn existing_bbs_key(&self, company: &Company) -> Result<Option<BbsKey>> {
        if let Some(known) = self.bbs.known.lock().get(&company.id) {
            return Ok(known.clone());
        }
        let wallet = self.tenants.wallets().open(&company.id).await.map_err(TenantError::from)?;
        let found = match wallet.key_ids_of(Holder::Company, KeyType::Bls12381G2).await.map_err(wallet_error)?.first() {
            Some(key_id) => {
                let public = wallet.public_key(Holder::Company, key_id).await.map_err(wallet_error)?;
                match self.verification_method(&company.did, key_id, &public.to_multibase()).await {
                    Ok(vm) => Some(BbsKey { key_id: key_id.clone(), verification_method: vm }),
                    // Made but not yet on the ledger: the next bbs-2023 issuance publishes it.
                    Err(CredentialError::KeyNotPublished(_)) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
            None => None,
        };
        self.remember_bbs_key(&company.id, found.clone());
        Ok(found)
    }

    fn remember_bbs_key(&self, company: &str, key: Option<BbsKey>) {
        let mut known = self.bbs.known.lock();
        if known.len() >= KEYS_CAPACITY {
            known.clear();
        }
        known.insert(company.to_owned(), key);
    }

    /// The company's BBS key, created and published on its DID on the
    /// first call (serialized per company).
    pub(super) async fn bbs_key(&self, company: &Company) -> Result<BbsKey> {
        if let Some(Some(key)) = self.bbs.known.lock().get(&company.id) {
            return Ok(key.clone());
        }
        let lock = self.bbs.creating.lock().entry(company.id.clone()).or_default().clone();
        let _turn = lock.lock().await;
        // Whoever held the lock before may have made it.
        self.bbs.known.lock().remove(&company.id);
        if let Some(key) = self.existing_bbs_key(company).await? {
            return Ok(key);
        }
        let wallet = self.tenants.wallets().open(&company.id).await.map_err(TenantError::from)?;
        let existing = wallet.key_ids_of(Holder::Company, KeyType::Bls12381G2).await.map_err(wallet_error)?;
        let (key_id, public) = match existing.first() {
            Some(id) => (id.clone(), wallet.public_key(Holder::Company, id).await.map_err(wallet_error)?),
            None => {
                let key = wallet
                    .generate_key(Holder::Company, KeyType::Bls12381G2, &[("purpose", "bbs-2023")])
                    .await
                    .map_err(wallet_error)?;
                (key.id, key.public)
            }
        };
        let did: Did =
            company.did.parse().map_err(|e: idelta_types::Error| TenantError::Invalid(format!("company DID: {e}")))?;
        let verification_method = self
            .tenants
            .ledger()
            .add_bbs_key(&wallet, &did, &company.key_id, &public)
            .await
            .map_err(TenantError::from)?;
        tracing::info!(company = %company.id, %verification_method, "the company's bbs-2023 key is on its DID");
        let key = BbsKey { key_id, verification_method };
        self.remember_bbs_key(&company.id, Some(key.clone()));
        Ok(key)
    }

    /// Stage 5 for `bbs-2023`: a base proof by the company's BBS key with
    /// [`mandatory_pointers`].
    pub(super) async fn secure_bbs(
        &self,
        company: &Company,
        key: &BbsKey,
        credential: Map<String, Value>,
        requested: &[String],
    ) -> Result<Value> {
        let options = BaseProofOptions {
            verification_method: key.verification_method.clone(),
            mandatory_pointers: mandatory_pointers(&credential, requested)?,
        };
        let wallet = self.tenants.wallets().open(&company.id).await.map_err(TenantError::from)?;
        let signed = wallet
            .with_bbs_secret(Holder::Company, &key.key_id, |secret| {
                add_base_proof(Value::Object(credential), &options, &BbsSecretKey::from_bytes(secret)?)
            })
            .await
            .map_err(wallet_error)?;
        signed.map_err(|e| match e {
            bbs_2023::Error::Pointer(d) => invalid(format!("options.mandatoryPointers: {d}")),
            bbs_2023::Error::Canonicalization(d) | bbs_2023::Error::Unsupported(d) => {
                invalid(format!("credential cannot be secured with bbs-2023: {d}"))
            }
            other => CredentialError::Bbs(other),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use serde_json::json;

    #[test]
    fn status_validity_type_and_schema_are_always_mandatory() {
        let credential = json!({
            "issuer": "did:idelta:a", "type": ["VerifiableCredential"], "validFrom": "2025-01-01T00:00:00Z",
            "credentialStatus": [], "credentialSchema": {}, "credentialSubject": {}
        });
        let got =
            mandatory_pointers(credential.as_object().unwrap(), &["/credentialSubject/role".into(), "/issuer".into()])
                .unwrap();
        assert_eq!(
            got,
            ["/issuer", "/type", "/validFrom", "/credentialSchema", "/credentialStatus", "/credentialSubject/role"]
        );
        let e = mandatory_pointers(credential.as_object().unwrap(), &["role".into()]).unwrap_err();
        assert!(e.to_string().contains("options.mandatoryPointers"), "{e}");
    }
}
