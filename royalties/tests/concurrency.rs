//! Two copies of one `record_*` call racing on two connections have one effect: the idempotency
//! key's unique constraint (or the source row's primary key) decides which one records, and the
//! other returns `duplicate` without touching anything. Two different refunds of one item
//! racing refund it once.
//!
//! On PostgreSQL a third connection holds the period's row lock while both calls start, so both
//! are inside their transactions, past any read-then-write check, when they are let go: without
//! the constraint deciding, both would record. On SQLite writers are serialised by
//! `BEGIN IMMEDIATE`; the race still runs there, to prove the same outcome.

mod common;

use std::sync::Barrier;
use std::time::{Duration, Instant};

use common::{artist, day, listener};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use megabox_database::testing::{TestDatabase, backends};
use megabox_database::{Backend, DbConnection};
use megabox_domain::{Cents, MicroCents, TrackId};
use royalties::{
    AdRevenueInput, PlayInput, Recorded, RedemptionInput, RefundInput, RefundScope, RoyaltyError,
    RoyaltySettings, SaleInput, SaleItem, clawback_ad_revenue, record_ad_revenue,
    record_credit_redemption, record_qualifying_play, record_refund, record_sale,
};

/// How long the racers may take to reach the held lock.
const RACERS_BLOCKED_WITHIN: Duration = Duration::from_secs(10);
/// How long an SQLite racer waits for the other's write lock.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;
/// The period every event of these tests is booked into.
const PERIOD: &str = "2026-11";

type Call = fn(&mut DbConnection) -> Result<Recorded, RoyaltyError>;

fn sale(sale_id: &str, items: &[(&str, u32, i64)], fee_cents: i64) -> SaleInput {
    SaleInput {
        sale_id: sale_id.to_owned(),
        cart_id: format!("cart-{sale_id}"),
        items: items
            .iter()
            .map(|(item_ref, index, gross)| SaleItem {
                item_ref: (*item_ref).to_owned(),
                artist: artist(*index),
                gross: Cents(*gross),
            })
            .collect(),
        processor_fee: Cents(fee_cents),
        occurred_at: day(11, 5),
    }
}

fn refund(refund_id: &str, scope: RefundScope) -> RefundInput {
    RefundInput {
        refund_id: refund_id.to_owned(),
        sale_id: "s1".to_owned(),
        scope,
        occurred_at: day(11, 7),
    }
}

fn ad(event_id: &str) -> AdRevenueInput {
    AdRevenueInput {
        event_id: event_id.to_owned(),
        installer: listener(1),
        campaign_id: "campaign".to_owned(),
        amount: MicroCents(7_000_001),
        occurred_at: day(11, 9),
    }
}

/// A sale of two items by two artists, and one listener's ad revenue, in November.
fn set_up(connection: &mut DbConnection) {
    record_sale(
        connection,
        &sale("s1", &[("a", 1, 1000), ("b", 2, 500)], 45),
        &RoyaltySettings::default(),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    record_ad_revenue(connection, &ad("e1")).unwrap_or_else(|error| panic!("{error}"));
}

/// The calls raced against a copy of themselves.
fn calls() -> Vec<(&'static str, Call)> {
    vec![
        ("sale", |connection| {
            record_sale(
                connection,
                &sale("s2", &[("c", 1, 300)], 12),
                &RoyaltySettings::default(),
            )
        }),
        ("whole refund", |connection| {
            record_refund(connection, &refund("r1", RefundScope::WholeSale))
        }),
        ("item refund", |connection| {
            record_refund(
                connection,
                &refund(
                    "r1",
                    RefundScope::Items(vec!["b".to_owned(), "a".to_owned()]),
                ),
            )
        }),
        ("ad revenue", |connection| {
            record_ad_revenue(connection, &ad("e2"))
        }),
        ("clawback", |connection| {
            clawback_ad_revenue(connection, "e1", day(11, 10))
        }),
        ("play", |connection| {
            let play = PlayInput {
                play_id: "p1".to_owned(),
                listener: listener(1),
                track: TrackId::generate(),
                artist: artist(2),
                occurred_at: day(11, 11),
            };
            record_qualifying_play(connection, &play)
        }),
        ("redemption", |connection| {
            let redemption = RedemptionInput {
                redemption_id: "d1".to_owned(),
                listener: listener(1),
                artist: artist(1),
                occurred_at: day(11, 12),
            };
            record_credit_redemption(connection, &redemption, &RoyaltySettings::default())
        }),
    ]
}

fn connect(url: &str, backend: Backend) -> DbConnection {
    let mut connection = DbConnection::establish(url).unwrap_or_else(|error| panic!("{error}"));
    if backend == Backend::Sqlite {
        connection
            .batch_execute(&format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};"))
            .unwrap_or_else(|error| panic!("{error}"));
    }
    connection
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Runs `first` and `second` at the same time on two connections to `url`.
fn race<T: Send>(
    url: &str,
    backend: Backend,
    first: impl FnOnce(&mut DbConnection) -> T + Send,
    second: impl FnOnce(&mut DbConnection) -> T + Send,
) -> (T, T) {
    let mut held = (backend == Backend::Postgres).then(|| {
        let mut blocker = connect(url, backend);
        blocker
            .batch_execute(&format!(
                "BEGIN; SELECT status FROM royalty_periods WHERE period = '{PERIOD}' FOR UPDATE;"
            ))
            .unwrap_or_else(|error| panic!("{error}"));
        blocker
    });
    let start = Barrier::new(2);
    std::thread::scope(|scope| {
        let racers = [
            scope.spawn(|| {
                let mut connection = connect(url, backend);
                start.wait();
                first(&mut connection)
            }),
            scope.spawn(|| {
                let mut connection = connect(url, backend);
                start.wait();
                second(&mut connection)
            }),
        ];
        if let Some(blocker) = held.as_mut() {
            let mut monitor = connect(url, backend);
            let deadline = Instant::now() + RACERS_BLOCKED_WITHIN;
            loop {
                let waiting: CountRow = diesel::sql_query(
                    "SELECT CAST(COUNT(*) AS BIGINT) AS count FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
                .get_result(&mut monitor)
                .unwrap_or_else(|error| panic!("{error}"));
                if waiting.count >= 2 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "both racers must reach the period lock inside their transactions"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            blocker
                .batch_execute("COMMIT;")
                .unwrap_or_else(|error| panic!("{error}"));
        }
        let [first, second] =
            racers.map(|racer| racer.join().unwrap_or_else(|_| panic!("a racer panicked")));
        (first, second)
    })
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    row: String,
}

/// Everything a recorded event can change, without ids and instants.
fn snapshot(connection: &mut DbConnection) -> Vec<String> {
    let queries = [
        "SELECT code || '=' || CAST(balance_micro_cents AS TEXT) AS row FROM ledger_accounts ORDER BY code",
        "SELECT kind || ':' || source_id || ':' || period || ':' || CAST(COUNT(*) AS TEXT) AS row FROM ledger_transactions \
         GROUP BY kind, source_id, period ORDER BY kind, source_id",
        "SELECT CAST(COUNT(*) AS TEXT) || ' lines' AS row FROM ledger_lines",
        "SELECT sale_id || '/' || item_ref || ':' || COALESCE(refund_id, '-') || ':' || COALESCE(CAST(refund_artist_cents AS TEXT), '-') AS row \
         FROM royalty_sale_items ORDER BY sale_id, item_ref",
        "SELECT artist_id || ':' || period || ':' || CAST(share_numerator AS TEXT) || ':' || CAST(credited_cents AS TEXT) AS row \
         FROM royalty_artist_sales ORDER BY artist_id, period",
        "SELECT source_id || ':' || kind || ':' || CAST(amount_micro_cents AS TEXT) || ':' || period AS row FROM royalty_ad_revenue ORDER BY source_id",
        "SELECT kind || ':' || source_id || ':' || CAST(weight AS TEXT) || ':' || period AS row FROM royalty_plays ORDER BY kind, source_id",
    ];
    let mut rows = Vec::new();
    for query in queries {
        let loaded: Vec<TextRow> = diesel::sql_query(query)
            .load(connection)
            .unwrap_or_else(|error| panic!("{query}: {error}"));
        rows.extend(loaded.into_iter().map(|row| row.row));
    }
    rows
}

#[test]
fn two_copies_of_one_record_call_racing_have_one_effect() {
    for backend in backends() {
        for (name, call) in calls() {
            let reference = {
                let database = TestDatabase::new(backend).unwrap_or_else(|error| panic!("{error}"));
                let mut connection = connect(&database.url, backend);
                set_up(&mut connection);
                call(&mut connection).unwrap_or_else(|error| panic!("{backend:?} {name}: {error}"));
                snapshot(&mut connection)
            };
            let database = TestDatabase::new(backend).unwrap_or_else(|error| panic!("{error}"));
            let mut connection = connect(&database.url, backend);
            set_up(&mut connection);
            let (first, second) = race(&database.url, backend, call, call);
            let outcomes = [first, second].map(|outcome| {
                outcome.unwrap_or_else(|error| panic!("{backend:?} {name}: {error}"))
            });
            assert_eq!(
                outcomes
                    .iter()
                    .filter(|recorded| !recorded.duplicate)
                    .count(),
                1,
                "{backend:?} {name}: exactly one racer records, the other sees a duplicate: {outcomes:?}"
            );
            assert_eq!(outcomes[0].period, outcomes[1].period, "{backend:?} {name}");
            assert_eq!(
                snapshot(&mut connection),
                reference,
                "{backend:?} {name}: the race had the effect of one call"
            );
            common::assert_verified(&mut connection, name);
        }
    }
}

#[test]
fn two_different_refunds_of_one_item_racing_refund_it_once() {
    for backend in backends() {
        let database = TestDatabase::new(backend).unwrap_or_else(|error| panic!("{error}"));
        let mut connection = connect(&database.url, backend);
        set_up(&mut connection);
        let (first, second) = race(
            &database.url,
            backend,
            |connection| {
                record_refund(
                    connection,
                    &refund("r1", RefundScope::Items(vec!["a".to_owned()])),
                )
            },
            |connection| {
                record_refund(
                    connection,
                    &refund("r2", RefundScope::Items(vec!["a".to_owned()])),
                )
            },
        );
        let refused = [&first, &second]
            .iter()
            .filter(|outcome| matches!(outcome, Err(RoyaltyError::AlreadyRefunded { .. })))
            .count();
        let recorded = [&first, &second]
            .iter()
            .filter(|outcome| {
                matches!(
                    outcome,
                    Ok(Recorded {
                        duplicate: false,
                        ..
                    })
                )
            })
            .count();
        assert_eq!(
            (recorded, refused),
            (1, 1),
            "{backend:?}: one refund wins, the other is refused: {first:?} {second:?}"
        );
        let refunds: CountRow = diesel::sql_query("SELECT CAST(COUNT(*) AS BIGINT) AS count FROM ledger_transactions WHERE kind = 'refund'")
            .get_result(&mut connection)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(refunds.count, 1, "{backend:?}");
        common::assert_verified(&mut connection, "after racing refunds");
    }
}
