//! The JSON shapes of catalog objects, converted at the edge from the catalog's domain types so
//! that the API document describes exactly what is sent.

use catalog::pricing::Price;
use catalog::releases::{Release, ReleaseDetail, ReleaseKind, ReleaseState, ReleaseSummary};
use catalog::tracks::Track;
use chrono::NaiveDate;

use super::time::utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How something is sold. Amounts are integer cents.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PriceView {
    Fixed {
        price_cents: i64,
    },
    PayWhatYouWant {
        minimum_cents: i64,
        suggested_cents: i64,
    },
}

impl From<Price> for PriceView {
    fn from(price: Price) -> Self {
        match price {
            Price::Fixed { price } => PriceView::Fixed {
                price_cents: price.0,
            },
            Price::PayWhatYouWant { minimum, suggested } => PriceView::PayWhatYouWant {
                minimum_cents: minimum.0,
                suggested_cents: suggested.0,
            },
        }
    }
}

impl PriceView {
    /// Parses through the catalog's rules (positive fixed price, minimum ≤ suggested, ceilings).
    pub fn parse(self) -> Result<Price, catalog::CatalogError> {
        use megabox_domain::Cents;
        match self {
            PriceView::Fixed { price_cents } => Price::fixed(Cents(price_cents)),
            PriceView::PayWhatYouWant {
                minimum_cents,
                suggested_cents,
            } => Price::pay_what_you_want(Cents(minimum_cents), Cents(suggested_cents)),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TrackView {
    #[schema(value_type = String, format = Uuid)]
    pub id: megabox_domain::TrackId,
    #[schema(value_type = String, format = Uuid)]
    pub release_id: megabox_domain::ReleaseId,
    pub position: u32,
    pub title: String,
    pub credits: String,
    pub isrc: Option<String>,
    pub price: Option<PriceView>,
    pub duration_ms: u64,
    /// On the public release page for a signed-in caller: whether they own the track (bought
    /// alone or with its release, or redeemed with a credit). Absent elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owned: Option<bool>,
}

impl From<Track> for TrackView {
    fn from(track: Track) -> Self {
        TrackView {
            id: track.id,
            release_id: track.release_id,
            position: track.position,
            title: track.title,
            credits: track.credits,
            isrc: track.isrc.map(|isrc| isrc.as_str().to_owned()),
            price: track.price.map(PriceView::from),
            duration_ms: track.duration_ms,
            owned: None,
        }
    }
}

wire_enum!(
    /// What kind of release it is.
    ReleaseKindView mirrors ReleaseKind { Album, Ep, Single }
);

wire_enum!(
    /// Where a release stands: drafts and unpublished releases are seen only by their artist.
    ReleaseStateView mirrors ReleaseState { Draft, Published, Unpublished }
);

#[derive(Serialize, ToSchema)]
pub struct ReleaseView {
    #[schema(value_type = String, format = Uuid)]
    pub id: megabox_domain::ReleaseId,
    #[schema(value_type = String, format = Uuid)]
    pub artist_id: megabox_domain::ArtistId,
    pub title: Option<String>,
    pub kind: ReleaseKindView,
    pub state: ReleaseStateView,
    pub release_date: Option<NaiveDate>,
    pub credits: String,
    /// Path of the cover image, when the release has one.
    pub artwork_url: Option<String>,
    pub price: Option<PriceView>,
    pub published_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// On the public release page for a signed-in caller: whether they bought the whole release.
    /// Absent elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owned: Option<bool>,
}

pub fn artwork_url(
    release: megabox_domain::ReleaseId,
    artwork_key: Option<&String>,
) -> Option<String> {
    artwork_key.map(|_| format!("/api/v1/catalog/releases/{release}/artwork"))
}

impl From<Release> for ReleaseView {
    fn from(release: Release) -> Self {
        ReleaseView {
            artwork_url: artwork_url(release.id, release.artwork_key.as_ref()),
            id: release.id,
            artist_id: release.artist_id,
            title: release.title,
            kind: release.kind.into(),
            state: release.state.into(),
            release_date: release.release_date,
            credits: release.credits,
            price: release.price.map(PriceView::from),
            published_at: release.published_at.map(utc),
            created_at: utc(release.created_at),
            owned: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReleaseDetailView {
    pub release: ReleaseView,
    pub artist_name: String,
    pub tracks: Vec<TrackView>,
    /// The release's tags (trimmed, lower case), in alphabetical order.
    pub tags: Vec<String>,
}

impl ReleaseDetailView {
    /// Marks what the signed-in caller owns.
    pub fn with_ownership(mut self, ownership: &megabox_payments::ReleaseOwnership) -> Self {
        self.release.owned = Some(ownership.release);
        for track in &mut self.tracks {
            track.owned = Some(ownership.tracks.contains(&track.id));
        }
        self
    }
}

impl From<ReleaseDetail> for ReleaseDetailView {
    fn from(detail: ReleaseDetail) -> Self {
        ReleaseDetailView {
            release: detail.release.into(),
            artist_name: detail.artist_name,
            tracks: detail.tracks.into_iter().map(TrackView::from).collect(),
            tags: detail.tags,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReleaseSummaryView {
    #[schema(value_type = String, format = Uuid)]
    pub id: megabox_domain::ReleaseId,
    #[schema(value_type = String, format = Uuid)]
    pub artist_id: megabox_domain::ArtistId,
    pub artist_name: String,
    pub title: String,
    pub kind: ReleaseKindView,
    pub release_date: Option<NaiveDate>,
    pub artwork_url: Option<String>,
    pub price: PriceView,
    pub published_at: chrono::DateTime<chrono::Utc>,
}

impl From<ReleaseSummary> for ReleaseSummaryView {
    fn from(summary: ReleaseSummary) -> Self {
        ReleaseSummaryView {
            artwork_url: artwork_url(summary.id, summary.artwork_key.as_ref()),
            id: summary.id,
            artist_id: summary.artist_id,
            artist_name: summary.artist_name,
            title: summary.title,
            kind: summary.kind.into(),
            release_date: summary.release_date,
            price: summary.price.into(),
            published_at: utc(summary.published_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ArtistView {
    #[schema(value_type = String, format = Uuid)]
    pub id: megabox_domain::ArtistId,
    pub name: String,
    pub bio: String,
}

impl From<catalog::artists::Artist> for ArtistView {
    fn from(artist: catalog::artists::Artist) -> Self {
        ArtistView {
            id: artist.id,
            name: artist.name,
            bio: artist.bio,
        }
    }
}

/// Reads `"field": null` as `Some(None)` (clear it) and an absent field as `None` (keep it).
pub fn present_or_null<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Parses an id from a path segment; anything malformed is simply not found.
pub fn parse_id<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, crate::error::ApiError> {
    text.parse()
        .map_err(|_| crate::error::ApiError::not_found(format!("{what} not found")))
}
