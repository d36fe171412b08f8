//! Checkout and the test-mode gateway on both databases: carts priced by the catalog only, refused
//! carts, retries, a two-artist purchase end to end through the webhook path, cancellation, and
//! many listeners buying the same release at once.

#![allow(clippy::unwrap_used)]

mod support;

use megabox_database::Backend;
use megabox_database::testing::backends;
use megabox_domain::{Cents, ReleaseId, TrackId, UserId};
use megabox_payments::{
    CART_ITEMS_MAX, CartItem, Item, OrderStatus, Payments, PaymentsError, TestCheckoutAction,
    WebhookOutcome, entitlements_of, order, owns_item, owns_track, simulated_fee,
};
use support::{Fixture, fixed, pay_what_you_want};

fn cart_item(item: Item, offer: Option<i64>) -> CartItem {
    CartItem {
        item,
        offer: offer.map(Cents),
    }
}

fn session_id_of(checkout_url: &str) -> String {
    checkout_url.rsplit('/').next().unwrap().to_owned()
}

async fn buy_in_test_mode(payments: &Payments, listener: UserId, cart: &[CartItem]) -> String {
    let started = payments.checkout(listener, cart).await.unwrap();
    let outcome = payments
        .complete_test_checkout(
            &session_id_of(&started.checkout_url),
            TestCheckoutAction::Pay,
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, WebhookOutcome::Applied { .. }),
        "{outcome:?}"
    );
    started.order_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_artist_cart_is_bought_end_to_end_in_test_mode() {
    for backend in backends() {
        let fixture = Fixture::new(backend);
        let payments = fixture.test_mode();
        assert!(payments.is_test_mode());
        let first = fixture.published_release("Ana", fixed(1_000), &[fixed(100), fixed(100)]);
        let second = fixture.published_release("Bo", fixed(900), &[pay_what_you_want(100, 200)]);
        let listener = fixture.user("listener");
        let cart = [
            cart_item(Item::Release(first.release), None),
            cart_item(Item::Track(second.tracks[0]), Some(250)),
        ];

        let started = payments.checkout(listener, &cart).await.unwrap();
        assert!(
            started
                .checkout_url
                .starts_with("http://megabox.test/test-checkout/cs_test_"),
            "{}",
            started.checkout_url
        );
        let view = payments
            .test_checkout_view(&session_id_of(&started.checkout_url))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (view.amount, view.status.as_str(), view.lines.len()),
            (Cents(1_250), "open", 2)
        );
        // Nothing is owned, and nothing is booked, until the webhook says so.
        assert!(!owns_track(&mut fixture.connection(), listener, first.tracks[0]).unwrap());
        assert_eq!(fixture.artist_sales(first.artist), (Cents(0), Cents(0)));

        let outcome = payments
            .complete_test_checkout(
                &session_id_of(&started.checkout_url),
                TestCheckoutAction::Pay,
            )
            .await
            .unwrap();
        assert!(
            matches!(outcome, WebhookOutcome::Applied { .. }),
            "{backend:?}: {outcome:?}"
        );

        let mut connection = fixture.connection();
        let summary = order(&mut connection, listener, &started.order_id)
            .unwrap()
            .unwrap();
        assert_eq!(summary.status, OrderStatus::Paid);
        // One session for the cart: one fixed fee. 2.9% of 12.50 is 0.3625 → 36¢, plus 30¢.
        assert_eq!(summary.fee, Some(Cents(66)));
        assert_eq!(simulated_fee(Cents(1_250)), Cents(66));
        let library: Vec<Item> = entitlements_of(&mut connection, listener)
            .unwrap()
            .into_iter()
            .map(|owned| owned.item)
            .collect();
        assert_eq!(library.len(), 2);
        assert!(
            library.contains(&Item::Release(first.release))
                && library.contains(&Item::Track(second.tracks[0]))
        );
        for track in &first.tracks {
            assert!(
                owns_track(&mut connection, listener, *track).unwrap(),
                "{backend:?}: a track of a bought release is owned"
            );
        }
        assert!(owns_track(&mut connection, listener, second.tracks[0]).unwrap());
        assert!(
            !owns_item(&mut connection, listener, Item::Release(second.release)).unwrap(),
            "buying a track is not buying its release"
        );
        assert!(
            !owns_track(&mut connection, fixture.user("listener"), first.tracks[0]).unwrap(),
            "another listener owns nothing"
        );
        // The fee is shared pro rata by the ledger: 66 × 1000/1250 = 52.8 → 53, 66 × 250/1250 = 13.2 → 13.
        // Artists get 90% of net: (1000 − 53) × 0.9 = 852.3 → 852 and (250 − 13) × 0.9 = 213.3 → 213.
        drop(connection);
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

        // The same form posted again is the same event: nothing happens twice.
        let again = payments
            .complete_test_checkout(
                &session_id_of(&started.checkout_url),
                TestCheckoutAction::Pay,
            )
            .await
            .unwrap();
        assert!(
            matches!(again, WebhookOutcome::Duplicate { .. }),
            "{again:?}"
        );
        let refused = payments
            .complete_test_checkout(
                &session_id_of(&started.checkout_url),
                TestCheckoutAction::Cancel,
            )
            .await;
        assert!(
            matches!(refused, Err(PaymentsError::TestSessionClosed)),
            "{refused:?}"
        );
        assert_eq!(fixture.artist_sales(first.artist), (Cents(852), Cents(0)));
        // Owned items cannot be bought again.
        let owned = payments
            .checkout(listener, &[cart_item(Item::Track(first.tracks[1]), None)])
            .await;
        assert!(
            matches!(owned, Err(PaymentsError::AlreadyOwned(Item::Track(_)))),
            "{owned:?}"
        );
        // A track bought alone stays owned when the artist takes its release down.
        let mut connection = fixture.connection();
        catalog::releases::unpublish(&mut connection, second.artist, second.release).unwrap();
        assert!(
            owns_track(&mut connection, listener, second.tracks[0]).unwrap(),
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carts_are_priced_by_the_catalog_and_bad_carts_are_refused() {
    for backend in backends() {
        let fixture = Fixture::new(backend);
        let payments = fixture.test_mode();
        let fixed_release = fixture.published_release("Cy", fixed(1_000), &[fixed(150)]);
        let open_release = fixture.published_release(
            "Di",
            pay_what_you_want(500, 800),
            &[pay_what_you_want(0, 100)],
        );
        let listener = fixture.user("listener");

        // The client's offer on a fixed price changes nothing; a pay-what-you-want offer above the minimum counts.
        let started = payments
            .checkout(
                listener,
                &[
                    cart_item(Item::Release(fixed_release.release), Some(1)),
                    cart_item(Item::Release(open_release.release), Some(777)),
                ],
            )
            .await
            .unwrap();
        let summary = order(&mut fixture.connection(), listener, &started.order_id)
            .unwrap()
            .unwrap();
        assert_eq!(summary.total, Cents(1_777), "{backend:?}");
        let amounts: Vec<(Item, Cents)> = summary
            .lines
            .iter()
            .map(|line| (line.item, line.amount))
            .collect();
        assert!(amounts.contains(&(Item::Release(fixed_release.release), Cents(1_000))));
        assert!(amounts.contains(&(Item::Release(open_release.release), Cents(777))));
        // Without an offer, pay-what-you-want charges the suggested amount.
        let suggested = payments
            .checkout(
                listener,
                &[cart_item(Item::Release(open_release.release), None)],
            )
            .await
            .unwrap();
        assert_eq!(
            order(&mut fixture.connection(), listener, &suggested.order_id)
                .unwrap()
                .unwrap()
                .total,
            Cents(800)
        );

        let unknown_release = Item::Release(ReleaseId::generate());
        let draft = {
            let mut connection = fixture.connection();
            let user = fixture.user("artist");
            let artist = catalog::artists::create_or_get(&mut connection, user, "Ed").unwrap();
            let release = catalog::releases::create_draft(
                &mut connection,
                artist.id,
                &catalog::releases::NewRelease {
                    title: Some("Draft".to_owned()),
                    kind: catalog::releases::ReleaseKind::Single,
                },
            )
            .unwrap();
            Item::Release(release.id)
        };
        let too_many: Vec<CartItem> = (0..=CART_ITEMS_MAX)
            .map(|_| cart_item(Item::Track(TrackId::generate()), None))
            .collect();
        type Case = (&'static str, Vec<CartItem>, fn(&PaymentsError) -> bool);
        let cases: Vec<Case> = vec![
            ("empty", vec![], |error| {
                matches!(error, PaymentsError::EmptyCart)
            }),
            ("too many", too_many, |error| {
                matches!(error, PaymentsError::TooManyItems)
            }),
            (
                "below the minimum",
                vec![cart_item(Item::Release(open_release.release), Some(499))],
                |error| matches!(error, PaymentsError::InvalidOffer { .. }),
            ),
            (
                "negative offer",
                vec![cart_item(Item::Release(open_release.release), Some(-500))],
                |error| matches!(error, PaymentsError::InvalidOffer { .. }),
            ),
            (
                "absurd offer",
                vec![cart_item(
                    Item::Release(open_release.release),
                    Some(i64::MAX),
                )],
                |error| matches!(error, PaymentsError::InvalidOffer { .. }),
            ),
            (
                "the same item twice",
                vec![
                    cart_item(Item::Release(fixed_release.release), None),
                    cart_item(Item::Release(fixed_release.release), Some(5)),
                ],
                |error| matches!(error, PaymentsError::DuplicateItem(_)),
            ),
            (
                "a track with its own release",
                vec![
                    cart_item(Item::Release(fixed_release.release), None),
                    cart_item(Item::Track(fixed_release.tracks[0]), None),
                ],
                |error| matches!(error, PaymentsError::DuplicateItem(Item::Track(_))),
            ),
            (
                "an unknown release",
                vec![cart_item(unknown_release, None)],
                |error| matches!(error, PaymentsError::NotForSale(_)),
            ),
            (
                "an unknown track",
                vec![cart_item(Item::Track(TrackId::generate()), None)],
                |error| matches!(error, PaymentsError::NotForSale(_)),
            ),
            ("a draft", vec![cart_item(draft, None)], |error| {
                matches!(error, PaymentsError::NotForSale(_))
            }),
            (
                "less than the gateway can charge",
                vec![cart_item(Item::Track(open_release.tracks[0]), Some(49))],
                |error| matches!(error, PaymentsError::BelowMinimumCharge),
            ),
        ];
        let orders_before = fixture.count("payment_orders");
        for (name, cart, expected) in cases {
            let result = payments.checkout(listener, &cart).await;
            assert!(
                result.as_ref().is_err_and(expected),
                "{backend:?} {name}: {result:?}"
            );
        }
        assert_eq!(
            fixture.count("payment_orders"),
            orders_before,
            "{backend:?}: refused carts leave no order behind"
        );
        assert_eq!(
            fixture.count("payment_test_sessions"),
            orders_before,
            "{backend:?}: nor a session"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_checkout_returns_the_same_order_and_canceling_ends_it() {
    for backend in backends() {
        let fixture = Fixture::new(backend);
        let payments = fixture.test_mode();
        let release = fixture.published_release("Fa", pay_what_you_want(300, 500), &[fixed(100)]);
        let listener = fixture.user("listener");
        let cart = [cart_item(Item::Release(release.release), Some(400))];

        // A double submit: the same cart at once, several times.
        let attempts: Vec<_> = (0..5)
            .map(|_| {
                let payments = payments.clone();
                tokio::spawn(async move { payments.checkout(listener, &cart).await.unwrap() })
            })
            .collect();
        let mut started = Vec::new();
        for attempt in attempts {
            started.push(attempt.await.unwrap());
        }
        let first = started[0].clone();
        assert!(
            started.iter().all(|other| *other == first),
            "{backend:?}: {started:?}"
        );
        let retried = payments.checkout(listener, &cart).await.unwrap();
        assert_eq!(first, retried, "{backend:?}");
        let other_amount = payments
            .checkout(
                listener,
                &[cart_item(Item::Release(release.release), Some(450))],
            )
            .await
            .unwrap();
        assert_ne!(
            first.order_id, other_amount.order_id,
            "a different amount is a different cart"
        );
        let someone_else = payments
            .checkout(fixture.user("listener"), &cart)
            .await
            .unwrap();
        assert_ne!(first.order_id, someone_else.order_id);
        assert_eq!(fixture.count("payment_test_sessions"), 3);

        let outcome = payments
            .complete_test_checkout(
                &session_id_of(&first.checkout_url),
                TestCheckoutAction::Cancel,
            )
            .await
            .unwrap();
        assert!(
            matches!(outcome, WebhookOutcome::Applied { .. }),
            "{outcome:?}"
        );
        let mut connection = fixture.connection();
        assert_eq!(
            order(&mut connection, listener, &first.order_id)
                .unwrap()
                .unwrap()
                .status,
            OrderStatus::Canceled
        );
        assert!(
            entitlements_of(&mut connection, listener)
                .unwrap()
                .is_empty()
        );
        drop(connection);
        let paid_after_cancel = payments
            .complete_test_checkout(&session_id_of(&first.checkout_url), TestCheckoutAction::Pay)
            .await;
        assert!(
            matches!(paid_after_cancel, Err(PaymentsError::TestSessionClosed)),
            "{paid_after_cancel:?}"
        );
        let unknown = payments
            .complete_test_checkout("cs_test_unknown", TestCheckoutAction::Pay)
            .await;
        assert!(
            matches!(unknown, Err(PaymentsError::TestSessionNotFound)),
            "{unknown:?}"
        );
        // A canceled order is not reused: the same cart starts a new one.
        let fresh = payments.checkout(listener, &cart).await.unwrap();
        assert_ne!(fresh.order_id, first.order_id);
        // Another listener cannot see the order.
        assert!(
            order(
                &mut fixture.connection(),
                UserId::generate(),
                &first.order_id
            )
            .unwrap()
            .is_none()
        );
        assert_eq!(fixture.artist_sales(release.artist), (Cents(0), Cents(0)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_listeners_buy_the_same_release_at_once_and_each_pays_once() {
    for backend in backends() {
        // SQLite serialises writers; fewer buyers keep the test quick while still racing.
        let buyers = match backend {
            Backend::Postgres => 100,
            Backend::Sqlite => 40,
        };
        let fixture = Fixture::new(backend);
        let payments = fixture.test_mode();
        let release = fixture.published_release("Gu", fixed(700), &[fixed(100)]);
        let listeners: Vec<UserId> = (0..buyers).map(|_| UserId::generate()).collect();
        let tasks: Vec<_> = listeners
            .iter()
            .map(|listener| {
                let payments = payments.clone();
                let listener = *listener;
                let item = Item::Release(release.release);
                tokio::spawn(async move {
                    buy_in_test_mode(&payments, listener, &[cart_item(item, None)]).await
                })
            })
            .collect();
        let mut order_ids = Vec::new();
        for task in tasks {
            order_ids.push(task.await.unwrap());
        }
        order_ids.sort();
        order_ids.dedup();
        assert_eq!(
            order_ids.len(),
            buyers,
            "{backend:?}: one order per listener"
        );
        let mut connection = fixture.connection();
        for listener in &listeners {
            assert_eq!(
                entitlements_of(&mut connection, *listener).unwrap().len(),
                1,
                "{backend:?}"
            );
        }
        drop(connection);
        assert_eq!(
            fixture.count("payment_entitlements"),
            i64::try_from(buyers).unwrap()
        );
        assert_eq!(
            fixture.count("payment_webhook_events"),
            i64::try_from(buyers).unwrap()
        );
        // Each sale: 700 − (20 + 30) fee = 650 net, 585 to the artist.
        assert_eq!(
            fixture.artist_sales(release.artist),
            (Cents(585 * i64::try_from(buyers).unwrap()), Cents(0)),
            "{backend:?}"
        );
        fixture.assert_ledger_verifies();
    }
}
