//! Webhook delivery: every event type the store handles arrives signed so that async-stripe's own
//! webhook code accepts it and parses its object, and the delivery knobs (copies, concurrency,
//! order, delay, forged and stale signatures) behave as the store's reliability tests expect.

#![allow(clippy::unwrap_used)]

mod common;

use common::{WEBHOOK_SECRET, WebhookReceiver};
use fake_stripe::{Delivery, PaymentTiming, Signing};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::time::Duration;

/// Waits until the receiver has `count` requests (background deliveries), or fails.
async fn wait_for(receiver: &WebhookReceiver, count: usize) -> Vec<common::Received> {
    for _ in 0..200 {
        let received = receiver.received();
        if received.len() >= count {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {count} deliveries, got {:?}", receiver.received());
}

fn event_id(received: &common::Received) -> String {
    let payload: serde_json::Value = serde_json::from_str(&received.payload).unwrap();
    payload["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_event_type_verifies_and_parses_with_async_stripe() {
    let (fake, receiver) = WebhookReceiver::with_fake().await;
    let paid = common::create_session(&fake).await;
    let completed = fake
        .complete_checkout_session(&paid, PaymentTiming::Immediate, Delivery::default())
        .await
        .unwrap();
    let delayed_success = common::create_session(&fake).await;
    fake.complete_checkout_session(
        &delayed_success,
        PaymentTiming::Delayed,
        Delivery::default(),
    )
    .await
    .unwrap();
    fake.settle_async_payment(&delayed_success, true, Delivery::default())
        .await
        .unwrap();
    let delayed_failure = common::create_session(&fake).await;
    fake.complete_checkout_session(
        &delayed_failure,
        PaymentTiming::Delayed,
        Delivery::default(),
    )
    .await
    .unwrap();
    fake.settle_async_payment(&delayed_failure, false, Delivery::default())
        .await
        .unwrap();
    let abandoned = common::create_session(&fake).await;
    fake.expire_checkout_session(&abandoned, Delivery::default())
        .await
        .unwrap();
    let intent = fake
        .object(completed.object["payment_intent"].as_str().unwrap())
        .unwrap();
    let charge = intent["latest_charge"].as_str().unwrap().to_owned();
    fake.refund_charge(&charge, Some(100), Delivery::default())
        .await
        .unwrap();
    fake.open_dispute(&charge, Delivery::default())
        .await
        .unwrap();
    common::ready_account(&fake).await;

    let types: Vec<Result<String, String>> = receiver
        .received()
        .into_iter()
        .map(|received| received.verified)
        .collect();
    let expected = [
        "checkout.session.completed",
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.completed",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "charge.refunded",
        "charge.dispute.created",
        "account.updated",
    ];
    assert_eq!(types, expected.map(|event_type| Ok(event_type.to_owned())));
    assert!(
        receiver
            .received()
            .iter()
            .all(|received| received.signature.is_some())
    );
    assert_eq!(
        fake.deliveries()
            .iter()
            .map(|delivery| delivery.status)
            .collect::<Vec<_>>(),
        vec![Some(200); expected.len()]
    );
}

#[tokio::test]
async fn refunds_made_through_the_api_are_announced_in_the_background() {
    let (fake, receiver) = WebhookReceiver::with_fake().await;
    let session = common::create_session(&fake).await;
    let completed = fake
        .complete_checkout_session(&session, PaymentTiming::Immediate, Delivery::default())
        .await
        .unwrap();
    let intent = completed.object["payment_intent"]
        .as_str()
        .unwrap()
        .to_owned();
    let refund = common::post_form(&fake, "v1/refunds", &[("payment_intent", &intent)], None).await;
    assert_eq!(refund.status, 200, "{}", refund.body);
    let received = wait_for(&receiver, 2).await;
    assert_eq!(received[1].verified, Ok("charge.refunded".to_owned()));
    let payload: serde_json::Value = serde_json::from_str(&received[1].payload).unwrap();
    assert_eq!(payload["data"]["object"]["refunded"], json!(true));
}

#[tokio::test]
async fn copies_are_byte_identical_sequential_or_concurrent() {
    let (fake, receiver) = WebhookReceiver::with_fake().await;
    for concurrent in [false, true] {
        let session = common::create_session(&fake).await;
        let delivery = Delivery {
            copies: 3,
            concurrent,
            ..Delivery::default()
        };
        let outcome = fake
            .complete_checkout_session(&session, PaymentTiming::Immediate, delivery)
            .await
            .unwrap();
        assert_eq!(outcome.deliveries.len(), 3);
        assert!(
            outcome
                .deliveries
                .iter()
                .all(|delivery| delivery.status == Some(200)
                    && delivery.event_id == outcome.events[0])
        );
    }
    let received = receiver.received();
    assert_eq!(received.len(), 6);
    for copies in received.chunks(3) {
        assert!(
            copies.iter().all(|copy| copy.payload == copies[0].payload),
            "redeliveries carry the same bytes"
        );
    }
}

#[tokio::test]
async fn forged_stale_and_unsigned_deliveries_fail_verification() {
    let (fake, receiver) = WebhookReceiver::with_fake().await;
    let session = common::create_session(&fake).await;
    let outcome = fake
        .complete_checkout_session(
            &session,
            PaymentTiming::Immediate,
            Delivery {
                hold: true,
                ..Delivery::default()
            },
        )
        .await
        .unwrap();
    assert!(receiver.received().is_empty(), "held events are not sent");
    let cases = [
        (Signing::WrongSecret, "error comparing signatures"),
        (Signing::StaleTimestamp, "over tolerance"),
        (Signing::Unsigned, "unsigned"),
        (Signing::Valid, ""),
    ];
    for (signing, _) in cases {
        let deliveries = fake
            .deliver_events(
                &outcome.events,
                Delivery {
                    signing,
                    ..Delivery::default()
                },
            )
            .await
            .unwrap();
        let expected_status = if signing == Signing::Valid { 200 } else { 400 };
        assert_eq!(deliveries[0].status, Some(expected_status), "{signing:?}");
    }
    let received = receiver.received();
    for ((signing, message), received) in cases.iter().zip(&received) {
        match &received.verified {
            Ok(event_type) => assert_eq!(
                (signing, event_type.as_str()),
                (&Signing::Valid, "checkout.session.completed")
            ),
            Err(error) => assert!(
                error.to_lowercase().contains(message),
                "{signing:?}: {error}"
            ),
        }
    }
}

#[tokio::test]
async fn held_events_arrive_in_the_order_the_test_chooses() {
    let (fake, receiver) = WebhookReceiver::with_fake().await;
    let hold = Delivery {
        hold: true,
        ..Delivery::default()
    };
    let session = common::create_session(&fake).await;
    let completed = fake
        .complete_checkout_session(&session, PaymentTiming::Delayed, hold)
        .await
        .unwrap();
    let succeeded = fake
        .settle_async_payment(&session, true, hold)
        .await
        .unwrap();
    let reversed = vec![succeeded.events[0].clone(), completed.events[0].clone()];
    // Through the HTTP control, as a test in another process would.
    let answer = common::control(
        &fake,
        "_fake/events/deliver",
        json!({ "event_ids": reversed }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let received: Vec<String> = receiver.received().iter().map(event_id).collect();
    assert_eq!(received, reversed);
}

#[tokio::test]
async fn a_delayed_background_delivery_is_overtaken() {
    let (fake, receiver) = WebhookReceiver::with_fake().await;
    let first = common::create_session(&fake).await;
    let second = common::create_session(&fake).await;
    let delayed = Delivery {
        delay_ms: 300,
        background: true,
        ..Delivery::default()
    };
    let early = fake
        .complete_checkout_session(&first, PaymentTiming::Immediate, delayed)
        .await
        .unwrap();
    assert!(
        early.deliveries.is_empty(),
        "a background delivery reports nothing yet"
    );
    let late = fake
        .complete_checkout_session(&second, PaymentTiming::Immediate, Delivery::default())
        .await
        .unwrap();
    let received: Vec<String> = wait_for(&receiver, 2).await.iter().map(event_id).collect();
    assert_eq!(
        received,
        vec![late.events[0].clone(), early.events[0].clone()]
    );
}

#[tokio::test]
async fn signature_header_matches_an_independent_hmac() {
    let (fake, receiver) = WebhookReceiver::with_fake().await;
    let session = common::create_session(&fake).await;
    fake.complete_checkout_session(&session, PaymentTiming::Immediate, Delivery::default())
        .await
        .unwrap();
    let received = &receiver.received()[0];
    let header = received.signature.clone().unwrap();
    let (timestamp, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", received.payload).as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap()).unwrap();
    assert_eq!(
        fake.event_payload(&event_id(received)).as_deref(),
        Some(received.payload.as_str())
    );
    let timestamp: i64 = timestamp.parse().unwrap();
    assert_eq!(
        fake_stripe::sign_webhook(WEBHOOK_SECRET, timestamp, &received.payload),
        header
    );
}

#[tokio::test]
async fn delivery_controls_reject_bad_input() {
    let (fake, _receiver) = WebhookReceiver::with_fake().await;
    let session = common::create_session(&fake).await;
    for delivery in [
        Delivery {
            copies: 0,
            ..Delivery::default()
        },
        Delivery {
            delay_ms: 3_600_000,
            ..Delivery::default()
        },
    ] {
        let error = fake
            .complete_checkout_session(&session, PaymentTiming::Immediate, delivery)
            .await
            .unwrap_err();
        assert_eq!(error.status.as_u16(), 400);
    }
    let open = fake.object(&session).unwrap();
    assert_eq!(open["status"], "open", "a rejected control changes nothing");
    let unknown = fake
        .deliver_events(&["evt_missing".to_owned()], Delivery::default())
        .await
        .unwrap_err();
    assert_eq!(unknown.status.as_u16(), 404);
    let answer = common::control(
        &fake,
        "_fake/events/deliver",
        json!({ "event_ids": [], "surprise": 1 }),
    )
    .await;
    assert_eq!(answer.status, 400);
}
