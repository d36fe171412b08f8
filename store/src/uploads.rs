//! Receiving an audio upload: the multipart `file` part is streamed to a temporary file under
//! the data directory (never held whole in memory), bounded by `upload_bytes_max`, then analysed
//! in the sandboxed child process. The temporary file is removed when the upload is dropped,
//! whatever happened.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use futures_util::TryStreamExt;
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;

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
    mut payload: Multipart,
    directory: &std::path::Path,
    bytes_max: u64,
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
            size_bytes = size_bytes.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
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
