//! The genesis: leaf 0 of every log, founding the network and its trustees.
//!
//! `idelta ledger init` writes it to `genesis.json` in the data directory;
//! a node whose log is empty applies it as its first entry. Every founding
//! trustee signs it with the inception key its DID derives from, so the
//! trust root of the network is itself verifiable.

use crate::error::{NodeError, Result};
use ed25519_dalek::{Signer as _, SigningKey};
use idelta_types::tx::Genesis;
use idelta_types::{Did, DidDocument, PublicKey, SignedTransaction, TxType};
use std::path::Path;

/// The file name of the genesis inside a data directory.
pub const GENESIS_FILE: &str = "genesis.json";

/// Builds the genesis transaction for `network` with these trustees (the
/// first is the author).
pub fn build(network: &str, trustees: &[SigningKey]) -> Result<SignedTransaction> {
    let first = trustees.first().ok_or_else(|| NodeError::Config("a genesis needs at least one trustee".into()))?;
    let docs: Vec<DidDocument> = trustees
        .iter()
        .map(|k| {
            let public = PublicKey::Ed25519(k.verifying_key());
            DidDocument::with_ed25519_key(&Did::idelta_from_key(&public), &public, vec![])
        })
        .collect();
    let author = Did::idelta_from_key(&PublicKey::Ed25519(first.verifying_key()));
    let payload = Genesis { network: network.to_owned(), trustees: docs };
    let mut tx = SignedTransaction::new(TxType::Genesis, author, 1, &payload, None)
        .map_err(|e| NodeError::Config(e.to_string()))?;
    for key in trustees {
        let did = Did::idelta_from_key(&PublicKey::Ed25519(key.verifying_key()));
        tx.add_signature(did.with_fragment("key-1"), |m| key.sign(m).to_bytes())
            .map_err(|e| NodeError::Config(e.to_string()))?;
    }
    Ok(tx)
}

/// Reads `genesis.json` from a data directory.
pub fn load(dir: &Path) -> Result<SignedTransaction> {
    let path = dir.join(GENESIS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        NodeError::Config(format!("cannot read {}: {e} (run `idelta ledger init` first)", path.display()))
    })?;
    serde_json::from_str(&text).map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))
}
