//! The Stripe gateway with the real async-stripe client against the fake Stripe server, on both
//! databases: a two-artist cart end to end, every kind of event delivered several times, shuffled
//! and concurrently, a refund that overtakes its payment, forged and stale signatures, payout
//! accounts and exactly-once transfers, and secrets kept out of `Debug`.

#![allow(clippy::unwrap_used)]

mod support;

use fake_stripe::{FakeStripe, PaymentTiming};
use megabox_database::testing::backends;
use megabox_domain::{Cents, UserId};
use megabox_payments::{
    CartItem, Item, OrderStatus, Payments, PaymentsError, SignatureError, WebhookOutcome,
    entitlements_of, order, owns_track, payout_account_status, sign_payload,
};
use royalties::PayoutAccountStatus;
use secrecy::SecretString;
use support::{
    Fixture, deliver, deliver_shuffled_concurrently, event_payload, fixed, held, pay_what_you_want,
    start_fake,
};

fn session_id_of(checkout_url: &str) -> String {
    checkout_url.rsplit('/').next().unwrap().to_owned()
}

/// Checks out `cart` and has the buyer pay at the fake (events held); returns the order id, the
/// session id and the ids of the events the payment caused.
async fn pay(
    payments: &Payments,
    fake: &FakeStripe,
    listener: UserId,
    cart: &[CartItem],
    timing: PaymentTiming,
) -> (String, String, Vec<String>) {
    let started = payments.checkout(listener, cart).await.unwrap();
    let session_id = session_id_of(&started.checkout_url);
    let outcome = fake
        .complete_checkout_session(&session_id, timing, held())
        .await
        .unwrap();
    (started.order_id, session_id, outcome.events)
}

fn charge_of(fake: &FakeStripe, session_id: &str) -> String {
    let session = fake.object(session_id).unwrap();
    let intent = fake
        .object(session["payment_intent"].as_str().unwrap())
        .unwrap();
    intent["latest_charge"].as_str().unwrap().to_owned()
}

fn release_cart(release: megabox_domain::ReleaseId) -> Vec<CartItem> {
    vec![CartItem {
        item: Item::Release(release),
        offer: None,
    }]
}

fn status_of(fixture: &Fixture, listener: UserId, order_id: &str) -> OrderStatus {
    order(&mut fixture.connection(), listener, order_id)
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_artist_cart_is_bought_through_stripe() {
    for backend in backends() {
        let fixture = Fixture::new(backend);
        let fake = start_fake().await;
        let payments = fixture.stripe(&fake);
        assert!(!payments.is_test_mode());
        let first = fixture.published_release("Ana", fixed(1_000), &[fixed(100)]);
        let second = fixture.published_release("Bo", fixed(900), &[pay_what_you_want(100, 200)]);
        let listener = fixture.user("listener");
        let cart = [
            CartItem {
                item: Item::Release(first.release),
                offer: Some(Cents(5)),
            },
            CartItem {
                item: Item::Track(second.tracks[0]),
                offer: Some(Cents(250)),
            },
        ];
        let (order_id, session_id, events) =
            pay(&payments, &fake, listener, &cart, PaymentTiming::Immediate).await;
        // One session for the whole cart, at the catalog's prices, tied to the order.
        let session = fake.object(&session_id).unwrap();
        assert_eq!(session["amount_total"], 1_250, "{backend:?}");
        assert_eq!(session["metadata"]["order_id"], order_id.as_str());
        assert_eq!(
            status_of(&fixture, listener, &order_id),
            OrderStatus::Pending,
            "paying at the gateway alone changes nothing"
        );

        let payloads: Vec<String> = events
            .iter()
            .map(|event| event_payload(&fake, event))
            .collect();
        let outcomes = deliver_shuffled_concurrently(&payments, &payloads, |_| 4).await;
        assert_eq!(
            outcomes
                .iter()
                .filter(|outcome| matches!(outcome, WebhookOutcome::Applied { .. }))
                .count(),
            1,
            "{outcomes:?}"
        );

        let summary = order(&mut fixture.connection(), listener, &order_id)
            .unwrap()
            .unwrap();
        assert_eq!(
            (summary.status, summary.fee),
            (OrderStatus::Paid, Some(Cents(66))),
            "{backend:?}: the fee of the balance transaction"
        );
        assert!(owns_track(&mut fixture.connection(), listener, first.tracks[0]).unwrap());
        assert!(owns_track(&mut fixture.connection(), listener, second.tracks[0]).unwrap());
        assert_eq!(
            fixture.artist_sales(first.artist),
            (Cents(852), Cents(0)),
            "{backend:?}"
        );
        assert_eq!(
            fixture.artist_sales(second.artist),
            (Cents(213), Cents(0)),
            "{backend:?}"
        );
        fixture.assert_ledger_verifies();
        fake.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_delivered_several_times_shuffled_and_concurrently_has_one_effect() {
    for backend in backends() {
        let fixture = Fixture::new(backend);
        let fake = start_fake().await;
        let payments = fixture.stripe(&fake);
        let release = fixture.published_release("Cy", fixed(1_000), &[fixed(100)]);
        let cart = release_cart(release.release);
        let mut events = Vec::new();
        let mut expected = Vec::new();

        let paid = fixture.user("listener");
        let (paid_order, _, paid_events) =
            pay(&payments, &fake, paid, &cart, PaymentTiming::Immediate).await;
        events.extend(paid_events);
        expected.push((paid, paid_order, OrderStatus::Paid));

        let refunded = fixture.user("listener");
        let (refunded_order, refunded_session, refunded_events) =
            pay(&payments, &fake, refunded, &cart, PaymentTiming::Immediate).await;
        events.extend(refunded_events);
        events.extend(
            fake.refund_charge(&charge_of(&fake, &refunded_session), None, held())
                .await
                .unwrap()
                .events,
        );
        expected.push((refunded, refunded_order, OrderStatus::Refunded));

        let disputed = fixture.user("listener");
        let (disputed_order, disputed_session, disputed_events) =
            pay(&payments, &fake, disputed, &cart, PaymentTiming::Immediate).await;
        events.extend(disputed_events);
        events.extend(
            fake.open_dispute(&charge_of(&fake, &disputed_session), held())
                .await
                .unwrap()
                .events,
        );
        expected.push((disputed, disputed_order, OrderStatus::Disputed));

        let failed = fixture.user("listener");
        let (failed_order, failed_session, failed_events) =
            pay(&payments, &fake, failed, &cart, PaymentTiming::Delayed).await;
        events.extend(failed_events);
        events.extend(
            fake.settle_async_payment(&failed_session, false, held())
                .await
                .unwrap()
                .events,
        );
        expected.push((failed, failed_order, OrderStatus::Failed));

        let settled = fixture.user("listener");
        let (settled_order, settled_session, settled_events) =
            pay(&payments, &fake, settled, &cart, PaymentTiming::Delayed).await;
        events.extend(settled_events);
        events.extend(
            fake.settle_async_payment(&settled_session, true, held())
                .await
                .unwrap()
                .events,
        );
        expected.push((settled, settled_order, OrderStatus::Paid));

        let expired = fixture.user("listener");
        let started = payments.checkout(expired, &cart).await.unwrap();
        events.extend(
            fake.expire_checkout_session(&session_id_of(&started.checkout_url), held())
                .await
                .unwrap()
                .events,
        );
        expected.push((expired, started.order_id, OrderStatus::Canceled));

        let payloads: Vec<String> = events
            .iter()
            .map(|event| event_payload(&fake, event))
            .collect();
        // 2 to 5 copies of each event, all at once, in a random order.
        let outcomes =
            deliver_shuffled_concurrently(&payments, &payloads, |index| 2 + index % 4).await;
        let applied = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, WebhookOutcome::Applied { .. }))
            .count();
        assert_eq!(
            applied,
            events.len(),
            "{backend:?}: each event applied exactly once: {outcomes:?}"
        );
        assert_eq!(
            fixture.count("payment_webhook_events"),
            i64::try_from(events.len()).unwrap()
        );

        let mut connection = fixture.connection();
        for (listener, order_id, status) in &expected {
            assert_eq!(
                status_of(&fixture, *listener, order_id),
                *status,
                "{backend:?}"
            );
            let owns = !entitlements_of(&mut connection, *listener)
                .unwrap()
                .is_empty();
            assert_eq!(owns, *status == OrderStatus::Paid, "{backend:?} {status:?}");
        }
        drop(connection);
        // Four sales of 10.00 (fee 59¢, net 9.41, 90% of it 8.469), two of them reversed: 16.938 → 16.94 remains.
        let (sales, refunds) = fixture.artist_sales(release.artist);
        assert_eq!(
            sales.0 + refunds.0,
            1_694,
            "{backend:?}: {sales:?} {refunds:?}"
        );
        assert!(refunds.0 < 0, "{backend:?}");
        fixture.assert_ledger_verifies();

        // Everything again, one by one: all duplicates, nothing moves.
        for payload in &payloads {
            assert!(matches!(
                deliver(&payments, payload).await,
                WebhookOutcome::Duplicate { .. }
            ));
        }
        assert_eq!(fixture.artist_sales(release.artist), (sales, refunds));
        fake.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refund_that_arrives_before_its_payment_leaves_the_order_refunded() {
    for backend in backends() {
        let fixture = Fixture::new(backend);
        let fake = start_fake().await;
        let payments = fixture.stripe(&fake);
        let release = fixture.published_release("Di", fixed(2_000), &[fixed(100)]);
        let listener = fixture.user("listener");
        let (order_id, session_id, completed) = pay(
            &payments,
            &fake,
            listener,
            &release_cart(release.release),
            PaymentTiming::Immediate,
        )
        .await;
        let refunded = fake
            .refund_charge(&charge_of(&fake, &session_id), None, held())
            .await
            .unwrap()
            .events;

        for event in refunded.iter().chain(&completed) {
            assert!(matches!(
                deliver(&payments, &event_payload(&fake, event)).await,
                WebhookOutcome::Applied { .. }
            ));
            assert_eq!(
                status_of(&fixture, listener, &order_id),
                OrderStatus::Refunded,
                "{backend:?}"
            );
            assert!(
                entitlements_of(&mut fixture.connection(), listener)
                    .unwrap()
                    .is_empty(),
                "{backend:?}"
            );
        }
        // The sale is booked and reversed: the artist keeps nothing.
        let (sales, refunds) = fixture.artist_sales(release.artist);
        assert!(
            sales.0 > 0 && sales.0 + refunds.0 == 0,
            "{backend:?}: {sales:?} {refunds:?}"
        );
        fixture.assert_ledger_verifies();
        fake.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partial_refund_leaves_the_order_paid_for_an_operator() {
    for backend in backends() {
        let fixture = Fixture::new(backend);
        let fake = start_fake().await;
        let payments = fixture.stripe(&fake);
        let release = fixture.published_release("Ha", fixed(1_000), &[fixed(100)]);
        let listener = fixture.user("listener");
        let (order_id, session_id, mut events) = pay(
            &payments,
            &fake,
            listener,
            &release_cart(release.release),
            PaymentTiming::Immediate,
        )
        .await;
        events.extend(
            fake.refund_charge(&charge_of(&fake, &session_id), Some(400), held())
                .await
                .unwrap()
                .events,
        );
        for event in &events {
            assert!(matches!(
                deliver(&payments, &event_payload(&fake, event)).await,
                WebhookOutcome::Applied { .. }
            ));
        }
        assert_eq!(
            status_of(&fixture, listener, &order_id),
            OrderStatus::Paid,
            "{backend:?}"
        );
        assert!(owns_track(&mut fixture.connection(), listener, release.tracks[0]).unwrap());
        assert_eq!(
            fixture.artist_sales(release.artist).1,
            Cents(0),
            "{backend:?}: nothing reversed"
        );
        fake.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_stale_and_malformed_webhooks_are_refused_and_change_nothing() {
    for backend in backends() {
        let fixture = Fixture::new(backend);
        let fake = start_fake().await;
        let payments = fixture.stripe(&fake);
        let release = fixture.published_release("Ed", fixed(1_000), &[fixed(100)]);
        let listener = fixture.user("listener");
        let (order_id, _, events) = pay(
            &payments,
            &fake,
            listener,
            &release_cart(release.release),
            PaymentTiming::Immediate,
        )
        .await;
        let payload = event_payload(&fake, &events[0]);
        let now = chrono::Utc::now().timestamp();
        let secret = SecretString::from(support::WEBHOOK_SECRET.to_owned());
        let forged = SecretString::from("whsec_forged".to_owned());
        let tampered = payload.replacen(
            "checkout.session.completed",
            "checkout.session.completed ",
            1,
        );
        let cases: Vec<(&str, String, Option<String>, SignatureError)> = vec![
            (
                "wrong secret",
                payload.clone(),
                Some(sign_payload(&forged, now, payload.as_bytes())),
                SignatureError::Mismatch,
            ),
            (
                "an hour old",
                payload.clone(),
                Some(sign_payload(&secret, now - 3_600, payload.as_bytes())),
                SignatureError::Stale,
            ),
            (
                "from the future",
                payload.clone(),
                Some(sign_payload(&secret, now + 3_600, payload.as_bytes())),
                SignatureError::Stale,
            ),
            ("unsigned", payload.clone(), None, SignatureError::Missing),
            (
                "tampered",
                tampered,
                Some(sign_payload(&secret, now, payload.as_bytes())),
                SignatureError::Mismatch,
            ),
            (
                "garbage header",
                payload.clone(),
                Some("t=now,v1=nothing".to_owned()),
                SignatureError::Malformed,
            ),
        ];
        for (name, body, header, expected) in cases {
            let result = payments
                .handle_webhook(body.as_bytes(), header.as_deref())
                .await;
            assert!(
                matches!(result, Err(PaymentsError::Signature(error)) if error == expected),
                "{backend:?} {name}: {result:?}"
            );
        }
        for body in [
            "not json",
            r#"{"id": 5, "type": "checkout.session.completed"}"#,
            r#"{"id": "evt_1", "type": "charge.refunded", "data": {}}"#,
        ] {
            let result = payments
                .handle_webhook(
                    body.as_bytes(),
                    Some(&sign_payload(&secret, now, body.as_bytes())),
                )
                .await;
            assert!(
                matches!(result, Err(PaymentsError::MalformedEvent(_))),
                "{backend:?} {body}: {result:?}"
            );
        }
        assert_eq!(
            status_of(&fixture, listener, &order_id),
            OrderStatus::Pending,
            "{backend:?}"
        );
        assert_eq!(
            (
                fixture.count("payment_webhook_events"),
                fixture.count("payment_entitlements")
            ),
            (0, 0)
        );
        assert_eq!(fixture.artist_sales(release.artist), (Cents(0), Cents(0)));

        // Unknown event types are acknowledged and ignored; the genuine event still applies.
        let unknown =
            r#"{"id": "evt_unknown", "type": "invoice.paid", "data": {"object": {"id": "in_1"}}}"#;
        assert!(matches!(
            deliver(&payments, unknown).await,
            WebhookOutcome::Ignored { .. }
        ));
        let foreign_account = r#"{"id": "evt_account", "type": "account.updated", "data": {"object": {"id": "acct_not_ours"}}}"#;
        assert!(matches!(
            deliver(&payments, foreign_account).await,
            WebhookOutcome::Ignored { .. }
        ));
        assert!(matches!(
            deliver(&payments, &payload).await,
            WebhookOutcome::Applied { .. }
        ));
        assert_eq!(status_of(&fixture, listener, &order_id), OrderStatus::Paid);
        fake.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payout_accounts_are_created_once_and_transfers_are_made_once() {
    for backend in backends() {
        let fixture = Fixture::new(backend);
        let fake = start_fake().await;
        let payments = fixture.stripe(&fake);
        let release = fixture.published_release("Fa", fixed(5_000), &[fixed(100)]);
        assert_eq!(
            payout_account_status(&mut fixture.connection(), release.artist).unwrap(),
            None
        );

        let first_link = payments
            .start_payout_onboarding(release.artist)
            .await
            .unwrap();
        let second_link = payments
            .start_payout_onboarding(release.artist)
            .await
            .unwrap();
        let account_of = |link: &str| {
            link.split("/_fake/onboarding/")
                .nth(1)
                .unwrap()
                .split('?')
                .next()
                .unwrap()
                .to_owned()
        };
        let account = account_of(&first_link);
        assert_eq!(
            account,
            account_of(&second_link),
            "{backend:?}: one account per artist"
        );
        assert_eq!(fixture.count("payment_payout_accounts"), 1);
        assert_eq!(
            payout_account_status(&mut fixture.connection(), release.artist).unwrap(),
            Some(PayoutAccountStatus::Pending)
        );

        let ready_events = fake
            .mark_account_ready(&account, held())
            .await
            .unwrap()
            .events;
        let payloads: Vec<String> = ready_events
            .iter()
            .map(|event| event_payload(&fake, event))
            .collect();
        deliver_shuffled_concurrently(&payments, &payloads, |_| 3).await;
        assert_eq!(
            payout_account_status(&mut fixture.connection(), release.artist).unwrap(),
            Some(PayoutAccountStatus::Ready)
        );

        // A sale gives the artist a balance; the payout run transfers it once, however often it runs.
        let listener = fixture.user("listener");
        let (_, _, events) = pay(
            &payments,
            &fake,
            listener,
            &release_cart(release.release),
            PaymentTiming::Immediate,
        )
        .await;
        deliver(&payments, &event_payload(&fake, &events[0])).await;
        fake.add_available_balance(100_000).unwrap();
        for _ in 0..2 {
            let (pool, payments) = (fixture.pool.clone(), payments.clone());
            tokio::task::spawn_blocking(move || {
                royalties::run_payouts(
                    &mut pool.get().unwrap(),
                    payments.payout_gateway(),
                    Cents(1_000),
                )
                .unwrap()
            })
            .await
            .unwrap();
        }
        let transfers = fake.transfers();
        assert_eq!(transfers.len(), 1, "{backend:?}: {transfers:?}");
        let payouts =
            royalties::list_payouts(&mut fixture.connection(), Some(release.artist)).unwrap();
        assert_eq!(payouts.len(), 1);
        assert_eq!(
            fake.transfer_count_for_idempotency_key(&payouts[0].id),
            1,
            "the payout id is the idempotency key"
        );
        assert_eq!(payouts[0].status, royalties::PayoutStatus::Posted);
        fixture.assert_ledger_verifies();
        fake.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_debug_output() {
    let fixture = Fixture::new(megabox_database::Backend::Sqlite);
    let fake = start_fake().await;
    let settings = support::settings(Some(fake.secret_key()), Some(fake.base_url()));
    let rendered = [
        format!("{settings:?}"),
        format!("{:?}", fixture.stripe(&fake)),
        format!("{:?}", fixture.stripe(&fake).gateway()),
        format!("{:?}", fixture.test_mode()),
        format!("{:?}", support::webhook_config()),
    ];
    for text in rendered {
        assert!(
            !text.contains(fake.secret_key()) && !text.contains(support::WEBHOOK_SECRET),
            "{text}"
        );
        assert!(
            text.contains("REDACTED")
                || text.contains("TestModeGateway")
                || text.contains("Stripe"),
            "{text}"
        );
    }
    // Without a configured secret the test mode generates its own, which stays hidden too.
    let mut generated = support::settings(None, None);
    generated.stripe_webhook_secret = None;
    let payments = Payments::new(fixture.pool.clone(), generated).unwrap();
    assert!(!format!("{payments:?}").contains("whsec_test_"));
    // A Stripe key without a webhook secret is a configuration error, not a silent test mode.
    let mut missing = support::settings(Some("sk_test_x"), None);
    missing.stripe_webhook_secret = None;
    assert!(Payments::new(fixture.pool.clone(), missing).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_stored_before_the_gateway_call_and_a_retry_completes_it() {
    for backend in backends() {
        let fixture = Fixture::new(backend);
        let fake = start_fake().await;
        let release = fixture.published_release("Gu", fixed(1_200), &[fixed(100)]);
        let listener = fixture.user("listener");
        let cart = release_cart(release.release);
        // Nothing listens on the discard port: the gateway call fails after the order was stored.
        let unreachable = Payments::new(
            fixture.pool.clone(),
            support::settings(Some(fake.secret_key()), Some("http://127.0.0.1:9/")),
        )
        .unwrap();
        let failed = unreachable.checkout(listener, &cart).await;
        assert!(
            matches!(failed, Err(PaymentsError::Gateway(_))),
            "{backend:?}: {failed:?}"
        );
        assert_eq!(
            (
                fixture.count("payment_orders"),
                fixture.count("payment_order_lines")
            ),
            (1, 1)
        );

        // The listener retries once the gateway is back: the same order gets its one session.
        let payments = fixture.stripe(&fake);
        let started = payments.checkout(listener, &cart).await.unwrap();
        assert_eq!(fixture.count("payment_orders"), 1, "{backend:?}");
        assert_eq!(payments.checkout(listener, &cart).await.unwrap(), started);
        let summary = order(&mut fixture.connection(), listener, &started.order_id)
            .unwrap()
            .unwrap();
        assert_eq!(
            (summary.status, summary.total),
            (OrderStatus::Pending, Cents(1_200))
        );
        assert_eq!(
            fake.object(&session_id_of(&started.checkout_url)).unwrap()["client_reference_id"],
            started.order_id.as_str()
        );
        fake.stop().await;
    }
}
