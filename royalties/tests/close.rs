//! Period close: idempotent, resumable after a crash between its two steps, and the two
//! allocation models agree when every installer plays the same mix of artists.

mod common;

use common::{artist, assert_verified, database, day, listener};
use diesel::RunQueryDsl;
use megabox_database::testing::backends;
use megabox_domain::{Cents, MicroCents, TrackId};
use proptest::prelude::*;
use royalties::{
    AdRevenueInput, AllocationModel, Period, PeriodClose, PlayInput, RoyaltySettings, close_period,
    earnings, record_ad_revenue, record_qualifying_play,
};

fn november() -> Period {
    Period::new(2026, 11).unwrap_or_else(|error| panic!("{error}"))
}

/// Records, for each installer, its revenue and `mix` plays (artist, count) in November.
fn record_installers(
    connection: &mut megabox_database::DbConnection,
    revenues: &[i64],
    mix: &[(u32, u32)],
) {
    for (installer, revenue) in (1..).zip(revenues) {
        let event = AdRevenueInput {
            event_id: format!("event-{installer}"),
            installer: listener(installer),
            campaign_id: "campaign".to_owned(),
            amount: MicroCents(*revenue),
            occurred_at: day(11, 2),
        };
        record_ad_revenue(connection, &event).unwrap_or_else(|error| panic!("{error}"));
        for (artist_index, count) in mix {
            for play in 0..*count {
                let input = PlayInput {
                    play_id: format!("play-{installer}-{artist_index}-{play}"),
                    listener: listener(installer),
                    track: TrackId::generate(),
                    artist: artist(*artist_index),
                    occurred_at: day(11, 3),
                };
                record_qualifying_play(connection, &input)
                    .unwrap_or_else(|error| panic!("{error}"));
            }
        }
    }
}

fn ad_shares(
    connection: &mut megabox_database::DbConnection,
    artists: &[(u32, u32)],
) -> Vec<Cents> {
    artists
        .iter()
        .map(|(artist_index, _)| {
            earnings(connection, artist(*artist_index))
                .unwrap_or_else(|error| panic!("{error}"))
                .first()
                .map_or(Cents::ZERO, |period| period.ad_shares)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// With the same mix for everyone, each installer's revenue splits in the mix's proportions,
    /// which are the proportions of all plays: the two models give the same cents. Revenues are
    /// multiples of the mix's total so that no installer's split rounds.
    #[test]
    fn user_centric_and_pro_rata_agree_when_everyone_plays_the_same_mix(
        multiples in proptest::collection::vec(1_i64..5_000_000, 1..4),
        mix in proptest::collection::vec(1_u32..4, 1..4),
    ) {
        let mix: Vec<(u32, u32)> = (1..).zip(mix).collect();
        let plays_per_installer: i64 = mix.iter().map(|(_, count)| i64::from(*count)).sum();
        let revenues: Vec<i64> = multiples.iter().map(|multiple| multiple * plays_per_installer).collect();
        for backend in backends() {
            let mut results = Vec::new();
            for model in [AllocationModel::UserCentric, AllocationModel::ProRata] {
                let (_database, mut connection) = database(backend);
                record_installers(&mut connection, &revenues, &mix);
                let close = close_period(&mut connection, november(), model, &RoyaltySettings::default())
                    .map_err(|error| TestCaseError::fail(error.to_string()))?;
                prop_assert_eq!(close.model, model);
                results.push((close.pool, close.artists_total, ad_shares(&mut connection, &mix)));
                assert_verified(&mut connection, "after close");
            }
            prop_assert_eq!(&results[0], &results[1], "{:?}", backend);
        }
    }
}

#[test]
fn close_is_idempotent_and_resumes_after_a_crash_between_its_steps() {
    for backend in backends() {
        let settings = RoyaltySettings::default();
        let mix = [(1, 2), (2, 1)];
        // A clean close, closed twice.
        let (_clean_database, mut clean) = database(backend);
        record_installers(&mut clean, &[1_234_567_891, 987_654_321], &mix);
        let first = close_period(
            &mut clean,
            november(),
            AllocationModel::UserCentric,
            &settings,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert!(!first.already_closed);
        let again = close_period(&mut clean, november(), AllocationModel::ProRata, &settings)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            again,
            PeriodClose {
                already_closed: true,
                ..first.clone()
            },
            "{backend:?}: a second close changes nothing"
        );
        assert_eq!(
            (first.pool, first.carried),
            (Cents(2222), MicroCents(222_212)),
            "{backend:?}: 2,222,222,212 micro-cents"
        );

        // The same data, crashed after the first step committed `closing`: the re-run finishes
        // the close with the model it began with and the same cents.
        let (_crashed_database, mut crashed) = database(backend);
        record_installers(&mut crashed, &[1_234_567_891, 987_654_321], &mix);
        diesel::sql_query(
            "INSERT INTO royalty_periods (period, status, allocation_model, artist_share_bps) \
             VALUES ('2026-11', 'closing', 'user_centric', 9000) \
             ON CONFLICT (period) DO UPDATE SET status = 'closing', allocation_model = 'user_centric', artist_share_bps = 9000",
        )
        .execute(&mut crashed)
        .unwrap_or_else(|error| panic!("{error}"));
        let resumed = close_period(
            &mut crashed,
            november(),
            AllocationModel::ProRata,
            &settings,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(resumed, first, "{backend:?}");
        assert_eq!(
            ad_shares(&mut crashed, &mix),
            ad_shares(&mut clean, &mix),
            "{backend:?}"
        );
        assert_verified(&mut crashed, "after the resumed close");
        assert_verified(&mut clean, "after the clean close");
    }
}

#[test]
fn a_period_without_plays_carries_everything() {
    for backend in backends() {
        let (_database, mut connection) = database(backend);
        record_installers(&mut connection, &[5_000_000], &[]);
        let close = close_period(
            &mut connection,
            november(),
            AllocationModel::UserCentric,
            &RoyaltySettings::default(),
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            (close.pool, close.carried),
            (Cents::ZERO, MicroCents(5_000_000)),
            "{backend:?}"
        );
        assert_verified(&mut connection, "after an empty close");
    }
}
