//! `/wallet`: the employee's app. The shell holds every section, heading and
//! form; `wallet.js` signs in with the employee token and fills them from
//! `/v1/me/*` and `/v1/marketplace`.
//!
//! DOM contract (spec.md, relied on by the browser test): sections headed
//! "Balance", "Marketplace" (one `article` per item, an `h3` with the
//! benefit's name and a "Buy NAME" button), "My benefits" (an `article`
//! per owned unit) and "Credentials" (held credentials by type); outcomes
//! are announced in `#status` (`role="status"`), e.g. "Bought NAME".

use super::layout::{self, App};
use maud::{html, Markup};

/// `GET /wallet`.
pub(super) async fn page() -> Markup {
    layout::page(
        App::Wallet,
        "Wallet",
        Some("/web/wallet.js"),
        html! {
            h1 { "Wallet" }
            (layout::sign_in("Paste the employee token your company admin gave you."))
            div #app hidden {
                section aria-labelledby="balance-h" {
                    h2 #balance-h { "Balance" }
                    p.balance #balance { "…" }
                    ul #balances aria-label="Every token you hold" {}
                    p.small { "Your account on the ledger: " code #account {} }
                }
                section aria-labelledby="market-h" {
                    h2 #market-h { "Marketplace" }
                    form #market-filters role="search" aria-label="Filter the marketplace" {
                        div.fields {
                            div {
                                label for="f-q" { "Search" }
                                input #f-q name="q" type="search" maxlength="200";
                            }
                            div {
                                label for="f-category" { "Category" }
                                input #f-category name="category" type="text" maxlength="64";
                            }
                            div {
                                label for="f-company" { "Company" }
                                select #f-company name="company" {
                                    option value="" { "Any company" }
                                }
                            }
                            div {
                                label for="f-kind" { "Offered by" }
                                select #f-kind name="kind" {
                                    option value="benefit" { "Companies" }
                                    option value="resale" { "Colleagues (resale)" }
                                }
                            }
                        }
                        button type="submit" { "Apply filters" }
                    }
                    div #market-items.items aria-live="off" {}
                    p #market-empty.empty hidden { "Nothing on offer matches." }
                    button #market-more type="button" hidden { "More" }
                }
                section aria-labelledby="mine-h" {
                    h2 #mine-h { "My benefits" }
                    div #my-benefits.items {}
                    p #my-benefits-empty.empty hidden { "You own no benefits yet." }
                }
                section aria-labelledby="swaps-h" {
                    h2 #swaps-h { "Swap offers for my benefits" }
                    p.small { "Colleagues who offer one of theirs for one of yours." }
                    div #swap-offers.items {}
                    p #swap-offers-empty.empty hidden { "No one offers a swap for your benefits." }
                }
                section aria-labelledby="send-h" {
                    h2 #send-h { "Send tokens" }
                    form #transfer {
                        div.fields {
                            div {
                                label for="t-to" { "Recipient (employee id or DID)" }
                                input #t-to name="to" type="text" required spellcheck="false";
                            }
                            div {
                                label for="t-amount" { "Amount" }
                                input #t-amount name="amount" type="number" min="1" step="1" required inputmode="numeric";
                            }
                            div {
                                label for="t-memo" { "Memo (optional)" }
                                input #t-memo name="memo" type="text" maxlength="256";
                            }
                        }
                        button type="submit" { "Send" }
                    }
                }
                section aria-labelledby="credentials-h" {
                    h2 #credentials-h { "Credentials" }
                    div #credentials.items {}
                    p #credentials-empty.empty hidden { "You hold no credentials yet." }
                }
                section aria-labelledby="history-h" {
                    h2 #history-h { "History" }
                    div.scroll {
                        table #history {
                            caption.visually-hidden { "Ledger entries of your account, newest first" }
                            thead {
                                tr {
                                    th scope="col" { "When" }
                                    th scope="col" { "What" }
                                    th scope="col" { "Change" }
                                    th scope="col" { "Ledger entry" }
                                }
                            }
                            tbody {}
                        }
                    }
                    p #history-empty.empty hidden { "Nothing yet." }
                    button #history-more type="button" hidden { "More" }
                }
            }
        },
    )
}
