//! Public search over artist names, release titles and track titles.
//!
//! The index (`search_documents`) holds one document per artist with a published release, per
//! published release and per track of one. `refresh_artist` rewrites an artist's documents
//! whenever their public text or a release's state changes, so drafts never enter it; results
//! are read back through the published-only queries all the same. Matching is the one
//! backend-specific part: FTS5 on SQLite, `to_tsvector`/`to_tsquery` on PostgreSQL, both with
//! prefix matching on every word, no stemming, and all words required.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, ReleaseId, TrackId};

use crate::artists::{self, Artist};
use crate::db::stored_id;
use crate::error::CatalogError;
use crate::listing::{PublicSelection, ReleaseSummary, load_public_summaries};
use crate::release_state::ReleaseState;
use crate::schema::{artists as artists_table, releases, tracks};
use crate::search_index::{KIND_ARTIST, KIND_RELEASE, KIND_TRACK};

/// The longest query accepted, in characters.
pub const QUERY_CHARS_MAX: usize = 200;
/// Words of a query beyond this many are ignored.
pub const QUERY_WORDS_MAX: usize = 8;
/// The most documents one search returns, across artists, releases and tracks.
pub const RESULTS_MAX: i64 = 60;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SearchResults {
    pub artists: Vec<Artist>,
    pub releases: Vec<ReleaseSummary>,
    pub tracks: Vec<TrackHit>,
}

/// A track found by search, with what a listing needs to show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrackHit {
    pub track_id: TrackId,
    pub title: String,
    pub release_id: ReleaseId,
    pub release_title: String,
    pub artist_id: ArtistId,
    pub artist_name: String,
}

/// Searches the public catalog; each list is in order of relevance. A query without any word
/// finds nothing.
pub fn search(connection: &mut DbConnection, query: &str) -> Result<SearchResults, CatalogError> {
    if query.chars().count() > QUERY_CHARS_MAX {
        return Err(CatalogError::invalid(
            "q",
            format!("at most {QUERY_CHARS_MAX} characters"),
        ));
    }
    let words = words_of(query);
    if words.is_empty() {
        return Ok(SearchResults::default());
    }
    let hits = matching_documents(connection, &words)?;
    let ids_of = |kind: &str| {
        hits.iter()
            .filter(|hit| hit.kind == kind)
            .map(|hit| hit.document_id.clone())
            .collect::<Vec<_>>()
    };
    let rank: HashMap<&str, usize> = hits
        .iter()
        .enumerate()
        .map(|(index, hit)| (hit.document_id.as_str(), index))
        .collect();
    let rank_of = |id: String| rank.get(id.as_str()).copied().unwrap_or(usize::MAX);

    let mut found_artists = ids_of(KIND_ARTIST)
        .iter()
        .map(|id| artists::artist(connection, stored_id(id)?))
        .collect::<Result<Vec<_>, _>>()?;
    found_artists.sort_by_key(|artist| rank_of(artist.id.to_string()));
    let mut found_releases =
        load_public_summaries(connection, PublicSelection::WithIds(&ids_of(KIND_RELEASE)))?;
    found_releases.sort_by_key(|release| rank_of(release.id.to_string()));
    let mut found_tracks = published_tracks(connection, &ids_of(KIND_TRACK))?;
    found_tracks.sort_by_key(|track| rank_of(track.track_id.to_string()));
    Ok(SearchResults {
        artists: found_artists,
        releases: found_releases,
        tracks: found_tracks,
    })
}

/// The words of a query: runs of letters and digits, lower-cased. Everything else separates
/// words, so no query syntax of either backend can be injected.
fn words_of(query: &str) -> Vec<String> {
    query
        .split(|character: char| !character.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(QUERY_WORDS_MAX)
        .map(str::to_lowercase)
        .collect()
}

#[derive(QueryableByName)]
struct DocumentHit {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    document_id: String,
}

fn matching_documents(
    connection: &mut DbConnection,
    words: &[String],
) -> Result<Vec<DocumentHit>, CatalogError> {
    let hits = match connection {
        DbConnection::Sqlite(sqlite) => {
            let expression = words
                .iter()
                .map(|word| format!("\"{word}\"*"))
                .collect::<Vec<_>>()
                .join(" ");
            diesel::sql_query("SELECT kind, document_id FROM search_documents WHERE search_documents MATCH ? ORDER BY rank LIMIT ?")
                .bind::<Text, _>(expression)
                .bind::<BigInt, _>(RESULTS_MAX)
                .load(sqlite)?
        }
        DbConnection::Postgresql(postgres) => {
            let expression = words
                .iter()
                .map(|word| format!("{word}:*"))
                .collect::<Vec<_>>()
                .join(" & ");
            diesel::sql_query(
                "SELECT kind, document_id FROM search_documents, to_tsquery('simple', $1) AS query \
                 WHERE to_tsvector('simple', body) @@ query \
                 ORDER BY ts_rank(to_tsvector('simple', body), query) DESC LIMIT $2",
            )
            .bind::<Text, _>(expression)
            .bind::<BigInt, _>(RESULTS_MAX)
            .load(postgres)?
        }
    };
    Ok(hits)
}

fn published_tracks(
    connection: &mut DbConnection,
    ids: &[String],
) -> Result<Vec<TrackHit>, CatalogError> {
    tracks::table
        .inner_join(releases::table.inner_join(artists_table::table))
        .filter(tracks::id.eq_any(ids))
        .filter(releases::state.eq(ReleaseState::Published.as_str()))
        .select((
            tracks::id,
            tracks::title,
            releases::id,
            releases::title,
            artists_table::id,
            artists_table::name,
        ))
        .load::<(String, String, String, Option<String>, String, String)>(connection)?
        .into_iter()
        .map(
            |(track_id, title, release_id, release_title, artist_id, artist_name)| {
                Ok(TrackHit {
                    track_id: stored_id(&track_id)?,
                    title,
                    release_id: stored_id(&release_id)?,
                    release_title: release_title.ok_or_else(|| {
                        CatalogError::Corrupt(format!(
                            "published release {release_id} has no title"
                        ))
                    })?,
                    artist_id: stored_id(&artist_id)?,
                    artist_name,
                })
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_plain_words() {
        let cases: [(&str, &[&str]); 6] = [
            ("Blue Monday", &["blue", "monday"]),
            ("  ", &[]),
            (
                "\"a\" OR b* NEAR(c) -d ^e",
                &["a", "or", "b", "near", "c", "d", "e"],
            ),
            ("'; DROP TABLE artists; --", &["drop", "table", "artists"]),
            ("Sigur Rós", &["sigur", "rós"]),
            (
                "1 2 3 4 5 6 7 8 9 10",
                &["1", "2", "3", "4", "5", "6", "7", "8"],
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(words_of(query), expected, "{query:?}");
        }
    }
}
