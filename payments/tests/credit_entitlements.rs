//! Tracks redeemed with an installer's download credit, on both databases: owned like bought
//! ones (library, `owns_track`, no second purchase), granted once per listener and track, and
//! only to the listener who redeemed.

#![allow(clippy::unwrap_used)]

mod support;

use megabox_database::testing::backends;
use megabox_payments::{
    CartItem, EntitlementSource, Item, PaymentsError, entitlements_of, grant_for_credit, owns_track,
};
use support::{Fixture, fixed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credit_grant_owns_the_track_once() {
    for backend in backends() {
        let fixture = Fixture::new(backend);
        let release = fixture.published_release("Ana", fixed(1_000), &[fixed(100), fixed(100)]);
        let (listener, stranger) = (fixture.user("listener"), fixture.user("listener"));
        let track = release.tracks[0];
        let now = chrono::Utc::now().naive_utc();
        {
            let connection = &mut *fixture.connection();
            assert!(!owns_track(connection, listener, track).unwrap());
            grant_for_credit(connection, listener, track, "redemption-1", now).unwrap();
            assert!(
                owns_track(connection, listener, track).unwrap(),
                "{backend:?}"
            );
            assert!(
                !owns_track(connection, stranger, track).unwrap(),
                "only the listener who redeemed"
            );
            assert!(
                !owns_track(connection, listener, release.tracks[1]).unwrap(),
                "only that track"
            );
            let again = grant_for_credit(connection, listener, track, "redemption-2", now);
            assert!(
                matches!(again, Err(PaymentsError::AlreadyOwned(Item::Track(owned))) if owned == track),
                "{again:?}"
            );
            let library = entitlements_of(connection, listener).unwrap();
            assert_eq!(library.len(), 1, "{library:?}");
            assert_eq!(
                (library[0].item, &library[0].source),
                (
                    Item::Track(track),
                    &EntitlementSource::CreditRedemption("redemption-1".to_owned())
                )
            );
            assert!(entitlements_of(connection, stranger).unwrap().is_empty());
        }
        let bought_again = fixture
            .test_mode()
            .checkout(
                listener,
                &[CartItem {
                    item: Item::Track(track),
                    offer: None,
                }],
            )
            .await;
        assert!(
            matches!(bought_again, Err(PaymentsError::AlreadyOwned(_))),
            "a redeemed track is not sold again: {bought_again:?}"
        );
    }
}
