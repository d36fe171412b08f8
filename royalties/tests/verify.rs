//! `verify` catches tampering: each case corrupts one stored fact behind the engine's back and
//! expects the precise violation.

mod common;

use common::{artist, day, listener, on_each_backend};
use diesel::RunQueryDsl;
use megabox_domain::{Cents, MicroCents, TrackId};
use royalties::{
    AdRevenueInput, AllocationModel, PlayInput, RoyaltySettings, SaleInput, SaleItem, VerifyError,
    Violation, close_period, record_ad_revenue, record_qualifying_play, record_sale, verify,
};

/// (what is corrupted, the SQL that corrupts it, a check of the violation reported)
type Case = (&'static str, &'static str, fn(&Violation) -> bool);

const CASES: &[Case] = &[
    (
        "a line changed",
        "UPDATE ledger_lines SET amount_micro_cents = amount_micro_cents + 1 \
         WHERE account_code = 'platform:revenue' AND source_ref = 'item-a'",
        |violation| {
            matches!(
                violation,
                Violation::UnbalancedTransaction {
                    sum_micro_cents: 1,
                    ..
                }
            )
        },
    ),
    (
        "a cached balance changed",
        "UPDATE ledger_accounts SET balance_micro_cents = balance_micro_cents + 5 WHERE code = 'platform:revenue'",
        |violation| matches!(violation, Violation::BalanceMismatch { account, .. } if account == "platform:revenue"),
    ),
    (
        "money moved from an artist into the platform",
        "UPDATE ledger_lines SET account_code = 'platform:revenue' WHERE account_code LIKE 'artist:%:payable' \
         AND source_ref = 'item-a'",
        |violation| matches!(violation, Violation::BalanceMismatch { .. }),
    ),
    (
        "an artist's sales share inflated",
        "UPDATE royalty_artist_sales SET credited_cents = credited_cents + 2",
        |violation| matches!(violation, Violation::ArtistShare { what, .. } if what.starts_with("sales share")),
    ),
    (
        "an ad share inflated",
        "UPDATE royalty_ad_allocations SET amount_cents = amount_cents + 1",
        |violation| matches!(violation, Violation::ArtistShare { what, .. } if what.starts_with("ad share")),
    ),
    (
        "a payout that was never earned",
        "INSERT INTO royalty_payouts (id, artist_id, destination, amount_cents, status, attempts, created_at, updated_at) \
         VALUES ('ghost', '00000000-0000-7000-8000-000000000001', 'acct', 999999, 'posted', 1, '2026-11-30 00:00:00', '2026-11-30 00:00:00')",
        |violation| {
            matches!(
                violation,
                Violation::SourceMismatch { .. } | Violation::OverPaid { .. }
            )
        },
    ),
    (
        "pending ad revenue that is not in the ledger",
        "INSERT INTO royalty_ad_revenue (source_id, kind, installer_id, campaign_id, amount_micro_cents, period, occurred_at) \
         VALUES ('forged', 'accrual', NULL, NULL, 5, '2026-12', '2026-12-01 00:00:00')",
        |violation| matches!(violation, Violation::SourceMismatch { account, .. } if account == "ads:pending"),
    ),
    (
        "a play counted twice in the close's running totals",
        "UPDATE royalty_play_counts SET plays = plays + 1 WHERE artist_id = '00000000-0000-7000-8000-000000000002'",
        |violation| {
            matches!(
                violation,
                Violation::CounterMismatch {
                    counter: "royalty_play_counts",
                    counted: 3,
                    summed: 2,
                    ..
                }
            )
        },
    ),
    (
        "a play missing from the close's running totals",
        "DELETE FROM royalty_artist_plays WHERE artist_id = '00000000-0000-7000-8000-000000000001'",
        |violation| {
            matches!(
                violation,
                Violation::CounterMismatch {
                    counter: "royalty_artist_plays",
                    counted: 0,
                    summed: 1,
                    ..
                }
            )
        },
    ),
    (
        "an installer's revenue inflated in the close's running totals",
        "UPDATE royalty_installer_revenue SET revenue_micro_cents = revenue_micro_cents + 1",
        |violation| {
            matches!(
                violation,
                Violation::CounterMismatch {
                    counter: "royalty_installer_revenue",
                    ..
                }
            )
        },
    ),
];

#[test]
fn verify_reports_each_kind_of_tampering() {
    for (name, sql, expected) in CASES {
        on_each_backend(|backend, connection| {
            let settings = RoyaltySettings::default();
            let sale = SaleInput {
                sale_id: "s1".to_owned(),
                cart_id: "c1".to_owned(),
                items: vec![
                    SaleItem {
                        item_ref: "item-a".to_owned(),
                        artist: artist(1),
                        gross: Cents(999),
                    },
                    SaleItem {
                        item_ref: "item-b".to_owned(),
                        artist: artist(2),
                        gross: Cents(501),
                    },
                ],
                processor_fee: Cents(74),
                occurred_at: day(11, 1),
            };
            record_sale(connection, &sale, &settings).unwrap_or_else(|error| panic!("{error}"));
            let revenue = AdRevenueInput {
                event_id: "e1".to_owned(),
                installer: listener(1),
                campaign_id: "c".to_owned(),
                amount: MicroCents(777_777_777),
                occurred_at: day(11, 2),
            };
            record_ad_revenue(connection, &revenue).unwrap_or_else(|error| panic!("{error}"));
            for (play, artist_index) in [(1, 1), (2, 2), (3, 2)] {
                let input = PlayInput {
                    play_id: format!("p{play}"),
                    listener: listener(1),
                    track: TrackId::generate(),
                    artist: artist(artist_index),
                    occurred_at: day(11, 3),
                };
                record_qualifying_play(connection, &input)
                    .unwrap_or_else(|error| panic!("{error}"));
            }
            let november = "2026-11".parse().unwrap_or_else(|error| panic!("{error}"));
            close_period(
                connection,
                november,
                AllocationModel::UserCentric,
                &settings,
            )
            .unwrap_or_else(|error| panic!("{error}"));
            verify(connection)
                .unwrap_or_else(|error| panic!("{backend:?} {name}: clean ledger: {error}"));

            diesel::sql_query(*sql)
                .execute(connection)
                .unwrap_or_else(|error| panic!("{backend:?} {name}: {error}"));
            match verify(connection) {
                Err(VerifyError::Violation(violation)) => {
                    assert!(expected(&violation), "{backend:?} {name}: {violation}")
                }
                other => panic!("{backend:?} {name}: expected a violation, got {other:?}"),
            }
        });
    }
}
