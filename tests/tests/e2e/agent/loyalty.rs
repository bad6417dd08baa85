//! The loyalty marketplace (issue 5), end to end through the agent's API
//! and checked on the ledger and in the employees' sub-wallets:
//!
//! - [`last_unit_race`]: 64 employees of two companies race for the last
//!   unit of a benefit, 1,000 rounds on SQLite (100 on PostgreSQL):
//!   exactly one 201 per round, every loser a `sold-out` 409 with its
//!   balance unchanged, every token's supply equal to the sum of its
//!   balances, exactly one ownership credential per unit sold;
//! - [`failures_leave_nothing`]: a purchase refused for an insufficient
//!   balance, a benefit removed meanwhile, an exceeded `maxCost`, an
//!   unreachable ledger and a missing sub-wallet leaves the ledger, the
//!   agent's records and the wallets exactly as they were;
//! - [`cross_company_settlement`]: purchases both ways between two
//!   companies at operator-set rates with a commission, checked against
//!   the worked example in its comments;
//! - [`tenant_negatives`]: one company's admin cannot mint, pay, list,
//!   update or delist for another, nor read its settlement; an employee
//!   cannot spend or give away what another holds, nor use admin or
//!   operator routes;
//! - [`resale_gift_swap`]: each moves ownership on the ledger and the
//!   ownership credential (the old one revoked, the new one held);
//! - [`removals`]: a removed employee's tokens and units go to the company
//!   treasury, a removed benefit's credentials are revoked, a removed
//!   company's benefits are delisted.

use super::Tenant;
use idelta_tests::agent::{assert_problem, Answer, Backend, TestAgent};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const PURCHASES: &str = "/v1/me/purchases";
const ACCOUNT: &str = "/v1/me/account";
const HELD: &str = "/v1/me/credentials";
const OWNERSHIP: &str = "BenefitOwnershipCredential";

// ---------------------------------------------------------------- helpers

async fn send(agent: &TestAgent, method: Method, path: &str, token: &str, body: Value) -> Answer {
    let body = (!body.is_null()).then_some(body);
    agent.request(method, path, Some(token), body.as_ref()).await
}

/// Asserts a problem with `status` and `code`; returns it.
fn expect_code<'a>(answer: &'a Answer, status: u16, code: &str, context: &str) -> &'a Value {
    let problem = assert_problem(answer, &[status], context);
    assert_eq!(problem["code"], code, "{context}: {problem}");
    problem
}

/// Asserts `status`; returns the body.
fn expect(answer: Answer, status: StatusCode, context: &str) -> Value {
    assert_eq!(answer.0, status, "{context}: {}", answer.2);
    answer.2
}

/// Issues the company's token (`symbol`) and mints `supply` into its
/// treasury.
async fn token(agent: &TestAgent, t: &Tenant, symbol: &str, supply: u64) {
    let path = format!("/v1/companies/{}/token", t.id());
    let body = json!({ "symbol": symbol, "name": format!("{symbol} points") });
    let view = expect(send(agent, Method::POST, &path, &t.admin, body).await, StatusCode::CREATED, "token");
    assert_eq!(view["token"], t.did(), "the token id is the company DID: {view}");
    let minted = send(agent, Method::POST, &format!("{path}/mint"), &t.admin, json!({ "amount": supply })).await;
    let minted = expect(minted, StatusCode::OK, "mint");
    assert_eq!(minted["supply"], supply, "{minted}");
}

/// Pays employees (by id) from the company's treasury, in one transaction.
async fn pay(agent: &TestAgent, t: &Tenant, payments: &[(&str, u64)]) {
    let path = format!("/v1/companies/{}/token/payments", t.id());
    let list: Vec<Value> = payments.iter().map(|(e, a)| json!({ "employee": e, "amount": a })).collect();
    let paid = expect(
        send(agent, Method::POST, &path, &t.admin, json!({ "payments": list })).await,
        StatusCode::CREATED,
        "pay",
    );
    assert_eq!(paid["total"], payments.iter().map(|p| p.1).sum::<u64>(), "{paid}");
}

/// Sets the company token's settlement value as the operator.
async fn rate(agent: &TestAgent, t: &Tenant, unit_value: u64) {
    let path = format!("/v1/exchange-rates/{}", t.id());
    let set = send(agent, Method::PUT, &path, &agent.operator_key, json!({ "unitValue": unit_value })).await;
    let set = expect(set, StatusCode::OK, "rate");
    assert_eq!((&set["token"], &set["unitValue"]), (&json!(t.did()), &json!(unit_value)), "{set}");
}

fn terms(name: &str, price: u64, quantity: u64) -> Value {
    json!({ "name": name, "description": format!("{name}, for the tests"), "category": "tests",
            "price": price, "quantity": quantity })
}

/// Lists a benefit as the company's admin; returns its DID.
async fn list(agent: &TestAgent, t: &Tenant, terms: Value) -> String {
    let path = format!("/v1/companies/{}/benefits", t.id());
    let view = expect(send(agent, Method::POST, &path, &t.admin, terms).await, StatusCode::CREATED, "list");
    assert_eq!(view["company"], t.did(), "{view}");
    view["benefit"].as_str().unwrap_or_else(|| panic!("benefit DID in {view}")).to_owned()
}

/// `POST /v1/me/purchases` as `token`: from the company, or the resale
/// offer of `unit`.
async fn buy(agent: &TestAgent, token: &str, benefit: &str, unit: Option<u64>) -> Answer {
    let mut body = json!({ "benefit": benefit });
    if let Some(u) = unit {
        body["unit"] = json!(u);
    }
    send(agent, Method::POST, PURCHASES, token, body).await
}

/// A purchase that must succeed; returns the unit bought.
async fn bought(agent: &TestAgent, token: &str, benefit: &str, unit: Option<u64>, cost: u64) -> u64 {
    let body = expect(buy(agent, token, benefit, unit).await, StatusCode::CREATED, "purchase");
    assert_eq!((&body["benefit"], &body["cost"]), (&json!(benefit), &json!(cost)), "{body}");
    assert!(body["credentialId"].is_string(), "an ownership credential was issued: {body}");
    body["unit"].as_u64().unwrap_or_else(|| panic!("unit in {body}"))
}

/// The caller's balance of `token_did`, from `/v1/me/account`.
async fn balance(agent: &TestAgent, token: &str, token_did: &str) -> u64 {
    let account = expect(agent.get(ACCOUNT, token).await, StatusCode::OK, "account");
    amount_of(&account, token_did)
}

fn amount_of(account: &Value, token_did: &str) -> u64 {
    let balances = account["balances"].as_array().unwrap_or_else(|| panic!("balances in {account}"));
    balances.iter().find(|b| b["token"] == token_did).map_or(0, |b| b["amount"].as_u64().expect("amount"))
}

/// `GET path` on the ledger; 200 and its JSON.
async fn ledger(agent: &TestAgent, path: &str) -> Value {
    let resp = agent.http.get(format!("{}{path}", agent.ledger.url)).send().await.expect("ledger read");
    let status = resp.status();
    let body: Value = resp.json().await.expect("ledger JSON");
    assert_eq!(status, StatusCode::OK, "GET {path} on the ledger: {body}");
    body
}

/// A ledger view without its `treeSize`, for comparisons.
async fn ledger_view(agent: &TestAgent, path: &str) -> Value {
    let mut view = ledger(agent, path).await;
    if let Some(o) = view.as_object_mut() {
        o.remove("treeSize");
    }
    view
}

async fn ledger_balance(agent: &TestAgent, account: &str, token_did: &str) -> u64 {
    amount_of(&ledger(agent, &format!("/v1/loyalty/accounts/{account}")).await, token_did)
}

async fn unit_view(agent: &TestAgent, benefit: &str, unit: u64) -> Value {
    ledger(agent, &format!("/v1/loyalty/benefits/{benefit}/units/{unit}")).await
}

async fn owner(agent: &TestAgent, benefit: &str, unit: u64) -> String {
    let view = unit_view(agent, benefit, unit).await;
    view["owner"].as_str().unwrap_or_else(|| panic!("owner in {view}")).to_owned()
}

async fn benefit_view(agent: &TestAgent, benefit: &str) -> Value {
    ledger(agent, &format!("/v1/loyalty/benefits/{benefit}")).await
}

/// Every token's supply equals the sum of its balances over `accounts`
/// (which must be every holder).
async fn supply_conserved(agent: &TestAgent, tokens: &[&str], accounts: &[String], context: &str) {
    let views = futures::future::join_all(
        accounts.iter().map(|a| async move { ledger(agent, &format!("/v1/loyalty/accounts/{a}")).await }),
    )
    .await;
    for t in tokens {
        let supply = ledger(agent, &format!("/v1/loyalty/tokens/{t}")).await["supply"].as_u64().expect("supply");
        let held: u64 = views.iter().map(|v| amount_of(v, t)).sum();
        assert_eq!(held, supply, "{context}: balances of {t} sum to {held}, supply is {supply}");
    }
}

/// The ownership credentials `token`'s employee holds (the credentials
/// themselves).
async fn ownership(agent: &TestAgent, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{HELD}?limit=100&cursor={c}"),
            None => format!("{HELD}?limit=100"),
        };
        let page = expect(agent.get(&path, token).await, StatusCode::OK, "held credentials");
        for item in page["items"].as_array().expect("items") {
            if item["types"].as_array().is_some_and(|t| t.iter().any(|t| t == OWNERSHIP)) {
                out.push(item["credential"].clone());
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// `(benefitDid, unit)` of an ownership credential.
fn unit_of(vc: &Value) -> (String, u64) {
    let s = &vc["credentialSubject"];
    (
        s["benefitDid"].as_str().unwrap_or_else(|| panic!("benefitDid in {vc}")).to_owned(),
        s["unit"].as_u64().unwrap_or_else(|| panic!("unit in {vc}")),
    )
}

/// The ownership credential `token`'s employee holds for `(benefit, unit)`.
async fn held_for(agent: &TestAgent, token: &str, benefit: &str, unit: u64) -> Option<Value> {
    ownership(agent, token).await.into_iter().find(|vc| unit_of(vc) == (benefit.to_owned(), unit))
}

async fn verify(agent: &TestAgent, vc: &Value) -> Value {
    let body = json!({ "verifiableCredential": vc });
    expect(
        send(agent, Method::POST, "/vc-api/credentials/verify", &agent.operator_key, body).await,
        StatusCode::OK,
        "verify",
    )
}

/// Waits until `vc` fails verification on `status.revocation` (the status
/// list is published to the ledger in the background).
async fn revoked(agent: &TestAgent, vc: &Value, context: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let report = verify(agent, vc).await;
        let failed: Vec<&str> = report["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|e| e["name"].as_str()).collect())
            .unwrap_or_default();
        if failed.contains(&"status.revocation") {
            return;
        }
        assert!(Instant::now() < deadline, "{context}: never revoked: {report:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts that `vc` verifies, and is about `(benefit, unit)` owned by
/// `holder` (its did:key), issued by `provider`.
async fn valid_ownership(agent: &TestAgent, vc: &Value, holder: &str, provider: &str, context: &str) {
    assert_eq!(vc["issuer"], provider, "{context}: issuer: {vc}");
    assert_eq!(vc["credentialSubject"]["id"], holder, "{context}: subject: {vc}");
    assert_eq!(vc["credentialSubject"]["provider"], provider, "{context}: provider: {vc}");
    let report = verify(agent, vc).await;
    assert_eq!(report["verified"], true, "{context}: {report:#}");
}

fn did(employee: &Value) -> String {
    employee["did"].as_str().unwrap_or_else(|| panic!("did in {employee}")).to_owned()
}

// ---------------------------------------------------------------- the race

/// One buyer of the race.
struct Buyer {
    token: String,
    did: String,
    /// 0: company A, 1: company B.
    company: usize,
}

/// 64 employees (32 of each of two companies, every one paid enough to
/// win every round) buy the only unit of a fresh benefit at once, round
/// after round; the benefits alternate between the companies, so half the
/// sales are across companies at the rates below. Each round: one 201,
/// 63 `sold-out`, the winner charged exactly the cost, every loser's
/// balance unchanged, the unit owned by the winner on the ledger.
/// Periodically and at the end: every token's supply is the sum of its
/// balances, and the wallets hold exactly one ownership credential per
/// round, the winner's.
async fn last_unit_race(backend: Backend) {
    let rounds: usize = std::env::var("IDELTA_LOYALTY_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if backend == Backend::Sqlite { 1000 } else { 100 });
    let Some(agent) = TestAgent::start(backend).await else { return };
    let started = Instant::now();
    let names: Vec<Vec<String>> =
        ["Acme", "Globex"].iter().map(|c| (0..32).map(|i| format!("{c} buyer {i}")).collect()).collect();
    let refs = |i: usize| names[i].iter().map(String::as_str).collect::<Vec<_>>();
    let a = Tenant::register(&agent, "Acme Anvils", &refs(0)).await;
    let b = Tenant::register(&agent, "Globex Gadgets", &refs(1)).await;
    let companies = [&a, &b];

    // A token is worth 1 EUR (1,000,000 micro-units), a B token 0.50 EUR.
    // Price 3 in the benefit's token: an A buyer pays 3 A for A's benefit
    // and ceil(3 * 0.5 / 1) = 2 A for B's; a B buyer pays 3 B for B's and
    // ceil(3 * 1 / 0.5) = 6 B for A's.
    let price = 3u64;
    let cost = |buyer: usize, seller: usize| match (buyer, seller) {
        (0, 1) => 2,
        (1, 0) => 6,
        _ => price,
    };
    let budget = 6 * rounds as u64;
    for (t, symbol, value) in [(&a, "ACME", 1_000_000), (&b, "GLOBEX", 500_000)] {
        token(&agent, t, symbol, 32 * budget + 1_000).await;
        rate(&agent, t, value).await;
        let payments: Vec<(&str, u64)> = (0..32).map(|i| (t.employee_id(i), budget)).collect();
        pay(&agent, t, &payments).await;
    }
    let buyers: Vec<Buyer> = companies
        .iter()
        .enumerate()
        .flat_map(|(c, t)| {
            t.employees.iter().map(move |(e, token)| Buyer { token: token.clone(), did: did(e), company: c })
        })
        .collect();
    let mut expected: Vec<u64> = vec![budget; buyers.len()];
    let mut accounts: Vec<String> = buyers.iter().map(|b| b.did.clone()).collect();
    accounts.extend([a.did().to_owned(), b.did().to_owned()]);

    // The benefits, listed in advance (concurrently, 25 at a time):
    // round r sells the only unit of benefits[r], of company r % 2.
    let mut benefits = Vec::with_capacity(rounds);
    for chunk in (0..rounds).collect::<Vec<_>>().chunks(25) {
        let listed = futures::future::join_all(
            chunk.iter().map(|&r| list(&agent, companies[r % 2], terms(&format!("Last unit {r}"), price, 1))),
        )
        .await;
        benefits.extend(listed);
    }
    let setup = started.elapsed();

    let mut winners: Vec<usize> = Vec::with_capacity(rounds);
    let mut units: Vec<u64> = Vec::with_capacity(rounds);
    for (r, benefit) in benefits.iter().enumerate() {
        let seller = r % 2;
        let answers = futures::future::join_all(buyers.iter().map(|b| buy(&agent, &b.token, benefit, None))).await;
        let won: Vec<usize> = (0..answers.len()).filter(|&i| answers[i].0 == StatusCode::CREATED).collect();
        assert_eq!(won.len(), 1, "round {r}: {} purchases succeeded: {:?}", won.len(), won);
        let w = won[0];
        for (i, answer) in answers.iter().enumerate().filter(|(i, _)| *i != w) {
            expect_code(answer, 409, "sold-out", &format!("round {r}, buyer {i}"));
        }
        let body = &answers[w].2;
        let charged = cost(buyers[w].company, seller);
        assert_eq!(body["cost"], charged, "round {r}: the winner's cost: {body}");
        let own_token = companies[buyers[w].company].did();
        assert_eq!(body["token"], own_token, "round {r}: paid in the buyer's own token: {body}");
        expected[w] -= charged;
        let unit = body["unit"].as_u64().unwrap_or_else(|| panic!("round {r}: unit in {body}"));

        // Every balance as its owner sees it: the winner's down by the
        // cost, every loser's unchanged.
        let seen =
            futures::future::join_all(buyers.iter().map(|b| balance(&agent, &b.token, companies[b.company].did())))
                .await;
        assert_eq!(seen, expected, "round {r}: balances after the race (winner {w})");
        assert_eq!(owner(&agent, benefit, unit).await, buyers[w].did, "round {r}: the unit's owner");
        let view = benefit_view(&agent, benefit).await;
        assert_eq!((&view["sold"], &view["remaining"]), (&json!(1), &json!(0)), "round {r}: {view}");
        winners.push(w);
        units.push(unit);

        if r % 100 == 99 || r + 1 == rounds {
            supply_conserved(&agent, &[a.did(), b.did()], &accounts, &format!("after round {r}")).await;
            // Exactly one ownership credential per unit sold, the winner's.
            let held = futures::future::join_all(buyers.iter().map(|b| ownership(&agent, &b.token))).await;
            let mut holders: BTreeMap<(String, u64), Vec<usize>> = BTreeMap::new();
            for (i, vcs) in held.iter().enumerate() {
                for vc in vcs {
                    holders.entry(unit_of(vc)).or_default().push(i);
                }
            }
            assert_eq!(holders.len(), r + 1, "after round {r}: {} units have credentials", holders.len());
            for (k, (benefit, unit)) in benefits.iter().zip(&units).enumerate().take(r + 1) {
                let who = holders.get(&(benefit.clone(), *unit));
                assert_eq!(who, Some(&vec![winners[k]]), "round {k}: the ownership credentials' holders");
            }
        }
    }
    // One credential checked in full: it verifies and names the winner.
    let last = rounds - 1;
    let vc = held_for(&agent, &buyers[winners[last]].token, &benefits[last], units[last]).await.expect("held");
    valid_ownership(&agent, &vc, &buyers[winners[last]].did, companies[last % 2].did(), "the last round's").await;
    eprintln!(
        "last_unit_race ({backend:?}): {rounds} rounds of 64 buyers in {:.1} s (set-up {:.1} s)",
        started.elapsed().as_secs_f64(),
        setup.as_secs_f64()
    );
}

// ---------------------------------------------------------------- failures

/// What a failed purchase must not change: the ledger (its size, the
/// buyer's account, the benefit), the agent's view of the buyer (account
/// and owned benefits) and the buyer's wallet.
#[derive(Debug, PartialEq)]
struct Snapshot {
    tree_size: u64,
    ledger_account: Value,
    benefit: Value,
    account: Value,
    benefits: Value,
    held: Option<Vec<Value>>,
}

async fn snapshot(agent: &TestAgent, buyer: &(Value, String), benefit: &str, wallet: bool) -> Snapshot {
    let token = buyer.1.as_str();
    Snapshot {
        tree_size: agent.ledger.tree_size().await,
        ledger_account: ledger_view(agent, &format!("/v1/loyalty/accounts/{}", did(&buyer.0))).await,
        benefit: ledger_view(agent, &format!("/v1/loyalty/benefits/{benefit}")).await,
        account: expect(agent.get(ACCOUNT, token).await, StatusCode::OK, "account"),
        benefits: expect(agent.get("/v1/me/benefits", token).await, StatusCode::OK, "owned benefits"),
        held: if wallet { Some(ownership(agent, token).await) } else { None },
    }
}

/// A purchase refused at each step leaves nothing anywhere: not enough
/// tokens (409), `maxCost` below the cost (409), the benefit removed
/// between the quote and the purchase (410), the ledger unreachable (5xx,
/// and nothing is written once it is back), the buyer's sub-wallet gone
/// (the agent cannot sign; nothing is written). After the ledger is back,
/// the same buyer buys normally.
async fn failures_leave_nothing(backend: Backend) {
    let Some(agent) = TestAgent::start_gated(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright", "Arthur Anvilsmith", "Amy Ashford"]).await;
    token(&agent, &a, "ACME", 1_000).await;
    pay(&agent, &a, &[(a.employee_id(0), 20), (a.employee_id(1), 4), (a.employee_id(2), 20)]).await;
    let lunch = list(&agent, &a, terms("Anvil lunch", 5, 3)).await;
    let (alice, arthur, amy) = (&a.employees[0], &a.employees[1], &a.employees[2]);

    // Not enough tokens: Arthur has 4, the lunch costs 5.
    let before = snapshot(&agent, arthur, &lunch, true).await;
    let answer = buy(&agent, &arthur.1, &lunch, None).await;
    let problem = expect_code(&answer, 409, "insufficient-balance", "4 tokens for a price of 5");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains('4') && d.contains('5')), "{problem}");
    assert_eq!(snapshot(&agent, arthur, &lunch, true).await, before, "an insufficient balance left a trace");

    // maxCost below the cost.
    let before = snapshot(&agent, alice, &lunch, true).await;
    let answer = send(&agent, Method::POST, PURCHASES, &alice.1, json!({ "benefit": lunch, "maxCost": 4 })).await;
    expect_code(&answer, 409, "cost-exceeds-max", "maxCost 4 for a cost of 5");
    assert_eq!(snapshot(&agent, alice, &lunch, true).await, before, "an exceeded maxCost left a trace");

    // Removed between the quote (the marketplace) and the purchase.
    let gone = list(&agent, &a, terms("Anvil dinner", 5, 3)).await;
    let (status, _, market) = agent.get("/v1/marketplace?kind=benefit", &alice.1).await;
    assert_eq!(status, StatusCode::OK, "{market}");
    let item = market["items"].as_array().expect("items").iter().find(|i| i["benefit"]["benefit"] == gone.as_str());
    assert_eq!(item.map(|i| &i["quote"]["cost"]), Some(&json!(5)), "the dinner is quoted: {market}");
    let path = format!("/v1/companies/{}/benefits/{gone}", a.id());
    assert_eq!(send(&agent, Method::DELETE, &path, &a.admin, Value::Null).await.0, StatusCode::NO_CONTENT);
    let before = snapshot(&agent, alice, &gone, true).await;
    expect_code(&buy(&agent, &alice.1, &gone, None).await, 410, "benefit-removed", "buying a removed benefit");
    assert_eq!(snapshot(&agent, alice, &gone, true).await, before, "buying a removed benefit left a trace");

    // The ledger unreachable: refused with a problem, nothing written,
    // also not later once the ledger is back.
    let before = snapshot(&agent, alice, &lunch, true).await;
    agent.gate().close();
    let answer = buy(&agent, &alice.1, &lunch, None).await;
    let problem = assert_problem(&answer, &[502, 503, 504], "buying with the ledger unreachable");
    assert!(!problem.to_string().contains("127.0.0.1"), "the problem names internal addresses: {problem}");
    agent.gate().open();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(snapshot(&agent, alice, &lunch, true).await, before, "an unreachable ledger left a trace");
    let unit = bought(&agent, &alice.1, &lunch, None, 5).await;
    assert_eq!(owner(&agent, &lunch, unit).await, did(&alice.0), "the purchase after the outage");
    assert_eq!(balance(&agent, &alice.1, a.did()).await, 15);
    let vc = held_for(&agent, &alice.1, &lunch, unit).await.expect("Alice holds the lunch's credential");
    valid_ownership(&agent, &vc, &did(&alice.0), a.did(), "after the outage").await;

    // A wallet error: Amy's sub-wallet is gone, so the agent cannot sign
    // her ledger write; refused before the ledger, nothing written.
    let before = snapshot(&agent, amy, &lunch, false).await;
    let wallets = idelta_wallet::Wallets::new(agent.wallets.clone(), agent.master_key.clone());
    let company_wallet = wallets.open(a.id()).await.expect("A's wallet");
    company_wallet.remove_sub_wallet(a.employee_id(2)).await.expect("remove Amy's sub-wallet");
    let answer = buy(&agent, &amy.1, &lunch, None).await;
    assert!(answer.0.as_u16() >= 400, "a purchase without the buyer's wallet: {}", answer.2);
    assert_problem(&answer, &[answer.0.as_u16()], "a purchase without the buyer's wallet");
    assert_eq!(snapshot(&agent, amy, &lunch, false).await, before, "a wallet error left a trace");
    assert_eq!(benefit_view(&agent, &lunch).await["sold"], 1, "only Alice's purchase counts");
}

// ---------------------------------------------------------------- settlement

/// The worked example. Rates (micro-units of the settlement currency per
/// token unit): A = 10,000 (0.01 EUR), B = 25,000 (0.025 EUR). Commission
/// 250 basis points (2.5%) to the operator.
///
/// | # | buyer | benefit (price) | pays | settlement entry (payer -> payee: value, commission) |
/// |---|---|---|---|---|
/// | 1 | Bob (B) | A's lunch (300 A) | ceil(300 * 10,000 / 25,000) = 120 B | B -> A: 300 * 10,000 = 3,000,000; 75,000 |
/// | 2 | Alice (A) | B's voucher (120 B) | ceil(120 * 25,000 / 10,000) = 300 A | A -> B: 3,000,000; 75,000 |
/// | 3 | Alice (A) | B's class (45 B) | ceil(45 * 25,000 / 10,000) = ceil(112.5) = 113 A | A -> B: 1,125,000; floor(28,125) = 28,125 |
/// | 4 | Betty (B) | B's class (45 B) | 45 B | none (same token) |
///
/// gross: A -> B 4,125,000 (commission 103,125, 2 sales); B -> A
/// 3,000,000 (75,000, 1 sale). net: A pays B 4,125,000 - 3,000,000 =
/// 1,125,000. commission owed per payee: A 75,000; B 103,125. positions
/// (receivable - payable - commission): A 3,000,000 - 4,125,000 - 75,000
/// = -1,200,000; B 4,125,000 - 3,000,000 - 103,125 = 1,021,875 (the
/// 178,125 between them is the commission). Balances: Alice 1,000 - 300 -
/// 113 = 587 A; Bob 500 - 120 = 380 B; Betty 500 - 45 = 455 B; every token
/// paid goes to the payer company's own treasury.
async fn cross_company_settlement(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright"]).await;
    let b = Tenant::register(&agent, "Globex Gadgets", &["Bob Gadgeteer", "Betty Gizmo"]).await;
    let t0 = idelta_agent::http::now_ms();
    token(&agent, &a, "ACME", 10_000).await;
    token(&agent, &b, "GLOBEX", 10_000).await;
    pay(&agent, &a, &[(a.employee_id(0), 1_000)]).await;
    pay(&agent, &b, &[(b.employee_id(0), 500), (b.employee_id(1), 500)]).await;
    let lunch = list(&agent, &a, terms("Anvil lunch", 300, 10)).await;
    let voucher = list(&agent, &b, terms("Gadget voucher", 120, 10)).await;
    let class = list(&agent, &b, terms("Gizmo class", 45, 10)).await;

    // Without rates a cross-company purchase is refused, and changes nothing.
    let tree = agent.ledger.tree_size().await;
    let answer = buy(&agent, b.token(0), &lunch, None).await;
    expect_code(&answer, 409, "no-exchange-rate", "no rates yet");
    assert_eq!(agent.ledger.tree_size().await, tree);

    rate(&agent, &a, 10_000).await;
    rate(&agent, &b, 25_000).await;
    let set = send(&agent, Method::PUT, "/v1/commission", &agent.operator_key, json!({ "basisPoints": 250 })).await;
    expect(set, StatusCode::OK, "commission");
    let market = ledger(&agent, "/v1/loyalty/market").await;
    assert_eq!(market["commission"]["basisPoints"], 250, "{market}");
    let beneficiary = market["commission"]["beneficiary"].as_str().expect("beneficiary").to_owned();

    // Bob's marketplace quotes A's lunch in B tokens.
    let (_, _, page) = agent.get("/v1/marketplace?kind=benefit", b.token(0)).await;
    let item = page["items"].as_array().expect("items").iter().find(|i| i["benefit"]["benefit"] == lunch.as_str());
    let quote = item.map(|i| i["quote"].clone()).unwrap_or_default();
    assert_eq!(quote, json!({ "token": b.did(), "cost": 120 }), "{page}");

    let u1 = bought(&agent, b.token(0), &lunch, None, 120).await;
    let u2 = bought(&agent, a.token(0), &voucher, None, 300).await;
    let u3 = bought(&agent, a.token(0), &class, None, 113).await;
    let u4 = bought(&agent, b.token(1), &class, None, 45).await;
    assert_eq!(balance(&agent, a.token(0), a.did()).await, 587);
    assert_eq!(balance(&agent, b.token(0), b.did()).await, 380);
    assert_eq!(balance(&agent, b.token(1), b.did()).await, 455);
    assert_eq!(ledger_balance(&agent, a.did(), a.did()).await, 10_000 - 1_000 + 413, "A's treasury");
    assert_eq!(ledger_balance(&agent, b.did(), b.did()).await, 10_000 - 1_000 + 120 + 45, "B's treasury");
    assert_eq!(ledger_balance(&agent, b.did(), a.did()).await, 0, "no A tokens cross to B");
    for (benefit, unit, holder, token, provider) in [
        (&lunch, u1, did(b.employee(0)), b.token(0), a.did()),
        (&voucher, u2, did(a.employee(0)), a.token(0), b.did()),
        (&class, u3, did(a.employee(0)), a.token(0), b.did()),
        (&class, u4, did(b.employee(1)), b.token(1), b.did()),
    ] {
        assert_eq!(owner(&agent, benefit, unit).await, holder);
        let vc = held_for(&agent, token, benefit, unit).await.expect("ownership credential");
        valid_ownership(&agent, &vc, &holder, provider, "cross-company").await;
    }

    // The report, as the operator reads it and as the ledger computes it.
    let window = format!("from={t0}&to={}", idelta_agent::http::now_ms() + 3_600_000);
    let (ad, bd) = (a.did(), b.did());
    let mut gross = vec![
        json!({ "payer": ad, "payee": bd, "value": 4_125_000, "commission": 103_125, "count": 2 }),
        json!({ "payer": bd, "payee": ad, "value": 3_000_000, "commission": 75_000, "count": 1 }),
    ];
    gross.sort_by_key(|g| (g["payer"].to_string(), g["payee"].to_string()));
    let net = vec![json!({ "payer": ad, "payee": bd, "amount": 1_125_000 })];
    let mut commission = vec![json!({ "company": ad, "amount": 75_000 }), json!({ "company": bd, "amount": 103_125 })];
    commission.sort_by_key(|c| c["company"].to_string());
    let positions = BTreeMap::from([(ad.to_owned(), -1_200_000i64), (bd.to_owned(), 1_021_875)]);

    let report =
        expect(agent.get(&format!("/v1/settlement?{window}"), &agent.operator_key).await, StatusCode::OK, "report");
    assert_eq!(report["gross"], json!(gross), "gross: {report:#}");
    assert_eq!(report["net"], json!(net), "net: {report:#}");
    assert_eq!(report["commission"], json!(commission), "commission: {report:#}");
    let got: BTreeMap<String, i64> = report["positions"]
        .as_array()
        .expect("positions")
        .iter()
        .map(|p| (p["company"].as_str().expect("company").to_owned(), p["amount"].as_i64().expect("amount")))
        .collect();
    for (company, amount) in &got {
        // The beneficiary, if listed, receives the commission.
        let want = positions.get(company).copied().unwrap_or(if *company == beneficiary { 178_125 } else { 0 });
        assert_eq!(*amount, want, "position of {company}: {report:#}");
    }
    assert!(positions.keys().all(|c| got.contains_key(c)), "positions: {report:#}");
    let on_ledger = ledger_view(&agent, &format!("/v1/loyalty/settlement?{window}")).await;
    for part in ["gross", "net", "commission", "positions"] {
        assert_eq!(on_ledger[part], report[part], "{part}: the agent's report is not the ledger's");
    }

    // Each company reads its own rows; a period before the sales is empty.
    let mine = agent.get(&format!("/v1/companies/{}/settlement?{window}", a.id()), &a.admin).await;
    let mine = expect(mine, StatusCode::OK, "A's report");
    assert_eq!(mine["gross"], json!(gross), "both gross rows name A: {mine:#}");
    assert_eq!(mine["net"], json!(net), "{mine:#}");
    assert_eq!(mine["commission"], json!([{ "company": ad, "amount": 75_000 }]), "{mine:#}");
    assert_eq!(mine["positions"], json!([{ "company": ad, "amount": -1_200_000 }]), "{mine:#}");
    let before = format!("/v1/companies/{}/settlement?from=0&to={t0}", a.id());
    let empty = expect(agent.get(&before, &a.admin).await, StatusCode::OK, "an empty period");
    assert_eq!(empty["gross"], json!([]), "{empty}");
    let backwards = format!("/v1/companies/{}/settlement?from={}&to={t0}", a.id(), t0 + 1);
    assert_problem(&agent.get(&backwards, &a.admin).await, &[400], "from after to");
}

// ---------------------------------------------------------------- tenants

/// B's admin cannot act on A's token, benefits or settlement (also not
/// through B's own company path naming A's benefit); an employee cannot
/// give, offer or spend what another employee holds, nor use admin and
/// operator routes. Nothing refused changes the ledger.
async fn tenant_negatives(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright", "Arthur Anvilsmith"]).await;
    let b = Tenant::register(&agent, "Globex Gadgets", &["Bob Gadgeteer"]).await;
    token(&agent, &a, "ACME", 1_000).await;
    token(&agent, &b, "GLOBEX", 1_000).await;
    pay(&agent, &a, &[(a.employee_id(0), 50), (a.employee_id(1), 50)]).await;
    let lunch = list(&agent, &a, terms("Anvil lunch", 5, 10)).await;
    let unit = bought(&agent, a.token(1), &lunch, None, 5).await;
    let alices = bought(&agent, a.token(0), &lunch, None, 5).await;
    let tree = agent.ledger.tree_size().await;
    let lunch_before = ledger_view(&agent, &format!("/v1/loyalty/benefits/{lunch}")).await;

    let (ai, bi) = (a.id(), b.id());
    let update = terms("Hijacked lunch", 1, 10);
    let admin_calls = [
        (Method::POST, format!("/v1/companies/{ai}/token"), json!({ "symbol": "EVIL", "name": "Evil" })),
        (Method::POST, format!("/v1/companies/{ai}/token/mint"), json!({ "amount": 1_000_000 })),
        (
            Method::POST,
            format!("/v1/companies/{ai}/token/payments"),
            json!({ "payments": [{ "employee": b.employee_id(0), "amount": 10 }] }),
        ),
        (Method::GET, format!("/v1/companies/{ai}/token/holders"), Value::Null),
        (Method::POST, format!("/v1/companies/{ai}/benefits"), terms("Intruder lunch", 1, 1)),
        (Method::PUT, format!("/v1/companies/{ai}/benefits/{lunch}"), update.clone()),
        (Method::DELETE, format!("/v1/companies/{ai}/benefits/{lunch}"), Value::Null),
        (Method::GET, format!("/v1/companies/{ai}/settlement?from=0&to=1"), Value::Null),
    ];
    for (method, path, body) in &admin_calls {
        for (who, token) in
            [("B's admin", b.admin.as_str()), ("A's employee", a.token(0)), ("B's employee", b.token(0))]
        {
            let answer = send(&agent, method.clone(), path, token, body.clone()).await;
            let problem = assert_problem(&answer, &[403, 404], &format!("{method} {path} by {who}"));
            assert!(!problem.to_string().contains("Acme"), "{who}: {problem}");
        }
    }
    // B's own path naming A's benefit: not found, like an unknown one.
    for (method, body) in [(Method::PUT, update.clone()), (Method::DELETE, Value::Null)] {
        let mixed =
            send(&agent, method.clone(), &format!("/v1/companies/{bi}/benefits/{lunch}"), &b.admin, body.clone()).await;
        assert_problem(&mixed, &[403, 404], &format!("{method} B's path naming A's benefit"));
    }
    // Operator routes.
    for token in [a.admin.as_str(), a.token(0)] {
        let answer =
            send(&agent, Method::PUT, &format!("/v1/exchange-rates/{ai}"), token, json!({ "unitValue": 1 })).await;
        assert_problem(&answer, &[403], "an exchange rate set by a non-operator");
        let answer = send(&agent, Method::PUT, "/v1/commission", token, json!({ "basisPoints": 10_000 })).await;
        assert_problem(&answer, &[403], "a commission set by a non-operator");
        assert_problem(&agent.get("/v1/settlement?from=0&to=1", token).await, &[403], "the operator's report");
    }

    // Alice cannot give, offer or withdraw Arthur's unit, nor spend more
    // than her own balance.
    let unit_path = format!("/v1/me/benefits/{lunch}/{unit}");
    let to_alice = json!({ "to": { "employee": a.employee_id(0) } });
    for (method, path, body) in [
        (Method::POST, format!("{unit_path}/gift"), to_alice),
        (Method::PUT, format!("{unit_path}/offer"), json!({ "sale": { "price": 1 } })),
        (Method::DELETE, format!("{unit_path}/offer"), Value::Null),
    ] {
        let answer = send(&agent, method.clone(), &path, a.token(0), body).await;
        assert_problem(&answer, &[403, 404], &format!("{method} {path}: Alice on Arthur's unit"));
    }
    assert_eq!(agent.ledger.tree_size().await, tree, "a refused call wrote to the ledger");
    // Alice offers hers for Arthur's, then tries to give his for hers.
    let offer = format!("/v1/me/benefits/{lunch}/{alices}/offer");
    let wants = json!({ "swap": { "benefit": lunch, "unit": unit } });
    expect(send(&agent, Method::PUT, &offer, a.token(0), wants).await, StatusCode::OK, "Alice's swap offer");
    let tree = agent.ledger.tree_size().await;
    let swap = json!({ "give": { "benefit": lunch, "unit": unit }, "take": { "benefit": lunch, "unit": alices } });
    let answer = send(&agent, Method::POST, "/v1/me/swaps", a.token(0), swap).await;
    expect_code(&answer, 403, "not-owner", "Alice swaps Arthur's unit");
    let overdraft = json!({ "to": { "employee": a.employee_id(0) }, "amount": 51 });
    let answer = send(&agent, Method::POST, "/v1/me/transfers", a.token(1), overdraft).await;
    expect_code(&answer, 409, "insufficient-balance", "Arthur sends more than he has");
    let answer = send(
        &agent,
        Method::POST,
        "/v1/me/transfers",
        a.token(0),
        json!({ "to": { "employee": a.employee_id(1) }, "amount": 0 }),
    )
    .await;
    assert_problem(&answer, &[400, 422], "a transfer of nothing");
    let answer = send(
        &agent,
        Method::POST,
        "/v1/me/transfers",
        a.token(0),
        json!({ "to": { "employee": b.employee_id(0) }, "amount": 1 }),
    )
    .await;
    assert_problem(&answer, &[404], "another company's employee by id");

    assert_eq!(agent.ledger.tree_size().await, tree, "a refused call wrote to the ledger");
    assert_eq!(ledger_view(&agent, &format!("/v1/loyalty/benefits/{lunch}")).await, lunch_before);
    assert_eq!(owner(&agent, &lunch, unit).await, did(a.employee(1)));
    assert_eq!(ledger(&agent, &format!("/v1/loyalty/tokens/{}", a.did())).await["supply"], 1_000);
    assert_eq!(owner(&agent, &lunch, alices).await, did(a.employee(0)));
    assert_eq!(balance(&agent, a.token(0), a.did()).await, 45);
    assert_eq!(balance(&agent, a.token(1), a.did()).await, 45);

    // A legitimate transfer moves exactly the amount.
    let ok = send(
        &agent,
        Method::POST,
        "/v1/me/transfers",
        a.token(1),
        json!({ "to": { "employee": a.employee_id(0) }, "amount": 45 }),
    )
    .await;
    expect(ok, StatusCode::CREATED, "Arthur pays Alice");
    assert_eq!(balance(&agent, a.token(0), a.did()).await, 90);
    assert_eq!(balance(&agent, a.token(1), a.did()).await, 0);
}

// ---------------------------------------------------------------- resale, gift, swap

/// Asserts that `(benefit, unit)` is owned by `to` on the ledger with no
/// offer, that `to` holds a valid ownership credential for it, and that
/// `from_vc` (the previous owner's) is revoked; returns the new one.
async fn moved(
    agent: &TestAgent,
    benefit: &str,
    unit: u64,
    to: &(Value, String),
    provider: &str,
    from_vc: &Value,
    context: &str,
) -> Value {
    let view = unit_view(agent, benefit, unit).await;
    assert_eq!(view["owner"], did(&to.0), "{context}: owner: {view}");
    assert!(view.get("offer").is_none_or(Value::is_null), "{context}: the offer is cleared: {view}");
    let vc = held_for(agent, &to.1, benefit, unit).await.unwrap_or_else(|| panic!("{context}: no credential held"));
    valid_ownership(agent, &vc, &did(&to.0), provider, context).await;
    revoked(agent, from_vc, context).await;
    vc
}

/// Resale, gift and swap between employees (and a resale across
/// companies): ownership and credentials move together; refused attempts
/// change nothing.
async fn resale_gift_swap(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright", "Arthur Anvilsmith", "Amy Ashford"]).await;
    token(&agent, &a, "ACME", 1_000).await;
    pay(&agent, &a, &[(a.employee_id(0), 100), (a.employee_id(1), 100), (a.employee_id(2), 100)]).await;
    let (alice, arthur, amy) = (&a.employees[0], &a.employees[1], &a.employees[2]);
    let lunch = list(&agent, &a, terms("Anvil lunch", 10, 5)).await;
    let gym = list(&agent, &a, terms("Anvil gym", 7, 5)).await;
    let ux = bought(&agent, &alice.1, &lunch, None, 10).await;
    let uy = bought(&agent, &arthur.1, &gym, None, 7).await;
    let alice_vc = held_for(&agent, &alice.1, &lunch, ux).await.expect("Alice's lunch credential");
    // Her owned benefits show the benefit as the ledger has it now, not the
    // copy the agent remembered from before the purchase.
    let (_, _, mine) = agent.get("/v1/me/benefits", &alice.1).await;
    let owned = mine.as_array().expect("owned units").iter().find(|u| u["unit"] == ux).expect("the lunch unit");
    assert_eq!((&owned["benefit"]["sold"], &owned["benefit"]["remaining"]), (&json!(1), &json!(4)), "{owned}");

    // Resale: Alice offers her lunch for 15; Amy buys it.
    let offer = format!("/v1/me/benefits/{lunch}/{ux}/offer");
    let answer = send(&agent, Method::PUT, &offer, &alice.1, json!({ "sale": { "price": 15 } })).await;
    expect(answer, StatusCode::OK, "offer");
    assert_eq!(unit_view(&agent, &lunch, ux).await["offer"], json!({ "sale": { "token": a.did(), "price": 15 } }));
    let (_, _, resale) = agent.get("/v1/marketplace?kind=resale", &amy.1).await;
    assert!(
        resale["items"].as_array().expect("items").iter().any(|i| i["unit"] == ux && i["price"] == 15),
        "the offer is in the marketplace: {resale}"
    );
    let tree = agent.ledger.tree_size().await;
    let own = buy(&agent, &alice.1, &lunch, Some(ux)).await;
    assert_problem(&own, &[400, 403, 409, 422], "buying one's own offer");
    assert_eq!(agent.ledger.tree_size().await, tree);
    bought(&agent, &amy.1, &lunch, Some(ux), 15).await;
    assert_eq!(balance(&agent, &alice.1, a.did()).await, 100 - 10 + 15);
    assert_eq!(balance(&agent, &amy.1, a.did()).await, 100 - 15);
    let amy_vc = moved(&agent, &lunch, ux, amy, a.did(), &alice_vc, "resale").await;
    assert_eq!(benefit_view(&agent, &lunch).await["sold"], 1, "a resale is not a sale by the company");

    // Gift: Amy gives the lunch to Arthur; no tokens move.
    let gift = format!("/v1/me/benefits/{lunch}/{ux}/gift");
    let answer = send(&agent, Method::POST, &gift, &amy.1, json!({ "to": { "employee": a.employee_id(1) } })).await;
    expect(answer, StatusCode::OK, "gift");
    assert_eq!(balance(&agent, &amy.1, a.did()).await, 85);
    assert_eq!(balance(&agent, &arthur.1, a.did()).await, 93);
    let arthur_lunch = moved(&agent, &lunch, ux, arthur, a.did(), &amy_vc, "gift").await;
    let again = send(&agent, Method::POST, &gift, &amy.1, json!({ "to": { "employee": a.employee_id(0) } })).await;
    assert_problem(&again, &[403, 404], "giving away what one gave away");

    // Swap: Alice buys a second lunch; Arthur offers his gym unit for it;
    // Alice accepts.
    let ux2 = bought(&agent, &alice.1, &lunch, None, 10).await;
    let alice_lunch = held_for(&agent, &alice.1, &lunch, ux2).await.expect("Alice's second lunch credential");
    let arthur_gym = held_for(&agent, &arthur.1, &gym, uy).await.expect("Arthur's gym credential");
    let swap_offer = format!("/v1/me/benefits/{gym}/{uy}/offer");
    let wants = json!({ "swap": { "benefit": lunch, "unit": ux2 } });
    expect(send(&agent, Method::PUT, &swap_offer, &arthur.1, wants).await, StatusCode::OK, "swap offer");
    // Offering something else than what is wanted changes nothing.
    let tree = agent.ledger.tree_size().await;
    let wrong = json!({ "give": { "benefit": lunch, "unit": ux }, "take": { "benefit": gym, "unit": uy } });
    assert_problem(&send(&agent, Method::POST, "/v1/me/swaps", &alice.1, wrong).await, &[403, 404, 409], "wrong swap");
    assert_eq!(agent.ledger.tree_size().await, tree, "a refused swap wrote");
    let swap = json!({ "give": { "benefit": lunch, "unit": ux2 }, "take": { "benefit": gym, "unit": uy } });
    expect(send(&agent, Method::POST, "/v1/me/swaps", &alice.1, swap).await, StatusCode::OK, "swap");
    moved(&agent, &lunch, ux2, arthur, a.did(), &alice_lunch, "swap, lunch to Arthur").await;
    moved(&agent, &gym, uy, alice, a.did(), &arthur_gym, "swap, gym to Alice").await;
    assert_eq!(balance(&agent, &alice.1, a.did()).await, 95, "a swap moves no tokens");
    // Arthur's first lunch (the gift) is untouched.
    valid_ownership(&agent, &arthur_lunch, &did(&arthur.0), a.did(), "the gift after the swap").await;

    // Withdraw: an offer withdrawn cannot be bought.
    let offer = format!("/v1/me/benefits/{gym}/{uy}/offer");
    expect(
        send(&agent, Method::PUT, &offer, &alice.1, json!({ "sale": { "price": 3 } })).await,
        StatusCode::OK,
        "offer",
    );
    let withdrawn = send(&agent, Method::DELETE, &offer, &alice.1, Value::Null).await;
    assert_eq!(withdrawn.0, StatusCode::NO_CONTENT, "{}", withdrawn.2);
    expect_code(&buy(&agent, &amy.1, &gym, Some(uy)).await, 409, "not-offered", "buying a withdrawn offer");
    assert_eq!(owner(&agent, &gym, uy).await, did(&alice.0));
}

// ---------------------------------------------------------------- removals

/// Removing an employee closes the account into the company treasury
/// (every token and every unit) and revokes what it held; removing a
/// benefit delists it and revokes its credentials; removing a company
/// delists its benefits.
async fn removals(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &["Alice Anvilwright", "Arthur Anvilsmith"]).await;
    let b = Tenant::register(&agent, "Globex Gadgets", &["Bob Gadgeteer"]).await;
    token(&agent, &a, "ACME", 1_000).await;
    token(&agent, &b, "GLOBEX", 1_000).await;
    pay(&agent, &a, &[(a.employee_id(0), 50), (a.employee_id(1), 50)]).await;
    let lunch = list(&agent, &a, terms("Anvil lunch", 10, 5)).await;
    let gym = list(&agent, &a, terms("Anvil gym", 7, 5)).await;
    let b_benefit = list(&agent, &b, terms("Gadget voucher", 7, 5)).await;
    let ux = bought(&agent, a.token(0), &lunch, None, 10).await;
    let uy = bought(&agent, a.token(1), &gym, None, 7).await;
    let alice_vc = held_for(&agent, a.token(0), &lunch, ux).await.expect("Alice's credential");
    let arthur_vc = held_for(&agent, a.token(1), &gym, uy).await.expect("Arthur's credential");
    let alice = did(a.employee(0));

    // Alice leaves: her 40 tokens and her lunch go to A's treasury.
    let path = format!("/v1/companies/{}/employees/{}", a.id(), a.employee_id(0));
    let (status, _, body) = agent.request(Method::DELETE, &path, Some(&a.admin), None).await;
    assert!(status.is_success(), "remove Alice: {body}");
    let closed = ledger(&agent, &format!("/v1/loyalty/accounts/{alice}")).await;
    assert_eq!(closed["closed"], true, "{closed}");
    assert_eq!(amount_of(&closed, a.did()), 0, "{closed}");
    assert_eq!(ledger_balance(&agent, a.did(), a.did()).await, 1_000 - 100 + 10 + 7 + 40, "A's treasury");
    assert_eq!(owner(&agent, &lunch, ux).await, a.did(), "Alice's lunch returned to A");
    let mut holders = vec![a.did().to_owned(), did(a.employee(1))];
    holders.push(alice.clone());
    supply_conserved(&agent, &[a.did()], &holders, "after Alice's removal").await;
    revoked(&agent, &alice_vc, "Alice's credential after her removal").await;

    // The gym is removed: delisted, Arthur's credential revoked, his unit
    // can no longer be given away, nobody can buy it.
    let path = format!("/v1/companies/{}/benefits/{gym}", a.id());
    let (status, _, body) = agent.request(Method::DELETE, &path, Some(&a.admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(benefit_view(&agent, &gym).await["removed"], true);
    revoked(&agent, &arthur_vc, "Arthur's credential after the gym's removal").await;
    let gift = format!("/v1/me/benefits/{gym}/{uy}/gift");
    let answer = send(&agent, Method::POST, &gift, a.token(1), json!({ "to": { "did": a.did() } })).await;
    expect_code(&answer, 410, "benefit-removed", "giving a removed benefit's unit");
    expect_code(&buy(&agent, a.token(1), &gym, None).await, 410, "benefit-removed", "buying a removed benefit");
    let (_, _, listed) = agent.get("/v1/marketplace?kind=benefit", a.token(1)).await;
    assert!(
        !listed["items"].as_array().expect("items").iter().any(|i| i["benefit"]["benefit"] == gym.as_str()),
        "a removed benefit is in the marketplace: {listed}"
    );

    // A is removed: its remaining benefit is delisted; B's is not.
    let (status, _, body) =
        agent.request(Method::DELETE, &format!("/v1/companies/{}", a.id()), Some(&agent.operator_key), None).await;
    assert!(status.is_success(), "remove A: {body}");
    assert_eq!(benefit_view(&agent, &lunch).await["removed"], true, "A's lunch is delisted");
    assert_eq!(benefit_view(&agent, &b_benefit).await["removed"], false, "B's benefit is listed");
}

on_both_backends!(
    last_unit_race,
    failures_leave_nothing,
    cross_company_settlement,
    tenant_negatives,
    resale_gift_swap,
    removals,
);
