//! Invalid traffic on both backends: a flagged device or account is refused, the revenue it
//! generated leaves royalties' pending ad revenue and its spend returns to the campaign, a
//! flagged account loses its free tier and unspent credits; the operator's list shows what was
//! taken back.

mod common;

use std::net::IpAddr;

use common::*;
use megabox_ads::{
    AdsError, AdsSettings, FlagKind, FreeTierReason, Reason, flag_account, flag_device, flagged,
    installer_status, intake_batch, redeem_credit,
};
use megabox_domain::{ArtistId, TrackId, UserId};
use royalties::RoyaltySettings;

fn ip() -> IpAddr {
    [192, 0, 2, 1].into()
}

#[test]
fn a_flagged_device_is_refused_and_its_pending_revenue_clawed_back() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let fixture = campaign(connection, 200, 10_000);
        let user = UserId::generate();
        let mut bad = pair(connection, user, 1);
        let mut good = pair(connection, user, 2);
        for agent in [&mut bad, &mut good] {
            let batch = agent.batch(events(&fixture.creative.id, 3));
            intake_batch(
                connection,
                &batch,
                ip(),
                now(),
                &AdsSettings::default(),
                None,
            )
            .unwrap_or_else(|error| panic!("{error}"));
        }
        assert_eq!(pending_ad_revenue(connection, user), 6 * 200_000);
        assert_eq!(spent(connection, fixture.campaign), 6 * 200_000);

        let flag = flag_device(connection, bad.device.id, "click farm", now())
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            (flag.kind, flag.clawed_back.0),
            (FlagKind::Device, 3 * 200_000)
        );
        assert_eq!(
            pending_ad_revenue(connection, user),
            3 * 200_000,
            "only the good device's revenue stays"
        );
        assert_eq!(
            spent(connection, fixture.campaign),
            3 * 200_000,
            "the flagged device's spend is back in the budget"
        );
        // Flagging again finishes nothing twice.
        flag_device(connection, bad.device.id, "again", now())
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(pending_ad_revenue(connection, user), 3 * 200_000);

        let batch = bad.batch(events(&fixture.creative.id, 1));
        let refused = intake_batch(
            connection,
            &batch,
            ip(),
            now(),
            &AdsSettings::default(),
            None,
        );
        assert!(
            matches!(refused, Err(AdsError::BatchRefused(Reason::FlaggedDevice))),
            "{refused:?}"
        );
        let batch = good.batch(events(&fixture.creative.id, 1));
        assert!(
            intake_batch(
                connection,
                &batch,
                ip(),
                now(),
                &AdsSettings::default(),
                None
            )
            .is_ok()
        );

        flag_account(connection, user, "same operator", now())
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(pending_ad_revenue(connection, user), 0);
        let batch = good.batch(events(&fixture.creative.id, 1));
        let refused = intake_batch(
            connection,
            &batch,
            ip(),
            now(),
            &AdsSettings::default(),
            None,
        );
        assert!(
            matches!(refused, Err(AdsError::BatchRefused(Reason::FlaggedDevice))),
            "{refused:?}"
        );

        let listed = flagged(connection).unwrap_or_else(|error| panic!("{error}"));
        let summary: Vec<(FlagKind, String, i64)> = listed
            .iter()
            .map(|flag| (flag.kind, flag.reason.clone(), flag.clawed_back.0))
            .collect();
        assert_eq!(summary.len(), 2);
        assert!(summary.contains(&(FlagKind::Device, "click farm".to_owned(), 3 * 200_000)));
        assert!(summary.contains(&(FlagKind::Account, "same operator".to_owned(), 7 * 200_000)));
        assert!(matches!(
            flag_device(connection, bad.device.id, "  ", now()),
            Err(AdsError::InvalidInput(_))
        ));
        assert_ledger_verifies(connection, "after clawbacks");
    });
}

#[test]
fn a_flagged_account_loses_its_free_tier_and_unspent_credits() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let settings = AdsSettings {
            agent_active_impressions_7d_min: 5,
            impressions_per_credit: 4,
            ..AdsSettings::default()
        };
        let fixture = campaign(connection, 200, 10_000);
        let user = UserId::generate();
        let honest = UserId::generate();
        let mut agent = pair(connection, user, 1);
        let mut honest_agent = pair(connection, honest, 2);
        for (agent, address) in [
            (&mut agent, [192, 0, 2, 1]),
            (&mut honest_agent, [192, 0, 2, 2]),
        ] {
            let batch = agent.batch(events(&fixture.creative.id, 9));
            intake_batch(connection, &batch, address.into(), now(), &settings, None)
                .unwrap_or_else(|error| panic!("{error}"));
        }
        let status = |connection: &mut _, user| {
            installer_status(connection, user, false, now(), &settings)
                .unwrap_or_else(|error| panic!("{error}"))
        };
        let before = status(connection, user);
        assert_eq!(
            (before.free_tier, before.credits_available),
            (Some(FreeTierReason::AgentActive), 2)
        );

        flag_account(connection, user, "scripted agent", now())
            .unwrap_or_else(|error| panic!("{error}"));
        let after = status(connection, user);
        assert_eq!(
            (after.free_tier, after.agent_active, after.credits_available),
            (None, false, 0)
        );
        let redeemed = redeem_credit(
            connection,
            user,
            TrackId::generate(),
            ArtistId::generate(),
            now(),
            &settings,
            &RoyaltySettings::default(),
        );
        assert!(
            matches!(redeemed, Err(AdsError::NoCreditAvailable)),
            "{redeemed:?}"
        );
        assert_eq!(
            spent(connection, fixture.campaign),
            9 * 200_000,
            "only the honest installer's impressions stay charged"
        );
        let untouched = status(connection, honest);
        assert_eq!(
            (untouched.free_tier, untouched.credits_available),
            (Some(FreeTierReason::AgentActive), 2)
        );
        assert_ledger_verifies(connection, "after the account's clawback");
    });
}
