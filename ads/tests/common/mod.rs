//! Shared fixtures for the ads tests: a pooled test database per backend, a campaign with a
//! creative, paired devices with real Ed25519 keys, and signed batches built through
//! `megabox-protocol` exactly as the agent builds them.
#![allow(dead_code)] // Each test binary uses its own subset of these helpers.

use std::io::Cursor;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use ed25519_dalek::SigningKey;
use megabox_ads::{
    AdsSettings, CampaignId, CampaignStatus, CreativeRecord, Device, NewCampaign, NewCreative,
    create_advertiser, create_campaign, create_creative, create_pairing_code, pair_device,
    validate_creative_image,
};
use megabox_database::testing::{TestDatabase, backends};
use megabox_database::{Backend, DbConnection, DbPool, PooledDbConnection};
use megabox_domain::{Cents, UserId};
use megabox_protocol::{
    CreativeId, EventId, ImpressionBatch, ImpressionEvent, Nonce, PairingCode, PublicKey, SlotSize,
    TimeBucket, UnsignedBatch,
};

/// The tests' clock: noon, mid-month, so nothing straddles a period boundary by accident.
pub fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 21)
        .and_then(|date| date.and_hms_opt(12, 0, 0))
        .unwrap_or_default()
}

pub fn hours(count: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::hours(count)
}

pub struct TestBackend {
    pub backend: Backend,
    pub pool: DbPool,
    _database: TestDatabase,
}

impl TestBackend {
    pub fn connection(&self) -> PooledDbConnection {
        self.pool
            .get()
            .unwrap_or_else(|error| panic!("{:?}: {error}", self.backend))
    }
}

/// Runs `test` once per backend, each time on a fresh migrated database.
pub fn on_each_backend(test: impl Fn(&TestBackend)) {
    for backend in backends() {
        let database =
            TestDatabase::new(backend).unwrap_or_else(|error| panic!("{backend:?}: {error}"));
        let pool = megabox_database::connect(&database.url, 8)
            .unwrap_or_else(|error| panic!("{backend:?}: {error}"));
        test(&TestBackend {
            backend,
            pool,
            _database: database,
        });
    }
}

pub fn png_of(width: u32, height: u32) -> Vec<u8> {
    encode(width, height, image::ImageFormat::Png)
}

pub fn encode(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            u8::try_from(x % 256).unwrap_or(0),
            u8::try_from(y % 256).unwrap_or(0),
            128,
        ])
    });
    let mut bytes = Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, format)
        .unwrap_or_else(|error| panic!("{format:?}: {error}"));
    bytes.into_inner()
}

pub fn size(text: &str) -> SlotSize {
    text.parse()
        .unwrap_or_else(|error| panic!("{text}: {error}"))
}

pub struct CampaignFixture {
    pub campaign: CampaignId,
    pub creative: CreativeRecord,
}

/// An active campaign in flight from two days before [`now`] to eight days after, with one
/// 300x250 creative.
pub fn campaign(
    connection: &mut DbConnection,
    cpm_cents: i64,
    budget_cents: i64,
) -> CampaignFixture {
    let advertiser = create_advertiser(connection, "Acme Records", now())
        .unwrap_or_else(|error| panic!("{error}"));
    let campaign = create_campaign(
        connection,
        &NewCampaign {
            advertiser: advertiser.id,
            name: "Autumn".to_owned(),
            cpm: Cents(cpm_cents),
            budget: Cents(budget_cents),
            starts_at: now() - hours(48),
            ends_at: now() + hours(8 * 24),
        },
        now(),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let creative = creative(connection, campaign.id, "300x250");
    CampaignFixture {
        campaign: campaign.id,
        creative,
    }
}

pub fn creative(
    connection: &mut DbConnection,
    campaign: CampaignId,
    size_text: &str,
) -> CreativeRecord {
    let slot = size(size_text);
    let image = validate_creative_image(
        png_of(
            u32::from(slot.width_pixels()),
            u32::from(slot.height_pixels()),
        ),
        slot,
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let new = NewCreative {
        campaign,
        headline: "New music".to_owned(),
        body: "Stream it free".to_owned(),
        link_url: "https://megabox.example/release/1".to_owned(),
    };
    create_creative(connection, &new, &image, slot, now()).unwrap_or_else(|error| panic!("{error}"))
}

pub fn set_status(connection: &mut DbConnection, campaign: CampaignId, status: CampaignStatus) {
    megabox_ads::update_campaign_status(connection, campaign, status)
        .unwrap_or_else(|error| panic!("{error}"));
}

/// A paired install: its device row and its signing key.
pub struct Agent {
    pub device: Device,
    pub key: SigningKey,
    pub next_sequence: u64,
}

/// Pairs a new install (key from `seed`) with `user`.
pub fn pair(connection: &mut DbConnection, user: UserId, seed: u8) -> Agent {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let issued = create_pairing_code(connection, user, now(), &AdsSettings::default())
        .unwrap_or_else(|error| panic!("{error}"));
    let code = PairingCode::parse(&issued.code).unwrap_or_else(|error| panic!("{error}"));
    let device = pair_device(connection, &code, &PublicKey::of(&key), now())
        .unwrap_or_else(|error| panic!("{error}"));
    Agent {
        device,
        key,
        next_sequence: 1,
    }
}

pub fn event(creative: &CreativeId, size_text: &str, at: NaiveDateTime) -> ImpressionEvent {
    let unix_seconds = u64::try_from(at.and_utc().timestamp()).unwrap_or_default();
    ImpressionEvent {
        event_id: EventId::random(),
        creative_id: creative.clone(),
        size: size(size_text),
        time_bucket: TimeBucket::containing(unix_seconds),
        nonce: Nonce(rand::random()),
    }
}

/// `count` fresh events for `creative` in the current hour.
pub fn events(creative: &CreativeId, count: usize) -> Vec<ImpressionEvent> {
    (0..count)
        .map(|_| event(creative, "300x250", now()))
        .collect()
}

impl Agent {
    /// Signs `events` as the next batch of this agent.
    pub fn batch(&mut self, events: Vec<ImpressionEvent>) -> ImpressionBatch {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.batch_with_sequence(sequence, events)
    }

    pub fn batch_with_sequence(
        &self,
        sequence: u64,
        events: Vec<ImpressionEvent>,
    ) -> ImpressionBatch {
        UnsignedBatch {
            device_id: self.device.id,
            sequence,
            events,
        }
        .sign(&self.key)
        .unwrap_or_else(|error| panic!("{error}"))
    }
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

fn total(connection: &mut DbConnection, sql: &str, subject: &str) -> i64 {
    diesel::sql_query(sql)
        .bind::<Text, _>(subject)
        .get_result::<Total>(connection)
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .total
}

/// Royalties' pending ad revenue of `installer` (accruals less clawbacks in open periods).
/// Read straight from royalties' table because royalties has no query for it yet; tests only.
pub fn pending_ad_revenue(connection: &mut DbConnection, installer: UserId) -> i64 {
    total(
        connection,
        "SELECT CAST(COALESCE(SUM(amount_micro_cents), 0) AS BIGINT) AS total FROM royalty_ad_revenue WHERE installer_id = $1",
        &installer.to_string(),
    )
}

/// What the campaign has been charged, in micro-cents.
pub fn spent(connection: &mut DbConnection, campaign: CampaignId) -> i64 {
    total(
        connection,
        "SELECT spent_micro_cents AS total FROM ads_campaigns WHERE id = $1",
        &campaign.to_string(),
    )
}

/// Accepted impressions stored for the device.
pub fn impressions(connection: &mut DbConnection, device: &Device) -> i64 {
    total(
        connection,
        "SELECT COUNT(*) AS total FROM ads_impressions WHERE device_id = $1",
        &device.id.0.to_string(),
    )
}

/// Proves the ledger's invariants still hold.
pub fn assert_ledger_verifies(connection: &mut DbConnection, context: &str) {
    if let Err(error) = royalties::verify(connection) {
        panic!("{context}: ledger does not verify: {error}");
    }
}
