//! Shared fixtures of the catalog data tests: a migrated database per backend, a blob store in a
//! temporary directory, users (the store's table, written here only as a fixture) and analyses
//! of made-up audio.

#![allow(dead_code)] // Each test file uses a different part of this module.

use std::path::{Path, PathBuf};

use catalog::CatalogError;
use catalog::analysis::{Analysis, Codec, Container, Loudness, Tags, Waveform};
use catalog::artists::{self, Artist};
use catalog::media::{self, IngestedTrack, StorageQuota, Upload};
use catalog::pricing::Price;
use catalog::releases::{self, NewRelease, Release, ReleaseKind, ReleaseUpdate};
use catalog::storage::LocalBlobStore;
use catalog::tracks::{self, TrackUpdate};
use diesel::prelude::*;
use megabox_database::testing::{TestDatabase, backends};
use megabox_database::{Backend, DbPool, PooledDbConnection};
use megabox_domain::{Cents, ReleaseId, UserId};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A quota no test reaches unless it means to.
pub const GENEROUS_QUOTA: StorageQuota = StorageQuota { bytes_max: 1 << 30 };

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        display_name -> Text,
        role -> Text,
        agent_active -> Bool,
        created_at -> Timestamp,
    }
}

/// One backend's database, a pool on it and an empty blob store.
pub struct Fixture {
    pub database: TestDatabase,
    pub pool: DbPool,
    pub blob_directory: tempfile::TempDir,
    pub blobs: LocalBlobStore,
    pub upload_directory: tempfile::TempDir,
}

impl Fixture {
    pub fn new(backend: Backend) -> Result<Fixture, Box<dyn std::error::Error>> {
        let database = TestDatabase::new(backend)?;
        let pool = megabox_database::connect(&database.url, 4)?;
        let blob_directory = tempfile::tempdir()?;
        let blobs = LocalBlobStore::open(blob_directory.path().join("blobs"))?;
        Ok(Fixture {
            database,
            pool,
            blob_directory,
            blobs,
            upload_directory: tempfile::tempdir()?,
        })
    }

    pub fn connection(&self) -> Result<PooledDbConnection, Box<dyn std::error::Error>> {
        Ok(self.pool.get()?)
    }

    /// A user with the artist role and their artist profile.
    pub fn artist(&self, name: &str) -> Result<Artist, Box<dyn std::error::Error>> {
        let mut connection = self.connection()?;
        let user = self.user(name)?;
        Ok(artists::create_or_get(&mut connection, user, name)?)
    }

    pub fn user(&self, name: &str) -> Result<UserId, Box<dyn std::error::Error>> {
        let mut connection = self.connection()?;
        let id = UserId::generate();
        diesel::insert_into(users::table)
            .values((
                users::id.eq(id.to_string()),
                users::email.eq(format!("{id}@example.test")),
                users::password_hash.eq("not a hash"),
                users::display_name.eq(name),
                users::role.eq("artist"),
                users::agent_active.eq(false),
                users::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(&mut *connection)?;
        Ok(id)
    }

    /// Writes `bytes` as an uploaded temporary file.
    pub fn upload_file(
        &self,
        name: &str,
        bytes: &[u8],
    ) -> Result<PathBuf, Box<dyn std::error::Error>> {
        let path = self.upload_directory.path().join(name);
        std::fs::write(&path, bytes)?;
        Ok(path)
    }

    /// Ingests made-up audio number `seed` (a 1000-byte file) into the release.
    pub fn ingest(
        &self,
        artist: &Artist,
        release: ReleaseId,
        seed: u8,
        tags: Tags,
    ) -> Result<IngestedTrack, CatalogError> {
        let path = self
            .upload_file(&format!("upload-{seed}.flac"), &[seed; 1000])
            .map_err(|error| CatalogError::Corrupt(error.to_string()))?;
        let analysis = analysis(seed, tags);
        let mut connection = self
            .pool
            .get()
            .map_err(|error| CatalogError::Corrupt(error.to_string()))?;
        media::ingest(
            &mut connection,
            &self.blobs,
            artist.id,
            release,
            Upload {
                path: &path,
                original_file_name: "song.flac",
                analysis: &analysis,
            },
            GENEROUS_QUOTA,
        )
    }

    /// A draft with `track_count` tracks, titled and priced so that it can be published.
    pub fn complete_draft(
        &self,
        artist: &Artist,
        title: &str,
        track_titles: &[&str],
        first_seed: u8,
    ) -> Result<Release, Box<dyn std::error::Error>> {
        let mut connection = self.connection()?;
        let release = releases::create_draft(
            &mut connection,
            artist.id,
            &NewRelease {
                title: Some(title.to_owned()),
                kind: ReleaseKind::Album,
            },
        )?;
        for (offset, track_title) in (0_u8..).zip(track_titles) {
            let ingested = self.ingest(artist, release.id, first_seed + offset, Tags::default())?;
            let update = TrackUpdate {
                title: Some((*track_title).to_owned()),
                price: Some(Some(Price::fixed(Cents(100))?)),
                ..TrackUpdate::default()
            };
            tracks::update_track(&mut connection, artist.id, ingested.track.id, &update)?;
        }
        let price = ReleaseUpdate {
            price: Some(Some(Price::pay_what_you_want(Cents(500), Cents(800))?)),
            ..ReleaseUpdate::default()
        };
        Ok(releases::update_release(
            &mut connection,
            artist.id,
            release.id,
            &price,
        )?)
    }

    /// Every file under the blob store's root.
    pub fn stored_blobs(&self) -> Vec<PathBuf> {
        files_under(self.blobs.root())
    }
}

/// One fixture per backend under test.
pub fn fixtures() -> Result<Vec<Fixture>, Box<dyn std::error::Error>> {
    backends().into_iter().map(Fixture::new).collect()
}

/// The analysis of made-up audio: `seed` decides the audio hash.
pub fn analysis(seed: u8, tags: Tags) -> Analysis {
    Analysis {
        container: Container::Flac,
        codec: Codec::Flac,
        sample_rate_hz: 44_100,
        channels: 2,
        bits_per_sample: Some(16),
        frame_count: 44_100 * 3,
        duration_ms: 3_000,
        tags,
        artwork: None,
        loudness: Loudness {
            integrated_lufs: Some(-14.0),
            true_peak_dbtp: Some(-1.0),
        },
        waveform: Waveform {
            peaks: vec![seed; 16],
        },
        audio_sha256: format!("{seed:064x}"),
        warnings: Vec::new(),
    }
}

pub fn files_under(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![directory.to_owned()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path)
            } else {
                files.push(path)
            }
        }
    }
    files.sort();
    files
}

/// Rows in a catalog table, to prove that a failed operation left none behind.
pub fn count_rows(
    connection: &mut megabox_database::DbConnection,
    table: &str,
) -> Result<i64, Box<dyn std::error::Error>> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    // `table` is always a literal of the test itself.
    let count: Count = diesel::sql_query(format!("SELECT COUNT(*) AS count FROM {table}"))
        .get_result(connection)?;
    Ok(count.count)
}
