//! Settlement on both backends: ad revenue left waiting between the ads tables and the ledger
//! (as a crash between a batch's commit and its ledger entry leaves it) reaches royalties exactly
//! once, even when several servers settle at the same moment.

mod common;

use std::net::IpAddr;

use common::*;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use megabox_ads::{AdsSettings, intake_batch, settle_royalties};
use megabox_domain::UserId;
use royalties::RoyaltySettings;

/// Revenue rows made to wait, and settlers racing for them.
const WAITING_ROWS: i64 = 450;
const SETTLERS: usize = 4;

#[test]
fn concurrent_settlers_record_each_waiting_row_once() {
    on_each_backend(|database| {
        let user = UserId::generate();
        let amount = {
            let connection = &mut *database.connection();
            let fixture = campaign(connection, 200, 10_000);
            let mut agent = pair(connection, user, 1);
            let ip: IpAddr = [198, 51, 100, 7].into();
            intake_batch(
                connection,
                &agent.batch(events(&fixture.creative.id, 1)),
                ip,
                now(),
                &AdsSettings::default(),
                None,
            )
            .unwrap_or_else(|error| panic!("{error}"));
            let recorded = pending_ad_revenue(connection, user);
            assert!(recorded > 0);
            // Copies of the batch's revenue row that never reached royalties.
            for index in 0..WAITING_ROWS {
                diesel::sql_query(
                    "INSERT INTO ads_revenue (source_id, device_id, user_id, campaign_id, amount_micro_cents, occurred_at) \
                     SELECT $1, device_id, user_id, campaign_id, amount_micro_cents, occurred_at FROM ads_revenue WHERE user_id = $2 AND source_id LIKE 'impressions:%'",
                )
                .bind::<Text, _>(format!("waiting:{index:04}"))
                .bind::<Text, _>(user.to_string())
                .execute(connection)
                .unwrap_or_else(|error| panic!("{error}"));
            }
            recorded
        };
        let reports: Vec<usize> = std::thread::scope(|scope| {
            let settlers: Vec<_> = (0..SETTLERS)
                .map(|_| {
                    scope.spawn(|| {
                        let connection = &mut *database.connection();
                        settle_royalties(connection, now(), &RoyaltySettings::default())
                            .map(|report| report.revenue_recorded)
                            .map_err(|error| error.to_string())
                    })
                })
                .collect();
            settlers
                .into_iter()
                .map(|settler| {
                    settler
                        .join()
                        .unwrap_or_else(|_| Err("panicked".to_owned()))
                        .unwrap_or_else(|error| panic!("{error}"))
                })
                .collect()
        });
        assert_eq!(
            reports.iter().sum::<usize>(),
            usize::try_from(WAITING_ROWS).unwrap_or_default(),
            "{:?}: each row claimed once: {reports:?}",
            database.backend
        );
        let connection = &mut *database.connection();
        assert_eq!(
            pending_ad_revenue(connection, user),
            amount * (WAITING_ROWS + 1),
            "{:?}",
            database.backend
        );
        #[derive(QueryableByName)]
        struct Waiting {
            #[diesel(sql_type = BigInt)]
            count: i64,
        }
        let waiting: Waiting = diesel::sql_query(
            "SELECT COUNT(*) AS count FROM ads_revenue WHERE recorded_at IS NULL",
        )
        .get_result(connection)
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(waiting.count, 0);
        assert_eq!(
            settle_royalties(connection, now(), &RoyaltySettings::default())
                .map(|report| report.revenue_recorded)
                .ok(),
            Some(0),
            "nothing twice"
        );
        assert_ledger_verifies(connection, "after settling");
    });
}
