//! Invalid traffic on both backends: a flagged device or account is refused, and the revenue it
//! generated leaves royalties' pending ad revenue; the operator's list shows what was taken back.

mod common;

use std::net::IpAddr;

use common::*;
use megabox_ads::{
    AdsError, AdsSettings, FlagKind, Reason, flag_account, flag_device, flagged, intake_batch,
};
use megabox_domain::UserId;

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
