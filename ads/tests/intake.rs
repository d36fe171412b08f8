//! Impression intake on both backends with real signed batches: what is accepted is charged and
//! reaches royalties' pending ad revenue exactly once; every hostile or stale batch and event is
//! refused with its reason and without effect.

mod common;

use std::net::IpAddr;
use std::sync::Mutex;

use common::*;
use ed25519_dalek::SigningKey;
use megabox_ads::{
    AdsError, AdsSettings, CampaignStatus, Deduper, DeduperUnavailable, IntakeReceipt, Reason,
    intake_batch, revoke_device,
};
use megabox_database::DbConnection;
use megabox_domain::UserId;
use megabox_protocol::{DeviceId, EventId, ImpressionBatch, UnsignedBatch};

const CLIENT_IP: &str = "198.51.100.7";
/// A $2.00 CPM: 200 cents / 1000 impressions = 0.2 cents = 200,000 micro-cents each.
const CPM_CENTS: i64 = 200;
const COST_MICRO_CENTS: i64 = 200_000;

fn ip() -> IpAddr {
    CLIENT_IP.parse().unwrap_or_else(|error| panic!("{error}"))
}

fn intake(
    connection: &mut DbConnection,
    batch: &ImpressionBatch,
    settings: &AdsSettings,
) -> Result<IntakeReceipt, AdsError> {
    intake_batch(connection, batch, ip(), now(), settings, None)
}

fn accepted(connection: &mut DbConnection, batch: &ImpressionBatch) -> IntakeReceipt {
    intake(connection, batch, &AdsSettings::default()).unwrap_or_else(|error| panic!("{error}"))
}

fn reasons(receipt: &IntakeReceipt) -> Vec<Reason> {
    receipt
        .rejected
        .iter()
        .map(|rejected| rejected.reason)
        .collect()
}

#[test]
fn accepted_impressions_are_charged_and_reach_royalties_exactly_once() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let fixture = campaign(connection, CPM_CENTS, 10_000);
        let user = UserId::generate();
        let mut agent = pair(connection, user, 1);
        let batch = agent.batch(events(&fixture.creative.id, 10));
        let receipt = accepted(connection, &batch);
        assert_eq!(
            receipt.accepted,
            batch
                .events
                .iter()
                .map(|event| event.event_id)
                .collect::<Vec<_>>()
        );
        assert!(receipt.rejected.is_empty());
        assert_eq!(spent(connection, fixture.campaign), 10 * COST_MICRO_CENTS);
        assert_eq!(pending_ad_revenue(connection, user), 10 * COST_MICRO_CENTS);

        // The byte-identical resend (the agent never saw the answer) gets the same receipt and
        // has no second effect.
        let again = accepted(connection, &batch);
        assert_eq!(again, receipt, "{:?}", database.backend);
        assert_eq!(spent(connection, fixture.campaign), 10 * COST_MICRO_CENTS);
        assert_eq!(pending_ad_revenue(connection, user), 10 * COST_MICRO_CENTS);
        assert_eq!(impressions(connection, &agent.device), 10);
        assert_ledger_verifies(connection, "after a resend");
    });
}

/// Asserts that `batch` is refused whole with `reason` and changes nothing.
fn assert_refused(
    connection: &mut DbConnection,
    batch: &ImpressionBatch,
    reason: Reason,
    context: &str,
) {
    let device_impressions = impressions_of(connection, batch.device_id);
    match intake(connection, batch, &AdsSettings::default()) {
        Err(AdsError::BatchRefused(refused)) => assert_eq!(refused, reason, "{context}"),
        other => panic!("{context}: expected a refusal ({reason}), got {other:?}"),
    }
    assert_eq!(
        impressions_of(connection, batch.device_id),
        device_impressions,
        "{context}: no effect"
    );
}

fn impressions_of(connection: &mut DbConnection, device: DeviceId) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    diesel::sql_query("SELECT COUNT(*) AS count FROM ads_impressions WHERE device_id = $1")
        .bind::<diesel::sql_types::Text, _>(device.0.to_string())
        .get_result::<Count>(connection)
        .map(|row| row.count)
        .unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn hostile_and_stale_batches_are_refused_whole_without_effect() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let fixture = campaign(connection, CPM_CENTS, 10_000);
        let user = UserId::generate();
        let mut agent = pair(connection, user, 1);
        let creative = fixture.creative.id.clone();
        let first = agent.batch(events(&creative, 3));
        accepted(connection, &first);
        let charged = spent(connection, fixture.campaign);

        let mut forged = agent.batch_with_sequence(5, events(&creative, 3));
        forged.signature.0[0] ^= 1;
        assert_refused(
            connection,
            &forged,
            Reason::BadSignature,
            "forged signature",
        );

        let stranger = SigningKey::from_bytes(&[99; 32]);
        let wrong_key = UnsignedBatch {
            device_id: agent.device.id,
            sequence: 5,
            events: events(&creative, 3),
        }
        .sign(&stranger)
        .unwrap_or_else(|error| panic!("{error}"));
        assert_refused(
            connection,
            &wrong_key,
            Reason::BadSignature,
            "signed by another key",
        );

        let mut tampered = agent.batch_with_sequence(5, events(&creative, 3));
        tampered.events.pop();
        assert_refused(
            connection,
            &tampered,
            Reason::BadSignature,
            "event removed after signing",
        );

        let unknown = UnsignedBatch {
            device_id: DeviceId(uuid::Uuid::now_v7()),
            sequence: 1,
            events: events(&creative, 1),
        }
        .sign(&agent.key)
        .unwrap_or_else(|error| panic!("{error}"));
        assert_refused(
            connection,
            &unknown,
            Reason::UnknownDevice,
            "unknown device",
        );

        // Same sequence as the accepted batch but other bytes: a replay or a forgery.
        let reused = agent.batch_with_sequence(first.sequence, events(&creative, 3));
        assert_refused(
            connection,
            &reused,
            Reason::StaleSequence,
            "reused sequence",
        );
        // A later batch arrives, then an older one that was never seen.
        let later = agent.batch_with_sequence(10, events(&creative, 1));
        accepted(connection, &later);
        let older = agent.batch_with_sequence(7, events(&creative, 1));
        assert_refused(connection, &older, Reason::StaleSequence, "old sequence");

        let beyond = agent.batch_with_sequence(u64::MAX, events(&creative, 1));
        assert_refused(
            connection,
            &beyond,
            Reason::MalformedBatch,
            "sequence beyond i64",
        );

        revoke_device(connection, user, agent.device.id, now())
            .unwrap_or_else(|error| panic!("{error}"));
        let after_revoke = agent.batch_with_sequence(11, events(&creative, 1));
        assert_refused(
            connection,
            &after_revoke,
            Reason::RevokedDevice,
            "revoked device",
        );

        assert_eq!(
            spent(connection, fixture.campaign),
            charged + COST_MICRO_CENTS,
            "only the later batch was charged"
        );
        assert_eq!(pending_ad_revenue(connection, user), 4 * COST_MICRO_CENTS);
        assert_ledger_verifies(connection, "after refusals");
    });
}

#[test]
fn events_are_rejected_one_by_one_with_their_reason() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let fixture = campaign(connection, CPM_CENTS, 10_000);
        let paused = campaign(connection, CPM_CENTS, 10_000);
        set_status(connection, paused.campaign, CampaignStatus::Paused);
        let leaderboard = creative(connection, fixture.campaign, "728x90");
        let user = UserId::generate();
        let mut agent = pair(connection, user, 1);
        let creative_id = fixture.creative.id.clone();

        let earlier = agent.batch(events(&creative_id, 1));
        accepted(connection, &earlier);
        let mut reused_nonce = event(&creative_id, "300x250", now());
        reused_nonce.nonce = earlier.events[0].nonce;
        let mut same_nonce_twice = event(&creative_id, "300x250", now());
        let twin = event(&creative_id, "300x250", now());
        same_nonce_twice.nonce = twin.nonce;
        let unknown = megabox_protocol::CreativeId::parse("no-such-creative")
            .unwrap_or_else(|error| panic!("{error}"));
        let cases = vec![
            (event(&creative_id, "300x250", now()), None),
            (earlier.events[0].clone(), Some(Reason::Duplicate)),
            (reused_nonce, Some(Reason::Duplicate)),
            (twin, None),
            (same_nonce_twice, Some(Reason::Duplicate)),
            (
                event(&creative_id, "300x250", now() + hours(24)),
                Some(Reason::FutureTimestamp),
            ),
            (
                event(&creative_id, "300x250", now() - hours(72)),
                Some(Reason::StaleTimestamp),
            ),
            // The age limit is 24 h (what the agent's outbox needs), no longer 48 h.
            (
                event(&creative_id, "300x250", now() - hours(25)),
                Some(Reason::StaleTimestamp),
            ),
            (event(&creative_id, "300x250", now() - hours(23)), None),
            (
                event(&unknown, "300x250", now()),
                Some(Reason::UnknownCreative),
            ),
            (
                event(&creative_id, "728x90", now()),
                Some(Reason::UnknownCreative),
            ),
            (event(&leaderboard.id, "728x90", now()), None),
            (
                event(&paused.creative.id, "300x250", now()),
                Some(Reason::CampaignInactive),
            ),
        ];
        let expected: Vec<(EventId, Option<Reason>)> = cases
            .iter()
            .map(|(event, reason)| (event.event_id, *reason))
            .collect();
        // A duplicate of an event already sent is still a duplicate inside a new batch.
        let batch = agent.batch(cases.into_iter().map(|(event, _)| event).collect());
        let receipt = accepted(connection, &batch);
        for (event_id, reason) in expected {
            let found = receipt
                .rejected
                .iter()
                .find(|rejected| rejected.event_id == event_id)
                .map(|rejected| rejected.reason);
            assert_eq!(found, reason, "{:?} event {event_id:?}", database.backend);
            assert_eq!(
                receipt.accepted.contains(&event_id),
                reason.is_none(),
                "{:?} event {event_id:?}",
                database.backend
            );
        }
        assert_eq!(
            receipt.accepted.len() + receipt.rejected.len(),
            batch.events.len()
        );
        // 1 earlier + 4 accepted now, all at the same CPM.
        assert_eq!(pending_ad_revenue(connection, user), 5 * COST_MICRO_CENTS);
        assert_eq!(spent(connection, paused.campaign), 0);
        assert_ledger_verifies(connection, "after per-event rejections");
    });
}

#[test]
fn daily_caps_per_device_account_and_ip_hold() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let fixture = campaign(connection, CPM_CENTS, 10_000);
        let creative_id = fixture.creative.id.clone();
        let settings = AdsSettings {
            impressions_per_device_per_day_max: 5,
            impressions_per_account_per_day_max: 8,
            impressions_per_ip_per_day_max: 10,
            ..AdsSettings::default()
        };
        let user = UserId::generate();
        let mut first = pair(connection, user, 1);
        let mut second = pair(connection, user, 2);
        let mut other_account = pair(connection, UserId::generate(), 3);

        let batch = first.batch(events(&creative_id, 7));
        let receipt =
            intake(connection, &batch, &settings).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            (receipt.accepted.len(), reasons(&receipt)),
            (5, vec![Reason::OverDeviceCap; 2])
        );
        let batch = second.batch(events(&creative_id, 5));
        let receipt =
            intake(connection, &batch, &settings).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            (receipt.accepted.len(), reasons(&receipt)),
            (3, vec![Reason::OverAccountCap; 2])
        );
        // Same IP, another account: 8 counted on this IP already, 2 more fit.
        let batch = other_account.batch(events(&creative_id, 4));
        let receipt =
            intake(connection, &batch, &settings).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            (receipt.accepted.len(), reasons(&receipt)),
            (2, vec![Reason::OverIpCap; 2])
        );
        // The next day (by the server's clock) the device cap starts over, whatever hour the
        // events claim: yesterday's late event and today's count against today.
        let tomorrow = now() + hours(20);
        let mut tomorrow_events = events(&creative_id, 1);
        tomorrow_events.push(event(&creative_id, "300x250", tomorrow));
        let batch = first.batch(tomorrow_events);
        let receipt = intake_batch(connection, &batch, ip(), tomorrow, &settings, None)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!((receipt.accepted.len(), reasons(&receipt)), (2, vec![]));
        assert_eq!(spent(connection, fixture.campaign), 12 * COST_MICRO_CENTS);
    });
}

/// The attack of issue 14: a new account dated events back across the previous days so that
/// each day's cap filled once more. Caps now count by the day the server receives the events.
#[test]
fn backdated_events_spend_the_cap_of_the_day_they_arrive() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let fixture = campaign(connection, CPM_CENTS, 10_000);
        let creative_id = fixture.creative.id.clone();
        let settings = AdsSettings::default();
        let cap = usize::try_from(settings.impressions_per_device_per_day_max)
            .unwrap_or_else(|error| panic!("{error}"));
        let user = UserId::generate();
        let mut agent = pair(connection, user, 1);
        // At 08:00 the next day: the cap's worth dated yesterday noon (20 h old, within the
        // age limit) and the cap's worth dated now.
        let arrival = now() + hours(20);
        let mut claimed: Vec<_> = (0..cap)
            .map(|_| event(&creative_id, "300x250", now()))
            .collect();
        claimed.extend((0..cap).map(|_| event(&creative_id, "300x250", arrival)));
        let batch = agent.batch(claimed);
        let receipt = intake_batch(connection, &batch, ip(), arrival, &settings, None)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            (receipt.accepted.len(), reasons(&receipt)),
            (cap, vec![Reason::OverDeviceCap; cap]),
            "{:?}",
            database.backend
        );
        // Another batch the same server day, dated yesterday, finds the cap spent too.
        let batch = agent.batch(events(&creative_id, 3));
        let receipt = intake_batch(connection, &batch, ip(), arrival, &settings, None)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(reasons(&receipt), vec![Reason::OverDeviceCap; 3]);
        let cap_cost = i64::try_from(cap).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            spent(connection, fixture.campaign),
            cap_cost * COST_MICRO_CENTS
        );
        assert_eq!(
            pending_ad_revenue(connection, user),
            cap_cost * COST_MICRO_CENTS
        );
        assert_ledger_verifies(connection, "after backdated events");
    });
}

#[test]
fn an_exhausted_budget_charges_nothing_more() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        // One cent buys five impressions at a $2 CPM.
        let fixture = campaign(connection, CPM_CENTS, 1);
        let user = UserId::generate();
        let mut agent = pair(connection, user, 1);
        let batch = agent.batch(events(&fixture.creative.id, 7));
        let receipt = accepted(connection, &batch);
        assert_eq!(
            (receipt.accepted.len(), reasons(&receipt)),
            (5, vec![Reason::BudgetExhausted; 2])
        );
        let batch = agent.batch(events(&fixture.creative.id, 1));
        assert_eq!(
            reasons(&accepted(connection, &batch)),
            vec![Reason::BudgetExhausted]
        );
        assert_eq!(spent(connection, fixture.campaign), 1_000_000);
        assert_eq!(pending_ad_revenue(connection, user), 1_000_000);
    });
}

/// A dedupe store that has lost its memory: it calls every event new.
struct ForgetfulDeduper;

impl Deduper for ForgetfulDeduper {
    fn claim(
        &self,
        _device: DeviceId,
        events: &[EventId],
    ) -> Result<Vec<bool>, DeduperUnavailable> {
        Ok(vec![true; events.len()])
    }
}

/// A dedupe store that remembers, like Redis `SET NX`.
#[derive(Default)]
struct MemoryDeduper(Mutex<std::collections::HashSet<(DeviceId, EventId)>>);

impl Deduper for MemoryDeduper {
    fn claim(&self, device: DeviceId, events: &[EventId]) -> Result<Vec<bool>, DeduperUnavailable> {
        let mut seen = self
            .0
            .lock()
            .map_err(|_| DeduperUnavailable("poisoned".to_owned()))?;
        Ok(events
            .iter()
            .map(|event| seen.insert((device, *event)))
            .collect())
    }
}

struct UnavailableDeduper;

impl Deduper for UnavailableDeduper {
    fn claim(
        &self,
        _device: DeviceId,
        _events: &[EventId],
    ) -> Result<Vec<bool>, DeduperUnavailable> {
        Err(DeduperUnavailable("connection refused".to_owned()))
    }
}

#[test]
fn the_database_stays_the_source_of_truth_whatever_the_deduper_says() {
    let dedupers: [(&str, &dyn Deduper); 3] = [
        ("forgetful", &ForgetfulDeduper),
        ("memory", &MemoryDeduper::default()),
        ("unavailable", &UnavailableDeduper),
    ];
    on_each_backend(|database| {
        for (seed, (name, deduper)) in (1..).zip(dedupers) {
            let connection = &mut *database.connection();
            let fixture = campaign(connection, CPM_CENTS, 10_000);
            let user = UserId::generate();
            let mut agent = pair(connection, user, seed);
            let first = agent.batch(events(&fixture.creative.id, 3));
            let receipt = intake_batch(
                connection,
                &first,
                ip(),
                now(),
                &AdsSettings::default(),
                Some(deduper),
            )
            .unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(receipt.accepted.len(), 3, "{name}");
            // The same events again in a new batch, plus one new event.
            let mut repeated = first.events.clone();
            repeated.extend(events(&fixture.creative.id, 1));
            let second = agent.batch(repeated);
            let receipt = intake_batch(
                connection,
                &second,
                ip(),
                now(),
                &AdsSettings::default(),
                Some(deduper),
            )
            .unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(
                (receipt.accepted.len(), reasons(&receipt)),
                (1, vec![Reason::Duplicate; 3]),
                "{:?} {name}",
                database.backend
            );
            assert_eq!(
                pending_ad_revenue(connection, user),
                4 * COST_MICRO_CENTS,
                "{name}"
            );
        }
    });
}

#[test]
fn receipts_translate_to_the_wire_protocol() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let fixture = campaign(connection, CPM_CENTS, 10_000);
        let mut agent = pair(connection, UserId::generate(), 1);
        let mut batch_events = events(&fixture.creative.id, 1);
        batch_events.push(event(&fixture.creative.id, "300x250", now() + hours(24)));
        let receipt = accepted(connection, &agent.batch(batch_events));
        let response = receipt.to_protocol();
        assert_eq!(response.accepted, receipt.accepted);
        assert_eq!(response.rejected.len(), 1);
        assert_eq!(
            response.rejected[0].reason,
            megabox_protocol::RejectionReason::Stale
        );
    });
}
