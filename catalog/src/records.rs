//! Releases and tracks as stored: the rows, their conversion to the catalog's types (checking
//! what was checked when written), and the lookups every release module starts from — a release
//! its owner may change, a release the public may see, a release's tracks in order.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, ReleaseId, TrackId};

use crate::db::stored_id;
use crate::error::CatalogError;
use crate::fields::Isrc;
use crate::pricing::Price;
use crate::release_state::{ReleaseKind, ReleaseState};
use crate::schema::{media_files, releases, tracks};

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

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Track {
    pub id: TrackId,
    pub release_id: ReleaseId,
    /// 1-based place in the release.
    pub position: u32,
    pub title: String,
    pub credits: String,
    pub isrc: Option<Isrc>,
    pub price: Option<Price>,
    pub duration_ms: u64,
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
    pub(crate) fn from_release(release: &Release) -> ReleaseRow {
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

    pub(crate) fn into_release(self) -> Result<Release, CatalogError> {
        let corrupt = |what: &str| CatalogError::Corrupt(format!("release {}: {what}", self.id));
        Ok(Release {
            id: stored_id(&self.id)?,
            artist_id: stored_id(&self.artist_id)?,
            kind: ReleaseKind::parse(&self.kind).ok_or_else(|| corrupt("unknown kind"))?,
            state: ReleaseState::parse(&self.state).ok_or_else(|| corrupt("unknown state"))?,
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

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tracks, treat_none_as_null = true)]
pub(crate) struct TrackRow {
    pub(crate) id: String,
    pub(crate) release_id: String,
    pub(crate) media_file_id: String,
    pub(crate) position: i32,
    pub(crate) title: String,
    pub(crate) credits: String,
    pub(crate) isrc: Option<String>,
    pub(crate) price_kind: Option<String>,
    pub(crate) price_cents: Option<i64>,
    pub(crate) minimum_price_cents: Option<i64>,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) updated_at: NaiveDateTime,
}

impl TrackRow {
    pub(crate) fn into_track(self, duration_ms: i64) -> Result<Track, CatalogError> {
        let corrupt = |what: &str| CatalogError::Corrupt(format!("track {}: {what}", self.id));
        Ok(Track {
            id: stored_id(&self.id)?,
            release_id: stored_id(&self.release_id)?,
            position: u32::try_from(self.position).map_err(|_| corrupt("negative position"))?,
            isrc: self
                .isrc
                .as_deref()
                .map(Isrc::parse)
                .transpose()
                .map_err(|_| corrupt("malformed ISRC"))?,
            price: Price::from_columns(
                self.price_kind.as_deref(),
                self.price_cents,
                self.minimum_price_cents,
            )?,
            duration_ms: u64::try_from(duration_ms).map_err(|_| corrupt("negative duration"))?,
            title: self.title,
            credits: self.credits,
        })
    }
}

/// The tracks of a release in order, whoever may see it; callers check visibility first.
pub(crate) fn tracks_of_release(
    connection: &mut DbConnection,
    release: ReleaseId,
) -> Result<Vec<Track>, CatalogError> {
    tracks::table
        .inner_join(media_files::table)
        .filter(tracks::release_id.eq(release.to_string()))
        .order((tracks::position.asc(), tracks::id.asc()))
        .select((TrackRow::as_select(), media_files::duration_ms))
        .load::<(TrackRow, i64)>(connection)?
        .into_iter()
        .map(|(row, duration_ms)| row.into_track(duration_ms))
        .collect()
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
