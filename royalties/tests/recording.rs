//! Recording sales, refunds, ad revenue, plays and redemptions: every call is idempotent by its
//! source id, hostile input is refused without side effects, and events dated in a closed
//! period land in the next open one.

mod common;

use common::{artist, assert_verified, day, listener, on_each_backend};
use megabox_domain::{Cents, MicroCents, TrackId};
use royalties::{
    AdRevenueInput, AllocationModel, PlayInput, RedemptionInput, RefundInput, RefundScope,
    RoyaltyError, RoyaltySettings, SaleInput, SaleItem, clawback_ad_revenue, close_period,
    earnings, record_ad_revenue, record_credit_redemption, record_qualifying_play, record_refund,
    record_sale,
};

fn sale(sale_id: &str, items: &[(&str, u32, i64)], fee_cents: i64) -> SaleInput {
    SaleInput {
        sale_id: sale_id.to_owned(),
        cart_id: format!("cart-{sale_id}"),
        items: items
            .iter()
            .map(|(item_ref, artist_index, gross)| SaleItem {
                item_ref: (*item_ref).to_owned(),
                artist: artist(*artist_index),
                gross: Cents(*gross),
            })
            .collect(),
        processor_fee: Cents(fee_cents),
        occurred_at: day(11, 5),
    }
}

fn ad(event_id: &str, installer: u32, amount: i64, month: u32) -> AdRevenueInput {
    AdRevenueInput {
        event_id: event_id.to_owned(),
        installer: listener(installer),
        campaign_id: "campaign".to_owned(),
        amount: MicroCents(amount),
        occurred_at: day(month, 15),
    }
}

fn play(play_id: &str, installer: u32, artist_index: u32, month: u32) -> PlayInput {
    PlayInput {
        play_id: play_id.to_owned(),
        listener: listener(installer),
        track: TrackId::generate(),
        artist: artist(artist_index),
        occurred_at: day(month, 15),
    }
}

type RecordCall<'a> = Box<
    dyn Fn(&mut megabox_database::DbConnection) -> Result<royalties::Recorded, RoyaltyError> + 'a,
>;

#[test]
fn every_record_call_is_idempotent_by_its_source_id() {
    on_each_backend(|backend, connection| {
        let settings = RoyaltySettings::default();
        let cart = sale("s1", &[("a", 1, 500), ("b", 2, 700)], 65);
        let redemption = RedemptionInput {
            redemption_id: "r1".to_owned(),
            listener: listener(1),
            artist: artist(2),
            occurred_at: day(11, 6),
        };
        let refund = RefundInput {
            refund_id: "refund-1".to_owned(),
            sale_id: "s1".to_owned(),
            scope: RefundScope::Items(vec!["a".to_owned()]),
            occurred_at: day(11, 7),
        };
        let calls: Vec<(&str, RecordCall)> = vec![
            (
                "sale",
                Box::new(|connection| record_sale(connection, &cart, &settings)),
            ),
            (
                "refund",
                Box::new(|connection| record_refund(connection, &refund)),
            ),
            (
                "ad revenue",
                Box::new(|connection| record_ad_revenue(connection, &ad("e1", 1, 7_000_001, 11))),
            ),
            (
                "clawback",
                Box::new(|connection| clawback_ad_revenue(connection, "e1", day(11, 8))),
            ),
            (
                "play",
                Box::new(|connection| record_qualifying_play(connection, &play("p1", 1, 1, 11))),
            ),
            (
                "redemption",
                Box::new(|connection| record_credit_redemption(connection, &redemption, &settings)),
            ),
        ];
        for (name, call) in &calls {
            let first =
                call(connection).unwrap_or_else(|error| panic!("{backend:?} {name}: {error}"));
            assert!(!first.duplicate, "{backend:?} {name}");
            let lines_before = count(connection, "ledger_lines");
            let again = call(connection)
                .unwrap_or_else(|error| panic!("{backend:?} {name} again: {error}"));
            assert!(again.duplicate, "{backend:?} {name}");
            assert_eq!(again.period, first.period);
            assert_eq!(
                count(connection, "ledger_lines"),
                lines_before,
                "{backend:?} {name}: a duplicate changed the ledger"
            );
            assert_verified(connection, name);
        }
        // The redemption weighs ten plays.
        let second_artist =
            earnings(connection, artist(2)).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(second_artist[0].plays, 10, "{backend:?}");
    });
}

#[test]
fn hostile_input_is_refused_and_changes_nothing() {
    on_each_backend(|backend, connection| {
        let settings = RoyaltySettings::default();
        let long_id = "x".repeat(royalties::SOURCE_ID_LENGTH_MAX + 1);
        let bad_sales = [
            ("no items", sale("s", &[], 0)),
            ("fee above gross", sale("s", &[("a", 1, 100)], 101)),
            ("negative fee", sale("s", &[("a", 1, 100)], -1)),
            (
                "negative gross",
                sale("s", &[("a", 1, -100), ("b", 1, 300)], 0),
            ),
            (
                "duplicate item",
                sale("s", &[("a", 1, 100), ("a", 2, 100)], 0),
            ),
            ("empty id", sale("", &[("a", 1, 100)], 0)),
            ("long id", sale(&long_id, &[("a", 1, 100)], 0)),
            ("overflow", sale("s", &[("a", 1, i64::MAX), ("b", 1, 1)], 0)),
            (
                "overflow in micro-cents",
                sale("s", &[("a", 1, i64::MAX / 2)], 0),
            ),
        ];
        for (name, input) in bad_sales {
            let result = record_sale(connection, &input, &settings);
            assert!(result.is_err(), "{backend:?} {name}: {result:?}");
        }
        assert!(record_ad_revenue(connection, &ad("zero", 1, 0, 11)).is_err());
        assert!(record_ad_revenue(connection, &ad("", 1, 10, 11)).is_err());
        assert!(
            record_ad_revenue(
                connection,
                &AdRevenueInput {
                    campaign_id: long_id.clone(),
                    ..ad("e", 1, 10, 11)
                }
            )
            .is_err()
        );
        assert!(record_qualifying_play(connection, &play("", 1, 1, 11)).is_err());
        assert!(record_qualifying_play(connection, &play(&long_id, 1, 1, 11)).is_err());
        let no_weight = RoyaltySettings {
            plays_per_redemption: 0,
            ..settings
        };
        let redemption = RedemptionInput {
            redemption_id: "r".to_owned(),
            listener: listener(1),
            artist: artist(1),
            occurred_at: day(11, 1),
        };
        assert!(record_credit_redemption(connection, &redemption, &no_weight).is_err());
        assert!(record_ad_revenue(connection, &ad("negative", 1, -5, 11)).is_err());
        assert!(matches!(
            clawback_ad_revenue(connection, "unknown", day(11, 1)),
            Err(RoyaltyError::UnknownAdEvent(_))
        ));
        let unknown_sale = RefundInput {
            refund_id: "r".to_owned(),
            sale_id: "missing".to_owned(),
            scope: RefundScope::WholeSale,
            occurred_at: day(11, 1),
        };
        assert!(matches!(
            record_refund(connection, &unknown_sale),
            Err(RoyaltyError::UnknownSale(_))
        ));
        assert_eq!(count(connection, "ledger_transactions"), 0, "{backend:?}");
        assert_eq!(count(connection, "royalty_plays"), 0, "{backend:?}");

        record_sale(
            connection,
            &sale("s1", &[("a", 1, 100), ("b", 1, 200)], 10),
            &settings,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let refunds = [
            (
                "unknown item",
                RefundScope::Items(vec!["zzz".to_owned()]),
                "has no item",
            ),
            ("no items", RefundScope::Items(vec![]), "invalid"),
            (
                "same item twice",
                RefundScope::Items(vec!["a".to_owned(), "a".to_owned()]),
                "already",
            ),
        ];
        for (refund_id, scope, expected) in refunds {
            let input = RefundInput {
                refund_id: refund_id.to_owned(),
                sale_id: "s1".to_owned(),
                scope,
                occurred_at: day(11, 2),
            };
            let error = record_refund(connection, &input)
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default();
            assert!(error.contains(expected), "{backend:?} {refund_id}: {error}");
        }
        let whole = RefundInput {
            refund_id: "whole".to_owned(),
            sale_id: "s1".to_owned(),
            scope: RefundScope::WholeSale,
            occurred_at: day(11, 2),
        };
        record_refund(connection, &whole).unwrap_or_else(|error| panic!("{error}"));
        let again = RefundInput {
            refund_id: "whole-again".to_owned(),
            ..whole
        };
        assert!(
            matches!(
                record_refund(connection, &again),
                Err(RoyaltyError::AlreadyRefunded { .. })
            ),
            "{backend:?}"
        );
        let earned = earnings(connection, artist(1)).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            earned[0].sales.0 + earned[0].refunds.0,
            0,
            "{backend:?}: a full refund reverses the artist's share"
        );
        assert_verified(connection, "after refunds");
    });
}

#[test]
fn events_dated_in_a_closed_period_go_to_the_next_open_one() {
    on_each_backend(|backend, connection| {
        let settings = RoyaltySettings::default();
        record_ad_revenue(connection, &ad("e1", 1, 3_000_000, 10))
            .unwrap_or_else(|error| panic!("{error}"));
        record_qualifying_play(connection, &play("p1", 1, 1, 10))
            .unwrap_or_else(|error| panic!("{error}"));
        let october = "2026-10".parse().unwrap_or_else(|error| panic!("{error}"));
        close_period(connection, october, AllocationModel::UserCentric, &settings)
            .unwrap_or_else(|error| panic!("{error}"));
        let late_play = record_qualifying_play(connection, &play("p2", 1, 1, 10))
            .unwrap_or_else(|error| panic!("{error}"));
        let late_ad = record_ad_revenue(connection, &ad("e2", 1, 5_000_000, 10))
            .unwrap_or_else(|error| panic!("{error}"));
        let late_sale = record_sale(
            connection,
            &SaleInput {
                occurred_at: day(10, 20),
                ..sale("s", &[("a", 1, 100)], 0)
            },
            &settings,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        for recorded in [late_play, late_ad, late_sale] {
            assert_eq!(recorded.period.to_string(), "2026-11", "{backend:?}");
        }
        // Invalid traffic found before its period closes: the installer simply earned less.
        let in_period = clawback_ad_revenue(connection, "e2", day(11, 20))
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(in_period.period.to_string(), "2026-11", "{backend:?}");
        record_ad_revenue(connection, &ad("e3", 2, 2_000_000, 11))
            .unwrap_or_else(|error| panic!("{error}"));
        // Found after the close: a deduction from the next open period, which must hold enough
        // pending revenue to absorb it (2,000,000 pending < 3,000,000), or it is refused.
        let refused = clawback_ad_revenue(connection, "e1", day(10, 31));
        assert!(
            matches!(refused, Err(RoyaltyError::NegativeBalance { .. })),
            "{backend:?}: {refused:?}"
        );
        let november = "2026-11".parse().unwrap_or_else(|error| panic!("{error}"));
        let close = close_period(
            connection,
            november,
            AllocationModel::UserCentric,
            &settings,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        // e2 5,000,000 − its clawback + e3 2,000,000 (installer 2 played nothing, so it is
        // pooled and goes to artist 1's late play): a pool of 2 cents, nothing carried.
        assert_eq!(
            (close.pool, close.carried),
            (Cents(2), MicroCents(0)),
            "{backend:?}"
        );
        assert_verified(connection, "after late events");
    });
}

fn count(connection: &mut megabox_database::DbConnection, table: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let row: Row = diesel::sql_query(format!("SELECT COUNT(*) AS count FROM {table}"))
        .get_result(connection)
        .unwrap_or_else(|error| panic!("{error}"));
    row.count
}
