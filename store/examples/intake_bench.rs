//! Impression intake benchmark (DESIGN.md §9): accepted impressions per second through the real
//! endpoint, `POST /api/v1/impressions` of the server [`Application::build`] starts (actix, the
//! database pool, Redis rate limits and dedupe), for signed batches of 100 events from 1,000
//! paired devices, against the ceiling measured in the same run on the same batches: Ed25519
//! verification alone plus Redis pipelined `SET NX` of the same event keys alone, each across
//! all cores. Target: ≥ 50% of the ceiling.
//!
//! ```text
//! cargo run --release -p megabox-store --example intake_bench -- [postgres|sqlite] [seconds] [clients]
//! ```
//!
//! Defaults: PostgreSQL (a fresh database at `MEGABOX_TEST_POSTGRES_URL`'s server, dropped
//! afterwards), 30 seconds of posting, 48 requests in flight. `REDIS_URL` (default
//! `redis://127.0.0.1:6379`) serves both the server (under a key prefix of its own) and the
//! ceiling. The campaign and the devices are made through `megabox_ads` on the server's
//! database before it starts; the caps and the impression rate limit are raised through the
//! server's settings, so the run measures intake, not refusals (it fails if more than 1% of
//! the events are refused). Every batch is signed before the clock starts; clients and server
//! share the machine's cores, as the ceiling's threads do.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{NaiveDateTime, Utc};
use ed25519_dalek::SigningKey;
use megabox_ads::{
    AdsSettings, NewCampaign, NewCreative, create_advertiser, create_campaign, create_creative,
    create_pairing_code, pair_device, validate_creative_image,
};
use megabox_database::testing::TestDatabase;
use megabox_database::{Backend, DbConnection};
use megabox_domain::{Cents, UserId};
use megabox_protocol::{
    BatchResponse, CreativeId, EventId, ImpressionBatch, ImpressionEvent, Nonce, PairingCode,
    PublicKey, SlotSize, TimeBucket, UnsignedBatch,
};
use megabox_store::configuration::Settings;
use megabox_store::startup::Application;

const DEVICES: usize = 1000;
const EVENTS_PER_BATCH: usize = 100;
const SECONDS_DEFAULT: u64 = 30;
const CLIENTS_DEFAULT: usize = 48;
/// Batches signed per device before the clock starts; a server faster than
/// `DEVICES × EVENTS_PER_BATCH × ROUNDS / seconds` impressions/s ends the run early.
const ROUNDS: usize = 5;
const TARGET_RATIO: f64 = 0.5;
/// Below this share of accepted events the run measured refusals, not intake.
const ACCEPTED_SHARE_MIN: f64 = 0.99;
/// Lifetime of the ceiling's Redis keys; they are the bench's own and expire on their own.
const CEILING_KEY_SECONDS: u64 = 600;

fn main() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let backend = match arguments.first().map(String::as_str) {
        None | Some("postgres") => Backend::Postgres,
        Some("sqlite") => Backend::Sqlite,
        Some(other) => bail!("unknown backend {other:?}: use postgres or sqlite"),
    };
    let duration = Duration::from_secs(
        arguments
            .get(1)
            .map(|text| text.parse())
            .transpose()?
            .unwrap_or(SECONDS_DEFAULT),
    );
    let clients: usize = arguments
        .get(2)
        .map(|text| text.parse())
        .transpose()?
        .unwrap_or(CLIENTS_DEFAULT)
        .clamp(1, DEVICES);
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);

    let database = TestDatabase::new(backend).context("creating the benchmark database")?;
    let now = Utc::now().naive_utc();
    eprintln!("seeding a campaign and pairing {DEVICES} devices…");
    let devices = seed(
        &mut *megabox_database::connect(&database.url, 1)?.get()?,
        now,
    )?;
    eprintln!("signing {ROUNDS} batches of {EVENTS_PER_BATCH} events per device…");
    let batches = sign_batches(&devices, now)?;

    let first_round: Vec<(&ImpressionBatch, PublicKey)> = batches
        .iter()
        .map(|rounds| &rounds[0])
        .zip(devices.keys.iter().map(PublicKey::of))
        .collect();
    let ceiling_events = first_round.len() * EVENTS_PER_BATCH;
    let verify_time = on_all_threads(&first_round, threads, |chunk| {
        chunk
            .iter()
            .try_for_each(|(batch, key)| batch.verify(key).context("verify"))
    })?;
    let key_prefix = format!("megabox-bench-{}", uuid::Uuid::new_v4().simple());
    let redis_time = on_all_threads(&first_round, threads, |chunk| {
        let mut connection = redis::Client::open(redis_url.as_str())?
            .get_connection()
            .context("connecting to Redis")?;
        for (batch, _) in chunk {
            let mut pipeline = redis::pipe();
            for event in &batch.events {
                let key = format!(
                    "{key_prefix}:impression:{}:{}",
                    batch.device_id.0.simple(),
                    event.event_id.0.simple()
                );
                pipeline
                    .cmd("SET")
                    .arg(key)
                    .arg(1)
                    .arg("NX")
                    .arg("EX")
                    .arg(CEILING_KEY_SECONDS);
            }
            let _: Vec<Option<String>> = pipeline.query(&mut connection)?;
        }
        Ok(())
    })?;

    let bodies = batches
        .into_iter()
        .map(|rounds| {
            rounds
                .iter()
                .map(serde_json::to_vec)
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let data_dir = tempfile::tempdir()?;
    let settings = Settings {
        bind: "127.0.0.1:0".to_owned(),
        data_dir: data_dir.path().to_path_buf(),
        database_url: Some(database.url.clone()),
        redis_url: Some(redis_url.clone()),
        redis_key_prefix: key_prefix.clone(),
        // Every request comes from 127.0.0.1: the per-address limits would measure refusals.
        impression_batches_per_minute: u32::MAX,
        impressions_per_device_per_day_max: i64::MAX,
        impressions_per_account_per_day_max: i64::MAX,
        impressions_per_ip_per_day_max: i64::MAX,
        ..Settings::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(post_all(settings, bodies, clients, duration))?;

    let rate = |events: usize, elapsed: Duration| count_f64(events) / elapsed.as_secs_f64();
    let ceiling = rate(ceiling_events, verify_time + redis_time);
    let posted = outcome.accepted + outcome.rejected;
    let intake = rate(outcome.accepted, outcome.elapsed);
    println!(
        "impression intake benchmark: {backend:?} + Redis, {DEVICES} devices, batches of {EVENTS_PER_BATCH} events, {clients} requests in flight, {threads} core(s)"
    );
    println!(
        "  Ed25519 verify alone:          {:>10.0} impressions/s ({ceiling_events} events in {:.3} s)",
        rate(ceiling_events, verify_time),
        verify_time.as_secs_f64()
    );
    println!(
        "  Redis pipelined SET NX alone:  {:>10.0} impressions/s ({ceiling_events} events in {:.3} s)",
        rate(ceiling_events, redis_time),
        redis_time.as_secs_f64()
    );
    println!("  ceiling (verify + SET NX):     {ceiling:>10.0} impressions/s");
    println!(
        "  POST /api/v1/impressions:      {intake:>10.0} impressions/s ({} batches, {} accepted, {} rejected in {:.3} s{})",
        outcome.batches,
        outcome.accepted,
        outcome.rejected,
        outcome.elapsed.as_secs_f64(),
        if outcome.exhausted {
            "; every signed batch was sent before the time was up"
        } else {
            ""
        }
    );
    println!("  ratio: {:.3} (target ≥ {TARGET_RATIO})", intake / ceiling);
    if count_f64(outcome.accepted) < ACCEPTED_SHARE_MIN * count_f64(posted) {
        bail!(
            "only {} of {posted} events were accepted: the run measured refusals",
            outcome.accepted
        );
    }
    Ok(())
}

/// The paired devices' keys and ids, and the creative their impressions show.
struct Devices {
    keys: Vec<SigningKey>,
    ids: Vec<megabox_protocol::DeviceId>,
    creative: CreativeId,
    size: SlotSize,
}

/// A running campaign with a budget far beyond the run, one creative, and [`DEVICES`] devices
/// each paired with an installer account of its own.
fn seed(connection: &mut DbConnection, now: NaiveDateTime) -> anyhow::Result<Devices> {
    let advertiser = create_advertiser(connection, "Benchmark", now)?;
    let campaign = NewCampaign {
        advertiser: advertiser.id,
        name: "Benchmark".to_owned(),
        cpm: Cents(200),
        budget: Cents(1_000_000_000),
        starts_at: now - chrono::TimeDelta::days(1),
        ends_at: now + chrono::TimeDelta::days(30),
    };
    let campaign = create_campaign(connection, &campaign, now)?;
    let size: SlotSize = "300x250".parse()?;
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(300, 250).write_to(&mut png, image::ImageFormat::Png)?;
    let image = validate_creative_image(png.into_inner(), size)?;
    let creative = NewCreative {
        campaign: campaign.id,
        headline: "Benchmark".to_owned(),
        body: String::new(),
        link_url: "https://megabox.example/".to_owned(),
    };
    let creative = create_creative(connection, &creative, &image, size, now)?.id;

    let settings = AdsSettings::default();
    let mut devices = Devices {
        keys: Vec::with_capacity(DEVICES),
        ids: Vec::with_capacity(DEVICES),
        creative,
        size,
    };
    for _ in 0..DEVICES {
        let key = SigningKey::from_bytes(&rand::random());
        let issued = create_pairing_code(connection, UserId::generate(), now, &settings)?;
        devices.ids.push(
            pair_device(
                connection,
                &PairingCode::parse(&issued.code)?,
                &PublicKey::of(&key),
                now,
            )?
            .id,
        );
        devices.keys.push(key);
    }
    Ok(devices)
}

/// `ROUNDS` signed batches per device (sequences 1, 2, …), each of fresh events.
fn sign_batches(
    devices: &Devices,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<Vec<ImpressionBatch>>> {
    let bucket = TimeBucket::containing(u64::try_from(now.and_utc().timestamp())?);
    devices
        .keys
        .iter()
        .zip(&devices.ids)
        .map(|(key, &device_id)| {
            (1..=ROUNDS)
                .map(|sequence| {
                    let events = (0..EVENTS_PER_BATCH)
                        .map(|_| ImpressionEvent {
                            event_id: EventId::random(),
                            creative_id: devices.creative.clone(),
                            size: devices.size,
                            time_bucket: bucket,
                            nonce: Nonce(rand::random()),
                        })
                        .collect();
                    Ok(UnsignedBatch {
                        device_id,
                        sequence: u64::try_from(sequence)?,
                        events,
                    }
                    .sign(key)?)
                })
                .collect()
        })
        .collect()
}

/// How long `work` takes over `items` split across `threads` threads.
fn on_all_threads<T: Sync>(
    items: &[T],
    threads: usize,
    work: impl Fn(&[T]) -> anyhow::Result<()> + Sync,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    std::thread::scope(|scope| {
        let work = &work;
        let workers: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|chunk| scope.spawn(move || work(chunk)))
            .collect();
        workers.into_iter().try_for_each(|worker| {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a ceiling thread panicked"))?
        })
    })?;
    Ok(started.elapsed())
}

/// What the clients got back.
#[derive(Default)]
struct Outcome {
    batches: usize,
    accepted: usize,
    rejected: usize,
    elapsed: Duration,
    /// Every signed batch went out before the time was up.
    exhausted: bool,
}

/// Starts the server and posts the signed batches from `clients` concurrent clients until
/// `duration` is up or the batches run out. Each client owns its devices and sends their
/// batches in sequence order, one at a time, as an agent would.
async fn post_all(
    settings: Settings,
    bodies: Vec<Vec<Vec<u8>>>,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let application = Application::build(settings).await?;
    let url = format!("http://127.0.0.1:{}/api/v1/impressions", application.port());
    tokio::spawn(application.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;

    let mut owned: Vec<Vec<Vec<Vec<u8>>>> = (0..clients).map(|_| Vec::new()).collect();
    for (index, rounds) in bodies.into_iter().enumerate() {
        owned[index % clients].push(rounds);
    }
    eprintln!("posting for up to {} s…", duration.as_secs());
    let started = Instant::now();
    let url = Arc::new(url);
    let tasks: Vec<_> = owned
        .into_iter()
        .map(|mut devices| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let mut outcome = Outcome {
                    exhausted: true,
                    ..Outcome::default()
                };
                'rounds: for round in 0..ROUNDS {
                    for rounds in &mut devices {
                        if started.elapsed() >= duration {
                            outcome.exhausted = false;
                            break 'rounds;
                        }
                        let body = std::mem::take(&mut rounds[round]);
                        let response = client
                            .post(url.as_str())
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await?;
                        let status = response.status();
                        if !status.is_success() {
                            bail!(
                                "POST /api/v1/impressions answered {status}: {}",
                                response.text().await.unwrap_or_default()
                            );
                        }
                        let receipt: BatchResponse = response.json().await?;
                        outcome.batches += 1;
                        outcome.accepted += receipt.accepted.len();
                        outcome.rejected += receipt.rejected.len();
                    }
                }
                anyhow::Ok(outcome)
            })
        })
        .collect();
    let mut total = Outcome {
        exhausted: true,
        ..Outcome::default()
    };
    for task in tasks {
        let outcome = task.await??;
        total.batches += outcome.batches;
        total.accepted += outcome.accepted;
        total.rejected += outcome.rejected;
        total.exhausted &= outcome.exhausted;
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

fn count_f64(count: usize) -> f64 {
    // Benchmark counts are far below 2^52: the conversion is exact.
    u32::try_from(count).map(f64::from).unwrap_or(f64::MAX)
}
