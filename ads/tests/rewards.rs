//! Installer rewards on both backends: the agent-active threshold over 7 days, credits per
//! accepted impressions, and redemptions that never spend more than was earned, even when many
//! run at once; each redemption reaches royalties as weighted plays.

mod common;

use std::net::IpAddr;

use common::*;
use megabox_ads::{
    AdsError, AdsSettings, FreeTierReason, free_tier, installer_status, intake_batch, redeem_credit,
};
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, TrackId, UserId};
use megabox_protocol::CreativeId;
use royalties::RoyaltySettings;

fn settings() -> AdsSettings {
    AdsSettings {
        agent_active_impressions_7d_min: 5,
        impressions_per_credit: 4,
        ..AdsSettings::default()
    }
}

fn report(connection: &mut DbConnection, agent: &mut Agent, creative: &CreativeId, count: usize) {
    let batch = agent.batch(events(creative, count));
    let ip: IpAddr = [203, 0, 113, 1].into();
    let receipt = intake_batch(connection, &batch, ip, now(), &settings(), None)
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(receipt.accepted.len(), count);
}

#[test]
fn agent_active_needs_enough_impressions_in_the_last_seven_days() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let fixture = campaign(connection, 200, 10_000);
        let user = UserId::generate();
        let mut agent = pair(connection, user, 1);
        let active = |connection: &mut DbConnection, at| {
            free_tier(connection, user, false, at, &settings())
                .unwrap_or_else(|error| panic!("{error}"))
                == Some(FreeTierReason::AgentActive)
        };
        assert!(!active(connection, now()));
        report(connection, &mut agent, &fixture.creative.id, 4);
        assert!(!active(connection, now()), "4 < 5");
        report(connection, &mut agent, &fixture.creative.id, 1);
        let status = installer_status(connection, user, false, now(), &settings())
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(status.agent_active);
        assert_eq!(status.free_tier, Some(FreeTierReason::AgentActive));
        assert_eq!(
            (status.accepted_impressions_7d, status.impressions_today),
            (5, 5)
        );
        let day = chrono::TimeDelta::days(1);
        assert!(
            active(connection, now() + day * 6),
            "still inside the 7-day window"
        );
        assert!(
            !active(connection, now() + day * 7),
            "the window has moved past"
        );
        // Another account's impressions do not count for this one.
        assert_eq!(
            free_tier(connection, UserId::generate(), false, now(), &settings()).ok(),
            Some(None)
        );
        // The operator's switch grants the free tier without any impression, and says so.
        let granted = UserId::generate();
        assert_eq!(
            free_tier(connection, granted, true, now(), &settings()).ok(),
            Some(Some(FreeTierReason::Operator))
        );
        let status = installer_status(connection, granted, true, now(), &settings())
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            (status.free_tier, status.agent_active),
            (Some(FreeTierReason::Operator), false)
        );
    });
}

#[test]
fn credits_are_earned_per_impressions_and_never_spent_below_zero() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let fixture = campaign(connection, 200, 10_000);
        let user = UserId::generate();
        let mut agent = pair(connection, user, 1);
        report(connection, &mut agent, &fixture.creative.id, 9);
        let status = installer_status(connection, user, false, now(), &settings())
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!((status.credits_earned, status.credits_available), (2, 2));
        let (track, artist) = (TrackId::generate(), ArtistId::generate());
        let redeem = |connection: &mut DbConnection| {
            redeem_credit(
                connection,
                user,
                track,
                artist,
                now(),
                &settings(),
                &RoyaltySettings::default(),
            )
        };
        assert_eq!(
            redeem(connection)
                .map(|redemption| redemption.credits_available)
                .ok(),
            Some(1)
        );
        assert_eq!(
            redeem(connection)
                .map(|redemption| redemption.credits_available)
                .ok(),
            Some(0)
        );
        assert!(matches!(
            redeem(connection),
            Err(AdsError::NoCreditAvailable)
        ));
        let stranger = redeem_credit(
            connection,
            UserId::generate(),
            track,
            artist,
            now(),
            &settings(),
            &RoyaltySettings::default(),
        );
        assert!(matches!(stranger, Err(AdsError::NoCreditAvailable)));
        // Three more impressions complete the third credit.
        report(connection, &mut agent, &fixture.creative.id, 3);
        let status = installer_status(connection, user, false, now(), &settings())
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!((status.credits_earned, status.credits_available), (3, 1));
        assert_eq!(
            royalty_plays(connection, user),
            2 * 10,
            "two redemptions weigh 10 plays each"
        );
        assert_ledger_verifies(connection, "after redemptions");
    });
}

/// Weight of the listener's plays and redemptions in royalties (its table; tests only).
fn royalty_plays(connection: &mut DbConnection, listener: UserId) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Weight {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        weight: i64,
    }
    diesel::sql_query("SELECT CAST(COALESCE(SUM(weight), 0) AS BIGINT) AS weight FROM royalty_plays WHERE listener_id = $1")
        .bind::<diesel::sql_types::Text, _>(listener.to_string())
        .get_result::<Weight>(connection)
        .map(|row| row.weight)
        .unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn concurrent_redemptions_spend_each_credit_once() {
    const CREDITS: usize = 3;
    const ATTEMPTS: usize = 8;
    on_each_backend(|database| {
        let user = UserId::generate();
        {
            let connection = &mut *database.connection();
            let fixture = campaign(connection, 200, 10_000);
            let mut agent = pair(connection, user, 1);
            report(connection, &mut agent, &fixture.creative.id, 4 * CREDITS);
        }
        let outcomes: Vec<Result<i64, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..ATTEMPTS)
                .map(|_| {
                    scope.spawn(|| {
                        let connection = &mut *database.connection();
                        redeem_credit(
                            connection,
                            user,
                            TrackId::generate(),
                            ArtistId::generate(),
                            now(),
                            &settings(),
                            &RoyaltySettings::default(),
                        )
                        .map(|redemption| redemption.credits_available)
                        .map_err(|error| error.to_string())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|_| Err("thread panicked".to_owned()))
                })
                .collect()
        });
        let succeeded = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        let refused = outcomes
            .iter()
            .filter(|outcome| {
                outcome
                    .as_ref()
                    .is_err_and(|error| error.contains("no download credit"))
            })
            .count();
        assert_eq!(
            (succeeded, refused),
            (CREDITS, ATTEMPTS - CREDITS),
            "{:?}: {outcomes:?}",
            database.backend
        );
        let connection = &mut *database.connection();
        let status = installer_status(connection, user, false, now(), &settings())
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(status.credits_available, 0);
        assert_eq!(
            royalty_plays(connection, user),
            i64::try_from(CREDITS * 10).unwrap_or_default()
        );
    });
}

#[test]
fn a_redemption_in_a_rolled_back_transaction_leaves_nothing() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let fixture = campaign(connection, 200, 10_000);
        let user = UserId::generate();
        let mut agent = pair(connection, user, 1);
        report(connection, &mut agent, &fixture.creative.id, 4);
        // The store spends the credit and grants the download in one transaction; a failure after
        // the spend (here: the grant refused) must take the credit and the royalty record back.
        let outcome: Result<(), AdsError> =
            megabox_database::write_transaction(connection, |connection| {
                redeem_credit(
                    connection,
                    user,
                    TrackId::generate(),
                    ArtistId::generate(),
                    now(),
                    &settings(),
                    &RoyaltySettings::default(),
                )?;
                Err(AdsError::InvalidInput("the grant failed".to_owned()))
            });
        assert!(
            matches!(outcome, Err(AdsError::InvalidInput(_))),
            "{outcome:?}"
        );
        let status = installer_status(connection, user, false, now(), &settings())
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            status.credits_available, 1,
            "{:?}: the credit is back",
            database.backend
        );
        assert_eq!(royalty_plays(connection, user), 0, "no play recorded");
        assert!(
            megabox_ads::list_redemptions(connection, user)
                .unwrap_or_else(|error| panic!("{error}"))
                .is_empty()
        );
    });
}
