//! The cache of transcodes: each (media file, format) is transcoded once, on first request, and
//! its blob reused after. Requests that race produce one cached result: every racer may
//! transcode, but the primary key lets one row in, and each loser deletes its own blob and
//! returns the winner's.

use std::fs::File;
use std::path::Path;

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use megabox_database::DbConnection;

use super::{Format, TranscodeError, TranscodeSandbox};
use crate::schema::tracks;
use crate::storage::{BlobKey, BlobKind, BlobLocation, BlobStore, StorageError};
use crate::tracks::TrackMedia;

/// The largest transcode stored: a two-hour 24-bit 96 kHz stereo FLAC fits.
pub const TRANSCODE_BYTES_MAX: u64 = 4 * 1024 * 1024 * 1024;

// Declared here rather than in `crate::schema` while the module is new; only this module reads it.
diesel::table! {
    transcodes (media_file_id, format) {
        media_file_id -> Text,
        format -> Text,
        storage_key -> Text,
        size_bytes -> BigInt,
        created_at -> Timestamp,
    }
}

/// The blob holding `media`'s audio in `format`, and its size in bytes: `Original` is the stored
/// upload itself; any other format is transcoded in `sandbox` (through a temporary file in
/// `work_dir`) on the first request and reused after. Blocks for as long as the transcode
/// takes: call it outside any transaction, from a blocking thread in async code.
pub fn ensure_transcode(
    connection: &mut DbConnection,
    blobs: &dyn BlobStore,
    sandbox: &TranscodeSandbox,
    media: &TrackMedia,
    format: Format,
    work_dir: &Path,
) -> Result<(BlobKey, u64), TranscodeError> {
    if format == Format::Original {
        return Ok((media.storage_key.clone(), media.size_bytes));
    }
    if !format.is_available_for(&media.codec) {
        return Err(TranscodeError::LossySource {
            codec: media.codec.clone(),
        });
    }
    let media_file_id = media_file_of(connection, media)?;
    if let Some(cached) = cached_transcode(connection, blobs, &media_file_id, format)? {
        return Ok(cached);
    }
    let BlobLocation::LocalFile(input) = blobs.locate(&media.storage_key)?;
    let output = work_dir.join(format!(
        "transcode-{}.{}",
        uuid::Uuid::new_v4().simple(),
        format.file_extension(&media.container)
    ));
    let key = BlobKey::generate(BlobKind::Audio);
    let stored = sandbox.transcode(&input, &output, format).and_then(|()| {
        let mut file = File::open(&output).map_err(|error| TranscodeError::io(&error))?;
        Ok(blobs.put(&key, &mut file, TRANSCODE_BYTES_MAX)?)
    });
    // The output was copied into the store, or is useless; a missing file is fine.
    let _ = std::fs::remove_file(&output);
    let size_bytes = stored?;
    match insert_transcode(connection, &media_file_id, format, &key, size_bytes) {
        Ok(()) => Ok((key, size_bytes)),
        Err(error) => {
            delete_blob(blobs, &key);
            match error {
                TranscodeError::Database(DieselError::DatabaseError(
                    DatabaseErrorKind::UniqueViolation,
                    _,
                )) => stored_transcode(connection, &media_file_id, format)?
                    .ok_or(TranscodeError::MediaNotFound),
                other => Err(other),
            }
        }
    }
}

/// Removes the cache rows of a media file inside the caller's transaction and returns their blob
/// keys, for the caller to delete once it has committed (as `crate::media::remove_track` does
/// with the upload's own blob).
pub fn take_transcodes_of_media(
    connection: &mut DbConnection,
    media_file_id: &str,
) -> Result<Vec<BlobKey>, TranscodeError> {
    let keys: Vec<String> = transcodes::table
        .filter(transcodes::media_file_id.eq(media_file_id))
        .select(transcodes::storage_key)
        .load(connection)?;
    // Only the rows read: a transcode cached meanwhile keeps its row, and the media file's
    // foreign key then refuses its deletion rather than orphan that blob.
    diesel::delete(transcodes::table.filter(transcodes::storage_key.eq_any(&keys)))
        .execute(connection)?;
    keys.iter()
        .map(|key| BlobKey::parse(key).map_err(TranscodeError::from))
        .collect()
}

/// Removes every transcode of a media file, rows and blobs, in a transaction of its own.
pub fn delete_transcodes_of_media(
    connection: &mut DbConnection,
    blobs: &dyn BlobStore,
    media_file_id: &str,
) -> Result<(), TranscodeError> {
    let keys = megabox_database::write_transaction(connection, |connection| {
        take_transcodes_of_media(connection, media_file_id)
    })?;
    for key in &keys {
        delete_blob(blobs, key);
    }
    Ok(())
}

fn media_file_of(
    connection: &mut DbConnection,
    media: &TrackMedia,
) -> Result<String, TranscodeError> {
    tracks::table
        .find(media.track_id.to_string())
        .select(tracks::media_file_id)
        .first(connection)
        .optional()?
        .ok_or(TranscodeError::MediaNotFound)
}

/// The cached transcode, if there is one whose blob still exists; a row whose blob has gone
/// (removed by hand, or by a cleanup whose transaction then rolled back) is forgotten so that
/// the transcode is made again.
fn cached_transcode(
    connection: &mut DbConnection,
    blobs: &dyn BlobStore,
    media_file_id: &str,
    format: Format,
) -> Result<Option<(BlobKey, u64)>, TranscodeError> {
    let Some((key, size_bytes)) = stored_transcode(connection, media_file_id, format)? else {
        return Ok(None);
    };
    match blobs.locate(&key) {
        Ok(_) => Ok(Some((key, size_bytes))),
        Err(StorageError::Missing(_)) => {
            tracing::warn!(blob.key = %key, media_file.id = media_file_id, format = %format, "a cached transcode lost its blob; making it again");
            megabox_database::write_transaction(connection, |connection| {
                diesel::delete(
                    transcodes::table.filter(transcodes::storage_key.eq(key.to_string())),
                )
                .execute(connection)
            })?;
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

fn stored_transcode(
    connection: &mut DbConnection,
    media_file_id: &str,
    format: Format,
) -> Result<Option<(BlobKey, u64)>, TranscodeError> {
    let Some((key, size_bytes)) = transcodes::table
        .find((media_file_id, format.as_str()))
        .select((transcodes::storage_key, transcodes::size_bytes))
        .first::<(String, i64)>(connection)
        .optional()?
    else {
        return Ok(None);
    };
    let size_bytes = u64::try_from(size_bytes).map_err(|_| TranscodeError::Io {
        message: format!("transcode {key} has a negative size"),
    })?;
    Ok(Some((BlobKey::parse(&key)?, size_bytes)))
}

fn insert_transcode(
    connection: &mut DbConnection,
    media_file_id: &str,
    format: Format,
    key: &BlobKey,
    size_bytes: u64,
) -> Result<(), TranscodeError> {
    let size_bytes = i64::try_from(size_bytes).map_err(|_| TranscodeError::LimitExceeded {
        quantity: "transcode size in bytes".to_owned(),
        value: size_bytes,
        max: TRANSCODE_BYTES_MAX,
    })?;
    megabox_database::write_transaction(connection, |connection| {
        diesel::insert_into(transcodes::table)
            .values((
                transcodes::media_file_id.eq(media_file_id),
                transcodes::format.eq(format.as_str()),
                transcodes::storage_key.eq(key.to_string()),
                transcodes::size_bytes.eq(size_bytes),
                transcodes::created_at.eq(crate::db::now()),
            ))
            .execute(connection)
    })?;
    Ok(())
}

/// Deletes a blob nobody references; a failure leaves an orphan blob, which is logged, not fatal.
fn delete_blob(blobs: &dyn BlobStore, key: &BlobKey) {
    if let Err(error) = blobs.delete(key) {
        tracing::error!(%error, blob.key = %key, "cannot remove an unreferenced transcode blob");
    }
}
