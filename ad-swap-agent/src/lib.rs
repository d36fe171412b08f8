//! megabox-agent: the opt-in desktop agent that swaps a small share of the ads on allow-listed
//! publisher pages for labelled Megabox ads and reports viewable impressions, signed, without
//! ever sending anything about the pages themselves (DESIGN.md §5).
//!
//! Module map: [`settings`] (environment), [`install`] (keys, CA, state files),
//! [`certificate_authority`] (local CA, TLS both ways), [`filters`] (adblock engine),
//! [`slots`] (which slot), [`rewrite`] (lol_html), [`viewability`] (nonces and the view
//! script), [`outbox`] (durable signed batches), [`server`] (pairing, creatives, impressions),
//! [`proxy`] (the local proxy and status page), [`cli`] (subcommands).

pub mod certificate_authority;
pub mod cli;
pub mod filters;
pub mod install;
pub mod outbox;
pub mod proxy;
pub mod rewrite;
pub mod server;
pub mod settings;
pub mod slots;
pub mod viewability;
