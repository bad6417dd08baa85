//! `/v1/loyalty/*`: the marketplace state (tokens, rates, accounts and
//! their history, benefits, units, offers, the settlement report), and
//! `/v1/log/recent` for the ledger browser. Reads only; writes are
//! transactions (`POST /v1/transactions`).

use super::error::ApiError;
use super::extract::{Path, Query};
use crate::node::Node;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use idelta_types::loyalty::views::{
    AccountView, AsOf, BenefitQuery, BenefitView, BenefitsPage, HistoryPage, MarketView, OfferQuery, OffersPage,
    RecentPage, SettlementReport, TokenView, TokensPage, UnitView,
};
use idelta_types::{Did, TxType};
use serde::Deserialize;

/// Default and largest page of the loyalty listings.
const LIST_LIMITS: (u32, u32) = (50, 200);
/// Default and largest page of `/v1/log/recent`.
const RECENT_LIMITS: (u32, u32) = (50, 100);

pub(super) fn router() -> Router<Node> {
    Router::new()
        .route("/v1/loyalty/tokens", get(tokens))
        .route("/v1/loyalty/tokens/{token}", get(token))
        .route("/v1/loyalty/market", get(market))
        .route("/v1/loyalty/accounts/{did}", get(account))
        .route("/v1/loyalty/accounts/{did}/history", get(history))
        .route("/v1/loyalty/benefits", get(benefits))
        .route("/v1/loyalty/benefits/{did}", get(benefit))
        .route("/v1/loyalty/benefits/{did}/units/{unit}", get(unit))
        .route("/v1/loyalty/offers", get(offers))
        .route("/v1/loyalty/settlement", get(settlement))
        .route("/v1/log/recent", get(recent))
}

fn did(text: &str) -> Result<Did, ApiError> {
    text.parse().map_err(|e: idelta_types::Error| ApiError::BadRequest(e.to_string()))
}

/// `limit` checked against `(default, max)`.
fn limit(given: Option<u32>, (default, max): (u32, u32)) -> Result<usize, ApiError> {
    match given.unwrap_or(default) {
        n @ 1.. if n <= max => Ok(n as usize),
        n => Err(ApiError::BadRequest(format!("limit must be 1 to {max}, got {n}"))),
    }
}

async fn tokens(State(node): State<Node>) -> Json<TokensPage> {
    Json(node.loyalty_tokens())
}

async fn token(State(node): State<Node>, Path(token): Path<String>) -> Result<Json<AsOf<TokenView>>, ApiError> {
    Ok(Json(node.loyalty_token(&did(&token)?)?))
}

async fn market(State(node): State<Node>) -> Json<MarketView> {
    Json(node.loyalty_market())
}

async fn account(State(node): State<Node>, Path(account): Path<String>) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(node.loyalty_account(&did(&account)?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    before: Option<u64>,
    limit: Option<u32>,
}

async fn history(
    State(node): State<Node>,
    Path(account): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<HistoryPage>, ApiError> {
    Ok(Json(node.loyalty_history(&did(&account)?, q.before, limit(q.limit, LIST_LIMITS)?)))
}

async fn benefits(State(node): State<Node>, Query(q): Query<BenefitQuery>) -> Result<Json<BenefitsPage>, ApiError> {
    let limit = limit(q.limit, LIST_LIMITS)?;
    Ok(Json(node.loyalty_benefits(&q, limit)))
}

async fn benefit(State(node): State<Node>, Path(benefit): Path<String>) -> Result<Json<AsOf<BenefitView>>, ApiError> {
    Ok(Json(node.loyalty_benefit(&did(&benefit)?)?))
}

async fn unit(
    State(node): State<Node>,
    Path((benefit, unit)): Path<(String, u64)>,
) -> Result<Json<AsOf<UnitView>>, ApiError> {
    Ok(Json(node.loyalty_unit(&did(&benefit)?, unit)?))
}

async fn offers(State(node): State<Node>, Query(q): Query<OfferQuery>) -> Result<Json<OffersPage>, ApiError> {
    let limit = limit(q.limit, LIST_LIMITS)?;
    Ok(Json(node.loyalty_offers(&q, limit)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Period {
    from: u64,
    to: u64,
}

async fn settlement(State(node): State<Node>, Query(p): Query<Period>) -> Result<Json<SettlementReport>, ApiError> {
    if p.from > p.to {
        return Err(ApiError::BadRequest(format!("from ({}) is after to ({})", p.from, p.to)));
    }
    Ok(Json(node.loyalty_settlement(p.from, p.to)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecentQuery {
    #[serde(rename = "type")]
    tx_type: Option<TxType>,
    before: Option<u64>,
    limit: Option<u32>,
}

async fn recent(State(node): State<Node>, Query(q): Query<RecentQuery>) -> Result<Json<RecentPage>, ApiError> {
    Ok(Json(node.recent(q.tx_type, q.before, limit(q.limit, RECENT_LIMITS)?)?))
}

#[cfg(test)]
mod tests {
    //! The read endpoints through the real HTTP server and the typed client.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use crate::client::{ClientError, LedgerClient};
    use crate::node::Node;
    use crate::state::loyalty::tests::Party;
    use idelta_types::loyalty::views::{BenefitQuery, OfferQuery};
    use idelta_types::loyalty::{
        BenefitCreate, BenefitPurchase, BenefitTerms, TokenCreate, TokenMint, TokenTransfer, Transfer,
    };
    use idelta_types::tx::DidCreate;
    use idelta_types::TxType;

    #[tokio::test]
    async fn loyalty_reads_over_http() {
        let dir = tempfile::tempdir().unwrap();
        let report = Node::init(dir.path(), "test", 1).unwrap();
        let node = Node::start(dir.path()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = crate::http::router(node.clone());
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let client = LedgerClient::new(&url, node.public_key()).unwrap();

        let op = Party::from_key(report.trustees[0].signing_key().unwrap());
        let (a, benefit, e1) = (Party::idelta(1), Party::idelta(2), Party::did_key(1));
        let terms = BenefitTerms {
            name: "Spa Day".into(),
            description: "A day at the spa".into(),
            category: "wellness".into(),
            price: 25,
            quantity: 1,
            valid_from: None,
            valid_until: None,
        };
        let writes = [
            a.tx(TxType::DidCreate, 1, &DidCreate { document: a.doc(vec![]) }, Some(&op)),
            a.tx(TxType::TokenCreate, 2, &TokenCreate { symbol: "ACME".into(), name: "Acme points".into() }, Some(&op)),
            a.tx(TxType::TokenMint, 3, &TokenMint { amount: 1_000 }, Some(&op)),
            a.tx(
                TxType::TokenTransfer,
                4,
                &TokenTransfer {
                    token: a.did.clone(),
                    transfers: vec![Transfer { to: e1.did.clone(), amount: 100 }],
                    memo: None,
                },
                Some(&op),
            ),
            benefit.tx(TxType::DidCreate, 1, &DidCreate { document: benefit.benefit_doc(&a.did) }, Some(&op)),
            a.tx(TxType::BenefitCreate, 5, &BenefitCreate { benefit: benefit.did.clone(), terms }, Some(&op)),
        ];
        for tx in &writes {
            client.submit(tx).await.unwrap();
        }
        let buy = BenefitPurchase { benefit: benefit.did.clone(), pay_with: a.did.clone(), max_cost: 25 };
        let receipt = client.submit(&e1.tx(TxType::BenefitPurchase, 1, &buy, Some(&op))).await.unwrap();
        let unit = receipt.leaf_index;
        // The second buyer of the last unit gets the spec's problem code.
        let e2 = Party::did_key(2);
        match client.submit(&e2.tx(TxType::BenefitPurchase, 1, &buy, Some(&op))).await {
            Err(ClientError::Problem { status: 409, code, .. }) => assert_eq!(code, "sold-out"),
            other => panic!("expected sold-out, got {other:?}"),
        }

        let tokens = client.loyalty_tokens().await.unwrap();
        assert_eq!(tokens.tree_size, receipt.tree_size);
        assert_eq!((tokens.tokens.len(), tokens.tokens[0].supply), (1, 1_000));
        assert_eq!(client.loyalty_token(&a.did).await.unwrap().view.symbol, "ACME");
        assert_eq!(client.loyalty_token(&e1.did).await, Err(ClientError::NotFound));

        let account = client.loyalty_account(&e1.did).await.unwrap();
        assert_eq!((account.balances[0].amount, account.balances[0].symbol.as_str()), (75, "ACME"));
        assert_eq!((account.units.len(), account.units[0].unit, account.closed), (1, unit, false));
        let history = client.loyalty_history(&e1.did, None, Some(1)).await.unwrap();
        assert_eq!(history.entries[0].tx_type, TxType::BenefitPurchase);
        assert_eq!(history.entries[0].deltas[0].amount, -25);
        let older = client.loyalty_history(&e1.did, history.next, None).await.unwrap();
        assert_eq!((older.entries.len(), older.entries[0].deltas[0].amount, older.next), (1, 100, None));
        match client.loyalty_history(&e1.did, None, Some(0)).await {
            Err(ClientError::Problem { status: 400, .. }) => {}
            other => panic!("limit 0 must be refused, got {other:?}"),
        }

        let sold_out = BenefitQuery { available: Some(false), q: Some("SPA".into()), ..Default::default() };
        let page = client.loyalty_benefits(&sold_out).await.unwrap();
        assert_eq!((page.items.len(), page.items[0].remaining, page.items[0].sold), (1, 0, 1));
        let available = BenefitQuery { available: Some(true), ..Default::default() };
        assert!(client.loyalty_benefits(&available).await.unwrap().items.is_empty());
        let other = BenefitQuery { company: Some(e1.did.clone()), ..Default::default() };
        assert!(client.loyalty_benefits(&other).await.unwrap().items.is_empty());
        assert_eq!(client.loyalty_benefit(&benefit.did).await.unwrap().view.company, a.did);
        assert_eq!(client.loyalty_unit(&benefit.did, unit).await.unwrap().view.owner, e1.did);
        assert_eq!(client.loyalty_unit(&benefit.did, unit + 1).await, Err(ClientError::NotFound));
        assert!(client.loyalty_offers(&OfferQuery::default()).await.unwrap().items.is_empty());
        let market = client.loyalty_market().await.unwrap();
        assert!(market.rates.is_empty() && market.commission.is_none());
        let report = client.loyalty_settlement(0, u64::MAX).await.unwrap();
        assert!(report.gross.is_empty() && report.positions.is_empty());

        let purchases = client.recent(Some(TxType::BenefitPurchase), None, None).await.unwrap();
        assert_eq!(purchases.entries.len(), 1);
        assert_eq!((purchases.entries[0].leaf_index, &purchases.entries[0].author), (unit, &e1.did));
        let latest = client.recent(None, None, Some(2)).await.unwrap();
        assert_eq!(latest.entries.iter().map(|e| e.leaf_index).collect::<Vec<_>>(), vec![unit, unit - 1]);
        assert_eq!(latest.next, Some(unit - 1));
        server.abort();
    }
}
