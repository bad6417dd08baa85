//! `/admin`: the console of company admins (their token, employees,
//! benefits and settlement report) and of the operator (companies,
//! exchange rates, commission, the consortium's settlement report). The
//! credential decides which half `admin.js` shows: `/v1/me` names the role.

use super::layout::{self, App};
use maud::{html, Markup};

/// `GET /admin`.
pub(super) async fn page() -> Markup {
    layout::page(
        App::Admin,
        "Admin console",
        Some("/web/admin.js"),
        html! {
            h1 { "Admin console" }
            (layout::sign_in("Paste a company-admin token, or the operator API key."))
            div #app hidden {
                div #company-admin hidden {
                    (company_sections())
                }
                div #operator hidden {
                    (operator_sections())
                }
                (settlement_section())
            }
        },
    )
}

/// A labelled input in a `.fields` grid.
fn field(id: &str, label: &str, input: Markup) -> Markup {
    html! {
        div {
            label for=(id) { (label) }
            (input)
        }
    }
}

/// The form fields of benefit terms, with ids prefixed by `prefix`: the
/// create form's, and the edit template's (`admin.js` clones it for each
/// benefit, renaming the ids).
fn benefit_fields(prefix: &str) -> Markup {
    let id = |name: &str| format!("{prefix}-{name}");
    html! {
        div.fields {
            (field(&id("name"), "Name", html! { input id=(id("name")) name="name" type="text" required maxlength="256"; }))
            (field(&id("category"), "Category", html! { input id=(id("category")) name="category" type="text" required maxlength="64"; }))
            (field(&id("price"), "Price (in your token)", html! { input id=(id("price")) name="price" type="number" min="1" step="1" required inputmode="numeric"; }))
            (field(&id("quantity"), "Quantity", html! { input id=(id("quantity")) name="quantity" type="number" min="1" max="1000000" step="1" required inputmode="numeric"; }))
            (field(&id("valid-from"), "Valid from (optional)", html! { input id=(id("valid-from")) name="validFrom" type="datetime-local"; }))
            (field(&id("valid-until"), "Valid until (optional)", html! { input id=(id("valid-until")) name="validUntil" type="datetime-local"; }))
        }
        div {
            label for=(id("description")) { "Description" }
            textarea id=(id("description")) name="description" rows="3" maxlength="2000" {}
        }
    }
}

fn company_sections() -> Markup {
    html! {
        section aria-labelledby="company-h" {
            h2 #company-h { "Company" }
            dl #company-info {}
        }
        section aria-labelledby="token-h" {
            h2 #token-h { "Token" }
            p #token-info { "…" }
            form #token-create hidden {
                p { "Your company has no token yet. Its id will be the company DID; the symbol is 1 to 12 of A–Z and 0–9." }
                div.fields {
                    (field("tc-symbol", "Symbol", html! { input #tc-symbol name="symbol" type="text" required pattern="[A-Z0-9]{1,12}" maxlength="12"; }))
                    (field("tc-name", "Name", html! { input #tc-name name="name" type="text" required maxlength="64"; }))
                }
                button type="submit" { "Create token" }
            }
            form #token-mint hidden {
                (field("mint-amount", "Amount to mint into the treasury", html! { input #mint-amount name="amount" type="number" min="1" step="1" required inputmode="numeric"; }))
                button type="submit" { "Mint" }
            }
        }
        section aria-labelledby="pay-h" {
            h2 #pay-h { "Pay employees" }
            form #pay {
                h3 { "One employee" }
                div.fields {
                    (field("pay-employee", "Employee", html! { select #pay-employee name="employee" required {} }))
                    (field("pay-amount", "Amount", html! { input #pay-amount name="amount" type="number" min="1" step="1" required inputmode="numeric"; }))
                    (field("pay-memo", "Memo (optional)", html! { input #pay-memo name="memo" type="text" maxlength="256"; }))
                }
                button type="submit" { "Pay" }
            }
            form #pay-bulk {
                h3 { "Many employees, in one ledger transaction" }
                div {
                    label for="bulk-lines" { "Payments, one per line: employee id, amount" }
                    textarea #bulk-lines name="lines" rows="4" required spellcheck="false" aria-describedby="bulk-hint" {}
                    p.hint #bulk-hint { "For example: em-1a2b3c, 50. All are paid or none." }
                }
                (field("bulk-memo", "Memo (optional)", html! { input #bulk-memo name="memo" type="text" maxlength="256"; }))
                button type="submit" { "Pay all" }
            }
        }
        section aria-labelledby="employees-h" {
            h2 #employees-h { "Employees" }
            form #employee-add {
                (field("employee-name", "Name", html! { input #employee-name name="name" type="text" required maxlength="200"; }))
                button type="submit" { "Add employee" }
            }
            (secret_output("employee-secret"))
            div.scroll {
                table #employees {
                    caption.visually-hidden { "Employees and their balances" }
                    thead {
                        tr {
                            th scope="col" { "Name" }
                            th scope="col" { "Employee id" }
                            th scope="col" { "Balance" }
                            th scope="col" { "Actions" }
                        }
                    }
                    tbody {}
                }
            }
            button #employees-more type="button" hidden { "More" }
        }
        section aria-labelledby="benefits-h" {
            h2 #benefits-h { "Benefits" }
            details #benefit-create-box {
                summary { "New benefit" }
                form #benefit-create {
                    (benefit_fields("bc"))
                    button type="submit" { "Create benefit" }
                }
            }
            template #benefit-edit-template {
                form.benefit-edit {
                    (benefit_fields("be"))
                    button type="submit" { "Save changes" }
                }
            }
            div #benefits.items {}
            p #benefits-empty.empty hidden { "No benefits yet." }
            button #benefits-more type="button" hidden { "More" }
        }
    }
}

/// Where a freshly issued token is shown once, to be handed over.
fn secret_output(id: &str) -> Markup {
    html! {
        div.secret id=(id) hidden {
            p.label {}
            output {}
        }
    }
}

fn operator_sections() -> Markup {
    html! {
        section aria-labelledby="companies-h" {
            h2 #companies-h { "Companies" }
            form #company-add {
                (field("company-name", "Company name", html! { input #company-name name="name" type="text" required maxlength="200"; }))
                button type="submit" { "Add company" }
            }
            (secret_output("company-secret"))
            div.scroll {
                table #companies {
                    caption.visually-hidden { "Companies of the consortium" }
                    thead {
                        tr {
                            th scope="col" { "Name" }
                            th scope="col" { "Company id" }
                            th scope="col" { "DID" }
                            th scope="col" { "Status" }
                            th scope="col" { "Actions" }
                        }
                    }
                    tbody {}
                }
            }
            button #companies-more type="button" hidden { "More" }
        }
        section aria-labelledby="rates-h" {
            h2 #rates-h { "Exchange rates" }
            p.small { "A token's value is in millionths of the settlement currency per token unit." }
            div.scroll {
                table #rates {
                    caption.visually-hidden { "Token values" }
                    thead {
                        tr {
                            th scope="col" { "Token" }
                            th scope="col" { "Company" }
                            th scope="col" { "Value (millionths)" }
                        }
                    }
                    tbody {}
                }
            }
            form #rate {
                div.fields {
                    (field("rate-company", "Company", html! { select #rate-company name="company" required {} }))
                    (field("rate-value", "Value per token unit (millionths)", html! { input #rate-value name="unitValue" type="number" min="1" step="1" required inputmode="numeric"; }))
                }
                button type="submit" { "Set rate" }
            }
        }
        section aria-labelledby="commission-h" {
            h2 #commission-h { "Commission" }
            p #commission-now { "…" }
            form #commission {
                div.fields {
                    (field("commission-bps", "Basis points (0 to 10000)", html! { input #commission-bps name="basisPoints" type="number" min="0" max="10000" step="1" required inputmode="numeric"; }))
                    (field("commission-beneficiary", "Beneficiary DID (optional: the operator)", html! { input #commission-beneficiary name="beneficiary" type="text" spellcheck="false"; }))
                }
                button type="submit" { "Set commission" }
            }
        }
    }
}

fn settlement_section() -> Markup {
    html! {
        section aria-labelledby="settlement-h" {
            h2 #settlement-h { "Settlement" }
            p.small #settlement-scope {}
            form #settlement {
                div.fields {
                    (field("settle-from", "From (inclusive)", html! { input #settle-from name="from" type="date" required; }))
                    (field("settle-to", "To (exclusive)", html! { input #settle-to name="to" type="date" required; }))
                }
                button type="submit" { "Show report" }
            }
            div #settlement-report {}
        }
    }
}
