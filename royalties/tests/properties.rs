//! Property test over random sequences of everything the engine does — sales of multi-item
//! carts, whole and partial refunds, ad revenue and clawbacks, plays, redemptions, period
//! closes under both models, and payout runs against a gateway that succeeds, refuses or loses
//! its answers — with `verify` holding after every step and every transfer made exactly once.

mod common;

use common::{FakeGateway, GatewayBehaviour, artist, database, day, listener};
use megabox_database::testing::backends;
use megabox_database::{Backend, DbConnection};
use megabox_domain::{Cents, MicroCents, TrackId};
use proptest::prelude::*;
use royalties::{
    AdRevenueInput, AllocationModel, PayoutAccountStatus, PayoutStatus, Period, PlayInput,
    RedemptionInput, RefundInput, RefundScope, RoyaltyError, RoyaltySettings, SaleInput, SaleItem,
    clawback_ad_revenue, close_period, list_payouts, record_ad_revenue, record_credit_redemption,
    record_qualifying_play, record_refund, record_sale, run_payouts, set_payout_account, verify,
};

const ARTISTS: u32 = 4;
const LISTENERS: u32 = 4;
/// Months 9 to 12 of 2026.
const FIRST_MONTH: u32 = 9;
const MONTHS: u32 = 4;
const STEPS_MAX: usize = 25;
const CASES_SQLITE: u32 = 32;
const CASES_POSTGRES: u32 = 8;

#[derive(Debug, Clone)]
enum Step {
    Sale {
        items: Vec<(u32, i64)>,
        fee_per_mille: i64,
        month: u32,
    },
    Refund {
        sale: usize,
        item: Option<usize>,
        month: u32,
    },
    AdRevenue {
        installer: u32,
        amount_micro_cents: i64,
        month: u32,
    },
    Clawback {
        event: usize,
        month: u32,
    },
    Play {
        listener: u32,
        artist: u32,
        month: u32,
    },
    Redemption {
        listener: u32,
        artist: u32,
        month: u32,
    },
    Close {
        month: u32,
        pro_rata: bool,
    },
    Payouts {
        behaviour: u8,
    },
}

fn step_strategy() -> impl Strategy<Value = Step> {
    let month = FIRST_MONTH..FIRST_MONTH + MONTHS;
    prop_oneof![
        3 => (proptest::collection::vec((0..ARTISTS, 0_i64..5000), 1..4), 0_i64..200, month.clone())
            .prop_map(|(items, fee_per_mille, month)| Step::Sale { items, fee_per_mille, month }),
        1 => (0_usize..20, proptest::option::of(0_usize..3), month.clone())
            .prop_map(|(sale, item, month)| Step::Refund { sale, item, month }),
        3 => (0..LISTENERS, 1_i64..3_000_000_000, month.clone())
            .prop_map(|(installer, amount_micro_cents, month)| Step::AdRevenue { installer, amount_micro_cents, month }),
        1 => (0_usize..20, month.clone()).prop_map(|(event, month)| Step::Clawback { event, month }),
        4 => (0..LISTENERS, 0..ARTISTS, month.clone()).prop_map(|(listener, artist, month)| Step::Play { listener, artist, month }),
        1 => (0..LISTENERS, 0..ARTISTS, month.clone()).prop_map(|(listener, artist, month)| Step::Redemption { listener, artist, month }),
        2 => (month, any::<bool>()).prop_map(|(month, pro_rata)| Step::Close { month, pro_rata }),
        2 => (0_u8..3).prop_map(|behaviour| Step::Payouts { behaviour }),
    ]
}

fn run_steps(backend: Backend, steps: &[Step]) -> Result<(), TestCaseError> {
    let (_database, mut connection) = database(backend);
    let connection = &mut connection;
    let settings = RoyaltySettings::default();
    let gateway = FakeGateway::new(GatewayBehaviour::Succeed);
    for index in 0..ARTISTS {
        set_payout_account(
            connection,
            artist(index),
            &format!("acct_{index}"),
            PayoutAccountStatus::Ready,
        )
        .map_err(fail)?;
    }
    let mut sales = 0_usize;
    let mut events = 0_usize;
    for (number, step) in steps.iter().enumerate() {
        let result = apply(
            connection,
            &gateway,
            &settings,
            step,
            number,
            &mut sales,
            &mut events,
        );
        match result {
            // Refusals the engine is meant to make: refunding twice, or clawing back after a
            // close more than the next period holds.
            Ok(())
            | Err(
                RoyaltyError::AlreadyRefunded { .. }
                | RoyaltyError::UnknownSale(_)
                | RoyaltyError::UnknownAdEvent(_),
            ) => {}
            Err(RoyaltyError::NegativeBalance { ref account, .. }) if account == "ads:pending" => {}
            Err(error) => {
                return Err(TestCaseError::fail(format!(
                    "{backend:?} step {number} {step:?}: {error}"
                )));
            }
        }
        if let Err(error) = verify(connection) {
            return Err(TestCaseError::fail(format!(
                "{backend:?} after step {number} {step:?}: {error}"
            )));
        }
    }
    // Finish every payout; each posted payout is exactly one transfer of its amount.
    gateway.behaviour.set(GatewayBehaviour::Succeed);
    run_payouts(connection, &gateway, Cents(1)).map_err(fail)?;
    let payouts = list_payouts(connection, None).map_err(fail)?;
    let transfers = gateway.transfers.borrow();
    for payout in &payouts {
        let transfer = transfers.get(&payout.id).map(|(_, _, amount)| *amount);
        let expected = match payout.status {
            PayoutStatus::Posted => Some(payout.amount),
            PayoutStatus::Voided => None,
            PayoutStatus::Pending => {
                return Err(TestCaseError::fail(format!(
                    "{backend:?}: payout {} still pending",
                    payout.id
                )));
            }
        };
        prop_assert_eq!(transfer, expected, "{:?} payout {}", backend, payout.id);
    }
    prop_assert_eq!(
        transfers.len(),
        payouts
            .iter()
            .filter(|payout| payout.status == PayoutStatus::Posted)
            .count()
    );
    verify(connection).map_err(|error| TestCaseError::fail(error.to_string()))?;
    Ok(())
}

fn fail(error: RoyaltyError) -> TestCaseError {
    TestCaseError::fail(error.to_string())
}

fn apply(
    connection: &mut DbConnection,
    gateway: &FakeGateway,
    settings: &RoyaltySettings,
    step: &Step,
    number: usize,
    sales: &mut usize,
    events: &mut usize,
) -> Result<(), RoyaltyError> {
    match step {
        Step::Sale {
            items,
            fee_per_mille,
            month,
        } => {
            let items: Vec<SaleItem> = items
                .iter()
                .enumerate()
                .map(|(index, (artist_index, gross))| SaleItem {
                    item_ref: format!("item-{index}"),
                    artist: artist(*artist_index),
                    gross: Cents(*gross),
                })
                .collect();
            let gross: i64 = items.iter().map(|item| item.gross.0).sum();
            let sale = SaleInput {
                sale_id: format!("sale-{sales}"),
                cart_id: format!("cart-{number}"),
                items,
                processor_fee: Cents(gross * fee_per_mille / 1000),
                occurred_at: day(*month, 10),
            };
            *sales += 1;
            record_sale(connection, &sale, settings).map(drop)
        }
        Step::Refund { sale, item, month } => {
            let scope = match item {
                Some(index) => RefundScope::Items(vec![format!("item-{index}")]),
                None => RefundScope::WholeSale,
            };
            let refund = RefundInput {
                refund_id: format!("refund-{number}"),
                sale_id: format!("sale-{sale}"),
                scope,
                occurred_at: day(*month, 11),
            };
            match record_refund(connection, &refund) {
                Err(RoyaltyError::UnknownItem { .. }) => Ok(()),
                other => other.map(drop),
            }
        }
        Step::AdRevenue {
            installer,
            amount_micro_cents,
            month,
        } => {
            let event = AdRevenueInput {
                event_id: format!("event-{events}"),
                installer: listener(*installer),
                campaign_id: "campaign".to_owned(),
                amount: MicroCents(*amount_micro_cents),
                occurred_at: day(*month, 12),
            };
            *events += 1;
            record_ad_revenue(connection, &event).map(drop)
        }
        Step::Clawback { event, month } => {
            clawback_ad_revenue(connection, &format!("event-{event}"), day(*month, 13)).map(drop)
        }
        Step::Play {
            listener: listener_index,
            artist: artist_index,
            month,
        } => {
            let play = PlayInput {
                play_id: format!("play-{number}"),
                listener: listener(*listener_index),
                track: TrackId::generate(),
                artist: artist(*artist_index),
                occurred_at: day(*month, 14),
            };
            record_qualifying_play(connection, &play).map(drop)
        }
        Step::Redemption {
            listener: listener_index,
            artist: artist_index,
            month,
        } => {
            let redemption = RedemptionInput {
                redemption_id: format!("redemption-{number}"),
                listener: listener(*listener_index),
                artist: artist(*artist_index),
                occurred_at: day(*month, 15),
            };
            record_credit_redemption(connection, &redemption, settings).map(drop)
        }
        Step::Close { month, pro_rata } => {
            let model = if *pro_rata {
                AllocationModel::ProRata
            } else {
                AllocationModel::UserCentric
            };
            let period = Period::new(2026, *month)
                .map_err(|error| RoyaltyError::InvalidInput(error.to_string()))?;
            close_period(connection, period, model, settings).map(drop)
        }
        Step::Payouts { behaviour } => {
            let behaviour = match behaviour {
                0 => GatewayBehaviour::Succeed,
                1 => GatewayBehaviour::Decline,
                _ => GatewayBehaviour::LoseResponse,
            };
            gateway.behaviour.set(behaviour);
            run_payouts(connection, gateway, Cents(100)).map(drop)
        }
    }
}

#[test]
fn verify_holds_after_every_step_of_random_histories() {
    for backend in backends() {
        let cases = if backend == Backend::Sqlite {
            CASES_SQLITE
        } else {
            CASES_POSTGRES
        };
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases,
            ..ProptestConfig::default()
        });
        let result = runner.run(
            &proptest::collection::vec(step_strategy(), 1..STEPS_MAX),
            |steps| run_steps(backend, &steps),
        );
        if let Err(error) = result {
            panic!("{backend:?}: {error}");
        }
    }
}
