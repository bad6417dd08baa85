//! The web apps (issue 5), served by the agent at its one address, so
//! `idelta up` needs no build step: the employee wallet (`/wallet`), the
//! admin console for company admins and the operator (`/admin`) and the
//! ledger browser (`/ledger`), with an index at `/`.
//!
//! Pages are server-rendered shells ([`maud`]): headings, landmarks, forms
//! and their labels are in the HTML. Small hand-written ES modules under
//! `agent/web/` (embedded with `include_str!`, served at `/web/…`) fill them
//! from the same JSON APIs any client uses, with the bearer credential the
//! user pastes kept in `sessionStorage`. No cookie is ever set, so a
//! cross-site request carries no credential (no CSRF surface), and the
//! Content-Security-Policy allows scripts, styles and fetches from this
//! origin only, no inline script or style: injected markup cannot run.
//! The scripts build DOM nodes with `textContent`, never `innerHTML`.
//!
//! The ledger browser reads the ledger's public routes (`/v1/log/*`,
//! `/1.0/identifiers/*`, `/v1/loyalty/*`) on the same origin, as `idelta
//! up` serves them; it recomputes leaf hashes and inclusion proofs in the
//! page with WebCrypto rather than trusting the server's word. The node key
//! it checks tree heads against is the one this agent pins, shown on the
//! page: a reader who trusts nothing served here compares it with the key
//! `idelta up` printed. WebCrypto exists only in secure contexts (https,
//! localhost); elsewhere the page says the checks did not run. An agent run
//! on its own (`idelta agent`, the ledger elsewhere) serves the pages too:
//! the ledger browser then says the ledger does not answer here, and the
//! wallet shows token ids instead of symbols and no swap offers (both
//! come from public ledger reads).

mod admin;
mod layout;
mod ledger;
mod wallet;

use crate::http::error::ApiError;
use crate::http::AppState;
use axum::extract::{Path, Request};
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

/// Scripts, styles, images and fetches from this origin only; nothing
/// inline, no framing, no plugins, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A static file of the web apps: name under `/web/`, media type, content.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// Everything under `/web/`, compiled into the binary.
const ASSETS: [Asset; 6] = [
    Asset { name: "style.css", media_type: "text/css; charset=utf-8", body: include_str!("../../web/style.css") },
    Asset { name: "app.js", media_type: JS, body: include_str!("../../web/app.js") },
    Asset { name: "wallet.js", media_type: JS, body: include_str!("../../web/wallet.js") },
    Asset { name: "admin.js", media_type: JS, body: include_str!("../../web/admin.js") },
    Asset { name: "ledger.js", media_type: JS, body: include_str!("../../web/ledger.js") },
    Asset { name: "merkle.js", media_type: JS, body: include_str!("../../web/merkle.js") },
];

/// The pages and their static files, with the security headers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/wallet", get(wallet::page))
        .route("/admin", get(admin::page))
        .route("/ledger", get(ledger::page))
        .route("/web/{file}", get(asset))
        .layer(axum::middleware::from_fn(security_headers))
}

/// Adds the Content-Security-Policy and its companions to every answer.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// `GET /web/{file}`: revalidated on each use, so an upgraded binary's
/// scripts are picked up at once.
async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => {
            ([(header::CONTENT_TYPE, a.media_type), (header::CACHE_CONTROL, "no-cache")], a.body).into_response()
        }
        None => ApiError::NotFound(format!("no web asset named `{file}`")).into_response(),
    }
}

/// `GET /`: what is served here.
async fn index() -> Markup {
    layout::page(
        layout::App::Home,
        "idelta",
        None,
        html! {
            h1 { "idelta" }
            p { "A consortium's identity ledger, company wallets and loyalty marketplace on one address." }
            ul.cards {
                li {
                    h2 { a href="/wallet" { "Wallet" } }
                    p { "For employees: your token balance, the marketplace, your benefits and credentials." }
                }
                li {
                    h2 { a href="/admin" { "Admin console" } }
                    p { "For company admins (token, employees, benefits, settlement) and the operator (companies, exchange rates, commission)." }
                }
                li {
                    h2 { a href="/ledger" { "Ledger browser" } }
                    p { "Recent transactions, DIDs and accounts, each entry checked against the signed tree head in your browser." }
                }
                li {
                    h2 { a href="/docs" { "API reference" } }
                    p { "The agent's JSON API (OpenAPI 3.1)." }
                }
            }
            p.small {
                "Signing in takes an access token: an employee's or a company admin's (issued in the admin console), or the operator API key. "
                "With " code { "idelta up --demo" } ", the data directory's " code { "demo.json" } " holds one for every role."
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_named_once_and_not_empty() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(!a.body.trim().is_empty(), "{} is empty", a.name);
            assert!(ASSETS.iter().skip(i + 1).all(|b| b.name != a.name), "{} twice", a.name);
        }
    }

    #[test]
    fn scripts_use_no_inline_html_sinks() {
        // Data from the API reaches the page through textContent only.
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
                assert!(!a.body.contains(sink), "{} uses {sink}", a.name);
            }
        }
    }
}
