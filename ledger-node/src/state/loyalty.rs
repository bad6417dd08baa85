//! Rules of the loyalty marketplace (issue 5, docs/loyalty.md): company
//! tokens, benefits with their own DIDs, purchases, resale, swaps, gifts,
//! account closing, exchange rates and the platform commission.
//!
//! One transaction, one verdict: every rule first checks everything it
//! needs and collects what it would change in an [`Effects`]; only
//! [`Effects::settle`], the last fallible step, checks the balances and the
//! recipients as a whole and then writes. So a refused purchase, a bulk
//! transfer one payment of which cannot be paid, or a swap whose other side
//! vanished changes nothing at all, and two buyers of the last unit in one
//! batch are judged one after the other against the state the first one
//! left (design.md §4: `apply` is pure and sequential).
//!
//! Money is integers: `u64` amounts, `u128` for products, checked
//! arithmetic everywhere; a token's supply stays at most [`MAX_SUPPLY`], so
//! every balance and every history delta fits an `i64`. Supply is conserved:
//! only `token.mint` and `token.burn` change it, every other movement debits
//! exactly what it credits.
//!
//! Per-account history and settlement entries are append-only logs: the
//! batch's [`Changes`](super::Changes) carries the new entries and
//! [`Books::commit`] appends them, so nothing is cloned per transaction.

pub mod settlement;

#[cfg(test)]
pub(crate) mod tests;

use super::{auth, roles::require_endorsement, Position, View};
use crate::admission::Admitted;
use crate::error::Rejection;
use idelta_types::loyalty::views::{Delta, HistoryEntry};
use idelta_types::loyalty::{
    convert, AccountClose, BenefitCreate, BenefitPurchase, BenefitRemove, BenefitTerms, BenefitUpdate, LoyaltyOp,
    MarketCommission, MarketRate, Offer, SaleOffer, TokenBurn, TokenCreate, TokenMint, TokenTransfer, UnitBuy,
    UnitOffer, UnitRef, UnitSwap, UnitTransfer, UnitWithdraw, FULL_BASIS_POINTS, MAX_SUPPLY,
};
use idelta_types::{Did, TxType};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::Arc;

pub use settlement::SettlementEntry;

/// Service type a benefit DID's document names its company with.
pub const BENEFIT_SERVICE_TYPE: &str = "LoyaltyBenefit";
/// Fragment of that service's id.
pub const BENEFIT_SERVICE_FRAGMENT: &str = "benefit";

/// A unit: benefit DID and unit number.
pub type UnitKey = (Did, u64);

/// A company token; its id is the company DID.
#[derive(Clone, Debug)]
pub struct TokenRecord {
    /// Its symbol.
    pub symbol: String,
    /// Its name.
    pub name: String,
    /// Minted minus burned.
    pub supply: u64,
    /// Settlement micro-units per unit, once the operator set it.
    pub unit_value: Option<u64>,
    /// Leaf of the `token.create`.
    pub leaf_index: u64,
}

/// An account: what one DID holds.
#[derive(Clone, Debug, Default)]
pub struct AccountRecord {
    /// Non-zero balances by token.
    pub balances: BTreeMap<Did, u64>,
    /// Units owned.
    pub units: BTreeSet<UnitKey>,
    /// Set by `account.close`; final.
    pub closed: bool,
}

/// A benefit.
#[derive(Clone, Debug)]
pub struct BenefitRecord {
    /// The company selling it, whose token prices it.
    pub company: Did,
    /// Current terms, shared with older versions of the record.
    pub terms: Arc<BenefitTerms>,
    /// Units sold by the company.
    pub sold: u64,
    /// Delisted by `benefit.remove`.
    pub removed: bool,
    /// Leaf of the `benefit.create`.
    pub leaf_index: u64,
    /// Leaf of the last create, update or remove.
    pub updated_leaf_index: u64,
}

/// A unit of a benefit.
#[derive(Clone, Debug)]
pub struct UnitRecord {
    /// The owning account.
    pub owner: Did,
    /// Leaf of the transaction that gave it to its owner.
    pub acquired_leaf_index: u64,
    /// The current offer and the leaf that made it.
    pub offer: Option<(Offer, u64)>,
}

/// The committed loyalty state, part of [`super::State`].
#[derive(Debug, Default)]
pub struct Books {
    tokens: HashMap<Did, Arc<TokenRecord>>,
    accounts: HashMap<Did, Arc<AccountRecord>>,
    benefits: HashMap<Did, Arc<BenefitRecord>>,
    units: HashMap<UnitKey, Arc<UnitRecord>>,
    commission: Option<MarketCommission>,
    /// Benefits by creation leaf, for listings newest first.
    benefit_order: BTreeMap<u64, Did>,
    /// Live offers by the leaf that made them.
    offers: BTreeMap<u64, UnitKey>,
    history: HashMap<Did, Vec<HistoryEntry>>,
    settlement: Vec<SettlementEntry>,
}

/// What one batch changes in the [`Books`].
#[derive(Debug, Default)]
pub struct BookChanges {
    tokens: HashMap<Did, Arc<TokenRecord>>,
    accounts: HashMap<Did, Arc<AccountRecord>>,
    benefits: HashMap<Did, Arc<BenefitRecord>>,
    units: HashMap<UnitKey, Arc<UnitRecord>>,
    commission: Option<MarketCommission>,
    history: Vec<(Did, HistoryEntry)>,
    settlement: Vec<SettlementEntry>,
}

impl Books {
    /// Merges a durable batch; indexes and logs are extended here only.
    pub(super) fn commit(&mut self, changes: BookChanges) {
        self.tokens.extend(changes.tokens);
        self.accounts.extend(changes.accounts);
        for (did, record) in changes.benefits {
            if !self.benefits.contains_key(&did) {
                self.benefit_order.insert(record.leaf_index, did.clone());
            }
            self.benefits.insert(did, record);
        }
        for (key, record) in changes.units {
            if let Some((_, leaf)) = self.units.get(&key).and_then(|old| old.offer.as_ref()) {
                self.offers.remove(leaf);
            }
            if let Some((_, leaf)) = &record.offer {
                self.offers.insert(*leaf, key.clone());
            }
            self.units.insert(key, record);
        }
        if let Some(c) = changes.commission {
            self.commission = Some(c);
        }
        for (account, entry) in changes.history {
            self.history.entry(account).or_default().push(entry);
        }
        self.settlement.extend(changes.settlement);
    }

    /// Every token, by DID.
    pub fn tokens(&self) -> impl Iterator<Item = (&Did, &Arc<TokenRecord>)> {
        self.tokens.iter()
    }

    /// One token.
    pub fn token(&self, token: &Did) -> Option<&Arc<TokenRecord>> {
        self.tokens.get(token)
    }

    /// One account, if it ever held anything.
    pub fn account(&self, account: &Did) -> Option<&Arc<AccountRecord>> {
        self.accounts.get(account)
    }

    /// One benefit.
    pub fn benefit(&self, benefit: &Did) -> Option<&Arc<BenefitRecord>> {
        self.benefits.get(benefit)
    }

    /// Benefits created before leaf `before`, newest first.
    pub fn benefits_before(&self, before: u64) -> impl Iterator<Item = (u64, &Did, &Arc<BenefitRecord>)> {
        self.benefit_order
            .range(..before)
            .rev()
            .filter_map(|(leaf, did)| self.benefits.get(did).map(|b| (*leaf, did, b)))
    }

    /// One unit.
    pub fn unit(&self, key: &UnitKey) -> Option<&Arc<UnitRecord>> {
        self.units.get(key)
    }

    /// Live offers made before leaf `before`, newest first.
    pub fn offers_before(&self, before: u64) -> impl Iterator<Item = (u64, &UnitKey, &Arc<UnitRecord>)> {
        self.offers.range(..before).rev().filter_map(|(leaf, key)| self.units.get(key).map(|u| (*leaf, key, u)))
    }

    /// The platform commission.
    pub fn commission(&self) -> Option<&MarketCommission> {
        self.commission.as_ref()
    }

    /// An account's history, oldest first.
    pub fn history(&self, account: &Did) -> &[HistoryEntry] {
        self.history.get(account).map(Vec::as_slice).unwrap_or_default()
    }

    /// Every settlement entry, in log order (so by time).
    pub fn settlement(&self) -> &[SettlementEntry] {
        &self.settlement
    }
}

/// The record under `key` as the view sees it.
fn overlay<'a, K: Eq + Hash, V>(
    changes: &'a HashMap<K, Arc<V>>,
    base: &'a HashMap<K, Arc<V>>,
    key: &K,
) -> Option<&'a Arc<V>> {
    changes.get(key).or_else(|| base.get(key))
}

impl View<'_> {
    fn token(&self, token: &Did) -> Option<&Arc<TokenRecord>> {
        overlay(&self.changes.loyalty.tokens, &self.base.loyalty.tokens, token)
    }

    fn account(&self, account: &Did) -> Option<&Arc<AccountRecord>> {
        overlay(&self.changes.loyalty.accounts, &self.base.loyalty.accounts, account)
    }

    fn benefit(&self, benefit: &Did) -> Option<&Arc<BenefitRecord>> {
        overlay(&self.changes.loyalty.benefits, &self.base.loyalty.benefits, benefit)
    }

    fn unit(&self, key: &UnitKey) -> Option<&Arc<UnitRecord>> {
        overlay(&self.changes.loyalty.units, &self.base.loyalty.units, key)
    }

    fn commission(&self) -> Option<&MarketCommission> {
        self.changes.loyalty.commission.as_ref().or(self.base.loyalty.commission.as_ref())
    }

    fn balance(&self, account: &Did, token: &Did) -> u64 {
        self.account(account).and_then(|a| a.balances.get(token).copied()).unwrap_or(0)
    }

    fn is_closed(&self, account: &Did) -> bool {
        self.account(account).is_some_and(|a| a.closed)
    }

    /// A writable account (copied on first write in the batch, in place
    /// after), created empty if new.
    fn account_mut(&mut self, account: &Did) -> &mut AccountRecord {
        let base = &self.base.loyalty.accounts;
        let entry = self
            .changes
            .loyalty
            .accounts
            .entry(account.clone())
            .or_insert_with(|| base.get(account).cloned().unwrap_or_default());
        Arc::make_mut(entry)
    }
}

/// The transaction being judged.
struct Ctx<'a> {
    author: &'a Did,
    tx_type: TxType,
    at: Position,
}

/// `token.*`, `account.close`, `benefit.*`, `unit.*`, `market.*`: checks
/// signatures and endorsement like every write, refuses a closed author,
/// then applies the operation's rule.
pub(super) fn apply(view: &mut View<'_>, tx: &Admitted, op: &LoyaltyOp, at: Position) -> Result<(), Rejection> {
    auth::check(view, tx)?;
    require_endorsement(view, tx)?;
    let author = &tx.tx.author;
    if view.is_closed(author) {
        return Err(Rejection::AccountClosed(author.clone()));
    }
    let cx = Ctx { author, tx_type: tx.tx.tx_type, at };
    match op {
        LoyaltyOp::TokenCreate(op) => token_create(view, &cx, op),
        LoyaltyOp::TokenMint(op) => token_mint(view, &cx, op),
        LoyaltyOp::TokenBurn(op) => token_burn(view, &cx, op),
        LoyaltyOp::TokenTransfer(op) => token_transfer(view, &cx, op),
        LoyaltyOp::AccountClose(op) => account_close(view, &cx, op),
        LoyaltyOp::BenefitCreate(op) => benefit_create(view, &cx, op),
        LoyaltyOp::BenefitUpdate(op) => benefit_update(view, &cx, op),
        LoyaltyOp::BenefitRemove(op) => benefit_remove(view, &cx, op),
        LoyaltyOp::BenefitPurchase(op) => benefit_purchase(view, &cx, op),
        LoyaltyOp::UnitOffer(op) => unit_offer(view, &cx, op),
        LoyaltyOp::UnitWithdraw(op) => unit_withdraw(view, &cx, op),
        LoyaltyOp::UnitBuy(op) => unit_buy(view, &cx, op),
        LoyaltyOp::UnitSwap(op) => unit_swap(view, &cx, op),
        LoyaltyOp::UnitTransfer(op) => unit_transfer(view, &cx, op),
        LoyaltyOp::MarketRate(op) => market_rate(view, &cx, op),
        LoyaltyOp::MarketCommission(op) => market_commission(view, &cx, op),
    }
}

fn overflow(what: &str) -> Rejection {
    Rejection::Malformed(format!("{what} overflows 64-bit amounts"))
}

// ---------------------------------------------------------------- effects

/// Debits and credits of one account in one token.
#[derive(Default)]
struct Flow {
    debit: u64,
    credit: u64,
}

/// Everything a transaction would change in balances and unit ownership,
/// plus what its history entries and settlement entry say. Built without
/// writing; [`Effects::settle`] checks it as a whole, then writes it.
#[derive(Default)]
struct Effects {
    flows: BTreeMap<(Did, Did), Flow>,
    /// Units changing hands (or created): unit, new owner.
    units: Vec<(UnitKey, Did)>,
    benefit: Option<Did>,
    unit: Option<u64>,
    settlement: Option<SettlementEntry>,
}

impl Effects {
    fn about(benefit: &Did, unit: Option<u64>) -> Effects {
        Effects { benefit: Some(benefit.clone()), unit, ..Effects::default() }
    }

    fn flow(&mut self, account: &Did, token: &Did) -> &mut Flow {
        self.flows.entry((account.clone(), token.clone())).or_default()
    }

    fn debit(&mut self, account: &Did, token: &Did, amount: u64) -> Result<(), Rejection> {
        let f = self.flow(account, token);
        f.debit = f.debit.checked_add(amount).ok_or_else(|| overflow("a debit"))?;
        Ok(())
    }

    fn credit(&mut self, account: &Did, token: &Did, amount: u64) -> Result<(), Rejection> {
        let f = self.flow(account, token);
        f.credit = f.credit.checked_add(amount).ok_or_else(|| overflow("a credit"))?;
        Ok(())
    }

    fn pay(&mut self, from: &Did, to: &Did, token: &Did, amount: u64) -> Result<(), Rejection> {
        self.debit(from, token, amount)?;
        self.credit(to, token, amount)
    }

    fn give_unit(&mut self, key: UnitKey, to: &Did) {
        self.units.push((key, to.clone()));
    }

    /// Checks every resulting balance and recipient, then writes balances,
    /// unit ownership (clearing offers), history and the settlement entry.
    /// The last fallible step of every rule.
    fn settle(self, view: &mut View<'_>, cx: &Ctx<'_>) -> Result<(), Rejection> {
        let mut balances = Vec::with_capacity(self.flows.len());
        for ((account, token), flow) in &self.flows {
            let has = view.balance(account, token);
            let after = u128::from(has) + u128::from(flow.credit);
            let after = after.checked_sub(u128::from(flow.debit)).ok_or_else(|| Rejection::InsufficientBalance {
                account: account.clone(),
                token: token.clone(),
                has,
                needs: flow.debit,
            })?;
            let after = u64::try_from(after).map_err(|_| overflow("a balance"))?;
            if flow.credit > 0 && view.is_closed(account) {
                return Err(Rejection::AccountClosed(account.clone()));
            }
            balances.push((account, token, after));
        }
        let mut moves = Vec::with_capacity(self.units.len());
        for (key, to) in &self.units {
            if view.is_closed(to) {
                return Err(Rejection::AccountClosed(to.clone()));
            }
            moves.push((key, view.unit(key).map(|u| u.owner.clone()), to));
        }
        // Nothing can fail from here on.
        let mut touched = BTreeSet::from([cx.author.clone()]);
        for (account, token, after) in balances {
            let record = view.account_mut(account);
            if after == 0 {
                record.balances.remove(token);
            } else {
                record.balances.insert(token.clone(), after);
            }
            touched.insert(account.clone());
        }
        for (key, from, to) in moves {
            if let Some(from) = from {
                view.account_mut(&from).units.remove(key);
                touched.insert(from);
            }
            view.account_mut(to).units.insert(key.clone());
            touched.insert(to.clone());
            let unit = UnitRecord { owner: to.clone(), acquired_leaf_index: cx.at.leaf_index, offer: None };
            view.changes.loyalty.units.insert(key.clone(), Arc::new(unit));
        }
        for account in touched {
            let deltas = self
                .flows
                .iter()
                .filter(|((a, _), _)| *a == account)
                .filter_map(|((_, token), f)| {
                    let amount = i128::from(f.credit) - i128::from(f.debit);
                    (amount != 0).then(|| Delta { token: token.clone(), amount: clamp_i64(amount) })
                })
                .collect();
            let entry = HistoryEntry {
                leaf_index: cx.at.leaf_index,
                timestamp: cx.at.timestamp_ms,
                tx_type: cx.tx_type,
                author: cx.author.clone(),
                deltas,
                benefit: self.benefit.clone(),
                unit: self.unit,
            };
            view.changes.loyalty.history.push((account, entry));
        }
        if let Some(entry) = self.settlement {
            view.changes.loyalty.settlement.push(entry);
        }
        Ok(())
    }
}

/// Deltas are bounded by [`MAX_SUPPLY`] (= `i64::MAX`), so this never clamps.
fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

// ----------------------------------------------------------------- tokens

/// `token.create`: the author's one token, whose id is the author.
fn token_create(view: &mut View<'_>, cx: &Ctx<'_>, op: &TokenCreate) -> Result<(), Rejection> {
    if view.token(cx.author).is_some() {
        return Err(Rejection::TokenExists(cx.author.clone()));
    }
    Effects::default().settle(view, cx)?;
    let record = TokenRecord {
        symbol: op.symbol.clone(),
        name: op.name.clone(),
        supply: 0,
        unit_value: None,
        leaf_index: cx.at.leaf_index,
    };
    view.changes.loyalty.tokens.insert(cx.author.clone(), Arc::new(record));
    Ok(())
}

fn existing_token<'v>(view: &'v View<'_>, token: &Did) -> Result<&'v Arc<TokenRecord>, Rejection> {
    view.token(token).ok_or_else(|| Rejection::UnknownToken(token.clone()))
}

/// `token.mint`: new units into the author's treasury, supply at most [`MAX_SUPPLY`].
fn token_mint(view: &mut View<'_>, cx: &Ctx<'_>, op: &TokenMint) -> Result<(), Rejection> {
    let token = existing_token(view, cx.author)?;
    let supply = token.supply.checked_add(op.amount).filter(|s| *s <= MAX_SUPPLY).ok_or_else(|| {
        Rejection::Malformed(format!("minting {} would take the supply of {} past {MAX_SUPPLY}", op.amount, cx.author))
    })?;
    let next = TokenRecord { supply, ..TokenRecord::clone(token) };
    let mut effects = Effects::default();
    effects.credit(cx.author, cx.author, op.amount)?;
    effects.settle(view, cx)?;
    view.changes.loyalty.tokens.insert(cx.author.clone(), Arc::new(next));
    Ok(())
}

/// `token.burn`: destroys units of the author's own balance.
fn token_burn(view: &mut View<'_>, cx: &Ctx<'_>, op: &TokenBurn) -> Result<(), Rejection> {
    let token = existing_token(view, &op.token)?;
    let has = view.balance(cx.author, &op.token);
    let supply = token.supply.checked_sub(op.amount).filter(|_| has >= op.amount).ok_or_else(|| {
        Rejection::InsufficientBalance { account: cx.author.clone(), token: op.token.clone(), has, needs: op.amount }
    })?;
    let next = TokenRecord { supply, ..TokenRecord::clone(token) };
    let mut effects = Effects::default();
    effects.debit(cx.author, &op.token, op.amount)?;
    effects.settle(view, cx)?;
    view.changes.loyalty.tokens.insert(op.token.clone(), Arc::new(next));
    Ok(())
}

/// `token.transfer`: one or many payments from the author's balance, all
/// or none.
fn token_transfer(view: &mut View<'_>, cx: &Ctx<'_>, op: &TokenTransfer) -> Result<(), Rejection> {
    existing_token(view, &op.token)?;
    let mut effects = Effects::default();
    for t in &op.transfers {
        if t.to == *cx.author {
            return Err(Rejection::Malformed(format!("{} cannot pay itself", cx.author)));
        }
        effects.pay(cx.author, &t.to, &op.token, t.amount)?;
    }
    effects.settle(view, cx)
}

/// `account.close`: every balance and every unit go to `to`; offers end;
/// the account is closed for good.
fn account_close(view: &mut View<'_>, cx: &Ctx<'_>, op: &AccountClose) -> Result<(), Rejection> {
    if op.to == *cx.author {
        return Err(Rejection::Malformed("an account cannot close into itself".into()));
    }
    if view.is_closed(&op.to) {
        return Err(Rejection::AccountClosed(op.to.clone()));
    }
    let mut effects = Effects::default();
    if let Some(account) = view.account(cx.author) {
        for (token, amount) in &account.balances {
            effects.pay(cx.author, &op.to, token, *amount)?;
        }
        for key in &account.units {
            effects.give_unit(key.clone(), &op.to);
        }
    }
    effects.settle(view, cx)?;
    view.account_mut(cx.author).closed = true;
    Ok(())
}

// --------------------------------------------------------------- benefits

/// The benefit DID rule: on the ledger, active, not yet a benefit, and its
/// document has the service `{id: <benefit>#benefit, type: LoyaltyBenefit,
/// serviceEndpoint: <company>}`.
fn check_benefit_did(view: &View<'_>, benefit: &Did, company: &Did) -> Result<(), Rejection> {
    let invalid = |reason: &str| Rejection::InvalidBenefitDid { benefit: benefit.clone(), reason: reason.into() };
    if benefit == company {
        return Err(invalid("a company cannot list itself"));
    }
    if view.benefit(benefit).is_some() {
        return Err(invalid("it is already a benefit"));
    }
    let record = view.did(benefit).ok_or_else(|| invalid("it is not on the ledger"))?;
    if record.deactivated.is_some() {
        return Err(invalid("it is deactivated"));
    }
    let document = record.versions.last().map(|v| &v.document).ok_or_else(|| invalid("it has no document"))?;
    let id = benefit.with_fragment(BENEFIT_SERVICE_FRAGMENT);
    let service = document
        .service
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| invalid(&format!("its document has no service {id}")))?;
    if service.kind != BENEFIT_SERVICE_TYPE || service.service_endpoint.as_str() != Some(company.as_str()) {
        return Err(invalid(&format!(
            "service {id} must have type {BENEFIT_SERVICE_TYPE} and serviceEndpoint {company}"
        )));
    }
    Ok(())
}

/// `benefit.create`: the author's token prices it.
fn benefit_create(view: &mut View<'_>, cx: &Ctx<'_>, op: &BenefitCreate) -> Result<(), Rejection> {
    existing_token(view, cx.author)?;
    check_benefit_did(view, &op.benefit, cx.author)?;
    Effects::about(&op.benefit, None).settle(view, cx)?;
    let record = BenefitRecord {
        company: cx.author.clone(),
        terms: Arc::new(op.terms.clone()),
        sold: 0,
        removed: false,
        leaf_index: cx.at.leaf_index,
        updated_leaf_index: cx.at.leaf_index,
    };
    view.changes.loyalty.benefits.insert(op.benefit.clone(), Arc::new(record));
    Ok(())
}

/// A listed benefit of the author's.
fn own_benefit(view: &View<'_>, cx: &Ctx<'_>, benefit: &Did) -> Result<Arc<BenefitRecord>, Rejection> {
    let record = view.benefit(benefit).ok_or_else(|| Rejection::UnknownBenefit(benefit.clone()))?;
    if record.company != *cx.author {
        return Err(Rejection::NotOwner { account: cx.author.clone(), what: format!("benefit {benefit}") });
    }
    if record.removed {
        return Err(Rejection::BenefitRemoved(benefit.clone()));
    }
    Ok(Arc::clone(record))
}

/// `benefit.update`: new terms; never fewer units than sold.
fn benefit_update(view: &mut View<'_>, cx: &Ctx<'_>, op: &BenefitUpdate) -> Result<(), Rejection> {
    let record = own_benefit(view, cx, &op.benefit)?;
    if op.terms.quantity < record.sold {
        return Err(Rejection::QuantityBelowSold {
            benefit: op.benefit.clone(),
            quantity: op.terms.quantity,
            sold: record.sold,
        });
    }
    Effects::about(&op.benefit, None).settle(view, cx)?;
    let next = BenefitRecord {
        terms: Arc::new(op.terms.clone()),
        updated_leaf_index: cx.at.leaf_index,
        ..BenefitRecord::clone(&record)
    };
    view.changes.loyalty.benefits.insert(op.benefit.clone(), Arc::new(next));
    Ok(())
}

/// `benefit.remove`: delists; units stay recorded but can no longer change
/// hands.
fn benefit_remove(view: &mut View<'_>, cx: &Ctx<'_>, op: &BenefitRemove) -> Result<(), Rejection> {
    let records = op.benefits.iter().map(|b| own_benefit(view, cx, b)).collect::<Result<Vec<_>, _>>()?;
    let effects = match op.benefits.as_slice() {
        [one] => Effects::about(one, None),
        _ => Effects::default(),
    };
    effects.settle(view, cx)?;
    for (did, record) in op.benefits.iter().zip(records) {
        let next =
            BenefitRecord { removed: true, updated_leaf_index: cx.at.leaf_index, ..BenefitRecord::clone(&record) };
        view.changes.loyalty.benefits.insert(did.clone(), Arc::new(next));
    }
    Ok(())
}

// ------------------------------------------------------------ conversion

/// What paying `price` units of `token` costs in `pay_with`.
struct Quote {
    cost: u64,
    /// For a cross-token payment: `price * unitValue(token)`, the
    /// settlement value owed by `pay_with`'s issuer to `token`'s.
    value: Option<u64>,
}

/// `cost = ceil(price * value(token) / value(pay_with))` across tokens
/// ([`convert`], u128 arithmetic shared with quoting clients); the price
/// itself in the same token.
fn quote(view: &View<'_>, pay_with: &Did, token: &Did, price: u64) -> Result<Quote, Rejection> {
    let paid = existing_token(view, pay_with)?;
    if pay_with == token {
        return Ok(Quote { cost: price, value: None });
    }
    let priced = existing_token(view, token)?;
    let value_a = paid.unit_value.ok_or_else(|| Rejection::NoExchangeRate(pay_with.clone()))?;
    let value_b = priced.unit_value.ok_or_else(|| Rejection::NoExchangeRate(token.clone()))?;
    let c = convert(price, value_b, value_a).ok_or_else(|| overflow("the converted price"))?;
    Ok(Quote { cost: c.cost, value: Some(c.value) })
}

/// The settlement entry of a cross-token payment: `payer` owes `payee`
/// `value`, of which `floor(value * bps / 10000)` is commission the payee
/// owes the beneficiary.
fn settlement_entry(view: &View<'_>, cx: &Ctx<'_>, payer: &Did, payee: &Did, value: u64) -> SettlementEntry {
    let (commission, beneficiary) = match view.commission() {
        Some(c) => {
            let bps = u128::from(c.basis_points.min(FULL_BASIS_POINTS));
            // value * bps / 10000 <= value, so it fits.
            let commission = u64::try_from(u128::from(value) * bps / u128::from(FULL_BASIS_POINTS)).unwrap_or(value);
            (commission, Some(c.beneficiary.clone()))
        }
        None => (0, None),
    };
    SettlementEntry {
        leaf_index: cx.at.leaf_index,
        timestamp_ms: cx.at.timestamp_ms,
        payer: payer.clone(),
        payee: payee.clone(),
        value,
        commission,
        beneficiary,
    }
}

fn check_max(cost: u64, max_cost: u64) -> Result<(), Rejection> {
    if cost > max_cost {
        return Err(Rejection::CostExceedsMax { cost, max_cost });
    }
    Ok(())
}

// -------------------------------------------------------------- purchase

/// `benefit.purchase`: one new unit, numbered by this leaf, for the
/// author; the benefit's price leaves the author's balance in one step.
/// Same token: buyer pays the company. Another token A: buyer pays A's
/// treasury `ceil(price * value_B / value_A)` A-units, and A's issuer owes
/// the benefit's company `price * value_B` in the settlement.
fn benefit_purchase(view: &mut View<'_>, cx: &Ctx<'_>, op: &BenefitPurchase) -> Result<(), Rejection> {
    let benefit = view.benefit(&op.benefit).ok_or_else(|| Rejection::UnknownBenefit(op.benefit.clone()))?;
    if benefit.removed {
        return Err(Rejection::BenefitRemoved(op.benefit.clone()));
    }
    if !benefit.terms.valid_at(cx.at.timestamp_ms) {
        return Err(Rejection::BenefitNotValid { benefit: op.benefit.clone(), at: cx.at.timestamp_ms });
    }
    if benefit.sold >= benefit.terms.quantity {
        return Err(Rejection::SoldOut(op.benefit.clone()));
    }
    let company = benefit.company.clone();
    if company == *cx.author {
        return Err(Rejection::SelfDealing(format!("{company} cannot buy its own benefit")));
    }
    let quote = quote(view, &op.pay_with, &company, benefit.terms.price)?;
    check_max(quote.cost, op.max_cost)?;
    let unit = cx.at.leaf_index;
    let mut effects = Effects::about(&op.benefit, Some(unit));
    match quote.value {
        None => effects.pay(cx.author, &company, &company, quote.cost)?,
        Some(value) => {
            effects.pay(cx.author, &op.pay_with, &op.pay_with, quote.cost)?;
            effects.settlement = Some(settlement_entry(view, cx, &op.pay_with, &company, value));
        }
    }
    effects.give_unit((op.benefit.clone(), unit), cx.author);
    let mut next = BenefitRecord::clone(benefit);
    next.sold += 1;
    effects.settle(view, cx)?;
    view.changes.loyalty.benefits.insert(op.benefit.clone(), Arc::new(next));
    Ok(())
}

// ------------------------------------------------------------------ units

/// A unit whose benefit is still listed.
fn live_unit<'v>(view: &'v View<'_>, benefit: &Did, unit: u64) -> Result<&'v Arc<UnitRecord>, Rejection> {
    let key = (benefit.clone(), unit);
    let record = view.unit(&key).ok_or_else(|| Rejection::UnknownUnit { benefit: benefit.clone(), unit })?;
    if view.benefit(benefit).is_none_or(|b| b.removed) {
        return Err(Rejection::BenefitRemoved(benefit.clone()));
    }
    Ok(record)
}

/// A live unit the author owns.
fn own_unit<'v>(view: &'v View<'_>, cx: &Ctx<'_>, benefit: &Did, unit: u64) -> Result<&'v Arc<UnitRecord>, Rejection> {
    let record = live_unit(view, benefit, unit)?;
    if record.owner != *cx.author {
        return Err(Rejection::NotOwner { account: cx.author.clone(), what: format!("unit {unit} of {benefit}") });
    }
    Ok(record)
}

/// `unit.offer`: for sale at a price in some token, or for a swap against
/// exactly one other unit; replaces an earlier offer.
fn unit_offer(view: &mut View<'_>, cx: &Ctx<'_>, op: &UnitOffer) -> Result<(), Rejection> {
    let record = own_unit(view, cx, &op.benefit, op.unit)?;
    match &op.offer {
        Offer::Sale(SaleOffer { token, .. }) => {
            existing_token(view, token)?;
        }
        Offer::Swap(want) => {
            if live_unit(view, &want.benefit, want.unit)?.owner == *cx.author {
                return Err(Rejection::SelfDealing(format!("{} already owns the unit it asks for", cx.author)));
            }
        }
    }
    let next = UnitRecord { offer: Some((op.offer.clone(), cx.at.leaf_index)), ..UnitRecord::clone(record) };
    Effects::about(&op.benefit, Some(op.unit)).settle(view, cx)?;
    view.changes.loyalty.units.insert((op.benefit.clone(), op.unit), Arc::new(next));
    Ok(())
}

/// `unit.withdraw`: ends the unit's offer.
fn unit_withdraw(view: &mut View<'_>, cx: &Ctx<'_>, op: &UnitWithdraw) -> Result<(), Rejection> {
    let record = own_unit(view, cx, &op.benefit, op.unit)?;
    if record.offer.is_none() {
        return Err(Rejection::NotOffered(format!("unit {} of {} has no offer", op.unit, op.benefit)));
    }
    let next = UnitRecord { offer: None, ..UnitRecord::clone(record) };
    Effects::about(&op.benefit, Some(op.unit)).settle(view, cx)?;
    view.changes.loyalty.units.insert((op.benefit.clone(), op.unit), Arc::new(next));
    Ok(())
}

/// `unit.buy`: resale. Paying in the offer's token T: buyer pays the seller.
/// In another token A: buyer pays A's treasury the converted cost, T's
/// treasury pays the seller the price, and A's issuer owes T's issuer
/// `price * value_T` in the settlement.
fn unit_buy(view: &mut View<'_>, cx: &Ctx<'_>, op: &UnitBuy) -> Result<(), Rejection> {
    let record = live_unit(view, &op.benefit, op.unit)?;
    let Some((Offer::Sale(SaleOffer { token, price }), _)) = &record.offer else {
        return Err(Rejection::NotOffered(format!("unit {} of {} is not for sale", op.unit, op.benefit)));
    };
    let seller = record.owner.clone();
    if seller == *cx.author {
        return Err(Rejection::SelfDealing(format!("{seller} cannot buy its own unit")));
    }
    let quote = quote(view, &op.pay_with, token, *price)?;
    check_max(quote.cost, op.max_cost)?;
    let mut effects = Effects::about(&op.benefit, Some(op.unit));
    match quote.value {
        None => effects.pay(cx.author, &seller, token, quote.cost)?,
        Some(value) => {
            effects.pay(cx.author, &op.pay_with, &op.pay_with, quote.cost)?;
            effects.pay(token, &seller, token, *price)?;
            effects.settlement = Some(settlement_entry(view, cx, &op.pay_with, token, value));
        }
    }
    effects.give_unit((op.benefit.clone(), op.unit), cx.author);
    effects.settle(view, cx)
}

/// `unit.swap`: the author's `give` for `take`, whose owner offered it for
/// exactly `give`; both change hands in one step.
fn unit_swap(view: &mut View<'_>, cx: &Ctx<'_>, op: &UnitSwap) -> Result<(), Rejection> {
    own_unit(view, cx, &op.give.benefit, op.give.unit)?;
    let take = live_unit(view, &op.take.benefit, op.take.unit)?;
    let UnitRef { benefit, unit } = &op.give;
    match &take.offer {
        Some((Offer::Swap(want), _)) if want == &op.give => {}
        _ => {
            return Err(Rejection::NotOffered(format!(
                "unit {} of {} is not offered for unit {unit} of {benefit}",
                op.take.unit, op.take.benefit
            )))
        }
    }
    let other = take.owner.clone();
    if other == *cx.author {
        return Err(Rejection::SelfDealing(format!("{other} owns both units")));
    }
    let mut effects = Effects::about(&op.take.benefit, Some(op.take.unit));
    effects.give_unit((op.give.benefit.clone(), op.give.unit), &other);
    effects.give_unit((op.take.benefit.clone(), op.take.unit), cx.author);
    effects.settle(view, cx)
}

/// `unit.transfer`: a gift.
fn unit_transfer(view: &mut View<'_>, cx: &Ctx<'_>, op: &UnitTransfer) -> Result<(), Rejection> {
    own_unit(view, cx, &op.benefit, op.unit)?;
    if op.to == *cx.author {
        return Err(Rejection::Malformed(format!("{} cannot give a unit to itself", cx.author)));
    }
    let mut effects = Effects::about(&op.benefit, Some(op.unit));
    effects.give_unit((op.benefit.clone(), op.unit), &op.to);
    effects.settle(view, cx)
}

// ----------------------------------------------------------------- market

fn require_role(view: &View<'_>, cx: &Ctx<'_>, what: &str) -> Result<(), Rejection> {
    if view.role(cx.author).is_none() {
        return Err(Rejection::Unauthorized(format!(
            "only a trustee, steward or endorser can {what}; {} holds no role",
            cx.author
        )));
    }
    Ok(())
}

/// `market.rate`: the operator sets a token's settlement value.
fn market_rate(view: &mut View<'_>, cx: &Ctx<'_>, op: &MarketRate) -> Result<(), Rejection> {
    require_role(view, cx, "set exchange rates")?;
    let next = TokenRecord { unit_value: Some(op.unit_value), ..TokenRecord::clone(existing_token(view, &op.token)?) };
    Effects::default().settle(view, cx)?;
    view.changes.loyalty.tokens.insert(op.token.clone(), Arc::new(next));
    Ok(())
}

/// `market.commission`: the operator sets the platform commission, applied
/// to settlement entries from the next transaction on.
fn market_commission(view: &mut View<'_>, cx: &Ctx<'_>, op: &MarketCommission) -> Result<(), Rejection> {
    require_role(view, cx, "set the commission")?;
    Effects::default().settle(view, cx)?;
    view.changes.loyalty.commission = Some(op.clone());
    Ok(())
}
