//! Releases (album, EP, single) and their life cycle: draft → published → unpublished → published.
//! Every function that changes a release or shows a draft takes the acting artist and answers
//! `NotFound` for anyone else's release, so a stranger cannot even learn that it exists.
//! The public sees published releases only.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, ReleaseId, TrackId};

use crate::artists;
use crate::db::{atomically, now, stored_id};
use crate::error::{CatalogError, PublishProblem};
use crate::fields::{CREDITS_CHARS_MAX, TITLE_CHARS_MAX, free_text, required_line};
use crate::pricing::Price;
use crate::schema::{artists as artists_table, releases, tracks as tracks_table};
use crate::search;
use crate::tags::{self, Tags};
use crate::tracks::{self, Track};

/// The most releases one page of the public catalog holds.
pub const PAGE_SIZE_MAX: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseKind {
    Album,
    Ep,
    Single,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseState {
    Draft,
    Published,
    Unpublished,
}

/// Enums stored as text: one table of names serves both directions.
macro_rules! stored_enum {
    ($type:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $type {
            pub fn as_str(self) -> &'static str {
                match self { $($type::$variant => $name),+ }
            }

            /// Parses the stored or requested name.
            pub fn parse(text: &str) -> Result<$type, CatalogError> {
                match text {
                    $($name => Ok($type::$variant),)+
                    _ => Err(CatalogError::invalid(stringify!($type), format!("unknown value {:?}", text.chars().take(40).collect::<String>()))),
                }
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}

stored_enum!(ReleaseKind { Album => "album", Ep => "ep", Single => "single" });
stored_enum!(ReleaseState { Draft => "draft", Published => "published", Unpublished => "unpublished" });

/// A release as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Release {
    pub id: ReleaseId,
    pub artist_id: ArtistId,
    /// `None` until the artist or the first file's album tag names it.
    pub title: Option<String>,
    pub kind: ReleaseKind,
    pub state: ReleaseState,
    pub release_date: Option<NaiveDate>,
    pub credits: String,
    pub artwork_key: Option<String>,
    pub price: Option<Price>,
    pub published_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A release with its artist's name and its tracks in order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReleaseDetail {
    pub release: Release,
    pub artist_name: String,
    pub tracks: Vec<Track>,
    /// In alphabetical order.
    pub tags: Vec<String>,
}

/// A published release as listed in the public catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReleaseSummary {
    pub id: ReleaseId,
    pub artist_id: ArtistId,
    pub artist_name: String,
    pub title: String,
    pub kind: ReleaseKind,
    pub release_date: Option<NaiveDate>,
    pub artwork_key: Option<String>,
    pub price: Price,
    pub published_at: NaiveDateTime,
}

/// One page of the public catalog; pass `next_cursor` back to get the following page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReleasePage {
    pub releases: Vec<ReleaseSummary>,
    pub next_cursor: Option<String>,
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

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = releases, treat_none_as_null = true)]
pub(crate) struct ReleaseRow {
    pub(crate) id: String,
    pub(crate) artist_id: String,
    pub(crate) title: Option<String>,
    pub(crate) kind: String,
    pub(crate) state: String,
    pub(crate) release_date: Option<NaiveDate>,
    pub(crate) credits: String,
    pub(crate) artwork_key: Option<String>,
    pub(crate) price_kind: Option<String>,
    pub(crate) price_cents: Option<i64>,
    pub(crate) minimum_price_cents: Option<i64>,
    pub(crate) published_at: Option<NaiveDateTime>,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) updated_at: NaiveDateTime,
}

impl ReleaseRow {
    fn from_release(release: &Release) -> ReleaseRow {
        let (price_kind, price_cents, minimum_price_cents) = Price::to_columns(release.price);
        ReleaseRow {
            id: release.id.to_string(),
            artist_id: release.artist_id.to_string(),
            title: release.title.clone(),
            kind: release.kind.as_str().to_owned(),
            state: release.state.as_str().to_owned(),
            release_date: release.release_date,
            credits: release.credits.clone(),
            artwork_key: release.artwork_key.clone(),
            price_kind,
            price_cents,
            minimum_price_cents,
            published_at: release.published_at,
            created_at: release.created_at,
            updated_at: release.updated_at,
        }
    }

    fn into_release(self) -> Result<Release, CatalogError> {
        let corrupt =
            |error: CatalogError| CatalogError::Corrupt(format!("release {}: {error}", self.id));
        Ok(Release {
            id: stored_id(&self.id)?,
            artist_id: stored_id(&self.artist_id)?,
            kind: ReleaseKind::parse(&self.kind).map_err(corrupt)?,
            state: ReleaseState::parse(&self.state).map_err(corrupt)?,
            price: Price::from_columns(
                self.price_kind.as_deref(),
                self.price_cents,
                self.minimum_price_cents,
            )?,
            title: self.title,
            release_date: self.release_date,
            credits: self.credits,
            artwork_key: self.artwork_key,
            published_at: self.published_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
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
        search::refresh_artist(connection, acting)?;
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

/// The public catalog, newest publication first. `cursor` is the previous page's `next_cursor`.
pub fn published_releases(
    connection: &mut DbConnection,
    cursor: Option<&str>,
    limit: u32,
) -> Result<ReleasePage, CatalogError> {
    if !(1..=PAGE_SIZE_MAX).contains(&limit) {
        return Err(CatalogError::invalid(
            "limit",
            format!("must be between 1 and {PAGE_SIZE_MAX}"),
        ));
    }
    let after = cursor.map(parse_cursor).transpose()?;
    // One extra row tells whether another page follows.
    let mut releases = load_public_summaries(
        connection,
        PublicSelection::Page {
            after,
            rows_max: i64::from(limit) + 1,
        },
    )?;
    let page_size = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = releases.len() > page_size;
    releases.truncate(page_size);
    let next_cursor = if more {
        releases.last().map(cursor_of)
    } else {
        None
    };
    Ok(ReleasePage {
        releases,
        next_cursor,
    })
}

/// Which published releases to list.
pub(crate) enum PublicSelection<'a> {
    /// A page of the catalog after the cursor's position.
    Page {
        after: Option<(NaiveDateTime, ReleaseId)>,
        rows_max: i64,
    },
    /// One artist's releases (the public profile).
    OfArtist(ArtistId),
    /// The releases among these ids (search results).
    WithIds(&'a [String]),
}

/// Published releases with their artist's name, newest publication first.
pub(crate) fn load_public_summaries(
    connection: &mut DbConnection,
    selection: PublicSelection<'_>,
) -> Result<Vec<ReleaseSummary>, CatalogError> {
    let mut query = releases::table
        .inner_join(artists_table::table)
        .select((ReleaseRow::as_select(), artists_table::name))
        .filter(releases::state.eq(ReleaseState::Published.as_str()))
        .order((releases::published_at.desc(), releases::id.desc()))
        .into_boxed();
    match selection {
        PublicSelection::Page { after, rows_max } => {
            if let Some((published_at, id)) = after {
                query = query.filter(
                    releases::published_at
                        .lt(published_at)
                        .or(releases::published_at
                            .eq(published_at)
                            .and(releases::id.lt(id.to_string()))),
                );
            }
            query = query.limit(rows_max);
        }
        PublicSelection::OfArtist(artist) => {
            query = query.filter(releases::artist_id.eq(artist.to_string()))
        }
        PublicSelection::WithIds(ids) => query = query.filter(releases::id.eq_any(ids)),
    }
    query
        .load::<(ReleaseRow, String)>(connection)?
        .into_iter()
        .map(summary_of)
        .collect()
}

fn summary_of((row, artist_name): (ReleaseRow, String)) -> Result<ReleaseSummary, CatalogError> {
    let release = row.into_release()?;
    let incomplete = || {
        CatalogError::Corrupt(format!(
            "published release {} lacks a title, price or date",
            release.id
        ))
    };
    Ok(ReleaseSummary {
        id: release.id,
        artist_id: release.artist_id,
        artist_name,
        title: release.title.clone().ok_or_else(incomplete)?,
        kind: release.kind,
        release_date: release.release_date,
        artwork_key: release.artwork_key.clone(),
        price: release.price.ok_or_else(incomplete)?,
        published_at: release.published_at.ok_or_else(incomplete)?,
    })
}

pub(crate) fn cursor_of(summary: &ReleaseSummary) -> String {
    format!(
        "{}_{}",
        summary.published_at.and_utc().timestamp_micros(),
        summary.id
    )
}

pub(crate) fn parse_cursor(cursor: &str) -> Result<(NaiveDateTime, ReleaseId), CatalogError> {
    let invalid = || CatalogError::invalid("cursor", "not a cursor from a previous page");
    let (micros, id) = cursor.split_once('_').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let published_at = DateTime::from_timestamp_micros(micros)
        .ok_or_else(invalid)?
        .naive_utc();
    let id = id.parse().map_err(|_| invalid())?;
    Ok((published_at, id))
}

/// The release if the acting artist owns it; `NotFound` otherwise, exactly as if it did not exist.
pub(crate) fn owned_release(
    connection: &mut DbConnection,
    acting: ArtistId,
    release: ReleaseId,
) -> Result<Release, CatalogError> {
    releases::table
        .find(release.to_string())
        .filter(releases::artist_id.eq(acting.to_string()))
        .select(ReleaseRow::as_select())
        .first(connection)
        .optional()?
        .ok_or(CatalogError::NotFound { what: "release" })?
        .into_release()
}

pub(crate) fn published_release(
    connection: &mut DbConnection,
    release: ReleaseId,
) -> Result<Release, CatalogError> {
    releases::table
        .find(release.to_string())
        .filter(releases::state.eq(ReleaseState::Published.as_str()))
        .select(ReleaseRow::as_select())
        .first(connection)
        .optional()?
        .ok_or(CatalogError::NotFound { what: "release" })?
        .into_release()
}

pub(crate) fn save(connection: &mut DbConnection, release: &Release) -> Result<(), CatalogError> {
    diesel::update(releases::table.find(release.id.to_string()))
        .set(ReleaseRow::from_release(release))
        .execute(connection)?;
    Ok(())
}

/// After any change a listener could see: a published release must still be complete, and the
/// search index must show the new text.
pub(crate) fn after_public_change(
    connection: &mut DbConnection,
    release: &Release,
) -> Result<(), CatalogError> {
    if release.state != ReleaseState::Published {
        return Ok(());
    }
    let tracks = tracks::tracks_of_release(connection, release.id)?;
    let problems = publish_problems(release, &tracks);
    if !problems.is_empty() {
        return Err(CatalogError::NotPublishable { problems });
    }
    search::refresh_artist(connection, release.artist_id)
}

/// Everything that keeps a release from being published. Every track has an analysis by
/// construction (tracks are created only by ingesting an analysed file).
fn publish_problems(release: &Release, tracks: &[Track]) -> Vec<PublishProblem> {
    let mut problems = Vec::new();
    if release.title.is_none() {
        problems.push(PublishProblem::MissingTitle);
    }
    if tracks.is_empty() {
        problems.push(PublishProblem::NoTracks);
    }
    if release.price.is_none() {
        problems.push(PublishProblem::ReleaseUnpriced);
    }
    problems.extend(
        tracks
            .iter()
            .filter(|track| track.price.is_none())
            .map(|track| PublishProblem::TrackUnpriced(track.id)),
    );
    problems
}

fn detail(connection: &mut DbConnection, release: Release) -> Result<ReleaseDetail, CatalogError> {
    let artist_name = artists::artist(connection, release.artist_id)?.name;
    let tracks = tracks::tracks_of_release(connection, release.id)?;
    let tags = tags::tags_of_release(connection, release.id)?;
    Ok(ReleaseDetail {
        release,
        artist_name,
        tracks,
        tags,
    })
}
