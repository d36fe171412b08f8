//! Artist profiles: one per user with the artist role. The store decides who has the role and
//! passes the user's id; the catalog keeps the public face (name, biography) and is the only
//! place that maps a user to the [`ArtistId`] that owns releases.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, UserId};

use crate::db::{atomically, now, stored_id};
use crate::error::CatalogError;
use crate::fields::{BIO_CHARS_MAX, NAME_CHARS_MAX, free_text, required_line};
use crate::listing::{PublicSelection, ReleaseSummary, load_public_summaries};
use crate::schema::artists;
use crate::search_index;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Artist {
    pub id: ArtistId,
    pub user_id: UserId,
    pub name: String,
    pub bio: String,
    pub created_at: NaiveDateTime,
}

/// An artist as the public sees them: the profile and the published releases, newest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArtistProfile {
    pub artist: Artist,
    pub releases: Vec<ReleaseSummary>,
}

/// A change to a profile; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct ArtistProfileUpdate {
    pub name: Option<String>,
    pub bio: Option<String>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = artists)]
struct ArtistRow {
    id: String,
    user_id: String,
    name: String,
    bio: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl ArtistRow {
    fn into_artist(self) -> Result<Artist, CatalogError> {
        Ok(Artist {
            id: stored_id(&self.id)?,
            user_id: stored_id(&self.user_id)?,
            name: self.name,
            bio: self.bio,
            created_at: self.created_at,
        })
    }
}

/// The user's artist profile, created with `name` if they have none yet. The store calls this
/// once it has checked that the user has the artist role.
pub fn create_or_get(
    connection: &mut DbConnection,
    user: UserId,
    name: &str,
) -> Result<Artist, CatalogError> {
    let name = required_line("name", name, NAME_CHARS_MAX)?;
    let created = atomically(connection, |connection| {
        if let Some(existing) = artist_of_user(connection, user)? {
            return Ok(existing);
        }
        let timestamp = now();
        let row = ArtistRow {
            id: ArtistId::generate().to_string(),
            user_id: user.to_string(),
            name,
            bio: String::new(),
            created_at: timestamp,
            updated_at: timestamp,
        };
        diesel::insert_into(artists::table)
            .values(&row)
            .execute(connection)?;
        row.into_artist()
    });
    match created {
        // A concurrent call for the same user created it first (PostgreSQL; SQLite's write
        // transactions are serialised): theirs is the profile.
        Err(CatalogError::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) => artist_of_user(connection, user)?.ok_or(CatalogError::NotFound { what: "artist" }),
        other => other,
    }
}

/// The artist profile of a user, if they have one.
pub fn artist_of_user(
    connection: &mut DbConnection,
    user: UserId,
) -> Result<Option<Artist>, CatalogError> {
    artists::table
        .filter(artists::user_id.eq(user.to_string()))
        .select(ArtistRow::as_select())
        .first(connection)
        .optional()?
        .map(ArtistRow::into_artist)
        .transpose()
}

pub fn artist(connection: &mut DbConnection, artist: ArtistId) -> Result<Artist, CatalogError> {
    artists::table
        .find(artist.to_string())
        .select(ArtistRow::as_select())
        .first(connection)
        .optional()?
        .ok_or(CatalogError::NotFound { what: "artist" })?
        .into_artist()
}

/// Changes the artist's own profile; the caller passes the acting artist, never one from the request.
pub fn update_profile(
    connection: &mut DbConnection,
    acting: ArtistId,
    update: &ArtistProfileUpdate,
) -> Result<Artist, CatalogError> {
    let name = update
        .name
        .as_deref()
        .map(|name| required_line("name", name, NAME_CHARS_MAX))
        .transpose()?;
    let bio = update
        .bio
        .as_deref()
        .map(|bio| free_text("bio", bio, BIO_CHARS_MAX))
        .transpose()?;
    atomically(connection, |connection| {
        let mut current = artist(connection, acting)?;
        if let Some(name) = name {
            current.name = name;
        }
        if let Some(bio) = bio {
            current.bio = bio;
        }
        diesel::update(artists::table.find(acting.to_string()))
            .set((
                artists::name.eq(&current.name),
                artists::bio.eq(&current.bio),
                artists::updated_at.eq(now()),
            ))
            .execute(connection)?;
        search_index::refresh_artist(connection, acting)?;
        Ok(current)
    })
}

/// The public profile: the artist and their published releases, newest first.
pub fn public_profile(
    connection: &mut DbConnection,
    artist_id: ArtistId,
) -> Result<ArtistProfile, CatalogError> {
    let artist = artist(connection, artist_id)?;
    let releases = load_public_summaries(connection, PublicSelection::OfArtist(artist_id))?;
    Ok(ArtistProfile { artist, releases })
}

/// Takes the artist's row lock (a no-op update) so that concurrent writers for one artist, such
/// as two uploads racing for the last bytes of the quota, run one after the other on
/// PostgreSQL; SQLite's write transactions are serialised already.
pub(crate) fn lock(connection: &mut DbConnection, artist: ArtistId) -> Result<(), CatalogError> {
    let locked = diesel::update(artists::table.find(artist.to_string()))
        .set(artists::id.eq(artists::id))
        .execute(connection)?;
    if locked == 0 {
        return Err(CatalogError::NotFound { what: "artist" });
    }
    Ok(())
}
