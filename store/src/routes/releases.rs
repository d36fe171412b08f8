//! Publishing music: an artist creates a draft release, uploads files into it (each analysed in
//! the sandbox and pre-filled from its tags), edits titles, order, credits and prices, and
//! publishes. Every call acts as the signed-in artist; another artist's release is 404.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, get, patch, post, put, web};
use catalog::artists::{self, ArtistProfileUpdate};
use catalog::media::{self, StorageQuota, Upload};
use catalog::releases::{self, NewRelease, ReleaseUpdate};
use catalog::tags::Tags;
use catalog::tracks::{self, TrackUpdate};
use chrono::NaiveDate;
use megabox_domain::{ArtistId, ReleaseId, TrackId};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{
    ArtistView, PriceView, ReleaseDetailView, ReleaseKindView, ReleaseView, TrackView, parse_id,
    present_or_null,
};
use crate::accounts::{self, Role};
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::uploads;

/// The caller's artist profile, created on first use with their display name.
pub async fn acting_artist(
    state: &AppState,
    user: AuthenticatedUser,
) -> Result<ArtistId, ApiError> {
    user.require(Role::Artist)?;
    state
        .write(move |connection| {
            let account = accounts::find_by_id(connection, user.user_id)?.ok_or_else(|| {
                ApiError::unauthorized("invalid_token", "the account no longer exists")
            })?;
            Ok(artists::create_or_get(connection, user.user_id, &account.display_name)?.id)
        })
        .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReleaseRequest {
    /// Optional: the first uploaded file's album tag fills it in.
    pub title: Option<String>,
    pub kind: ReleaseKindView,
}

/// Start a draft release.
#[utoipa::path(tag = "publishing", security(("bearer" = [])), request_body = CreateReleaseRequest,
    responses((status = 201, body = ReleaseView), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/releases")]
pub async fn create_release(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    body: web::Json<CreateReleaseRequest>,
) -> Result<HttpResponse, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let CreateReleaseRequest { title, kind } = body.into_inner();
    let release = state
        .write(move |connection| {
            Ok(releases::create_draft(
                connection,
                artist,
                &NewRelease {
                    title,
                    kind: kind.into(),
                },
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(ReleaseView::from(release)))
}

/// The caller's releases in every state.
#[utoipa::path(tag = "publishing", security(("bearer" = [])), responses((status = 200, body = Vec<ReleaseView>)))]
#[get("/releases")]
pub async fn my_releases(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<Vec<ReleaseView>>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let list = state
        .database(move |connection| Ok(releases::releases_of_artist(connection, artist)?))
        .await?;
    Ok(web::Json(list.into_iter().map(ReleaseView::from).collect()))
}

/// One of the caller's releases with its tracks, in any state.
#[utoipa::path(tag = "publishing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ReleaseDetailView), (status = 404, body = crate::error::ErrorBody)))]
#[get("/releases/{id}")]
pub async fn my_release(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
) -> Result<web::Json<ReleaseDetailView>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let release: ReleaseId = parse_id(&path, "release")?;
    let detail = state
        .database(move |connection| Ok(releases::release_for_owner(connection, artist, release)?))
        .await?;
    Ok(web::Json(detail.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateReleaseRequest {
    pub title: Option<String>,
    pub kind: Option<ReleaseKindView>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present_or_null")]
    pub release_date: Option<Option<NaiveDate>>,
    pub credits: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present_or_null")]
    pub price: Option<Option<PriceView>>,
    /// Replaces all tags: at most 10, each trimmed and lower-cased, 1 to 40 characters.
    pub tags: Option<Vec<String>>,
}

/// Edit a release; absent fields stay as they are.
#[utoipa::path(tag = "publishing", security(("bearer" = [])), params(("id" = String, Path)), request_body = UpdateReleaseRequest,
    responses((status = 200, body = ReleaseView), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[patch("/releases/{id}")]
pub async fn update_release(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
    body: web::Json<UpdateReleaseRequest>,
) -> Result<web::Json<ReleaseView>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let release: ReleaseId = parse_id(&path, "release")?;
    let request = body.into_inner();
    let update = ReleaseUpdate {
        title: request.title,
        kind: request.kind.map(Into::into),
        release_date: request.release_date,
        credits: request.credits,
        price: request
            .price
            .map(|price| price.map(PriceView::parse).transpose())
            .transpose()?,
        tags: request.tags.as_deref().map(Tags::parse).transpose()?,
    };
    let updated = state
        .write(move |connection| {
            Ok(releases::update_release(
                connection, artist, release, &update,
            )?)
        })
        .await?;
    Ok(web::Json(updated.into()))
}

/// Make a release public. Refused with every reason at once when it is not ready.
#[utoipa::path(tag = "publishing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ReleaseView), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "already published (`invalid_transition`)", body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[post("/releases/{id}/publish")]
pub async fn publish(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
) -> Result<web::Json<ReleaseView>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let release: ReleaseId = parse_id(&path, "release")?;
    let published = state
        .write(move |connection| Ok(releases::publish(connection, artist, release)?))
        .await?;
    Ok(web::Json(published.into()))
}

/// Take a release off the store; buyers keep what they bought.
#[utoipa::path(tag = "publishing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ReleaseView), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
#[post("/releases/{id}/unpublish")]
pub async fn unpublish(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
) -> Result<web::Json<ReleaseView>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let release: ReleaseId = parse_id(&path, "release")?;
    let unpublished = state
        .write(move |connection| Ok(releases::unpublish(connection, artist, release)?))
        .await?;
    state.stream_grants.forget_all();
    Ok(web::Json(unpublished.into()))
}

#[derive(serde::Serialize, ToSchema)]
pub struct UploadedTrack {
    pub track: TrackView,
    pub release: ReleaseView,
}

/// Upload one audio file (multipart field `file`) as the next track of a draft release. The file
/// is analysed in a sandbox; unsupported, corrupt or hostile files are refused with a reason and
/// leave nothing behind.
#[utoipa::path(tag = "publishing", security(("bearer" = [])), params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "one part named `file`"),
    responses(
        (status = 201, body = UploadedTrack),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "duplicate audio or quota exceeded", body = crate::error::ErrorBody),
        (status = 413, description = "file too large, or it does not fit the storage quota with the uploads in flight", body = crate::error::ErrorBody),
        (status = 422, description = "unsupported format or invalid audio", body = crate::error::ErrorBody),
        (status = 429, description = "too many uploads per hour, or too many at once", body = crate::error::ErrorBody),
    ))]
#[post("/releases/{id}/tracks")]
pub async fn upload_track(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let release: ReleaseId = parse_id(&path, "release")?;
    state
        .rate_limit(&state.limits.upload, &artist.to_string())
        .await?;
    // Refuse early, before receiving a large body, if the release is not the caller's; what
    // the artist stores already bounds the bytes this upload may bring.
    let used_bytes = state
        .database(move |connection| {
            releases::release_for_owner(connection, artist, release)?;
            Ok(media::used_storage_bytes(connection, artist)?)
        })
        .await?;
    let mut reservation = state.uploads_in_flight.begin(
        artist,
        uploads::UploadBudget {
            concurrent_uploads_max: state.settings.concurrent_uploads_per_artist_max,
            used_bytes,
            quota_bytes: state.settings.storage_quota_bytes,
        },
    )?;
    let received = uploads::receive_reserved_file(
        payload,
        &state.settings.upload_dir(),
        state.settings.upload_bytes_max,
        &mut reservation,
    )
    .await?;
    let sandbox = state.analysis_sandbox.clone();
    let path = received.file.to_path_buf();
    let analysis = web::block(move || sandbox.analyze(&path))
        .await
        .map_err(ApiError::internal)??;
    let blobs = state.blobs.clone();
    let quota = StorageQuota {
        bytes_max: state.settings.storage_quota_bytes,
    };
    let pool = state.pool.clone();
    let ingested = web::block(move || {
        let mut connection = crate::state::pooled_connection(&pool)?;
        let upload = Upload {
            path: &received.file,
            original_file_name: &received.original_file_name,
            analysis: &analysis,
        };
        media::ingest(
            &mut connection,
            blobs.as_ref(),
            artist,
            release,
            upload,
            quota,
        )
        .map_err(ApiError::from)
    })
    .await
    .map_err(ApiError::internal)??;
    // The bytes are recorded now: they leave the in-flight count.
    drop(reservation);
    tracing::info!(track.id = %ingested.track.id, release.id = %release, "track uploaded");
    Ok(HttpResponse::Created().json(UploadedTrack {
        track: ingested.track.into(),
        release: ingested.release.into(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTrackRequest {
    pub title: Option<String>,
    pub credits: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present_or_null")]
    pub isrc: Option<Option<String>>,
    /// `null` clears it (the track is then sold only as part of the release).
    #[serde(default, deserialize_with = "present_or_null")]
    pub price: Option<Option<PriceView>>,
}

/// Edit a track of one of the caller's releases.
#[utoipa::path(tag = "publishing", security(("bearer" = [])), params(("id" = String, Path)), request_body = UpdateTrackRequest,
    responses((status = 200, body = TrackView), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[patch("/tracks/{id}")]
pub async fn update_track(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
    body: web::Json<UpdateTrackRequest>,
) -> Result<web::Json<TrackView>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let track: TrackId = parse_id(&path, "track")?;
    let request = body.into_inner();
    let update = TrackUpdate {
        title: request.title,
        credits: request.credits,
        isrc: request.isrc,
        price: request
            .price
            .map(|price| price.map(PriceView::parse).transpose())
            .transpose()?,
    };
    let updated = state
        .write(move |connection| Ok(tracks::update_track(connection, artist, track, &update)?))
        .await?;
    Ok(web::Json(updated.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackOrderRequest {
    /// Every track of the release, in the new order.
    #[schema(value_type = Vec<String>)]
    pub track_ids: Vec<String>,
}

/// Reorder the tracks of one of the caller's releases.
#[utoipa::path(tag = "publishing", security(("bearer" = [])), params(("id" = String, Path)), request_body = TrackOrderRequest,
    responses((status = 200, body = Vec<TrackView>), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[put("/releases/{id}/track-order")]
pub async fn reorder_tracks(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
    body: web::Json<TrackOrderRequest>,
) -> Result<web::Json<Vec<TrackView>>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let release: ReleaseId = parse_id(&path, "release")?;
    let order = body
        .into_inner()
        .track_ids
        .iter()
        .map(|id| {
            id.parse::<TrackId>()
                .map_err(|_| ApiError::invalid("invalid_input", "track_ids must be track ids"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let reordered = state
        .write(move |connection| Ok(tracks::reorder_tracks(connection, artist, release, &order)?))
        .await?;
    Ok(web::Json(
        reordered.into_iter().map(TrackView::from).collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    pub name: Option<String>,
    pub bio: Option<String>,
}

/// The caller's public artist profile.
#[utoipa::path(tag = "publishing", security(("bearer" = [])), responses((status = 200, body = ArtistView)))]
#[get("/artist/profile")]
pub async fn my_profile(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<ArtistView>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let profile = state
        .database(move |connection| Ok(artists::artist(connection, artist)?))
        .await?;
    Ok(web::Json(profile.into()))
}

/// Edit the caller's public artist profile.
#[utoipa::path(tag = "publishing", security(("bearer" = [])), request_body = UpdateProfileRequest,
    responses((status = 200, body = ArtistView), (status = 422, body = crate::error::ErrorBody)))]
#[patch("/artist/profile")]
pub async fn update_profile(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    body: web::Json<UpdateProfileRequest>,
) -> Result<web::Json<ArtistView>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let UpdateProfileRequest { name, bio } = body.into_inner();
    let profile = state
        .write(move |connection| {
            Ok(artists::update_profile(
                connection,
                artist,
                &ArtistProfileUpdate { name, bio },
            )?)
        })
        .await?;
    Ok(web::Json(profile.into()))
}
