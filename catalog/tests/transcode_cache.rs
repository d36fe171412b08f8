//! The transcode cache on every backend: a format is produced once, even when eight requests
//! race for it, and reused after; `Original` is the upload itself; FLAC of a lossy upload is
//! refused before any work; a lost blob is made again; deleting a media file's transcodes
//! removes rows and blobs, after which the track can be removed.

mod catalog_support;
mod transcode_support;

use std::sync::{Arc, Barrier};

use catalog::analysis::analyze_file;
use catalog::media::{self, Upload};
use catalog::releases::{self, NewRelease, ReleaseKind};
use catalog::storage::{BlobLocation, BlobStore};
use catalog::tracks::{self, TrackMedia};
use catalog::transcode::{
    Format, TranscodeError, TranscodeSandbox, default_transcode_limits, delete_transcodes_of_media,
    ensure_transcode,
};
use catalog_support::{Fixture, GENEROUS_QUOTA, count_rows, fixtures};
use diesel::prelude::*;
use megabox_domain::ArtistId;
use transcode_support::{TestResult, sandbox, wav};

/// Racing requests: enough to collide many times over on two cores.
const RACERS: usize = 8;

/// Ingests a real two-second WAV and returns its owner and its media as the store reads it.
fn ingest_real_audio(
    fixture: &Fixture,
) -> Result<(ArtistId, TrackMedia), Box<dyn std::error::Error>> {
    let artist = fixture.artist("Transcoded")?;
    let mut connection = fixture.connection()?;
    let release = releases::create_draft(
        &mut connection,
        artist.id,
        &NewRelease {
            title: Some("Cached".to_owned()),
            kind: ReleaseKind::Single,
        },
    )?;
    let path = wav(fixture.upload_directory.path(), "upload.wav", 88_200)?;
    let analysis = analyze_file(&path)?;
    let upload = Upload {
        path: &path,
        original_file_name: "upload.wav",
        analysis: &analysis,
    };
    let ingested = media::ingest(
        &mut connection,
        &fixture.blobs,
        artist.id,
        release.id,
        upload,
        GENEROUS_QUOTA,
    )?;
    let media = tracks::track_media(&mut connection, ingested.track.id, Some(artist.id))?;
    Ok((artist.id, media))
}

fn media_file_id(
    fixture: &Fixture,
    media: &TrackMedia,
) -> Result<String, Box<dyn std::error::Error>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        media_file_id: String,
    }
    let mut connection = fixture.connection()?;
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT media_file_id FROM tracks WHERE id = '{}'",
        media.track_id
    ))
    .load(&mut *connection)?;
    Ok(rows
        .into_iter()
        .next()
        .ok_or("the track has no media file")?
        .media_file_id)
}

/// A sandbox that cannot start: any call that reaches it fails, proving a result came from the cache.
fn unusable_sandbox() -> TranscodeSandbox {
    TranscodeSandbox::new(
        "/nonexistent/catalog-transcode",
        Vec::<String>::new(),
        default_transcode_limits(),
    )
}

#[test]
fn racing_requests_produce_one_cached_transcode_that_is_reused() -> TestResult {
    for fixture in fixtures()? {
        let (_, media) = ingest_real_audio(&fixture)?;
        let work_directory = tempfile::tempdir()?;
        let fixture = Arc::new(fixture);
        let barrier = Arc::new(Barrier::new(RACERS));
        let racers: Vec<_> = (0..RACERS)
            .map(|_| {
                let (fixture, barrier, media, work) = (
                    Arc::clone(&fixture),
                    Arc::clone(&barrier),
                    media.clone(),
                    work_directory.path().to_owned(),
                );
                std::thread::spawn(move || -> Result<_, String> {
                    // A connection of its own, not one of the fixture's few pooled ones: all race at once.
                    let pool = megabox_database::connect(&fixture.database.url, 1)
                        .map_err(|error| error.to_string())?;
                    let mut connection = pool.get().map_err(|error| error.to_string())?;
                    barrier.wait();
                    ensure_transcode(
                        &mut connection,
                        &fixture.blobs,
                        &sandbox(),
                        &media,
                        Format::Mp3_320,
                        &work,
                    )
                    .map_err(|error| error.to_string())
                })
            })
            .collect();
        let mut results = Vec::new();
        for racer in racers {
            results.push(racer.join().map_err(|_| "a racer panicked")??);
        }
        let (key, size_bytes) = results[0].clone();
        assert!(
            results
                .iter()
                .all(|result| *result == (key.clone(), size_bytes)),
            "every racer got the one cached transcode: {results:?}"
        );
        let mut connection = fixture.connection()?;
        assert_eq!(count_rows(&mut connection, "transcodes")?, 1);
        assert_eq!(
            fixture.stored_blobs().len(),
            2,
            "the upload and one transcode; the losers deleted theirs"
        );
        assert_eq!(
            std::fs::read_dir(work_directory.path())?.count(),
            0,
            "no temporary file left in the work directory"
        );
        let BlobLocation::LocalFile(path) = fixture.blobs.locate(&key)?;
        assert_eq!(std::fs::metadata(&path)?.len(), size_bytes);
        assert_eq!(analyze_file(&path)?.codec, catalog::analysis::Codec::Mp3);

        let again = ensure_transcode(
            &mut connection,
            &fixture.blobs,
            &unusable_sandbox(),
            &media,
            Format::Mp3_320,
            work_directory.path(),
        )?;
        assert_eq!(
            again,
            (key, size_bytes),
            "the second request is served from the cache"
        );
    }
    Ok(())
}

#[test]
fn the_original_is_the_upload_and_flac_of_a_lossy_upload_is_refused() -> TestResult {
    for fixture in fixtures()? {
        let (_, media) = ingest_real_audio(&fixture)?;
        let work_directory = tempfile::tempdir()?;
        let mut connection = fixture.connection()?;
        let original = ensure_transcode(
            &mut connection,
            &fixture.blobs,
            &unusable_sandbox(),
            &media,
            Format::Original,
            work_directory.path(),
        )?;
        assert_eq!(original, (media.storage_key.clone(), media.size_bytes));

        let lossy = TrackMedia {
            codec: "mp3".to_owned(),
            container: "mp3".to_owned(),
            ..media.clone()
        };
        let refused = ensure_transcode(
            &mut connection,
            &fixture.blobs,
            &unusable_sandbox(),
            &lossy,
            Format::Flac,
            work_directory.path(),
        );
        assert!(
            matches!(refused, Err(TranscodeError::LossySource { .. })),
            "{refused:?}"
        );
        assert_eq!(count_rows(&mut connection, "transcodes")?, 0);
    }
    Ok(())
}

#[test]
fn a_lost_blob_is_made_again_and_deleting_transcodes_frees_the_track() -> TestResult {
    for fixture in fixtures()? {
        let (artist, media) = ingest_real_audio(&fixture)?;
        let work_directory = tempfile::tempdir()?;
        let mut connection = fixture.connection()?;
        let (first_key, _) = ensure_transcode(
            &mut connection,
            &fixture.blobs,
            &sandbox(),
            &media,
            Format::Preview,
            work_directory.path(),
        )?;
        fixture.blobs.delete(&first_key)?;
        let (second_key, _) = ensure_transcode(
            &mut connection,
            &fixture.blobs,
            &sandbox(),
            &media,
            Format::Preview,
            work_directory.path(),
        )?;
        assert_ne!(
            second_key, first_key,
            "a transcode whose blob was lost is made again"
        );
        ensure_transcode(
            &mut connection,
            &fixture.blobs,
            &sandbox(),
            &media,
            Format::Flac,
            work_directory.path(),
        )?;
        assert_eq!(count_rows(&mut connection, "transcodes")?, 2);
        assert_eq!(fixture.stored_blobs().len(), 3);

        delete_transcodes_of_media(
            &mut connection,
            &fixture.blobs,
            &media_file_id(&fixture, &media)?,
        )?;
        assert_eq!(count_rows(&mut connection, "transcodes")?, 0);
        assert_eq!(fixture.stored_blobs().len(), 1, "only the upload is left");
        media::remove_track(&mut connection, &fixture.blobs, artist, media.track_id)?;
        assert!(fixture.stored_blobs().is_empty());
    }
    Ok(())
}
