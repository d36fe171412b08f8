//! Tracks of a release: their order, titles, credits, ISRCs and prices, and the media file each
//! one plays. Changes go through the owning artist, like everything about a release.

use std::collections::HashSet;

use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, ReleaseId, TrackId};

use crate::analysis::Analysis;
use crate::db::{atomically, now, stored_id};
use crate::error::CatalogError;
use crate::fields::{CREDITS_CHARS_MAX, Isrc, TITLE_CHARS_MAX, free_text, required_line};
use crate::pricing::Price;
use crate::publishing::after_public_change;
pub use crate::records::Track;
use crate::records::{TrackRow, owned_release, published_release, tracks_of_release};
use crate::release_state::ReleaseState;
use crate::schema::{media_files, releases as releases_table, tracks};
use crate::storage::BlobKey;

/// The most tracks one release may hold.
pub const TRACKS_PER_RELEASE_MAX: usize = 100;

/// A change to a track; `None` leaves the field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct TrackUpdate {
    pub title: Option<String>,
    pub credits: Option<String>,
    pub isrc: Option<Option<String>>,
    pub price: Option<Option<Price>>,
}

/// The stored audio of a track, for streaming, previews and downloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackMedia {
    pub track_id: TrackId,
    /// The release the track belongs to, and the artist who owns it (plays are credited to them).
    pub release_id: ReleaseId,
    pub artist_id: ArtistId,
    pub storage_key: BlobKey,
    pub size_bytes: u64,
    pub container: String,
    pub codec: String,
    pub duration_ms: u64,
}

/// Changes a track of the acting artist's release.
pub fn update_track(
    connection: &mut DbConnection,
    acting: ArtistId,
    track: TrackId,
    update: &TrackUpdate,
) -> Result<Track, CatalogError> {
    let title = update
        .title
        .as_deref()
        .map(|title| required_line("title", title, TITLE_CHARS_MAX))
        .transpose()?;
    let credits = update
        .credits
        .as_deref()
        .map(|credits| free_text("credits", credits, CREDITS_CHARS_MAX))
        .transpose()?;
    let isrc = update
        .isrc
        .as_ref()
        .map(|isrc| isrc.as_deref().map(Isrc::parse).transpose())
        .transpose()?;
    atomically(connection, |connection| {
        let release_id = release_of_track(connection, track)?;
        let release = owned_release(connection, acting, release_id)
            .map_err(|_| CatalogError::NotFound { what: "track" })?;
        let mut row = tracks::table
            .find(track.to_string())
            .select(TrackRow::as_select())
            .first(connection)?;
        if let Some(title) = title {
            row.title = title;
        }
        if let Some(credits) = credits {
            row.credits = credits;
        }
        if let Some(isrc) = isrc {
            row.isrc = isrc.map(|isrc| isrc.as_str().to_owned());
        }
        if let Some(price) = update.price {
            (row.price_kind, row.price_cents, row.minimum_price_cents) = Price::to_columns(price);
        }
        row.updated_at = now();
        diesel::update(tracks::table.find(track.to_string()))
            .set(&row)
            .execute(connection)?;
        after_public_change(connection, &release)?;
        tracks_of_release(connection, release_id)?
            .into_iter()
            .find(|candidate| candidate.id == track)
            .ok_or(CatalogError::NotFound { what: "track" })
    })
}

/// Puts the release's tracks in the given order; `order` must list each of its tracks once.
pub fn reorder_tracks(
    connection: &mut DbConnection,
    acting: ArtistId,
    release: ReleaseId,
    order: &[TrackId],
) -> Result<Vec<Track>, CatalogError> {
    atomically(connection, |connection| {
        let current = owned_release(connection, acting, release)?;
        let existing: HashSet<TrackId> = tracks_of_release(connection, release)?
            .iter()
            .map(|track| track.id)
            .collect();
        let requested: HashSet<TrackId> = order.iter().copied().collect();
        if requested.len() != order.len() || requested != existing {
            return Err(CatalogError::invalid(
                "order",
                "must list every track of the release exactly once",
            ));
        }
        for (index, track) in order.iter().enumerate() {
            let position = i32::try_from(index + 1)
                .map_err(|_| CatalogError::invalid("order", "too many tracks"))?;
            diesel::update(tracks::table.find(track.to_string()))
                .set((tracks::position.eq(position), tracks::updated_at.eq(now())))
                .execute(connection)?;
        }
        after_public_change(connection, &current)?;
        tracks_of_release(connection, release)
    })
}

/// The price checkout charges for one track; `NotFound` unless its release is published.
pub fn price_of_track(
    connection: &mut DbConnection,
    track: TrackId,
) -> Result<Price, CatalogError> {
    let release = release_of_track(connection, track)?;
    published_release(connection, release).map_err(|_| CatalogError::NotFound { what: "track" })?;
    let row = tracks::table
        .find(track.to_string())
        .select(TrackRow::as_select())
        .first(connection)?;
    Price::from_columns(
        row.price_kind.as_deref(),
        row.price_cents,
        row.minimum_price_cents,
    )?
    .ok_or_else(|| {
        CatalogError::Corrupt(format!("track {track} of a published release has no price"))
    })
}

/// The audio behind a track: visible when its release is published, or to its owner
/// (`viewer`) in any state. Entitlement to the full stream is the store's decision.
pub fn track_media(
    connection: &mut DbConnection,
    track: TrackId,
    viewer: Option<ArtistId>,
) -> Result<TrackMedia, CatalogError> {
    let media = visible_media(connection, track, viewer)?;
    let corrupt = |what: &str| CatalogError::Corrupt(format!("media of track {track}: {what}"));
    Ok(TrackMedia {
        track_id: track,
        release_id: stored_id(&media.release_id)?,
        artist_id: stored_id(&media.owner)?,
        storage_key: BlobKey::parse(&media.storage_key)
            .map_err(|_| corrupt("malformed storage key"))?,
        size_bytes: u64::try_from(media.size_bytes).map_err(|_| corrupt("negative size"))?,
        container: media.container,
        codec: media.codec,
        duration_ms: u64::try_from(media.duration_ms).map_err(|_| corrupt("negative duration"))?,
    })
}

/// The analysis of a track's audio (waveform peaks for the player, loudness, the tags as read),
/// with the same visibility as [`track_media`]. Its `artwork` is always `None`: artwork is
/// stored once per release, under the release's `artwork_key`.
pub fn track_analysis(
    connection: &mut DbConnection,
    track: TrackId,
    viewer: Option<ArtistId>,
) -> Result<Analysis, CatalogError> {
    let media = visible_media(connection, track, viewer)?;
    serde_json::from_str(&media.analysis_json)
        .map_err(|error| CatalogError::Corrupt(format!("analysis of track {track}: {error}")))
}

#[derive(Queryable)]
struct VisibleMedia {
    release_id: String,
    state: String,
    owner: String,
    storage_key: String,
    size_bytes: i64,
    container: String,
    codec: String,
    duration_ms: i64,
    analysis_json: String,
}

fn visible_media(
    connection: &mut DbConnection,
    track: TrackId,
    viewer: Option<ArtistId>,
) -> Result<VisibleMedia, CatalogError> {
    let not_found = || CatalogError::NotFound { what: "track" };
    let media = tracks::table
        .inner_join(releases_table::table)
        .inner_join(media_files::table)
        .filter(tracks::id.eq(track.to_string()))
        .select((
            tracks::release_id,
            releases_table::state,
            releases_table::artist_id,
            media_files::storage_key,
            media_files::size_bytes,
            media_files::container,
            media_files::codec,
            media_files::duration_ms,
            media_files::analysis_json,
        ))
        .first::<VisibleMedia>(connection)
        .optional()?
        .ok_or_else(not_found)?;
    let visible = media.state == ReleaseState::Published.as_str()
        || viewer.is_some_and(|viewer| viewer.to_string() == media.owner);
    if visible { Ok(media) } else { Err(not_found()) }
}

fn release_of_track(
    connection: &mut DbConnection,
    track: TrackId,
) -> Result<ReleaseId, CatalogError> {
    let release = tracks::table
        .find(track.to_string())
        .select(tracks::release_id)
        .first::<String>(connection)
        .optional()?
        .ok_or(CatalogError::NotFound { what: "track" })?;
    stored_id(&release)
}
