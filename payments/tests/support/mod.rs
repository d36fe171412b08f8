//! Fixtures shared by the payments tests: a migrated database per backend with a published
//! catalog (users are the store's table, written here only as a fixture), the two gateways
//! (test mode, and the real Stripe client against the fake Stripe server), and webhook delivery
//! helpers that send events several times, shuffled and concurrently.

#![allow(dead_code)] // Each test file uses a different part of this module.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use catalog::analysis::{Analysis, Codec, Container, Loudness, Tags, Waveform};
use catalog::artists;
use catalog::media::{self, StorageQuota, Upload};
use catalog::pricing::Price;
use catalog::releases::{self, NewRelease, ReleaseKind, ReleaseUpdate};
use catalog::storage::LocalBlobStore;
use catalog::tracks::{self, TrackUpdate};
use diesel::prelude::*;
use fake_stripe::{FakeStripe, FakeStripeConfig};
use megabox_database::testing::TestDatabase;
use megabox_database::{Backend, DbPool, PooledDbConnection};
use megabox_domain::{ArtistId, Cents, ReleaseId, TrackId, UserId};
use megabox_payments::{PaymentSettings, Payments, WebhookConfig, WebhookOutcome, sign_payload};
use rand::seq::SliceRandom;
use royalties::RoyaltySettings;
use secrecy::SecretString;

pub const WEBHOOK_SECRET: &str = "whsec_payments_tests";
const POOL_SIZE: u32 = 12;

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        display_name -> Text,
        role -> Text,
        agent_active -> Bool,
        created_at -> Timestamp,
    }
}

/// A published release: its artist, id and track ids in order.
#[derive(Debug, Clone)]
pub struct PublishedRelease {
    pub artist: ArtistId,
    pub release: ReleaseId,
    pub tracks: Vec<TrackId>,
}

pub struct Fixture {
    pub database: TestDatabase,
    pub pool: DbPool,
    blobs: LocalBlobStore,
    _blob_directory: tempfile::TempDir,
    upload_directory: tempfile::TempDir,
    next_seed: std::sync::atomic::AtomicU8,
}

impl Fixture {
    pub fn new(backend: Backend) -> Fixture {
        let database = TestDatabase::new(backend).unwrap();
        let pool = megabox_database::connect(&database.url, POOL_SIZE).unwrap();
        let blob_directory = tempfile::tempdir().unwrap();
        let blobs = LocalBlobStore::open(blob_directory.path().join("blobs")).unwrap();
        Fixture {
            database,
            pool,
            blobs,
            _blob_directory: blob_directory,
            upload_directory: tempfile::tempdir().unwrap(),
            next_seed: std::sync::atomic::AtomicU8::new(1),
        }
    }

    pub fn backend(&self) -> Backend {
        self.database.backend()
    }

    pub fn connection(&self) -> PooledDbConnection {
        self.pool.get().unwrap()
    }

    pub fn user(&self, role: &str) -> UserId {
        let id = UserId::generate();
        diesel::insert_into(users::table)
            .values((
                users::id.eq(id.to_string()),
                users::email.eq(format!("{id}@example.test")),
                users::password_hash.eq("not a hash"),
                users::display_name.eq(role),
                users::role.eq(role),
                users::agent_active.eq(false),
                users::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(&mut *self.connection())
            .unwrap();
        id
    }

    /// A published release by a new artist, priced `release_price`, with one track per entry of
    /// `track_prices`.
    pub fn published_release(
        &self,
        artist_name: &str,
        release_price: Price,
        track_prices: &[Price],
    ) -> PublishedRelease {
        let mut connection = self.connection();
        let user = self.user("artist");
        let artist = artists::create_or_get(&mut connection, user, artist_name).unwrap();
        let release = releases::create_draft(
            &mut connection,
            artist.id,
            &NewRelease {
                title: Some(format!("{artist_name} LP")),
                kind: ReleaseKind::Album,
            },
        )
        .unwrap();
        let mut track_ids = Vec::new();
        for (number, price) in track_prices.iter().enumerate() {
            let seed = self
                .next_seed
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path = self
                .upload_directory
                .path()
                .join(format!("upload-{seed}.flac"));
            std::fs::write(&path, [seed; 1000]).unwrap();
            let analysis = analysis(seed);
            let ingested = media::ingest(
                &mut connection,
                &self.blobs,
                artist.id,
                release.id,
                Upload {
                    path: &path,
                    original_file_name: "song.flac",
                    analysis: &analysis,
                },
                StorageQuota { bytes_max: 1 << 30 },
            )
            .unwrap();
            let update = TrackUpdate {
                title: Some(format!("Song {}", number + 1)),
                price: Some(Some(*price)),
                ..TrackUpdate::default()
            };
            tracks::update_track(&mut connection, artist.id, ingested.track.id, &update).unwrap();
            track_ids.push(ingested.track.id);
        }
        let update = ReleaseUpdate {
            price: Some(Some(release_price)),
            ..ReleaseUpdate::default()
        };
        releases::update_release(&mut connection, artist.id, release.id, &update).unwrap();
        releases::publish(&mut connection, artist.id, release.id).unwrap();
        PublishedRelease {
            artist: artist.id,
            release: release.id,
            tracks: track_ids,
        }
    }

    /// Payments in test mode (no Stripe key), signing with [`WEBHOOK_SECRET`].
    pub fn test_mode(&self) -> Payments {
        Payments::new(self.pool.clone(), settings(None, None)).unwrap()
    }

    /// Payments with the real Stripe client pointed at `fake`.
    pub fn stripe(&self, fake: &FakeStripe) -> Payments {
        Payments::new(
            self.pool.clone(),
            settings(Some(fake.secret_key()), Some(fake.base_url())),
        )
        .unwrap()
    }

    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        let row: Count = diesel::sql_query(format!("SELECT COUNT(*) AS count FROM {table}"))
            .get_result(&mut *self.connection())
            .unwrap();
        row.count
    }

    /// The artist's ledger: (sales, refunds) over all periods.
    pub fn artist_sales(&self, artist: ArtistId) -> (Cents, Cents) {
        let earnings = royalties::earnings(&mut self.connection(), artist).unwrap();
        let sales = earnings.iter().map(|period| period.sales.0).sum();
        let refunds = earnings.iter().map(|period| period.refunds.0).sum();
        (Cents(sales), Cents(refunds))
    }

    /// Royalties' invariant check must pass after every scenario.
    pub fn assert_ledger_verifies(&self) {
        royalties::verify(&mut self.connection()).unwrap();
    }
}

pub fn settings(secret_key: Option<&str>, api_base: Option<&str>) -> PaymentSettings {
    PaymentSettings {
        stripe_secret_key: secret_key.map(|key| SecretString::from(key.to_owned())),
        stripe_webhook_secret: Some(SecretString::from(WEBHOOK_SECRET.to_owned())),
        stripe_api_base: api_base.map(str::to_owned),
        public_url: "http://megabox.test".to_owned(),
        royalty_settings: RoyaltySettings::default(),
    }
}

pub fn webhook_config() -> WebhookConfig {
    WebhookConfig {
        signing_secrets: vec![SecretString::from(WEBHOOK_SECRET.to_owned())],
        royalty_settings: RoyaltySettings::default(),
    }
}

pub fn fixed(cents: i64) -> Price {
    Price::fixed(Cents(cents)).unwrap()
}

pub fn pay_what_you_want(minimum_cents: i64, suggested_cents: i64) -> Price {
    Price::pay_what_you_want(Cents(minimum_cents), Cents(suggested_cents)).unwrap()
}

fn analysis(seed: u8) -> Analysis {
    Analysis {
        container: Container::Flac,
        codec: Codec::Flac,
        sample_rate_hz: 44_100,
        channels: 2,
        bits_per_sample: Some(16),
        frame_count: 44_100 * 3,
        duration_ms: 3_000,
        tags: Tags::default(),
        artwork: None,
        loudness: Loudness {
            integrated_lufs: Some(-14.0),
            true_peak_dbtp: Some(-1.0),
        },
        waveform: Waveform {
            peaks: vec![seed; 16],
        },
        audio_sha256: format!("{seed:064x}"),
        warnings: Vec::new(),
    }
}

/// A fake Stripe server with the default fees (2.9% + 30¢); events are held and delivered by the tests.
pub async fn start_fake() -> FakeStripe {
    FakeStripe::start(FakeStripeConfig::default())
        .await
        .unwrap()
}

/// A delivery that records events without sending them: the tests deliver them to the handler.
pub fn held() -> fake_stripe::Delivery {
    fake_stripe::Delivery {
        hold: true,
        ..fake_stripe::Delivery::default()
    }
}

/// The body of an event recorded by the fake, as it would be sent.
pub fn event_payload(fake: &FakeStripe, event_id: &str) -> String {
    fake.object(event_id).unwrap().to_string()
}

/// Delivers every event `copies` times (2–5 each, chosen by `copies`), all at once, in a shuffled
/// order, and returns the outcomes.
pub async fn deliver_shuffled_concurrently(
    payments: &Payments,
    payloads: &[String],
    copies: impl Fn(usize) -> usize,
) -> Vec<WebhookOutcome> {
    let mut deliveries: Vec<&String> = Vec::new();
    for (index, payload) in payloads.iter().enumerate() {
        for _ in 0..copies(index) {
            deliveries.push(payload);
        }
    }
    deliveries.shuffle(&mut rand::rng());
    let payments = Arc::new(payments.clone());
    let tasks: Vec<_> = deliveries
        .into_iter()
        .map(|payload| {
            let payments = Arc::clone(&payments);
            let payload = payload.clone();
            tokio::spawn(async move {
                let header = sign_payload(
                    &SecretString::from(WEBHOOK_SECRET.to_owned()),
                    chrono::Utc::now().timestamp(),
                    payload.as_bytes(),
                );
                payments
                    .handle_webhook(payload.as_bytes(), Some(&header))
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }
    outcomes
}

/// Delivers one payload once, signed now.
pub async fn deliver(payments: &Payments, payload: &str) -> WebhookOutcome {
    let header = sign_payload(
        &SecretString::from(WEBHOOK_SECRET.to_owned()),
        chrono::Utc::now().timestamp(),
        payload.as_bytes(),
    );
    payments
        .handle_webhook(payload.as_bytes(), Some(&header))
        .await
        .unwrap()
}
