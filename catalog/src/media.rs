//! Ingest: an uploaded file that the store has already written to a temporary file and
//! analysed becomes a stored blob, a `media_files` row and a track of a draft release, all or
//! nothing. The same audio (by decoded-audio hash) is accepted once per artist, and an artist's
//! files (audio plus artwork) must fit their storage quota.
//!
//! Order of work: cheap checks first (so a duplicate or an over-quota file is refused before
//! any copying), then the blobs are written outside any transaction (so a long copy never holds
//! SQLite's write lock), then one transaction repeats the checks under the artist's row lock and
//! inserts the rows. If anything fails after a blob was written, the blob is deleted again.
//! A crash between the blob write and the commit can leave an unreferenced blob, never a row
//! without its blob. [`remove_track`] undoes an ingest in the same spirit.

use std::fs::File;
use std::path::Path;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, ReleaseId, TrackId};

use crate::analysis::{Analysis, ArtworkImage};
use crate::artists;
use crate::db::{ensure_outside_transaction, now, stored_id};
use crate::error::CatalogError;
use crate::fields::{Isrc, TITLE_CHARS_MAX, required_line};
use crate::records::{Release, Track, TrackRow, owned_release, save, tracks_of_release};
use crate::release_state::ReleaseState;
use crate::schema::{media_files, releases as releases_table, tracks as tracks_table};
use crate::storage::{BlobKey, BlobKind, BlobStore};
use crate::tracks::TRACKS_PER_RELEASE_MAX;

/// Longest original file name kept for display, in characters.
pub const FILE_NAME_CHARS_MAX: usize = 255;

/// How much an artist may store, in bytes of audio and artwork; a setting of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageQuota {
    pub bytes_max: u64,
}

/// A file the store received and analysed.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    /// The temporary file holding the upload; ingest copies it and leaves it to the caller.
    pub path: &'a Path,
    /// The name the client gave the file, kept for display only; never part of a path.
    pub original_file_name: &'a str,
    pub analysis: &'a Analysis,
}

/// What an ingest created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedTrack {
    pub track: Track,
    /// The release after pre-filling its title and artwork from the file.
    pub release: Release,
}

#[derive(Insertable)]
#[diesel(table_name = media_files)]
struct MediaFileRow {
    id: String,
    artist_id: String,
    storage_key: String,
    size_bytes: i64,
    content_hash: String,
    original_file_name: String,
    container: String,
    codec: String,
    sample_rate_hz: i32,
    channels: i32,
    bits_per_sample: Option<i32>,
    duration_ms: i64,
    analysis_json: String,
    artwork_key: Option<String>,
    artwork_size_bytes: i64,
    created_at: NaiveDateTime,
}

/// Adds the upload as the last track of the acting artist's draft (or unpublished) release.
/// Must be called outside any transaction: whether the blobs stay depends on the commit.
pub fn ingest(
    connection: &mut DbConnection,
    blobs: &dyn BlobStore,
    acting: ArtistId,
    release: ReleaseId,
    upload: Upload<'_>,
    quota: StorageQuota,
) -> Result<IngestedTrack, CatalogError> {
    ensure_outside_transaction(connection)?;
    let analysis = upload.analysis;
    check_analysis(analysis)?;
    let audio_size_bytes = File::open(upload.path)
        .and_then(|file| file.metadata())
        .map_err(|error| CatalogError::invalid("file", format!("cannot read the upload: {error}")))?
        .len();
    let current = admit(
        connection,
        acting,
        release,
        analysis,
        audio_size_bytes,
        quota,
    )?;
    // Artwork is stored once per release: the first file that carries it supplies it.
    let artwork = if current.artwork_key.is_none() {
        artwork_to_store(analysis)
    } else {
        None
    };
    let incoming = Incoming {
        audio_size_bytes,
        artwork_size_bytes: artwork.map_or(0, |image| byte_count(&image.bytes)),
    };

    let mut written = Vec::new();
    let result = write_blobs(blobs, upload.path, audio_size_bytes, artwork, &mut written).and_then(
        |(audio_key, artwork_key)| {
            megabox_database::write_transaction(connection, |connection| {
                artists::lock(connection, acting)?;
                let current = admit(
                    connection,
                    acting,
                    release,
                    analysis,
                    incoming.total_bytes()?,
                    quota,
                )?;
                record(
                    connection,
                    current,
                    upload,
                    incoming,
                    &audio_key,
                    artwork_key.as_ref(),
                )
            })
        },
    );
    if result.is_err() {
        for key in &written {
            if let Err(error) = blobs.delete(key) {
                tracing::error!(%error, blob.key = %key, "cannot remove the blob of a failed ingest");
            }
        }
    }
    result
}

/// Removes a track and its audio from the acting artist's release, which must not be
/// published (buyers own what they bought); later tracks move up. If the release's artwork came
/// from this file, it goes too. Blobs are deleted after the commit: a failure there leaves an
/// unreferenced blob (logged), never a row without its blob.
pub fn remove_track(
    connection: &mut DbConnection,
    blobs: &dyn BlobStore,
    acting: ArtistId,
    track: TrackId,
) -> Result<(), CatalogError> {
    ensure_outside_transaction(connection)?;
    let removed_keys = megabox_database::write_transaction(connection, |connection| {
        let not_found = || CatalogError::NotFound { what: "track" };
        let (release_id, media_file_id) = tracks_table::table
            .find(track.to_string())
            .select((tracks_table::release_id, tracks_table::media_file_id))
            .first::<(String, String)>(connection)
            .optional()?
            .ok_or_else(not_found)?;
        let mut release =
            owned_release(connection, acting, stored_id(&release_id)?).map_err(|_| not_found())?;
        if release.state == ReleaseState::Published {
            return Err(CatalogError::invalid(
                "release",
                "tracks of a published release cannot be removed; unpublish it first",
            ));
        }
        let (storage_key, artwork_key) = media_files::table
            .find(&media_file_id)
            .select((media_files::storage_key, media_files::artwork_key))
            .first::<(String, Option<String>)>(connection)?;
        diesel::delete(tracks_table::table.find(track.to_string())).execute(connection)?;
        let transcode_keys =
            crate::transcode::take_transcodes_of_media(connection, &media_file_id)?;
        diesel::delete(media_files::table.find(&media_file_id)).execute(connection)?;
        let remaining = tracks_of_release(connection, release.id)?;
        for (position, remaining_track) in (1_i32..).zip(&remaining) {
            diesel::update(tracks_table::table.find(remaining_track.id.to_string()))
                .set(tracks_table::position.eq(position))
                .execute(connection)?;
        }
        if artwork_key.is_some() && release.artwork_key == artwork_key {
            release.artwork_key = None;
            release.updated_at = now();
            save(connection, &release)?;
        }
        let parse = |key: &str| {
            BlobKey::parse(key).map_err(|_| {
                CatalogError::Corrupt(format!("malformed storage key of track {track}"))
            })
        };
        let mut keys = vec![parse(&storage_key)?];
        keys.extend(artwork_key.as_deref().map(parse).transpose()?);
        keys.extend(transcode_keys);
        Ok(keys)
    })?;
    for key in &removed_keys {
        if let Err(error) = blobs.delete(key) {
            tracing::error!(%error, blob.key = %key, "cannot remove the blob of a removed track");
        }
    }
    Ok(())
}

/// Sizes of what one ingest adds to the artist's storage.
#[derive(Debug, Clone, Copy)]
struct Incoming {
    audio_size_bytes: u64,
    artwork_size_bytes: u64,
}

impl Incoming {
    fn total_bytes(self) -> Result<u64, CatalogError> {
        self.audio_size_bytes
            .checked_add(self.artwork_size_bytes)
            .ok_or_else(|| CatalogError::invalid("file", "too large"))
    }
}

fn check_analysis(analysis: &Analysis) -> Result<(), CatalogError> {
    if analysis.duration_ms == 0 {
        return Err(CatalogError::invalid("file", "contains no audio"));
    }
    let hash = &analysis.audio_sha256;
    if hash.len() != 64 || !hash.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(CatalogError::invalid(
            "analysis",
            "the audio hash is not a SHA-256 in hex",
        ));
    }
    Ok(())
}

/// Every check that can refuse the upload: the release is the artist's and open for tracks, the
/// audio is new for this artist, the release has room, and the bytes fit the quota. Returns the
/// release as it is now.
fn admit(
    connection: &mut DbConnection,
    acting: ArtistId,
    release: ReleaseId,
    analysis: &Analysis,
    incoming_bytes: u64,
    quota: StorageQuota,
) -> Result<Release, CatalogError> {
    let current = owned_release(connection, acting, release)?;
    if current.state == ReleaseState::Published {
        return Err(CatalogError::invalid(
            "release",
            "a published release takes no new tracks; unpublish it first",
        ));
    }
    if let Some((existing_track, existing_release)) = media_files::table
        .inner_join(tracks_table::table)
        .filter(media_files::artist_id.eq(acting.to_string()))
        .filter(media_files::content_hash.eq(analysis.audio_sha256.to_ascii_lowercase()))
        .select((tracks_table::id, tracks_table::release_id))
        .first::<(String, String)>(connection)
        .optional()?
    {
        return Err(CatalogError::Duplicate {
            existing_track: stored_id(&existing_track)?,
            existing_release: stored_id(&existing_release)?,
        });
    }
    let track_count: i64 = tracks_table::table
        .filter(tracks_table::release_id.eq(release.to_string()))
        .count()
        .get_result(connection)?;
    if usize::try_from(track_count).unwrap_or(usize::MAX) >= TRACKS_PER_RELEASE_MAX {
        return Err(CatalogError::invalid(
            "release",
            format!("a release holds at most {TRACKS_PER_RELEASE_MAX} tracks"),
        ));
    }
    let used_bytes = used_storage_bytes(connection, acting)?;
    if used_bytes
        .checked_add(incoming_bytes)
        .is_none_or(|total| total > quota.bytes_max)
    {
        return Err(CatalogError::QuotaExceeded {
            used_bytes,
            incoming_bytes,
            quota_bytes: quota.bytes_max,
        });
    }
    Ok(current)
}

/// Bytes of audio and artwork the artist stores now.
pub fn used_storage_bytes(
    connection: &mut DbConnection,
    artist: ArtistId,
) -> Result<u64, CatalogError> {
    // Summed here rather than with SUM(), whose result type differs between the backends.
    let sizes = media_files::table
        .filter(media_files::artist_id.eq(artist.to_string()))
        .select((media_files::size_bytes, media_files::artwork_size_bytes))
        .load::<(i64, i64)>(connection)?;
    sizes
        .into_iter()
        .try_fold(0_u64, |total, (audio, artwork)| {
            let sizes = u64::try_from(audio).ok().zip(u64::try_from(artwork).ok());
            sizes
                .and_then(|(audio, artwork)| total.checked_add(audio)?.checked_add(artwork))
                .ok_or_else(|| {
                    CatalogError::Corrupt(format!(
                        "storage sizes of artist {artist} are negative or overflow"
                    ))
                })
        })
}

/// The rendition kept for a release: the largest resized one, or the original if it was small
/// enough not to need one.
fn artwork_to_store(analysis: &Analysis) -> Option<&ArtworkImage> {
    let artwork = analysis.artwork.as_ref()?;
    artwork.resized.first().or(Some(&artwork.original))
}

fn byte_count(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX)
}

/// Writes the audio and (if any) the artwork, recording each written key in `written` so the
/// caller can remove them if a later step fails.
fn write_blobs(
    blobs: &dyn BlobStore,
    path: &Path,
    audio_size_bytes: u64,
    artwork: Option<&ArtworkImage>,
    written: &mut Vec<BlobKey>,
) -> Result<(BlobKey, Option<BlobKey>), CatalogError> {
    let audio_key = BlobKey::generate(BlobKind::Audio);
    let mut file = File::open(path).map_err(|error| {
        CatalogError::invalid("file", format!("cannot read the upload: {error}"))
    })?;
    // Bounded by the size checked against the quota, in case the file grows meanwhile.
    blobs.put(&audio_key, &mut file, audio_size_bytes)?;
    written.push(audio_key.clone());
    let artwork_key = match artwork {
        Some(image) => {
            let key = BlobKey::generate(BlobKind::Artwork);
            blobs.put(&key, &mut image.bytes.as_slice(), byte_count(&image.bytes))?;
            written.push(key.clone());
            Some(key)
        }
        None => None,
    };
    Ok((audio_key, artwork_key))
}

/// Inserts the media file and its track, and pre-fills the release from the file's tags.
fn record(
    connection: &mut DbConnection,
    mut release: Release,
    upload: Upload<'_>,
    incoming: Incoming,
    audio_key: &BlobKey,
    artwork_key: Option<&BlobKey>,
) -> Result<IngestedTrack, CatalogError> {
    let analysis = upload.analysis;
    let timestamp = now();
    let media_file_id = uuid::Uuid::now_v7().to_string();
    let too_large =
        |field: &'static str| CatalogError::invalid("analysis", format!("{field} out of range"));
    let media = MediaFileRow {
        id: media_file_id.clone(),
        artist_id: release.artist_id.to_string(),
        storage_key: audio_key.to_string(),
        size_bytes: i64::try_from(incoming.audio_size_bytes).map_err(|_| too_large("size"))?,
        content_hash: analysis.audio_sha256.to_ascii_lowercase(),
        original_file_name: display_file_name(upload.original_file_name),
        container: enum_name(&analysis.container)?,
        codec: enum_name(&analysis.codec)?,
        sample_rate_hz: i32::try_from(analysis.sample_rate_hz)
            .map_err(|_| too_large("sample rate"))?,
        channels: i32::from(analysis.channels),
        bits_per_sample: analysis
            .bits_per_sample
            .map(i32::try_from)
            .transpose()
            .map_err(|_| too_large("bits per sample"))?,
        duration_ms: i64::try_from(analysis.duration_ms).map_err(|_| too_large("duration"))?,
        analysis_json: analysis_without_artwork(analysis)?,
        artwork_key: artwork_key.map(ToString::to_string),
        artwork_size_bytes: i64::try_from(incoming.artwork_size_bytes)
            .map_err(|_| too_large("artwork size"))?,
        created_at: timestamp,
    };
    diesel::insert_into(media_files::table)
        .values(&media)
        .execute(connection)?;

    let track_count: i64 = tracks_table::table
        .filter(tracks_table::release_id.eq(release.id.to_string()))
        .count()
        .get_result(connection)?;
    let position = i32::try_from(track_count + 1).map_err(|_| too_large("track count"))?;
    let track_id = TrackId::generate();
    let tags = &analysis.tags;
    let row = TrackRow {
        id: track_id.to_string(),
        release_id: release.id.to_string(),
        media_file_id,
        position,
        title: track_title(tags.title.as_deref(), upload.original_file_name, position),
        credits: String::new(),
        // A tag's ISRC is a hint: an invalid one is dropped, not a reason to refuse the file.
        isrc: tags
            .isrc
            .as_deref()
            .and_then(|isrc| Isrc::parse(isrc).ok())
            .map(Isrc::into_string),
        price_kind: None,
        price_cents: None,
        minimum_price_cents: None,
        created_at: timestamp,
        updated_at: timestamp,
    };
    diesel::insert_into(tracks_table::table)
        .values(&row)
        .execute(connection)?;

    let mut release_changed = false;
    if release.title.is_none()
        && let Some(album) = tags
            .album
            .as_deref()
            .and_then(|album| required_line("title", album, TITLE_CHARS_MAX).ok())
    {
        release.title = Some(album);
        release_changed = true;
    }
    if release.artwork_key.is_none()
        && let Some(key) = artwork_key
    {
        release.artwork_key = Some(key.to_string());
        release_changed = true;
    }
    if release_changed {
        release.updated_at = timestamp;
        diesel::update(releases_table::table.find(release.id.to_string()))
            .set((
                releases_table::title.eq(&release.title),
                releases_table::artwork_key.eq(&release.artwork_key),
                releases_table::updated_at.eq(timestamp),
            ))
            .execute(connection)?;
    }
    let track = tracks_of_release(connection, release.id)?
        .into_iter()
        .find(|track| track.id == track_id)
        .ok_or_else(|| {
            CatalogError::Corrupt(format!("track {track_id} vanished while being ingested"))
        })?;
    Ok(IngestedTrack { track, release })
}

/// The track's title: its tag, else the file name without extension, else its position.
fn track_title(tag: Option<&str>, original_file_name: &str, position: i32) -> String {
    let file_name = display_file_name(original_file_name);
    let stem = Path::new(&file_name)
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or_default()
        .to_owned();
    [tag.map(str::to_owned), Some(stem)]
        .into_iter()
        .flatten()
        .find_map(|candidate| required_line("title", &candidate, TITLE_CHARS_MAX).ok())
        .unwrap_or_else(|| format!("Track {position}"))
}

/// The last component of a client-given name, without control characters, bounded.
fn display_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let printable: String = last
        .chars()
        .filter(|character| !character.is_control())
        .take(FILE_NAME_CHARS_MAX)
        .collect();
    let trimmed = printable.trim();
    if trimmed.is_empty() {
        "upload".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The snake_case name an analysis enum serialises to.
fn enum_name(value: &impl serde::Serialize) -> Result<String, CatalogError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        _ => Err(CatalogError::invalid(
            "analysis",
            "unexpected container or codec",
        )),
    }
}

/// The analysis as stored: everything but the artwork bytes, which live in the blob store.
fn analysis_without_artwork(analysis: &Analysis) -> Result<String, CatalogError> {
    let mut value = serde_json::to_value(analysis)
        .map_err(|error| CatalogError::invalid("analysis", error.to_string()))?;
    if let Some(object) = value.as_object_mut() {
        object.insert("artwork".to_owned(), serde_json::Value::Null);
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_file_names_are_only_shown_never_trusted() {
        let cases = [
            ("song.flac", "song.flac"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Music\\a.mp3", "a.mp3"),
            ("bad\u{0}name\n.wav", "badname.wav"),
            ("", "upload"),
            ("dir/", "upload"),
        ];
        for (input, expected) in cases {
            assert_eq!(display_file_name(input), expected, "{input:?}");
        }
        assert_eq!(
            display_file_name(&"x".repeat(1000)).chars().count(),
            FILE_NAME_CHARS_MAX
        );
    }

    #[test]
    fn track_titles_fall_back_from_tag_to_file_name_to_position() {
        let cases = [
            (Some("Intro"), "01 intro.flac", "Intro"),
            (None, "01 intro.flac", "01 intro"),
            (Some("   "), "b.mp3", "b"),
            (None, ".flac", ".flac"),
            (None, "", "upload"),
            (Some("\u{7}"), "..", "Track 3"),
            (Some("\u{7}"), "\u{7}", "upload"),
        ];
        for (tag, file_name, expected) in cases {
            assert_eq!(
                track_title(tag, file_name, 3),
                expected,
                "{tag:?} {file_name:?}"
            );
        }
    }
}
