//! Properties of the pure state machine, without storage or HTTP: the
//! end-to-end suite covers the same rules through the API.

use super::*;
use crate::admission::admit;
use ed25519_dalek::{Signer as _, SigningKey};
use idelta_types::tx::{DidCreate, DidUpdate, RoleGrant};
use idelta_types::{PublicKey, SignedTransaction, TxType};

struct Actor {
    key: SigningKey,
    did: Did,
}

impl Actor {
    fn new(seed: u8) -> Actor {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let did = Did::idelta_from_key(&PublicKey::Ed25519(key.verifying_key()));
        Actor { key, did }
    }

    fn doc(&self) -> DidDocument {
        DidDocument::with_ed25519_key(&self.did, &PublicKey::Ed25519(self.key.verifying_key()), vec![])
    }

    fn sign(&self, tx: &mut SignedTransaction) {
        tx.add_signature(self.did.with_fragment("key-1"), |m| self.key.sign(m).to_bytes()).unwrap();
    }

    fn create(&self, endorser: Option<&Actor>) -> Admitted {
        let mut tx = SignedTransaction::new(
            TxType::DidCreate,
            self.did.clone(),
            1,
            &DidCreate { document: self.doc() },
            endorser.map(|e| e.did.clone()),
        )
        .unwrap();
        self.sign(&mut tx);
        if let Some(e) = endorser {
            e.sign(&mut tx);
        }
        admit(tx).unwrap()
    }
}

fn genesis(trustee: &Actor) -> Admitted {
    admit(crate::genesis::build("test", std::slice::from_ref(&trustee.key)).unwrap()).unwrap()
}

fn run(state: &mut State, first: u64, ts: u64, txs: &[Admitted]) -> Vec<Result<Accepted, Rejection>> {
    let (changes, verdicts) = apply(state, &Batch { first_leaf_index: first, timestamp_ms: ts, txs });
    state.commit(changes);
    verdicts
}

#[test]
fn batching_does_not_change_verdicts() {
    let trustee = Actor::new(1);
    let authors: Vec<Actor> = (10..20).map(Actor::new).collect();
    let mut txs = vec![genesis(&trustee)];
    for (i, a) in authors.iter().enumerate() {
        // every other author forgets the endorsement and must be refused
        txs.push(a.create((i % 2 == 0).then_some(&trustee)));
    }
    txs.push(authors[0].create(Some(&trustee))); // replayed create

    let mut whole = State::default();
    let together = run(&mut whole, 0, 5, &txs);

    let mut split = State::default();
    let mut one_by_one = Vec::new();
    let mut next = 0;
    for tx in &txs {
        let v = run(&mut split, next, 5, std::slice::from_ref(tx));
        next += v.iter().filter(|v| v.is_ok()).count() as u64;
        one_by_one.extend(v);
    }
    assert_eq!(together, one_by_one);
    assert_eq!(together.iter().filter(|v| v.is_ok()).count(), 1 + 5);
    assert!(matches!(together[2], Err(Rejection::EndorsementRequired { .. })), "{:?}", together[2]);
    assert!(matches!(together.last(), Some(Err(Rejection::Sequence { expected: 2, got: 1, .. }))));
    assert_eq!(whole.did_count(), split.did_count());
}

#[test]
fn a_rejected_transaction_leaves_nothing_behind() {
    let trustee = Actor::new(1);
    let author = Actor::new(2);
    let mut state = State::default();
    run(&mut state, 0, 1, &[genesis(&trustee), author.create(Some(&trustee))]);
    // An update whose document is valid but whose signature is not: the
    // sequence number must not advance and the document must not change.
    let rotated = Actor::new(3);
    let mut doc = rotated.doc();
    doc.id = author.did.clone();
    doc.verification_method[0].controller = author.did.clone();
    doc.verification_method[0].id = author.did.with_fragment("key-2");
    doc.authentication = vec![author.did.with_fragment("key-2")];
    doc.assertion_method = doc.authentication.clone();
    doc.capability_invocation = doc.authentication.clone();
    let mut tx =
        SignedTransaction::new(TxType::DidUpdate, author.did.clone(), 2, &DidUpdate { document: doc }, None).unwrap();
    tx.add_signature(author.did.with_fragment("key-1"), |m| rotated.key.sign(m).to_bytes()).unwrap();
    let verdicts = run(&mut state, 2, 2, &[admit(tx).unwrap()]);
    assert!(matches!(verdicts[0], Err(Rejection::BadSignature(_))));
    assert_eq!(state.seq(&author.did), 1);
    assert_eq!(state.did(&author.did).unwrap().versions.len(), 1);
}

#[test]
fn roles_gate_endorsement_and_grants() {
    let trustee = Actor::new(1);
    let endorser = Actor::new(2);
    let author = Actor::new(3);
    let mut state = State::default();
    run(&mut state, 0, 1, &[genesis(&trustee), endorser.create(Some(&trustee))]);
    // Not yet an endorser.
    let v = run(&mut state, 2, 2, &[author.create(Some(&endorser))]);
    assert!(matches!(v[0], Err(Rejection::InvalidEndorser { .. })));
    let mut grant = SignedTransaction::new(
        TxType::RoleGrant,
        trustee.did.clone(),
        2,
        &RoleGrant { did: endorser.did.clone(), role: idelta_types::tx::Role::Endorser },
        None,
    )
    .unwrap();
    trustee.sign(&mut grant);
    let v = run(&mut state, 2, 3, &[admit(grant).unwrap(), author.create(Some(&endorser))]);
    assert!(v.iter().all(|v| v.is_ok()), "{v:?}");
    assert_eq!(state.role(&endorser.did), Some(idelta_types::tx::Role::Endorser));
}

#[test]
fn nothing_before_genesis_and_no_second_genesis() {
    let trustee = Actor::new(1);
    let mut state = State::default();
    let v = run(&mut state, 0, 1, &[Actor::new(2).create(Some(&trustee))]);
    assert_eq!(v[0], Err(Rejection::NoGenesis));
    let v = run(&mut state, 0, 1, &[genesis(&trustee), genesis(&trustee)]);
    assert!(v[0].is_ok());
    assert_eq!(v[1], Err(Rejection::GenesisMisplaced));
}
