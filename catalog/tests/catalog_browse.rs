//! The public catalog on every backend: pagination, artist profiles and search, none of which
//! may ever show a draft or an unpublished release.

mod catalog_support;

use std::collections::HashSet;

use catalog::CatalogError;
use catalog::artists::{self, ArtistProfileUpdate};
use catalog::releases::{self, PAGE_SIZE_MAX};
use catalog::search::{self, QUERY_CHARS_MAX};
use catalog_support::{TestResult, fixtures};
use megabox_domain::ArtistId;

#[test]
fn the_catalog_pages_newest_first_within_bounds() -> TestResult {
    for fixture in fixtures()? {
        let artist = fixture.artist("Prolific")?;
        let connection = &mut *fixture.connection()?;
        let mut published = Vec::new();
        for number in 0..7_u8 {
            let release = fixture.complete_draft(
                &artist,
                &format!("Release {number}"),
                &["Track"],
                number * 2 + 1,
            )?;
            published.push(releases::publish(connection, artist.id, release.id)?.id);
        }
        let hidden = fixture.complete_draft(&artist, "Still A Draft", &["Track"], 100)?;

        for bad_limit in [0, PAGE_SIZE_MAX + 1, u32::MAX] {
            assert!(
                matches!(
                    releases::published_releases(connection, None, bad_limit),
                    Err(CatalogError::Invalid { field: "limit", .. })
                ),
                "{bad_limit}"
            );
        }
        for bad_cursor in [
            "",
            "garbage",
            "12_not-an-id",
            "_",
            "99999999999999999999_0190e7a0-0000-7000-8000-000000000000",
        ] {
            assert!(
                matches!(
                    releases::published_releases(connection, Some(bad_cursor), 3),
                    Err(CatalogError::Invalid {
                        field: "cursor",
                        ..
                    })
                ),
                "{bad_cursor:?}"
            );
        }

        let mut walked = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let page = releases::published_releases(connection, cursor.as_deref(), 3)?;
            assert!(page.releases.len() <= 3);
            walked.extend(page.releases.iter().map(|release| release.id));
            pages += 1;
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(pages, 3, "7 releases in pages of 3");
        let newest_first: Vec<_> = published.iter().rev().copied().collect();
        assert_eq!(
            walked, newest_first,
            "every published release once, newest first"
        );
        assert!(!walked.contains(&hidden.id));

        let everything = releases::published_releases(connection, None, PAGE_SIZE_MAX)?;
        assert_eq!(
            (everything.releases.len(), everything.next_cursor),
            (7, None)
        );
        assert!(
            everything
                .releases
                .iter()
                .all(|release| release.artist_name == "Prolific")
        );
    }
    Ok(())
}

#[test]
fn public_profiles_show_published_releases_only() -> TestResult {
    for fixture in fixtures()? {
        let artist = fixture.artist("Profiled")?;
        let connection = &mut *fixture.connection()?;
        let public = fixture.complete_draft(&artist, "Out Now", &["Song"], 1)?;
        releases::publish(connection, artist.id, public.id)?;
        let unpublished = fixture.complete_draft(&artist, "Pulled", &["Song"], 2)?;
        releases::publish(connection, artist.id, unpublished.id)?;
        releases::unpublish(connection, artist.id, unpublished.id)?;
        fixture.complete_draft(&artist, "Coming Soon", &["Song"], 3)?;

        let updated = artists::update_profile(
            connection,
            artist.id,
            &ArtistProfileUpdate {
                name: None,
                bio: Some("From\nsomewhere".into()),
            },
        )?;
        assert_eq!(
            (updated.name.as_str(), updated.bio.as_str()),
            ("Profiled", "From\nsomewhere")
        );
        let profile = artists::public_profile(connection, artist.id)?;
        assert_eq!(profile.artist, updated);
        assert_eq!(
            profile
                .releases
                .iter()
                .map(|release| release.title.as_str())
                .collect::<Vec<_>>(),
            ["Out Now"]
        );
        assert_eq!(
            releases::releases_of_artist(connection, artist.id)?.len(),
            3,
            "the owner sees all three"
        );
        assert!(matches!(
            artists::public_profile(connection, ArtistId::generate()),
            Err(CatalogError::NotFound { .. })
        ));
        assert!(matches!(
            artists::update_profile(
                connection,
                artist.id,
                &ArtistProfileUpdate {
                    name: Some(" ".into()),
                    bio: None
                }
            ),
            Err(CatalogError::Invalid { field: "name", .. })
        ));

        // One profile per user, whatever name a second call brings.
        let again = artists::create_or_get(connection, artist.user_id, "Another Name")?;
        assert_eq!(again.id, artist.id);
        assert_eq!(
            artists::artist_of_user(connection, artist.user_id)?.map(|found| found.id),
            Some(artist.id)
        );
        assert_eq!(
            artists::artist_of_user(connection, fixture.user("Listener")?)?,
            None
        );
    }
    Ok(())
}

/// What a search found, by name: artists, release titles, track titles.
type Found = (Vec<String>, Vec<String>, Vec<String>);

#[test]
fn search_finds_published_artists_releases_and_tracks_only() -> TestResult {
    for fixture in fixtures()? {
        let connection = &mut *fixture.connection()?;
        let boards = fixture.artist("Boards of Canada")?;
        let album =
            fixture.complete_draft(&boards, "Music Has the Right", &["Roygbiv", "Aquarius"], 1)?;
        releases::publish(connection, boards.id, album.id)?;
        let secret =
            fixture.complete_draft(&boards, "Unreleased Tapes", &["Hidden Roygbiv Demo"], 10)?;
        let shy = fixture.artist("Shy Drafter")?;
        fixture.complete_draft(&shy, "Never Out", &["Aquarius Too"], 20)?;
        let pulled_artist = fixture.artist("Pulled Artist")?;
        let pulled = fixture.complete_draft(&pulled_artist, "Withdrawn", &["Gone"], 30)?;
        releases::publish(connection, pulled_artist.id, pulled.id)?;
        releases::unpublish(connection, pulled_artist.id, pulled.id)?;

        let names = |query: &str,
                     connection: &mut megabox_database::DbConnection|
         -> Result<Found, CatalogError> {
            let results = search::search(connection, query)?;
            Ok((
                results
                    .artists
                    .into_iter()
                    .map(|artist| artist.name)
                    .collect(),
                results
                    .releases
                    .into_iter()
                    .map(|release| release.title)
                    .collect(),
                results
                    .tracks
                    .into_iter()
                    .map(|track| track.title)
                    .collect(),
            ))
        };
        let none = || -> Found { (vec![], vec![], vec![]) };
        let strings = |items: &[&str]| {
            items
                .iter()
                .map(|item| (*item).to_owned())
                .collect::<Vec<_>>()
        };
        let cases: [(&str, Found); 10] = [
            ("boards", (strings(&["Boards of Canada"]), vec![], vec![])),
            (
                "BOARDS canada",
                (strings(&["Boards of Canada"]), vec![], vec![]),
            ),
            (
                "right music",
                (vec![], strings(&["Music Has the Right"]), vec![]),
            ),
            ("roygbiv", (vec![], vec![], strings(&["Roygbiv"]))),
            ("aqua", (vec![], vec![], strings(&["Aquarius"]))),
            ("unreleased", none()),
            ("hidden demo", none()),
            ("shy drafter", none()),
            ("withdrawn gone pulled", none()),
            ("\"* OR NEAR( -:&|!' ", none()),
        ];
        for (query, expected) in cases {
            assert_eq!(
                names(query, connection)?,
                expected,
                "{query:?} on {:?}",
                fixture.database.backend()
            );
        }

        // Renames reach the index; publishing the secret release makes it findable.
        artists::update_profile(
            connection,
            boards.id,
            &ArtistProfileUpdate {
                name: Some("Hell Interface".into()),
                bio: None,
            },
        )?;
        assert_eq!(names("boards", connection)?, none());
        assert_eq!(names("interface", connection)?.0, ["Hell Interface"]);
        releases::publish(connection, boards.id, secret.id)?;
        assert_eq!(
            names("roygbiv", connection)?
                .2
                .into_iter()
                .collect::<HashSet<_>>(),
            HashSet::from(["Roygbiv".to_owned(), "Hidden Roygbiv Demo".to_owned()])
        );

        assert!(matches!(
            search::search(connection, &"a".repeat(QUERY_CHARS_MAX + 1)),
            Err(CatalogError::Invalid { field: "q", .. })
        ));
        assert_eq!(names("", connection)?, none());
    }
    Ok(())
}

#[test]
fn one_profile_per_user_even_when_created_concurrently() -> TestResult {
    for fixture in fixtures()? {
        let user = fixture.user("Eager")?;
        let ids: Vec<Result<ArtistId, String>> = std::thread::scope(|scope| {
            let calls: Vec<_> = (0..4)
                .map(|_| {
                    let pool = &fixture.pool;
                    scope.spawn(move || -> Result<ArtistId, String> {
                        let mut connection = pool.get().map_err(|error| error.to_string())?;
                        artists::create_or_get(&mut connection, user, "Eager")
                            .map(|artist| artist.id)
                            .map_err(|error| error.to_string())
                    })
                })
                .collect();
            calls
                .into_iter()
                .map(|call| call.join().unwrap_or_else(|_| Err("panicked".into())))
                .collect()
        });
        let distinct: HashSet<ArtistId> = ids.into_iter().collect::<Result<_, _>>()?;
        assert_eq!(distinct.len(), 1, "every caller gets the one profile");
    }
    Ok(())
}
