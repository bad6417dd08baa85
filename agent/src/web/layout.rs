//! The shell every page shares: language, viewport, the app navigation,
//! a skip link, one `main` landmark, the live regions the scripts announce
//! in, and the sign-in form of the apps that need a credential.

use maud::{html, Markup, DOCTYPE};

/// Which page is shown (marked `aria-current` in the navigation).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum App {
    Home,
    Wallet,
    Admin,
    Ledger,
}

const NAV: [(App, &str, &str); 4] = [
    (App::Home, "/", "Home"),
    (App::Wallet, "/wallet", "Wallet"),
    (App::Admin, "/admin", "Admin"),
    (App::Ledger, "/ledger", "Ledger"),
];

/// A whole page: `title`, the module `script` that drives it (if any) and
/// the content of `main`.
pub(super) fn page(app: App, title: &str, script: Option<&str>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · idelta" }
                link rel="stylesheet" href="/web/style.css";
                // No icon: saves the browser a request that would only 404.
                link rel="icon" href="data:,";
                @if let Some(src) = script {
                    script type="module" src=(src) {}
                }
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    nav aria-label="Apps" {
                        ul {
                            @for (item, href, label) in NAV {
                                li {
                                    @if item == app {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                }
                main #main tabindex="-1" {
                    (content)
                }
                // Announcements: `status` for outcomes, `alert` for errors.
                div.live {
                    p #status role="status" aria-live="polite" {}
                    p #alert role="alert" {}
                }
            }
        }
    }
}

/// The sign-in form ("Access token", "Sign in") and the signed-in bar
/// ("Sign out"), with a line saying which credential this app takes.
pub(super) fn sign_in(which: &str) -> Markup {
    html! {
        section #signin-section aria-labelledby="signin-h" {
            h2 #signin-h { "Sign in" }
            form #signin {
                p.hint #signin-hint { (which) " It stays in this browser tab only (session storage) and is sent to this server alone." }
                label for="token" { "Access token" }
                input #token name="token" type="password" autocomplete="off" spellcheck="false" required aria-describedby="signin-hint";
                button type="submit" { "Sign in" }
            }
        }
        div #session hidden {
            p { "Signed in as " span #who {} }
            button #signout type="button" { "Sign out" }
        }
    }
}
