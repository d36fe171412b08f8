//! The REST API under `/api/v1`. Handlers are thin: extract → parse into domain types → one
//! call into a domain crate (in a transaction) → map to a response.

/// A domain enum as it appears on the wire: the same variants, in snake_case, and an enum in the
/// OpenAPI document (so the generated TypeScript is a union, not `string`). Domain crates know
/// nothing of the document; this mirror is the one place that does.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $view:ident mirrors $domain:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $view {
            $($variant),+
        }

        impl From<$domain> for $view {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => $view::$variant),+
                }
            }
        }

        impl From<$view> for $domain {
            fn from(value: $view) -> Self {
                match value {
                    $($view::$variant => $domain::$variant),+
                }
            }
        }
    };
}

pub mod accounts;
pub mod ads;
pub mod catalog;
pub mod commerce;
pub mod demo;
pub mod downloads;
pub mod listening;
pub mod money;
pub mod releases;
pub mod tags;
pub mod time;
pub mod views;

use utoipa_actix_web::service_config::ServiceConfig;

/// Every route of the API. `startup` mounts this under `/api/v1`, and the OpenAPI document is
/// generated from the same calls, so a route cannot be served without being documented.
pub fn api(config: &mut ServiceConfig) {
    config
        .service(accounts::register)
        .service(accounts::login)
        .service(accounts::refresh)
        .service(accounts::logout)
        .service(accounts::me)
        .service(demo::demo_accounts)
        .service(releases::create_release)
        .service(releases::my_releases)
        .service(releases::my_release)
        .service(releases::update_release)
        .service(releases::publish)
        .service(releases::unpublish)
        .service(releases::upload_track)
        .service(releases::update_track)
        .service(releases::reorder_tracks)
        .service(releases::my_profile)
        .service(releases::update_profile)
        .service(catalog::list_releases)
        .service(catalog::public_release)
        .service(catalog::public_artist)
        .service(catalog::search_catalog)
        .service(catalog::release_artwork)
        .service(tags::most_used_tags)
        .service(tags::releases_with_tag)
        .service(listening::start_play)
        .service(listening::report_progress)
        .service(listening::stream)
        .service(listening::stream_play)
        .service(listening::preview)
        .service(listening::waveform)
        .service(listening::set_agent_active)
        .service(money::artist_earnings)
        .service(money::artist_statement)
        .service(money::artist_payouts)
        .service(money::admin_close_period)
        .service(money::verify_ledger)
        .service(commerce::start_checkout)
        .service(commerce::show_order)
        .service(commerce::receive_stripe_webhook)
        .service(commerce::show_library)
        .service(downloads::request_download)
        .service(downloads::download)
        .service(commerce::show_payout_account)
        .service(commerce::start_payout_onboarding)
        .service(commerce::admin_run_payouts)
        .service(ads::create_pairing_code)
        .service(ads::pair_device)
        .service(ads::list_devices)
        .service(ads::revoke_device)
        .service(ads::creatives)
        .service(ads::creative_image)
        .service(ads::receive_impressions)
        .service(ads::installer_status)
        .service(ads::redeem_credit)
        .service(ads::list_redemptions)
        .service(ads::create_advertiser)
        .service(ads::list_advertisers)
        .service(ads::create_campaign)
        .service(ads::list_campaigns)
        .service(ads::set_campaign_status)
        .service(ads::create_creative)
        .service(ads::list_campaign_creatives)
        .service(ads::create_flag)
        .service(ads::list_flags);
}
