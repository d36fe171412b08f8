//! What the catalog says about an item in a cart: its price rule, artist, title and release.
//! Prices are read here, never taken from the client.

use megabox_database::DbConnection;
use megabox_domain::{ArtistId, Cents, ReleaseId, TrackId};

use crate::PaymentsError;
use crate::item::Item;

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

pub(crate) fn price_item(
    connection: &mut DbConnection,
    item: Item,
    offer: Option<Cents>,
) -> Result<PricedItem, PaymentsError> {
    let not_for_sale = |error: catalog::CatalogError| match error {
        catalog::CatalogError::NotFound { .. } => PaymentsError::NotForSale(item),
        other => PaymentsError::Catalog(other),
    };
    let (price, release_id, track) = match item {
        Item::Release(release) => (
            catalog::releases::price_of_release(connection, release).map_err(not_for_sale)?,
            release,
            None,
        ),
        Item::Track(track) => {
            let price = catalog::tracks::price_of_track(connection, track).map_err(not_for_sale)?;
            let release =
                release_of_track(connection, track)?.ok_or(PaymentsError::NotForSale(item))?;
            (price, release, Some(track))
        }
    };
    let amount = price.charge_for(offer).map_err(|error| match error {
        catalog::CatalogError::Invalid { reason, .. } => {
            PaymentsError::InvalidOffer { item, reason }
        }
        other => PaymentsError::Catalog(other),
    })?;
    let detail = catalog::releases::public_release(connection, release_id).map_err(not_for_sale)?;
    let release_title = detail.release.title.clone().unwrap_or_default();
    let title = match track {
        None => release_title,
        Some(track) => {
            let track = detail
                .tracks
                .iter()
                .find(|candidate| candidate.id == track)
                .ok_or(PaymentsError::NotForSale(item))?;
            format!("{} ({release_title})", track.title)
        }
    };
    Ok(PricedItem {
        item,
        artist: detail.release.artist_id,
        title: format!("{} — {}", detail.artist_name, title),
        release: release_id,
        amount,
    })
}

/// The release of a published track; `None` for unknown tracks and tracks of releases that are
/// not published.
pub(crate) fn release_of_track(
    connection: &mut DbConnection,
    track: TrackId,
) -> Result<Option<ReleaseId>, PaymentsError> {
    match catalog::tracks::track_media(connection, track, None) {
        Ok(media) => Ok(Some(media.release_id)),
        Err(catalog::CatalogError::NotFound { .. }) => Ok(None),
        Err(other) => Err(other.into()),
    }
}
