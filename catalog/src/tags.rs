//! Tags of releases (genres, moods, places): the artist sets up to [`TAGS_PER_RELEASE_MAX`] per
//! release, each normalised once by [`Tags::parse`], and the public browses the most used tags and
//! the published releases that carry one. Only published releases are counted or listed.

use diesel::dsl::count_star;
use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::ReleaseId;

use crate::error::CatalogError;
use crate::listing::{self, ReleasePage};
use crate::release_state::ReleaseState;
use crate::schema::{release_tags, releases as releases_table};

/// The most tags one release carries.
pub const TAGS_PER_RELEASE_MAX: usize = 10;
/// The longest tag, in characters, after trimming.
pub const TAG_CHARS_MAX: usize = 40;
/// The most tags one answer of [`most_used_tags`] lists.
pub const TAGS_LISTED_MAX: u32 = 100;

/// A release's tags: each trimmed, in lower case, 1 to [`TAG_CHARS_MAX`] characters without
/// control characters; no duplicates; at most [`TAGS_PER_RELEASE_MAX`]. Order is the artist's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(Vec<String>);

impl Tags {
    /// Normalises the artist's tags; duplicates (after normalising) are kept once.
    pub fn parse<Tag: AsRef<str>>(raw: &[Tag]) -> Result<Tags, CatalogError> {
        if raw.len() > TAGS_PER_RELEASE_MAX {
            return Err(CatalogError::invalid(
                "tags",
                format!("at most {TAGS_PER_RELEASE_MAX} tags per release"),
            ));
        }
        let mut tags: Vec<String> = Vec::with_capacity(raw.len());
        for tag in raw {
            let tag = Tags::parse_one(tag.as_ref())?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Ok(Tags(tags))
    }

    /// One tag, as it is stored and looked up: trimmed and in lower case.
    pub fn parse_one(raw: &str) -> Result<String, CatalogError> {
        let tag = raw.trim().to_lowercase();
        if tag.is_empty() {
            return Err(CatalogError::invalid("tags", "a tag cannot be empty"));
        }
        if tag.chars().count() > TAG_CHARS_MAX {
            return Err(CatalogError::invalid(
                "tags",
                format!("a tag has at most {TAG_CHARS_MAX} characters"),
            ));
        }
        if tag.chars().any(char::is_control) {
            return Err(CatalogError::invalid(
                "tags",
                "a tag cannot contain control characters",
            ));
        }
        Ok(tag)
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// A tag and how many published releases carry it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TagCount {
    pub tag: String,
    pub release_count: u64,
}

/// Replaces a release's tags; the caller has checked that the release is the acting artist's.
pub(crate) fn replace_tags(
    connection: &mut DbConnection,
    release: ReleaseId,
    tags: &Tags,
) -> Result<(), CatalogError> {
    let release = release.to_string();
    diesel::delete(release_tags::table.filter(release_tags::release_id.eq(&release)))
        .execute(connection)?;
    // Row by row: diesel's multi-row insert is not available over both backends at once, and a
    // release has at most TAGS_PER_RELEASE_MAX tags.
    for tag in tags.as_slice() {
        diesel::insert_into(release_tags::table)
            .values((
                release_tags::release_id.eq(&release),
                release_tags::tag.eq(tag),
            ))
            .execute(connection)?;
    }
    Ok(())
}

/// A release's tags in alphabetical order.
pub fn tags_of_release(
    connection: &mut DbConnection,
    release: ReleaseId,
) -> Result<Vec<String>, CatalogError> {
    Ok(release_tags::table
        .filter(release_tags::release_id.eq(release.to_string()))
        .order(release_tags::tag.asc())
        .select(release_tags::tag)
        .load(connection)?)
}

/// The tags most published releases carry, most used first (ties alphabetically).
pub fn most_used_tags(
    connection: &mut DbConnection,
    limit: u32,
) -> Result<Vec<TagCount>, CatalogError> {
    if !(1..=TAGS_LISTED_MAX).contains(&limit) {
        return Err(CatalogError::invalid(
            "limit",
            format!("must be between 1 and {TAGS_LISTED_MAX}"),
        ));
    }
    let counted: Vec<(String, i64)> = release_tags::table
        .inner_join(releases_table::table)
        .filter(releases_table::state.eq(ReleaseState::Published.as_str()))
        .group_by(release_tags::tag)
        .select((release_tags::tag, count_star()))
        .order((count_star().desc(), release_tags::tag.asc()))
        .limit(i64::from(limit))
        .load(connection)?;
    Ok(counted
        .into_iter()
        .map(|(tag, count)| TagCount {
            tag,
            release_count: u64::try_from(count).unwrap_or(0),
        })
        .collect())
}

/// The published releases carrying a tag, newest publication first, a page at a time like the
/// catalog (`cursor` is the previous page's `next_cursor`). The tag is normalised as on save, so
/// `Ambient ` finds `ambient`.
pub fn releases_with_tag(
    connection: &mut DbConnection,
    tag: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<ReleasePage, CatalogError> {
    let tag = Tags::parse_one(tag)?;
    listing::published_page(connection, Some(&tag), cursor, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[&str]) -> Result<Vec<String>, CatalogError> {
        Tags::parse(raw).map(|tags| tags.as_slice().to_vec())
    }

    #[test]
    fn tags_are_trimmed_lower_cased_and_kept_once() {
        assert_eq!(
            parse(&[" Ambient ", "LO-FI", "ambient"]).unwrap(),
            ["ambient", "lo-fi"]
        );
    }

    #[test]
    fn too_many_empty_long_or_control_tags_are_refused() {
        let eleven: Vec<String> = (0..11).map(|n| format!("tag{n}")).collect();
        assert!(Tags::parse(&eleven).is_err());
        assert!(parse(&["  "]).is_err());
        assert!(parse(&[&"x".repeat(TAG_CHARS_MAX + 1)]).is_err());
        assert!(parse(&[&"é".repeat(TAG_CHARS_MAX)]).is_ok());
        assert!(parse(&["a\nb"]).is_err());
    }
}
