//! Payout runs: exactly one transfer per payout whatever fails (a refusal, a lost answer, a
//! crash before or after the gateway call), only for ready accounts above the threshold, with
//! failures visible in the payout list.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{FakeGateway, GatewayBehaviour, artist, assert_verified, day, on_each_backend};
use megabox_domain::Cents;
use royalties::{
    PayoutAccountStatus, PayoutStatus, RefundInput, RefundScope, RoyaltySettings, SaleInput,
    SaleItem, list_payouts, record_refund, record_sale, run_payouts, set_payout_account,
};

const THRESHOLD: Cents = Cents(1000);

fn sell(
    connection: &mut megabox_database::DbConnection,
    sale_id: &str,
    artist_index: u32,
    gross_cents: i64,
) {
    let sale = SaleInput {
        sale_id: sale_id.to_owned(),
        cart_id: sale_id.to_owned(),
        items: vec![SaleItem {
            item_ref: "item".to_owned(),
            artist: artist(artist_index),
            gross: Cents(gross_cents),
        }],
        processor_fee: Cents(0),
        occurred_at: day(11, 1),
    };
    record_sale(connection, &sale, &RoyaltySettings::default())
        .unwrap_or_else(|error| panic!("{error}"));
}

fn ready(connection: &mut megabox_database::DbConnection, artist_index: u32) {
    set_payout_account(
        connection,
        artist(artist_index),
        &format!("acct_{artist_index}"),
        PayoutAccountStatus::Ready,
    )
    .unwrap_or_else(|error| panic!("{error}"));
}

#[test]
fn pays_ready_artists_above_the_threshold_once() {
    on_each_backend(|backend, connection| {
        sell(connection, "s1", 1, 2000); // 1800 to artist 1: paid.
        sell(connection, "s2", 2, 1000); // 900 to artist 2: below the threshold.
        sell(connection, "s3", 3, 5000); // 4500 to artist 3: account not ready.
        ready(connection, 1);
        ready(connection, 2);
        set_payout_account(
            connection,
            artist(3),
            "acct_3",
            PayoutAccountStatus::Pending,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let gateway = FakeGateway::new(GatewayBehaviour::Succeed);
        let run =
            run_payouts(connection, &gateway, THRESHOLD).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!((run.created, run.posted), (1, 1), "{backend:?}");
        let again =
            run_payouts(connection, &gateway, THRESHOLD).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(again.created, 0, "{backend:?}: nothing left to pay");
        let transfers = gateway.transfers.borrow();
        assert_eq!(
            transfers
                .values()
                .map(|(_, destination, amount)| (destination.as_str(), *amount))
                .collect::<Vec<_>>(),
            [("acct_1", Cents(1800))]
        );
        let payouts =
            list_payouts(connection, Some(artist(1))).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(payouts.len(), 1);
        assert_eq!(
            (payouts[0].status, payouts[0].amount),
            (PayoutStatus::Posted, Cents(1800))
        );
        assert!(
            list_payouts(connection, Some(artist(3)))
                .unwrap_or_else(|error| panic!("{error}"))
                .is_empty()
        );
        assert!(
            run_payouts(connection, &gateway, Cents(0)).is_err(),
            "a zero threshold is refused"
        );
        assert_verified(connection, "after payouts");
    });
}

#[test]
fn exactly_one_transfer_whatever_fails() {
    let failures = [
        GatewayBehaviour::LoseResponse,
        GatewayBehaviour::CrashBefore,
        GatewayBehaviour::CrashAfter,
    ];
    for failure in failures {
        on_each_backend(|backend, connection| {
            sell(connection, "s1", 1, 2000);
            ready(connection, 1);
            let gateway = FakeGateway::new(failure);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                run_payouts(connection, &gateway, THRESHOLD)
            }));
            if let Ok(result) = outcome {
                let run = result.unwrap_or_else(|error| panic!("{error}"));
                assert_eq!(run.still_pending, 1, "{backend:?} {failure:?}");
            }
            // The payout was committed before the call, so whatever happened it is pending.
            let pending = list_payouts(connection, None).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(pending.len(), 1, "{backend:?} {failure:?}");
            assert_eq!(
                pending[0].status,
                PayoutStatus::Pending,
                "{backend:?} {failure:?}"
            );
            assert_verified(connection, "with a pending payout");
            gateway.behaviour.set(GatewayBehaviour::Succeed);
            let run = run_payouts(connection, &gateway, THRESHOLD)
                .unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(
                (run.created, run.posted),
                (0, 1),
                "{backend:?} {failure:?}: resumed, not created anew"
            );
            assert_eq!(
                gateway.transfers.borrow().len(),
                1,
                "{backend:?} {failure:?}: exactly one transfer"
            );
            let payouts = list_payouts(connection, None).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(payouts[0].status, PayoutStatus::Posted);
            assert_eq!(payouts[0].transfer_id.as_deref(), Some("tr_0"));
            assert_verified(connection, "after the resumed payout");
        });
    }
}

#[test]
fn a_refused_payout_is_voided_visibly_and_the_money_returns() {
    on_each_backend(|backend, connection| {
        sell(connection, "s1", 1, 2000);
        ready(connection, 1);
        let gateway = FakeGateway::new(GatewayBehaviour::Decline);
        let run =
            run_payouts(connection, &gateway, THRESHOLD).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(run.voided, 1, "{backend:?}");
        let payouts = list_payouts(connection, None).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(payouts[0].status, PayoutStatus::Voided);
        assert_eq!(payouts[0].last_error.as_deref(), Some("account closed"));
        assert!(gateway.transfers.borrow().is_empty());
        assert_verified(connection, "after a voided payout");
        // The balance is back, so the next run pays it.
        gateway.behaviour.set(GatewayBehaviour::Succeed);
        let run =
            run_payouts(connection, &gateway, THRESHOLD).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!((run.created, run.posted), (1, 1), "{backend:?}");
    });
}

#[test]
fn a_refund_after_a_payout_is_owed_and_recovered_before_the_next_payout() {
    on_each_backend(|backend, connection| {
        sell(connection, "s1", 1, 2000); // 1800 to the artist
        ready(connection, 1);
        let gateway = FakeGateway::new(GatewayBehaviour::Succeed);
        run_payouts(connection, &gateway, THRESHOLD).unwrap_or_else(|error| panic!("{error}"));
        let refund = RefundInput {
            refund_id: "r1".to_owned(),
            sale_id: "s1".to_owned(),
            scope: RefundScope::WholeSale,
            occurred_at: day(11, 2),
        };
        record_refund(connection, &refund).unwrap_or_else(|error| panic!("{error}"));
        assert_verified(connection, "with the artist owing 1800");
        sell(connection, "s2", 1, 3000); // 2700 more: 1800 recovered, 900 left, below the threshold.
        let run =
            run_payouts(connection, &gateway, THRESHOLD).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!((run.debts_recovered, run.created), (1, 0), "{backend:?}");
        sell(connection, "s3", 1, 200); // 180 more: 1080.
        let run =
            run_payouts(connection, &gateway, THRESHOLD).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(run.created, 1, "{backend:?}");
        let amounts: Vec<Cents> = gateway
            .transfers
            .borrow()
            .values()
            .map(|(_, _, amount)| *amount)
            .collect();
        assert_eq!(amounts, [Cents(1800), Cents(1080)], "{backend:?}");
        assert_verified(connection, "after recovery");
    });
}
