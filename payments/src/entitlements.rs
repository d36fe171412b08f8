//! What a listener owns: the items of their paid orders. A track is owned when it was bought alone
//! or as part of its release. Entitlements are granted and revoked only by the webhook handler, in
//! the transaction that records the event.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::{TrackId, UserId};

use crate::catalog_items::release_of_track;
use crate::orders::Item;
use crate::schema::{payment_entitlements, payment_order_lines};
use crate::{PaymentsError, now};

/// An item in the listener's library, from the first paid order that still grants it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entitlement {
    pub item: Item,
    pub order_id: String,
    pub granted_at: NaiveDateTime,
}

/// The listener's library, oldest purchase first, each item once.
pub fn entitlements_of(connection: &mut DbConnection, listener: UserId) -> Result<Vec<Entitlement>, PaymentsError> {
    let rows: Vec<(String, String, String, NaiveDateTime)> = payment_entitlements::table
        .filter(payment_entitlements::listener_id.eq(listener.to_string()))
        .order((payment_entitlements::granted_at, payment_entitlements::order_id))
        .select((
            payment_entitlements::item_kind,
            payment_entitlements::item_id,
            payment_entitlements::order_id,
            payment_entitlements::granted_at,
        ))
        .load(connection)?;
    let mut library: Vec<Entitlement> = Vec::with_capacity(rows.len());
    for (kind, id, order_id, granted_at) in rows {
        let item = Item::parse(&kind, &id)?;
        if !library.iter().any(|owned| owned.item == item) {
            library.push(Entitlement { item, order_id, granted_at });
        }
    }
    Ok(library)
}

/// True when the listener may download and stream the track: bought alone, or with its release
/// while that release is published (the catalog tells a track's release only for published
/// releases; the store does not serve unpublished tracks to listeners either).
pub fn owns_track(connection: &mut DbConnection, listener: UserId, track: TrackId) -> Result<bool, PaymentsError> {
    owns_item(connection, listener, Item::Track(track))
}

/// True when the listener owns the item (a track also through its release).
pub fn owns_item(connection: &mut DbConnection, listener: UserId, item: Item) -> Result<bool, PaymentsError> {
    if has_entitlement(connection, listener, item)? {
        return Ok(true);
    }
    match item {
        Item::Release(_) => Ok(false),
        Item::Track(track) => match release_of_track(connection, track)? {
            Some(release) => has_entitlement(connection, listener, Item::Release(release)),
            None => Ok(false),
        },
    }
}

fn has_entitlement(connection: &mut DbConnection, listener: UserId, item: Item) -> Result<bool, PaymentsError> {
    let count: i64 = payment_entitlements::table
        .filter(payment_entitlements::listener_id.eq(listener.to_string()))
        .filter(payment_entitlements::item_kind.eq(item.kind()))
        .filter(payment_entitlements::item_id.eq(item.id_text()))
        .count()
        .get_result(connection)?;
    Ok(count > 0)
}

/// Grants every line of the order to its listener (inside the caller's transaction).
pub(crate) fn grant(connection: &mut DbConnection, listener: UserId, order_id: &str) -> Result<usize, PaymentsError> {
    let lines: Vec<(String, String)> = payment_order_lines::table
        .filter(payment_order_lines::order_id.eq(order_id))
        .select((payment_order_lines::item_kind, payment_order_lines::item_id))
        .load(connection)?;
    let granted_at = now();
    // One row at a time: the backends share no multi-row insert syntax through diesel.
    for (kind, id) in &lines {
        diesel::insert_into(payment_entitlements::table)
            .values((
                payment_entitlements::listener_id.eq(listener.to_string()),
                payment_entitlements::item_kind.eq(kind),
                payment_entitlements::item_id.eq(id),
                payment_entitlements::order_id.eq(order_id),
                payment_entitlements::granted_at.eq(granted_at),
            ))
            .execute(connection)?;
    }
    Ok(lines.len())
}

/// Takes back what the order granted (inside the caller's transaction); other orders' grants of
/// the same items stay.
pub(crate) fn revoke(connection: &mut DbConnection, order_id: &str) -> Result<usize, PaymentsError> {
    Ok(diesel::delete(payment_entitlements::table.filter(payment_entitlements::order_id.eq(order_id))).execute(connection)?)
}
