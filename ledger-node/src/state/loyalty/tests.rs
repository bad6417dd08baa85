//! The loyalty rules on the pure state machine: every rule's happy path and
//! each rejection, atomicity (a refused transaction changes nothing),
//! supply conservation, the settlement worked example, and the race for
//! the last unit (64 buyers, 1000 rounds, in one batch and across batches).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::admission::admit;
use crate::state::{Accepted, Batch, State};
use ed25519_dalek::{Signer as _, SigningKey};
use idelta_types::loyalty::*;
use idelta_types::tx::DidCreate;
use idelta_types::{DidDocument, PublicKey, Service, SignedTransaction};
use serde::Serialize;

/// A signer: a `did:idelta` (company, benefit, operator) or an employee's `did:key`.
pub(crate) struct Party {
    pub(crate) key: SigningKey,
    pub(crate) did: Did,
    vm: String,
}

impl Party {
    fn seed(n: u32, tag: u8) -> SigningKey {
        let mut bytes = [tag; 32];
        bytes[..4].copy_from_slice(&n.to_le_bytes());
        SigningKey::from_bytes(&bytes)
    }

    pub(crate) fn from_key(key: SigningKey) -> Party {
        let did = Did::idelta_from_key(&PublicKey::Ed25519(key.verifying_key()));
        Party { vm: did.with_fragment("key-1"), key, did }
    }

    pub(crate) fn idelta(n: u32) -> Party {
        Party::from_key(Party::seed(n, 1))
    }

    pub(crate) fn did_key(n: u32) -> Party {
        let key = Party::seed(n, 2);
        let mb = PublicKey::Ed25519(key.verifying_key()).to_multibase();
        let did: Did = format!("did:key:{mb}").parse().unwrap();
        Party { vm: did.with_fragment(&mb), key, did }
    }

    pub(crate) fn doc(&self, services: Vec<Service>) -> DidDocument {
        DidDocument::with_ed25519_key(&self.did, &PublicKey::Ed25519(self.key.verifying_key()), services)
    }

    /// A benefit DID's document naming `company`.
    pub(crate) fn benefit_doc(&self, company: &Did) -> DidDocument {
        self.doc(vec![Service {
            id: self.did.with_fragment(BENEFIT_SERVICE_FRAGMENT),
            kind: BENEFIT_SERVICE_TYPE.into(),
            service_endpoint: serde_json::Value::String(company.to_string()),
        }])
    }

    /// `t` by this party with `seq`, counter-signed by `endorser`.
    pub(crate) fn tx<P: Serialize>(
        &self,
        t: TxType,
        seq: u64,
        payload: &P,
        endorser: Option<&Party>,
    ) -> SignedTransaction {
        let mut tx =
            SignedTransaction::new(t, self.did.clone(), seq, payload, endorser.map(|e| e.did.clone())).unwrap();
        tx.add_signature(self.vm.clone(), |m| self.key.sign(m).to_bytes()).unwrap();
        if let Some(e) = endorser {
            tx.add_signature(e.vm.clone(), |m| e.key.sign(m).to_bytes()).unwrap();
        }
        tx
    }
}

type Verdict = Result<Accepted, Rejection>;

/// A ledger with a trustee (who also acts as operator and endorser).
struct World {
    state: State,
    next_leaf: u64,
    now: u64,
    op: Party,
    /// Accepted transactions with their batch time: the log.
    log: Vec<(u64, Admitted)>,
}

const T0: u64 = 1_700_000_000_000;

impl World {
    fn new() -> World {
        let op = Party::idelta(0);
        let mut w = World { state: State::default(), next_leaf: 0, now: T0, op, log: Vec::new() };
        let genesis = crate::genesis::build("test", std::slice::from_ref(&w.op.key)).unwrap();
        assert!(w.run(vec![genesis])[0].is_ok());
        w
    }

    fn run(&mut self, txs: Vec<SignedTransaction>) -> Vec<Verdict> {
        let admitted: Vec<_> = txs.into_iter().map(|t| admit(t).unwrap()).collect();
        self.now += 1000;
        let batch = Batch { first_leaf_index: self.next_leaf, timestamp_ms: self.now, txs: &admitted };
        let (changes, verdicts) = crate::state::apply(&self.state, &batch);
        self.state.commit(changes);
        self.next_leaf += verdicts.iter().filter(|v| v.is_ok()).count() as u64;
        let accepted = admitted.into_iter().zip(&verdicts).filter(|(_, v)| v.is_ok());
        self.log.extend(accepted.map(|(tx, _)| (self.now, tx)));
        verdicts
    }

    /// Replays the log one transaction per batch into a fresh state, as a
    /// restarting node would (with other batch boundaries): the books must
    /// come out the same.
    fn assert_replays(&self) {
        let mut fresh = World {
            state: State::default(),
            next_leaf: 0,
            now: 0,
            op: Party::from_key(self.op.key.clone()),
            log: Vec::new(),
        };
        for (i, (ts, tx)) in (0u64..).zip(&self.log) {
            let batch = Batch { first_leaf_index: i, timestamp_ms: *ts, txs: std::slice::from_ref(tx) };
            let (changes, verdicts) = crate::state::apply(&fresh.state, &batch);
            assert!(verdicts[0].is_ok(), "leaf {i} refused on replay: {:?}", verdicts[0]);
            fresh.state.commit(changes);
        }
        assert_eq!(fresh.snapshot(), self.snapshot());
        assert_eq!(fresh.state.tree_size(), self.state.tree_size());
        assert_eq!(fresh.books().settlement(), self.books().settlement());
        for account in self.books().accounts.keys() {
            assert_eq!(fresh.books().history(account), self.books().history(account));
        }
    }

    fn next_seq(&self, p: &Party) -> u64 {
        self.state.seq(&p.did) + 1
    }

    /// `t` by `p` with its next seq, endorsed by the operator unless `p` is it.
    fn tx<P: Serialize>(&self, p: &Party, t: TxType, payload: &P) -> SignedTransaction {
        let endorser = (p.did != self.op.did).then_some(&self.op);
        p.tx(t, self.next_seq(p), payload, endorser)
    }

    fn submit<P: Serialize>(&mut self, p: &Party, t: TxType, payload: &P) -> Verdict {
        let tx = self.tx(p, t, payload);
        self.run(vec![tx]).remove(0)
    }

    fn ok<P: Serialize>(&mut self, p: &Party, t: TxType, payload: &P) -> u64 {
        match self.submit(p, t, payload) {
            Ok(a) => a.leaf_index,
            Err(e) => panic!("{t} by {} refused: {e}", p.did),
        }
    }

    /// Submits and expects a refusal, checking it changed nothing.
    fn refused<P: Serialize>(&mut self, p: &Party, t: TxType, payload: &P) -> Rejection {
        let before = self.snapshot();
        let seq = self.state.seq(&p.did);
        let err = match self.submit(p, t, payload) {
            Ok(_) => panic!("{t} by {} was accepted", p.did),
            Err(e) => e,
        };
        assert_eq!(self.snapshot(), before, "a refused {t} changed the books");
        assert_eq!(self.state.seq(&p.did), seq);
        err
    }

    fn create_did(&mut self, p: &Party, doc: DidDocument) {
        self.ok(p, TxType::DidCreate, &DidCreate { document: doc });
    }

    /// A company DID with a token `symbol`, minted `supply`.
    fn company(&mut self, n: u32, symbol: &str, supply: u64) -> Party {
        let c = Party::idelta(n);
        self.create_did(&c, c.doc(vec![]));
        self.ok(&c, TxType::TokenCreate, &TokenCreate { symbol: symbol.into(), name: format!("{symbol} points") });
        if supply > 0 {
            self.ok(&c, TxType::TokenMint, &TokenMint { amount: supply });
        }
        c
    }

    /// A listed benefit of `company` with DID number `n`.
    fn benefit(&mut self, company: &Party, n: u32, terms: BenefitTerms) -> Did {
        let b = Party::idelta(n);
        self.create_did(&b, b.benefit_doc(&company.did));
        self.ok(company, TxType::BenefitCreate, &BenefitCreate { benefit: b.did.clone(), terms });
        b.did
    }

    fn pay(&mut self, from: &Party, token: &Did, to: &Did, amount: u64) {
        let op =
            TokenTransfer { token: token.clone(), transfers: vec![Transfer { to: to.clone(), amount }], memo: None };
        self.ok(from, TxType::TokenTransfer, &op);
    }

    fn rate(&mut self, token: &Did, unit_value: u64) {
        let op = self.op_party();
        self.ok(&op, TxType::MarketRate, &MarketRate { token: token.clone(), unit_value });
    }

    fn op_party(&self) -> Party {
        Party::from_key(self.op.key.clone())
    }

    fn books(&self) -> &Books {
        self.state.loyalty()
    }

    fn balance(&self, account: &Did, token: &Did) -> u64 {
        self.books().account(account).and_then(|a| a.balances.get(token).copied()).unwrap_or(0)
    }

    fn owner(&self, benefit: &Did, unit: u64) -> Did {
        self.books().unit(&(benefit.clone(), unit)).unwrap().owner.clone()
    }

    /// Supply equals the sum of balances, for every token.
    fn assert_conserved(&self) {
        for (token, record) in self.books().tokens() {
            let held: u128 =
                self.books().accounts.values().map(|a| u128::from(a.balances.get(token).copied().unwrap_or(0))).sum();
            assert_eq!(held, u128::from(record.supply), "supply of {token}");
        }
    }

    /// Everything the loyalty books hold, comparable.
    fn snapshot(&self) -> String {
        let b = self.books();
        let mut parts: Vec<String> = b.tokens.iter().map(|(d, t)| format!("T {d} {t:?}")).collect();
        parts.extend(b.accounts.iter().map(|(d, a)| format!("A {d} {a:?}")));
        parts.extend(b.benefits.iter().map(|(d, r)| format!("B {d} {r:?}")));
        parts.extend(b.units.iter().map(|(k, u)| format!("U {k:?} {u:?}")));
        parts.sort();
        parts.push(format!("C {:?} S {} O {:?}", b.commission, b.settlement.len(), b.offers));
        parts.join("\n")
    }
}

fn terms(price: u64, quantity: u64) -> BenefitTerms {
    BenefitTerms {
        name: "Cinema night".into(),
        description: "Two tickets".into(),
        category: "leisure".into(),
        price,
        quantity,
        valid_from: None,
        valid_until: None,
    }
}

fn purchase(benefit: &Did, pay_with: &Did, max_cost: u64) -> BenefitPurchase {
    BenefitPurchase { benefit: benefit.clone(), pay_with: pay_with.clone(), max_cost }
}

fn transfer(token: &Did, to: &[(&Did, u64)]) -> TokenTransfer {
    TokenTransfer {
        token: token.clone(),
        transfers: to.iter().map(|(d, amount)| Transfer { to: (*d).clone(), amount: *amount }).collect(),
        memo: Some("salary".into()),
    }
}

#[test]
fn tokens_mint_transfer_burn_and_conserve_supply() {
    let mut w = World::new();
    let a = w.company(1, "ACME", 1_000);
    let t = a.did.clone();
    let (e1, e2) = (Party::did_key(1), Party::did_key(2));
    let err = w.refused(&a, TxType::TokenCreate, &TokenCreate { symbol: "X".into(), name: "x".into() });
    assert_eq!(err, Rejection::TokenExists(t.clone()));

    // Bulk pay, one transaction.
    w.ok(&a, TxType::TokenTransfer, &transfer(&t, &[(&e1.did, 300), (&e2.did, 200)]));
    assert_eq!((w.balance(&t, &t), w.balance(&e1.did, &t), w.balance(&e2.did, &t)), (500, 300, 200));
    // An employee pays another from its own balance, with its did:key.
    w.ok(&e1, TxType::TokenTransfer, &transfer(&t, &[(&e2.did, 50)]));
    w.ok(&e2, TxType::TokenBurn, &TokenBurn { token: t.clone(), amount: 50 });
    assert_eq!(w.books().token(&t).unwrap().supply, 950);
    w.assert_conserved();

    // A bulk transfer one payment of which cannot be covered moves nothing.
    let err = w.refused(&a, TxType::TokenTransfer, &transfer(&t, &[(&e1.did, 400), (&e2.did, 101)]));
    assert_eq!(err, Rejection::InsufficientBalance { account: t.clone(), token: t.clone(), has: 500, needs: 501 });
    let err = w.refused(&e2, TxType::TokenBurn, &TokenBurn { token: t.clone(), amount: 201 });
    assert!(matches!(err, Rejection::InsufficientBalance { has: 200, needs: 201, .. }), "{err}");
    let err = w.refused(&a, TxType::TokenTransfer, &transfer(&t, &[(&a.did, 1)]));
    assert!(matches!(err, Rejection::Malformed(_)));
    let unknown = Party::idelta(99).did;
    let err = w.refused(&a, TxType::TokenTransfer, &transfer(&unknown, &[(&e1.did, 1)]));
    assert_eq!(err, Rejection::UnknownToken(unknown));
    // Minting past MAX_SUPPLY is refused; a token without create cannot mint.
    let err = w.refused(&a, TxType::TokenMint, &TokenMint { amount: MAX_SUPPLY });
    assert!(matches!(err, Rejection::Malformed(_)), "{err}");
    let b = Party::idelta(2);
    w.create_did(&b, b.doc(vec![]));
    assert_eq!(w.refused(&b, TxType::TokenMint, &TokenMint { amount: 1 }), Rejection::UnknownToken(b.did.clone()));
    w.assert_conserved();

    // History: newest last in the books, with this account's deltas only.
    let h = w.books().history(&e1.did);
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].deltas, vec![Delta { token: t.clone(), amount: 300 }]);
    assert_eq!(h[1].deltas, vec![Delta { token: t.clone(), amount: -50 }]);
    assert_eq!(h[1].author, e1.did);
}

#[test]
fn did_key_authors_only_their_account_operations() {
    let mut w = World::new();
    let a = w.company(1, "ACME", 100);
    let (e1, e2) = (Party::did_key(1), Party::did_key(2));
    w.pay(&a, &a.did.clone(), &e1.did, 60);
    // A did:key may not mint or list.
    let mint = e1.tx(TxType::TokenMint, 1, &TokenMint { amount: 1 }, Some(&w.op));
    assert!(matches!(admit(mint), Err(Rejection::Unauthorized(_))));
    // It needs the operator's endorsement like any author without a role.
    let unendorsed = e1.tx(TxType::TokenTransfer, 1, &transfer(&a.did, &[(&e2.did, 1)]), None);
    let v = w.run(vec![unendorsed]);
    assert!(matches!(v[0], Err(Rejection::EndorsementRequired { .. })), "{v:?}");
    // An employee cannot spend another's tokens: e2 signs a write authored by e1.
    let mut forged =
        SignedTransaction::new(TxType::TokenTransfer, e1.did.clone(), 1, &transfer(&a.did, &[(&e2.did, 60)]), None)
            .unwrap();
    forged.endorser = Some(w.op.did.clone());
    forged.add_signature(e1.vm.clone(), |m| e2.key.sign(m).to_bytes()).unwrap();
    forged.add_signature(w.op.vm.clone(), |m| w.op.key.sign(m).to_bytes()).unwrap();
    let v = w.run(vec![forged]);
    assert!(matches!(v[0], Err(Rejection::BadSignature(_))), "{v:?}");
    assert_eq!(w.balance(&e1.did, &a.did), 60);
    // A did:key signature under another vm id is refused.
    let mut other_vm = e1.tx(TxType::TokenTransfer, 1, &transfer(&a.did, &[(&e2.did, 1)]), None);
    other_vm.endorser = Some(w.op.did.clone());
    other_vm.signatures.clear();
    other_vm.add_signature(e1.did.with_fragment("key-1"), |m| e1.key.sign(m).to_bytes()).unwrap();
    other_vm.add_signature(w.op.vm.clone(), |m| w.op.key.sign(m).to_bytes()).unwrap();
    assert!(matches!(w.run(vec![other_vm])[0], Err(Rejection::BadSignature(_))));
    // The real one works, and its seq counts like any author's.
    w.ok(&e1, TxType::TokenTransfer, &transfer(&a.did, &[(&e2.did, 10)]));
    assert_eq!(w.state.seq(&e1.did), 1);
    assert_eq!(w.balance(&e2.did, &a.did), 10);
}

#[test]
fn benefit_did_rule() {
    let mut w = World::new();
    let a = w.company(1, "ACME", 0);
    let other = w.company(2, "OTHER", 0);
    let create = |b: &Did| BenefitCreate { benefit: b.clone(), terms: terms(5, 2) };
    let invalid = |e: Rejection| matches!(e, Rejection::InvalidBenefitDid { .. });

    let missing = Party::idelta(10);
    assert!(invalid(w.refused(&a, TxType::BenefitCreate, &create(&missing.did))));
    let plain = Party::idelta(11);
    w.create_did(&plain, plain.doc(vec![]));
    assert!(invalid(w.refused(&a, TxType::BenefitCreate, &create(&plain.did))));
    let foreign = Party::idelta(12);
    w.create_did(&foreign, foreign.benefit_doc(&other.did));
    assert!(invalid(w.refused(&a, TxType::BenefitCreate, &create(&foreign.did))));
    assert!(invalid(w.refused(&a, TxType::BenefitCreate, &create(&a.did))));

    let b = w.benefit(&a, 13, terms(5, 2));
    assert!(invalid(w.refused(&a, TxType::BenefitCreate, &create(&b))));
    // A company without a token cannot list.
    let tokenless = Party::idelta(3);
    w.create_did(&tokenless, tokenless.doc(vec![]));
    let d = Party::idelta(14);
    w.create_did(&d, d.benefit_doc(&tokenless.did));
    let err = w.refused(&tokenless, TxType::BenefitCreate, &create(&d.did));
    assert_eq!(err, Rejection::UnknownToken(tokenless.did.clone()));
    let r = w.books().benefit(&b).unwrap();
    assert_eq!((&r.company, r.sold, r.removed), (&a.did, 0, false));
}

#[test]
fn purchase_same_token_and_every_refusal() {
    let mut w = World::new();
    let a = w.company(1, "ACME", 1_000);
    let t = a.did.clone();
    let (e1, e2) = (Party::did_key(1), Party::did_key(2));
    w.pay(&a, &t, &e1.did, 100);
    w.pay(&a, &t, &e2.did, 5);
    let b = w.benefit(&a, 10, terms(30, 2));

    let leaf = w.ok(&e1, TxType::BenefitPurchase, &purchase(&b, &t, 30));
    assert_eq!(w.owner(&b, leaf), e1.did, "the unit is numbered by the purchase's leaf");
    assert_eq!((w.balance(&e1.did, &t), w.balance(&t, &t)), (70, 1000 - 105 + 30));
    assert!(w.books().account(&e1.did).unwrap().units.contains(&(b.clone(), leaf)));
    let h = w.books().history(&e1.did).last().unwrap().clone();
    assert_eq!((h.benefit.as_ref(), h.unit, h.tx_type), (Some(&b), Some(leaf), TxType::BenefitPurchase));

    let err = w.refused(&e1, TxType::BenefitPurchase, &purchase(&b, &t, 29));
    assert_eq!(err, Rejection::CostExceedsMax { cost: 30, max_cost: 29 });
    let err = w.refused(&e2, TxType::BenefitPurchase, &purchase(&b, &t, 30));
    assert_eq!(err, Rejection::InsufficientBalance { account: e2.did.clone(), token: t.clone(), has: 5, needs: 30 });
    let err = w.refused(&a, TxType::BenefitPurchase, &purchase(&b, &t, 30));
    assert!(matches!(err, Rejection::SelfDealing(_)), "a company cannot buy its own benefit: {err}");
    let unknown = Party::idelta(77).did;
    assert_eq!(
        w.refused(&e1, TxType::BenefitPurchase, &purchase(&unknown, &t, 30)),
        Rejection::UnknownBenefit(unknown)
    );

    w.ok(&e1, TxType::BenefitPurchase, &purchase(&b, &t, 30));
    assert_eq!(w.refused(&e1, TxType::BenefitPurchase, &purchase(&b, &t, 30)), Rejection::SoldOut(b.clone()));
    assert_eq!(w.books().benefit(&b).unwrap().sold, 2);

    // Validity is checked against the batch time: [validFrom, validUntil).
    let later = w.now + 10_000;
    let future = w.benefit(&a, 11, BenefitTerms { valid_from: Some(later), ..terms(1, 5) });
    let err = w.refused(&e1, TxType::BenefitPurchase, &purchase(&future, &t, 1));
    assert!(matches!(err, Rejection::BenefitNotValid { .. }), "{err}");
    let past = w.benefit(&a, 12, BenefitTerms { valid_until: Some(w.now), ..terms(1, 5) });
    let err = w.refused(&e1, TxType::BenefitPurchase, &purchase(&past, &t, 1));
    assert!(matches!(err, Rejection::BenefitNotValid { .. }), "{err}");
    w.assert_conserved();
}

#[test]
fn update_and_remove_belong_to_the_company() {
    let mut w = World::new();
    let a = w.company(1, "ACME", 1_000);
    let other = w.company(2, "OTHER", 0);
    let t = a.did.clone();
    let e1 = Party::did_key(1);
    w.pay(&a, &t, &e1.did, 100);
    let b = w.benefit(&a, 10, terms(10, 3));
    let unit = w.ok(&e1, TxType::BenefitPurchase, &purchase(&b, &t, 10));
    w.ok(&e1, TxType::BenefitPurchase, &purchase(&b, &t, 10));

    let update = |quantity| BenefitUpdate { benefit: b.clone(), terms: terms(12, quantity) };
    let err = w.refused(&other, TxType::BenefitUpdate, &update(5));
    assert!(matches!(err, Rejection::NotOwner { .. }), "{err}");
    let err = w.refused(&a, TxType::BenefitUpdate, &update(1));
    assert_eq!(err, Rejection::QuantityBelowSold { benefit: b.clone(), quantity: 1, sold: 2 });
    let leaf = w.ok(&a, TxType::BenefitUpdate, &update(2));
    let r = w.books().benefit(&b).unwrap();
    assert_eq!((r.terms.price, r.terms.quantity, r.updated_leaf_index), (12, 2, leaf));

    let remove = BenefitRemove { benefits: vec![b.clone()] };
    assert!(matches!(w.refused(&other, TxType::BenefitRemove, &remove), Rejection::NotOwner { .. }));
    w.ok(&a, TxType::BenefitRemove, &remove);
    assert_eq!(w.refused(&a, TxType::BenefitRemove, &remove), Rejection::BenefitRemoved(b.clone()));
    assert_eq!(w.refused(&a, TxType::BenefitUpdate, &update(5)), Rejection::BenefitRemoved(b.clone()));
    assert_eq!(w.refused(&e1, TxType::BenefitPurchase, &purchase(&b, &t, 99)), Rejection::BenefitRemoved(b.clone()));
    // Its units stay recorded but can no longer change hands.
    assert_eq!(w.owner(&b, unit), e1.did);
    let gift = UnitTransfer { benefit: b.clone(), unit, to: Party::did_key(2).did };
    assert_eq!(w.refused(&e1, TxType::UnitTransfer, &gift), Rejection::BenefitRemoved(b.clone()));
    let sale = UnitOffer { benefit: b.clone(), unit, offer: Offer::Sale(SaleOffer { token: t.clone(), price: 1 }) };
    assert_eq!(w.refused(&e1, TxType::UnitOffer, &sale), Rejection::BenefitRemoved(b));
}

#[test]
fn resale_gift_and_swap() {
    let mut w = World::new();
    let a = w.company(1, "ACME", 1_000);
    let t = a.did.clone();
    let (e1, e2, e3) = (Party::did_key(1), Party::did_key(2), Party::did_key(3));
    for e in [&e1, &e2, &e3] {
        w.pay(&a, &t, &e.did, 100);
    }
    let b = w.benefit(&a, 10, terms(10, 10));
    let c = w.benefit(&a, 11, terms(10, 10));
    let u1 = w.ok(&e1, TxType::BenefitPurchase, &purchase(&b, &t, 10));
    let u2 = w.ok(&e2, TxType::BenefitPurchase, &purchase(&c, &t, 10));

    // Resale in the same token: buyer pays the seller directly.
    let buy = UnitBuy { benefit: b.clone(), unit: u1, pay_with: t.clone(), max_cost: 50 };
    assert!(matches!(w.refused(&e3, TxType::UnitBuy, &buy), Rejection::NotOffered(_)));
    let sale =
        |price| UnitOffer { benefit: b.clone(), unit: u1, offer: Offer::Sale(SaleOffer { token: t.clone(), price }) };
    assert!(matches!(w.refused(&e3, TxType::UnitOffer, &sale(40)), Rejection::NotOwner { .. }));
    w.ok(&e1, TxType::UnitOffer, &sale(40));
    assert_eq!(w.books().offers_before(u64::MAX).count(), 1);
    let err = w.refused(&e1, TxType::UnitBuy, &buy);
    assert!(matches!(err, Rejection::SelfDealing(_)), "a seller cannot buy its own unit: {err}");
    let err = w.refused(&e3, TxType::UnitBuy, &UnitBuy { max_cost: 39, ..buy.clone() });
    assert_eq!(err, Rejection::CostExceedsMax { cost: 40, max_cost: 39 });
    let leaf = w.ok(&e3, TxType::UnitBuy, &buy);
    assert_eq!((w.balance(&e1.did, &t), w.balance(&e3.did, &t)), (90 + 40, 100 - 40));
    let unit = w.books().unit(&(b.clone(), u1)).unwrap();
    assert_eq!((&unit.owner, unit.acquired_leaf_index, unit.offer.is_none()), (&e3.did, leaf, true));
    assert_eq!(w.books().offers_before(u64::MAX).count(), 0, "a change of owner clears the offer");
    assert!(!w.books().account(&e1.did).unwrap().units.contains(&(b.clone(), u1)));

    // Withdraw.
    w.ok(&e3, TxType::UnitOffer, &UnitOffer { benefit: b.clone(), unit: u1, offer: sale(5).offer });
    let withdraw = UnitWithdraw { benefit: b.clone(), unit: u1 };
    w.ok(&e3, TxType::UnitWithdraw, &withdraw);
    assert!(matches!(w.refused(&e3, TxType::UnitWithdraw, &withdraw), Rejection::NotOffered(_)));

    // Swap: e2 offers unit u2 of c for exactly u1 of b; e3 accepts.
    let give = UnitRef { benefit: b.clone(), unit: u1 };
    let take = UnitRef { benefit: c.clone(), unit: u2 };
    let swap = UnitSwap { give: give.clone(), take: take.clone() };
    assert!(matches!(w.refused(&e3, TxType::UnitSwap, &swap), Rejection::NotOffered(_)));
    let wants = |want: UnitRef| UnitOffer { benefit: c.clone(), unit: u2, offer: Offer::Swap(want) };
    let err = w.refused(&e2, TxType::UnitOffer, &wants(UnitRef { benefit: b.clone(), unit: 999 }));
    assert_eq!(err, Rejection::UnknownUnit { benefit: b.clone(), unit: 999 });
    w.ok(&e2, TxType::UnitOffer, &wants(give.clone()));
    assert!(matches!(w.refused(&e1, TxType::UnitSwap, &swap), Rejection::NotOwner { .. }));
    w.ok(&e3, TxType::UnitSwap, &swap);
    assert_eq!((w.owner(&b, u1), w.owner(&c, u2)), (e2.did.clone(), e3.did.clone()));
    assert!(w.books().unit(&(c.clone(), u2)).unwrap().offer.is_none());

    // Gift.
    let gift = UnitTransfer { benefit: c.clone(), unit: u2, to: e1.did.clone() };
    assert!(matches!(w.refused(&e2, TxType::UnitTransfer, &gift), Rejection::NotOwner { .. }));
    w.ok(&e3, TxType::UnitTransfer, &gift);
    assert_eq!(w.owner(&c, u2), e1.did);
    let unknown = UnitTransfer { benefit: c.clone(), unit: 12345, to: e2.did.clone() };
    assert_eq!(w.refused(&e1, TxType::UnitTransfer, &unknown), Rejection::UnknownUnit { benefit: c, unit: 12345 });
    w.assert_conserved();
    w.assert_replays();
}

#[test]
fn closing_an_account_moves_everything_to_the_company() {
    let mut w = World::new();
    let a = w.company(1, "ACME", 1_000);
    let x = w.company(2, "XCO", 1_000);
    let (t, tx) = (a.did.clone(), x.did.clone());
    let (e1, e2) = (Party::did_key(1), Party::did_key(2));
    w.pay(&a, &t, &e1.did, 100);
    w.pay(&x, &tx, &e1.did, 7);
    let b = w.benefit(&a, 10, terms(10, 10));
    let u = w.ok(&e1, TxType::BenefitPurchase, &purchase(&b, &t, 10));
    w.ok(
        &e1,
        TxType::UnitOffer,
        &UnitOffer { benefit: b.clone(), unit: u, offer: Offer::Sale(SaleOffer { token: t.clone(), price: 3 }) },
    );

    w.ok(&e1, TxType::AccountClose, &AccountClose { to: a.did.clone() });
    assert_eq!((w.balance(&t, &t), w.balance(&t, &tx)), (900 + 10 + 90, 7));
    assert_eq!(w.owner(&b, u), a.did);
    assert!(w.books().unit(&(b.clone(), u)).unwrap().offer.is_none());
    let closed = w.books().account(&e1.did).unwrap();
    assert!(closed.closed && closed.balances.is_empty() && closed.units.is_empty());
    // Closed for good: cannot author, cannot receive tokens or units.
    assert_eq!(
        w.refused(&e1, TxType::TokenBurn, &TokenBurn { token: t.clone(), amount: 1 }),
        Rejection::AccountClosed(e1.did.clone())
    );
    assert_eq!(
        w.refused(&a, TxType::TokenTransfer, &transfer(&t, &[(&e2.did, 1), (&e1.did, 1)])),
        Rejection::AccountClosed(e1.did.clone())
    );
    let gift = UnitTransfer { benefit: b.clone(), unit: u, to: e1.did.clone() };
    assert_eq!(w.refused(&a, TxType::UnitTransfer, &gift), Rejection::AccountClosed(e1.did.clone()));
    w.pay(&a, &t, &e2.did, 1);
    assert_eq!(
        w.refused(&e2, TxType::AccountClose, &AccountClose { to: e1.did.clone() }),
        Rejection::AccountClosed(e1.did.clone())
    );
    w.assert_conserved();
    w.assert_replays();
}

#[test]
fn rates_and_commission_need_a_role() {
    let mut w = World::new();
    let a = w.company(1, "ACME", 0);
    let err = w.refused(&a, TxType::MarketRate, &MarketRate { token: a.did.clone(), unit_value: 5 });
    assert!(matches!(err, Rejection::Unauthorized(_)), "{err}");
    let op = w.op_party();
    let unknown = Party::idelta(50).did;
    assert_eq!(
        w.refused(&op, TxType::MarketRate, &MarketRate { token: unknown.clone(), unit_value: 5 }),
        Rejection::UnknownToken(unknown)
    );
    w.rate(&a.did, 5);
    assert_eq!(w.books().token(&a.did).unwrap().unit_value, Some(5));
    let commission = MarketCommission { basis_points: 150, beneficiary: op.did.clone() };
    assert!(matches!(w.refused(&a, TxType::MarketCommission, &commission), Rejection::Unauthorized(_)));
    w.ok(&op, TxType::MarketCommission, &commission);
    assert_eq!(w.books().commission(), Some(&commission));
}

/// The worked example of docs/loyalty.md, computed by hand.
///
/// Company A: unitValue 10_000 (1 A = 0.01 EUR); company B: unitValue
/// 25_000 (1 B = 0.025 EUR); commission 200 bps (2 %) to the operator.
///
/// 1. a1 (A's employee) buys B's benefit priced 40 B, paying in A:
///    value = 40 * 25_000 = 1_000_000; cost = ceil(1_000_000 / 10_000) = 100 A;
///    commission = floor(1_000_000 * 200 / 10_000) = 20_000.
/// 2. a1 buys B's benefit priced 7 B: value = 175_000;
///    cost = ceil(175_000 / 10_000) = ceil(17.5) = 18 A; commission = 3_500.
/// 3. b1 (B's employee) buys A's benefit priced 30 A, paying in B:
///    value = 300_000; cost = ceil(300_000 / 25_000) = 12 B; commission = 6_000.
/// 4. b1 buys B's own benefit (40 B) in B: same token, no settlement entry.
/// 5. a1 resells the unit of 1. to a2 for 20 B; a2 pays in A:
///    cost = ceil(20 * 25_000 / 10_000) = 50 A to A's treasury; B's treasury
///    pays a1 20 B; value = 500_000 from A to B; commission = 10_000.
///
/// Report: gross A->B = 1_000_000 + 175_000 + 500_000 = 1_675_000 (3 entries,
/// commission 33_500); gross B->A = 300_000 (1, commission 6_000).
/// Net: A owes B 1_375_000. Commission owed: A 6_000, B 33_500.
/// Positions: A = 300_000 - 1_675_000 - 6_000 = -1_381_000;
/// B = 1_675_000 - 300_000 - 33_500 = 1_341_500; operator = 39_500; sum 0.
#[test]
fn settlement_worked_example() {
    let mut w = World::new();
    let a = w.company(1, "ACO", 10_000);
    let b = w.company(2, "BCO", 10_000);
    let (ta, tb) = (a.did.clone(), b.did.clone());
    let (a1, a2, b1) = (Party::did_key(1), Party::did_key(2), Party::did_key(3));
    w.pay(&a, &ta, &a1.did, 1_000);
    w.pay(&a, &ta, &a2.did, 1_000);
    w.pay(&b, &tb, &b1.did, 1_000);
    let b40 = w.benefit(&b, 10, terms(40, 100));
    let b7 = w.benefit(&b, 11, terms(7, 100));
    let a30 = w.benefit(&a, 12, terms(30, 100));

    // No rates yet: cross-token purchases are refused.
    assert_eq!(
        w.refused(&a1, TxType::BenefitPurchase, &purchase(&b40, &ta, 1_000)),
        Rejection::NoExchangeRate(ta.clone())
    );
    w.rate(&ta, 10_000);
    assert_eq!(
        w.refused(&a1, TxType::BenefitPurchase, &purchase(&b40, &ta, 1_000)),
        Rejection::NoExchangeRate(tb.clone())
    );
    w.rate(&tb, 25_000);
    let op = w.op_party();
    w.ok(&op, TxType::MarketCommission, &MarketCommission { basis_points: 200, beneficiary: op.did.clone() });
    let from = w.now + 1;

    // 1. maxCost below the converted cost is refused.
    assert_eq!(
        w.refused(&a1, TxType::BenefitPurchase, &purchase(&b40, &ta, 99)),
        Rejection::CostExceedsMax { cost: 100, max_cost: 99 }
    );
    let u1 = w.ok(&a1, TxType::BenefitPurchase, &purchase(&b40, &ta, 100));
    assert_eq!((w.balance(&a1.did, &ta), w.balance(&ta, &ta)), (900, 8_000 + 100));
    // 2.
    w.ok(&a1, TxType::BenefitPurchase, &purchase(&b7, &ta, 18));
    assert_eq!(w.balance(&a1.did, &ta), 882);
    // 3.
    w.ok(&b1, TxType::BenefitPurchase, &purchase(&a30, &tb, 12));
    assert_eq!((w.balance(&b1.did, &tb), w.balance(&tb, &tb)), (988, 9_000 + 12));
    // 4.
    w.ok(&b1, TxType::BenefitPurchase, &purchase(&b40, &tb, 40));
    assert_eq!((w.balance(&b1.did, &tb), w.balance(&tb, &tb)), (948, 9_052));
    // 5.
    let sale = Offer::Sale(SaleOffer { token: tb.clone(), price: 20 });
    w.ok(&a1, TxType::UnitOffer, &UnitOffer { benefit: b40.clone(), unit: u1, offer: sale });
    w.ok(&a2, TxType::UnitBuy, &UnitBuy { benefit: b40.clone(), unit: u1, pay_with: ta.clone(), max_cost: 50 });
    assert_eq!(w.balance(&a2.did, &ta), 950);
    assert_eq!(w.balance(&ta, &ta), 8_000 + 100 + 18 + 50);
    assert_eq!((w.balance(&tb, &tb), w.balance(&a1.did, &tb)), (9_032, 20));
    assert_eq!(w.owner(&b40, u1), a2.did);
    w.assert_conserved();
    let to = w.now + 1;

    let r = settlement::report(w.books().settlement(), from, to, 0).unwrap();
    let gross: Vec<_> = r.gross.iter().map(|g| (&g.payer, &g.payee, g.value, g.commission, g.count)).collect();
    let mut want = vec![(&ta, &tb, 1_675_000, 33_500, 3), (&tb, &ta, 300_000, 6_000, 1)];
    want.sort();
    assert_eq!(gross, want);
    let net: Vec<_> = r.net.iter().map(|n| (&n.payer, &n.payee, n.amount)).collect();
    assert_eq!(net, vec![(&ta, &tb, 1_375_000)]);
    let mut commission: Vec<_> = r.commission.iter().map(|c| (&c.company, c.amount)).collect();
    commission.sort();
    let mut want = vec![(&ta, 6_000), (&tb, 33_500)];
    want.sort();
    assert_eq!(commission, want);
    let mut positions: Vec<_> = r.positions.iter().map(|p| (&p.company, p.amount)).collect();
    positions.sort();
    let mut want = vec![(&ta, -1_381_000), (&tb, 1_341_500), (&op.did, 39_500)];
    want.sort();
    assert_eq!(positions, want);

    // A treasury that cannot pay the seller refuses the resale, naming itself.
    w.ok(&b, TxType::TokenBurn, &TokenBurn { token: tb.clone(), amount: 9_032 });
    let sale = Offer::Sale(SaleOffer { token: tb.clone(), price: 20 });
    w.ok(&a2, TxType::UnitOffer, &UnitOffer { benefit: b40.clone(), unit: u1, offer: sale });
    let err = w.refused(
        &a1,
        TxType::UnitBuy,
        &UnitBuy { benefit: b40.clone(), unit: u1, pay_with: ta.clone(), max_cost: 50 },
    );
    assert_eq!(err, Rejection::InsufficientBalance { account: tb.clone(), token: tb.clone(), has: 0, needs: 20 });
    w.assert_replays();
}

/// A tiny deterministic generator for shuffles and batch splits.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

/// 64 buyers submit `benefit.purchase` for the last unit, 1000 rounds,
/// sometimes in one batch and sometimes spread over several: exactly one
/// wins, every loser is refused `sold-out` with its balance and sequence
/// number unchanged, the winner pays the price, supply is conserved.
#[test]
fn sixty_four_buyers_for_the_last_unit() {
    const BUYERS: u32 = 64;
    const ROUNDS: u64 = 1000;
    let mut w = World::new();
    let a = w.company(1, "ACME", 1_000_000);
    let t = a.did.clone();
    let buyers: Vec<Party> = (0..BUYERS).map(Party::did_key).collect();
    let everyone: Vec<(&Did, u64)> = buyers.iter().map(|b| (&b.did, 1_000)).collect();
    w.ok(&a, TxType::TokenTransfer, &transfer(&t, &everyone));
    let b = w.benefit(&a, 10, terms(3, 1));
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut wins = vec![0u64; buyers.len()];
    for round in 0..ROUNDS {
        if round > 0 {
            // One more unit: the benefit again has exactly one left.
            w.ok(&a, TxType::BenefitUpdate, &BenefitUpdate { benefit: b.clone(), terms: terms(3, round + 1) });
        }
        let before: Vec<(u64, u64)> = buyers.iter().map(|p| (w.balance(&p.did, &t), w.state.seq(&p.did))).collect();
        let treasury = w.balance(&t, &t);
        let mut txs: Vec<(usize, SignedTransaction)> = buyers
            .iter()
            .enumerate()
            .map(|(i, p)| (i, w.tx(p, TxType::BenefitPurchase, &purchase(&b, &t, 3))))
            .collect();
        for i in (1..txs.len()).rev() {
            txs.swap(i, rng.next(i + 1));
        }
        // Half the rounds in one batch, the others split at random points.
        let batches = if round % 2 == 0 { 1 } else { 2 + rng.next(6) };
        let mut cuts: Vec<usize> = (1..batches).map(|_| rng.next(txs.len())).collect();
        cuts.extend([0, txs.len()]);
        cuts.sort_unstable();
        let mut verdicts = Vec::new();
        for pair in cuts.windows(2) {
            let chunk = &txs[pair[0]..pair[1]];
            let v = w.run(chunk.iter().map(|(_, tx)| tx.clone()).collect());
            verdicts.extend(chunk.iter().map(|(i, _)| *i).zip(v));
        }
        let winners: Vec<usize> = verdicts.iter().filter(|(_, v)| v.is_ok()).map(|(i, _)| *i).collect();
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let winner = winners[0];
        wins[winner] += 1;
        for (i, v) in &verdicts {
            let p = &buyers[*i];
            let (balance, seq) = (w.balance(&p.did, &t), w.state.seq(&p.did));
            if *i == winner {
                assert_eq!((balance, seq), (before[*i].0 - 3, before[*i].1 + 1));
            } else {
                assert_eq!(v.as_ref().err(), Some(&Rejection::SoldOut(b.clone())), "round {round}");
                assert_eq!((balance, seq), before[*i], "round {round}: a loser's account changed");
            }
        }
        assert_eq!(w.balance(&t, &t), treasury + 3);
        let record = w.books().benefit(&b).unwrap();
        assert_eq!((record.sold, record.terms.quantity), (round + 1, round + 1));
        w.assert_conserved();
    }
    // Every unit has exactly one owner, the winner of its round.
    let owned: usize = buyers.iter().map(|p| w.books().account(&p.did).map_or(0, |a| a.units.len())).sum();
    assert_eq!(owned as u64, ROUNDS);
    assert_eq!(wins.iter().sum::<u64>(), ROUNDS);
    w.assert_replays();
}
