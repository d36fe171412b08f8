//! What a listener owns: the items of their paid orders, and the tracks they spent an installer's
//! download credit on. A track is owned when it was bought alone or as part of its release, or
//! redeemed. Order entitlements are granted and revoked only by the webhook handler, in the
//! transaction that records the event; a credit entitlement is granted by [`grant_for_credit`] in
//! the transaction that spends the credit, and is never revoked (the credit is not refundable).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};
use megabox_database::DbConnection;
use std::collections::HashSet;

use megabox_domain::{ReleaseId, TrackId, UserId};

use crate::catalog_items::release_of_track;
use crate::item::Item;
use crate::schema::{payment_credit_entitlements, payment_entitlements, payment_order_lines};
use crate::{PaymentsError, now};

/// How a listener came to own an item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntitlementSource {
    /// Bought in this paid order.
    Order(String),
    /// Redeemed with an installer's download credit (the ads crate's redemption id).
    CreditRedemption(String),
}

/// An item in the listener's library, from the first grant that still holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entitlement {
    pub item: Item,
    pub source: EntitlementSource,
    pub granted_at: NaiveDateTime,
}

/// The listener's library, oldest grant first, each item once.
pub fn entitlements_of(
    connection: &mut DbConnection,
    listener: UserId,
) -> Result<Vec<Entitlement>, PaymentsError> {
    let bought: Vec<(String, String, String, NaiveDateTime)> = payment_entitlements::table
        .filter(payment_entitlements::listener_id.eq(listener.to_string()))
        .select((
            payment_entitlements::item_kind,
            payment_entitlements::item_id,
            payment_entitlements::order_id,
            payment_entitlements::granted_at,
        ))
        .load(connection)?;
    let redeemed: Vec<(String, String, NaiveDateTime)> = payment_credit_entitlements::table
        .filter(payment_credit_entitlements::listener_id.eq(listener.to_string()))
        .select((
            payment_credit_entitlements::track_id,
            payment_credit_entitlements::redemption_id,
            payment_credit_entitlements::granted_at,
        ))
        .load(connection)?;
    let mut grants = Vec::with_capacity(bought.len() + redeemed.len());
    for (kind, id, order_id, granted_at) in bought {
        grants.push(Entitlement {
            item: Item::parse(&kind, &id)?,
            source: EntitlementSource::Order(order_id),
            granted_at,
        });
    }
    for (track_id, redemption_id, granted_at) in redeemed {
        grants.push(Entitlement {
            item: Item::parse("track", &track_id)?,
            source: EntitlementSource::CreditRedemption(redemption_id),
            granted_at,
        });
    }
    // Oldest first; the source breaks ties, so the order is stable.
    grants.sort_by(|left, right| {
        (left.granted_at, &left.source).cmp(&(right.granted_at, &right.source))
    });
    let mut library: Vec<Entitlement> = Vec::with_capacity(grants.len());
    for grant in grants {
        if !library.iter().any(|owned| owned.item == grant.item) {
            library.push(grant);
        }
    }
    Ok(library)
}

/// True when the listener may download and stream the track: bought alone, or with its release
/// while that release is published (the catalog tells a track's release only for published
/// releases; the store does not serve unpublished tracks to listeners either).
pub fn owns_track(
    connection: &mut DbConnection,
    listener: UserId,
    track: TrackId,
) -> Result<bool, PaymentsError> {
    owns_item(connection, listener, Item::Track(track))
}

/// True when the listener owns the item (a track also through its release).
pub fn owns_item(
    connection: &mut DbConnection,
    listener: UserId,
    item: Item,
) -> Result<bool, PaymentsError> {
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

/// What a listener owns of one release: the release itself, and which of its tracks (each bought
/// alone, redeemed with a credit, or owned through the release). Two queries, however many tracks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseOwnership {
    pub release: bool,
    pub tracks: HashSet<TrackId>,
}

/// Which of `release` and its `tracks` the listener owns, for showing "In your library" on a
/// release page. Callers pass only the release's own tracks.
pub fn ownership_of_release(
    connection: &mut DbConnection,
    listener: UserId,
    release: ReleaseId,
    tracks: &[TrackId],
) -> Result<ReleaseOwnership, PaymentsError> {
    let track_ids: Vec<String> = tracks.iter().map(ToString::to_string).collect();
    let release_id = release.to_string();
    let bought: Vec<(String, String)> = payment_entitlements::table
        .filter(payment_entitlements::listener_id.eq(listener.to_string()))
        .filter(
            payment_entitlements::item_kind
                .eq("release")
                .and(payment_entitlements::item_id.eq(&release_id))
                .or(payment_entitlements::item_kind
                    .eq("track")
                    .and(payment_entitlements::item_id.eq_any(&track_ids))),
        )
        .select((
            payment_entitlements::item_kind,
            payment_entitlements::item_id,
        ))
        .load(connection)?;
    let redeemed: Vec<String> = payment_credit_entitlements::table
        .filter(payment_credit_entitlements::listener_id.eq(listener.to_string()))
        .filter(payment_credit_entitlements::track_id.eq_any(&track_ids))
        .select(payment_credit_entitlements::track_id)
        .load(connection)?;
    let release_owned = bought.iter().any(|(kind, _)| kind == "release");
    let owned_ids: HashSet<&str> = bought
        .iter()
        .filter(|(kind, _)| kind == "track")
        .map(|(_, id)| id.as_str())
        .chain(redeemed.iter().map(String::as_str))
        .collect();
    Ok(ReleaseOwnership {
        release: release_owned,
        tracks: tracks
            .iter()
            .copied()
            .filter(|track| release_owned || owned_ids.contains(track.to_string().as_str()))
            .collect(),
    })
}

fn has_entitlement(
    connection: &mut DbConnection,
    listener: UserId,
    item: Item,
) -> Result<bool, PaymentsError> {
    let bought: i64 = payment_entitlements::table
        .filter(payment_entitlements::listener_id.eq(listener.to_string()))
        .filter(payment_entitlements::item_kind.eq(item.kind()))
        .filter(payment_entitlements::item_id.eq(item.id_text()))
        .count()
        .get_result(connection)?;
    if bought > 0 {
        return Ok(true);
    }
    let Item::Track(track) = item else {
        return Ok(false);
    };
    let redeemed: i64 = payment_credit_entitlements::table
        .find((listener.to_string(), track.to_string()))
        .count()
        .get_result(connection)?;
    Ok(redeemed > 0)
}

/// Grants `track` to `listener` for the download credit spent in `redemption_id`. Call it in the
/// transaction that spends the credit, so both happen or neither. A listener redeems a track at
/// most once (the table's key): a second grant is [`PaymentsError::AlreadyOwned`], which rolls
/// back the caller's transaction and with it the second credit.
pub fn grant_for_credit(
    connection: &mut DbConnection,
    listener: UserId,
    track: TrackId,
    redemption_id: &str,
    granted_at: NaiveDateTime,
) -> Result<(), PaymentsError> {
    // The key decides between concurrent grants (`ON CONFLICT`, spelled the same on both backends).
    let inserted = diesel::sql_query(
        "INSERT INTO payment_credit_entitlements (listener_id, track_id, redemption_id, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (listener_id, track_id) DO NOTHING",
    )
    .bind::<Text, _>(listener.to_string())
    .bind::<Text, _>(track.to_string())
    .bind::<Text, _>(redemption_id)
    .bind::<Timestamp, _>(granted_at)
    .execute(connection)?;
    if inserted == 0 {
        return Err(PaymentsError::AlreadyOwned(Item::Track(track)));
    }
    Ok(())
}

/// Grants every line of the order to its listener (inside the caller's transaction).
pub(crate) fn grant(
    connection: &mut DbConnection,
    listener: UserId,
    order_id: &str,
) -> Result<usize, PaymentsError> {
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
pub(crate) fn revoke(
    connection: &mut DbConnection,
    order_id: &str,
) -> Result<usize, PaymentsError> {
    Ok(diesel::delete(
        payment_entitlements::table.filter(payment_entitlements::order_id.eq(order_id)),
    )
    .execute(connection)?)
}
