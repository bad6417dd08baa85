//! Building, signing and submitting ledger transactions from development
//! key files: the one place the `did` and `role` commands (and
//! `idelta up --demo`) share.
//!
//! Signing keys are chosen against the signer's *current* document, proved
//! by a verified resolution: the ledger accepts only signatures by current
//! `capabilityInvocation` keys, so the newest entry in a key file is not
//! necessarily the right one (e.g. after an interrupted rotation).

use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use ed25519_dalek::{Signer as _, SigningKey};
use idelta_ledger_node::client::{ClientError, LedgerClient};
use idelta_ledger_node::keys::{DevKey, DevKeyStore};
use idelta_ledger_node::node::ResolveOptions;
use idelta_types::log::Receipt;
use idelta_types::{Did, DidDocument, PublicKey, SignedTransaction, TxType};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How many times a write is re-signed after a `sequence` refusal (another
/// write of the same author got in first).
const SEQUENCE_ATTEMPTS: u32 = 3;

/// A development key file (`DevKeyStore`) and where it lives.
pub(crate) struct KeyFile {
    path: PathBuf,
    store: DevKeyStore,
}

impl KeyFile {
    /// Reads `path`; a missing file is an empty store.
    pub(crate) fn load(path: &Path) -> anyhow::Result<KeyFile> {
        let store = DevKeyStore::load(path).with_context(|| format!("cannot use key file {}", path.display()))?;
        Ok(KeyFile { path: path.to_owned(), store })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The DIDs with keys in the file, in order of first appearance.
    pub(crate) fn dids(&self) -> Vec<Did> {
        let mut out: Vec<Did> = Vec::new();
        for k in &self.store.keys {
            if !out.contains(&k.did) {
                out.push(k.did.clone());
            }
        }
        out
    }

    /// The only DID of the file, for commands where naming it is optional.
    pub(crate) fn only_did(&self, flag: &str) -> anyhow::Result<Did> {
        match self.dids().as_slice() {
            [one] => Ok(one.clone()),
            [] => bail!("no keys in {}; pass the key file that holds the DID", self.path.display()),
            many => bail!(
                "{} holds keys of {} DIDs; say which with {flag} (one of: {})",
                self.path.display(),
                many.len(),
                many.iter().map(Did::as_str).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    /// The key of `did` that may sign for it: with `current`, one of that
    /// document's controller keys (newest first); without, the newest.
    pub(crate) fn signer(&self, did: &Did, current: Option<&DidDocument>) -> anyhow::Result<Signer> {
        let path = self.path.display();
        let mut entries = self.store.keys.iter().rev().filter(|k| &k.did == did).peekable();
        if entries.peek().is_none() {
            bail!("no key for DID {did} in {path}; pass the --keys file that created it");
        }
        let controllers = match current {
            Some(doc) => Some(doc.controller_keys().with_context(|| format!("the document of {did} is unusable"))?),
            None => None,
        };
        let mut tried = Vec::new();
        for entry in entries {
            let public = PublicKey::from_multibase(&entry.public_key_multibase)
                .with_context(|| format!("{path}: bad public key for {}", entry.kid))?;
            let key = entry.signing_key().with_context(|| format!("{path}: bad secret key for {}", entry.kid))?;
            if PublicKey::Ed25519(key.verifying_key()) != public {
                bail!("{path}: the secret and public keys of {} do not match; the file is damaged", entry.kid);
            }
            match &controllers {
                Some(c) if !c.iter().any(|(id, k)| *id == entry.kid && *k == public) => tried.push(entry.kid.clone()),
                _ => return Ok(Signer { kid: entry.kid.clone(), key }),
            }
        }
        bail!(
            "none of the keys of {did} in {path} ({}) controls its current document; was it rotated with another \
             key file?",
            tried.join(", ")
        )
    }

    /// Every key id of `did` in the file.
    pub(crate) fn kids<'a>(&'a self, did: &'a Did) -> impl Iterator<Item = &'a str> + 'a {
        self.store.keys.iter().filter(move |k| &k.did == did).map(|k| k.kid.as_str())
    }

    /// Appends `key` and writes the file at once. Keys are saved *before*
    /// the write that introduces them is submitted, so a crash or a lost
    /// answer can never leave a DID whose only key is lost; on refusal,
    /// [`KeyFile::remove`] takes the key out again.
    pub(crate) fn stage(&mut self, key: DevKey) -> anyhow::Result<()> {
        self.store.keys.push(key);
        self.save()
    }

    /// Removes the key `kid` (after its write was refused).
    pub(crate) fn remove(&mut self, kid: &str) -> anyhow::Result<()> {
        self.store.keys.retain(|k| k.kid != kid);
        self.save()
    }

    fn save(&mut self) -> anyhow::Result<()> {
        self.store.save(&self.path).with_context(|| format!("cannot write key file {}", self.path.display()))
    }
}

/// One controller key, ready to sign; the secret never leaves this value.
pub(crate) struct Signer {
    kid: String,
    key: SigningKey,
}

impl Signer {
    /// A signer for a key that is not in a file yet (a DID being created).
    pub(crate) fn new(kid: String, key: SigningKey) -> Signer {
        Signer { kid, key }
    }

    /// The verification method id, `did#key-N`.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    fn sign(&self, tx: &mut SignedTransaction) -> anyhow::Result<()> {
        tx.add_signature(self.kid.clone(), |m| self.key.sign(m).to_bytes()).context("cannot sign the transaction")
    }
}

/// An endorser's counter-signature, needed when the author holds no role.
#[derive(Args, Debug, Clone)]
pub(crate) struct EndorserArgs {
    /// DID of a trustee, steward or endorser who counter-signs the write; needed when the author holds no role.
    #[arg(long, value_name = "DID")]
    pub(crate) endorser: Option<Did>,
    /// Key file holding the endorser's key (default: the --keys file).
    #[arg(long, value_name = "FILE", requires = "endorser")]
    pub(crate) endorser_keys: Option<PathBuf>,
}

/// A named endorser and its key.
pub(crate) struct Endorsement {
    did: Did,
    signer: Signer,
}

impl EndorserArgs {
    /// The endorsement these flags ask for, its key chosen against the
    /// endorser's current (verified) document.
    pub(crate) async fn load(&self, client: &LedgerClient, default_keys: &Path) -> anyhow::Result<Option<Endorsement>> {
        let Some(did) = &self.endorser else { return Ok(None) };
        let path = self.endorser_keys.as_deref().unwrap_or(default_keys);
        endorsement(client, &KeyFile::load(path)?, did).await.map(Some)
    }
}

/// The endorsement of `did` with its key from `keys`.
pub(crate) async fn endorsement(client: &LedgerClient, keys: &KeyFile, did: &Did) -> anyhow::Result<Endorsement> {
    let doc = current_document(client, did).await.context("cannot use the endorser")?;
    Ok(Endorsement { did: did.clone(), signer: keys.signer(did, Some(&doc))? })
}

/// The verified, active document of `did`.
pub(crate) async fn current_document(client: &LedgerClient, did: &Did) -> anyhow::Result<DidDocument> {
    match client.resolve(did, &ResolveOptions::default()).await {
        Ok(v) => v.into_active_document().map_err(|_| anyhow!("{did} is deactivated; it can no longer write or sign")),
        Err(ClientError::NotFound) => bail!("{did} is not on the ledger at {}", client.base_url()),
        Err(e) => Err(explain(e, client)).with_context(|| format!("cannot resolve {did}")),
    }
}

/// A transaction by `author` signed by `signer` and, if given, the endorser.
pub(crate) fn signed<P: Serialize>(
    tx_type: TxType,
    author: &Did,
    seq: u64,
    payload: &P,
    signer: &Signer,
    endorsement: Option<&Endorsement>,
) -> anyhow::Result<SignedTransaction> {
    let mut tx = SignedTransaction::new(tx_type, author.clone(), seq, payload, endorsement.map(|e| e.did.clone()))
        .context("cannot build the transaction")?;
    signer.sign(&mut tx)?;
    if let Some(e) = endorsement {
        e.signer.sign(&mut tx)?;
    }
    Ok(tx)
}

/// Submits one transaction, with the ledger's refusals explained.
pub(crate) async fn submit(client: &LedgerClient, tx: &SignedTransaction) -> anyhow::Result<Receipt> {
    let receipt = client.submit(tx).await.map_err(|e| explain(e, client))?;
    tracing::info!(leaf_index = receipt.leaf_index, tx_type = %tx.tx_type, author = %tx.author, "transaction accepted");
    Ok(receipt)
}

/// Signs and submits a write of an author already on the ledger, with the
/// next sequence number; re-signs if another write took that number first.
pub(crate) async fn submit_as<P: Serialize>(
    client: &LedgerClient,
    tx_type: TxType,
    author: &Did,
    payload: &P,
    signer: &Signer,
    endorsement: Option<&Endorsement>,
) -> anyhow::Result<Receipt> {
    let mut attempt = 1;
    loop {
        let info = client.author(author).await.map_err(|e| explain(e, client))?;
        let tx = signed(tx_type, author, info.seq + 1, payload, signer, endorsement)?;
        match client.submit(&tx).await {
            Ok(receipt) => {
                tracing::info!(leaf_index = receipt.leaf_index, %tx_type, %author, "transaction accepted");
                return Ok(receipt);
            }
            Err(ClientError::Problem { code, .. }) if code == "sequence" && attempt < SEQUENCE_ATTEMPTS => {
                tracing::warn!(%author, attempt, "sequence number taken by a concurrent write; re-signing");
                attempt += 1;
            }
            Err(e) => return Err(explain(e, client)),
        }
    }
}

/// A client error with a hint on what to do about it. The client error is
/// kept (not as a `source`, which would print it twice) so that
/// [`is_refusal`] can still see it.
#[derive(Debug)]
struct Hinted {
    error: ClientError,
    hint: String,
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n  hint: {}", self.error, self.hint)
    }
}

impl std::error::Error for Hinted {}

/// Whether `e` is a definite refusal by the ledger (a 4xx problem), so the
/// write certainly did not happen. A timeout or a 5xx leaves that open.
pub(crate) fn is_refusal(e: &anyhow::Error) -> bool {
    let inner = e.downcast_ref::<Hinted>().map(|h| &h.error).or_else(|| e.downcast_ref::<ClientError>());
    matches!(inner, Some(ClientError::Problem { status, .. }) if (400..500).contains(status))
}

/// Saves `key` to `keys`, then runs the write that introduces it. If the
/// ledger refuses the write the key is removed again; if the outcome is
/// unknown (no answer) it stays, since the write may have gone through.
pub(crate) async fn with_staged_key(
    keys: &mut KeyFile,
    key: DevKey,
    write: impl std::future::Future<Output = anyhow::Result<Receipt>>,
) -> anyhow::Result<Receipt> {
    let kid = key.kid.clone();
    keys.stage(key)?;
    match write.await {
        Ok(receipt) => Ok(receipt),
        Err(e) if is_refusal(&e) => {
            keys.remove(&kid)?;
            Err(e)
        }
        Err(e) => {
            eprintln!(
                "note: the new key {kid} stays in {} because the write may have gone through; check with `idelta did \
                 resolve`",
                keys.path().display()
            );
            Err(e)
        }
    }
}

/// Adds what to do next to the client errors a user can act on.
pub(crate) fn explain(e: ClientError, client: &LedgerClient) -> anyhow::Error {
    let hint = match &e {
        ClientError::Http(_) => format!("is the ledger running at {}? (start one with `idelta up`)", client.base_url()),
        ClientError::Problem { code, .. } => match code.as_str() {
            "endorsement-required" => "the author holds no role: pass --endorser DID --endorser-keys FILE".into(),
            "invalid-endorser" => "the endorser must be an active trustee, steward or endorser".into(),
            "bad-signature" => "check that --keys holds the DID's current key".into(),
            "sequence" => "another write of this author got in first; run the command again".into(),
            "unauthorized" => "only a trustee may do this: pass a trustee's DID and key file".into(),
            _ => String::new(),
        },
        ClientError::InvalidProof(_) => {
            "the node's answer does not match its signed log: do not trust this node, and check --ledger-key".into()
        }
        _ => String::new(),
    };
    if hint.is_empty() {
        anyhow::Error::new(e)
    } else {
        anyhow::Error::new(Hinted { error: e, hint })
    }
}
