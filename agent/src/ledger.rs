//! The agent's side of the ledger: writing company DIDs with keys that
//! stay in the company's wallet, counter-signed by the operator's endorser
//! DID (Indy's author/endorser flow), through the typed client that checks
//! every proof.
//!
//! The operator's endorser key lives in the operator's own askar store. On
//! first start the agent creates it; a trustee then grants it the endorser
//! role. `idelta up` does that with the trustee key of the local ledger it
//! generated; against another ledger, the agent prints the command a
//! trustee runs.
//!
//! [`LedgerAccess::write`] writes as any [`Author`]: a company DID, an
//! employee's private `did:key` (its key in its sub-wallet; the ledger
//! lets such an author act on its own loyalty account only), or the
//! operator. Each author's last accepted sequence number is remembered, so
//! a write costs one round trip (no `author` lookup); a `sequence` refusal
//! (another process wrote as the same author) asks the ledger and retries
//! once.

use crate::db::Db;
use idelta_ledger_node::client::{ClientError, LedgerClient};
use idelta_ledger_node::keys::DevKeyStore;
use idelta_types::log::Receipt;
use idelta_types::signer::Signer as _;
use idelta_types::tx::{DidCreate, DidUpdate, ObjectPut, Role, RoleGrant};
use idelta_types::{Did, DidDocument, PublicKey, SignedTransaction, TxType, VerificationMethod};
use idelta_wallet::{CompanyWallet, Holder, KeyType, WalletSigner, Wallets};
use std::collections::HashMap;
use std::sync::Arc;

/// The operator's wallet name; company ids (`co-…`) can never take it.
pub const OPERATOR_WALLET: &str = "operator";

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// Returned when the ledger refuses or cannot be reached.
    #[error("ledger: {0}")]
    Client(#[from] ClientError),
    /// Returned when the wallet fails to create or use a key.
    #[error("wallet: {0}")]
    Wallet(#[from] idelta_wallet::Error),
    /// Returned when the operator's DID cannot endorse yet.
    #[error("{0}")]
    NotReady(String),
    /// Returned when a transaction cannot be built.
    #[error("{0}")]
    Build(String),
    /// Returned when the agent database fails.
    #[error("database: {0}")]
    Db(#[from] crate::db::DbError),
}

/// Ledger access with the operator as endorser.
pub struct LedgerAccess {
    client: LedgerClient,
    operator: CompanyWallet,
    endorser: Did,
    endorser_key: String,
    /// One turn per authoring DID, holding its last accepted sequence
    /// number when this process knows it: a write takes the next number,
    /// so two writes by one author from this process must not interleave,
    /// and a known number saves the `author` round trip. `None` means ask
    /// the ledger (first write, or the outcome of the last one is unknown).
    authors: parking_lot::Mutex<HashMap<Did, AuthorTurn>>,
    /// Company wallet keys (the operator's endorser key among them) loaded
    /// for signing writes, per (company, key id): an endorsement costs no
    /// wallet read. A rotation gives a company a new key id, so an entry
    /// never names a retired key.
    signers: parking_lot::Mutex<HashMap<(String, String), WalletSigner>>,
    /// The `capabilityInvocation` verification method of each (company
    /// DID, wallet key id), read once from the DID's document.
    controller_methods: parking_lot::Mutex<HashMap<(Did, String), String>>,
}

/// An author's turn to write, holding its last accepted sequence number.
type AuthorTurn = Arc<tokio::sync::Mutex<Option<u64>>>;

/// Most wallet signers remembered; past that the memory starts over.
const SIGNERS_CAPACITY: usize = 100_000;

/// Who signs a write as its author (besides the operator's endorsement).
#[derive(Clone, Copy, Debug)]
pub enum Author<'a> {
    /// A company's `did:idelta` DID, signed by its wallet key `key_id`.
    Company {
        /// The company's super-wallet.
        wallet: &'a CompanyWallet,
        /// The company DID (the author).
        did: &'a Did,
        /// The wallet key that controls the DID now.
        key_id: &'a str,
    },
    /// An employee's private `did:key`, signed by the key in its
    /// sub-wallet. The ledger accepts such an author for account
    /// operations only (its own balances and units).
    Employee {
        /// The employee's company's super-wallet.
        wallet: &'a CompanyWallet,
        /// The employee id (its sub-wallet).
        employee: &'a str,
        /// The employee's `did:key` (the author).
        did: &'a Did,
    },
    /// The operator's endorser DID, which holds a role and so writes
    /// without an endorsement (exchange rates, commission).
    Operator,
}

impl std::fmt::Debug for LedgerAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerAccess").field("endorser", &self.endorser).finish_non_exhaustive()
    }
}

/// The BLS12-381 G2 (bbs-2023) verification methods of `document`.
fn bbs_methods(document: &DidDocument) -> impl Iterator<Item = &VerificationMethod> {
    document
        .verification_method
        .iter()
        .filter(|m| matches!(PublicKey::from_multibase(&m.public_key_multibase), Ok(PublicKey::Bls12381G2(_))))
}

fn build(e: idelta_types::Error) -> LedgerError {
    LedgerError::Build(e.to_string())
}

/// Signs `tx` with a wallet key, as `signer`.
async fn wallet_sign(
    tx: &mut SignedTransaction,
    wallet: &CompanyWallet,
    holder: Holder<'_>,
    key_id: &str,
    signer: String,
) -> Result<(), LedgerError> {
    let sig = wallet.sign(holder, key_id, &tx.signing_input().map_err(build)?).await?;
    tx.push_signature(signer, &sig);
    Ok(())
}

impl LedgerAccess {
    /// Opens (or creates) the operator's endorser identity and makes sure it
    /// can endorse. With `trustee` (a development key store holding a
    /// trustee, as `idelta up` has), the agent registers it and grants the
    /// role itself; otherwise it says what a trustee must run.
    pub async fn bootstrap(
        client: LedgerClient,
        wallets: &Wallets,
        db: &Db,
        trustee: Option<&DevKeyStore>,
    ) -> Result<LedgerAccess, LedgerError> {
        let operator = match wallets.open(OPERATOR_WALLET).await {
            Ok(w) => w,
            Err(idelta_wallet::Error::NotFound(_)) => wallets.create(OPERATOR_WALLET).await?,
            Err(e) => return Err(e.into()),
        };
        let (endorser, endorser_key) = match (db.setting("endorser_did").await?, db.setting("endorser_key").await?) {
            (Some(did), Some(key)) => (did.parse().map_err(build)?, key),
            _ => {
                let key = operator.generate_key(Holder::Company, KeyType::Ed25519, &[("purpose", "endorser")]).await?;
                let did = Did::idelta_from_key(&key.public);
                db.set_setting("endorser_key", &key.id).await?;
                db.set_setting("endorser_did", did.as_str()).await?;
                (did, key.id)
            }
        };
        let access = LedgerAccess {
            client,
            operator,
            endorser,
            endorser_key,
            authors: Default::default(),
            signers: Default::default(),
            controller_methods: Default::default(),
        };
        let info = access.client.author(&access.endorser).await?;
        if info.role.is_none() {
            match trustee.and_then(|t| t.keys.first()) {
                Some(t) => access.enrol_with_trustee(t, info.exists).await?,
                None => tracing::warn!(
                    endorser = %access.endorser,
                    "the operator's endorser DID has no role yet; company registration waits until a trustee runs: \
                     idelta role grant --did {} --role endorser (and creates it first if it is not on the ledger)",
                    access.endorser
                ),
            }
        }
        Ok(access)
    }

    async fn enrol_with_trustee(
        &self,
        trustee: &idelta_ledger_node::keys::DevKey,
        exists: bool,
    ) -> Result<(), LedgerError> {
        let trustee_key = trustee.signing_key().map_err(|e| LedgerError::Build(e.to_string()))?;
        let sign_as_trustee = |tx: &mut SignedTransaction| {
            tx.add_signature(trustee.kid.clone(), |m| ed25519_dalek::Signer::sign(&trustee_key, m).to_bytes())
        };
        if !exists {
            let public = self.operator.public_key(Holder::Company, &self.endorser_key).await?;
            let document = DidDocument::with_ed25519_key(&self.endorser, &public, vec![]);
            let mut tx = SignedTransaction::new(
                TxType::DidCreate,
                self.endorser.clone(),
                1,
                &DidCreate { document },
                Some(trustee.did.clone()),
            )
            .map_err(build)?;
            wallet_sign(
                &mut tx,
                &self.operator,
                Holder::Company,
                &self.endorser_key,
                self.endorser.with_fragment("key-1"),
            )
            .await?;
            sign_as_trustee(&mut tx).map_err(build)?;
            self.client.submit(&tx).await?;
        }
        let seq = self.client.author(&trustee.did).await?.seq + 1;
        let mut grant = SignedTransaction::new(
            TxType::RoleGrant,
            trustee.did.clone(),
            seq,
            &RoleGrant { did: self.endorser.clone(), role: Role::Endorser },
            None,
        )
        .map_err(build)?;
        sign_as_trustee(&mut grant).map_err(build)?;
        self.client.submit(&grant).await?;
        tracing::info!(endorser = %self.endorser, "the operator's endorser DID holds the endorser role");
        Ok(())
    }

    /// The operator's endorser DID.
    pub fn endorser(&self) -> &Did {
        &self.endorser
    }

    /// The typed ledger client.
    pub fn client(&self) -> &LedgerClient {
        &self.client
    }

    async fn endorse_and_submit(&self, mut tx: SignedTransaction) -> Result<Receipt, LedgerError> {
        wallet_sign(&mut tx, &self.operator, Holder::Company, &self.endorser_key, self.endorser.with_fragment("key-1"))
            .await?;
        match self.client.submit(&tx).await {
            Err(ClientError::Problem { code, detail, .. }) if code == "invalid-endorser" => Err(LedgerError::NotReady(format!(
                "the operator's endorser DID {} cannot endorse yet ({detail}); a trustee runs: idelta role grant --did {} --role endorser",
                self.endorser, self.endorser
            ))),
            other => Ok(other?),
        }
    }

    /// Creates a `did:idelta` DID controlled by `key` (kept in `wallet`),
    /// endorsed by the operator.
    pub async fn create_did(
        &self,
        wallet: &CompanyWallet,
        key_id: &str,
        public: &PublicKey,
    ) -> Result<(Did, Receipt), LedgerError> {
        self.create_did_with_services(wallet, key_id, public, vec![]).await
    }

    /// Creates a `did:idelta` DID controlled by `key` (kept in `wallet`)
    /// whose document lists `services` (e.g. a benefit's `LoyaltyBenefit`
    /// service naming its company), endorsed by the operator.
    pub async fn create_did_with_services(
        &self,
        wallet: &CompanyWallet,
        key_id: &str,
        public: &PublicKey,
        services: Vec<idelta_types::Service>,
    ) -> Result<(Did, Receipt), LedgerError> {
        let did = Did::idelta_from_key(public);
        let document = DidDocument::with_ed25519_key(&did, public, services);
        let mut tx = SignedTransaction::new(
            TxType::DidCreate,
            did.clone(),
            1,
            &DidCreate { document },
            Some(self.endorser.clone()),
        )
        .map_err(build)?;
        wallet_sign(&mut tx, wallet, Holder::Company, key_id, did.with_fragment("key-1")).await?;
        Ok((did, self.endorse_and_submit(tx).await?))
    }

    /// Rotates `did` from the wallet key `old_key` to `new_public`: the
    /// update is signed by the current key, so only the controller can rotate.
    pub async fn rotate_key(
        &self,
        wallet: &CompanyWallet,
        did: &Did,
        old_key: &str,
        new_public: &PublicKey,
    ) -> Result<Receipt, LedgerError> {
        // Serialized with the author's other writes (a BBS key being added
        // meanwhile would otherwise be dropped, or take the same sequence number).
        let _turn = self.turn_asking_ledger(did).await;
        let current = self.client.resolve(did, &Default::default()).await?;
        let document = current.document.ok_or_else(|| LedgerError::Build(format!("{did} is deactivated")))?;
        let old_vm = document
            .capability_invocation
            .first()
            .cloned()
            .ok_or_else(|| LedgerError::Build(format!("{did} has no controller key")))?;
        let next_fragment = (1..)
            .map(|n| format!("key-{n}"))
            .find(|f| document.method(&did.with_fragment(f)).is_none())
            .unwrap_or_default();
        let mut next = DidDocument::with_ed25519_key(did, new_public, document.service.clone());
        let vm_id = did.with_fragment(&next_fragment);
        next.verification_method[0].id = vm_id.clone();
        next.authentication = vec![vm_id.clone()];
        next.assertion_method = vec![vm_id.clone()];
        next.capability_invocation = vec![vm_id];
        // The BBS keys stay: rotation replaces the Ed25519 controller key,
        // and bbs-2023 credentials keep verifying under their own key.
        for vm in bbs_methods(&document) {
            next.assertion_method.push(vm.id.clone());
            next.verification_method.push(vm.clone());
        }
        let seq = self.client.author(did).await?.seq + 1;
        let mut tx = SignedTransaction::new(
            TxType::DidUpdate,
            did.clone(),
            seq,
            &DidUpdate { document: next },
            Some(self.endorser.clone()),
        )
        .map_err(build)?;
        wallet_sign(&mut tx, wallet, Holder::Company, old_key, old_vm).await?;
        self.endorse_and_submit(tx).await
    }

    /// Adds the BLS12-381 G2 key `bbs_public` to `did`'s document as a
    /// Multikey listed under `assertionMethod` only (`#bbs-1`, or the next
    /// free `#bbs-N`), by a DID update signed with the controller's wallet
    /// key `controller_key` and endorsed by the operator. Returns the
    /// verification method id; when the key is already there (a retry),
    /// returns its id and writes nothing.
    pub async fn add_bbs_key(
        &self,
        wallet: &CompanyWallet,
        did: &Did,
        controller_key: &str,
        bbs_public: &PublicKey,
    ) -> Result<String, LedgerError> {
        let _turn = self.turn_asking_ledger(did).await;
        let current = self.client.resolve(did, &Default::default()).await?;
        let mut document = current.document.ok_or_else(|| LedgerError::Build(format!("{did} is deactivated")))?;
        let multibase = bbs_public.to_multibase();
        if let Some(vm) = bbs_methods(&document).find(|m| m.public_key_multibase == multibase) {
            return Ok(vm.id.clone());
        }
        let controller_vm = document
            .capability_invocation
            .first()
            .cloned()
            .ok_or_else(|| LedgerError::Build(format!("{did} has no controller key")))?;
        let vm_id = (1..)
            .map(|n| did.with_fragment(&format!("bbs-{n}")))
            .find(|id| document.method(id).is_none())
            .unwrap_or_default();
        document.verification_method.push(VerificationMethod {
            id: vm_id.clone(),
            kind: "Multikey".into(),
            controller: did.clone(),
            public_key_multibase: multibase,
        });
        document.assertion_method.push(vm_id.clone());
        let seq = self.client.author(did).await?.seq + 1;
        let mut tx = SignedTransaction::new(
            TxType::DidUpdate,
            did.clone(),
            seq,
            &DidUpdate { document },
            Some(self.endorser.clone()),
        )
        .map_err(build)?;
        wallet_sign(&mut tx, wallet, Holder::Company, controller_key, controller_vm).await?;
        self.endorse_and_submit(tx).await?;
        Ok(vm_id)
    }

    /// Writes a new version of the ledger object `{did}/{kind}/{name}`
    /// (a schema, credential definition or status list) authored by the
    /// company `did`, signed with its wallet key `key_id` under the
    /// verification method `vm`, and endorsed by the operator. Writes by
    /// one author are serialized here so that each takes the next
    /// sequence number.
    pub async fn put_object(
        &self,
        wallet: &CompanyWallet,
        did: &Did,
        key_id: &str,
        vm: &str,
        put: &ObjectPut,
    ) -> Result<Receipt, LedgerError> {
        let _turn = self.turn_asking_ledger(did).await;
        let seq = self.client.author(did).await?.seq + 1;
        let mut tx = SignedTransaction::new(TxType::ObjectPut, did.clone(), seq, put, Some(self.endorser.clone()))
            .map_err(build)?;
        wallet_sign(&mut tx, wallet, Holder::Company, key_id, vm.to_owned()).await?;
        self.endorse_and_submit(tx).await
    }

    /// Writes a new version of the ledger object `{endorser}/{kind}/{name}`
    /// authored by the operator's endorser DID itself: what the consortium
    /// publishes for everyone (the credential schemas). An author holding a
    /// role writes without an endorsement, so this fails with
    /// [`LedgerError::NotReady`] until a trustee has granted the role.
    pub async fn put_object_as_operator(&self, put: &ObjectPut) -> Result<Receipt, LedgerError> {
        let _turn = self.turn_asking_ledger(&self.endorser).await;
        let info = self.client.author(&self.endorser).await?;
        if info.role.is_none() {
            return Err(LedgerError::NotReady(format!(
                "the operator's endorser DID {} holds no role yet; a trustee runs: idelta role grant --did {} --role endorser",
                self.endorser, self.endorser
            )));
        }
        let mut tx =
            SignedTransaction::new(TxType::ObjectPut, self.endorser.clone(), info.seq + 1, put, None).map_err(build)?;
        wallet_sign(&mut tx, &self.operator, Holder::Company, &self.endorser_key, self.endorser.with_fragment("key-1"))
            .await?;
        Ok(self.client.submit(&tx).await?)
    }

    /// The author's turn to write, with its remembered sequence number.
    async fn turn(&self, did: &Did) -> tokio::sync::OwnedMutexGuard<Option<u64>> {
        let slot = Arc::clone(self.authors.lock().entry(did.clone()).or_default());
        slot.lock_owned().await
    }

    /// The author's turn, its remembered sequence number forgotten: for
    /// writes that read the number from the ledger themselves, after which
    /// the remembered one is stale.
    async fn turn_asking_ledger(&self, did: &Did) -> tokio::sync::OwnedMutexGuard<Option<u64>> {
        let mut turn = self.turn(did).await;
        *turn = None;
        turn
    }

    /// A signer of `holder`'s wallet key `key_id`. A company's keys are
    /// loaded once; a sub-wallet's key is loaded for every write, which is
    /// also the check that the sub-wallet still exists before anything is
    /// written (an employee removed meanwhile writes nothing).
    async fn signer(
        &self,
        wallet: &CompanyWallet,
        holder: Holder<'_>,
        key_id: &str,
    ) -> Result<WalletSigner, LedgerError> {
        if let Holder::Sub(_) = holder {
            return Ok(wallet.signer(holder, key_id).await?);
        }
        let key = (wallet.company().to_owned(), key_id.to_owned());
        if let Some(signer) = self.signers.lock().get(&key) {
            return Ok(signer.clone());
        }
        let signer = wallet.signer(holder, key_id).await?;
        let mut signers = self.signers.lock();
        if signers.len() >= SIGNERS_CAPACITY {
            signers.clear();
        }
        signers.insert(key, signer.clone());
        Ok(signer)
    }

    /// A signer of a company's wallet key `key_id`, loaded once (what
    /// issuance signs credentials and status lists with, too).
    pub async fn company_signer(&self, wallet: &CompanyWallet, key_id: &str) -> Result<WalletSigner, LedgerError> {
        self.signer(wallet, Holder::Company, key_id).await
    }

    /// The `capabilityInvocation` verification method of `did` whose key
    /// is the wallet key `key_id`, read once from the DID's document.
    async fn controller_method(&self, did: &Did, key_id: &str, public: &PublicKey) -> Result<String, LedgerError> {
        let cache_key = (did.clone(), key_id.to_owned());
        if let Some(vm) = self.controller_methods.lock().get(&cache_key) {
            return Ok(vm.clone());
        }
        let document = self.client.resolve(did, &Default::default()).await?.into_active_document()?;
        let multibase = public.to_multibase();
        let vm = document
            .capability_invocation
            .iter()
            .filter_map(|id| document.method(id))
            .find(|m| m.public_key_multibase == multibase)
            .map(|m| m.id.clone())
            .ok_or_else(|| {
                LedgerError::Build(format!("the wallet key {key_id} does not control {did} on the ledger"))
            })?;
        let mut methods = self.controller_methods.lock();
        if methods.len() >= SIGNERS_CAPACITY {
            methods.clear();
        }
        methods.insert(cache_key, vm.clone());
        Ok(vm)
    }

    /// The author DID, its signer and the verification method it signs as.
    async fn author_signer(&self, author: Author<'_>) -> Result<(Did, WalletSigner, String), LedgerError> {
        Ok(match author {
            Author::Company { wallet, did, key_id } => {
                let signer = self.signer(wallet, Holder::Company, key_id).await?;
                let vm = self.controller_method(did, key_id, signer.public_key()).await?;
                (did.clone(), signer, vm)
            }
            Author::Employee { wallet, employee, did } => {
                // A did:key's key id is its method-specific id, and so is
                // the fragment of its one verification method.
                let msid = did.method_specific_id();
                let signer = self.signer(wallet, Holder::Sub(employee), msid).await?;
                (did.clone(), signer, did.with_fragment(msid))
            }
            Author::Operator => {
                let signer = self.signer(&self.operator, Holder::Company, &self.endorser_key).await?;
                (self.endorser.clone(), signer, self.endorser.with_fragment("key-1"))
            }
        })
    }

    /// Writes a `tx_type` transaction with `payload` as `author`,
    /// counter-signed by the operator's endorser (unless the operator is
    /// the author), and returns its receipt.
    ///
    /// The author's next sequence number comes from memory when this
    /// process knows it, so a write costs one ledger round trip. A
    /// `sequence` refusal (someone else wrote as this author) asks the
    /// ledger and tries once more. Any other refusal spends no number; a
    /// failure whose outcome is unknown (no answer, a server error) makes
    /// the author's next write ask the ledger first.
    pub async fn write<P: serde::Serialize>(
        &self,
        author: Author<'_>,
        tx_type: TxType,
        payload: &P,
    ) -> Result<Receipt, LedgerError> {
        let payload = serde_json::to_value(payload).map_err(|e| LedgerError::Build(e.to_string()))?;
        let (did, signer, vm) = self.author_signer(author).await?;
        let endorsement = match author {
            Author::Operator => None,
            _ => Some(self.signer(&self.operator, Holder::Company, &self.endorser_key).await?),
        };
        let mut turn = self.turn(&did).await;
        let mut asked = false;
        loop {
            let seq = match *turn {
                Some(last) => last + 1,
                None => {
                    asked = true;
                    self.client.author(&did).await?.seq + 1
                }
            };
            let endorser = endorsement.as_ref().map(|_| self.endorser.clone());
            let mut tx = SignedTransaction::new(tx_type, did.clone(), seq, &payload, endorser).map_err(build)?;
            let input = tx.signing_input().map_err(build)?;
            tx.push_signature(vm.clone(), &signer.sign(&input).await.map_err(signing)?);
            if let Some(endorsement) = &endorsement {
                tx.push_signature(
                    self.endorser.with_fragment("key-1"),
                    &endorsement.sign(&input).await.map_err(signing)?,
                );
            }
            match self.client.submit(&tx).await {
                Ok(receipt) => {
                    *turn = Some(seq);
                    return Ok(receipt);
                }
                Err(ClientError::Problem { code, .. }) if code == "sequence" && !asked => *turn = None,
                Err(ClientError::Problem { status, code, detail }) if status < 500 => {
                    *turn = Some(seq - 1);
                    if code == "invalid-endorser" {
                        return Err(LedgerError::NotReady(format!(
                            "the operator's endorser DID {} cannot endorse yet ({detail}); a trustee runs: idelta role grant --did {} --role endorser",
                            self.endorser, self.endorser
                        )));
                    }
                    return Err(ClientError::Problem { status, code, detail }.into());
                }
                Err(e) => {
                    *turn = None;
                    return Err(e.into());
                }
            }
        }
    }
}

fn signing(e: idelta_types::signer::SignError) -> LedgerError {
    LedgerError::Build(e.to_string())
}
