//! Receiving an audio upload: the multipart `file` part is streamed to a temporary file under
//! the data directory (never held whole in memory), bounded by `upload_bytes_max`, then analysed
//! in the sandboxed child process. The temporary file is removed when the upload is dropped,
//! whatever happened.
//!
//! Bytes still arriving count against the artist's storage quota, and an artist has a bounded
//! number of uploads in flight ([`UploadsInFlight`]), so parallel uploads cannot fill the disk
//! before any of them is recorded. The count is per process: N servers allow N× in flight, and
//! the quota check in the recording transaction stays the exact one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use futures_util::TryStreamExt;
use megabox_domain::ArtistId;
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;

/// Seconds an artist refused for too many uploads in flight is told to wait.
const UPLOAD_BUSY_RETRY_AFTER_SECONDS: u64 = 5;

/// One artist's uploads in flight.
#[derive(Debug, Default, Clone, Copy)]
struct InFlight {
    uploads: u32,
    bytes: u64,
}

/// The uploads this process is receiving, per artist.
#[derive(Debug, Default)]
pub struct UploadsInFlight(Mutex<HashMap<ArtistId, InFlight>>);

/// What an upload may take, checked as it starts and as its bytes arrive.
#[derive(Debug, Clone, Copy)]
pub struct UploadBudget {
    /// Uploads one artist may have in flight at once.
    pub concurrent_uploads_max: u32,
    /// Bytes the artist stores now.
    pub used_bytes: u64,
    /// The artist's storage quota.
    pub quota_bytes: u64,
}

impl UploadsInFlight {
    /// Counts a new upload of `artist`; 429 when the artist already has the most in flight.
    pub fn begin(
        self: &Arc<Self>,
        artist: ArtistId,
        budget: UploadBudget,
    ) -> Result<UploadReservation, ApiError> {
        let mut in_flight = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = in_flight.entry(artist).or_default();
        if entry.uploads >= budget.concurrent_uploads_max {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_uploads",
                format!(
                    "at most {} uploads at once; wait for one to finish",
                    budget.concurrent_uploads_max
                ),
            )
            .with_retry_after(UPLOAD_BUSY_RETRY_AFTER_SECONDS));
        }
        entry.uploads += 1;
        Ok(UploadReservation {
            registry: Arc::clone(self),
            artist,
            budget,
            bytes: 0,
        })
    }
}

/// One upload in flight; dropping it (finished, refused or cut off) gives its bytes and its slot
/// back.
#[derive(Debug)]
pub struct UploadReservation {
    registry: Arc<UploadsInFlight>,
    artist: ArtistId,
    budget: UploadBudget,
    bytes: u64,
}

impl UploadReservation {
    /// Counts `more` bytes arriving; 413 when the artist's stored bytes and every upload in
    /// flight would pass the quota.
    fn take(&mut self, more: u64) -> Result<(), ApiError> {
        let mut in_flight = self
            .registry
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = in_flight.entry(self.artist).or_default();
        let total = self
            .budget
            .used_bytes
            .saturating_add(entry.bytes)
            .saturating_add(more);
        if total > self.budget.quota_bytes {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "quota_exceeded",
                format!(
                    "this upload does not fit the storage quota: {} bytes stored and {} uploading of {} allowed",
                    self.budget.used_bytes,
                    entry.bytes.saturating_add(more),
                    self.budget.quota_bytes
                ),
            ));
        }
        entry.bytes += more;
        self.bytes += more;
        Ok(())
    }
}

impl Drop for UploadReservation {
    fn drop(&mut self) {
        let mut in_flight = self
            .registry
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = in_flight.get_mut(&self.artist) {
            entry.uploads = entry.uploads.saturating_sub(1);
            entry.bytes = entry.bytes.saturating_sub(self.bytes);
            if entry.uploads == 0 {
                in_flight.remove(&self.artist);
            }
        }
    }
}

/// Longest client file name kept (for display only; never part of a path).
const FILE_NAME_CHARS_MAX: usize = 255;

/// An uploaded file on disk, deleted on drop.
pub struct ReceivedFile {
    pub file: tempfile::TempPath,
    pub original_file_name: String,
    pub size_bytes: u64,
}

/// Reads the one `file` part of a multipart body into a temporary file in `directory`.
pub async fn receive_file(
    payload: Multipart,
    directory: &std::path::Path,
    bytes_max: u64,
) -> Result<ReceivedFile, ApiError> {
    receive(payload, directory, bytes_max, None).await
}

/// Like [`receive_file`], counting every byte against `reservation` as it arrives.
pub async fn receive_reserved_file(
    payload: Multipart,
    directory: &std::path::Path,
    bytes_max: u64,
    reservation: &mut UploadReservation,
) -> Result<ReceivedFile, ApiError> {
    receive(payload, directory, bytes_max, Some(reservation)).await
}

async fn receive(
    mut payload: Multipart,
    directory: &std::path::Path,
    bytes_max: u64,
    mut reservation: Option<&mut UploadReservation>,
) -> Result<ReceivedFile, ApiError> {
    std::fs::create_dir_all(directory).map_err(ApiError::internal)?;
    let mut received = None;
    while let Some(mut field) = payload.try_next().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "file" {
            return Err(ApiError::invalid(
                "unexpected_field",
                format!(
                    "unexpected multipart field {:?}; send one `file`",
                    name.chars().take(40).collect::<String>()
                ),
            ));
        }
        if received.is_some() {
            return Err(ApiError::invalid(
                "too_many_files",
                "send one `file` per request",
            ));
        }
        let original_file_name: String = field
            .content_disposition()
            .and_then(|disposition| disposition.get_filename())
            .unwrap_or("upload")
            .chars()
            .filter(|character| !character.is_control())
            .take(FILE_NAME_CHARS_MAX)
            .collect();
        let temporary = tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(directory)
            .map_err(storage_error)?;
        let (file, path) = temporary.into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let mut size_bytes: u64 = 0;
        while let Some(chunk) = field.try_next().await.map_err(malformed)? {
            let chunk_bytes = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
            size_bytes = size_bytes.saturating_add(chunk_bytes);
            if let Some(reservation) = reservation.as_deref_mut() {
                reservation.take(chunk_bytes)?;
            }
            if size_bytes > bytes_max {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "file_too_large",
                    format!("files may be at most {bytes_max} bytes"),
                ));
            }
            file.write_all(&chunk).await.map_err(storage_error)?;
        }
        file.flush().await.map_err(storage_error)?;
        file.sync_all().await.map_err(storage_error)?;
        if size_bytes == 0 {
            return Err(ApiError::invalid("empty_file", "the file is empty"));
        }
        received = Some(ReceivedFile {
            file: path,
            original_file_name,
            size_bytes,
        });
    }
    received.ok_or_else(|| {
        ApiError::invalid(
            "missing_file",
            "send the audio as the multipart field `file`",
        )
    })
}

fn malformed(error: actix_multipart::MultipartError) -> ApiError {
    ApiError::bad_request(
        "malformed_multipart",
        format!("the multipart body is malformed: {error}"),
    )
}

/// A full disk is the operator's problem but the client's answer must be clear.
fn storage_error(error: std::io::Error) -> ApiError {
    if error.kind() == std::io::ErrorKind::StorageFull {
        ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage_full",
            "the server has no room for this file right now",
        )
    } else {
        ApiError::internal(error)
    }
}
