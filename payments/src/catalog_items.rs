//! What the catalog says about an item in a cart: its price rule, artist, title and release.
//! Prices are read here, never taken from the client.

use diesel::prelude::*;
use diesel::sql_types::Text;
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, Cents, ReleaseId, TrackId};

use crate::PaymentsError;
use crate::orders::Item;

/// A cart item as the catalog prices it for this listener's offer.
#[derive(Debug, Clone)]
pub(crate) struct PricedItem {
    pub(crate) item: Item,
    pub(crate) artist: ArtistId,
    pub(crate) title: String,
    /// The release itself, or the release the track belongs to.
    pub(crate) release: ReleaseId,
    pub(crate) amount: Cents,
}

pub(crate) fn price_item(connection: &mut DbConnection, item: Item, offer: Option<Cents>) -> Result<PricedItem, PaymentsError> {
    let not_for_sale = |error: catalog::CatalogError| match error {
        catalog::CatalogError::NotFound { .. } => PaymentsError::NotForSale(item),
        other => PaymentsError::Catalog(other),
    };
    let (price, release_id, track) = match item {
        Item::Release(release) => (catalog::releases::price_of_release(connection, release).map_err(not_for_sale)?, release, None),
        Item::Track(track) => {
            let price = catalog::tracks::price_of_track(connection, track).map_err(not_for_sale)?;
            let release = release_of_track(connection, track)?.ok_or(PaymentsError::NotForSale(item))?;
            (price, release, Some(track))
        }
    };
    let amount = price.charge_for(offer).map_err(|error| match error {
        catalog::CatalogError::Invalid { reason, .. } => PaymentsError::InvalidOffer { item, reason },
        other => PaymentsError::Catalog(other),
    })?;
    let detail = catalog::releases::public_release(connection, release_id).map_err(not_for_sale)?;
    let release_title = detail.release.title.clone().unwrap_or_default();
    let title = match track {
        None => release_title,
        Some(track) => {
            let track = detail.tracks.iter().find(|candidate| candidate.id == track).ok_or(PaymentsError::NotForSale(item))?;
            format!("{} ({release_title})", track.title)
        }
    };
    Ok(PricedItem { item, artist: detail.release.artist_id, title: format!("{} — {}", detail.artist_name, title), release: release_id, amount })
}

#[derive(QueryableByName)]
struct ReleaseOfTrack {
    #[diesel(sql_type = Text)]
    release_id: String,
}

/// The release a track belongs to, whatever its state (a bought track stays owned after its
/// release is unpublished).
///
/// The catalog has no public function for this yet, so this one query reads the catalog's
/// `tracks` table directly; it is the only place this crate does, and it goes once the catalog
/// exposes the lookup.
pub(crate) fn release_of_track(connection: &mut DbConnection, track: TrackId) -> Result<Option<ReleaseId>, PaymentsError> {
    let row: Option<ReleaseOfTrack> = diesel::sql_query("SELECT release_id FROM tracks WHERE id = $1")
        .bind::<Text, _>(track.to_string())
        .get_result(connection)
        .optional()?;
    row.map(|row| row.release_id.parse().map_err(|_| PaymentsError::Corrupt(format!("release id {:?}", row.release_id))))
        .transpose()
}
