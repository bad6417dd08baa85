//! `/ledger`: the ledger browser (as von-network's). Recent transactions by
//! type, search by DID (its resolution, loyalty account, token and benefit),
//! and each entry with its leaf, its transaction and its inclusion proof,
//! checked in the page by `ledger.js` and `merkle.js`: the leaf hash is
//! recomputed from the leaf bytes, the audit path folded to the root of the
//! signed tree head, and the head's Ed25519 signature verified against the
//! node key this agent pins (shown on the page, to compare with what
//! `idelta up` printed), where the browser's WebCrypto has Ed25519.
//!
//! It reads the ledger's public routes on this origin, which is how
//! `idelta up` serves them; no credential is needed.

use super::layout::{self, App};
use crate::http::AppState;
use axum::extract::State;
use idelta_types::log::node_signer_id;
use idelta_types::TxType;
use maud::{html, Markup};

/// The wire names of every transaction type ([`TxType::ALL`]) grouped by
/// their prefix (`did`, `token`, …), in order of first appearance: the
/// type filter's option groups.
fn type_groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut groups: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for name in TxType::ALL.map(TxType::as_str) {
        let prefix = name.split_once('.').map_or(name, |(p, _)| p);
        match groups.iter_mut().find(|(p, _)| *p == prefix) {
            Some((_, names)) => names.push(name),
            None => groups.push((prefix, vec![name])),
        }
    }
    groups
}

/// `GET /ledger`.
pub(super) async fn page(State(state): State<AppState>) -> Markup {
    let node_key = node_signer_id(state.tenants.ledger().client().node_key());
    layout::page(
        App::Ledger,
        "Ledger browser",
        Some("/web/ledger.js"),
        html! {
            h1 { "Ledger browser" }
            section aria-labelledby="sth-h" {
                h2 #sth-h { "Signed tree head" }
                p.small {
                    "Node key this agent pins: " code #node-key { (node_key) }
                }
                dl #sth {}
                p #sth-check {}
                button #sth-refresh type="button" { "Refresh" }
            }
            section aria-labelledby="recent-h" {
                h2 #recent-h { "Recent transactions" }
                form #recent-filter {
                    label for="recent-type" { "Type" }
                    select #recent-type name="type" {
                        option value="" { "All types" }
                        @for (group, names) in type_groups() {
                            optgroup label=(group) {
                                @for name in names {
                                    option value=(name) { (name) }
                                }
                            }
                        }
                    }
                    button type="submit" { "Show" }
                }
                div.scroll {
                    table #recent {
                        caption.visually-hidden { "Recent ledger entries, newest first" }
                        thead {
                            tr {
                                th scope="col" { "Leaf" }
                                th scope="col" { "Type" }
                                th scope="col" { "Author" }
                                th scope="col" { "When" }
                            }
                        }
                        tbody {}
                    }
                }
                p #recent-empty.empty hidden { "No entries of this type among the recent ones." }
                button #recent-more type="button" hidden { "More" }
                p.small { "The node scans back a bounded number of recent entries per page; older ones are reached with More." }
            }
            section aria-labelledby="did-h" {
                h2 #did-h { "Search by DID" }
                form #did-search role="search" aria-label="Search the ledger by DID" {
                    label for="did" { "DID" }
                    input #did name="did" type="text" required spellcheck="false" placeholder="did:idelta:… or did:key:…";
                    button type="submit" { "Search" }
                }
                div #did-result {}
            }
            section #entry-section aria-labelledby="entry-h" {
                h2 #entry-h { "Entry" }
                form #entry-form {
                    label for="leaf" { "Leaf index" }
                    input #leaf name="leaf" type="number" min="0" step="1" required inputmode="numeric";
                    button type="submit" { "Show entry" }
                }
                div #entry {}
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_grouped_by_prefix_once_each() {
        let groups = type_groups();
        let names: Vec<&str> = groups.iter().flat_map(|(_, n)| n.iter().copied()).collect();
        assert_eq!(names.len(), TxType::ALL.len());
        assert!(groups.iter().any(|(p, n)| *p == "benefit" && n.contains(&"benefit.purchase")));
        assert!(groups.iter().any(|(p, n)| *p == "genesis" && n == &["genesis"]));
    }
}
