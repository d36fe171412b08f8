//! Releases and tracks through the data API on every backend: who may see and change what,
//! the draft → published → unpublished life cycle, publishing's checks and price rules.

mod catalog_support;

use catalog::CatalogError;
use catalog::PublishProblem;
use catalog::analysis::Tags;
use catalog::pricing::Price;
use catalog::releases::{self, NewRelease, ReleaseKind, ReleaseState, ReleaseUpdate};
use catalog::tracks::{self, TrackUpdate};
use catalog_support::{TestResult, fixtures};
use megabox_domain::{Cents, ReleaseId, TrackId};

fn is_not_found<T: std::fmt::Debug>(result: &Result<T, CatalogError>) -> bool {
    matches!(result, Err(CatalogError::NotFound { .. }))
}

#[test]
fn another_artist_cannot_see_or_change_a_release() -> TestResult {
    for fixture in fixtures()? {
        let owner = fixture.artist("Owner")?;
        let stranger = fixture.artist("Stranger")?;
        let draft = fixture.complete_draft(&owner, "Secret Album", &["One"], 1)?;
        let track = releases::release_for_owner(&mut *fixture.connection()?, owner.id, draft.id)?
            .tracks[0]
            .id;
        let connection = &mut *fixture.connection()?;

        assert!(is_not_found(&releases::release_for_owner(
            connection,
            stranger.id,
            draft.id
        )));
        assert!(
            is_not_found(&releases::public_release(connection, draft.id)),
            "drafts are not public"
        );
        assert!(is_not_found(&releases::update_release(
            connection,
            stranger.id,
            draft.id,
            &ReleaseUpdate {
                title: Some("Mine".into()),
                ..ReleaseUpdate::default()
            }
        )));
        assert!(is_not_found(&releases::publish(
            connection,
            stranger.id,
            draft.id
        )));
        assert!(is_not_found(&tracks::update_track(
            connection,
            stranger.id,
            track,
            &TrackUpdate {
                title: Some("Mine".into()),
                ..TrackUpdate::default()
            }
        )));
        assert!(is_not_found(&tracks::reorder_tracks(
            connection,
            stranger.id,
            draft.id,
            &[track]
        )));
        assert!(is_not_found(&tracks::track_media(
            connection,
            track,
            Some(stranger.id)
        )));
        assert!(is_not_found(&tracks::track_media(connection, track, None)));
        assert!(
            is_not_found(&releases::price_of_release(connection, draft.id)),
            "checkout cannot buy a draft"
        );
        assert!(is_not_found(&tracks::price_of_track(connection, track)));
        let stranger_upload = fixture.ingest(&stranger, draft.id, 99, Tags::default());
        assert!(
            is_not_found(&stranger_upload),
            "cannot upload into someone else's release"
        );
        // A release that does not exist looks exactly the same.
        assert!(is_not_found(&releases::release_for_owner(
            connection,
            owner.id,
            ReleaseId::generate()
        )));
        assert!(is_not_found(&tracks::update_track(
            connection,
            owner.id,
            TrackId::generate(),
            &TrackUpdate::default()
        )));

        let unchanged = releases::release_for_owner(connection, owner.id, draft.id)?;
        assert_eq!(unchanged.release.title.as_deref(), Some("Secret Album"));
        assert_eq!(unchanged.release.state, ReleaseState::Draft);
        assert_eq!(unchanged.tracks[0].title, "One");
        assert!(
            tracks::track_media(connection, track, Some(owner.id)).is_ok(),
            "the owner can play their draft"
        );
    }
    Ok(())
}

#[test]
fn releases_move_through_their_life_cycle() -> TestResult {
    for fixture in fixtures()? {
        let artist = fixture.artist("Cycler")?;
        let release = fixture.complete_draft(&artist, "Round Trip", &["A", "B"], 1)?;
        let connection = &mut *fixture.connection()?;
        let transition = |result: Result<releases::Release, CatalogError>| match result {
            Ok(release) => Ok(release.state),
            Err(CatalogError::InvalidTransition { from, to }) => Err((from, to)),
            Err(other) => panic!("unexpected error {other}"),
        };
        use ReleaseState::{Draft, Published, Unpublished};
        assert_eq!(
            transition(releases::unpublish(connection, artist.id, release.id)),
            Err((Draft, Unpublished))
        );
        assert_eq!(
            transition(releases::publish(connection, artist.id, release.id)),
            Ok(Published)
        );
        let first_published_at = releases::public_release(connection, release.id)?
            .release
            .published_at;
        assert!(first_published_at.is_some());
        assert_eq!(
            transition(releases::publish(connection, artist.id, release.id)),
            Err((Published, Published))
        );
        assert_eq!(
            transition(releases::unpublish(connection, artist.id, release.id)),
            Ok(Unpublished)
        );
        assert!(
            is_not_found(&releases::public_release(connection, release.id)),
            "unpublished releases leave the catalog"
        );
        assert!(is_not_found(&releases::price_of_release(
            connection, release.id
        )));
        assert_eq!(
            transition(releases::unpublish(connection, artist.id, release.id)),
            Err((Unpublished, Unpublished))
        );
        assert_eq!(
            transition(releases::publish(connection, artist.id, release.id)),
            Ok(Published)
        );
        let republished = releases::public_release(connection, release.id)?;
        assert_eq!(
            republished.release.published_at, first_published_at,
            "republishing keeps the release's place"
        );
        assert_eq!(
            republished
                .tracks
                .iter()
                .map(|track| track.title.as_str())
                .collect::<Vec<_>>(),
            ["A", "B"]
        );
        assert_eq!(
            releases::price_of_release(connection, release.id)?,
            Price::pay_what_you_want(Cents(500), Cents(800))?
        );
        assert_eq!(
            tracks::price_of_track(connection, republished.tracks[0].id)?,
            Price::fixed(Cents(100))?
        );
    }
    Ok(())
}

#[test]
fn publishing_requires_a_complete_release() -> TestResult {
    for fixture in fixtures()? {
        let artist = fixture.artist("Hasty")?;
        let connection = &mut *fixture.connection()?;
        let empty = releases::create_draft(
            connection,
            artist.id,
            &NewRelease {
                title: None,
                kind: ReleaseKind::Single,
            },
        )?;
        let problems = |result: Result<releases::Release, CatalogError>| match result {
            Err(CatalogError::NotPublishable { problems }) => problems,
            other => panic!("expected NotPublishable, got {other:?}"),
        };
        assert_eq!(
            problems(releases::publish(connection, artist.id, empty.id)),
            [
                PublishProblem::MissingTitle,
                PublishProblem::NoTracks,
                PublishProblem::ReleaseUnpriced
            ]
        );
        let track = fixture
            .ingest(
                &artist,
                empty.id,
                7,
                Tags {
                    album: Some("From The Tag".into()),
                    ..Tags::default()
                },
            )?
            .track;
        assert_eq!(
            problems(releases::publish(connection, artist.id, empty.id)),
            [
                PublishProblem::ReleaseUnpriced,
                PublishProblem::TrackUnpriced(track.id)
            ]
        );
        releases::update_release(
            connection,
            artist.id,
            empty.id,
            &ReleaseUpdate {
                price: Some(Some(Price::fixed(Cents(300))?)),
                ..ReleaseUpdate::default()
            },
        )?;
        assert_eq!(
            problems(releases::publish(connection, artist.id, empty.id)),
            [PublishProblem::TrackUnpriced(track.id)]
        );
        assert_eq!(
            releases::release_for_owner(connection, artist.id, empty.id)?
                .release
                .state,
            ReleaseState::Draft,
            "a refused publish changes nothing"
        );
        tracks::update_track(
            connection,
            artist.id,
            track.id,
            &TrackUpdate {
                price: Some(Some(Price::pay_what_you_want(Cents(0), Cents(100))?)),
                ..TrackUpdate::default()
            },
        )?;
        let published = releases::publish(connection, artist.id, empty.id)?;
        assert_eq!(published.title.as_deref(), Some("From The Tag"));

        // Once published, a release must stay complete.
        let clear_price = ReleaseUpdate {
            price: Some(None),
            ..ReleaseUpdate::default()
        };
        assert_eq!(
            problems(releases::update_release(
                connection,
                artist.id,
                empty.id,
                &clear_price
            )),
            [PublishProblem::ReleaseUnpriced]
        );
        let clear_track_price = TrackUpdate {
            price: Some(None),
            ..TrackUpdate::default()
        };
        assert!(matches!(
            tracks::update_track(connection, artist.id, track.id, &clear_track_price),
            Err(CatalogError::NotPublishable { .. })
        ));
        assert_eq!(
            releases::price_of_release(connection, empty.id)?,
            Price::fixed(Cents(300))?
        );
        assert!(
            matches!(
                fixture.ingest(&artist, empty.id, 8, Tags::default()),
                Err(CatalogError::Invalid {
                    field: "release",
                    ..
                })
            ),
            "published releases take no uploads"
        );
    }
    Ok(())
}

#[test]
fn edits_are_validated_and_stored() -> TestResult {
    for fixture in fixtures()? {
        let artist = fixture.artist("Editor")?;
        let release = fixture.complete_draft(&artist, "Draft", &["One", "Two", "Three"], 1)?;
        let connection = &mut *fixture.connection()?;
        let invalid_updates = [
            ReleaseUpdate {
                title: Some("   ".into()),
                ..ReleaseUpdate::default()
            },
            ReleaseUpdate {
                title: Some("x".repeat(201)),
                ..ReleaseUpdate::default()
            },
            ReleaseUpdate {
                title: Some("bell\u{7}".into()),
                ..ReleaseUpdate::default()
            },
            ReleaseUpdate {
                credits: Some("\u{0}".into()),
                ..ReleaseUpdate::default()
            },
        ];
        for update in &invalid_updates {
            assert!(
                matches!(
                    releases::update_release(connection, artist.id, release.id, update),
                    Err(CatalogError::Invalid { .. })
                ),
                "{update:?}"
            );
        }
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 21);
        let update = ReleaseUpdate {
            title: Some("  Final Title ".into()),
            kind: Some(ReleaseKind::Ep),
            release_date: Some(date),
            credits: Some("Mixed by Someone\nMastered by Else".into()),
            price: None,
            tags: None,
        };
        let updated = releases::update_release(connection, artist.id, release.id, &update)?;
        let stored = releases::release_for_owner(connection, artist.id, release.id)?;
        assert_eq!(stored.release, updated);
        assert_eq!(
            (
                stored.release.title.as_deref(),
                stored.release.kind,
                stored.release.release_date
            ),
            (Some("Final Title"), ReleaseKind::Ep, date)
        );
        assert_eq!(stored.release.credits, "Mixed by Someone\nMastered by Else");
        assert_eq!(
            stored.release.price,
            Some(Price::pay_what_you_want(Cents(500), Cents(800))?),
            "fields not named stay"
        );

        let ids: Vec<TrackId> = stored.tracks.iter().map(|track| track.id).collect();
        let isrc_update = TrackUpdate {
            isrc: Some(Some("us-rc1-76-07839".into())),
            credits: Some("Guitar: Me".into()),
            ..TrackUpdate::default()
        };
        let track = tracks::update_track(connection, artist.id, ids[0], &isrc_update)?;
        assert_eq!(
            (
                track.isrc.as_ref().map(|isrc| isrc.as_str()),
                track.credits.as_str()
            ),
            (Some("USRC17607839"), "Guitar: Me")
        );
        let bad_isrc = TrackUpdate {
            isrc: Some(Some("not an isrc".into())),
            ..TrackUpdate::default()
        };
        assert!(matches!(
            tracks::update_track(connection, artist.id, ids[0], &bad_isrc),
            Err(CatalogError::Invalid { field: "isrc", .. })
        ));

        let reordered =
            tracks::reorder_tracks(connection, artist.id, release.id, &[ids[2], ids[0], ids[1]])?;
        assert_eq!(
            reordered
                .iter()
                .map(|track| (track.position, track.title.as_str()))
                .collect::<Vec<_>>(),
            [(1, "Three"), (2, "One"), (3, "Two")]
        );
        for bad_order in [
            vec![ids[0], ids[1]],
            vec![ids[0], ids[0], ids[1]],
            vec![ids[0], ids[1], ids[2], TrackId::generate()],
            vec![],
        ] {
            assert!(
                matches!(
                    tracks::reorder_tracks(connection, artist.id, release.id, &bad_order),
                    Err(CatalogError::Invalid { field: "order", .. })
                ),
                "{bad_order:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn pay_what_you_want_checks_its_minimum() -> TestResult {
    // The rules themselves are unit-tested in pricing.rs; this proves the API cannot store a
    // price that breaks them, whichever way it arrives.
    let invalid = [(-1, 0), (-100, -50), (600, 500), (0, 100_001)];
    for (minimum, suggested) in invalid {
        assert!(
            matches!(
                Price::pay_what_you_want(Cents(minimum), Cents(suggested)),
                Err(CatalogError::Invalid { .. })
            ),
            "{minimum} {suggested}"
        );
    }
    for price in [-5, 0] {
        assert!(Price::fixed(Cents(price)).is_err(), "{price}");
    }
    for fixture in fixtures()? {
        let artist = fixture.artist("Pricer")?;
        let release = fixture.complete_draft(&artist, "Priced", &["One"], 1)?;
        let connection = &mut *fixture.connection()?;
        releases::publish(connection, artist.id, release.id)?;
        let rule = releases::price_of_release(connection, release.id)?;
        assert_eq!(
            rule.charge_for(Some(Cents(499))).ok(),
            None,
            "below the minimum"
        );
        assert_eq!(rule.charge_for(Some(Cents(-1))).ok(), None);
        assert_eq!(rule.charge_for(Some(Cents(500))).ok(), Some(Cents(500)));
        assert_eq!(
            rule.charge_for(None).ok(),
            Some(Cents(800)),
            "no offer pays the suggested amount"
        );
    }
    Ok(())
}
