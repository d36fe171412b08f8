//! Downloads of owned music in the listener's format: the original file, FLAC (from lossless
//! sources), MP3 320 kbps or MP3 V0; a whole release as one ZIP with its artwork. A download
//! starts with a signed link that expires (410 after, 403 if tampered with); ownership is
//! checked again when the link is used, so a refund ends it.

use actix_files::NamedFile;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use catalog::storage::{BlobLocation, BlobStore};
use catalog::transcode::{Format, release_zip_entry_name, safe_file_name, write_release_zip};
use megabox_domain::{ReleaseId, TrackId, UserId};
use megabox_payments::Item;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::listening::transcode;
use super::views::parse_id;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::signing::LinkSignature;
use crate::state::AppState;

const DOWNLOAD_PURPOSE: &str = "download";
const DOWNLOAD_LINK_TTL_SECONDS: u64 = 60 * 60;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadRequest {
    /// `original`, `flac`, `mp3-320` or `mp3-v0`.
    pub format: String,
}

#[derive(Serialize, ToSchema)]
pub struct DownloadLink {
    /// Signed; works without a token until it expires.
    pub url: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

fn download_path(item: &str, format: Format) -> String {
    format!("/api/v1/downloads/{item}/{}", format.as_str())
}

fn parse_format(text: &str) -> Result<Format, ApiError> {
    Format::parse_download(text).map_err(|_| {
        ApiError::invalid(
            "unknown_format",
            "format must be original, flac, mp3-320 or mp3-v0",
        )
    })
}

/// The owned item with this id (a track or a release); 404 when the caller does not own it.
async fn owned_item(state: &AppState, user: UserId, id: &str) -> Result<Item, ApiError> {
    // Track and release ids are both UUIDs and never collide, so one id names one item.
    let track: TrackId = parse_id(id, "item")?;
    let release: ReleaseId = parse_id(id, "item")?;
    state
        .database(move |connection| {
            for item in [Item::Track(track), Item::Release(release)] {
                if megabox_payments::owns_item(connection, user, item)? {
                    return Ok(item);
                }
            }
            Err(ApiError::not_found("not in your library"))
        })
        .await
}

/// A signed link to download an owned track or release in a format.
#[utoipa::path(tag = "buying", security(("bearer" = [])), params(("item" = String, Path, description = "a track or release id from the library")), request_body = DownloadRequest,
    responses((status = 200, body = DownloadLink), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/library/{item}/download")]
pub async fn request_download(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
    body: web::Json<DownloadRequest>,
) -> Result<web::Json<DownloadLink>, ApiError> {
    let format = parse_format(&body.format)?;
    let item = path.into_inner();
    owned_item(&state, user.user_id, &item).await?;
    let (url, expires_at) = state.link_signer.sign(
        DOWNLOAD_PURPOSE,
        &download_path(&item, format),
        &user.user_id.to_string(),
        DOWNLOAD_LINK_TTL_SECONDS,
    );
    Ok(web::Json(DownloadLink {
        url,
        expires_at: super::time::from_unix(expires_at),
    }))
}

fn local_path(
    blobs: &dyn BlobStore,
    key: &catalog::storage::BlobKey,
) -> Result<std::path::PathBuf, ApiError> {
    match blobs.locate(key).map_err(ApiError::internal)? {
        BlobLocation::LocalFile(path) => Ok(path),
    }
}

fn attachment(file: NamedFile, name: &str, mime: &str, request: &HttpRequest) -> HttpResponse {
    let mut file = file.use_etag(true);
    if let Ok(mime) = mime.parse() {
        file = file.set_content_type(mime);
    }
    let mut response = file.into_response(request);
    if let Ok(value) = content_disposition(name).parse() {
        response
            .headers_mut()
            .insert(actix_web::http::header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `attachment` naming the file twice (RFC 6266): `filename*` in UTF-8 (RFC 8187) and an ASCII
/// `filename` for clients without it. The name is made one safe file name first, so neither
/// carries a path, a quote or an invisible format control such as a right-to-left override.
fn content_disposition(name: &str) -> String {
    let name = safe_file_name(name);
    let ascii_fallback: String = name
        .chars()
        .map(|character| if character.is_ascii() { character } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        // RFC 8187's attr-char: everything else is percent-encoded.
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{encoded}")
}

/// The file a download link points at (made once per format and cached; releases are zipped on
/// demand).
#[utoipa::path(tag = "buying", params(("item" = String, Path), ("format" = String, Path), LinkSignature),
    responses((status = 200, content_type = "application/octet-stream"), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 410, body = crate::error::ErrorBody)))]
#[get("/downloads/{item}/{format}")]
pub async fn download(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    link: web::Query<LinkSignature>,
) -> Result<HttpResponse, ApiError> {
    let (item, format_text) = path.into_inner();
    let format = parse_format(&format_text)?;
    let subject =
        state
            .link_signer
            .verify(DOWNLOAD_PURPOSE, &download_path(&item, format), &link)?;
    let user: UserId = subject
        .parse()
        .map_err(|_| ApiError::forbidden("this link is not valid"))?;
    match owned_item(&state, user, &item).await? {
        Item::Track(track) => {
            let (key, media) = transcode(&state, track, Some(user), format).await?;
            let detail = state
                .database(move |connection| {
                    Ok(catalog::releases::public_release(
                        connection,
                        media.release_id,
                    )?)
                })
                .await?;
            let position_title = detail
                .tracks
                .iter()
                .find(|candidate| candidate.id == track)
                .map(|found| (found.position, found.title.clone()));
            let (position, title) = position_title.unwrap_or((1, "track".to_owned()));
            let name =
                release_zip_entry_name(position, &title, format.file_extension(&media.container));
            let file = NamedFile::open_async(local_path(state.blobs.as_ref(), &key)?)
                .await
                .map_err(ApiError::internal)?;
            Ok(attachment(
                file,
                &name,
                format.mime_type(&media.container),
                &request,
            ))
        }
        Item::Release(release) => {
            let detail = state
                .database(move |connection| {
                    Ok(catalog::releases::public_release(connection, release)?)
                })
                .await?;
            let mut entries = Vec::new();
            for track in &detail.tracks {
                let (key, media) = transcode(&state, track.id, Some(user), format).await?;
                entries.push((
                    release_zip_entry_name(
                        track.position,
                        &track.title,
                        format.file_extension(&media.container),
                    ),
                    local_path(state.blobs.as_ref(), &key)?,
                ));
            }
            let artwork = match detail.release.artwork_key.as_deref() {
                Some(key) => Some(local_path(
                    state.blobs.as_ref(),
                    &catalog::storage::BlobKey::parse(key).map_err(ApiError::internal)?,
                )?),
                None => None,
            };
            let work_dir = state.settings.work_dir();
            let archive = web::block(move || -> Result<NamedFile, ApiError> {
                std::fs::create_dir_all(&work_dir).map_err(ApiError::internal)?;
                let output = work_dir.join(format!("release-{}.zip", uuid::Uuid::new_v4()));
                let borrowed: Vec<(String, &std::path::Path)> = entries
                    .iter()
                    .map(|(name, path)| (name.clone(), path.as_path()))
                    .collect();
                write_release_zip(
                    &borrowed,
                    artwork.as_deref().map(|path| ("cover.jpg", path)),
                    &output,
                )
                .map_err(ApiError::internal)?;
                let file = NamedFile::open(&output).map_err(ApiError::internal)?;
                // The open file stays readable; the name goes now, so nothing is left behind.
                std::fs::remove_file(&output).map_err(ApiError::internal)?;
                Ok(file)
            })
            .await
            .map_err(ApiError::internal)??;
            let title = detail.release.title.unwrap_or_else(|| "release".to_owned());
            Ok(attachment(
                archive,
                &format!("{} - {}.zip", detail.artist_name, title),
                "application/zip",
                &request,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn download_names_carry_utf8_and_an_ascii_fallback_without_format_controls() {
        for (name, header) in [
            (
                "01 - Song.mp3",
                "attachment; filename=\"01 - Song.mp3\"; filename*=UTF-8''01%20-%20Song.mp3",
            ),
            (
                "Björk - Début.zip",
                "attachment; filename=\"Bj_rk - D_but.zip\"; filename*=UTF-8''Bj%C3%B6rk%20-%20D%C3%A9but.zip",
            ),
            (
                "Song\u{202E}3pm.exe",
                "attachment; filename=\"Song3pm.exe\"; filename*=UTF-8''Song3pm.exe",
            ),
            (
                "say \"hi\"\\..\\x; filename=evil",
                "attachment; filename=\"say _hi__._x; filename=evil\"; filename*=UTF-8''say%20_hi__._x%3B%20filename%3Devil",
            ),
        ] {
            assert_eq!(content_disposition(name), header, "{name:?}");
        }
    }
}
