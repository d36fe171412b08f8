//! Crash safety of payouts (DESIGN.md §4, §8): the real `megabox payouts run`, paying through
//! the fake Stripe, is killed with SIGKILL at random points more than a hundred times (while it
//! starts, while it commits a payout, while a transfer is on its way to the gateway, and after
//! the gateway made the transfer but before the run posted it), then run to completion. Every
//! payout has exactly one transfer at the gateway, every payout is posted, the ledger verifies,
//! and what the ledger says each artist was paid is what the gateway transferred to them.
//!
//! Whenever a run finishes by itself (everything due was paid), the artists earn again, so the
//! kills keep landing in runs that have work to do.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use fake_stripe::{Delivery, FakeStripe, FakeStripeConfig};
use megabox_database::testing::TestDatabase;
use megabox_database::{Backend, DbConnection};
use megabox_domain::{ArtistId, Cents};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use royalties::{PayoutAccountStatus, PayoutStatus, RoyaltySettings, SaleInput, SaleItem};

use crate::on_every_backend;

on_every_backend!(payout_runs_killed_at_random_points_pay_every_payout_exactly_once);

/// Kills per backend.
const KILLS: usize = 120;
/// Artists with a ready payout account who earn enough to be paid in every round.
const PAID_ARTISTS: usize = 24;
/// The payout threshold (the default setting), in cents.
const THRESHOLD_CENTS: i64 = 1000;
/// One sale's gross and processor fee, in cents: 90% of the net is above the threshold.
const SALE_GROSS_CENTS: std::ops::Range<i64> = 1500..4000;
const SALE_FEE_CENTS: i64 = 50;
/// How long the fake takes per transfer: a kill often lands while one is in flight, half of
/// those after the money moved and before the run heard of it.
const TRANSFER_LATENCY: Duration = Duration::from_millis(16);
/// Kills come uniformly within a window after the process starts. A run starts in about
/// 10–30 ms and pays one artist in about 20–40 ms on an idle machine, much slower on a busy one,
/// so the window adapts: it widens after a kill that found the run before any progress and
/// narrows after one that did not, so that most kills interrupt some payout.
const KILL_WINDOW_START: Duration = Duration::from_millis(120);
const KILL_WINDOW_MIN: Duration = Duration::from_millis(40);
const KILL_WINDOW_MAX: Duration = Duration::from_secs(3);
/// A run to completion takes well under this.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

fn artist(index: usize) -> ArtistId {
    format!("00000000-0000-7000-8000-{index:012x}")
        .parse()
        .unwrap()
}

fn sale_time() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 10)
        .and_then(|date| date.and_hms_opt(12, 0, 0))
        .unwrap()
}

/// What the test made: who is paid where, and who must never be paid.
struct Cast {
    /// Artist → the fake's connected account, for those with a ready payout account.
    destinations: BTreeMap<ArtistId, String>,
    /// Artists with earnings who must not be paid: below the threshold, or onboarding unfinished.
    unpaid: Vec<ArtistId>,
}

async fn ready_account(fake: &FakeStripe, client: &reqwest::Client) -> String {
    let created: serde_json::Value = client
        .post(format!("{}v1/accounts", fake.base_url()))
        .bearer_auth(fake.secret_key())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("type=express&capabilities%5Btransfers%5D%5Brequested%5D=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    fake.mark_account_ready(
        &id,
        Delivery {
            hold: true,
            ..Delivery::default()
        },
    )
    .await
    .unwrap();
    id
}

fn connect(url: &str) -> DbConnection {
    DbConnection::establish(url).unwrap()
}

/// Records one sale per artist of `artists` and returns the total gross (what the gateway holds).
fn earn(url: &str, round: usize, artists: &[ArtistId], rng: &mut StdRng) -> i64 {
    let mut connection = connect(url);
    let mut gross_total = 0;
    for artist in artists {
        let gross = rng.random_range(SALE_GROSS_CENTS);
        gross_total += gross;
        let sale = SaleInput {
            sale_id: format!("sale-{round}-{artist}"),
            cart_id: format!("cart-{round}-{artist}"),
            items: vec![SaleItem {
                item_ref: "release".to_owned(),
                artist: *artist,
                gross: Cents(gross),
            }],
            processor_fee: Cents(SALE_FEE_CENTS),
            occurred_at: sale_time(),
        };
        royalties::record_sale(&mut connection, &sale, &RoyaltySettings::default()).unwrap();
    }
    gross_total
}

async fn cast(fake: &FakeStripe, url: &str, rng: &mut StdRng) -> Cast {
    let client = reqwest::Client::new();
    let mut destinations = BTreeMap::new();
    for index in 0..PAID_ARTISTS {
        destinations.insert(artist(index), ready_account(fake, &client).await);
    }
    let below_threshold = artist(PAID_ARTISTS);
    let onboarding = artist(PAID_ARTISTS + 1);
    let below_destination = ready_account(fake, &client).await;
    let url = url.to_owned();
    let paid: Vec<(ArtistId, String)> = destinations
        .iter()
        .map(|(artist, destination)| (*artist, destination.clone()))
        .collect();
    let mut seed_rng = StdRng::seed_from_u64(rng.random());
    let gross = tokio::task::spawn_blocking(move || {
        let mut connection = connect(&url);
        for (artist, destination) in &paid {
            royalties::set_payout_account(
                &mut connection,
                *artist,
                destination,
                PayoutAccountStatus::Ready,
            )
            .unwrap();
        }
        royalties::set_payout_account(
            &mut connection,
            below_threshold,
            &below_destination,
            PayoutAccountStatus::Ready,
        )
        .unwrap();
        royalties::set_payout_account(
            &mut connection,
            onboarding,
            "acct_unfinished",
            PayoutAccountStatus::Pending,
        )
        .unwrap();
        let small = SaleInput {
            sale_id: "sale-small".to_owned(),
            cart_id: "cart-small".to_owned(),
            items: vec![SaleItem {
                item_ref: "track".to_owned(),
                artist: below_threshold,
                gross: Cents(THRESHOLD_CENTS),
            }],
            processor_fee: Cents(SALE_FEE_CENTS),
            occurred_at: sale_time(),
        };
        royalties::record_sale(&mut connection, &small, &RoyaltySettings::default()).unwrap();
        let artists: Vec<ArtistId> = paid
            .iter()
            .map(|(artist, _)| *artist)
            .chain([onboarding])
            .collect();
        THRESHOLD_CENTS + earn(&url, 0, &artists, &mut seed_rng)
    })
    .await
    .unwrap();
    fake.add_available_balance(gross).unwrap();
    Cast {
        destinations,
        unpaid: vec![below_threshold, onboarding],
    }
}

fn payout_run(fake: &FakeStripe, url: &str, data_dir: &std::path::Path) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_megabox"))
        .args(["payouts", "run"])
        .env("DATABASE_URL", url)
        .env("MEGABOX_DATA_DIR", data_dir)
        .env("MEGABOX_STRIPE_SECRET_KEY", fake.secret_key())
        .env("MEGABOX_STRIPE_WEBHOOK_SECRET", "whsec_payout_crash")
        .env("MEGABOX_STRIPE_API_BASE", fake.base_url())
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn posted_payouts(url: &str) -> usize {
    let row: CountRow = diesel::sql_query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS count FROM royalty_payouts WHERE status = 'posted'",
    )
    .get_result(&mut connect(url))
    .unwrap();
    usize::try_from(row.count).unwrap()
}

#[derive(QueryableByName)]
struct PaidRow {
    #[diesel(sql_type = Text)]
    artist_id: String,
    #[diesel(sql_type = BigInt)]
    paid_micro_cents: i64,
}

/// What the ledger says each artist was paid: taken from their payable into payouts, less
/// the payouts voided back.
fn ledger_paid_out(connection: &mut DbConnection) -> BTreeMap<ArtistId, i64> {
    let rows: Vec<PaidRow> = diesel::sql_query(
        "SELECT accounts.artist_id AS artist_id, CAST(-SUM(lines.amount_micro_cents) AS BIGINT) AS paid_micro_cents \
         FROM ledger_lines AS lines \
         JOIN ledger_transactions AS transactions ON transactions.id = lines.transaction_id \
         JOIN ledger_accounts AS accounts ON accounts.code = lines.account_code \
         WHERE transactions.kind IN ('payout', 'payout_voided') AND accounts.kind = 'artist_payable' \
         GROUP BY accounts.artist_id",
    )
    .load(connection)
    .unwrap();
    rows.into_iter()
        .map(|row| {
            (
                row.artist_id.parse().unwrap(),
                row.paid_micro_cents / 1_000_000,
            )
        })
        .collect()
}

#[derive(QueryableByName)]
struct BalanceRow {
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = BigInt)]
    balance_micro_cents: i64,
}

fn balances(connection: &mut DbConnection) -> BTreeMap<String, i64> {
    let rows: Vec<BalanceRow> =
        diesel::sql_query("SELECT code, balance_micro_cents FROM ledger_accounts")
            .load(connection)
            .unwrap();
    rows.into_iter()
        .map(|row| (row.code, row.balance_micro_cents))
        .collect()
}

async fn payout_runs_killed_at_random_points_pay_every_payout_exactly_once(backend: Backend) {
    let seed: u64 = std::env::var("MEGABOX_TEST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("{backend:?}: MEGABOX_TEST_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let fake = FakeStripe::start(FakeStripeConfig {
        transfer_latency: TRANSFER_LATENCY,
        ..FakeStripeConfig::default()
    })
    .await
    .unwrap();
    let database = TestDatabase::new(backend).unwrap();
    let url = database.url.clone();
    let data_dir = tempfile::tempdir().unwrap();
    let cast = cast(&fake, &url, &mut rng).await;
    let started = Instant::now();

    let mut kills = 0;
    // Kills of a run that made a transfer at the gateway and died before posting it.
    let mut kills_after_the_transfer = 0;
    let mut rounds = 1;
    let mut window = KILL_WINDOW_START;
    let mut posted = 0;
    while kills < KILLS {
        let transfers_before = fake.transfers().len();
        let posted_before = posted;
        let mut run = payout_run(&fake, &url, data_dir.path());
        let delay = window.mul_f64(rng.random_range(0.0..1.0));
        tokio::select! {
            status = run.wait() => {
                assert!(status.unwrap().success(), "{backend:?}: a payout run failed");
                // Everything due is paid: the artists earn again, so the next kills have work to interrupt.
                let (url, artists, round_seed) = (url.clone(), cast.destinations.keys().copied().collect::<Vec<_>>(), rng.random());
                let gross = tokio::task::spawn_blocking(move || earn(&url, rounds, &artists, &mut StdRng::seed_from_u64(round_seed))).await.unwrap();
                fake.add_available_balance(gross).unwrap();
                rounds += 1;
            }
            () = tokio::time::sleep(delay) => {
                run.start_kill().unwrap();
                run.wait().await.unwrap();
                kills += 1;
                posted = { let url = url.clone(); tokio::task::spawn_blocking(move || posted_payouts(&url)).await.unwrap() };
                let transfers = fake.transfers().len();
                if transfers > transfers_before && transfers > posted {
                    kills_after_the_transfer += 1;
                }
                window = if transfers == transfers_before && posted == posted_before {
                    window.mul_f64(1.25).min(KILL_WINDOW_MAX)
                } else {
                    window.mul_f64(0.95).max(KILL_WINDOW_MIN)
                };
            }
        }
    }
    let killing = started.elapsed();
    let mut run = payout_run(&fake, &url, data_dir.path());
    let status = tokio::time::timeout(RUN_TIMEOUT, run.wait())
        .await
        .expect("the final run finishes")
        .unwrap();
    assert!(status.success(), "{backend:?}: the final payout run failed");
    eprintln!(
        "{backend:?}: {kills} kills ({kills_after_the_transfer} after a transfer, before its posting) over {rounds} rounds in {:.1} s, last kill window {} ms; {} transfers",
        killing.as_secs_f64(),
        window.as_millis(),
        fake.transfers().len()
    );
    assert!(
        kills_after_the_transfer > 0,
        "{backend:?}: some kills must land between the transfer and its posting"
    );
    assert!(
        rounds > 1,
        "{backend:?}: the runs must get through at least one round of payouts"
    );

    let transfers = fake.transfers();
    let destinations = cast.destinations.clone();
    let unpaid = cast.unpaid.clone();
    tokio::task::spawn_blocking(move || {
        let mut connection = connect(&url);
        let payouts = royalties::list_payouts(&mut connection, None).unwrap();
        assert!(
            payouts
                .iter()
                .all(|payout| payout.status == PayoutStatus::Posted),
            "{backend:?}: every payout is posted: {payouts:?}"
        );
        assert_eq!(
            transfers.len(),
            payouts.len(),
            "{backend:?}: one transfer per payout, none without a payout"
        );
        let mut keys = BTreeSet::new();
        for payout in &payouts {
            let made: Vec<_> = transfers
                .iter()
                .filter(|transfer| transfer.idempotency_key.as_deref() == Some(payout.id.as_str()))
                .collect();
            assert_eq!(
                made.len(),
                1,
                "{backend:?}: payout {} has exactly one transfer",
                payout.id
            );
            assert!(keys.insert(payout.id.clone()));
            assert_eq!(
                payout.transfer_id.as_deref(),
                Some(made[0].id.as_str()),
                "{backend:?}: the payout records its transfer"
            );
            assert_eq!(
                (made[0].destination.as_str(), made[0].amount_cents),
                (payout.destination.as_str(), payout.amount.0)
            );
            assert_eq!(
                destinations.get(&payout.artist),
                Some(&payout.destination),
                "{backend:?}: paid where the artist's account is"
            );
        }
        let mut transferred: BTreeMap<ArtistId, i64> = BTreeMap::new();
        for (artist, destination) in &destinations {
            let to_artist: Vec<_> = transfers
                .iter()
                .filter(|transfer| &transfer.destination == destination)
                .collect();
            let payouts_of_artist = payouts
                .iter()
                .filter(|payout| payout.artist == *artist)
                .count();
            assert_eq!(
                to_artist.len(),
                payouts_of_artist,
                "{backend:?}: {artist}: one transfer per payout to its destination"
            );
            assert!(payouts_of_artist > 0, "{backend:?}: {artist} was paid");
            transferred.insert(
                *artist,
                to_artist.iter().map(|transfer| transfer.amount_cents).sum(),
            );
        }
        assert_eq!(
            ledger_paid_out(&mut connection),
            transferred,
            "{backend:?}: the ledger's paid-out per artist is what the gateway transferred"
        );
        let balances = balances(&mut connection);
        assert_eq!(
            balances.get("payouts:in-transit").copied().unwrap_or(0),
            0,
            "{backend:?}: nothing left in transit"
        );
        for artist in destinations.keys() {
            assert_eq!(
                balances.get(&format!("artist:{artist}:payable")).copied(),
                Some(0),
                "{backend:?}: {artist} was paid everything"
            );
        }
        for artist in &unpaid {
            assert!(
                payouts.iter().all(|payout| payout.artist != *artist),
                "{backend:?}: {artist} is not eligible"
            );
            assert!(
                balances
                    .get(&format!("artist:{artist}:payable"))
                    .copied()
                    .unwrap_or(0)
                    > 0,
                "{backend:?}: {artist} keeps the earnings"
            );
        }
        if let Err(error) = royalties::verify(&mut connection) {
            panic!("{backend:?}: the ledger verifies after the kills: {error}");
        }
    })
    .await
    .unwrap();
}
