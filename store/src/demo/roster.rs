//! The demo accounts and what to try with each: one definition, which `serve --demo` prints at
//! start and `GET /api/v1/demo` answers, so the sign-in page shows the same list.

use super::content::ARTISTS;
use crate::accounts::Role;

/// Every demo account's password. Demo data only: printed at start, never for real accounts.
pub const DEMO_PASSWORD: &str = "megabox-demo-password";
pub const LISTENER_EMAIL: &str = "listener@demo.megabox.test";
pub const ADMIN_EMAIL: &str = "admin@demo.megabox.test";

/// An account a person can sign in with after seeding, and what to try with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    pub email: &'static str,
    pub role: Role,
    pub display_name: &'static str,
    pub try_this: &'static str,
}

/// The demo accounts: the listener, the artists, the operator.
pub fn accounts() -> Vec<DemoAccount> {
    let mut accounts = vec![DemoAccount {
        email: LISTENER_EMAIL,
        role: Role::Listener,
        display_name: "Demo listener",
        try_this: "play full tracks (the free tier is on), buy through the test checkout, download from your library",
    }];
    accounts.extend(ARTISTS.iter().enumerate().map(|(index, artist)| DemoAccount {
        email: artist.email,
        role: Role::Artist,
        display_name: artist.name,
        try_this: if index == 0 {
            "see sales, plays and statements on the dashboard; start a draft and upload a track"
        } else {
            "another artist with releases on sale"
        },
    }));
    accounts.push(DemoAccount {
        email: ADMIN_EMAIL,
        role: Role::Admin,
        display_name: "Demo operator",
        try_this: "the operator console: periods, payouts, ledger verification, ad campaigns",
    });
    accounts
}

/// What to print so a person can try the demo.
pub fn describe(address: &str) -> String {
    let mut text = format!(
        "\nMegabox demo on {address} — TEST MODE: no real payments.\nSign in with password `{DEMO_PASSWORD}` as:\n"
    );
    for account in accounts() {
        text.push_str(&format!(
            "  {:<28} {:<8} {}\n",
            account.email,
            account.role.as_str(),
            account.try_this
        ));
    }
    text
}
