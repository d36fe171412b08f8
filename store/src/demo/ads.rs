//! The demo's advertising: one advertiser and a running campaign, "Winter sampler", with a
//! creative in every accepted IAB size, made and checked the way the operator's upload makes
//! them, so a paired agent has ads to swap in at once and the free tier can be seen working.

use chrono::NaiveDateTime;
use megabox_ads::{CampaignId, NewCampaign, NewCreative};
use megabox_database::DbConnection;
use megabox_domain::Cents;
use megabox_protocol::SlotSize;

use crate::configuration::Settings;
use megabox_demo_media::art;

pub const CAMPAIGN_NAME: &str = "Winter sampler";
const ADVERTISER_NAME: &str = "Snowline Records";
const HEADLINE: &str = "Winter sampler";
const BODY: &str = "Twelve new releases to warm up to. Listen free on Megabox.";
const LINK_URL: &str = "https://example.com/winter-sampler";
/// $4.00 per thousand impressions.
const CPM_CENTS: i64 = 400;
const BUDGET_CENTS: i64 = 200_000;
/// How long the campaign runs on after seeding.
const FLIGHT_DAYS_AHEAD: i64 = 90;

/// The campaign (created from `flight_start` if missing) and how many creatives were added.
pub fn seed_campaign(
    settings: &Settings,
    connection: &mut DbConnection,
    flight_start: NaiveDateTime,
    now: NaiveDateTime,
    covers: &[(art::Design, u64)],
) -> anyhow::Result<(CampaignId, usize)> {
    let existing = megabox_ads::list_campaigns(connection)?
        .into_iter()
        .find(|campaign| campaign.name == CAMPAIGN_NAME);
    let campaign = match existing {
        Some(campaign) => campaign.id,
        None => {
            let advertiser = match megabox_ads::list_advertisers(connection)?
                .into_iter()
                .find(|advertiser| advertiser.name == ADVERTISER_NAME)
            {
                Some(advertiser) => advertiser.id,
                None => megabox_ads::create_advertiser(connection, ADVERTISER_NAME, now)?.id,
            };
            let new = NewCampaign {
                advertiser,
                name: CAMPAIGN_NAME.to_owned(),
                cpm: Cents(CPM_CENTS),
                budget: Cents(BUDGET_CENTS),
                starts_at: flight_start,
                ends_at: now + chrono::Duration::days(FLIGHT_DAYS_AHEAD),
            };
            megabox_ads::create_campaign(connection, &new, now)?.id
        }
    };
    let present: Vec<SlotSize> = megabox_ads::list_creatives(connection, campaign)?
        .into_iter()
        .map(|creative| creative.size)
        .collect();
    let mut added = 0;
    for (width, height) in megabox_ads::ALLOWED_CREATIVE_SIZES {
        let size = SlotSize::new(width, height)?;
        if present.contains(&size) {
            continue;
        }
        let banner = art::banner_jpeg(u32::from(width), u32::from(height), HEADLINE, covers)?;
        let image = megabox_ads::validate_creative_image(banner, size)?;
        let path = settings.data_dir.join(image.key());
        crate::files::write_private_file(&path, image.bytes())?;
        let creative = NewCreative {
            campaign,
            headline: HEADLINE.to_owned(),
            body: BODY.to_owned(),
            link_url: LINK_URL.to_owned(),
        };
        if let Err(error) = megabox_ads::create_creative(connection, &creative, &image, size, now) {
            // Nothing half-written: the row was refused, so the image goes too.
            let _ = std::fs::remove_file(&path);
            return Err(error.into());
        }
        added += 1;
    }
    Ok((campaign, added))
}
