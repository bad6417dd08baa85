//! The typed HTTP client of a ledger node, which trusts nothing it cannot
//! check (design.md §4, §9).
//!
//! A [`LedgerClient`] is built with the node's tree-head key *pinned*. Every
//! signed tree head it receives must carry that key's signature, and every
//! answer that claims to come from the log is checked against such a head
//! with an RFC 6962 §2.1.1 inclusion proof before it is returned. A node can
//! therefore refuse to answer, but it cannot make the client accept a DID
//! document, a log entry or a ledger object that its signed log does not
//! hold.
//!
//! What the proofs do *not* show: that a resolution answer is the *latest*
//! version (a node can answer from an old head; compare heads with
//! [`LedgerClient::verify_consistency`] to detect a forked or rewound log),
//! and, for a deactivated DID, the last document (the proof covers the
//! deactivation, not the document; see [`VerifiedResolution`]).
//!
//! All proof checks are pure functions of this module ([`check_resolution`],
//! [`check_receipt`], [`check_entry`], [`check_object`],
//! [`check_inclusion`]) so they can be tested against mutated inputs without
//! a server. Errors from the node arrive as RFC 9457 problem details
//! (`application/problem+json`) and become [`ClientError::Problem`].

use crate::node::{AuthorInfo, NodeInfo, ObjectView, ResolveOptions};
use idelta_types::canonical::b64;
use idelta_types::log::{
    decode_hashes, node_signer_id, ConsistencyProof, InclusionProof, LeafInput, LogEntry, Receipt, SignedTreeHead,
};
use idelta_types::loyalty::views::{
    AccountView, AsOf, BenefitQuery, BenefitView, BenefitsPage, HistoryPage, MarketView, OfferQuery, OffersPage,
    RecentPage, SettlementReport, TokenView, TokensPage, UnitView,
};
use idelta_types::loyalty::OfferKind;
use idelta_types::merkle::{self, Hash};
use idelta_types::resolution::{ResolutionResult, RESOLUTION_MEDIA_TYPE};
use idelta_types::tx::{DidCreate, DidUpdate, Genesis, ObjectPut};
use idelta_types::{Did, DidDocument, PublicKey, SignedTransaction, TxType};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How long one request may take before the client gives up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a ledger request failed or its answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Returned when the node cannot be reached, the connection fails, or
    /// it answers with a status and body that are not a problem document.
    #[error("ledger request failed: {0}")]
    Http(String),
    /// Returned when the node refuses a request with an RFC 9457 problem
    /// document (or a DID resolution error); `code` is its machine name,
    /// e.g. `sequence`, `bad-signature`, `endorsement-required`,
    /// `invalidDid`.
    #[error("the ledger refused the request ({status} {code}): {detail}")]
    Problem {
        /// The HTTP status.
        status: u16,
        /// The short machine name of the problem.
        code: String,
        /// What the node says is wrong.
        detail: String,
    },
    /// Returned when the DID, log entry or object asked for does not exist
    /// (HTTP 404).
    #[error("not found on the ledger")]
    NotFound,
    /// Returned by [`VerifiedResolution::into_active_document`] when the
    /// DID is deactivated (HTTP 410, proved by the deactivation's leaf).
    #[error("the DID is deactivated")]
    Deactivated,
    /// Returned when an answer fails a check against the pinned key or the
    /// log: the message starts with the name of the failing check.
    #[error("the ledger's answer does not verify: {0}")]
    InvalidProof(String),
    /// Returned when an answer is not the JSON the API promises, or a key
    /// or URL given to the client is malformed.
    #[error("cannot decode: {0}")]
    Decode(String),
}

/// Result with [`ClientError`].
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

fn invalid(check: &str, detail: impl std::fmt::Display) -> ClientError {
    ClientError::InvalidProof(format!("{check}: {detail}"))
}

/// A DID resolution whose answer has been checked against the log.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedResolution {
    /// The result as the node sent it.
    pub result: ResolutionResult,
    /// The document, proved to be the one the log's leaf set. `None` for a
    /// deactivated answer: its leaf is the deactivation, which proves that
    /// the DID is deactivated but not which document it had (the unproved
    /// copy stays in `result.did_document`).
    pub document: Option<DidDocument>,
    /// Whether the answer is "deactivated" (HTTP 410), proved by a
    /// `did.deactivate` leaf of the DID.
    pub deactivated: bool,
    /// The signed tree head the answer is proved against.
    pub sth: SignedTreeHead,
}

impl VerifiedResolution {
    /// The proved document of a DID that is active, or
    /// [`ClientError::Deactivated`].
    pub fn into_active_document(self) -> Result<DidDocument> {
        match (self.deactivated, self.document) {
            (false, Some(doc)) => Ok(doc),
            _ => Err(ClientError::Deactivated),
        }
    }
}

/// Typed client of one ledger node, with the node's tree-head key pinned.
#[derive(Clone, Debug)]
pub struct LedgerClient {
    transport: Transport,
    node_key: PublicKey,
}

/// The unverified HTTP half of the client.
#[derive(Clone, Debug)]
struct Transport {
    base: String,
    http: reqwest::Client,
}

/// The members of an RFC 9457 problem document, and of a DID resolution
/// error (which the resolver endpoint sends instead).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    did_resolution_metadata: Option<ResolutionErrorBody>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ResolutionErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
}

/// Turns an error response into a [`ClientError::Problem`], reading an RFC
/// 9457 problem document or a DID resolution error body.
fn problem(status: StatusCode, body: &[u8]) -> ClientError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (code, detail) = match parsed {
        Some(ErrorBody { code: Some(code), title, detail, .. }) => (code, detail.or(title).unwrap_or_default()),
        Some(ErrorBody {
            did_resolution_metadata: Some(ResolutionErrorBody { error: Some(code), error_message }),
            ..
        }) => (code, error_message.unwrap_or_default()),
        _ => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.chars().take(300).collect();
            return ClientError::Http(format!("HTTP {status} without a problem document: {text}"));
        }
    };
    ClientError::Problem { status: status.as_u16(), code, detail }
}

fn decode<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode(format!("{what}: {e}")))
}

/// Parses a pinned node key given as `publicKeyMultibase` (`z6Mk…`) or as
/// the `did:key:z6Mk…` the node signs with.
pub fn parse_node_key(text: &str) -> Result<PublicKey> {
    let mb = text.strip_prefix("did:key:").unwrap_or(text);
    PublicKey::from_multibase(mb).map_err(|e| ClientError::Decode(format!("node key `{text}`: {e}")))
}

impl Transport {
    fn new(base_url: &str) -> Result<Self> {
        let base = base_url.trim_end_matches('/').to_owned();
        let url =
            reqwest::Url::parse(&base).map_err(|e| ClientError::Decode(format!("ledger URL `{base_url}`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::Decode(format!("ledger URL `{base_url}` must be http:// or https://")));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("idelta/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Http(e.to_string()))?;
        Ok(Transport { base, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(StatusCode, Vec<u8>)> {
        let response = request.send().await.map_err(|e| ClientError::Http(e.to_string()))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| ClientError::Http(e.to_string()))?;
        Ok((status, body.to_vec()))
    }

    /// GETs `path` and decodes a 2xx answer; 404 is [`ClientError::NotFound`].
    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T> {
        let (status, body) = self.send(self.http.get(self.url(path)).query(query)).await?;
        match status {
            s if s.is_success() => decode(path, &body),
            StatusCode::NOT_FOUND => Err(ClientError::NotFound),
            s => Err(problem(s, &body)),
        }
    }
}

impl LedgerClient {
    /// A client of the node at `base_url` (e.g. `http://127.0.0.1:8700`)
    /// whose tree heads must be signed by `node_key`.
    pub fn new(base_url: &str, node_key: PublicKey) -> Result<Self> {
        Ok(LedgerClient { transport: Transport::new(base_url)?, node_key })
    }

    /// A client that pins whatever key `GET /v1/node` names.
    ///
    /// **Risk:** the first answer is taken on trust. Whoever controls the
    /// node or the network path at that moment can pin their own key and
    /// then prove anything to this client. Use it for development, or
    /// compare [`LedgerClient::node_key`] with a key obtained out of band
    /// (`idelta ledger init` prints it), and pin it with
    /// [`LedgerClient::new`] from then on.
    pub async fn trust_on_first_use(base_url: &str) -> Result<Self> {
        let transport = Transport::new(base_url)?;
        let info: NodeInfo = transport.get("/v1/node", &[]).await?;
        let key = parse_node_key(&info.public_key_multibase)?;
        if info.signer != node_signer_id(&key) {
            return Err(ClientError::Decode(format!(
                "node info names signer {} but key {}",
                info.signer, info.public_key_multibase
            )));
        }
        Ok(LedgerClient { transport, node_key: key })
    }

    /// The pinned tree-head key.
    pub fn node_key(&self) -> &PublicKey {
        &self.node_key
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.transport.base
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T> {
        self.transport.get(path, query).await
    }

    /// `GET /v1/node`. Not verified: it only names the node's key.
    pub async fn node_info(&self) -> Result<NodeInfo> {
        self.get("/v1/node", &[]).await
    }

    /// `GET /v1/log/sth`, checked against the pinned key.
    pub async fn sth(&self) -> Result<SignedTreeHead> {
        let sth: SignedTreeHead = self.get("/v1/log/sth", &[]).await?;
        sth.verify(&self.node_key).map_err(|e| invalid("tree head signature", e))?;
        Ok(sth)
    }

    /// `POST /v1/transactions`: returns once the write is durable. The
    /// receipt is checked to name the leaf of exactly this transaction
    /// ([`check_receipt`]). A refusal is a [`ClientError::Problem`] whose
    /// `code` says why (e.g. `sequence`: fetch [`LedgerClient::author`]
    /// again and re-sign).
    pub async fn submit(&self, tx: &SignedTransaction) -> Result<Receipt> {
        let t = &self.transport;
        let (status, body) = t.send(t.http.post(t.url("/v1/transactions")).json(tx)).await?;
        if !status.is_success() {
            return Err(problem(status, &body));
        }
        let receipt: Receipt = decode("receipt", &body)?;
        check_receipt(tx, &receipt)?;
        Ok(receipt)
    }

    /// `GET /v1/authors/{did}`: the next write of `did` uses `seq + 1`.
    pub async fn author(&self, did: &Did) -> Result<AuthorInfo> {
        let info: AuthorInfo = self.get(&format!("/v1/authors/{did}"), &[]).await?;
        if &info.did != did {
            return Err(ClientError::Decode(format!("asked about {did}, got {}", info.did)));
        }
        Ok(info)
    }

    /// `GET /v1/log/entries/{index}`, checked to be self-consistent
    /// ([`check_entry`]). It is not proved to be in the log; for that,
    /// check an [`LedgerClient::inclusion_proof`] with [`check_inclusion`].
    pub async fn entry(&self, index: u64) -> Result<LogEntry> {
        let entry: LogEntry = self.get(&format!("/v1/log/entries/{index}"), &[]).await?;
        check_entry(index, &entry)?;
        Ok(entry)
    }

    /// `GET /v1/log/proof/inclusion`.
    pub async fn inclusion_proof(&self, leaf_index: u64, tree_size: u64) -> Result<InclusionProof> {
        let query = [("leaf_index", leaf_index.to_string()), ("tree_size", tree_size.to_string())];
        let proof: InclusionProof = self.get("/v1/log/proof/inclusion", &query).await?;
        if (proof.leaf_index, proof.tree_size) != (leaf_index, tree_size) {
            return Err(invalid("inclusion proof", "the node answered for another leaf or size"));
        }
        Ok(proof)
    }

    /// `GET /v1/log/proof/consistency`.
    pub async fn consistency_proof(&self, first: u64, second: u64) -> Result<ConsistencyProof> {
        let query = [("first", first.to_string()), ("second", second.to_string())];
        let proof: ConsistencyProof = self.get("/v1/log/proof/consistency", &query).await?;
        if (proof.first, proof.second) != (first, second) {
            return Err(invalid("consistency proof", "the node answered for other sizes"));
        }
        Ok(proof)
    }

    /// Checks that `new` extends `old`: both signed by the pinned key, and a
    /// consistency proof (RFC 6962 §2.1.2) from the node leads from one root
    /// to the other. A failure means the node forked or rewrote its log.
    pub async fn verify_consistency(&self, old: &SignedTreeHead, new: &SignedTreeHead) -> Result<()> {
        old.verify(&self.node_key).map_err(|e| invalid("old tree head signature", e))?;
        new.verify(&self.node_key).map_err(|e| invalid("new tree head signature", e))?;
        let old_root = old.root().map_err(|e| invalid("old tree head", e))?;
        let new_root = new.root().map_err(|e| invalid("new tree head", e))?;
        let proof = if old.tree_size == 0 || old.tree_size >= new.tree_size {
            // Nothing to fetch: the empty tree is consistent with every tree,
            // equal sizes need equal roots, and a log never shrinks.
            Vec::new()
        } else {
            let p = self.consistency_proof(old.tree_size, new.tree_size).await?;
            decode_hashes("consistency", &p.consistency).map_err(|e| invalid("consistency proof", e))?
        };
        merkle::verify_consistency(old.tree_size, new.tree_size, &old_root, &new_root, &proof)
            .map_err(|e| invalid("consistency proof", e))
    }

    /// A ledger object (`{owner}/{kind}/{name}`), latest version or
    /// `version` (1-based), proved against the node's current signed tree
    /// head: the leaf it names is fetched and must be the owner's
    /// `object.put` of this content, included in that head ([`check_object`]).
    pub async fn object(&self, id: &str, version: Option<u64>) -> Result<ObjectView> {
        let query: Vec<(&str, String)> = version.map(|v| ("version", v.to_string())).into_iter().collect();
        let view: ObjectView = self.get(&format!("/v1/objects/{id}"), &query).await?;
        let sth = self.sth().await?;
        let entry = self.entry(view.leaf_index).await?;
        let proof = self.inclusion_proof(view.leaf_index, sth.tree_size).await?;
        if version.is_some_and(|v| v != view.version) {
            return Err(invalid("object version", format!("asked for version {version:?}, got {}", view.version)));
        }
        check_object(&self.node_key, id, &view, &entry, &proof, &sth)?;
        Ok(view)
    }

    /// Resolves `did` (`GET /1.0/identifiers/{did}`) and checks the answer
    /// against the log with [`check_resolution`] before returning it. An
    /// unknown DID is [`ClientError::NotFound`]; a deactivated one is a
    /// verified answer with `deactivated: true`.
    pub async fn resolve(&self, did: &Did, options: &ResolveOptions) -> Result<VerifiedResolution> {
        let mut query = Vec::new();
        if let Some(v) = &options.version_id {
            query.push(("versionId", v.clone()));
        }
        if let Some(t) = &options.version_time {
            query.push(("versionTime", t.clone()));
        }
        let t = &self.transport;
        let request = t
            .http
            .get(t.url(&format!("/1.0/identifiers/{did}")))
            .header(reqwest::header::ACCEPT, RESOLUTION_MEDIA_TYPE)
            .query(&query);
        let (status, body) = t.send(request).await?;
        let gone = match status {
            StatusCode::OK => false,
            StatusCode::GONE => true,
            StatusCode::NOT_FOUND => return Err(ClientError::NotFound),
            s => return Err(problem(s, &body)),
        };
        let result: ResolutionResult = decode("resolution result", &body)?;
        check_resolution(&self.node_key, did, options, result, gone)
    }
}

/// Loyalty reads (`/v1/loyalty/*`, `/v1/log/recent`). These are the node's
/// answers about its state as of `treeSize`, *not* proved against a tree
/// head: what a value is cannot be proved by an inclusion proof alone. Every
/// leaf they name can be fetched and proved with [`LedgerClient::entry`] and
/// [`LedgerClient::inclusion_proof`], and the whole state recomputed from
/// the log. An unknown token, benefit or unit is [`ClientError::NotFound`].
impl LedgerClient {
    /// `GET /v1/loyalty/tokens`.
    pub async fn loyalty_tokens(&self) -> Result<TokensPage> {
        self.get("/v1/loyalty/tokens", &[]).await
    }

    /// `GET /v1/loyalty/tokens/{token}`.
    pub async fn loyalty_token(&self, token: &Did) -> Result<AsOf<TokenView>> {
        self.get(&format!("/v1/loyalty/tokens/{token}"), &[]).await
    }

    /// `GET /v1/loyalty/market`: exchange rates and commission.
    pub async fn loyalty_market(&self) -> Result<MarketView> {
        self.get("/v1/loyalty/market", &[]).await
    }

    /// `GET /v1/loyalty/accounts/{did}`: balances and units (empty if unknown).
    pub async fn loyalty_account(&self, account: &Did) -> Result<AccountView> {
        self.get(&format!("/v1/loyalty/accounts/{account}"), &[]).await
    }

    /// `GET /v1/loyalty/accounts/{did}/history`, newest first.
    pub async fn loyalty_history(&self, account: &Did, before: Option<u64>, limit: Option<u32>) -> Result<HistoryPage> {
        let mut query = Vec::new();
        push_query(&mut query, "before", before);
        push_query(&mut query, "limit", limit);
        self.get(&format!("/v1/loyalty/accounts/{account}/history"), &query).await
    }

    /// `GET /v1/loyalty/benefits`, newest first.
    pub async fn loyalty_benefits(&self, q: &BenefitQuery) -> Result<BenefitsPage> {
        let mut query = Vec::new();
        push_query(&mut query, "company", q.company.as_ref());
        push_query(&mut query, "category", q.category.as_ref());
        push_query(&mut query, "q", q.q.as_ref());
        push_query(&mut query, "available", q.available);
        push_query(&mut query, "before", q.before);
        push_query(&mut query, "limit", q.limit);
        self.get("/v1/loyalty/benefits", &query).await
    }

    /// `GET /v1/loyalty/benefits/{did}`.
    pub async fn loyalty_benefit(&self, benefit: &Did) -> Result<AsOf<BenefitView>> {
        self.get(&format!("/v1/loyalty/benefits/{benefit}"), &[]).await
    }

    /// `GET /v1/loyalty/benefits/{did}/units/{unit}`.
    pub async fn loyalty_unit(&self, benefit: &Did, unit: u64) -> Result<AsOf<UnitView>> {
        self.get(&format!("/v1/loyalty/benefits/{benefit}/units/{unit}"), &[]).await
    }

    /// `GET /v1/loyalty/offers`, newest offer first.
    pub async fn loyalty_offers(&self, q: &OfferQuery) -> Result<OffersPage> {
        let mut query = Vec::new();
        let kind = q.kind.map(|k| match k {
            OfferKind::Sale => "sale",
            OfferKind::Swap => "swap",
        });
        push_query(&mut query, "kind", kind);
        push_query(&mut query, "before", q.before);
        push_query(&mut query, "limit", q.limit);
        self.get("/v1/loyalty/offers", &query).await
    }

    /// `GET /v1/loyalty/settlement?from&to` (ms since the epoch, `[from, to)`).
    pub async fn loyalty_settlement(&self, from: u64, to: u64) -> Result<SettlementReport> {
        self.get("/v1/loyalty/settlement", &[("from", from.to_string()), ("to", to.to_string())]).await
    }

    /// `GET /v1/log/recent`: the latest entries, of one type if given,
    /// newest first (a bounded backwards scan: follow `next`).
    pub async fn recent(&self, tx_type: Option<TxType>, before: Option<u64>, limit: Option<u32>) -> Result<RecentPage> {
        let mut query = Vec::new();
        push_query(&mut query, "type", tx_type.map(TxType::as_str));
        push_query(&mut query, "before", before);
        push_query(&mut query, "limit", limit);
        self.get("/v1/log/recent", &query).await
    }
}

fn push_query(query: &mut Vec<(&'static str, String)>, name: &'static str, value: Option<impl ToString>) {
    if let Some(v) = value {
        query.push((name, v.to_string()));
    }
}

/// Checks that a receipt names the leaf of `tx`: its leaf hash must be
/// `leaf_hash(LeafInput::encode(receipt.timestamp, tx.canonical_bytes()))`.
pub fn check_receipt(tx: &SignedTransaction, receipt: &Receipt) -> Result<()> {
    let canonical = tx.canonical_bytes().map_err(|e| ClientError::Decode(e.to_string()))?;
    let expected = merkle::leaf_hash(&LeafInput::encode(receipt.timestamp, &canonical));
    let got = b64::decode_hash("leaf_hash", &receipt.leaf_hash).map_err(|e| invalid("receipt leaf hash", e))?;
    if got != expected {
        return Err(invalid("receipt leaf hash", "does not hash this transaction at the receipt's timestamp"));
    }
    if receipt.leaf_index >= receipt.tree_size {
        return Err(invalid(
            "receipt",
            format!("leaf {} is outside tree size {}", receipt.leaf_index, receipt.tree_size),
        ));
    }
    Ok(())
}

/// Checks that a log entry is what it says: at `index`, and its
/// `leaf_input` decodes to the same transaction and timestamp.
pub fn check_entry(index: u64, entry: &LogEntry) -> Result<LeafInput> {
    if entry.leaf_index != index {
        return Err(invalid("entry index", format!("asked for leaf {index}, got {}", entry.leaf_index)));
    }
    let leaf = decode_leaf(&entry.leaf_input)?;
    if leaf.tx != entry.tx || leaf.timestamp_ms != entry.timestamp {
        return Err(invalid("entry leaf input", "does not encode the entry's transaction and timestamp"));
    }
    Ok(leaf)
}

fn decode_leaf(leaf_input_b64: &str) -> Result<LeafInput> {
    let bytes = b64::decode("leaf_input", leaf_input_b64).map_err(|e| invalid("leaf input", e))?;
    LeafInput::decode(&bytes).map_err(|e| invalid("leaf input", e))
}

/// Checks that `leaf_input` (base64) is leaf `leaf_index` of the tree `sth`
/// signs: the head is signed by `node_key` and the audit path leads from
/// the leaf hash to its root (RFC 6962 §2.1.1).
pub fn check_inclusion(
    node_key: &PublicKey,
    sth: &SignedTreeHead,
    leaf_index: u64,
    leaf_input_b64: &str,
    audit_path: &[String],
) -> Result<()> {
    sth.verify(node_key).map_err(|e| invalid("tree head signature", e))?;
    let root = sth.root().map_err(|e| invalid("tree head root", e))?;
    let input = b64::decode("leaf_input", leaf_input_b64).map_err(|e| invalid("leaf input", e))?;
    let path: Vec<Hash> = decode_hashes("audit_path", audit_path).map_err(|e| invalid("audit path", e))?;
    merkle::verify_inclusion(leaf_index, sth.tree_size, &merkle::leaf_hash(&input), &path, &root)
        .map_err(|e| invalid("inclusion proof", e))
}

/// Checks an object view against its leaf and an inclusion proof in `sth`.
pub fn check_object(
    node_key: &PublicKey,
    id: &str,
    view: &ObjectView,
    entry: &LogEntry,
    proof: &InclusionProof,
    sth: &SignedTreeHead,
) -> Result<()> {
    if view.id != id {
        return Err(invalid("object id", format!("asked for {id}, got {}", view.id)));
    }
    let leaf = check_entry(view.leaf_index, entry)?;
    if leaf.tx.tx_type != TxType::ObjectPut || leaf.tx.author != view.owner {
        return Err(invalid("object leaf", format!("leaf {} is not an object.put by {}", view.leaf_index, view.owner)));
    }
    let put: ObjectPut = leaf.tx.payload_as().map_err(|e| invalid("object leaf", e))?;
    let written = put.object_id(&leaf.tx.author).map_err(|e| invalid("object leaf", e))?;
    if written != id || put.content != view.content || leaf.timestamp_ms != view.timestamp {
        return Err(invalid("object content", format!("leaf {} did not write this content to {id}", view.leaf_index)));
    }
    if proof.leaf_index != view.leaf_index || proof.tree_size != sth.tree_size {
        return Err(invalid("inclusion proof", "is for another leaf or tree size"));
    }
    check_inclusion(node_key, sth, view.leaf_index, &entry.leaf_input, &proof.audit_path)
}

fn parse_version_time(t: &str) -> Result<u64> {
    let at = OffsetDateTime::parse(t, &Rfc3339).map_err(|e| ClientError::Decode(format!("versionTime `{t}`: {e}")))?;
    Ok(u64::try_from(at.unix_timestamp()).unwrap_or(0))
}

/// Checks a DID resolution answer against the log; the one place where a
/// resolution is verified. `gone` is whether the node answered HTTP 410
/// (deactivated). Each failure is [`ClientError::InvalidProof`] naming the
/// check:
///
/// 1. `ledger proof`: `didDocumentMetadata.ledger` is present;
/// 2. `tree head signature`: its STH is signed by `node_key`;
/// 3. `tree head`: the proof's `tree_size` and root are the STH's;
/// 4. `leaf input`: the leaf decodes ([`LeafInput::decode`], canonical JCS);
/// 5. `inclusion proof`: the audit path leads from the leaf to the root;
/// 6. `leaf author` / `leaf type` / `document`: the leaf's transaction sets
///    what is returned: a `did.create` or `did.update` by the DID whose
///    `document` equals `didDocument`; the `genesis`, whose `trustees`
///    include exactly `didDocument`; or, for a 410 answer, a
///    `did.deactivate` by the DID with `deactivated: true` in the metadata;
/// 7. `versionId` / `versionTime`: a requested version is the one answered
///    (create or genesis for `1`, an update otherwise), and the leaf was
///    written no later than a requested time.
pub fn check_resolution(
    node_key: &PublicKey,
    did: &Did,
    options: &ResolveOptions,
    result: ResolutionResult,
    gone: bool,
) -> Result<VerifiedResolution> {
    let meta = &result.did_document_metadata;
    let proof = meta.ledger.as_ref().ok_or_else(|| invalid("ledger proof", "didDocumentMetadata.ledger is missing"))?;
    let sth = &proof.sth;
    sth.verify(node_key).map_err(|e| invalid("tree head signature", e))?;
    if proof.tree_size != sth.tree_size {
        return Err(invalid(
            "tree head",
            format!("proof is for size {} but the head signs size {}", proof.tree_size, sth.tree_size),
        ));
    }
    let root = sth.root().map_err(|e| invalid("tree head", e))?;
    let claimed_root =
        b64::decode_hash("sha256_root_hash", &proof.sha256_root_hash).map_err(|e| invalid("tree head", e))?;
    if claimed_root != root {
        return Err(invalid("tree head", "proof root differs from the signed root"));
    }
    let leaf = decode_leaf(&proof.leaf_input)?;
    check_inclusion(node_key, sth, proof.leaf_index, &proof.leaf_input, &proof.audit_path)?;

    let tx = &leaf.tx;
    let at = proof.leaf_index;
    let returned: Option<DidDocument> = match &result.did_document {
        Some(v) => {
            Some(DidDocument::deserialize(v).map_err(|e| invalid("document", format!("not a DID document: {e}")))?)
        }
        None => None,
    };
    let proved: DidDocument = match tx.tx_type {
        TxType::Genesis => {
            let genesis: Genesis = tx.payload_as().map_err(|e| invalid("leaf type", e))?;
            genesis
                .trustees
                .into_iter()
                .find(|d| &d.id == did)
                .ok_or_else(|| invalid("leaf author", format!("the genesis (leaf {at}) does not found {did}")))?
        }
        TxType::DidCreate | TxType::DidUpdate | TxType::DidDeactivate if &tx.author != did => {
            return Err(invalid("leaf author", format!("leaf {at} was written by {}, not {did}", tx.author)));
        }
        TxType::DidCreate => tx.payload_as::<DidCreate>().map_err(|e| invalid("leaf type", e))?.document,
        TxType::DidUpdate => tx.payload_as::<DidUpdate>().map_err(|e| invalid("leaf type", e))?.document,
        TxType::DidDeactivate => {
            if !gone || meta.deactivated != Some(true) {
                return Err(invalid(
                    "leaf type",
                    format!("leaf {at} deactivates {did} but the answer is not \"deactivated\""),
                ));
            }
            check_version_time(options, &leaf)?;
            let sth = sth.clone();
            return Ok(VerifiedResolution { result, document: None, deactivated: true, sth });
        }
        other => return Err(invalid("leaf type", format!("leaf {at} is a {other}, which sets no DID document"))),
    };
    if gone {
        return Err(invalid("leaf type", format!("the answer is \"deactivated\" but leaf {at} is a {}", tx.tx_type)));
    }
    if returned.as_ref() != Some(&proved) || &proved.id != did {
        return Err(invalid("document", format!("didDocument is not the document leaf {at} sets for {did}")));
    }
    let first_version = matches!(tx.tx_type, TxType::Genesis | TxType::DidCreate);
    match meta.version_id.as_deref() {
        Some("1") if !first_version => {
            return Err(invalid("versionId", format!("version 1 must be a create, leaf {at} is a {}", tx.tx_type)))
        }
        Some(v) if v != "1" && first_version => {
            return Err(invalid("versionId", format!("version {v} must be an update, leaf {at} is a {}", tx.tx_type)))
        }
        _ => {}
    }
    if let Some(asked) = &options.version_id {
        if meta.version_id.as_ref() != Some(asked) {
            return Err(invalid("versionId", format!("asked for version {asked}, got {:?}", meta.version_id)));
        }
    }
    check_version_time(options, &leaf)?;
    let sth = sth.clone();
    Ok(VerifiedResolution { result, document: Some(proved), deactivated: false, sth })
}

fn check_version_time(options: &ResolveOptions, leaf: &LeafInput) -> Result<()> {
    if let Some(t) = &options.version_time {
        if leaf.timestamp_ms / 1000 > parse_version_time(t)? {
            return Err(invalid("versionTime", format!("the proved leaf was written after {t}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::log::tree::MerkleTree;
    use crate::node::sign_tree_head;
    use ed25519_dalek::{Signer as _, SigningKey};
    use idelta_types::resolution::{DocumentMetadata, LedgerProof, ResolutionMetadata};
    use idelta_types::tx::{DidDeactivate, ObjectKind, Role, RoleGrant};

    struct Party {
        key: SigningKey,
        did: Did,
    }

    fn party(seed: u8) -> Party {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let did = Did::idelta_from_key(&PublicKey::Ed25519(key.verifying_key()));
        Party { key, did }
    }

    fn doc(p: &Party) -> DidDocument {
        DidDocument::with_ed25519_key(&p.did, &PublicKey::Ed25519(p.key.verifying_key()), vec![])
    }

    fn signed<P: serde::Serialize>(t: TxType, p: &Party, seq: u64, payload: &P) -> SignedTransaction {
        let mut tx = SignedTransaction::new(t, p.did.clone(), seq, payload, None).unwrap();
        tx.add_signature(p.did.with_fragment("key-1"), |m| p.key.sign(m).to_bytes()).unwrap();
        tx
    }

    /// A small log: genesis (trustees a, b), create c, update c, grant,
    /// deactivate c, object put by c.
    struct Fixture {
        node: SigningKey,
        leaves: Vec<Vec<u8>>,
        tree: MerkleTree,
        a: Party,
        b: Party,
        c: Party,
        c_updated: DidDocument,
    }

    const T0: u64 = 1_700_000_000_000;

    fn fixture() -> Fixture {
        let (a, b, c) = (party(1), party(2), party(3));
        let genesis =
            signed(TxType::Genesis, &a, 1, &Genesis { network: "t".into(), trustees: vec![doc(&a), doc(&b)] });
        let create = signed(TxType::DidCreate, &c, 1, &DidCreate { document: doc(&c) });
        let mut c_updated = doc(&c);
        c_updated.service.push(idelta_types::Service {
            id: c.did.with_fragment("web"),
            kind: "LinkedDomains".into(),
            service_endpoint: "https://example.com".into(),
        });
        let update = signed(TxType::DidUpdate, &c, 2, &DidUpdate { document: c_updated.clone() });
        let grant = signed(TxType::RoleGrant, &a, 2, &RoleGrant { did: c.did.clone(), role: Role::Endorser });
        let put = signed(
            TxType::ObjectPut,
            &c,
            3,
            &ObjectPut { kind: ObjectKind::Schema, name: "s".into(), content: serde_json::json!({"x": 1}) },
        );
        let deactivate = signed(TxType::DidDeactivate, &c, 4, &DidDeactivate {});
        let mut leaves = Vec::new();
        let mut tree = MerkleTree::new();
        for (i, tx) in [genesis, create, update, grant, put, deactivate].iter().enumerate() {
            let input = LeafInput::encode(T0 + 1000 * i as u64, &tx.canonical_bytes().unwrap());
            tree.push(merkle::leaf_hash(&input));
            leaves.push(input);
        }
        Fixture { node: SigningKey::from_bytes(&[9; 32]), leaves, tree, a, b, c, c_updated }
    }

    impl Fixture {
        fn key(&self) -> PublicKey {
            PublicKey::Ed25519(self.node.verifying_key())
        }

        fn sth(&self) -> SignedTreeHead {
            let size = self.tree.len();
            sign_tree_head(&self.node, T0 + 10_000, size, &self.tree.root(size).unwrap())
        }

        /// What an honest node answers for leaf `index` and `document`.
        fn answer(&self, index: u64, document: &DidDocument, version: &str, deactivated: bool) -> ResolutionResult {
            let sth = self.sth();
            let path = self.tree.inclusion_proof(index, sth.tree_size).unwrap();
            ResolutionResult {
                did_document: Some(serde_json::to_value(document).unwrap()),
                did_document_metadata: DocumentMetadata {
                    deactivated: deactivated.then_some(true),
                    version_id: Some(version.into()),
                    ledger: Some(LedgerProof {
                        leaf_index: index,
                        tree_size: sth.tree_size,
                        sha256_root_hash: sth.sha256_root_hash.clone(),
                        audit_path: path.iter().map(b64::encode).collect(),
                        leaf_input: b64::encode(&self.leaves[index as usize]),
                        sth,
                    }),
                    ..Default::default()
                },
                did_resolution_metadata: ResolutionMetadata::default(),
            }
        }
    }

    fn ledger(r: &mut ResolutionResult) -> &mut LedgerProof {
        r.did_document_metadata.ledger.as_mut().unwrap()
    }

    fn none() -> ResolveOptions {
        ResolveOptions::default()
    }

    fn err_check(r: Result<VerifiedResolution>) -> String {
        match r {
            Err(ClientError::InvalidProof(m)) => m,
            other => panic!("expected InvalidProof, got {other:?}"),
        }
    }

    #[test]
    fn honest_answers_verify() {
        let f = fixture();
        let v = check_resolution(&f.key(), &f.c.did, &none(), f.answer(2, &f.c_updated, "2", false), false).unwrap();
        assert_eq!(v.document.as_ref(), Some(&f.c_updated));
        assert!(!v.deactivated);
        let v1 = ResolveOptions { version_id: Some("1".into()), version_time: None };
        check_resolution(&f.key(), &f.c.did, &v1, f.answer(1, &doc(&f.c), "1", false), false).unwrap();
        // A trustee founded by the genesis, not its author.
        let v = check_resolution(&f.key(), &f.b.did, &none(), f.answer(0, &doc(&f.b), "1", false), false).unwrap();
        assert_eq!(v.document, Some(doc(&f.b)));
        let v = check_resolution(&f.key(), &f.c.did, &none(), f.answer(5, &f.c_updated, "2", true), true).unwrap();
        assert!(v.deactivated && v.document.is_none());
        assert_eq!(v.into_active_document(), Err(ClientError::Deactivated));
    }

    #[test]
    fn tampered_answers_name_the_failing_check() {
        let f = fixture();
        let good = || f.answer(2, &f.c_updated, "2", false);
        let check = |r: ResolutionResult| err_check(check_resolution(&f.key(), &f.c.did, &none(), r, false));

        let mut r = good();
        r.did_document_metadata.ledger = None;
        assert!(check(r).starts_with("ledger proof"));

        let other = PublicKey::Ed25519(SigningKey::from_bytes(&[8; 32]).verifying_key());
        let e = err_check(check_resolution(&other, &f.c.did, &none(), good(), false));
        assert!(e.starts_with("tree head signature"), "{e}");

        let mut r = good();
        ledger(&mut r).sth.tree_size -= 1;
        assert!(check(r).starts_with("tree head signature"));

        let mut r = good();
        ledger(&mut r).tree_size -= 1;
        assert!(check(r).starts_with("tree head"));

        let mut r = good();
        ledger(&mut r).sha256_root_hash = b64::encode([0u8; 32]);
        assert!(check(r).starts_with("tree head"));

        let mut r = good();
        let p = ledger(&mut r);
        let mut hash = b64::decode_hash("h", &p.audit_path[0]).unwrap();
        hash[0] ^= 1;
        p.audit_path[0] = b64::encode(hash);
        assert!(check(r).starts_with("inclusion proof"));

        let mut r = good();
        ledger(&mut r).audit_path.pop();
        assert!(check(r).starts_with("inclusion proof"));

        let mut r = good();
        ledger(&mut r).leaf_index = 1;
        assert!(check(r).starts_with("inclusion proof"));

        // The leaf of another write, with its own valid proof.
        let mut r = good();
        let other_leaf = f.answer(1, &doc(&f.c), "1", false).did_document_metadata.ledger.unwrap();
        r.did_document_metadata.ledger = Some(other_leaf);
        assert!(check(r).starts_with("document"));

        let mut r = good();
        let mut bytes = f.leaves[2].clone();
        bytes[0] = 7;
        ledger(&mut r).leaf_input = b64::encode(&bytes);
        assert!(check(r).starts_with("leaf input"));

        // Non-canonical JSON in an otherwise well-formed leaf.
        let mut r = good();
        let leaf = LeafInput::decode(&f.leaves[2]).unwrap();
        ledger(&mut r).leaf_input =
            b64::encode(LeafInput::encode(leaf.timestamp_ms, &serde_json::to_vec_pretty(&leaf.tx).unwrap()));
        assert!(check(r).starts_with("leaf input"));

        let mut r = good();
        r.did_document = Some(serde_json::to_value(doc(&f.c)).unwrap());
        assert!(check(r).starts_with("document"));

        let mut r = good();
        r.did_document = None;
        assert!(check(r).starts_with("document"));

        // Someone else's create, honestly proved, offered for c.
        let e = err_check(check_resolution(&f.key(), &f.c.did, &none(), f.answer(0, &doc(&f.a), "1", false), false));
        assert!(e.starts_with("leaf author"), "{e}");
        let e = err_check(check_resolution(&f.key(), &f.a.did, &none(), f.answer(2, &f.c_updated, "2", false), false));
        assert!(e.starts_with("leaf author"), "{e}");

        // A role grant sets no document.
        let e = err_check(check_resolution(&f.key(), &f.a.did, &none(), f.answer(3, &doc(&f.a), "2", false), false));
        assert!(e.starts_with("leaf type"), "{e}");

        // 410 with a create leaf; 200 with a deactivation leaf.
        let e = err_check(check_resolution(&f.key(), &f.c.did, &none(), good(), true));
        assert!(e.starts_with("leaf type"), "{e}");
        let e = err_check(check_resolution(&f.key(), &f.c.did, &none(), f.answer(5, &f.c_updated, "2", true), false));
        assert!(e.starts_with("leaf type"), "{e}");

        // Version claims.
        let mut r = good();
        r.did_document_metadata.version_id = Some("1".into());
        assert!(check(r).starts_with("versionId"));
        let v3 = ResolveOptions { version_id: Some("3".into()), version_time: None };
        let e = err_check(check_resolution(&f.key(), &f.c.did, &v3, good(), false));
        assert!(e.starts_with("versionId"), "{e}");
        let early = ResolveOptions { version_id: None, version_time: Some("2023-11-14T22:13:20Z".into()) };
        let e = err_check(check_resolution(&f.key(), &f.c.did, &early, good(), false));
        assert!(e.starts_with("versionTime"), "{e}");
        let late = ResolveOptions { version_id: None, version_time: Some("2030-01-01T00:00:00Z".into()) };
        check_resolution(&f.key(), &f.c.did, &late, good(), false).unwrap();
    }

    #[test]
    fn receipts_must_name_this_transaction() {
        let f = fixture();
        let leaf = LeafInput::decode(&f.leaves[1]).unwrap();
        let receipt = Receipt {
            leaf_index: 1,
            leaf_hash: b64::encode(merkle::leaf_hash(&f.leaves[1])),
            timestamp: leaf.timestamp_ms,
            tree_size: 2,
        };
        check_receipt(&leaf.tx, &receipt).unwrap();
        let other = LeafInput::decode(&f.leaves[2]).unwrap().tx;
        assert!(matches!(check_receipt(&other, &receipt), Err(ClientError::InvalidProof(_))));
        let shifted = Receipt { timestamp: receipt.timestamp + 1, ..receipt.clone() };
        assert!(check_receipt(&leaf.tx, &shifted).is_err());
        let outside = Receipt { tree_size: 1, ..receipt };
        assert!(check_receipt(&leaf.tx, &outside).is_err());
    }

    #[test]
    fn entries_and_objects_are_checked_against_their_leaf() {
        let f = fixture();
        let entry = |i: usize| {
            let leaf = LeafInput::decode(&f.leaves[i]).unwrap();
            LogEntry {
                leaf_index: i as u64,
                leaf_input: b64::encode(&f.leaves[i]),
                tx: leaf.tx,
                timestamp: leaf.timestamp_ms,
            }
        };
        check_entry(4, &entry(4)).unwrap();
        assert!(check_entry(3, &entry(4)).is_err());
        let mut e = entry(4);
        e.tx = entry(3).tx;
        assert!(check_entry(4, &e).is_err());
        let mut e = entry(4);
        e.timestamp += 1;
        assert!(check_entry(4, &e).is_err());

        let sth = f.sth();
        let id = format!("{}/schema/s", f.c.did);
        let view = ObjectView {
            id: id.clone(),
            owner: f.c.did.clone(),
            version: 1,
            versions: 1,
            content: serde_json::json!({"x": 1}),
            leaf_index: 4,
            timestamp: entry(4).timestamp,
        };
        let path = f.tree.inclusion_proof(4, sth.tree_size).unwrap();
        let proof = InclusionProof {
            leaf_index: 4,
            tree_size: sth.tree_size,
            audit_path: path.iter().map(b64::encode).collect(),
        };
        check_object(&f.key(), &id, &view, &entry(4), &proof, &sth).unwrap();
        check_inclusion(&f.key(), &sth, 4, &entry(4).leaf_input, &proof.audit_path).unwrap();
        assert!(check_inclusion(&f.key(), &sth, 3, &entry(4).leaf_input, &proof.audit_path).is_err());
        let changed = ObjectView { content: serde_json::json!({"x": 2}), ..view.clone() };
        assert!(check_object(&f.key(), &id, &changed, &entry(4), &proof, &sth).is_err());
        let other_owner = ObjectView { owner: f.a.did.clone(), ..view.clone() };
        assert!(check_object(&f.key(), &id, &other_owner, &entry(4), &proof, &sth).is_err());
        assert!(check_object(&f.key(), &id, &view, &entry(3), &proof, &sth).is_err());
        assert!(check_object(&f.key(), "x/schema/s", &view, &entry(4), &proof, &sth).is_err());
    }

    #[test]
    fn problem_documents_and_resolution_errors_are_parsed() {
        let body = br#"{"type":"about:blank","title":"Sequence","status":409,"detail":"expected 3","code":"sequence"}"#;
        assert_eq!(
            problem(StatusCode::CONFLICT, body),
            ClientError::Problem { status: 409, code: "sequence".into(), detail: "expected 3".into() }
        );
        let body = br#"{"didDocument":null,"didDocumentMetadata":{},"didResolutionMetadata":{"error":"invalidDid","errorMessage":"bad"}}"#;
        assert_eq!(
            problem(StatusCode::BAD_REQUEST, body),
            ClientError::Problem { status: 400, code: "invalidDid".into(), detail: "bad".into() }
        );
        assert!(matches!(problem(StatusCode::BAD_GATEWAY, b"<html>"), ClientError::Http(_)));
    }

    #[test]
    fn node_keys_parse_in_both_spellings() {
        let key = PublicKey::Ed25519(SigningKey::from_bytes(&[4; 32]).verifying_key());
        assert_eq!(parse_node_key(&key.to_multibase()).unwrap(), key);
        assert_eq!(parse_node_key(&node_signer_id(&key)).unwrap(), key);
        assert!(parse_node_key("z6Mkbogus").is_err());
        assert!(LedgerClient::new("ftp://x", key.clone()).is_err());
        assert_eq!(LedgerClient::new("http://127.0.0.1:1/", key).unwrap().base_url(), "http://127.0.0.1:1");
    }
}
