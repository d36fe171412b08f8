//! Impression intake benchmark (DESIGN.md §9): impressions per second through
//! [`megabox_ads::intake_batch`] (with the Redis dedupe front) for signed batches of 100 events
//! from 1,000 devices, against the ceiling measured in the same run on the same batches:
//! Ed25519 verification alone plus Redis pipelined `SET NX` alone. Target: ≥ 50% of the ceiling.
//!
//! ```text
//! cargo run --release -p megabox-ads --features redis --example intake_bench -- [sqlite|postgres] [devices] [events_per_batch] [threads]
//! ```
//!
//! With several threads, each takes its share of the devices on its own connection and Redis
//! connection, as several server workers would; the ceiling stays single-threaded.
//!
//! `REDIS_URL` (default `redis://127.0.0.1:6379`); PostgreSQL as in the tests
//! (`MEGABOX_TEST_POSTGRES_URL`). Each run uses a fresh database, dropped afterwards.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use ed25519_dalek::SigningKey;
use megabox_ads::{
    AdsSettings, Deduper, NewCampaign, NewCreative, RedisDeduper, create_advertiser, create_campaign, create_creative,
    create_pairing_code, intake_batch, pair_device, validate_creative_image,
};
use megabox_database::testing::TestDatabase;
use megabox_database::{Backend, DbConnection};
use megabox_domain::{Cents, UserId};
use megabox_protocol::{EventId, ImpressionBatch, ImpressionEvent, Nonce, PairingCode, PublicKey, SlotSize, TimeBucket, UnsignedBatch};

const DEVICES_DEFAULT: usize = 1000;
const EVENTS_PER_BATCH_DEFAULT: usize = 100;
const TARGET_RATIO: f64 = 0.5;

fn main() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let backend = match arguments.first().map(String::as_str) {
        None | Some("sqlite") => Backend::Sqlite,
        Some("postgres") => Backend::Postgres,
        Some(other) => bail!("unknown backend {other:?}: use sqlite or postgres"),
    };
    let devices: usize = arguments.get(1).map(|text| text.parse()).transpose()?.unwrap_or(DEVICES_DEFAULT);
    let events_per_batch: usize = arguments.get(2).map(|text| text.parse()).transpose()?.unwrap_or(EVENTS_PER_BATCH_DEFAULT);
    let threads: usize = arguments.get(3).map(|text| text.parse()).transpose()?.unwrap_or(1).max(1);
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());

    let database = TestDatabase::new(backend).context("creating the benchmark database")?;
    let pool = megabox_database::connect(&database.url, u32::try_from(threads + 1)?)?;
    let connection = &mut *pool.get()?;
    let now = Utc::now().naive_utc();
    // Caps out of the way: this measures the intake path, not the caps' refusals.
    let settings = AdsSettings {
        impressions_per_device_per_day_max: i64::MAX,
        impressions_per_account_per_day_max: i64::MAX,
        impressions_per_ip_per_day_max: i64::MAX,
        ..AdsSettings::default()
    };

    let (creative, size) = setup_campaign(connection, now)?;
    eprintln!("pairing {devices} devices…");
    let mut keys = Vec::with_capacity(devices);
    let mut batches = Vec::with_capacity(devices);
    for index in 0..devices {
        let mut seed = [0_u8; 32];
        seed[..8].copy_from_slice(&u64::try_from(index)?.to_be_bytes());
        seed[8] = 1;
        let key = SigningKey::from_bytes(&seed);
        let issued = create_pairing_code(connection, UserId::generate(), now, &settings)?;
        let device = pair_device(connection, &PairingCode::parse(&issued.code)?, &PublicKey::of(&key), now)?;
        let bucket = TimeBucket::containing(u64::try_from(now.and_utc().timestamp())?);
        let events: Vec<ImpressionEvent> = (0..events_per_batch)
            .map(|_| ImpressionEvent { event_id: EventId::random(), creative_id: creative.clone(), size, time_bucket: bucket, nonce: Nonce(rand::random()) })
            .collect();
        batches.push(UnsignedBatch { device_id: device.id, sequence: 1, events }.sign(&key)?);
        keys.push(PublicKey::of(&key));
    }
    let event_count = devices * events_per_batch;

    let verify_time = time(|| {
        for (batch, key) in batches.iter().zip(&keys) {
            batch.verify(key).context("verify")?;
        }
        Ok(())
    })?;

    let mut redis_connection = redis::Client::open(redis_url.as_str())?.get_connection().context("connecting to Redis")?;
    let run = uuid::Uuid::new_v4().simple();
    let redis_time = time(|| {
        for batch in &batches {
            let mut pipeline = redis::pipe();
            for event in &batch.events {
                pipeline.cmd("SET").arg(format!("megabox:bench:{run}:{}:{}", batch.device_id.0.simple(), event.event_id.0.simple())).arg(1).arg("NX").arg("EX").arg(600);
            }
            let _: Vec<Option<String>> = pipeline.query(&mut redis_connection)?;
        }
        Ok(())
    })?;

    let client_ip: IpAddr = [203, 0, 113, 10].into();
    let chunk_size = batches.len().div_ceil(threads);
    let intake_time = time(|| {
        std::thread::scope(|scope| {
            let workers: Vec<_> = batches
                .chunks(chunk_size)
                .map(|chunk| {
                    let (pool, settings, redis_url) = (&pool, &settings, &redis_url);
                    scope.spawn(move || -> anyhow::Result<()> {
                        let deduper = RedisDeduper::connect(redis_url, settings.event_age_max)?;
                        intake_all(&mut *pool.get()?, chunk, client_ip, settings, &deduper)
                    })
                })
                .collect();
            workers.into_iter().try_for_each(|worker| worker.join().map_err(|_| anyhow::anyhow!("worker panicked"))?)
        })
    })?;

    let rate = |elapsed: Duration| count_f64(event_count) / elapsed.as_secs_f64();
    let ceiling = rate(verify_time + redis_time);
    let intake = rate(intake_time);
    println!("impression intake benchmark: {backend:?}, {devices} devices × 1 batch × {events_per_batch} events = {event_count} impressions, {threads} intake thread(s)");
    println!("  Ed25519 verify alone:          {:>12.0} impressions/s ({:.3} s)", rate(verify_time), verify_time.as_secs_f64());
    println!("  Redis pipelined SET NX alone:  {:>12.0} impressions/s ({:.3} s)", rate(redis_time), redis_time.as_secs_f64());
    println!("  ceiling (verify + SET NX):     {ceiling:>12.0} impressions/s");
    println!("  intake_batch (DB + Redis):     {intake:>12.0} impressions/s ({:.3} s)", intake_time.as_secs_f64());
    println!("  ratio: {:.3} (target ≥ {TARGET_RATIO})", intake / ceiling);
    Ok(())
}

fn count_f64(count: usize) -> f64 {
    // Benchmark sizes are far below 2^52: the conversion is exact.
    u32::try_from(count).map(f64::from).unwrap_or(f64::MAX)
}

fn time(work: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let started = Instant::now();
    work()?;
    Ok(started.elapsed())
}

fn intake_all(
    connection: &mut DbConnection,
    batches: &[ImpressionBatch],
    client_ip: IpAddr,
    settings: &AdsSettings,
    deduper: &dyn Deduper,
) -> anyhow::Result<()> {
    let now = Utc::now().naive_utc();
    for batch in batches {
        let receipt = intake_batch(connection, batch, client_ip, now, settings, Some(deduper))?;
        if receipt.accepted.len() != batch.events.len() {
            bail!("expected every event accepted, got {:?}", receipt.rejected.first());
        }
    }
    Ok(())
}

fn setup_campaign(connection: &mut DbConnection, now: chrono::NaiveDateTime) -> anyhow::Result<(megabox_protocol::CreativeId, SlotSize)> {
    let advertiser = create_advertiser(connection, "Benchmark", now)?;
    let campaign = create_campaign(
        connection,
        &NewCampaign {
            advertiser: advertiser.id,
            name: "Benchmark".to_owned(),
            cpm: Cents(200),
            budget: Cents(1_000_000_000),
            starts_at: now - chrono::TimeDelta::days(1),
            ends_at: now + chrono::TimeDelta::days(30),
        },
        now,
    )?;
    let size: SlotSize = "300x250".parse()?;
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(300, 250).write_to(&mut png, image::ImageFormat::Png)?;
    let image = validate_creative_image(png.into_inner(), size)?;
    let new = NewCreative {
        campaign: campaign.id,
        headline: "Benchmark".to_owned(),
        body: String::new(),
        link_url: "https://megabox.example/".to_owned(),
    };
    Ok((create_creative(connection, &new, &image, size, now)?.id, size))
}
