//! The public catalog: anyone may browse published releases, artists and search, and see
//! cover art. Drafts and unpublished releases are 404 here, whoever asks.

use actix_files::NamedFile;
use actix_web::{HttpRequest, HttpResponse, get, web};
use catalog::storage::{BlobKey, BlobLocation, BlobStore};
use catalog::{artists, releases, search};
use megabox_domain::{ArtistId, ReleaseId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::{ArtistView, ReleaseDetailView, ReleaseSummaryView, parse_id};
use crate::auth::OptionalUser;
use crate::error::ApiError;
use crate::state::AppState;

pub(super) const PAGE_SIZE_DEFAULT: u32 = 24;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 100; default 24.
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ReleasePageView {
    pub releases: Vec<ReleaseSummaryView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<releases::ReleasePage> for ReleasePageView {
    fn from(page: releases::ReleasePage) -> Self {
        ReleasePageView {
            releases: page
                .releases
                .into_iter()
                .map(ReleaseSummaryView::from)
                .collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// Published releases, newest first.
#[utoipa::path(tag = "catalog", params(PageQuery), responses((status = 200, body = ReleasePageView), (status = 422, body = crate::error::ErrorBody)))]
#[get("/catalog/releases")]
pub async fn list_releases(
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ReleasePageView>, ApiError> {
    let PageQuery { cursor, limit } = query.into_inner();
    let page = state
        .database(move |connection| {
            Ok(releases::published_releases(
                connection,
                cursor.as_deref(),
                limit.unwrap_or(PAGE_SIZE_DEFAULT),
            )?)
        })
        .await?;
    Ok(web::Json(page.into()))
}

/// A published release with its tracks. With a bearer token, the release and each track say
/// whether the caller owns them (`owned`); an invalid or expired token is a 401.
#[utoipa::path(tag = "catalog", params(("id" = String, Path)), security((), ("bearer" = [])),
    responses((status = 200, body = ReleaseDetailView), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
#[get("/catalog/releases/{id}")]
pub async fn public_release(
    state: web::Data<AppState>,
    OptionalUser(user): OptionalUser,
    path: web::Path<String>,
) -> Result<web::Json<ReleaseDetailView>, ApiError> {
    let release: ReleaseId = parse_id(&path, "release")?;
    let view = state
        .database(move |connection| {
            let detail = releases::public_release(connection, release)?;
            let Some(user) = user else {
                return Ok(ReleaseDetailView::from(detail));
            };
            let tracks: Vec<_> = detail.tracks.iter().map(|track| track.id).collect();
            let ownership =
                megabox_payments::ownership_of_release(connection, user.user_id, release, &tracks)?;
            Ok(ReleaseDetailView::from(detail).with_ownership(&ownership))
        })
        .await?;
    Ok(web::Json(view))
}

#[derive(Serialize, ToSchema)]
pub struct ArtistProfileView {
    pub artist: ArtistView,
    pub releases: Vec<ReleaseSummaryView>,
}

/// An artist and their published releases.
#[utoipa::path(tag = "catalog", params(("id" = String, Path)), responses((status = 200, body = ArtistProfileView), (status = 404, body = crate::error::ErrorBody)))]
#[get("/catalog/artists/{id}")]
pub async fn public_artist(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<ArtistProfileView>, ApiError> {
    let artist: ArtistId = parse_id(&path, "artist")?;
    let profile = state
        .database(move |connection| Ok(artists::public_profile(connection, artist)?))
        .await?;
    Ok(web::Json(ArtistProfileView {
        artist: profile.artist.into(),
        releases: profile
            .releases
            .into_iter()
            .map(ReleaseSummaryView::from)
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words to find in artist names, release titles and track titles.
    pub q: String,
}

#[derive(Serialize, ToSchema)]
pub struct TrackHitView {
    #[schema(value_type = String, format = Uuid)]
    pub track_id: megabox_domain::TrackId,
    pub title: String,
    #[schema(value_type = String, format = Uuid)]
    pub release_id: ReleaseId,
    pub release_title: String,
    #[schema(value_type = String, format = Uuid)]
    pub artist_id: ArtistId,
    pub artist_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct SearchResultsView {
    pub artists: Vec<ArtistView>,
    pub releases: Vec<ReleaseSummaryView>,
    pub tracks: Vec<TrackHitView>,
}

/// Full-text search of the published catalog.
#[utoipa::path(tag = "catalog", params(SearchQuery), responses((status = 200, body = SearchResultsView), (status = 422, body = crate::error::ErrorBody)))]
#[get("/catalog/search")]
pub async fn search_catalog(
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<web::Json<SearchResultsView>, ApiError> {
    let text = query.into_inner().q;
    let results = state
        .database(move |connection| Ok(search::search(connection, &text)?))
        .await?;
    Ok(web::Json(SearchResultsView {
        artists: results.artists.into_iter().map(ArtistView::from).collect(),
        releases: results
            .releases
            .into_iter()
            .map(ReleaseSummaryView::from)
            .collect(),
        tracks: results
            .tracks
            .into_iter()
            .map(|hit| TrackHitView {
                track_id: hit.track_id,
                title: hit.title,
                release_id: hit.release_id,
                release_title: hit.release_title,
                artist_id: hit.artist_id,
                artist_name: hit.artist_name,
            })
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ArtworkQuery {
    /// `small` (300 px), `medium` (600 px) or `large` (1200 px, the default).
    pub size: Option<String>,
}

/// The cover art of a published release, in one of three sizes.
#[utoipa::path(tag = "catalog", params(("id" = String, Path), ArtworkQuery), responses((status = 200, content_type = "image/jpeg"), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[get("/catalog/releases/{id}/artwork")]
pub async fn release_artwork(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ArtworkQuery>,
) -> Result<HttpResponse, ApiError> {
    let size = catalog::artwork::ArtworkSize::parse(query.size.as_deref().unwrap_or("large"))?;
    let release: ReleaseId = parse_id(&path, "release")?;
    let detail = state
        .database(move |connection| Ok(releases::public_release(connection, release)?))
        .await?;
    let key = detail
        .release
        .artwork_key
        .as_deref()
        .map(BlobKey::parse)
        .transpose()
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("this release has no artwork"))?;
    let blobs = state.blobs.clone();
    let cache_dir = state.settings.media_dir().join("artwork-sizes");
    let file =
        web::block(move || catalog::artwork::rendition(blobs.as_ref(), &key, size, &cache_dir))
            .await
            .map_err(ApiError::internal)??;
    let file = NamedFile::open_async(&file)
        .await
        .map_err(ApiError::internal)?;
    // Renditions are always JPEG, whatever the cached file's name.
    Ok(file
        .set_content_type(actix_web::mime::IMAGE_JPEG)
        .use_etag(true)
        .use_last_modified(true)
        .into_response(&request))
}

/// Response bodies up to this size are read without leaving the worker thread.
const SYNC_READ_BYTES_MAX: u64 = 1024 * 1024;

/// Serves a stored blob with HTTP Range, ETag and Last-Modified, without reading it into memory.
/// `content_type` names what the blob holds; without it, it is guessed from the first bytes.
pub async fn serve_blob(
    blobs: &dyn BlobStore,
    key: &BlobKey,
    request: &HttpRequest,
    content_type: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    match blobs.locate(key).map_err(ApiError::internal)? {
        BlobLocation::LocalFile(path) => {
            // Opening is two syscalls on local media, cheaper than a hop to the blocking pool.
            // Ranges up to SYNC_READ_BYTES_MAX are read on the worker thread too (the size of a
            // player's seek or an audio element's probe); longer bodies stream from the pool.
            let mut file = NamedFile::open(&path)
                .map_err(ApiError::internal)?
                .use_last_modified(true)
                .use_etag(true)
                .read_mode_threshold(SYNC_READ_BYTES_MAX);
            if let Some(mime) = content_type.and_then(|text| text.parse().ok()) {
                file = file.set_content_type(mime);
            }
            Ok(file.into_response(request))
        }
    }
}
