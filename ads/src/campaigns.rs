//! The operator's side of ads: advertisers, their campaigns (CPM, budget, flight, status) and
//! creatives (an image of an IAB size plus a headline, a body and an https click-through), and
//! the choice of creatives offered to an agent: weighted by CPM and paced so that a budget lasts
//! its whole flight.

use std::fmt;
use std::io::Cursor;
use std::str::FromStr;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use megabox_database::{DbConnection, write_transaction};
use megabox_domain::{Cents, MicroCents};
use megabox_protocol::{CreativeId, SlotSize};
use rand::Rng;

use crate::schema::{ads_advertisers, ads_campaigns, ads_creatives};
use crate::{AdsError, AdsSettings};

/// The IAB sizes a creative may have: medium rectangle, leaderboard, wide skyscraper, mobile
/// banner, half page, billboard.
pub const ALLOWED_CREATIVE_SIZES: [(u16, u16); 6] = [
    (300, 250),
    (728, 90),
    (160, 600),
    (320, 50),
    (300, 600),
    (970, 250),
];
/// Largest image file accepted for a creative (the IAB's initial-load guideline is 150 KB).
pub const CREATIVE_IMAGE_BYTES_MAX: usize = 150 * 1024;
/// Memory the image decoder may allocate while checking a creative (a 970x250 RGBA frame is ~1 MB).
const IMAGE_DECODE_ALLOCATION_BYTES_MAX: u64 = 16 * 1024 * 1024;
const NAME_CHARACTERS_MAX: usize = 200;
/// Ceilings on what an operator can set, far above any real campaign: $1,000 per thousand
/// impressions, a budget of $10 million, a flight of ten years.
const CPM_CENTS_MAX: i64 = 100_000;
const BUDGET_CENTS_MAX: i64 = 1_000_000_000;
const FLIGHT_DAYS_MAX: i64 = 3_660;
const HEADLINE_CHARACTERS_MAX: usize = 90;
const BODY_CHARACTERS_MAX: usize = 200;
const LINK_URL_BYTES_MAX: usize = 2048;
/// Micro-cents an impression costs per cent of CPM: CPM / 1000 impressions × 1,000,000.
pub(crate) const IMPRESSION_MICRO_CENTS_PER_CPM_CENT: i64 = 1000;
const MICRO_CENTS_PER_CENT: i64 = 1_000_000;
const BASIS_POINTS_PER_WHOLE: i128 = 10_000;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            pub(crate) fn generate() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(formatter)
            }
        }

        impl FromStr for $name {
            type Err = AdsError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(text).map(Self).map_err(|_| AdsError::NotFound { what: stringify!($name) })
            }
        }
    };
}

uuid_id!(
    /// An advertiser, managed by the operator.
    AdvertiserId
);
uuid_id!(
    /// One advertiser's campaign.
    CampaignId
);

/// Where a campaign is in its life. `ended` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Active,
    Paused,
    Ended,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Ended => "ended",
        }
    }

    fn parse(text: &str) -> Result<CampaignStatus, AdsError> {
        [
            CampaignStatus::Active,
            CampaignStatus::Paused,
            CampaignStatus::Ended,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
        .ok_or_else(|| AdsError::CorruptRow(format!("campaign status {text:?}")))
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Advertiser {
    pub id: AdvertiserId,
    pub name: String,
    pub created_at: NaiveDateTime,
}

/// What the operator fills in to start a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub advertiser: AdvertiserId,
    pub name: String,
    pub cpm: Cents,
    pub budget: Cents,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub advertiser: AdvertiserId,
    pub name: String,
    pub cpm: Cents,
    pub budget: Cents,
    /// Charged so far: CPM / 1000 per accepted impression.
    pub spent: MicroCents,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: CampaignStatus,
    pub created_at: NaiveDateTime,
}

type CampaignRow = (
    String,
    String,
    String,
    i64,
    i64,
    i64,
    NaiveDateTime,
    NaiveDateTime,
    String,
    NaiveDateTime,
);

fn campaign_columns() -> (
    ads_campaigns::id,
    ads_campaigns::advertiser_id,
    ads_campaigns::name,
    ads_campaigns::cpm_cents,
    ads_campaigns::budget_cents,
    ads_campaigns::spent_micro_cents,
    ads_campaigns::starts_at,
    ads_campaigns::ends_at,
    ads_campaigns::status,
    ads_campaigns::created_at,
) {
    (
        ads_campaigns::id,
        ads_campaigns::advertiser_id,
        ads_campaigns::name,
        ads_campaigns::cpm_cents,
        ads_campaigns::budget_cents,
        ads_campaigns::spent_micro_cents,
        ads_campaigns::starts_at,
        ads_campaigns::ends_at,
        ads_campaigns::status,
        ads_campaigns::created_at,
    )
}

fn parse_id<Id: FromStr>(text: &str, what: &str) -> Result<Id, AdsError> {
    text.parse()
        .map_err(|_| AdsError::CorruptRow(format!("{what} {text:?}")))
}

impl Campaign {
    fn from_row(row: CampaignRow) -> Result<Campaign, AdsError> {
        let (
            id,
            advertiser,
            name,
            cpm_cents,
            budget_cents,
            spent_micro_cents,
            starts_at,
            ends_at,
            status,
            created_at,
        ) = row;
        Ok(Campaign {
            id: parse_id(&id, "campaign id")?,
            advertiser: parse_id(&advertiser, "advertiser id")?,
            name,
            cpm: Cents(cpm_cents),
            budget: Cents(budget_cents),
            spent: MicroCents(spent_micro_cents),
            starts_at,
            ends_at,
            status: CampaignStatus::parse(&status)?,
            created_at,
        })
    }
}

/// Checks a short operator-entered text: trimmed, non-empty (unless `may_be_empty`), bounded,
/// and free of control characters, since agents render it on third-party pages.
fn checked_text(
    field: &str,
    text: &str,
    characters_max: usize,
    may_be_empty: bool,
) -> Result<String, AdsError> {
    let text = text.trim();
    if (text.is_empty() && !may_be_empty)
        || text.chars().count() > characters_max
        || text.chars().any(char::is_control)
    {
        return Err(AdsError::InvalidInput(format!(
            "{field} must be {} to {characters_max} characters without control characters",
            if may_be_empty { 0 } else { 1 }
        )));
    }
    Ok(text.to_owned())
}

pub fn create_advertiser(
    connection: &mut DbConnection,
    name: &str,
    now: NaiveDateTime,
) -> Result<Advertiser, AdsError> {
    let advertiser = Advertiser {
        id: AdvertiserId::generate(),
        name: checked_text("name", name, NAME_CHARACTERS_MAX, false)?,
        created_at: now,
    };
    diesel::insert_into(ads_advertisers::table)
        .values((
            ads_advertisers::id.eq(advertiser.id.to_string()),
            ads_advertisers::name.eq(&advertiser.name),
            ads_advertisers::created_at.eq(now),
        ))
        .execute(connection)?;
    Ok(advertiser)
}

pub fn list_advertisers(connection: &mut DbConnection) -> Result<Vec<Advertiser>, AdsError> {
    let rows: Vec<(String, String, NaiveDateTime)> = ads_advertisers::table
        .select((
            ads_advertisers::id,
            ads_advertisers::name,
            ads_advertisers::created_at,
        ))
        .order(ads_advertisers::id)
        .load(connection)?;
    rows.into_iter()
        .map(|(id, name, created_at)| {
            Ok(Advertiser {
                id: parse_id(&id, "advertiser id")?,
                name,
                created_at,
            })
        })
        .collect()
}

pub fn create_campaign(
    connection: &mut DbConnection,
    campaign: &NewCampaign,
    now: NaiveDateTime,
) -> Result<Campaign, AdsError> {
    let name = checked_text("name", &campaign.name, NAME_CHARACTERS_MAX, false)?;
    if campaign.cpm.0 <= 0 || campaign.budget.0 <= 0 {
        return Err(AdsError::InvalidInput(
            "CPM and budget must be positive".to_owned(),
        ));
    }
    if campaign.cpm.0 > CPM_CENTS_MAX || campaign.budget.0 > BUDGET_CENTS_MAX {
        return Err(AdsError::InvalidInput(format!(
            "the CPM can be at most {CPM_CENTS_MAX} cents and the budget at most {BUDGET_CENTS_MAX} cents"
        )));
    }
    // The budget in micro-cents must fit, so every spent amount does.
    campaign
        .budget
        .to_micro_cents()
        .map_err(|_| AdsError::Overflow)?;
    campaign
        .cpm
        .0
        .checked_mul(IMPRESSION_MICRO_CENTS_PER_CPM_CENT)
        .ok_or(AdsError::Overflow)?;
    if campaign.starts_at >= campaign.ends_at {
        return Err(AdsError::InvalidInput(
            "a campaign must start before it ends".to_owned(),
        ));
    }
    if campaign.ends_at - campaign.starts_at > chrono::TimeDelta::days(FLIGHT_DAYS_MAX) {
        return Err(AdsError::InvalidInput(format!(
            "a campaign can run for at most {FLIGHT_DAYS_MAX} days"
        )));
    }
    let created = Campaign {
        id: CampaignId::generate(),
        advertiser: campaign.advertiser,
        name,
        cpm: campaign.cpm,
        budget: campaign.budget,
        spent: MicroCents::ZERO,
        starts_at: campaign.starts_at,
        ends_at: campaign.ends_at,
        status: CampaignStatus::Active,
        created_at: now,
    };
    write_transaction(connection, |connection| {
        let advertiser_exists: Option<String> = ads_advertisers::table
            .find(campaign.advertiser.to_string())
            .select(ads_advertisers::id)
            .first(connection)
            .optional()?;
        if advertiser_exists.is_none() {
            return Err(AdsError::NotFound { what: "advertiser" });
        }
        diesel::insert_into(ads_campaigns::table)
            .values((
                ads_campaigns::id.eq(created.id.to_string()),
                ads_campaigns::advertiser_id.eq(created.advertiser.to_string()),
                ads_campaigns::name.eq(&created.name),
                ads_campaigns::cpm_cents.eq(created.cpm.0),
                ads_campaigns::budget_cents.eq(created.budget.0),
                ads_campaigns::spent_micro_cents.eq(0_i64),
                ads_campaigns::starts_at.eq(created.starts_at),
                ads_campaigns::ends_at.eq(created.ends_at),
                ads_campaigns::status.eq(created.status.as_str()),
                ads_campaigns::created_at.eq(now),
            ))
            .execute(connection)?;
        Ok(created)
    })
}

pub fn list_campaigns(connection: &mut DbConnection) -> Result<Vec<Campaign>, AdsError> {
    let rows: Vec<CampaignRow> = ads_campaigns::table
        .select(campaign_columns())
        .order(ads_campaigns::id)
        .load(connection)?;
    rows.into_iter().map(Campaign::from_row).collect()
}

fn find_campaign(connection: &mut DbConnection, id: CampaignId) -> Result<Campaign, AdsError> {
    let row: Option<CampaignRow> = ads_campaigns::table
        .find(id.to_string())
        .select(campaign_columns())
        .first(connection)
        .optional()?;
    Campaign::from_row(row.ok_or(AdsError::NotFound { what: "campaign" })?)
}

/// Pauses, resumes or ends a campaign. Ending is final: an ended campaign's remaining budget is
/// released, and it never serves again.
pub fn update_campaign_status(
    connection: &mut DbConnection,
    id: CampaignId,
    status: CampaignStatus,
) -> Result<Campaign, AdsError> {
    write_transaction(connection, |connection| {
        let campaign = find_campaign(connection, id)?;
        if campaign.status == CampaignStatus::Ended && status != CampaignStatus::Ended {
            return Err(AdsError::InvalidStatusChange {
                from: campaign.status,
                to: status,
            });
        }
        diesel::update(ads_campaigns::table.find(id.to_string()))
            .set(ads_campaigns::status.eq(status.as_str()))
            .execute(connection)?;
        Ok(Campaign { status, ..campaign })
    })
}

/// The picture formats a creative may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    Png,
    Jpeg,
    Gif,
}

impl ImageFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Gif => "image/gif",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Gif => "gif",
        }
    }
}

/// An image that decoded as a real PNG, JPEG or GIF of its creative's size, with the
/// server-generated key under which the store puts it in blob storage. Only
/// [`validate_creative_image`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreativeImage {
    key: String,
    format: ImageFormat,
    bytes: Vec<u8>,
}

impl CreativeImage {
    /// Blob storage key, `creatives/<uuid>.<ext>`; never derived from user input.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn format(&self) -> ImageFormat {
        self.format
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

fn is_allowed_size(size: SlotSize) -> bool {
    ALLOWED_CREATIVE_SIZES.contains(&(size.width_pixels(), size.height_pixels()))
}

/// Checks an uploaded creative image: at most [`CREATIVE_IMAGE_BYTES_MAX`], sniffed (not
/// trusted from a file name) as PNG, JPEG or GIF, fully decoded under a memory limit, and
/// exactly `size`, which must be one of [`ALLOWED_CREATIVE_SIZES`]. The store puts the returned
/// bytes in blob storage under [`CreativeImage::key`], then calls [`create_creative`].
pub fn validate_creative_image(bytes: Vec<u8>, size: SlotSize) -> Result<CreativeImage, AdsError> {
    if !is_allowed_size(size) {
        return Err(AdsError::InvalidInput(format!(
            "{size} is not an accepted creative size"
        )));
    }
    if bytes.is_empty() || bytes.len() > CREATIVE_IMAGE_BYTES_MAX {
        return Err(AdsError::InvalidImage(format!(
            "an image is 1 to {CREATIVE_IMAGE_BYTES_MAX} bytes"
        )));
    }
    let format = match image::guess_format(&bytes) {
        Ok(image::ImageFormat::Png) => ImageFormat::Png,
        Ok(image::ImageFormat::Jpeg) => ImageFormat::Jpeg,
        Ok(image::ImageFormat::Gif) => ImageFormat::Gif,
        _ => {
            return Err(AdsError::InvalidImage(
                "not a PNG, JPEG or GIF file".to_owned(),
            ));
        }
    };
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(u32::from(size.width_pixels()));
    limits.max_image_height = Some(u32::from(size.height_pixels()));
    limits.max_alloc = Some(IMAGE_DECODE_ALLOCATION_BYTES_MAX);
    let decoder_format = match format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Gif => image::ImageFormat::Gif,
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(&bytes), decoder_format);
    reader.limits(limits);
    // Decoding the whole picture, not only its header, proves the file is what it claims.
    let decoded = reader
        .decode()
        .map_err(|error| AdsError::InvalidImage(format!("cannot decode: {error}")))?;
    let expected = (
        u32::from(size.width_pixels()),
        u32::from(size.height_pixels()),
    );
    if (decoded.width(), decoded.height()) != expected {
        return Err(AdsError::InvalidImage(format!(
            "the image is {}x{}, not {size}",
            decoded.width(),
            decoded.height()
        )));
    }
    let key = format!(
        "creatives/{}.{}",
        uuid::Uuid::now_v7().simple(),
        format.extension()
    );
    Ok(CreativeImage { key, format, bytes })
}

/// Checks a click-through URL: absolute https with a host and no credentials.
fn checked_link_url(text: &str) -> Result<String, AdsError> {
    let invalid = |why: &str| AdsError::InvalidInput(format!("link URL {why}"));
    if text.len() > LINK_URL_BYTES_MAX {
        return Err(invalid(&format!(
            "must be at most {LINK_URL_BYTES_MAX} bytes"
        )));
    }
    let url = url::Url::parse(text).map_err(|error| invalid(&format!("is not a URL: {error}")))?;
    if url.scheme() != "https" {
        return Err(invalid("must use https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    Ok(url.to_string())
}

/// The texts of a new creative; its image comes from [`validate_creative_image`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCreative {
    pub campaign: CampaignId,
    pub headline: String,
    pub body: String,
    pub link_url: String,
}

/// A stored creative as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CreativeRecord {
    pub id: CreativeId,
    pub campaign: CampaignId,
    pub size: SlotSize,
    pub headline: String,
    pub body: String,
    pub link_url: String,
    pub image_key: String,
    pub image_content_type: String,
    pub image_bytes: i64,
    pub created_at: NaiveDateTime,
}

/// Adds a creative to a campaign (not to an ended one). Call it after the image is in blob storage.
pub fn create_creative(
    connection: &mut DbConnection,
    creative: &NewCreative,
    image: &CreativeImage,
    size: SlotSize,
    now: NaiveDateTime,
) -> Result<CreativeRecord, AdsError> {
    if !is_allowed_size(size) {
        return Err(AdsError::InvalidInput(format!(
            "{size} is not an accepted creative size"
        )));
    }
    let record = CreativeRecord {
        // A UUID's hyphenated text is a valid creative id (36 characters of [0-9a-f-]).
        id: CreativeId::parse(&uuid::Uuid::now_v7().hyphenated().to_string())
            .map_err(|error| AdsError::InvalidInput(error.to_string()))?,
        campaign: creative.campaign,
        size,
        headline: checked_text(
            "headline",
            &creative.headline,
            HEADLINE_CHARACTERS_MAX,
            false,
        )?,
        body: checked_text("body", &creative.body, BODY_CHARACTERS_MAX, true)?,
        link_url: checked_link_url(&creative.link_url)?,
        image_key: image.key.clone(),
        image_content_type: image.format.content_type().to_owned(),
        image_bytes: i64::try_from(image.bytes.len()).map_err(|_| AdsError::Overflow)?,
        created_at: now,
    };
    write_transaction(connection, |connection| {
        let campaign = find_campaign(connection, creative.campaign)?;
        if campaign.status == CampaignStatus::Ended {
            return Err(AdsError::InvalidInput("the campaign has ended".to_owned()));
        }
        diesel::insert_into(ads_creatives::table)
            .values((
                ads_creatives::id.eq(record.id.as_str()),
                ads_creatives::campaign_id.eq(record.campaign.to_string()),
                ads_creatives::size.eq(record.size.to_string()),
                ads_creatives::headline.eq(&record.headline),
                ads_creatives::body.eq(&record.body),
                ads_creatives::link_url.eq(&record.link_url),
                ads_creatives::image_key.eq(&record.image_key),
                ads_creatives::image_content_type.eq(&record.image_content_type),
                ads_creatives::image_bytes.eq(record.image_bytes),
                ads_creatives::created_at.eq(now),
            ))
            .execute(connection)?;
        Ok(record)
    })
}

type CreativeRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    NaiveDateTime,
);

/// The creatives of a campaign, oldest first; `NotFound` for an unknown campaign.
pub fn list_creatives(
    connection: &mut DbConnection,
    campaign: CampaignId,
) -> Result<Vec<CreativeRecord>, AdsError> {
    find_campaign(connection, campaign)?;
    let rows: Vec<CreativeRow> = ads_creatives::table
        .filter(ads_creatives::campaign_id.eq(campaign.to_string()))
        .select((
            ads_creatives::id,
            ads_creatives::campaign_id,
            ads_creatives::size,
            ads_creatives::headline,
            ads_creatives::body,
            ads_creatives::link_url,
            ads_creatives::image_key,
            ads_creatives::image_content_type,
            ads_creatives::image_bytes,
            ads_creatives::created_at,
        ))
        .order(ads_creatives::id)
        .load(connection)?;
    rows.into_iter()
        .map(
            |(
                id,
                campaign,
                size,
                headline,
                body,
                link_url,
                image_key,
                image_content_type,
                image_bytes,
                created_at,
            )| {
                Ok(CreativeRecord {
                    id: CreativeId::parse(&id)
                        .map_err(|_| AdsError::CorruptRow(format!("creative id {id:?}")))?,
                    campaign: parse_id(&campaign, "campaign id")?,
                    size: parse_id(&size, "creative size")?,
                    headline,
                    body,
                    link_url,
                    image_key,
                    image_content_type,
                    image_bytes,
                    created_at,
                })
            },
        )
        .collect()
}

/// A creative offered to an agent. The store turns `image_key` into a URL of its blob storage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CreativeOffer {
    pub creative_id: CreativeId,
    pub size: SlotSize,
    pub headline: String,
    pub body: String,
    pub link_url: String,
    pub image_key: String,
    pub image_content_type: String,
}

impl CreativeOffer {
    /// The wire form the agent reads (`megabox-protocol`'s [`megabox_protocol::Creative`]).
    pub fn to_protocol(&self) -> megabox_protocol::Creative {
        megabox_protocol::Creative {
            creative_id: self.creative_id.clone(),
            size: self.size,
            headline: self.headline.clone(),
            body: self.body.clone(),
            link_url: self.link_url.clone(),
            image_url: megabox_protocol::Creative::image_path(&self.creative_id),
        }
    }
}

/// Where a creative's image is stored and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCreativeImage {
    /// The key [`validate_creative_image`] made, under which the store wrote the bytes.
    pub key: String,
    pub content_type: String,
}

/// The stored image of any creative, whatever its campaign's state: an agent may still hold an
/// offer from before a campaign ended. [`AdsError::NotFound`] for an unknown id.
pub fn creative_image(
    connection: &mut DbConnection,
    creative: &CreativeId,
) -> Result<StoredCreativeImage, AdsError> {
    let (key, content_type): (String, String) = ads_creatives::table
        .filter(ads_creatives::id.eq(creative.as_str()))
        .select((ads_creatives::image_key, ads_creatives::image_content_type))
        .first(connection)
        .optional()?
        .ok_or(AdsError::NotFound { what: "creative" })?;
    // The store joins the key to its data directory: accept only the shape this crate makes.
    let well_formed = key
        .strip_prefix("creatives/")
        .and_then(|name| name.split_once('.'))
        .is_some_and(|(id, extension)| {
            id.len() == 32
                && id.bytes().all(|byte| byte.is_ascii_hexdigit())
                && [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif]
                    .iter()
                    .any(|format| format.extension() == extension)
        });
    if !well_formed {
        return Err(AdsError::CorruptRow(format!("creative image key {key:?}")));
    }
    Ok(StoredCreativeImage { key, content_type })
}

/// The most a campaign may have spent at `now` to still be offered: its flight-elapsed share of
/// the budget plus the pacing margin, never more than the budget less one impression.
fn pacing_allowance_micro_cents(
    budget: Cents,
    cpm: Cents,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    now: NaiveDateTime,
    margin_bps: i64,
) -> i128 {
    let budget_micro = i128::from(budget.0) * i128::from(MICRO_CENTS_PER_CENT);
    let flight_seconds = i128::from((ends_at - starts_at).num_seconds().max(1));
    let elapsed_seconds = i128::from((now - starts_at).num_seconds()).clamp(0, flight_seconds);
    let paced = budget_micro * elapsed_seconds / flight_seconds
        + budget_micro * i128::from(margin_bps) / BASIS_POINTS_PER_WHOLE;
    let impression = i128::from(cpm.0) * i128::from(IMPRESSION_MICRO_CENTS_PER_CPM_CENT);
    paced.min(budget_micro - impression)
}

/// Creatives of `size` an agent may show now: from active campaigns in flight whose budget has
/// room for another impression and that are not ahead of their pacing, in a random order
/// weighted by CPM (a campaign paying twice the CPM tends to come first twice as often), at most
/// `settings.offers_max`.
pub fn eligible_creatives(
    connection: &mut DbConnection,
    size: SlotSize,
    now: NaiveDateTime,
    rng: &mut impl Rng,
    settings: &AdsSettings,
) -> Result<Vec<CreativeOffer>, AdsError> {
    type OfferRow = (
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        i64,
        i64,
        NaiveDateTime,
        NaiveDateTime,
    );
    let rows: Vec<OfferRow> = ads_creatives::table
        .inner_join(ads_campaigns::table)
        .filter(ads_creatives::size.eq(size.to_string()))
        .filter(ads_campaigns::status.eq(CampaignStatus::Active.as_str()))
        .filter(ads_campaigns::starts_at.le(now))
        .filter(ads_campaigns::ends_at.gt(now))
        .select((
            ads_creatives::id,
            ads_creatives::headline,
            ads_creatives::body,
            ads_creatives::link_url,
            ads_creatives::image_key,
            ads_creatives::image_content_type,
            ads_campaigns::cpm_cents,
            ads_campaigns::budget_cents,
            ads_campaigns::spent_micro_cents,
            ads_campaigns::starts_at,
            ads_campaigns::ends_at,
        ))
        .order(ads_creatives::id)
        .load(connection)?;
    let mut candidates = Vec::new();
    for (
        id,
        headline,
        body,
        link_url,
        image_key,
        image_content_type,
        cpm_cents,
        budget_cents,
        spent,
        starts_at,
        ends_at,
    ) in rows
    {
        let allowance = pacing_allowance_micro_cents(
            Cents(budget_cents),
            Cents(cpm_cents),
            starts_at,
            ends_at,
            now,
            settings.pacing_margin_bps,
        );
        if i128::from(spent) > allowance {
            continue;
        }
        let creative_id = CreativeId::parse(&id)
            .map_err(|_| AdsError::CorruptRow(format!("creative id {id:?}")))?;
        let weight = u64::try_from(cpm_cents).unwrap_or(0);
        candidates.push((
            weight,
            CreativeOffer {
                creative_id,
                size,
                headline,
                body,
                link_url,
                image_key,
                image_content_type,
            },
        ));
    }
    let mut offers = Vec::with_capacity(settings.offers_max.min(candidates.len()));
    while offers.len() < settings.offers_max && !candidates.is_empty() {
        let total: u64 = candidates.iter().map(|(weight, _)| weight).sum();
        let mut ticket = rng.random_range(0..total.max(1));
        let chosen = candidates
            .iter()
            .position(|(weight, _)| {
                if ticket < *weight {
                    return true;
                }
                ticket -= weight;
                false
            })
            .unwrap_or(0);
        offers.push(candidates.swap_remove(chosen).1);
    }
    Ok(offers)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, day)
            .and_then(|date| date.and_hms_opt(hour, 0, 0))
            .unwrap_or_default()
    }

    #[test]
    fn pacing_allows_the_elapsed_share_plus_the_margin() {
        // A 10-day flight with a $100 budget and a $2 CPM (2000 micro-cents per impression).
        let (budget, cpm) = (Cents(10_000), Cents(200));
        let budget_micro = 10_000 * 1_000_000_i128;
        let cases = [
            // (now, margin bps, allowance)
            (at(1, 0), 0, 0),
            (at(1, 0), 1000, budget_micro / 10),
            (at(6, 0), 0, budget_micro / 2),
            (at(6, 0), 1000, budget_micro * 6 / 10),
            (at(11, 0), 1000, budget_micro - 200_000),
            (at(20, 0), 0, budget_micro - 200_000),
        ];
        for (now, margin, expected) in cases {
            assert_eq!(
                pacing_allowance_micro_cents(budget, cpm, at(1, 0), at(11, 0), now, margin),
                expected,
                "{now} {margin}"
            );
        }
    }

    #[test]
    fn link_urls_must_be_https_with_a_host() {
        let cases = [
            ("https://example.com/landing?x=1", true),
            ("http://example.com/", false),
            ("javascript:alert(1)", false),
            ("https://user:secret@example.com/", false),
            ("data:text/html,hi", false),
            ("//example.com", false),
            ("https:///nohost", true),
        ];
        for (url, accepted) in cases {
            // `https:///nohost` normalises to host "nohost": still a real host, so accepted.
            assert_eq!(checked_link_url(url).is_ok(), accepted, "{url}");
        }
        assert!(
            checked_link_url(&format!(
                "https://example.com/{}",
                "a".repeat(LINK_URL_BYTES_MAX)
            ))
            .is_err()
        );
    }
}
