//! The search index (`search_documents`): one document per artist with a published release, per
//! published release and per track of one. `refresh_artist` rewrites an artist's documents
//! whenever their public text or a release's state changes, so drafts never enter it. The
//! queries over it are in [`crate::search`].

use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::ArtistId;

use crate::error::CatalogError;
use crate::release_state::ReleaseState;
use crate::schema::{artists, releases, search_documents, tracks};

pub(crate) const KIND_ARTIST: &str = "artist";
pub(crate) const KIND_RELEASE: &str = "release";
pub(crate) const KIND_TRACK: &str = "track";

/// Rewrites the artist's documents from their current published releases.
pub(crate) fn refresh_artist(
    connection: &mut DbConnection,
    artist: ArtistId,
) -> Result<(), CatalogError> {
    let artist_id = artist.to_string();
    diesel::delete(search_documents::table.filter(search_documents::artist_id.eq(&artist_id)))
        .execute(connection)?;
    let published = releases::table
        .filter(releases::artist_id.eq(&artist_id))
        .filter(releases::state.eq(ReleaseState::Published.as_str()))
        .select((releases::id, releases::title))
        .load::<(String, Option<String>)>(connection)?;
    if published.is_empty() {
        return Ok(());
    }
    let release_ids: Vec<&String> = published.iter().map(|(id, _)| id).collect();
    let published_tracks = tracks::table
        .filter(tracks::release_id.eq_any(&release_ids))
        .select((tracks::id, tracks::title))
        .load::<(String, String)>(connection)?;
    let name = artists::table
        .find(&artist_id)
        .select(artists::name)
        .first::<String>(connection)
        .optional()?
        .ok_or(CatalogError::NotFound { what: "artist" })?;
    let document = |kind: &'static str, id: String, body: String| {
        (
            search_documents::kind.eq(kind),
            search_documents::document_id.eq(id),
            search_documents::artist_id.eq(artist_id.clone()),
            search_documents::body.eq(body),
        )
    };
    let mut documents = vec![document(KIND_ARTIST, artist_id.clone(), name)];
    documents.extend(
        published
            .into_iter()
            .filter_map(|(id, title)| title.map(|title| document(KIND_RELEASE, id, title))),
    );
    documents.extend(
        published_tracks
            .into_iter()
            .map(|(id, title)| document(KIND_TRACK, id, title)),
    );
    // One row per statement: diesel's batch insert is not available on every backend of a
    // MultiConnection, and an artist's catalog is small.
    for row in documents {
        diesel::insert_into(search_documents::table)
            .values(row)
            .execute(connection)?;
    }
    Ok(())
}
