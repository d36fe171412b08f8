//! Removing blobs that no row refers to. Ingest and transcoding write a blob first and its rows
//! second (`media.rs`, `transcode/cache.rs`), and delete the blob when the rows are refused; a
//! crash between the two steps leaves a blob nothing points at. [`sweep_unreferenced_blobs`]
//! finds those and deletes them. Only blobs older than a minimum age are considered, so a write
//! whose rows are about to be committed is never mistaken for an orphan.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use diesel::prelude::*;
use megabox_database::DbConnection;

use crate::CatalogError;
use crate::schema::{media_files, releases};
use crate::storage::BlobStore;
use crate::transcode::cache::transcodes;

/// Blobs younger than this are left alone: an ingest or a transcode may still be committing.
pub const SWEEP_MIN_AGE_DEFAULT: Duration = Duration::from_secs(60 * 60);

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Blobs old enough to be considered.
    pub examined: u64,
    /// Of those, the ones no row referred to, now deleted.
    pub removed: u64,
}

/// Deletes every blob older than `min_age` that no media file, artwork or transcode refers to.
/// Safe to run while the server runs, and again after an interruption.
pub fn sweep_unreferenced_blobs(
    connection: &mut DbConnection,
    blobs: &dyn BlobStore,
    min_age: Duration,
) -> Result<SweepReport, CatalogError> {
    let cutoff = SystemTime::now()
        .checked_sub(min_age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    // Listed before the references are read: a blob listed here is older than the cutoff, so
    // any row that refers to it was committed before this read.
    let candidates = blobs.keys_written_before(cutoff)?;
    let mut referenced: HashSet<String> = media_files::table
        .select(media_files::storage_key)
        .load(connection)?
        .into_iter()
        .collect();
    referenced.extend(
        media_files::table
            .select(media_files::artwork_key)
            .filter(media_files::artwork_key.is_not_null())
            .load::<Option<String>>(connection)?
            .into_iter()
            .flatten(),
    );
    referenced.extend(
        releases::table
            .select(releases::artwork_key)
            .filter(releases::artwork_key.is_not_null())
            .load::<Option<String>>(connection)?
            .into_iter()
            .flatten(),
    );
    referenced.extend(
        transcodes::table
            .select(transcodes::storage_key)
            .load::<String>(connection)?,
    );
    let mut report = SweepReport {
        examined: u64::try_from(candidates.len()).unwrap_or(u64::MAX),
        removed: 0,
    };
    for key in candidates
        .iter()
        .filter(|key| !referenced.contains(&key.to_string()))
    {
        blobs.delete(key)?;
        tracing::info!(blob.key = %key, "removed a blob no row refers to");
        report.removed += 1;
    }
    Ok(report)
}
