//! The demo's history: about three months of sales (test-mode checkouts paid at chosen past
//! times), qualifying plays (play sessions started and reported at past times), and ad revenue
//! (signed impression batches from paired agents, taken in by the ads crate's intake at past
//! times), then the past months closed (allocation, statements) and one artist paid out, so every
//! dashboard, chart and statement has something to show. Everything goes through the calls the
//! API makes, so `megabox ledger verify` holds.
//!
//! Resumable by phase: sales skip what a fan owns already, a fan with a paired device has sent
//! its impressions, fans with play sessions have played, closing is idempotent, and the whole
//! history is skipped once its payout exists.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::Context;
use chrono::{Datelike, NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use megabox_ads::CampaignId;
use megabox_database::{DbConnection, DbPool, write_transaction};
use megabox_domain::{ArtistId, Cents, TrackId, UserId};
use megabox_payments::{CartItem, Item, Payments, PaymentsError, TestCheckoutAction};
use megabox_protocol::{
    CreativeId, EventId, ImpressionEvent, Nonce, PairingCode, PublicKey, SlotSize, TimeBucket,
    UnsignedBatch,
};

use super::audio::SplitMix64;
use super::content::{DemoPrice, RELEASES};
use crate::configuration::Settings;
use crate::schema::play_sessions;
use crate::storefront::plays::{self, PlayRules};

/// Calendar months of history before the current one; all of them are closed.
pub const HISTORY_MONTHS: u32 = 3;
/// The artist (an index into the demo's artists) whose balance is paid out.
pub const PAID_ARTIST: usize = 0;
/// Checkouts a day, at most; the plan draws 0 to this many.
const SALES_PER_DAY_MAX: usize = 4;
/// Qualifying plays a day over all fans, at most.
const PLAYS_PER_DAY_MAX: usize = 8;
/// A fan's agent reports a batch every this many days…
const IMPRESSION_BATCH_EVERY_DAYS: u64 = 4;
/// …of this many impressions (below the per-device daily cap).
const IMPRESSIONS_PER_BATCH: usize = 20;
/// The seconds a fan's play reports having heard: past the 30 s a play needs.
const PLAY_HEARD_MS: u64 = 31_000;
/// The address the demo's agents send from (a documentation range).
const AGENT_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
const PLAN_SEED: u64 = 0x6869_7374_6f72_7921;

/// What the history seeding did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HistoryReport {
    pub sales: usize,
    pub plays: usize,
    pub impressions: usize,
    pub periods_closed: usize,
    pub payouts: usize,
}

/// The first instant of the history: the start of the month [`HISTORY_MONTHS`] before `now`'s.
pub fn history_start(now: NaiveDateTime) -> NaiveDateTime {
    let months = i64::from(now.year()) * 12 + i64::from(now.month0()) - i64::from(HISTORY_MONTHS);
    let year = i32::try_from(months.div_euclid(12)).unwrap_or(now.year());
    let month = u32::try_from(months.rem_euclid(12)).unwrap_or(0) + 1;
    royalties::Period::new(year, month).map_or(now, royalties::Period::start)
}

/// Everything the history needs that the catalog seeding made.
pub struct SeededDemo<'a> {
    pub fans: &'a [UserId],
    pub artists: &'a [ArtistId],
    /// Each demo release's published id and track ids, in [`RELEASES`] order.
    pub releases: &'a [(megabox_domain::ReleaseId, Vec<TrackId>)],
    pub campaign: CampaignId,
}

pub fn seed_history(
    settings: &Settings,
    pool: &DbPool,
    demo: &SeededDemo<'_>,
    now: NaiveDateTime,
) -> anyhow::Result<HistoryReport> {
    let mut report = HistoryReport::default();
    let paid_artist = demo.artists[PAID_ARTIST];
    {
        let mut connection = pool.get()?;
        if !royalties::list_payouts(&mut connection, Some(paid_artist))?.is_empty() {
            return Ok(report);
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let payments = crate::startup::payments(settings, pool, &settings.effective_public_url())?;
    anyhow::ensure!(
        payments.is_test_mode(),
        "the demo's history is made of test-mode payments"
    );
    let start = history_start(now);
    let days = u64::try_from((now - start).num_days()).unwrap_or(0);
    let mut plan = SplitMix64(PLAN_SEED);
    let mut connection = pool.get()?;
    report.impressions = send_impressions(settings, &mut connection, demo, start, days, now)?;
    report.plays = play(settings, &mut connection, demo, start, days, &mut plan)?;
    report.sales = runtime.block_on(sell(&payments, demo, start, days, &mut plan))?;
    let royalty_settings = settings.royalty_settings()?;
    let mut period = royalties::Period::containing(start);
    while period.start() < royalties::Period::containing(now).start() {
        crate::routes::money::close_period(
            &mut connection,
            period,
            settings.ad_allocation_model,
            &royalty_settings,
        )
        .map_err(|error| anyhow::anyhow!("closing {period}: {error}"))?;
        report.periods_closed += 1;
        period = period.next();
    }
    runtime.block_on(payments.start_payout_onboarding(paid_artist))?;
    let run = royalties::run_payouts(
        &mut connection,
        payments.payout_gateway(),
        Cents(settings.payout_threshold_cents),
    )?;
    report.payouts = run.posted;
    Ok(report)
}

/// The instant `seconds` into day `day` of the history.
fn at(start: NaiveDateTime, day: u64, seconds: u64) -> NaiveDateTime {
    start
        + TimeDelta::days(i64::try_from(day).unwrap_or(0))
        + TimeDelta::seconds(i64::try_from(seconds).unwrap_or(0))
}

/// The releases out by `instant` (their release date is before it).
fn released_by(instant: NaiveDateTime, now: NaiveDateTime) -> Vec<usize> {
    (0..RELEASES.len())
        .filter(|index| {
            now - TimeDelta::days(i64::from(RELEASES[*index].released_days_ago)) <= instant
        })
        .collect()
}

/// Checkouts by the fans, each paid at its own past time through the test-mode gateway.
async fn sell(
    payments: &Payments,
    demo: &SeededDemo<'_>,
    start: NaiveDateTime,
    days: u64,
    plan: &mut SplitMix64,
) -> anyhow::Result<usize> {
    let now = at(start, days, 0);
    let mut sold = 0;
    for day in 0..days {
        for _ in 0..plan.below(SALES_PER_DAY_MAX + 1) {
            let paid_at = at(start, day, u64::try_from(plan.below(86_400)).unwrap_or(0));
            let available = released_by(paid_at, now);
            if available.is_empty() {
                continue;
            }
            let fan = demo.fans[plan.below(demo.fans.len())];
            let index = available[plan.below(available.len())];
            let (release, tracks) = &demo.releases[index];
            let demo_release = &RELEASES[index];
            // Mostly whole releases; now and then one track of a longer one.
            let (item, price) = if tracks.len() > 1 && plan.below(4) == 0 {
                let track = tracks[plan.below(tracks.len())];
                (Item::Track(track), demo_release.track_price)
            } else {
                (Item::Release(*release), demo_release.price)
            };
            let offer = match price {
                DemoPrice::Fixed(_) => None,
                DemoPrice::PayWhatYouWant { minimum, suggested } => {
                    let floor = minimum.max(megabox_payments::CHARGE_CENTS_MIN);
                    let spread = u64::try_from(suggested.max(floor) - floor + 300).unwrap_or(300);
                    Some(Cents(
                        floor + i64::try_from(plan.next_u64() % spread).unwrap_or(0),
                    ))
                }
            };
            let cart = [CartItem { item, offer }];
            let started = match payments.checkout(fan, &cart).await {
                Ok(started) => started,
                // The plan drew something this fan bought already (or a resumed run): skip it.
                Err(PaymentsError::AlreadyOwned(_)) => continue,
                Err(error) => return Err(error).context("a demo checkout"),
            };
            let session_id = started
                .checkout_url
                .rsplit('/')
                .next()
                .context("a test checkout URL ends with its session")?
                .to_owned();
            payments
                .complete_test_checkout_at(&session_id, TestCheckoutAction::Pay, paid_at)
                .await
                .context("paying a demo checkout")?;
            sold += 1;
        }
    }
    Ok(sold)
}

/// Fans' qualifying plays: each a play session started at a past time, its whole file delivered,
/// and reported 31 s later.
fn play(
    settings: &Settings,
    connection: &mut DbConnection,
    demo: &SeededDemo<'_>,
    start: NaiveDateTime,
    days: u64,
    plan: &mut SplitMix64,
) -> anyhow::Result<usize> {
    let fan_ids: Vec<String> = demo.fans.iter().map(ToString::to_string).collect();
    let played_before: i64 = play_sessions::table
        .filter(play_sessions::listener_id.eq_any(&fan_ids))
        .count()
        .get_result(connection)?;
    if played_before > 0 {
        return Ok(0);
    }
    let rules = PlayRules {
        qualifying_ms: settings.play_qualifying_seconds * 1000,
        plays_per_listener_track_day_max: settings.plays_per_listener_track_day_max,
    };
    let now = at(start, days, 0);
    let mut played = 0;
    for day in 0..days {
        for _ in 0..plan.below(PLAYS_PER_DAY_MAX + 1) {
            let started_at = at(start, day, u64::try_from(plan.below(86_000)).unwrap_or(0));
            let available = released_by(started_at, now);
            if available.is_empty() {
                continue;
            }
            let fan = demo.fans[plan.below(demo.fans.len())];
            let (_, tracks) = &demo.releases[available[plan.below(available.len())]];
            let track = tracks[plan.below(tracks.len())];
            let media = catalog::tracks::track_media(connection, track, None)?;
            let session = plays::start(
                connection,
                fan,
                &media,
                false,
                settings.open_plays_per_listener_max,
                started_at,
            )
            .map_err(|error| anyhow::anyhow!("starting a demo play: {error}"))?;
            // The player fetched the whole file through the play's link as it started.
            plays::record_delivery(connection, &session.id, 0, media.size_bytes, started_at)?;
            let reported_at = started_at + TimeDelta::milliseconds(31_500);
            let progress = write_transaction(connection, |connection| {
                plays::report(
                    connection,
                    fan,
                    &session.id,
                    PLAY_HEARD_MS,
                    reported_at,
                    rules,
                )
            })
            .map_err(|error| anyhow::anyhow!("reporting a demo play: {error}"))?;
            played += usize::from(progress.qualified);
        }
    }
    Ok(played)
}

/// Each fan pairs an agent (a key derived from the fan's place, so a rerun finds it) and sends
/// signed batches of impressions of the campaign's creatives every few days.
fn send_impressions(
    settings: &Settings,
    connection: &mut DbConnection,
    demo: &SeededDemo<'_>,
    start: NaiveDateTime,
    days: u64,
    now: NaiveDateTime,
) -> anyhow::Result<usize> {
    let ads_settings = settings.ads_settings();
    let creatives: Vec<(CreativeId, SlotSize)> =
        megabox_ads::list_creatives(connection, demo.campaign)?
            .into_iter()
            .map(|creative| (creative.id, creative.size))
            .collect();
    anyhow::ensure!(!creatives.is_empty(), "the demo campaign has no creatives");
    let mut accepted = 0;
    for (fan_index, fan) in demo.fans.iter().enumerate() {
        if !megabox_ads::list_devices(connection, *fan)?.is_empty() {
            continue;
        }
        let mut random = SplitMix64(PLAN_SEED ^ u64::try_from(fan_index).unwrap_or(0));
        let key_bytes: [u8; 32] =
            std::array::from_fn(|_| u8::try_from(random.next_u64() & 0xff).unwrap_or(0));
        let signing_key = ed25519_dalek::SigningKey::from_bytes(&key_bytes);
        let paired_at = start;
        let code = megabox_ads::create_pairing_code(connection, *fan, paired_at, &ads_settings)?;
        let device = megabox_ads::pair_device(
            connection,
            &PairingCode::parse(&code.code)?,
            &PublicKey::of(&signing_key),
            paired_at,
        )?;
        // Each fan's agent reports on its own days; sequences start at 1.
        let report_days = (u64::try_from(fan_index).unwrap_or(0) % IMPRESSION_BATCH_EVERY_DAYS
            ..days)
            .step_by(usize::try_from(IMPRESSION_BATCH_EVERY_DAYS).unwrap_or(1));
        for (sequence, day) in (1..).zip(report_days) {
            let received_at = at(start, day, 20 * 3600);
            if received_at >= now {
                break;
            }
            let events = (0..IMPRESSIONS_PER_BATCH)
                .map(|index| {
                    let (creative_id, size) = &creatives[index % creatives.len()];
                    let seen_at = at(
                        start,
                        day,
                        8 * 3600 + 600 * u64::try_from(index).unwrap_or(0),
                    );
                    let seconds = u64::try_from(seen_at.and_utc().timestamp()).unwrap_or(0);
                    ImpressionEvent {
                        event_id: EventId(uuid::Uuid::from_u64_pair(
                            random.next_u64(),
                            random.next_u64(),
                        )),
                        creative_id: creative_id.clone(),
                        size: *size,
                        time_bucket: TimeBucket::containing(seconds),
                        nonce: Nonce(std::array::from_fn(|_| {
                            u8::try_from(random.next_u64() & 0xff).unwrap_or(0)
                        })),
                    }
                })
                .collect();
            let batch = UnsignedBatch {
                device_id: device.id,
                sequence,
                events,
            }
            .sign(&signing_key)?;
            let receipt = megabox_ads::intake_batch(
                connection,
                &batch,
                AGENT_ADDRESS,
                received_at,
                &ads_settings,
                None,
            )?;
            accepted += receipt.accepted.len();
        }
    }
    Ok(accepted)
}
