//! The one place that decides who may stream a full track. Everyone may hear previews of
//! published tracks; a full stream needs one of the reasons below.
//!
//! A player fetches a track in many Range requests, and each is authorised again, so a refund or
//! a lapsed free tier ends streaming even with a link still unexpired. Granted decisions are
//! remembered for [`STREAM_GRANT_TTL`] so those requests do not each query the database;
//! refusals are never remembered. The server that handles a revocation (a refund or dispute
//! webhook, the operator's free-tier switch, an unpublish) forgets every grant at once; other
//! servers of a deployment stop within the TTL.

use std::sync::Arc;
use std::time::Duration;

use catalog::tracks::TrackMedia;
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, TrackId, UserId};

use crate::accounts;
use crate::error::ApiError;

/// Why a listener may stream a full track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullStreamAccess {
    /// The listener is the track's artist (drafts included).
    OwnTrack,
    /// The listener bought it (alone or with its release).
    Owned,
    /// On the free tier: an agent of the account is active.
    FreeTier,
}

/// The track's media as `user` may see it (published, or their own in any state).
pub fn visible_media(
    connection: &mut DbConnection,
    user: UserId,
    track: TrackId,
) -> Result<(TrackMedia, Option<ArtistId>), ApiError> {
    let own_artist = catalog::artists::artist_of_user(connection, user)?.map(|artist| artist.id);
    let media = catalog::tracks::track_media(connection, track, own_artist)?;
    Ok((media, own_artist))
}

/// `Some(reason)` when `user` may stream the whole of `media`; `None` when only the preview.
pub fn full_stream_access(
    connection: &mut DbConnection,
    user: UserId,
    media: &TrackMedia,
    own_artist: Option<ArtistId>,
    ads_settings: &megabox_ads::AdsSettings,
) -> Result<Option<FullStreamAccess>, ApiError> {
    if own_artist == Some(media.artist_id) {
        return Ok(Some(FullStreamAccess::OwnTrack));
    }
    if megabox_payments::owns_track(connection, user, media.track_id)? {
        return Ok(Some(FullStreamAccess::Owned));
    }
    // The free tier: `megabox_ads::free_tier`, the rule the installer's status reports too.
    let operator_granted = operator_granted_free_tier(connection, user)?;
    if megabox_ads::free_tier(
        connection,
        user,
        operator_granted,
        chrono::Utc::now().naive_utc(),
        ads_settings,
    )?
    .is_some()
    {
        return Ok(Some(FullStreamAccess::FreeTier));
    }
    Ok(None)
}

/// The operator's free-tier switch for the account (`PUT /admin/users/{id}/agent-active`), an
/// input of `megabox_ads::free_tier`.
pub fn operator_granted_free_tier(
    connection: &mut DbConnection,
    user: UserId,
) -> Result<bool, ApiError> {
    Ok(accounts::find_by_id(connection, user)?.is_some_and(|account| account.agent_active))
}

/// How long a granted full stream is trusted without asking the database again.
pub const STREAM_GRANT_TTL: Duration = Duration::from_secs(5);
/// Grants remembered at most; beyond that the least recently used are forgotten.
const STREAM_GRANTS_MAX: u64 = 100_000;

/// Recent full-stream grants per (listener, track).
#[derive(Clone)]
pub struct StreamGrants(moka::sync::Cache<(UserId, TrackId), Arc<TrackMedia>>);

impl Default for StreamGrants {
    fn default() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(STREAM_GRANTS_MAX)
                .time_to_live(STREAM_GRANT_TTL)
                .build(),
        )
    }
}

impl StreamGrants {
    /// The media `user` may stream in full, if a recent check granted it.
    pub fn granted(&self, user: UserId, track: TrackId) -> Option<Arc<TrackMedia>> {
        self.0.get(&(user, track))
    }

    pub fn remember(&self, user: UserId, track: TrackId, media: Arc<TrackMedia>) {
        self.0.insert((user, track), media);
    }

    /// Forgets every grant: something that may revoke one has happened.
    pub fn forget_all(&self) {
        self.0.invalidate_all();
    }
}

/// Like [`full_stream_access`], as an error a handler can return.
pub fn require_full_stream(
    connection: &mut DbConnection,
    user: UserId,
    track: TrackId,
    ads_settings: &megabox_ads::AdsSettings,
) -> Result<(TrackMedia, FullStreamAccess), ApiError> {
    let (media, own_artist) = visible_media(connection, user, track)?;
    match full_stream_access(connection, user, &media, own_artist, ads_settings)? {
        Some(access) => Ok((media, access)),
        None => Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "not_entitled",
            "buy this track, or run the Megabox agent for free streaming; previews are free",
        )),
    }
}
