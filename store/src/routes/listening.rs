//! Listening: start a play (which hands out the session's signed stream link, which the
//! `<audio>` element can use and through which the audio it credits must be fetched), report
//! progress, stream with HTTP Range, and the waveform the player draws.

use actix_web::{HttpRequest, HttpResponse, get, post, put, route, web};
use catalog::tracks;
use megabox_domain::{TrackId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalog::serve_blob;
use super::views::parse_id;
use crate::accounts;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::signing::LinkSignature;
use crate::state::AppState;
use crate::storefront::entitlements::{self, FullStreamAccess};
use crate::storefront::plays::{self, NotQualified, PlayRules};

const STREAM_PURPOSE: &str = "stream";
/// A stream link outlives the longest track a listener would pause and resume.
const STREAM_LINK_TTL_SECONDS: u64 = 6 * 60 * 60;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartPlayRequest {
    #[schema(value_type = String, format = Uuid)]
    pub track_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct StartedPlayView {
    pub play_id: String,
    /// Signed link to the full track for this play, usable as an `<audio src>`; only audio
    /// fetched through it counts towards the play.
    pub stream_url: String,
    pub stream_url_expires_at: chrono::DateTime<chrono::Utc>,
    /// Report progress with `POST /api/v1/plays/{play_id}/progress`; a play counts after this long.
    pub qualifying_ms: u64,
}

fn play_stream_path(play_id: &str) -> String {
    format!("/api/v1/plays/{play_id}/stream")
}

/// Start listening to a full track: for its artist, its buyers, and listeners on the free tier.
#[utoipa::path(tag = "listening", security(("bearer" = [])), request_body = StartPlayRequest,
    responses((status = 201, body = StartedPlayView), (status = 403, description = "not entitled: previews only", body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
#[post("/plays")]
pub async fn start_play(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    body: web::Json<StartPlayRequest>,
) -> Result<HttpResponse, ApiError> {
    let track: TrackId = parse_id(&body.track_id, "track")?;
    let ads_settings = state.ads_settings.clone();
    let open_plays_max = state.settings.open_plays_per_listener_max;
    let started = state
        .write(move |connection| {
            let (media, access) =
                entitlements::require_full_stream(connection, user.user_id, track, &ads_settings)?;
            plays::start(
                connection,
                user.user_id,
                &media,
                access == FullStreamAccess::OwnTrack,
                open_plays_max,
                chrono::Utc::now().naive_utc(),
            )
        })
        .await?;
    let (stream_url, expires) = state.link_signer.sign(
        STREAM_PURPOSE,
        &play_stream_path(&started.id),
        &user.user_id.to_string(),
        STREAM_LINK_TTL_SECONDS,
    );
    Ok(HttpResponse::Created().json(StartedPlayView {
        play_id: started.id,
        stream_url,
        stream_url_expires_at: super::time::from_unix(expires),
        qualifying_ms: state.settings.play_qualifying_seconds * 1000,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressRequest {
    /// How far the player is into the track.
    pub position_ms: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ProgressView {
    /// What the server credits: the report, bounded by the time the play was open and by the
    /// audio served through its stream link.
    pub credited_position_ms: u64,
    pub qualified: bool,
    pub not_qualified: Option<NotQualified>,
}

/// Report how far a play has got; the play qualifies once enough was heard.
#[utoipa::path(tag = "listening", security(("bearer" = [])), params(("id" = String, Path)), request_body = ProgressRequest,
    responses((status = 200, body = ProgressView), (status = 404, body = crate::error::ErrorBody)))]
#[post("/plays/{id}/progress")]
pub async fn report_progress(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
    body: web::Json<ProgressRequest>,
) -> Result<web::Json<ProgressView>, ApiError> {
    let play_id: uuid::Uuid = parse_id(&path, "play")?;
    let position_ms = body.position_ms;
    let rules = PlayRules {
        qualifying_ms: state.settings.play_qualifying_seconds * 1000,
        plays_per_listener_track_day_max: state.settings.plays_per_listener_track_day_max,
    };
    let progress = state
        .write(move |connection| {
            plays::report(
                connection,
                user.user_id,
                &play_id.to_string(),
                position_ms,
                chrono::Utc::now().naive_utc(),
                rules,
            )
        })
        .await?;
    Ok(web::Json(ProgressView {
        credited_position_ms: progress.credited_position_ms,
        qualified: progress.qualified,
        not_qualified: progress.not_qualified,
    }))
}

/// The full track of a play, with HTTP Range (206, 416, `Accept-Ranges`, `ETag`/`If-Range`) and
/// `HEAD`, authorised by the signed link from `POST /api/v1/plays`. The bytes each response
/// carries are recorded for the play: they bound what it is credited.
#[utoipa::path(get, path = "/plays/{id}/stream", tag = "listening", params(("id" = String, Path), LinkSignature),
    responses((status = 200, content_type = "audio/*"), (status = 206, description = "a range of the file"), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 410, description = "expired link, or the play ended when another started", body = crate::error::ErrorBody), (status = 416, description = "unsatisfiable range")))]
#[route("/plays/{id}/stream", method = "GET", method = "HEAD")]
pub async fn stream_play(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
    link: web::Query<LinkSignature>,
) -> Result<HttpResponse, ApiError> {
    let play_id = parse_id::<uuid::Uuid>(&path, "play")?.to_string();
    let subject = state
        .link_signer
        .verify(STREAM_PURPOSE, &play_stream_path(&play_id), &link)?;
    let listener: UserId = subject
        .parse()
        .map_err(|_| ApiError::forbidden("this link is not valid"))?;
    let session_id = play_id.clone();
    let play = state
        .database(move |connection| plays::streamable(connection, listener, &session_id))
        .await?;
    let track: TrackId = play
        .track_id
        .parse()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("corrupt play session {play_id}")))?;
    let response = serve_full_track(&state, &request, listener, track).await?;
    if let Some((first_byte, end_byte)) = served_bytes(&request, &response) {
        state
            .write(move |connection| {
                let now = chrono::Utc::now().naive_utc();
                Ok(plays::record_delivery(
                    connection, &play_id, first_byte, end_byte, now,
                )?)
            })
            .await?;
    }
    Ok(response)
}

/// The bytes `[first, end)` of the file that a successful `GET` response carries.
fn served_bytes(request: &HttpRequest, response: &HttpResponse) -> Option<(u64, u64)> {
    if request.method() != actix_web::http::Method::GET {
        return None;
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let actix_web::body::BodySize::Sized(length) =
        actix_web::body::MessageBody::size(response.body())
    else {
        return None;
    };
    let first_byte = match response.status() {
        actix_web::http::StatusCode::OK => 0,
        // `bytes FIRST-LAST/SIZE`
        actix_web::http::StatusCode::PARTIAL_CONTENT => {
            header(actix_web::http::header::CONTENT_RANGE)?
                .strip_prefix("bytes ")?
                .split_once('-')?
                .0
                .parse()
                .ok()?
        }
        _ => return None,
    };
    Some((first_byte, first_byte.checked_add(length)?))
}

/// The full track, with HTTP Range and `HEAD`, for a signed-in caller who may hear it. Nothing
/// fetched this way counts towards a play: players stream through the play's link.
#[utoipa::path(get, path = "/tracks/{id}/stream", tag = "listening", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, content_type = "audio/*"), (status = 206, description = "a range of the file"), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 416, description = "unsatisfiable range")))]
#[route("/tracks/{id}/stream", method = "GET", method = "HEAD")]
pub async fn stream(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
    user: AuthenticatedUser,
) -> Result<HttpResponse, ApiError> {
    let track: TrackId = parse_id(&path, "track")?;
    serve_full_track(&state, &request, user.user_id, track).await
}

async fn serve_full_track(
    state: &web::Data<AppState>,
    request: &HttpRequest,
    user: UserId,
    track: TrackId,
) -> Result<HttpResponse, ApiError> {
    // Every request is authorised (see `entitlements` for how long a grant is trusted).
    let media = match state.stream_grants.granted(user, track) {
        Some(media) => media,
        None => {
            let ads_settings = state.ads_settings.clone();
            let (media, _) = state
                .database(move |connection| {
                    entitlements::require_full_stream(connection, user, track, &ads_settings)
                })
                .await?;
            let media = std::sync::Arc::new(media);
            state.stream_grants.remember(user, track, media.clone());
            media
        }
    };
    let mime = catalog::transcode::Format::Original.mime_type(&media.container);
    serve_blob(
        state.blobs.as_ref(),
        &media.storage_key,
        request,
        Some(mime),
    )
    .await
}

/// A 30-second clip of a published track (or of the caller's own), for anyone: MP3, made once
/// from the original and cached. HTTP Range works as for full streams.
#[utoipa::path(get, path = "/tracks/{id}/preview", tag = "listening", params(("id" = String, Path)),
    responses((status = 200, content_type = "audio/mpeg"), (status = 206, description = "a range of the clip"), (status = 404, body = crate::error::ErrorBody)))]
#[route("/tracks/{id}/preview", method = "GET", method = "HEAD")]
pub async fn preview(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
    user: Option<AuthenticatedUser>,
) -> Result<HttpResponse, ApiError> {
    let track: TrackId = parse_id(&path, "track")?;
    let format = catalog::transcode::Format::Preview;
    let key = transcode(&state, track, user.map(|user| user.user_id), format)
        .await?
        .0;
    serve_blob(
        state.blobs.as_ref(),
        &key,
        &request,
        Some(format.mime_type("mp3")),
    )
    .await
}

/// Makes (once) or finds the transcode of a track the caller may see, in a blocking task and
/// outside any transaction; returns the blob and the track's media.
pub async fn transcode(
    state: &AppState,
    track: TrackId,
    viewer: Option<UserId>,
    format: catalog::transcode::Format,
) -> Result<(catalog::storage::BlobKey, tracks::TrackMedia), ApiError> {
    let pool = state.pool.clone();
    let blobs = state.blobs.clone();
    let sandbox = state.transcode_sandbox.clone();
    let work_dir = state.settings.work_dir();
    web::block(move || {
        std::fs::create_dir_all(&work_dir).map_err(ApiError::internal)?;
        let mut connection = crate::state::pooled_connection(&pool)?;
        let artist = match viewer {
            Some(user) => {
                catalog::artists::artist_of_user(&mut connection, user)?.map(|artist| artist.id)
            }
            None => None,
        };
        let media = tracks::track_media(&mut connection, track, artist)?;
        let (key, _) = catalog::transcode::ensure_transcode(
            &mut connection,
            blobs.as_ref(),
            &sandbox,
            &media,
            format,
            &work_dir,
        )
        .map_err(|error| match error {
            catalog::transcode::TranscodeError::LossySource { .. }
            | catalog::transcode::TranscodeError::UnknownFormat { .. } => {
                ApiError::invalid("format_unavailable", error.to_string())
            }
            other => ApiError::internal(other),
        })?;
        Ok((key, media))
    })
    .await
    .map_err(ApiError::internal)?
}

#[derive(Serialize, ToSchema)]
pub struct WaveformView {
    /// Peak amplitude per bin, 0 to 255, spread evenly over the track.
    pub peaks: Vec<u8>,
    pub duration_ms: u64,
    /// EBU R128 integrated loudness, when measurable.
    pub integrated_lufs: Option<f64>,
}

/// The waveform of a published track (or of the caller's own), for the player.
#[utoipa::path(tag = "listening", params(("id" = String, Path)), responses((status = 200, body = WaveformView), (status = 404, body = crate::error::ErrorBody)))]
#[get("/tracks/{id}/waveform")]
pub async fn waveform(
    state: web::Data<AppState>,
    path: web::Path<String>,
    user: Option<AuthenticatedUser>,
) -> Result<HttpResponse, ApiError> {
    let track: TrackId = parse_id(&path, "track")?;
    let analysis = state
        .database(move |connection| {
            let viewer = match user {
                Some(user) => catalog::artists::artist_of_user(connection, user.user_id)?
                    .map(|artist| artist.id),
                None => None,
            };
            Ok(tracks::track_analysis(connection, track, viewer)?)
        })
        .await?;
    let view = WaveformView {
        peaks: analysis.waveform.peaks,
        duration_ms: analysis.duration_ms,
        integrated_lufs: analysis.loudness.integrated_lufs,
    };
    // Waveforms never change once a file is analysed.
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .json(view))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentActiveRequest {
    pub active: bool,
}

/// Operator: put an account on or off the free streaming tier by hand.
#[utoipa::path(tag = "operations", security(("bearer" = [])), params(("id" = String, Path)), request_body = AgentActiveRequest,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
#[put("/admin/users/{id}/agent-active")]
pub async fn set_agent_active(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
    body: web::Json<AgentActiveRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require_admin()?;
    let target: UserId = parse_id(&path, "user")?;
    let active = body.active;
    let found = state
        .write(move |connection| Ok(accounts::set_agent_active(connection, target, active)?))
        .await?;
    state.stream_grants.forget_all();
    if !found {
        return Err(ApiError::not_found("user not found"));
    }
    tracing::info!(user.id = %target, agent_active = active, operator.id = %user.user_id, "free tier set by an operator");
    Ok(HttpResponse::NoContent().finish())
}
