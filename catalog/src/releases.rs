//! Releases (album, EP, single) and their life cycle: draft → published → unpublished → published.
//! Every function that changes a release or shows a draft takes the acting artist and answers
//! `NotFound` for anyone else's release, so a stranger cannot even learn that it exists.
//! The public sees published releases only ([`crate::listing`] lists them).

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, ReleaseId, TrackId};

use crate::artists;
use crate::db::{atomically, now};
use crate::error::CatalogError;
use crate::fields::{CREDITS_CHARS_MAX, TITLE_CHARS_MAX, free_text, required_line};
pub use crate::listing::{PAGE_SIZE_MAX, ReleasePage, ReleaseSummary, published_releases};
use crate::pricing::Price;
use crate::publishing::after_public_change;
pub use crate::records::Release;
use crate::records::{
    ReleaseRow, Track, owned_release, published_release, save, tracks_of_release,
};
pub use crate::release_state::{ReleaseKind, ReleaseState};
use crate::schema::{releases, tracks as tracks_table};
use crate::search_index;
use crate::tags::{self, Tags};

/// A release with its artist's name and its tracks in order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReleaseDetail {
    pub release: Release,
    pub artist_name: String,
    pub tracks: Vec<Track>,
    /// In alphabetical order.
    pub tags: Vec<String>,
}
/// A new draft; both fields may be left for the first uploaded file's tags to fill.
#[derive(Debug, Clone)]
pub struct NewRelease {
    pub title: Option<String>,
    pub kind: ReleaseKind,
}

/// A change to a release; `None` leaves the field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct ReleaseUpdate {
    pub title: Option<String>,
    pub kind: Option<ReleaseKind>,
    pub release_date: Option<Option<NaiveDate>>,
    pub credits: Option<String>,
    pub price: Option<Option<Price>>,
    /// Replaces all of the release's tags.
    pub tags: Option<Tags>,
}
/// Starts a draft release owned by the acting artist.
pub fn create_draft(
    connection: &mut DbConnection,
    acting: ArtistId,
    new: &NewRelease,
) -> Result<Release, CatalogError> {
    let title = new
        .title
        .as_deref()
        .map(|title| required_line("title", title, TITLE_CHARS_MAX))
        .transpose()?;
    atomically(connection, |connection| {
        artists::artist(connection, acting)?;
        let timestamp = now();
        let release = Release {
            id: ReleaseId::generate(),
            artist_id: acting,
            title,
            kind: new.kind,
            state: ReleaseState::Draft,
            release_date: None,
            credits: String::new(),
            artwork_key: None,
            price: None,
            published_at: None,
            created_at: timestamp,
            updated_at: timestamp,
        };
        diesel::insert_into(releases::table)
            .values(ReleaseRow::from_release(&release))
            .execute(connection)?;
        Ok(release)
    })
}

/// The acting artist's release in any state, with its tracks.
pub fn release_for_owner(
    connection: &mut DbConnection,
    acting: ArtistId,
    release: ReleaseId,
) -> Result<ReleaseDetail, CatalogError> {
    let release = owned_release(connection, acting, release)?;
    detail(connection, release)
}

/// The titles of the acting artist's own releases and tracks (any state) among the ids given,
/// keyed by id; other artists' ids and untitled drafts are left out. Statements name items by id,
/// and people know them by title.
pub fn titles_for_owner(
    connection: &mut DbConnection,
    acting: ArtistId,
    wanted_releases: &[ReleaseId],
    wanted_tracks: &[TrackId],
) -> Result<HashMap<String, String>, CatalogError> {
    let release_ids: Vec<String> = wanted_releases.iter().map(ToString::to_string).collect();
    let track_ids: Vec<String> = wanted_tracks.iter().map(ToString::to_string).collect();
    let mut titles = HashMap::new();
    if !release_ids.is_empty() {
        let found: Vec<(String, Option<String>)> = releases::table
            .filter(releases::artist_id.eq(acting.to_string()))
            .filter(releases::id.eq_any(&release_ids))
            .select((releases::id, releases::title))
            .load(connection)?;
        titles.extend(
            found
                .into_iter()
                .filter_map(|(id, title)| Some((id, title?))),
        );
    }
    if !track_ids.is_empty() {
        let found: Vec<(String, String)> = tracks_table::table
            .inner_join(releases::table)
            .filter(releases::artist_id.eq(acting.to_string()))
            .filter(tracks_table::id.eq_any(&track_ids))
            .select((tracks_table::id, tracks_table::title))
            .load(connection)?;
        titles.extend(found);
    }
    Ok(titles)
}

/// A published release with its tracks; `NotFound` for drafts and unpublished releases.
pub fn public_release(
    connection: &mut DbConnection,
    release: ReleaseId,
) -> Result<ReleaseDetail, CatalogError> {
    let release = published_release(connection, release)?;
    detail(connection, release)
}

/// All of the acting artist's releases, newest first, for their dashboard.
pub fn releases_of_artist(
    connection: &mut DbConnection,
    acting: ArtistId,
) -> Result<Vec<Release>, CatalogError> {
    releases::table
        .filter(releases::artist_id.eq(acting.to_string()))
        .order((releases::created_at.desc(), releases::id.desc()))
        .select(ReleaseRow::as_select())
        .load(connection)?
        .into_iter()
        .map(ReleaseRow::into_release)
        .collect()
}

/// Changes a release of the acting artist. A published release must stay publishable, so
/// clearing its title or price is refused.
pub fn update_release(
    connection: &mut DbConnection,
    acting: ArtistId,
    release: ReleaseId,
    update: &ReleaseUpdate,
) -> Result<Release, CatalogError> {
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
    atomically(connection, |connection| {
        let mut current = owned_release(connection, acting, release)?;
        if title.is_some() {
            current.title = title;
        }
        if let Some(kind) = update.kind {
            current.kind = kind;
        }
        if let Some(release_date) = update.release_date {
            current.release_date = release_date;
        }
        if let Some(credits) = credits {
            current.credits = credits;
        }
        if let Some(price) = update.price {
            current.price = price;
        }
        current.updated_at = now();
        save(connection, &current)?;
        if let Some(tags) = &update.tags {
            tags::replace_tags(connection, current.id, tags)?;
        }
        after_public_change(connection, &current)?;
        Ok(current)
    })
}

/// Makes a draft or unpublished release public, after checking that it is complete.
pub fn publish(
    connection: &mut DbConnection,
    acting: ArtistId,
    release: ReleaseId,
) -> Result<Release, CatalogError> {
    atomically(connection, |connection| {
        let mut current = owned_release(connection, acting, release)?;
        if current.state == ReleaseState::Published {
            return Err(CatalogError::InvalidTransition {
                from: current.state,
                to: ReleaseState::Published,
            });
        }
        current.state = ReleaseState::Published;
        let timestamp = now();
        // The first publication dates the release in the catalog; republishing keeps its place.
        current.published_at.get_or_insert(timestamp);
        current.updated_at = timestamp;
        save(connection, &current)?;
        after_public_change(connection, &current)?;
        Ok(current)
    })
}

/// Takes a published release out of the public catalog; buyers keep what they bought.
pub fn unpublish(
    connection: &mut DbConnection,
    acting: ArtistId,
    release: ReleaseId,
) -> Result<Release, CatalogError> {
    atomically(connection, |connection| {
        let mut current = owned_release(connection, acting, release)?;
        if current.state != ReleaseState::Published {
            return Err(CatalogError::InvalidTransition {
                from: current.state,
                to: ReleaseState::Unpublished,
            });
        }
        current.state = ReleaseState::Unpublished;
        current.updated_at = now();
        save(connection, &current)?;
        search_index::refresh_artist(connection, acting)?;
        Ok(current)
    })
}

/// The price checkout charges for a whole release; `NotFound` unless it is published.
pub fn price_of_release(
    connection: &mut DbConnection,
    release: ReleaseId,
) -> Result<Price, CatalogError> {
    let release = published_release(connection, release)?;
    release.price.ok_or_else(|| {
        CatalogError::Corrupt(format!("published release {} has no price", release.id))
    })
}
fn detail(connection: &mut DbConnection, release: Release) -> Result<ReleaseDetail, CatalogError> {
    let artist_name = artists::artist(connection, release.artist_id)?.name;
    let tracks = tracks_of_release(connection, release.id)?;
    let tags = tags::tags_of_release(connection, release.id)?;
    Ok(ReleaseDetail {
        release,
        artist_name,
        tracks,
        tags,
    })
}
