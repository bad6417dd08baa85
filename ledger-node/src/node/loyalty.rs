//! Loyalty reads: the marketplace state as views (`/v1/loyalty/*`), and the
//! recent-entries scan of the ledger browser (`/v1/log/recent`).
//!
//! Each view is built under one read lock of the state and carries the
//! state's `treeSize`, so an answer never mixes two states. Listings page
//! backwards by leaf index (`before`), newest first.

use super::Node;
use crate::error::{NodeError, Rejection, Result};
use crate::state::loyalty::{settlement, AccountRecord, BenefitRecord, TokenRecord, UnitKey, UnitRecord};
use idelta_types::log::LeafInput;
use idelta_types::loyalty::views::{
    AccountView, AsOf, Balance, BenefitQuery, BenefitView, BenefitsPage, HistoryPage, MarketView, OfferQuery,
    OffersPage, Rate, RecentEntry, RecentPage, SettlementReport, TokenView, TokensPage, UnitView,
};
use idelta_types::{Did, TxType};
use std::sync::Arc;

/// Most leaves one `/v1/log/recent` request reads before it answers with
/// what it found and a `next` to continue from.
pub const RECENT_SCAN: u64 = 10_000;

fn token_view(token: &Did, r: &TokenRecord) -> TokenView {
    TokenView {
        token: token.clone(),
        symbol: r.symbol.clone(),
        name: r.name.clone(),
        supply: r.supply,
        unit_value: r.unit_value,
        leaf_index: r.leaf_index,
    }
}

fn benefit_view(benefit: &Did, r: &BenefitRecord) -> BenefitView {
    BenefitView {
        benefit: benefit.clone(),
        company: r.company.clone(),
        terms: (*r.terms).clone(),
        sold: r.sold,
        remaining: r.terms.quantity.saturating_sub(r.sold),
        removed: r.removed,
        leaf_index: r.leaf_index,
        updated_leaf_index: r.updated_leaf_index,
    }
}

fn unit_view((benefit, unit): &UnitKey, r: &UnitRecord) -> UnitView {
    UnitView {
        benefit: benefit.clone(),
        unit: *unit,
        owner: r.owner.clone(),
        acquired_leaf_index: r.acquired_leaf_index,
        offer: r.offer.as_ref().map(|(offer, _)| offer.clone()),
    }
}

/// The first `limit` of `items` and, if there are more, the cursor of the
/// last one taken.
fn page<T>(items: impl Iterator<Item = (u64, T)>, limit: usize) -> (Vec<T>, Option<u64>) {
    let mut out = Vec::new();
    let mut last = None;
    for (leaf, item) in items {
        if out.len() == limit {
            return (out, last);
        }
        out.push(item);
        last = Some(leaf);
    }
    (out, None)
}

impl Node {
    /// `GET /v1/loyalty/tokens`.
    pub fn loyalty_tokens(&self) -> TokensPage {
        let state = self.shared.state.read();
        let mut tokens: Vec<TokenView> = state.loyalty().tokens().map(|(d, r)| token_view(d, r)).collect();
        tokens.sort_by(|a, b| a.token.cmp(&b.token));
        TokensPage { tree_size: state.tree_size(), tokens }
    }

    /// `GET /v1/loyalty/tokens/{token}`.
    pub fn loyalty_token(&self, token: &Did) -> Result<AsOf<TokenView>> {
        let state = self.shared.state.read();
        let record = state.loyalty().token(token).ok_or_else(|| Rejection::UnknownToken(token.clone()))?;
        Ok(AsOf { tree_size: state.tree_size(), view: token_view(token, record) })
    }

    /// `GET /v1/loyalty/market`.
    pub fn loyalty_market(&self) -> MarketView {
        let state = self.shared.state.read();
        let mut rates: Vec<Rate> = state
            .loyalty()
            .tokens()
            .filter_map(|(token, r)| r.unit_value.map(|unit_value| Rate { token: token.clone(), unit_value }))
            .collect();
        rates.sort_by(|a, b| a.token.cmp(&b.token));
        MarketView { tree_size: state.tree_size(), commission: state.loyalty().commission().cloned(), rates }
    }

    /// `GET /v1/loyalty/accounts/{did}`; an account that never held
    /// anything is empty.
    pub fn loyalty_account(&self, account: &Did) -> AccountView {
        let state = self.shared.state.read();
        let books = state.loyalty();
        let empty = Arc::new(AccountRecord::default());
        let record = books.account(account).unwrap_or(&empty);
        let balances = record
            .balances
            .iter()
            .map(|(token, amount)| Balance {
                token: token.clone(),
                symbol: books.token(token).map(|t| t.symbol.clone()).unwrap_or_default(),
                amount: *amount,
            })
            .collect();
        let units = record.units.iter().filter_map(|key| books.unit(key).map(|u| unit_view(key, u))).collect();
        AccountView { tree_size: state.tree_size(), account: account.clone(), closed: record.closed, balances, units }
    }

    /// `GET /v1/loyalty/accounts/{did}/history`, newest first, entries
    /// before leaf `before`.
    pub fn loyalty_history(&self, account: &Did, before: Option<u64>, limit: usize) -> HistoryPage {
        let state = self.shared.state.read();
        let all = state.loyalty().history(account);
        let end = all.partition_point(|e| e.leaf_index < before.unwrap_or(u64::MAX));
        let older = all.get(..end).unwrap_or_default();
        let (entries, next) = page(older.iter().rev().map(|e| (e.leaf_index, e.clone())), limit);
        HistoryPage { tree_size: state.tree_size(), entries, next }
    }

    /// `GET /v1/loyalty/benefits`, newest first by creation leaf.
    pub fn loyalty_benefits(&self, q: &BenefitQuery, limit: usize) -> BenefitsPage {
        let needle = q.q.as_ref().map(|s| s.to_lowercase());
        let matches = |r: &BenefitRecord| {
            q.company.as_ref().is_none_or(|c| *c == r.company)
                && q.category.as_ref().is_none_or(|c| *c == r.terms.category)
                && q.available.is_none_or(|a| a == (!r.removed && r.sold < r.terms.quantity))
                && needle.as_ref().is_none_or(|n| {
                    r.terms.name.to_lowercase().contains(n) || r.terms.description.to_lowercase().contains(n)
                })
        };
        let state = self.shared.state.read();
        let items = state
            .loyalty()
            .benefits_before(q.before.unwrap_or(u64::MAX))
            .filter(|(_, _, r)| matches(r))
            .map(|(leaf, did, r)| (leaf, benefit_view(did, r)));
        let (items, next) = page(items, limit);
        BenefitsPage { tree_size: state.tree_size(), items, next }
    }

    /// `GET /v1/loyalty/benefits/{did}`.
    pub fn loyalty_benefit(&self, benefit: &Did) -> Result<AsOf<BenefitView>> {
        let state = self.shared.state.read();
        let record = state.loyalty().benefit(benefit).ok_or_else(|| Rejection::UnknownBenefit(benefit.clone()))?;
        Ok(AsOf { tree_size: state.tree_size(), view: benefit_view(benefit, record) })
    }

    /// `GET /v1/loyalty/benefits/{did}/units/{unit}`.
    pub fn loyalty_unit(&self, benefit: &Did, unit: u64) -> Result<AsOf<UnitView>> {
        let state = self.shared.state.read();
        let key = (benefit.clone(), unit);
        let record =
            state.loyalty().unit(&key).ok_or_else(|| Rejection::UnknownUnit { benefit: benefit.clone(), unit })?;
        Ok(AsOf { tree_size: state.tree_size(), view: unit_view(&key, record) })
    }

    /// `GET /v1/loyalty/offers`: live offers on units of listed benefits,
    /// newest offer first (`before` is an offer's leaf).
    pub fn loyalty_offers(&self, q: &OfferQuery, limit: usize) -> OffersPage {
        let state = self.shared.state.read();
        let books = state.loyalty();
        let items = books
            .offers_before(q.before.unwrap_or(u64::MAX))
            .filter(|(_, (benefit, _), u)| {
                let kind = u.offer.as_ref().map(|(o, _)| o.kind());
                q.kind.is_none_or(|k| kind == Some(k)) && books.benefit(benefit).is_some_and(|b| !b.removed)
            })
            .map(|(leaf, key, u)| (leaf, unit_view(key, u)));
        let (items, next) = page(items, limit);
        OffersPage { tree_size: state.tree_size(), items, next }
    }

    /// `GET /v1/loyalty/settlement`: the report over `[from, to)`.
    pub fn loyalty_settlement(&self, from: u64, to: u64) -> Result<SettlementReport> {
        let state = self.shared.state.read();
        settlement::report(state.loyalty().settlement(), from, to, state.tree_size())
            .map_err(|e| NodeError::OutOfRange(e.to_string()))
    }

    /// `GET /v1/log/recent`: entries before `before` (of type `tx_type` if
    /// given), newest first, reading at most [`RECENT_SCAN`] leaves; `next`
    /// continues the scan where it stopped.
    pub fn recent(&self, tx_type: Option<TxType>, before: Option<u64>, limit: usize) -> Result<RecentPage> {
        let tree_size = self.sth().tree_size;
        let start = before.unwrap_or(tree_size).min(tree_size);
        let floor = start.saturating_sub(RECENT_SCAN);
        let mut entries = Vec::new();
        let mut index = start;
        while index > floor && entries.len() < limit {
            index -= 1;
            let input = self.leaf_input(index)?;
            let leaf = LeafInput::decode(&input).map_err(|e| NodeError::Corrupt(format!("leaf {index}: {e}")))?;
            if tx_type.is_none_or(|t| t == leaf.tx.tx_type) {
                entries.push(RecentEntry {
                    leaf_index: index,
                    tx_type: leaf.tx.tx_type,
                    author: leaf.tx.author,
                    timestamp: leaf.timestamp_ms,
                });
            }
        }
        let next = (index > 0).then_some(index);
        Ok(RecentPage { tree_size, entries, next })
    }
}
