//! Wire types of the loyalty marketplace (issue 5): the payloads of the
//! loyalty transactions and the read views the ledger serves.
//!
//! Accounts are DIDs: a company's treasury is its company `did:idelta`, an
//! employee's account its private `did:key`. Each company issues one token
//! whose id *is* the company DID; amounts are integer units. Benefits have
//! their own DID; each sale creates one unit numbered by the leaf index of
//! the purchase transaction. The rules live in the ledger node
//! (`ledger-node/src/state/loyalty.rs`); this module only fixes the shapes,
//! and checks what needs no ledger state (lengths, ranges, duplicates), so
//! that a writer can refuse a bad payload before signing it.
//!
//! Every payload is `camelCase` JSON and refuses unknown members, like the
//! other transaction payloads.

use crate::did::Did;
use crate::error::{Error, Result};
use crate::tx::{SignedTransaction, TxType};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Most recipients of one `token.transfer` and benefits of one `benefit.remove`.
pub const MAX_BULK: usize = 1000;
/// Largest supply of one token: every balance and every history delta then
/// fits in an `i64` (and in a JSON number a client can read).
pub const MAX_SUPPLY: u64 = i64::MAX as u64;
/// Largest number of units one benefit may offer.
pub const MAX_QUANTITY: u64 = 1_000_000;
/// Commission basis points that mean 100 %.
pub const FULL_BASIS_POINTS: u32 = 10_000;

fn malformed(what: impl std::fmt::Display) -> Error {
    Error::MalformedTransaction(what.to_string())
}

fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(malformed(format!("{field} must be {min} to {max} characters, got {n}")));
    }
    Ok(())
}

fn check_positive(field: &str, value: u64) -> Result<()> {
    if value == 0 {
        return Err(malformed(format!("{field} must be greater than 0")));
    }
    Ok(())
}

/// A payload of a loyalty transaction: its type, and the checks that need
/// no ledger state.
pub trait LoyaltyPayload: Serialize + DeserializeOwned {
    /// The transaction type carrying this payload.
    const TX_TYPE: TxType;

    /// Checks lengths, ranges and duplicates; the ledger refuses a payload
    /// that fails as `malformed`.
    fn validate(&self) -> Result<()>;
}

/// One unit of a benefit: the benefit DID and the leaf index of the
/// purchase that created the unit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UnitRef {
    /// The benefit's DID.
    pub benefit: Did,
    /// The unit number.
    pub unit: u64,
}

/// What an owner offers a unit for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub enum Offer {
    /// For sale at `price` units of `token`.
    Sale(SaleOffer),
    /// In exchange for exactly this other unit.
    Swap(UnitRef),
}

/// A sale offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SaleOffer {
    /// The token the price is in.
    pub token: Did,
    /// The price, > 0.
    pub price: u64,
}

/// The kind of an [`Offer`], as the offers listing filters it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OfferKind {
    /// [`Offer::Sale`].
    Sale,
    /// [`Offer::Swap`].
    Swap,
}

impl Offer {
    /// Its kind.
    pub fn kind(&self) -> OfferKind {
        match self {
            Offer::Sale(_) => OfferKind::Sale,
            Offer::Swap(_) => OfferKind::Swap,
        }
    }
}

/// What a company says about a benefit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BenefitTerms {
    /// 1 to 256 characters.
    pub name: String,
    /// Up to 2000 characters.
    #[serde(default)]
    pub description: String,
    /// 1 to 64 characters.
    pub category: String,
    /// Price of one unit in the company's token, > 0.
    pub price: u64,
    /// Units for sale in total, 1 to 1,000,000.
    pub quantity: u64,
    /// First moment (ms since the epoch) a unit may be bought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<u64>,
    /// First moment (ms since the epoch) no unit may be bought any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<u64>,
}

impl BenefitTerms {
    /// Checks lengths and ranges.
    pub fn validate(&self) -> Result<()> {
        check_len("name", &self.name, 1, 256)?;
        check_len("description", &self.description, 0, 2000)?;
        check_len("category", &self.category, 1, 64)?;
        check_positive("price", self.price)?;
        if !(1..=MAX_QUANTITY).contains(&self.quantity) {
            return Err(malformed(format!("quantity must be 1 to {MAX_QUANTITY}, got {}", self.quantity)));
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until) {
            if from >= until {
                return Err(malformed("validFrom must be before validUntil"));
            }
        }
        Ok(())
    }

    /// Whether a purchase at `now_ms` is inside the validity period.
    pub fn valid_at(&self, now_ms: u64) -> bool {
        self.valid_from.is_none_or(|f| f <= now_ms) && self.valid_until.is_none_or(|u| now_ms < u)
    }
}

/// Payload of [`TxType::TokenCreate`]: the author's token; its id is the author.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenCreate {
    /// 1 to 12 of `A-Z0-9`.
    pub symbol: String,
    /// 1 to 64 characters.
    pub name: String,
}

impl LoyaltyPayload for TokenCreate {
    const TX_TYPE: TxType = TxType::TokenCreate;
    fn validate(&self) -> Result<()> {
        let ok = (1..=12).contains(&self.symbol.len())
            && self.symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !ok {
            return Err(malformed(format!("symbol `{}` must be 1 to 12 of A-Z0-9", self.symbol)));
        }
        check_len("name", &self.name, 1, 64)
    }
}

/// Payload of [`TxType::TokenMint`]: new units into the author's treasury.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenMint {
    /// > 0.
    pub amount: u64,
}

impl LoyaltyPayload for TokenMint {
    const TX_TYPE: TxType = TxType::TokenMint;
    fn validate(&self) -> Result<()> {
        check_positive("amount", self.amount)
    }
}

/// Payload of [`TxType::TokenBurn`]: destroys units of the author's balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenBurn {
    /// The token.
    pub token: Did,
    /// > 0.
    pub amount: u64,
}

impl LoyaltyPayload for TokenBurn {
    const TX_TYPE: TxType = TxType::TokenBurn;
    fn validate(&self) -> Result<()> {
        check_positive("amount", self.amount)
    }
}

/// One payment of a [`TokenTransfer`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Transfer {
    /// The receiving account.
    pub to: Did,
    /// > 0.
    pub amount: u64,
}

/// Payload of [`TxType::TokenTransfer`]: one or many payments from the
/// author's balance, all or none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenTransfer {
    /// The token.
    pub token: Did,
    /// 1 to [`MAX_BULK`] payments.
    pub transfers: Vec<Transfer>,
    /// Up to 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

impl LoyaltyPayload for TokenTransfer {
    const TX_TYPE: TxType = TxType::TokenTransfer;
    fn validate(&self) -> Result<()> {
        if self.transfers.is_empty() || self.transfers.len() > MAX_BULK {
            return Err(malformed(format!("transfers must hold 1 to {MAX_BULK} payments")));
        }
        for (i, t) in self.transfers.iter().enumerate() {
            check_positive(&format!("transfers[{i}].amount"), t.amount)?;
        }
        self.total()?;
        if let Some(memo) = &self.memo {
            check_len("memo", memo, 0, 256)?;
        }
        Ok(())
    }
}

impl TokenTransfer {
    /// The sum of all payments; an overflow is malformed.
    pub fn total(&self) -> Result<u64> {
        self.transfers
            .iter()
            .try_fold(0u64, |sum, t| sum.checked_add(t.amount))
            .ok_or_else(|| malformed("the payments' total overflows"))
    }
}

/// Payload of [`TxType::AccountClose`]: everything the author holds goes to
/// `to`, and the author's account is closed for good.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccountClose {
    /// Receives every balance and every unit.
    pub to: Did,
}

impl LoyaltyPayload for AccountClose {
    const TX_TYPE: TxType = TxType::AccountClose;
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Payload of [`TxType::BenefitCreate`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BenefitCreate {
    /// The benefit's own DID, already on the ledger with a `LoyaltyBenefit`
    /// service naming the author.
    pub benefit: Did,
    /// The terms.
    pub terms: BenefitTerms,
}

impl LoyaltyPayload for BenefitCreate {
    const TX_TYPE: TxType = TxType::BenefitCreate;
    fn validate(&self) -> Result<()> {
        self.terms.validate()
    }
}

/// Payload of [`TxType::BenefitUpdate`]: new terms, same DID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BenefitUpdate {
    /// The benefit.
    pub benefit: Did,
    /// The new terms; `quantity` at least what was sold.
    pub terms: BenefitTerms,
}

impl LoyaltyPayload for BenefitUpdate {
    const TX_TYPE: TxType = TxType::BenefitUpdate;
    fn validate(&self) -> Result<()> {
        self.terms.validate()
    }
}

/// Payload of [`TxType::BenefitRemove`]: delists benefits for good.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BenefitRemove {
    /// 1 to [`MAX_BULK`] distinct benefits of the author.
    pub benefits: Vec<Did>,
}

impl LoyaltyPayload for BenefitRemove {
    const TX_TYPE: TxType = TxType::BenefitRemove;
    fn validate(&self) -> Result<()> {
        if self.benefits.is_empty() || self.benefits.len() > MAX_BULK {
            return Err(malformed(format!("benefits must name 1 to {MAX_BULK} benefits")));
        }
        let mut seen = HashSet::with_capacity(self.benefits.len());
        if let Some(twice) = self.benefits.iter().find(|b| !seen.insert(*b)) {
            return Err(malformed(format!("benefit {twice} is named twice")));
        }
        Ok(())
    }
}

/// Payload of [`TxType::BenefitPurchase`]: buys a new unit from the company.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BenefitPurchase {
    /// The benefit.
    pub benefit: Did,
    /// The token the buyer pays with.
    pub pay_with: Did,
    /// Most the buyer pays, in `pay_with`.
    pub max_cost: u64,
}

impl LoyaltyPayload for BenefitPurchase {
    const TX_TYPE: TxType = TxType::BenefitPurchase;
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Payload of [`TxType::UnitOffer`]: the owner offers a unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UnitOffer {
    /// The benefit.
    pub benefit: Did,
    /// The unit.
    pub unit: u64,
    /// What for; replaces an earlier offer.
    pub offer: Offer,
}

impl LoyaltyPayload for UnitOffer {
    const TX_TYPE: TxType = TxType::UnitOffer;
    fn validate(&self) -> Result<()> {
        match &self.offer {
            Offer::Sale(sale) => check_positive("offer.sale.price", sale.price),
            Offer::Swap(want) if want.benefit == self.benefit && want.unit == self.unit => {
                Err(malformed("a unit cannot be swapped for itself"))
            }
            Offer::Swap(_) => Ok(()),
        }
    }
}

/// Payload of [`TxType::UnitWithdraw`]: the owner withdraws its offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UnitWithdraw {
    /// The benefit.
    pub benefit: Did,
    /// The unit.
    pub unit: u64,
}

impl LoyaltyPayload for UnitWithdraw {
    const TX_TYPE: TxType = TxType::UnitWithdraw;
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Payload of [`TxType::UnitBuy`]: buys a unit offered for sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UnitBuy {
    /// The benefit.
    pub benefit: Did,
    /// The unit.
    pub unit: u64,
    /// The token the buyer pays with.
    pub pay_with: Did,
    /// Most the buyer pays, in `pay_with`.
    pub max_cost: u64,
}

impl LoyaltyPayload for UnitBuy {
    const TX_TYPE: TxType = TxType::UnitBuy;
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Payload of [`TxType::UnitSwap`]: accepts a swap offer on `take` that
/// wants exactly `give`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UnitSwap {
    /// The author's unit.
    pub give: UnitRef,
    /// The unit offered for a swap.
    pub take: UnitRef,
}

impl LoyaltyPayload for UnitSwap {
    const TX_TYPE: TxType = TxType::UnitSwap;
    fn validate(&self) -> Result<()> {
        if self.give == self.take {
            return Err(malformed("give and take are the same unit"));
        }
        Ok(())
    }
}

/// Payload of [`TxType::UnitTransfer`]: the owner gives a unit away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UnitTransfer {
    /// The benefit.
    pub benefit: Did,
    /// The unit.
    pub unit: u64,
    /// The new owner.
    pub to: Did,
}

impl LoyaltyPayload for UnitTransfer {
    const TX_TYPE: TxType = TxType::UnitTransfer;
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Payload of [`TxType::MarketRate`]: the settlement value of one token unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MarketRate {
    /// The token.
    pub token: Did,
    /// Settlement micro-units (1e-6 of the consortium currency) per token unit, > 0.
    pub unit_value: u64,
}

impl LoyaltyPayload for MarketRate {
    const TX_TYPE: TxType = TxType::MarketRate;
    fn validate(&self) -> Result<()> {
        check_positive("unitValue", self.unit_value)
    }
}

/// Payload of [`TxType::MarketCommission`], also the market view's commission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MarketCommission {
    /// 0 to 10,000 (100 %) of each settlement entry's value.
    pub basis_points: u32,
    /// Who the commission is owed to.
    pub beneficiary: Did,
}

impl LoyaltyPayload for MarketCommission {
    const TX_TYPE: TxType = TxType::MarketCommission;
    fn validate(&self) -> Result<()> {
        if self.basis_points > FULL_BASIS_POINTS {
            return Err(malformed(format!("basisPoints must be 0 to {FULL_BASIS_POINTS}")));
        }
        Ok(())
    }
}

/// A loyalty transaction's typed, checked payload. Exhaustive on purpose:
/// a new operation must be handled by the ledger's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoyaltyOp {
    /// `token.create`.
    TokenCreate(TokenCreate),
    /// `token.mint`.
    TokenMint(TokenMint),
    /// `token.burn`.
    TokenBurn(TokenBurn),
    /// `token.transfer`.
    TokenTransfer(TokenTransfer),
    /// `account.close`.
    AccountClose(AccountClose),
    /// `benefit.create`.
    BenefitCreate(BenefitCreate),
    /// `benefit.update`.
    BenefitUpdate(BenefitUpdate),
    /// `benefit.remove`.
    BenefitRemove(BenefitRemove),
    /// `benefit.purchase`.
    BenefitPurchase(BenefitPurchase),
    /// `unit.offer`.
    UnitOffer(UnitOffer),
    /// `unit.withdraw`.
    UnitWithdraw(UnitWithdraw),
    /// `unit.buy`.
    UnitBuy(UnitBuy),
    /// `unit.swap`.
    UnitSwap(UnitSwap),
    /// `unit.transfer`.
    UnitTransfer(UnitTransfer),
    /// `market.rate`.
    MarketRate(MarketRate),
    /// `market.commission`.
    MarketCommission(MarketCommission),
}

fn parse<P: LoyaltyPayload>(tx: &SignedTransaction) -> Result<P> {
    let p: P = tx.payload_as()?;
    p.validate().map_err(|e| malformed(format!("payload of {}: {e}", P::TX_TYPE)))?;
    Ok(p)
}

impl LoyaltyOp {
    /// The checked payload of `tx`, or `None` if `tx` is no loyalty
    /// transaction.
    pub fn from_tx(tx: &SignedTransaction) -> Result<Option<LoyaltyOp>> {
        Ok(Some(match tx.tx_type {
            TxType::TokenCreate => LoyaltyOp::TokenCreate(parse(tx)?),
            TxType::TokenMint => LoyaltyOp::TokenMint(parse(tx)?),
            TxType::TokenBurn => LoyaltyOp::TokenBurn(parse(tx)?),
            TxType::TokenTransfer => LoyaltyOp::TokenTransfer(parse(tx)?),
            TxType::AccountClose => LoyaltyOp::AccountClose(parse(tx)?),
            TxType::BenefitCreate => LoyaltyOp::BenefitCreate(parse(tx)?),
            TxType::BenefitUpdate => LoyaltyOp::BenefitUpdate(parse(tx)?),
            TxType::BenefitRemove => LoyaltyOp::BenefitRemove(parse(tx)?),
            TxType::BenefitPurchase => LoyaltyOp::BenefitPurchase(parse(tx)?),
            TxType::UnitOffer => LoyaltyOp::UnitOffer(parse(tx)?),
            TxType::UnitWithdraw => LoyaltyOp::UnitWithdraw(parse(tx)?),
            TxType::UnitBuy => LoyaltyOp::UnitBuy(parse(tx)?),
            TxType::UnitSwap => LoyaltyOp::UnitSwap(parse(tx)?),
            TxType::UnitTransfer => LoyaltyOp::UnitTransfer(parse(tx)?),
            TxType::MarketRate => LoyaltyOp::MarketRate(parse(tx)?),
            TxType::MarketCommission => LoyaltyOp::MarketCommission(parse(tx)?),
            _ => return Ok(None),
        }))
    }
}

/// A price converted from the token it is in to the token paid with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conversion {
    /// Units of the paying token: `ceil(value / unitValue(paid))`.
    pub cost: u64,
    /// Settlement micro-units: `price * unitValue(priced)`.
    pub value: u64,
}

/// The exchange arithmetic the ledger applies to cross-token payments, in
/// `u128`, so that a quote computed elsewhere matches the ledger's to the
/// unit. `None` if a result does not fit a `u64` or a unit value is 0.
pub fn convert(price: u64, priced_unit_value: u64, paid_unit_value: u64) -> Option<Conversion> {
    if paid_unit_value == 0 || priced_unit_value == 0 {
        return None;
    }
    let value = u128::from(price) * u128::from(priced_unit_value);
    let cost = value.div_ceil(u128::from(paid_unit_value));
    Some(Conversion { cost: u64::try_from(cost).ok()?, value: u64::try_from(value).ok()? })
}

/// Whether an employee's `did:key` may author transactions of type `t`:
/// the operations on one's own account (marked (E) in docs/loyalty.md).
pub fn did_key_may_author(t: TxType) -> bool {
    matches!(
        t,
        TxType::TokenBurn
            | TxType::TokenTransfer
            | TxType::AccountClose
            | TxType::BenefitPurchase
            | TxType::UnitOffer
            | TxType::UnitWithdraw
            | TxType::UnitBuy
            | TxType::UnitSwap
            | TxType::UnitTransfer
    )
}

/// Read views served by the ledger node (`/v1/loyalty/*`), shared by its
/// client and the agent. Each answer carries `treeSize`: the state it
/// describes is the one after the first `treeSize` leaves.
pub mod views {
    use super::{BenefitTerms, MarketCommission, Offer, OfferKind};
    use crate::did::Did;
    use crate::tx::TxType;
    use serde::{Deserialize, Serialize};

    /// A view together with the tree size it is as of.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct AsOf<T> {
        /// The state is the one after this many leaves.
        pub tree_size: u64,
        /// The view.
        #[serde(flatten)]
        pub view: T,
    }

    /// A company token.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct TokenView {
        /// The token id: the issuing company's DID.
        pub token: Did,
        /// Its symbol.
        pub symbol: String,
        /// Its name.
        pub name: String,
        /// Minted minus burned: the sum of all balances.
        pub supply: u64,
        /// Settlement micro-units per token unit, once the operator set it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub unit_value: Option<u64>,
        /// Leaf of the `token.create`.
        pub leaf_index: u64,
    }

    /// `GET /v1/loyalty/tokens`.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct TokensPage {
        /// See [`AsOf`].
        pub tree_size: u64,
        /// Every token, by token DID.
        pub tokens: Vec<TokenView>,
    }

    /// One exchange rate.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Rate {
        /// The token.
        pub token: Did,
        /// Settlement micro-units per token unit.
        pub unit_value: u64,
    }

    /// `GET /v1/loyalty/market`.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct MarketView {
        /// See [`AsOf`].
        pub tree_size: u64,
        /// The platform commission, if set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub commission: Option<MarketCommission>,
        /// Every rate set, by token DID.
        pub rates: Vec<Rate>,
    }

    /// One balance of an account.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Balance {
        /// The token.
        pub token: Did,
        /// Its symbol.
        pub symbol: String,
        /// The amount held.
        pub amount: u64,
    }

    /// One unit of a benefit and who owns it.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct UnitView {
        /// The benefit.
        pub benefit: Did,
        /// The unit number: the leaf of the purchase that created it.
        pub unit: u64,
        /// The owning account.
        pub owner: Did,
        /// Leaf of the transaction that gave it to its owner.
        pub acquired_leaf_index: u64,
        /// Its current offer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub offer: Option<Offer>,
    }

    /// `GET /v1/loyalty/accounts/{did}`. An unknown account is empty.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct AccountView {
        /// See [`AsOf`].
        pub tree_size: u64,
        /// The account.
        pub account: Did,
        /// Whether `account.close` closed it.
        pub closed: bool,
        /// Non-zero balances, by token DID.
        pub balances: Vec<Balance>,
        /// Units owned, by benefit and unit.
        pub units: Vec<UnitView>,
    }

    /// A change of one balance.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Delta {
        /// The token.
        pub token: Did,
        /// Positive in, negative out.
        pub amount: i64,
    }

    /// One transaction as it concerns one account.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HistoryEntry {
        /// Its leaf.
        pub leaf_index: u64,
        /// Its batch time, ms since the epoch.
        pub timestamp: u64,
        /// Its type.
        #[serde(rename = "type")]
        pub tx_type: TxType,
        /// Its author.
        pub author: Did,
        /// What it did to the account's balances.
        pub deltas: Vec<Delta>,
        /// The benefit concerned, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub benefit: Option<Did>,
        /// The unit concerned, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub unit: Option<u64>,
    }

    /// `GET /v1/loyalty/accounts/{did}/history`, newest first.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HistoryPage {
        /// See [`AsOf`].
        pub tree_size: u64,
        /// The entries.
        pub entries: Vec<HistoryEntry>,
        /// Pass as `before` for the next page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub next: Option<u64>,
    }

    /// A benefit as listed.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct BenefitView {
        /// Its DID.
        pub benefit: Did,
        /// The company selling it, whose token prices it.
        pub company: Did,
        /// The current terms.
        pub terms: BenefitTerms,
        /// Units sold.
        pub sold: u64,
        /// Units left: `quantity - sold`.
        pub remaining: u64,
        /// Whether the company delisted it.
        pub removed: bool,
        /// Leaf of the `benefit.create`.
        pub leaf_index: u64,
        /// Leaf of the last create, update or remove.
        pub updated_leaf_index: u64,
    }

    /// Filters of `GET /v1/loyalty/benefits`.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct BenefitQuery {
        /// Only this company's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub company: Option<Did>,
        /// Only this category (exact).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub category: Option<String>,
        /// Case-insensitive substring of name or description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub q: Option<String>,
        /// `true`: listed with units left; `false`: the others.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub available: Option<bool>,
        /// Only benefits created before this leaf (the `next` of a page).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub before: Option<u64>,
        /// 1 to 200, default 50.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub limit: Option<u32>,
    }

    /// `GET /v1/loyalty/benefits`, newest first.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct BenefitsPage {
        /// See [`AsOf`].
        pub tree_size: u64,
        /// The benefits.
        pub items: Vec<BenefitView>,
        /// Pass as `before` for the next page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub next: Option<u64>,
    }

    /// Filters of `GET /v1/loyalty/offers`.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct OfferQuery {
        /// Only offers of this kind.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub kind: Option<OfferKind>,
        /// Only offers made before this leaf (the `next` of a page).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub before: Option<u64>,
        /// 1 to 200, default 50.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub limit: Option<u32>,
    }

    /// `GET /v1/loyalty/offers`, newest offer first.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct OffersPage {
        /// See [`AsOf`].
        pub tree_size: u64,
        /// Offered units of listed benefits.
        pub items: Vec<UnitView>,
        /// Pass as `before` for the next page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub next: Option<u64>,
    }

    /// What one payer owes one payee over a period, before netting.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct GrossRow {
        /// The company whose token paid (its treasury received the tokens).
        pub payer: Did,
        /// The company whose benefit or token was delivered.
        pub payee: Did,
        /// Settlement micro-units.
        pub value: u64,
        /// Commission the payee owes out of `value`.
        pub commission: u64,
        /// Settlement entries.
        pub count: u64,
    }

    /// What remains owed between two companies after netting.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NetRow {
        /// Who owes.
        pub payer: Did,
        /// Who is owed.
        pub payee: Did,
        /// Settlement micro-units, > 0.
        pub amount: u64,
    }

    /// An amount per company.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct CompanyAmount {
        /// The company (or commission beneficiary).
        pub company: Did,
        /// Settlement micro-units.
        pub amount: u64,
    }

    /// A signed position.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PositionRow {
        /// The company (or commission beneficiary).
        pub company: Did,
        /// Receivable minus payable minus commission owed (plus commission
        /// received, for the beneficiary), settlement micro-units.
        pub amount: i64,
    }

    /// `GET /v1/loyalty/settlement?from&to`: a pure function of the
    /// settlement entries whose batch time is in `[from, to)`.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct SettlementReport {
        /// See [`AsOf`].
        pub tree_size: u64,
        /// Start, ms since the epoch, inclusive.
        pub from: u64,
        /// End, ms since the epoch, exclusive.
        pub to: u64,
        /// Per ordered pair, by payer then payee.
        pub gross: Vec<GrossRow>,
        /// Per unordered pair, by payer then payee; pairs netting to 0 omitted.
        pub net: Vec<NetRow>,
        /// Commission owed, per payee.
        pub commission: Vec<CompanyAmount>,
        /// Per company.
        pub positions: Vec<PositionRow>,
    }

    /// One log entry as the ledger browser lists it.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RecentEntry {
        /// Its leaf.
        pub leaf_index: u64,
        /// Its type.
        #[serde(rename = "type")]
        pub tx_type: TxType,
        /// Its author.
        pub author: Did,
        /// Its batch time.
        pub timestamp: u64,
    }

    /// `GET /v1/log/recent`, newest first.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RecentPage {
        /// See [`AsOf`].
        pub tree_size: u64,
        /// The entries.
        pub entries: Vec<RecentEntry>,
        /// Pass as `before` to continue the scan.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub next: Option<u64>,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    const CO: &str = "did:web:company.example";

    fn terms() -> BenefitTerms {
        BenefitTerms {
            name: "Gym".into(),
            description: String::new(),
            category: "sport".into(),
            price: 10,
            quantity: 3,
            valid_from: None,
            valid_until: None,
        }
    }

    #[test]
    fn offers_are_externally_tagged() {
        let sale: Offer = serde_json::from_value(json!({"sale": {"token": CO, "price": 5}})).unwrap();
        assert_eq!(sale.kind(), OfferKind::Sale);
        let swap = Offer::Swap(UnitRef { benefit: CO.parse().unwrap(), unit: 7 });
        assert_eq!(serde_json::to_value(&swap).unwrap(), json!({"swap": {"benefit": CO, "unit": 7}}));
        assert!(serde_json::from_value::<Offer>(json!({"sale": {"token": CO, "price": 5, "x": 1}})).is_err());
    }

    #[test]
    fn payload_checks() {
        assert!(TokenCreate { symbol: "ACME1".into(), name: "Acme".into() }.validate().is_ok());
        for bad in ["", "acme", "ABCDEFGHIJKLM", "A-B"] {
            assert!(TokenCreate { symbol: bad.into(), name: "x".into() }.validate().is_err(), "{bad}");
        }
        assert!(TokenMint { amount: 0 }.validate().is_err());
        let to: Did = CO.parse().unwrap();
        let t = |amounts: &[u64]| TokenTransfer {
            token: to.clone(),
            transfers: amounts.iter().map(|&amount| Transfer { to: to.clone(), amount }).collect(),
            memo: None,
        };
        assert!(t(&[1, 2]).validate().is_ok());
        assert!(t(&[]).validate().is_err());
        assert!(t(&[1, 0]).validate().is_err());
        assert!(t(&[u64::MAX, 1]).validate().is_err());
        assert!(t(&vec![1; MAX_BULK + 1]).validate().is_err());
        assert!(terms().validate().is_ok());
        assert!(BenefitTerms { quantity: 0, ..terms() }.validate().is_err());
        assert!(BenefitTerms { price: 0, ..terms() }.validate().is_err());
        assert!(BenefitTerms { valid_from: Some(5), valid_until: Some(5), ..terms() }.validate().is_err());
        assert!(BenefitRemove { benefits: vec![to.clone(), to.clone()] }.validate().is_err());
        assert!(MarketCommission { basis_points: 10_001, beneficiary: to.clone() }.validate().is_err());
        let same = UnitRef { benefit: to.clone(), unit: 1 };
        assert!(UnitSwap { give: same.clone(), take: same.clone() }.validate().is_err());
        assert!(UnitOffer { benefit: to.clone(), unit: 1, offer: Offer::Swap(same) }.validate().is_err());
    }

    #[test]
    fn conversion_rounds_the_cost_up() {
        // 7 B at 25_000 = 175_000 micro-units = 17.5 A at 10_000: 18 A.
        assert_eq!(convert(7, 25_000, 10_000), Some(Conversion { cost: 18, value: 175_000 }));
        assert_eq!(convert(40, 25_000, 10_000), Some(Conversion { cost: 100, value: 1_000_000 }));
        assert_eq!(convert(1, 1, 0), None);
        assert_eq!(convert(u64::MAX, 2, 1), None);
        // The value does not fit, though the cost would.
        assert_eq!(convert(u64::MAX, 2, 4), None);
    }

    #[test]
    fn validity_window_is_half_open() {
        let t = BenefitTerms { valid_from: Some(10), valid_until: Some(20), ..terms() };
        assert!(!t.valid_at(9) && t.valid_at(10) && t.valid_at(19) && !t.valid_at(20));
        assert!(terms().valid_at(0));
    }

    #[test]
    fn from_tx_checks_payloads_and_ignores_other_types() {
        let author: Did = CO.parse().unwrap();
        let tx = SignedTransaction::new(TxType::TokenMint, author.clone(), 1, &json!({"amount": 0}), None).unwrap();
        assert!(LoyaltyOp::from_tx(&tx).is_err());
        let tx = SignedTransaction::new(TxType::TokenMint, author.clone(), 1, &json!({"amount": 3}), None).unwrap();
        assert_eq!(LoyaltyOp::from_tx(&tx).unwrap(), Some(LoyaltyOp::TokenMint(TokenMint { amount: 3 })));
        let tx = SignedTransaction::new(TxType::DidDeactivate, author, 1, &json!({}), None).unwrap();
        assert_eq!(LoyaltyOp::from_tx(&tx).unwrap(), None);
        assert!(did_key_may_author(TxType::UnitBuy) && !did_key_may_author(TxType::TokenMint));
    }

    #[test]
    fn views_flatten_tree_size() {
        let view = views::AsOf {
            tree_size: 4,
            view: views::TokenView {
                token: CO.parse().unwrap(),
                symbol: "A".into(),
                name: "A".into(),
                supply: 1,
                unit_value: None,
                leaf_index: 2,
            },
        };
        let value = serde_json::to_value(&view).unwrap();
        assert_eq!(value["treeSize"], 4);
        assert_eq!(value["leafIndex"], 2);
        assert_eq!(serde_json::from_value::<views::AsOf<views::TokenView>>(value).unwrap(), view);
    }
}
