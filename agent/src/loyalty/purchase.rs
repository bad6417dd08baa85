//! How a purchase works, agent side (the ledger side is ledger-node
//! `state/loyalty.rs`), and the other things an employee does with its
//! account: transfers, offers, gifts, swaps, and what it sees.
//!
//! A purchase (`POST /v1/me/purchases`):
//! 1. **Before the ledger** (nothing written anywhere if any step fails):
//!    the buyer is an active employee; the benefit's terms (remembered
//!    briefly) say its price and company, a delisted benefit is refused
//!    (`benefit-removed`, 410); for a resale, the unit's offer is read
//!    fresh. The quote is the price in the buyer's company token at the
//!    operator's rates (`no-exchange-rate` without them); `maxCost`
//!    defaults to it. The buyer's key is loaded from its sub-wallet, which
//!    is the check that the wallet still answers.
//! 2. **The ledger**: one `benefit.purchase` (or `unit.buy`) signed by the
//!    buyer's `did:key`, counter-signed by the operator. The ledger checks
//!    balance, stock, validity and cost and moves tokens and ownership in
//!    one step, or refuses it whole (`insufficient-balance`, `sold-out`,
//!    ... 409; `benefit-removed` 410). A company sale's unit number is the
//!    leaf index in the receipt. Unreachable: 503, nothing written.
//! 3. **After the ledger**: the ownership credential ([`super::ownership`]):
//!    issued into the buyer's sub-wallet, the seller's revoked, the unit's
//!    row and the events committed together; a credential that cannot be
//!    issued now is `pending` and retried.

use super::db::{self, UnitFilter};
use super::ownership::{EventSpec, Moved};
use super::{balance_of, parse_did, Loyalty, LoyaltyError, Member, Result};
use idelta_types::loyalty::views::{BenefitQuery, BenefitView, OfferQuery, UnitView};
use idelta_types::loyalty::{
    AccountClose, BenefitPurchase, Offer, OfferKind, SaleOffer, TokenTransfer, Transfer, UnitBuy, UnitOffer, UnitRef,
    UnitSwap, UnitTransfer, UnitWithdraw,
};
use idelta_types::Did;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

/// A purchase: from the company (no `unit`) or a resale offer (`unit`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PurchaseRequest {
    /// The benefit's DID.
    pub benefit: String,
    /// A unit offered for resale; absent to buy a new unit from the company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<u64>,
    /// Most to pay, in the buyer's company token; defaults to the quote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost: Option<u64>,
}

/// A completed purchase.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Purchased {
    /// The benefit's DID.
    pub benefit: String,
    /// The unit bought.
    pub unit: u64,
    /// What it cost (the quote it was bought at), in `token`.
    pub cost: u64,
    /// The token paid with: the buyer's company token.
    pub token: String,
    /// The ledger leaf of the purchase.
    pub leaf_index: u64,
    /// The ownership credential's record id; absent while it is pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// True when the credential is not in the wallet yet (it is retried).
    pub pending: bool,
}

/// Who receives tokens or a unit.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Recipient {
    /// An employee of the caller's company, by id.
    Employee(String),
    /// Any account, by DID (another company's employee's `did:key`, a treasury).
    Did(String),
}

/// A transfer of the employee's company tokens.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TransferRequest {
    /// The recipient.
    pub to: Recipient,
    /// Token units, > 0.
    pub amount: u64,
    /// Up to 256 characters, recorded on the ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

/// A transfer, gift or swap as the ledger accepted it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Done {
    /// The ledger leaf.
    pub leaf_index: u64,
    /// The recipient's account, for transfers and gifts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The ownership credential now held, for a swap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
}

/// A gift of an owned unit.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GiftRequest {
    /// The recipient.
    pub to: Recipient,
}

/// What an owner offers a unit for.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub enum OfferRequest {
    /// For sale at `price` units of the owner's company token.
    Sale {
        /// > 0.
        price: u64,
    },
    /// In exchange for exactly this other unit.
    Swap {
        /// The wanted unit's benefit DID.
        benefit: String,
        /// The wanted unit.
        unit: u64,
    },
}

/// A unit, as a request names it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UnitName {
    /// The benefit's DID.
    pub benefit: String,
    /// The unit number.
    pub unit: u64,
}

/// Accepting a swap offer: `take` is offered for exactly `give`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SwapRequest {
    /// The caller's unit.
    pub give: UnitName,
    /// The unit offered for a swap.
    pub take: UnitName,
}

/// An owned unit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnedUnit {
    /// The benefit.
    #[schema(value_type = Object)]
    pub benefit: BenefitView,
    /// The unit number.
    pub unit: u64,
    /// Ledger leaf that gave it to the owner.
    pub acquired_leaf_index: u64,
    /// Its current offer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub offer: Option<Offer>,
    /// The ownership credential's record id, once issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
}

/// A cost in a token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    /// The token (a company DID).
    pub token: String,
    /// Token units.
    pub cost: u64,
}

/// One marketplace item.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarketItem {
    /// `benefit` (a new unit from the company) or `resale`.
    pub kind: &'static str,
    /// The benefit.
    #[schema(value_type = Object)]
    pub benefit: BenefitView,
    /// The unit, for a resale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<u64>,
    /// Who sells it, for a resale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    /// The price, in `token`.
    pub price: u64,
    /// The token the price is in.
    pub token: String,
    /// What it costs in the caller's company token, when computable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<Quote>,
}

/// A marketplace page, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarketPage {
    /// The items.
    pub items: Vec<MarketItem>,
    /// Pass as `before` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// Marketplace filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MarketQuery {
    /// Only this category.
    pub category: Option<String>,
    /// Only this company's (company id or DID).
    pub company: Option<String>,
    /// Case-insensitive substring of name or description.
    pub q: Option<String>,
    /// `next` of the previous page.
    pub before: Option<u64>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// `benefit` (default: new units from companies) or `resale`.
    pub kind: Option<String>,
}

fn unit_ref(name: &UnitName, member: &str) -> Result<UnitRef> {
    Ok(UnitRef { benefit: parse_did(&format!("{member}.benefit"), &name.benefit)?, unit: name.unit })
}

impl Loyalty {
    /// Buys a benefit unit: see the module documentation.
    pub async fn purchase(
        &self,
        company: &str,
        employee: &str,
        request: &PurchaseRequest,
        now_ms: i64,
    ) -> Result<Purchased> {
        let benefit = parse_did("benefit", &request.benefit)?;
        let buyer = self.member(company, employee).await?;
        let token = buyer.company_did.clone();
        let mut fresh = false;
        loop {
            let view = self.benefit(&benefit, fresh).await?;
            if view.removed {
                return Err(LoyaltyError::Refused {
                    status: 410,
                    code: "benefit-removed".into(),
                    detail: format!("benefit {benefit} was delisted by its company"),
                });
            }
            let (price, priced_in, seller) = match request.unit {
                None => (view.terms.price, view.company.clone(), None),
                Some(unit) => {
                    let offered = self.client().loyalty_unit(&benefit, unit).await.map_err(|e| match e {
                        idelta_ledger_node::client::ClientError::NotFound => LoyaltyError::Refused {
                            status: 404,
                            code: "unknown-unit".into(),
                            detail: format!("benefit {benefit} has no unit {unit}"),
                        },
                        other => other.into(),
                    })?;
                    match offered.view.offer {
                        Some(Offer::Sale(_)) if offered.view.owner == buyer.did => {
                            return Err(LoyaltyError::Refused {
                                status: 409,
                                code: "not-offered".into(),
                                detail: format!("unit {unit} of {benefit} is your own offer: withdraw it instead"),
                            })
                        }
                        Some(Offer::Sale(SaleOffer { token, price })) => (price, token, Some(offered.view.owner)),
                        _ => {
                            return Err(LoyaltyError::Refused {
                                status: 409,
                                code: "not-offered".into(),
                                detail: format!("unit {unit} of {benefit} is not offered for sale"),
                            })
                        }
                    }
                }
            };
            let quote = self.cost_in(&token, &priced_in, price, fresh).await?;
            let max_cost = request.max_cost.unwrap_or(quote);
            let written = match request.unit {
                None => {
                    let payload = BenefitPurchase { benefit: benefit.clone(), pay_with: token.clone(), max_cost };
                    self.write_as_member(&buyer, &payload).await
                }
                Some(unit) => {
                    let payload = UnitBuy { benefit: benefit.clone(), unit, pay_with: token.clone(), max_cost };
                    self.write_as_member(&buyer, &payload).await
                }
            };
            let receipt = match written {
                // A quote from remembered terms or rates that went up
                // meanwhile: quote again from the ledger's current ones.
                Err(e) if e.code() == Some("cost-exceeds-max") && request.max_cost.is_none() && !fresh => {
                    fresh = true;
                    continue;
                }
                Err(e) => {
                    if matches!(e.code(), Some("sold-out" | "benefit-removed")) {
                        self.forget(&benefit);
                    }
                    return Err(e);
                }
                Ok(receipt) => receipt,
            };
            let unit = request.unit.unwrap_or(receipt.leaf_index);
            let cost = quote.min(max_cost);
            let mut events = vec![EventSpec {
                tenant: buyer.company.id.clone(),
                kind: "loyalty.purchased",
                subject: buyer.employee.id.clone(),
                data: json!({ "benefit": benefit, "unit": unit, "cost": cost, "token": token,
                    "leafIndex": receipt.leaf_index, "resale": seller.is_some() }),
            }];
            // The sale stands from here on: a lookup failure costs an event, not the answer.
            let sold_by = match &seller {
                Some(owner) => {
                    self.db.employee_by_did(owner.as_str()).await.map(|o| o.map(|(c, _)| c)).map_err(LoyaltyError::from)
                }
                None => self.company_of(&view.company).await,
            }
            .unwrap_or_else(|e| {
                tracing::error!(%benefit, error = %e, "the seller's company is unknown: no loyalty.sold event");
                None
            });
            if let Some(tenant) = sold_by {
                events.push(EventSpec {
                    tenant,
                    kind: "loyalty.sold",
                    subject: benefit.to_string(),
                    data: json!({ "benefit": benefit, "unit": unit, "price": price, "token": priced_in,
                        "buyer": buyer.did, "leafIndex": receipt.leaf_index }),
                });
            }
            let moved = Moved {
                benefit: &view,
                unit,
                to: &buyer.did,
                to_employee: Some((buyer.company.id.clone(), buyer.employee.id.clone())),
                leaf_index: receipt.leaf_index,
                timestamp: receipt.timestamp,
            };
            let credential_id = self.moved(moved, events, now_ms).await?;
            return Ok(Purchased {
                benefit: benefit.to_string(),
                unit,
                cost,
                token: token.to_string(),
                leaf_index: receipt.leaf_index,
                pending: credential_id.is_none(),
                credential_id,
            });
        }
    }

    /// The account `to` names, from `member`'s point of view.
    async fn recipient(&self, member: &Member, to: &Recipient) -> Result<(Did, Option<(String, String)>)> {
        match to {
            Recipient::Employee(id) => {
                let other = self.member(&member.company.id, id).await.map_err(|_| {
                    LoyaltyError::NotFound(format!("to.employee: no active employee {id} in your company"))
                })?;
                Ok((other.did, Some((other.company.id, other.employee.id))))
            }
            Recipient::Did(did) => Ok((parse_did("to.did", did)?, None)),
        }
    }

    /// Pays another account in the employee's company token.
    pub async fn transfer(
        &self,
        company: &str,
        employee: &str,
        request: &TransferRequest,
        now_ms: i64,
    ) -> Result<Done> {
        let member = self.member(company, employee).await?;
        let (to, _) = self.recipient(&member, &request.to).await?;
        let payload = TokenTransfer {
            token: member.company_did.clone(),
            transfers: vec![Transfer { to: to.clone(), amount: request.amount }],
            memo: request.memo.clone(),
        };
        let receipt = self.write_as_member(&member, &payload).await?;
        let data = json!({ "to": to, "amount": request.amount, "leafIndex": receipt.leaf_index });
        self.event(&member.company.id, "loyalty.transferred", &member.employee.id, data, now_ms).await;
        Ok(Done { leaf_index: receipt.leaf_index, to: Some(to.to_string()), credential_id: None })
    }

    /// Gives an owned unit away.
    pub async fn gift(
        &self,
        company: &str,
        employee: &str,
        benefit: &str,
        unit: u64,
        request: &GiftRequest,
        now_ms: i64,
    ) -> Result<Done> {
        let member = self.member(company, employee).await?;
        let benefit = parse_did("benefit", benefit)?;
        let (to, to_employee) = self.recipient(&member, &request.to).await?;
        let view = self.benefit(&benefit, false).await?;
        let receipt =
            self.write_as_member(&member, &UnitTransfer { benefit: benefit.clone(), unit, to: to.clone() }).await?;
        let events = vec![EventSpec {
            tenant: member.company.id.clone(),
            kind: "loyalty.gifted",
            subject: member.employee.id.clone(),
            data: json!({ "benefit": benefit, "unit": unit, "to": to, "leafIndex": receipt.leaf_index }),
        }];
        let moved = Moved {
            benefit: &view,
            unit,
            to: &to,
            to_employee,
            leaf_index: receipt.leaf_index,
            timestamp: receipt.timestamp,
        };
        self.moved(moved, events, now_ms).await?;
        Ok(Done { leaf_index: receipt.leaf_index, to: Some(to.to_string()), credential_id: None })
    }

    /// Offers an owned unit for sale (in the owner's company token) or swap.
    pub async fn offer(
        &self,
        company: &str,
        employee: &str,
        benefit: &str,
        unit: u64,
        request: &OfferRequest,
        now_ms: i64,
    ) -> Result<Done> {
        let member = self.member(company, employee).await?;
        let benefit = parse_did("benefit", benefit)?;
        let offer = match request {
            OfferRequest::Sale { price } => Offer::Sale(SaleOffer { token: member.company_did.clone(), price: *price }),
            OfferRequest::Swap { benefit: wanted, unit: wanted_unit } => {
                Offer::Swap(UnitRef { benefit: parse_did("swap.benefit", wanted)?, unit: *wanted_unit })
            }
        };
        let receipt = self.write_as_member(&member, &UnitOffer { benefit: benefit.clone(), unit, offer }).await?;
        let data = json!({ "benefit": benefit, "unit": unit, "leafIndex": receipt.leaf_index });
        self.event(&member.company.id, "loyalty.offered", &member.employee.id, data, now_ms).await;
        Ok(Done { leaf_index: receipt.leaf_index, to: None, credential_id: None })
    }

    /// Withdraws an offer.
    pub async fn withdraw(&self, company: &str, employee: &str, benefit: &str, unit: u64, now_ms: i64) -> Result<Done> {
        let member = self.member(company, employee).await?;
        let benefit = parse_did("benefit", benefit)?;
        let receipt = self.write_as_member(&member, &UnitWithdraw { benefit: benefit.clone(), unit }).await?;
        let data = json!({ "benefit": benefit, "unit": unit, "leafIndex": receipt.leaf_index });
        self.event(&member.company.id, "loyalty.withdrawn", &member.employee.id, data, now_ms).await;
        Ok(Done { leaf_index: receipt.leaf_index, to: None, credential_id: None })
    }

    /// Accepts a swap offer: `give` goes to `take`'s owner, `take` to the caller.
    pub async fn swap(&self, company: &str, employee: &str, request: &SwapRequest, now_ms: i64) -> Result<Done> {
        let member = self.member(company, employee).await?;
        let give = unit_ref(&request.give, "give")?;
        let take = unit_ref(&request.take, "take")?;
        let counterparty = self.client().loyalty_unit(&take.benefit, take.unit).await?.view.owner;
        let (give_view, take_view) =
            (self.benefit(&give.benefit, false).await?, self.benefit(&take.benefit, false).await?);
        let receipt = self.write_as_member(&member, &UnitSwap { give: give.clone(), take: take.clone() }).await?;
        let me = Some((member.company.id.clone(), member.employee.id.clone()));
        let data = json!({ "give": give, "take": take, "with": counterparty, "leafIndex": receipt.leaf_index });
        let mut events = vec![EventSpec {
            tenant: member.company.id.clone(),
            kind: "loyalty.swapped",
            subject: member.employee.id.clone(),
            data: data.clone(),
        }];
        // The swap stands: without an answer here, `moved` looks again.
        let other = self.db.employee_by_did(counterparty.as_str()).await.ok().flatten();
        let mut other_events = Vec::new();
        if let Some((tenant, subject)) = &other {
            other_events.push(EventSpec {
                tenant: tenant.clone(),
                kind: "loyalty.swapped",
                subject: subject.clone(),
                data,
            });
        }
        let to_me = Moved {
            benefit: &take_view,
            unit: take.unit,
            to: &member.did,
            to_employee: me,
            leaf_index: receipt.leaf_index,
            timestamp: receipt.timestamp,
        };
        let credential_id = self.moved(to_me, std::mem::take(&mut events), now_ms).await?;
        let to_them = Moved {
            benefit: &give_view,
            unit: give.unit,
            to: &counterparty,
            to_employee: other,
            leaf_index: receipt.leaf_index,
            timestamp: receipt.timestamp,
        };
        self.moved(to_them, other_events, now_ms).await?;
        Ok(Done { leaf_index: receipt.leaf_index, to: None, credential_id })
    }

    /// The units an employee owns, with their credentials. A unit the
    /// ledger gave the employee that the agent has no record of (a crash
    /// between the ledger and the agent database) gets its credential now.
    /// Benefit views are read fresh: right after a purchase the owner
    /// expects to see the unit counted as sold.
    pub async fn owned(&self, company: &str, employee: &str, now_ms: i64) -> Result<Vec<OwnedUnit>> {
        let member = self.member(company, employee).await?;
        let (account, rows) =
            futures::join!(self.client().loyalty_account(&member.did), self.db.units_of(company, employee));
        let rows: HashMap<(String, i64), db::UnitRow> =
            rows?.into_iter().map(|r| ((r.benefit_did.clone(), r.unit), r)).collect();
        let mut owned = Vec::new();
        for unit in account?.units {
            let view = self.benefit(&unit.benefit, true).await?;
            let row = rows.get(&(unit.benefit.to_string(), db::unit_i64(unit.unit)));
            let mut credential_id = row.and_then(|r| r.credential_id.clone());
            let recorded = row.is_some_and(|r| r.leaf_index == db::unit_i64(unit.acquired_leaf_index));
            if !recorded && !view.removed && !self.ownership.in_flight(&unit.benefit, unit.unit) {
                credential_id = self.repair(&member, &view, &unit, now_ms).await?;
            }
            owned.push(OwnedUnit {
                benefit: view,
                unit: unit.unit,
                acquired_leaf_index: unit.acquired_leaf_index,
                offer: unit.offer,
                credential_id,
            });
        }
        Ok(owned)
    }

    /// Issues the credential of a unit the agent did not record.
    async fn repair(
        &self,
        member: &Member,
        view: &BenefitView,
        unit: &UnitView,
        now_ms: i64,
    ) -> Result<Option<String>> {
        let index = unit.acquired_leaf_index;
        let entry = self.client().entry(index).await?;
        let timestamp = idelta_ledger_node::client::check_entry(index, &entry)?.timestamp_ms;
        let moved = Moved {
            benefit: view,
            unit: unit.unit,
            to: &member.did,
            to_employee: Some((member.company.id.clone(), member.employee.id.clone())),
            leaf_index: unit.acquired_leaf_index,
            timestamp,
        };
        self.moved(moved, Vec::new(), now_ms).await
    }

    /// The marketplace: new units from companies, or resale offers.
    pub async fn marketplace(&self, caller_company: &str, query: &MarketQuery) -> Result<MarketPage> {
        let (_, pay_with) = self.active_company(caller_company).await?;
        if query.limit.is_some_and(|l| !(1..=200).contains(&l)) {
            return Err(LoyaltyError::Invalid("limit must be 1 to 200".into()));
        }
        let company = match query.company.as_deref() {
            None => None,
            Some(c) if c.starts_with("did:") => Some(parse_did("company", c)?),
            Some(c) => Some(self.active_company(c).await?.1),
        };
        let mut items = Vec::new();
        let next = match query.kind.as_deref().unwrap_or("benefit") {
            "benefit" => {
                let q = BenefitQuery {
                    company,
                    category: query.category.clone(),
                    q: query.q.clone(),
                    available: Some(true),
                    before: query.before,
                    limit: query.limit,
                };
                let page = self.client().loyalty_benefits(&q).await?;
                for view in page.items {
                    self.remember(&view);
                    let quote = self.quote(&pay_with, &view.company, view.terms.price).await;
                    items.push(MarketItem {
                        kind: "benefit",
                        price: view.terms.price,
                        token: view.company.to_string(),
                        unit: None,
                        seller: None,
                        quote,
                        benefit: view,
                    });
                }
                page.next
            }
            "resale" => {
                let q = OfferQuery { kind: Some(OfferKind::Sale), before: query.before, limit: query.limit };
                let page = self.client().loyalty_offers(&q).await?;
                let needle = query.q.as_deref().map(str::to_lowercase);
                for unit in page.items {
                    let Some(Offer::Sale(sale)) = unit.offer else { continue };
                    let view = self.benefit(&unit.benefit, false).await?;
                    let wanted = company.as_ref().is_none_or(|c| &view.company == c)
                        && query.category.as_ref().is_none_or(|c| &view.terms.category == c)
                        && needle.as_ref().is_none_or(|n| {
                            view.terms.name.to_lowercase().contains(n)
                                || view.terms.description.to_lowercase().contains(n)
                        });
                    if !wanted || view.removed {
                        continue;
                    }
                    let quote = self.quote(&pay_with, &sale.token, sale.price).await;
                    items.push(MarketItem {
                        kind: "resale",
                        price: sale.price,
                        token: sale.token.to_string(),
                        unit: Some(unit.unit),
                        seller: Some(unit.owner.to_string()),
                        quote,
                        benefit: view,
                    });
                }
                page.next
            }
            other => return Err(LoyaltyError::Invalid(format!("kind `{other}` is not benefit or resale"))),
        };
        Ok(MarketPage { items, next })
    }

    /// A quote in `pay_with`, when the rates allow one.
    async fn quote(&self, pay_with: &Did, priced_in: &Did, price: u64) -> Option<Quote> {
        let cost = self.cost_in(pay_with, priced_in, price, false).await.ok()?;
        Some(Quote { token: pay_with.to_string(), cost })
    }

    // ---- removal hooks ----

    /// Before an employee is removed: closes its ledger account to its
    /// company's treasury (every token and every unit goes there: the
    /// documented rule), then revokes the ownership credentials it held.
    /// An account already closed (a retried removal) or holding nothing is
    /// left as it is; a sub-wallet that can no longer sign is logged and
    /// the removal goes on.
    pub async fn close_account(&self, company: &str, employee: &str, now_ms: i64) -> Result<()> {
        let member = match self.member(company, employee).await {
            Ok(member) => member,
            // Already removed (or never there): the removal says so itself.
            Err(LoyaltyError::Tenant(crate::tenants::TenantError::NotFound(_))) => return Ok(()),
            Err(e) => return Err(e),
        };
        let account = self.client().loyalty_account(&member.did).await?;
        if !account.closed && (!account.balances.is_empty() || !account.units.is_empty()) {
            match self.write_as_member(&member, &AccountClose { to: member.company_did.clone() }).await {
                Ok(receipt) => {
                    let data = json!({ "account": member.did, "to": member.company_did,
                        "balance": balance_of(&account, &member.company_did), "units": account.units.len(),
                        "leafIndex": receipt.leaf_index });
                    self.event(company, "loyalty.account_closed", employee, data, now_ms).await;
                }
                Err(e) if e.code() == Some("account-closed") => {}
                Err(LoyaltyError::Wallet(detail)) => {
                    tracing::warn!(%company, %employee, %detail, "the employee's account cannot be closed: its key is gone");
                }
                Err(e) => return Err(e),
            }
        }
        self.revoke_units(UnitFilter::Holder { company, employee }, now_ms).await?;
        Ok(())
    }

    /// Before a company is removed: delists every benefit it still lists.
    /// Returns how many.
    pub async fn delist_company(&self, company: &str, now_ms: i64) -> Result<usize> {
        let (company, did) = match self.active_company(company).await {
            Ok(active) => active,
            // Already removed (or never there): the removal says so itself.
            Err(LoyaltyError::Tenant(crate::tenants::TenantError::NotFound(_))) => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut listed = Vec::new();
        let mut before = None;
        loop {
            let q = BenefitQuery { company: Some(did.clone()), before, limit: Some(200), ..Default::default() };
            let page = self.client().loyalty_benefits(&q).await?;
            listed.extend(page.items.into_iter().filter(|b| !b.removed).map(|b| b.benefit));
            match page.next {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        if !listed.is_empty() {
            self.remove_benefits(&company, &did, &listed, now_ms).await?;
        }
        Ok(listed.len())
    }
}
