//! The public catalog's lists of published releases: pages of the whole catalog or of one tag,
//! one artist's discography, the releases a search found. Drafts and unpublished releases never
//! appear.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, ReleaseId};

use crate::error::CatalogError;
use crate::pricing::Price;
use crate::records::ReleaseRow;
use crate::release_state::{ReleaseKind, ReleaseState};
use crate::schema::{artists as artists_table, release_tags, releases};

/// The most releases one page of the public catalog holds.
pub const PAGE_SIZE_MAX: u32 = 100;

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

/// The public catalog, newest publication first. `cursor` is the previous page's `next_cursor`.
pub fn published_releases(
    connection: &mut DbConnection,
    cursor: Option<&str>,
    limit: u32,
) -> Result<ReleasePage, CatalogError> {
    published_page(connection, None, cursor, limit)
}

/// A page of the public catalog, of every release or only of those carrying `tag` (stored form).
pub(crate) fn published_page(
    connection: &mut DbConnection,
    tag: Option<&str>,
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
            tag,
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
    /// A page of the catalog after the cursor's position, of the releases carrying `tag` if set.
    Page {
        after: Option<(NaiveDateTime, ReleaseId)>,
        rows_max: i64,
        tag: Option<&'a str>,
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
        PublicSelection::Page {
            after,
            rows_max,
            tag,
        } => {
            if let Some(tag) = tag {
                query = query.filter(
                    releases::id.eq_any(
                        release_tags::table
                            .filter(release_tags::tag.eq(tag))
                            .select(release_tags::release_id),
                    ),
                );
            }
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

fn cursor_of(summary: &ReleaseSummary) -> String {
    format!(
        "{}_{}",
        summary.published_at.and_utc().timestamp_micros(),
        summary.id
    )
}

fn parse_cursor(cursor: &str) -> Result<(NaiveDateTime, ReleaseId), CatalogError> {
    let invalid = || CatalogError::invalid("cursor", "not a cursor from a previous page");
    let (micros, id) = cursor.split_once('_').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let published_at = DateTime::from_timestamp_micros(micros)
        .ok_or_else(invalid)?
        .naive_utc();
    let id = id.parse().map_err(|_| invalid())?;
    Ok((published_at, id))
}
