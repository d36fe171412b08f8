//! Ingest on every backend: files become blobs, media rows and tracks together or not at all;
//! the same audio is refused once per artist; the storage quota holds.

mod catalog_support;

use std::io::Read;
use std::sync::Mutex;

use catalog::CatalogError;
use catalog::analysis::{Artwork, ArtworkImage, Tags};
use catalog::media::{self, StorageQuota, Upload};
use catalog::releases::{self, NewRelease, ReleaseKind};
use catalog::storage::{BlobKey, BlobLocation, BlobStore, StorageError};
use catalog::tracks;
use catalog_support::{Fixture, GENEROUS_QUOTA, TestResult, analysis, count_rows, fixtures};
use megabox_domain::ReleaseId;

const CATALOG_TABLES: [&str; 3] = ["media_files", "tracks", "search_documents"];

fn artwork(bytes: usize) -> Artwork {
    let image = |size| ArtworkImage {
        mime_type: "image/png".into(),
        width_pixels: 1,
        height_pixels: 1,
        bytes: vec![7; size],
    };
    Artwork {
        original: image(bytes * 2),
        resized: vec![image(bytes)],
    }
}

#[test]
fn a_file_becomes_a_track_prefilled_from_its_tags() -> TestResult {
    for fixture in fixtures()? {
        let artist = fixture.artist("Tagged")?;
        let connection = &mut *fixture.connection()?;
        let release = releases::create_draft(
            connection,
            artist.id,
            &NewRelease {
                title: None,
                kind: ReleaseKind::Album,
            },
        )?;
        let tags = Tags {
            title: Some("First Song".into()),
            album: Some("  Tagged Album ".into()),
            isrc: Some("USRC17607839".into()),
            ..Tags::default()
        };
        let mut first_analysis = analysis(1, tags);
        first_analysis.artwork = Some(artwork(50));
        let path = fixture.upload_file("first.flac", &[1; 1000])?;
        let upload = Upload {
            path: &path,
            original_file_name: "../../01 First.flac",
            analysis: &first_analysis,
        };
        let first = media::ingest(
            connection,
            &fixture.blobs,
            artist.id,
            release.id,
            upload,
            GENEROUS_QUOTA,
        )?;
        assert_eq!(first.release.title.as_deref(), Some("Tagged Album"));
        assert_eq!(
            (
                first.track.title.as_str(),
                first.track.position,
                first.track.duration_ms
            ),
            ("First Song", 1, 3_000)
        );
        assert_eq!(
            first.track.isrc.as_ref().map(|isrc| isrc.as_str()),
            Some("USRC17607839")
        );
        let artwork_key = BlobKey::parse(first.release.artwork_key.as_deref().unwrap_or_default())?;
        let BlobLocation::LocalFile(artwork_path) = fixture.blobs.locate(&artwork_key)?;
        assert_eq!(
            std::fs::read(artwork_path)?,
            vec![7; 50],
            "the resized rendition is kept"
        );

        // Later files neither rename the release nor replace its artwork; bad tags are dropped.
        let second = fixture.ingest(
            &artist,
            release.id,
            2,
            Tags {
                album: Some("Other Album".into()),
                isrc: Some("bogus".into()),
                ..Tags::default()
            },
        )?;
        assert_eq!(second.release.title.as_deref(), Some("Tagged Album"));
        assert_eq!(second.release.artwork_key, first.release.artwork_key);
        assert_eq!(
            (
                second.track.title.as_str(),
                second.track.position,
                second.track.isrc.clone()
            ),
            ("song", 2, None)
        );

        let media = tracks::track_media(connection, first.track.id, Some(artist.id))?;
        let BlobLocation::LocalFile(audio_path) = fixture.blobs.locate(&media.storage_key)?;
        assert_eq!(std::fs::read(audio_path)?, vec![1; 1000]);
        assert_eq!(
            (
                media.size_bytes,
                media.container.as_str(),
                media.codec.as_str()
            ),
            (1000, "flac", "flac")
        );
        assert_eq!(media::used_storage_bytes(connection, artist.id)?, 2050);
        let stored_analysis = tracks::track_analysis(connection, first.track.id, Some(artist.id))?;
        assert_eq!(
            stored_analysis,
            catalog::analysis::Analysis {
                artwork: None,
                ..first_analysis.clone()
            },
            "all but the artwork bytes"
        );
        assert!(
            matches!(
                tracks::track_analysis(connection, first.track.id, None),
                Err(CatalogError::NotFound { .. })
            ),
            "a draft's waveform is private"
        );
        assert_eq!(
            fixture.stored_blobs().len(),
            3,
            "two audio files and one artwork"
        );
    }
    Ok(())
}

#[test]
fn the_same_audio_is_imported_once_per_artist() -> TestResult {
    for fixture in fixtures()? {
        let artist = fixture.artist("Repeater")?;
        let other = fixture.artist("Coincidence")?;
        let connection = &mut *fixture.connection()?;
        let first_release = releases::create_draft(
            connection,
            artist.id,
            &NewRelease {
                title: Some("A".into()),
                kind: ReleaseKind::Album,
            },
        )?;
        let second_release = releases::create_draft(
            connection,
            artist.id,
            &NewRelease {
                title: Some("B".into()),
                kind: ReleaseKind::Album,
            },
        )?;
        let original = fixture.ingest(&artist, first_release.id, 5, Tags::default())?;
        let blobs_before = fixture.stored_blobs();

        for target in [first_release.id, second_release.id] {
            match fixture.ingest(
                &artist,
                target,
                5,
                Tags {
                    title: Some("Same audio, new tags".into()),
                    ..Tags::default()
                },
            ) {
                Err(CatalogError::Duplicate {
                    existing_track,
                    existing_release,
                }) => {
                    assert_eq!(
                        (existing_track, existing_release),
                        (original.track.id, first_release.id)
                    );
                }
                other => panic!("expected Duplicate, got {other:?}"),
            }
        }
        assert_eq!(
            fixture.stored_blobs(),
            blobs_before,
            "a refused duplicate leaves no blob"
        );
        assert_eq!(count_rows(connection, "tracks")?, 1);

        // Another artist may well upload the same audio (a split single, a cover of silence).
        let other_release = releases::create_draft(
            connection,
            other.id,
            &NewRelease {
                title: None,
                kind: ReleaseKind::Single,
            },
        )?;
        assert!(
            fixture
                .ingest(&other, other_release.id, 5, Tags::default())
                .is_ok()
        );
    }
    Ok(())
}

#[test]
fn the_quota_is_checked_before_anything_is_stored() -> TestResult {
    for fixture in fixtures()? {
        let artist = fixture.artist("Hoarder")?;
        let connection = &mut *fixture.connection()?;
        let release = releases::create_draft(
            connection,
            artist.id,
            &NewRelease {
                title: None,
                kind: ReleaseKind::Album,
            },
        )?;
        let path = fixture.upload_file("big.flac", &[3; 1000])?;
        let cases = [(999, false), (1000, true), (1999, false)];
        for (seed, (quota_bytes, accepted)) in (10_u8..).zip(cases) {
            let upload_analysis = analysis(seed, Tags::default());
            let upload = Upload {
                path: &path,
                original_file_name: "big.flac",
                analysis: &upload_analysis,
            };
            let result = media::ingest(
                connection,
                &fixture.blobs,
                artist.id,
                release.id,
                upload,
                StorageQuota {
                    bytes_max: quota_bytes,
                },
            );
            match (result, accepted) {
                (Ok(_), true) => {}
                (
                    Err(CatalogError::QuotaExceeded {
                        used_bytes,
                        incoming_bytes,
                        quota_bytes: reported,
                    }),
                    false,
                ) => {
                    assert_eq!((incoming_bytes, reported), (1000, quota_bytes));
                    assert!(used_bytes + incoming_bytes > quota_bytes);
                }
                (other, _) => panic!("quota {quota_bytes}: unexpected {other:?}"),
            }
        }
        assert_eq!(
            count_rows(connection, "media_files")?,
            1,
            "only the upload that fit"
        );
        assert_eq!(fixture.stored_blobs().len(), 1);
        assert_eq!(media::used_storage_bytes(connection, artist.id)?, 1000);
    }
    Ok(())
}

/// A blob store that lets a rival upload of the same audio win the race while this upload's
/// blob is being written, so that the transaction's second look finds a duplicate.
struct RacingBlobStore<'a> {
    fixture: &'a Fixture,
    rival: Mutex<Option<(catalog::artists::Artist, ReleaseId, u8)>>,
}

impl BlobStore for RacingBlobStore<'_> {
    fn put(
        &self,
        key: &BlobKey,
        content: &mut dyn Read,
        bytes_max: u64,
    ) -> Result<u64, StorageError> {
        let stored = self.fixture.blobs.put(key, content, bytes_max)?;
        let rival = self
            .rival
            .lock()
            .map(|mut rival| rival.take())
            .unwrap_or_default();
        if let Some((artist, release, seed)) = rival {
            self.fixture
                .ingest(&artist, release, seed, Tags::default())
                .map_err(|error| StorageError::InvalidKey(error.to_string()))?;
        }
        Ok(stored)
    }

    fn locate(&self, key: &BlobKey) -> Result<BlobLocation, StorageError> {
        self.fixture.blobs.locate(key)
    }

    fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        self.fixture.blobs.delete(key)
    }

    fn keys_written_before(
        &self,
        cutoff: std::time::SystemTime,
    ) -> Result<Vec<BlobKey>, StorageError> {
        self.fixture.blobs.keys_written_before(cutoff)
    }
}

/// A blob store whose artwork writes fail, as on a full disk.
struct FailingArtworkStore<'a>(&'a Fixture);

impl BlobStore for FailingArtworkStore<'_> {
    fn put(
        &self,
        key: &BlobKey,
        content: &mut dyn Read,
        bytes_max: u64,
    ) -> Result<u64, StorageError> {
        if key.kind() == catalog::storage::BlobKind::Artwork {
            return Err(StorageError::Io {
                key: key.clone(),
                source: std::io::Error::other("disk full"),
            });
        }
        self.0.blobs.put(key, content, bytes_max)
    }

    fn locate(&self, key: &BlobKey) -> Result<BlobLocation, StorageError> {
        self.0.blobs.locate(key)
    }

    fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        self.0.blobs.delete(key)
    }

    fn keys_written_before(
        &self,
        cutoff: std::time::SystemTime,
    ) -> Result<Vec<BlobKey>, StorageError> {
        self.0.blobs.keys_written_before(cutoff)
    }
}

#[test]
fn a_failed_ingest_leaves_no_row_and_no_blob() -> TestResult {
    for fixture in fixtures()? {
        let artist = fixture.artist("Unlucky")?;
        let connection = &mut *fixture.connection()?;
        let release = releases::create_draft(
            connection,
            artist.id,
            &NewRelease {
                title: None,
                kind: ReleaseKind::Album,
            },
        )?;
        let path = fixture.upload_file("race.flac", &[9; 1000])?;
        let mut with_artwork = analysis(
            9,
            Tags {
                album: Some("Would Rename".into()),
                ..Tags::default()
            },
        );
        with_artwork.artwork = Some(artwork(10));
        let upload = Upload {
            path: &path,
            original_file_name: "race.flac",
            analysis: &with_artwork,
        };

        // The disk fills up after the audio was written: the audio blob goes again.
        let result = media::ingest(
            connection,
            &FailingArtworkStore(&fixture),
            artist.id,
            release.id,
            upload,
            GENEROUS_QUOTA,
        );
        assert!(
            matches!(result, Err(CatalogError::Storage(StorageError::Io { .. }))),
            "{result:?}"
        );
        assert_eq!(fixture.stored_blobs(), Vec::<std::path::PathBuf>::new());
        for table in CATALOG_TABLES {
            assert_eq!(count_rows(connection, table)?, 0, "{table}");
        }

        // A rival upload of the same audio commits first: this one's blobs go, its rows never land.
        let racing = RacingBlobStore {
            fixture: &fixture,
            rival: Mutex::new(Some((artist.clone(), release.id, 9))),
        };
        let result = media::ingest(
            connection,
            &racing,
            artist.id,
            release.id,
            upload,
            GENEROUS_QUOTA,
        );
        assert!(
            matches!(result, Err(CatalogError::Duplicate { .. })),
            "{result:?}"
        );
        assert_eq!(
            count_rows(connection, "media_files")?,
            1,
            "only the rival's row"
        );
        assert_eq!(fixture.stored_blobs().len(), 1, "only the rival's blob");
        let release_now = releases::release_for_owner(connection, artist.id, release.id)?;
        assert_eq!(
            release_now.release.title, None,
            "the loser did not rename the release"
        );
        assert_eq!(release_now.release.artwork_key, None);

        // Inside a caller's transaction ingest refuses to run: it could not undo its blobs.
        let nested = diesel::Connection::transaction(connection, |connection| {
            Ok::<_, CatalogError>(media::ingest(
                connection,
                &fixture.blobs,
                artist.id,
                release.id,
                upload,
                GENEROUS_QUOTA,
            ))
        })?;
        assert!(
            matches!(
                nested,
                Err(CatalogError::Database(
                    diesel::result::Error::AlreadyInTransaction
                ))
            ),
            "{nested:?}"
        );
        assert_eq!(fixture.stored_blobs().len(), 1);
    }
    Ok(())
}

#[test]
fn hostile_analyses_and_missing_files_are_refused() -> TestResult {
    for fixture in fixtures()? {
        let artist = fixture.artist("Careful")?;
        let connection = &mut *fixture.connection()?;
        let release = releases::create_draft(
            connection,
            artist.id,
            &NewRelease {
                title: None,
                kind: ReleaseKind::Album,
            },
        )?;
        let path = fixture.upload_file("ok.flac", &[1; 10])?;
        let mut silent = analysis(1, Tags::default());
        silent.duration_ms = 0;
        let mut bad_hash = analysis(2, Tags::default());
        bad_hash.audio_sha256 = "../../etc/passwd".into();
        let fine = analysis(3, Tags::default());
        let missing = fixture.upload_directory.path().join("missing.flac");
        let cases = [
            (&path, &silent, "file"),
            (&path, &bad_hash, "analysis"),
            (&missing, &fine, "file"),
        ];
        for (file, upload_analysis, field) in cases {
            let upload = Upload {
                path: file,
                original_file_name: "x.flac",
                analysis: upload_analysis,
            };
            let result = media::ingest(
                connection,
                &fixture.blobs,
                artist.id,
                release.id,
                upload,
                GENEROUS_QUOTA,
            );
            assert!(
                matches!(&result, Err(CatalogError::Invalid { field: found, .. }) if *found == field),
                "{result:?}"
            );
        }
        assert!(fixture.stored_blobs().is_empty());
        assert_eq!(count_rows(connection, "media_files")?, 0);
    }
    Ok(())
}

#[test]
fn removing_a_track_frees_its_audio_and_closes_the_gap() -> TestResult {
    for fixture in fixtures()? {
        let artist = fixture.artist("Remover")?;
        let stranger = fixture.artist("Stranger")?;
        let connection = &mut *fixture.connection()?;
        let release = releases::create_draft(
            connection,
            artist.id,
            &NewRelease {
                title: Some("Takes".into()),
                kind: ReleaseKind::Album,
            },
        )?;
        let path = fixture.upload_file("cover.flac", &[1; 1000])?;
        let mut with_artwork = analysis(1, Tags::default());
        with_artwork.artwork = Some(artwork(10));
        let upload = Upload {
            path: &path,
            original_file_name: "first.flac",
            analysis: &with_artwork,
        };
        let first = media::ingest(
            connection,
            &fixture.blobs,
            artist.id,
            release.id,
            upload,
            GENEROUS_QUOTA,
        )?
        .track;
        let second = fixture
            .ingest(&artist, release.id, 2, Tags::default())?
            .track;
        assert_eq!(fixture.stored_blobs().len(), 3);

        assert!(matches!(
            media::remove_track(connection, &fixture.blobs, stranger.id, first.id),
            Err(CatalogError::NotFound { .. })
        ));
        media::remove_track(connection, &fixture.blobs, artist.id, first.id)?;
        let after = releases::release_for_owner(connection, artist.id, release.id)?;
        assert_eq!(
            after
                .tracks
                .iter()
                .map(|track| (track.id, track.position))
                .collect::<Vec<_>>(),
            [(second.id, 1)]
        );
        assert_eq!(
            after.release.artwork_key, None,
            "the artwork came with the removed file"
        );
        assert_eq!(fixture.stored_blobs().len(), 1);
        assert_eq!(media::used_storage_bytes(connection, artist.id)?, 1000);
        assert!(matches!(
            media::remove_track(connection, &fixture.blobs, artist.id, first.id),
            Err(CatalogError::NotFound { .. })
        ));
        assert!(
            fixture
                .ingest(&artist, release.id, 1, Tags::default())
                .is_ok(),
            "removed audio is no longer a duplicate"
        );
    }
    Ok(())
}

#[test]
fn concurrent_uploads_cannot_overrun_the_quota_together() -> TestResult {
    for fixture in fixtures()? {
        let artist = fixture.artist("Racer")?;
        let release = releases::create_draft(
            &mut *fixture.connection()?,
            artist.id,
            &NewRelease {
                title: None,
                kind: ReleaseKind::Album,
            },
        )?;
        // Room for one 1000-byte file, not two: both pass the early check, one must lose.
        let quota = StorageQuota { bytes_max: 1500 };
        let results: Vec<_> = std::thread::scope(|scope| {
            let uploads: Vec<_> = [40_u8, 41]
                .into_iter()
                .map(|seed| {
                    let fixture = &fixture;
                    let artist = &artist;
                    scope.spawn(move || -> Result<(), CatalogError> {
                        let path = fixture
                            .upload_file(&format!("racer-{seed}.flac"), &[seed; 1000])
                            .map_err(|error| CatalogError::Corrupt(error.to_string()))?;
                        let upload_analysis = analysis(seed, Tags::default());
                        let mut connection = fixture
                            .pool
                            .get()
                            .map_err(|error| CatalogError::Corrupt(error.to_string()))?;
                        let upload = Upload {
                            path: &path,
                            original_file_name: "racer.flac",
                            analysis: &upload_analysis,
                        };
                        media::ingest(
                            &mut connection,
                            &fixture.blobs,
                            artist.id,
                            release.id,
                            upload,
                            quota,
                        )
                        .map(|_| ())
                    })
                })
                .collect();
            uploads
                .into_iter()
                .map(|upload| upload.join().map_err(|_| "upload thread panicked"))
                .collect()
        });
        let mut accepted = 0;
        for result in results {
            match result? {
                Ok(()) => accepted += 1,
                Err(CatalogError::QuotaExceeded { .. }) => {}
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert_eq!(accepted, 1);
        assert_eq!(count_rows(&mut *fixture.connection()?, "media_files")?, 1);
        assert_eq!(fixture.stored_blobs().len(), 1, "the loser's blob is gone");
    }
    Ok(())
}
