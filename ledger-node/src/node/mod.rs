//! A running ledger node: opens the store, replays the log, sequences
//! writes and answers proof-carrying reads.
//!
//! Reads answer *as of the published signed tree head*: anything at a leaf
//! index at or beyond its `tree_size` is invisible, so every answer can be
//! proved against a head the node has signed, and nothing a reader sees can
//! be lost by a crash (the head is published only after the fsync).

mod cache;
mod loyalty;
mod resolve;
mod sequencer;

pub use cache::SerializedResolution;
pub use loyalty::RECENT_SCAN;
pub use resolve::{Resolution, ResolveError, ResolveOptions};

use crate::admission::{self, Admitted};
use crate::error::{NodeError, Result};
use crate::genesis;
use crate::keys;
use crate::log::store::Store;
use crate::log::tree::MerkleTree;
use crate::state::{auth, State};
use crate::verify;
use ed25519_dalek::{Signer as _, SigningKey};
use idelta_types::canonical::b64;
use idelta_types::log::{
    node_signer_id, tree_head_signing_input, ConsistencyProof, InclusionProof, LeafInput, LogEntry, Receipt,
    SignedTreeHead, SthSignature,
};
use idelta_types::merkle::Hash;
use idelta_types::tx::Role;
use idelta_types::{Did, PublicKey, SignedTransaction};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// File name of the log store inside a data directory.
pub const STORE_FILE: &str = "ledger.redb";
/// Most transactions sequenced in one batch (one fsync).
pub const MAX_BATCH: usize = 4096;
/// Most writes waiting for the sequencer before submitters wait too.
const QUEUE_DEPTH: usize = 65_536;

/// What `GET /v1/node` says about the node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Network name from the genesis.
    pub network: String,
    /// The key that signs tree heads, as `did:key`.
    pub signer: String,
    /// The same key as `publicKeyMultibase`.
    pub public_key_multibase: String,
    /// Current signed tree size.
    pub tree_size: u64,
}

/// What `GET /v1/authors/{did}` says: what an author needs to write next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorInfo {
    /// The DID.
    pub did: Did,
    /// Last accepted sequence number (0 if none); the next write uses `seq + 1`.
    pub seq: u64,
    /// Its role, if any.
    pub role: Option<Role>,
    /// Whether the DID is on the ledger.
    pub exists: bool,
    /// Whether it is deactivated.
    pub deactivated: bool,
}

/// A ledger object version as `GET /v1/objects/...` returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectView {
    /// `{owner}/{kind}/{name}`.
    pub id: String,
    /// The owner DID.
    pub owner: Did,
    /// 1-based version returned.
    pub version: u64,
    /// Number of versions visible.
    pub versions: u64,
    /// The content.
    pub content: serde_json::Value,
    /// Leaf that wrote this version.
    pub leaf_index: u64,
    /// Its batch time, ms since the epoch.
    pub timestamp: u64,
}

pub(crate) struct Shared {
    pub(crate) state: RwLock<State>,
    pub(crate) tree: RwLock<MerkleTree>,
    pub(crate) sth: RwLock<Arc<SignedTreeHead>>,
    pub(crate) store: Store,
    pub(crate) key: SigningKey,
    pub(crate) failed: Mutex<Option<String>>,
    pub(crate) resolutions: cache::ResolutionCache,
}

struct Pending {
    tx: Admitted,
    reply: oneshot::Sender<Result<Receipt>>,
}

/// A handle to a running node; clones share it. The sequencer thread stops
/// when the last handle is dropped.
#[derive(Clone)]
pub struct Node {
    shared: Arc<Shared>,
    sender: mpsc::Sender<Pending>,
}

/// The edge's clock: milliseconds since the Unix epoch. Library code takes
/// time as a parameter; only the node reads the clock, once per batch.
#[allow(clippy::disallowed_methods)]
pub fn now_ms() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(now.as_millis()).unwrap_or(u64::MAX)
}

/// Signs a tree head.
pub(crate) fn sign_tree_head(key: &SigningKey, timestamp: u64, tree_size: u64, root: &Hash) -> SignedTreeHead {
    let sig = key.sign(&tree_head_signing_input(timestamp, tree_size, root));
    SignedTreeHead {
        tree_size,
        timestamp,
        sha256_root_hash: b64::encode(root),
        signatures: vec![SthSignature {
            signer: node_signer_id(&PublicKey::Ed25519(key.verifying_key())),
            alg: "EdDSA".into(),
            signature: b64::encode(sig.to_bytes()),
        }],
    }
}

/// What `idelta ledger init` created.
#[derive(Debug)]
pub struct InitReport {
    /// The node's public key.
    pub node_key: PublicKey,
    /// The founding trustees.
    pub trustees: Vec<keys::DevKey>,
}

impl Node {
    /// Creates a data directory: node key, trustee keys and `genesis.json`.
    /// Refuses a directory that already holds a node key or genesis.
    pub fn init(dir: &Path, network: &str, trustees: usize) -> Result<InitReport> {
        std::fs::create_dir_all(dir).map_err(|e| NodeError::Config(format!("cannot create {}: {e}", dir.display())))?;
        if dir.join(genesis::GENESIS_FILE).exists() || dir.join(keys::NODE_KEY_FILE).exists() {
            return Err(NodeError::Config(format!("{} is already initialised", dir.display())));
        }
        let most = crate::state::roles::MAX_GENESIS_TRUSTEES;
        if trustees == 0 || trustees > most {
            return Err(NodeError::Config(format!("a genesis names 1 to {most} trustees")));
        }
        let node_key = keys::create_node_key(dir)?;
        let signing: Vec<SigningKey> = (0..trustees).map(|_| SigningKey::generate(&mut rand::rngs::OsRng)).collect();
        let tx = genesis::build(network, &signing)?;
        keys::write_private(&dir.join(genesis::GENESIS_FILE), &tx, false)?;
        let mut store = keys::DevKeyStore {
            keys: signing.iter().map(keys::DevKey::from_signing_key).collect(),
            ..Default::default()
        };
        store.save(&dir.join(TRUSTEE_KEYS_FILE))?;
        Ok(InitReport { node_key: PublicKey::Ed25519(node_key.verifying_key()), trustees: store.keys })
    }

    /// Opens a data directory made by [`Node::init`]: replays the log,
    /// applies the genesis if the log is empty, and starts the sequencer.
    fn open(dir: &Path) -> Result<Node> {
        let key = keys::load_node_key(dir)?;
        let store = Store::open(&dir.join(STORE_FILE))?;
        let public = PublicKey::Ed25519(key.verifying_key());
        let replayed = verify::replay(&store, &public)?;
        let sth = match replayed.sth {
            Some(sth) => sth,
            None => {
                let root = replayed.tree.root(0).map_err(|e| NodeError::Corrupt(e.to_string()))?;
                sign_tree_head(&key, now_ms(), 0, &root)
            }
        };
        let shared = Arc::new(Shared {
            state: RwLock::new(replayed.state),
            tree: RwLock::new(replayed.tree),
            sth: RwLock::new(Arc::new(sth)),
            store,
            key,
            failed: Mutex::new(None),
            resolutions: cache::ResolutionCache::default(),
        });
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("ledger-sequencer".into())
            .spawn(move || sequencer::run(worker, receiver))
            .map_err(|e| NodeError::Config(format!("cannot start the sequencer: {e}")))?;
        let node = Node { shared, sender };
        Ok(node)
    }

    /// Opens `dir` and, if its log is empty, writes its genesis as leaf 0:
    /// what `idelta ledger serve` and `idelta up` run.
    pub async fn start(dir: &Path) -> Result<Node> {
        let node = Node::open(dir)?;
        node.ensure_genesis(dir).await?;
        Ok(node)
    }

    /// Submits the genesis of `dir` if the log is empty. It goes through
    /// the sequencer like any write.
    async fn ensure_genesis(&self, dir: &Path) -> Result<()> {
        if self.sth().tree_size > 0 {
            return Ok(());
        }
        let tx = genesis::load(dir)?;
        self.submit(tx).await.map(|_| ())
    }

    /// Submits a transaction and waits until it is durable (or refused).
    pub async fn submit(&self, tx: SignedTransaction) -> Result<Receipt> {
        self.submit_admitted(admission::admit(tx)?).await
    }

    /// Submits a JSON body.
    pub async fn submit_json(&self, body: &[u8]) -> Result<Receipt> {
        self.submit_admitted(admission::admit_json(body)?).await
    }

    async fn submit_admitted(&self, mut tx: Admitted) -> Result<Receipt> {
        if let Some(reason) = self.shared.failed.lock().clone() {
            return Err(NodeError::Unavailable(reason));
        }
        auth::preverify(&self.shared.state.read(), &mut tx);
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Pending { tx, reply })
            .await
            .map_err(|_| NodeError::Unavailable("the sequencer has stopped".into()))?;
        answer.await.map_err(|_| NodeError::Unavailable("the sequencer has stopped".into()))?
    }

    /// The latest signed tree head.
    pub fn sth(&self) -> Arc<SignedTreeHead> {
        Arc::clone(&self.shared.sth.read())
    }

    /// The node's tree-head key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::Ed25519(self.shared.key.verifying_key())
    }

    /// What `GET /v1/node` returns.
    pub fn info(&self) -> NodeInfo {
        let key = self.public_key();
        NodeInfo {
            network: self.shared.state.read().network().unwrap_or_default().to_owned(),
            signer: node_signer_id(&key),
            public_key_multibase: key.to_multibase(),
            tree_size: self.sth().tree_size,
        }
    }

    fn check_size(&self, tree_size: u64) -> Result<()> {
        let signed = self.sth().tree_size;
        if tree_size > signed {
            return Err(NodeError::OutOfRange(format!("tree_size {tree_size} exceeds the signed tree size {signed}")));
        }
        Ok(())
    }

    /// The stored leaf input at `index`, if signed.
    pub fn leaf_input(&self, index: u64) -> Result<Vec<u8>> {
        let size = self.sth().tree_size;
        if index >= size {
            return Err(NodeError::OutOfRange(format!("leaf_index {index} is not below the tree size {size}")));
        }
        self.shared
            .store
            .leaf(index)?
            .ok_or_else(|| NodeError::Corrupt(format!("leaf {index} is missing from the store")))
    }

    /// `GET /v1/log/entries/{leaf_index}`.
    pub fn entry(&self, index: u64) -> Result<LogEntry> {
        let input = self.leaf_input(index)?;
        let leaf = LeafInput::decode(&input).map_err(|e| NodeError::Corrupt(format!("leaf {index}: {e}")))?;
        Ok(LogEntry { leaf_index: index, leaf_input: b64::encode(&input), tx: leaf.tx, timestamp: leaf.timestamp_ms })
    }

    /// `GET /v1/log/proof/inclusion`.
    pub fn inclusion_proof(&self, leaf_index: u64, tree_size: u64) -> Result<InclusionProof> {
        self.check_size(tree_size)?;
        let path = self
            .shared
            .tree
            .read()
            .inclusion_proof(leaf_index, tree_size)
            .map_err(|e| NodeError::OutOfRange(e.to_string()))?;
        Ok(InclusionProof { leaf_index, tree_size, audit_path: path.iter().map(b64::encode).collect() })
    }

    /// `GET /v1/log/proof/consistency`.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<ConsistencyProof> {
        self.check_size(second)?;
        let proof = self
            .shared
            .tree
            .read()
            .consistency_proof(first, second)
            .map_err(|e| NodeError::OutOfRange(e.to_string()))?;
        Ok(ConsistencyProof { first, second, consistency: proof.iter().map(b64::encode).collect() })
    }

    /// `GET /v1/authors/{did}`.
    pub fn author(&self, did: &Did) -> AuthorInfo {
        let state = self.shared.state.read();
        let record = state.did(did);
        AuthorInfo {
            did: did.clone(),
            seq: state.seq(did),
            role: state.role(did),
            exists: record.is_some(),
            deactivated: record.is_some_and(|r| r.deactivated.is_some()),
        }
    }

    /// A ledger object, latest visible version or `version` (1-based).
    pub fn object(&self, id: &str, version: Option<u64>) -> Option<ObjectView> {
        let size = self.sth().tree_size;
        let record = Arc::clone(self.shared.state.read().object(id)?);
        let visible: Vec<_> = record.versions.iter().filter(|v| v.leaf_index < size).collect();
        let n = match version {
            Some(v) => v,
            None => u64::try_from(visible.len()).ok()?,
        };
        let chosen = visible.get(usize::try_from(n).ok()?.checked_sub(1)?)?;
        Some(ObjectView {
            id: id.to_owned(),
            owner: record.owner.clone(),
            version: n,
            versions: u64::try_from(visible.len()).unwrap_or(u64::MAX),
            content: serde_json::Value::clone(&chosen.content),
            leaf_index: chosen.leaf_index,
            timestamp: chosen.timestamp_ms,
        })
    }

    /// Resolves a DID (URL) as of the latest signed tree head.
    pub fn resolve(&self, did_url: &str, options: &ResolveOptions) -> std::result::Result<Resolution, ResolveError> {
        resolve::resolve(&self.shared, did_url, options)
    }

    /// Resolves to the serialized resolution result. Plain DIDs (no
    /// version options) are answered from a cache of results of the current
    /// signed tree size: a proof against a given head never changes.
    pub fn resolve_serialized(
        &self,
        did_url: &str,
        options: &ResolveOptions,
    ) -> std::result::Result<Arc<SerializedResolution>, ResolveError> {
        let cacheable = options.version_id.is_none() && options.version_time.is_none() && !did_url.contains(['?', '#']);
        let size = self.sth().tree_size;
        if cacheable {
            if let Some(hit) = self.shared.resolutions.get(size, did_url) {
                return Ok(hit);
            }
        }
        let resolution = self.resolve(did_url, options)?;
        let proved_size = resolution.result.did_document_metadata.ledger.as_ref().map(|l| l.tree_size);
        let body = serde_json::to_vec(&resolution.result).map_err(|e| ResolveError::Internal(e.to_string()))?;
        let serialized = Arc::new(SerializedResolution { body: body.into(), deactivated: resolution.deactivated });
        if let (true, Some(proved)) = (cacheable, proved_size) {
            self.shared.resolutions.put(proved, did_url, Arc::clone(&serialized));
        }
        Ok(serialized)
    }
}

/// File name of the trustee key store `idelta ledger init` writes.
pub const TRUSTEE_KEYS_FILE: &str = "trustee-keys.json";
