//! Hands ad revenue and credit redemptions to royalties. Both are first written to this crate's
//! tables (`recorded_at` null until royalties has them). Credit redemptions are recorded in
//! their own transaction; ad revenue in the batch's transaction on PostgreSQL and right after
//! its commit on SQLite. [`settle_royalties`] records whatever is still waiting — after a crash
//! in between, or when royalties refused for a while — and the store runs it at start-up and
//! then periodically.
//!
//! Every row is claimed (its `recorded_at` set, only while still null) and recorded in royalties
//! in the same transaction, a round of rows at a time. So several servers settling at once never
//! record a row twice — the second claimer waits on the first one's row lock and then finds the
//! row taken — and a crash leaves a row either claimed and recorded, or neither. (Royalties is
//! idempotent by source id besides.)

use chrono::NaiveDateTime;
use diesel::prelude::*;
use megabox_database::{DbConnection, write_transaction};
use megabox_domain::{MicroCents, UserId};
use megabox_protocol::DeviceId;
use royalties::{AdRevenueInput, RedemptionInput, RoyaltySettings};

use crate::AdsError;
use crate::schema::{ads_redemptions, ads_revenue};

/// Rows claimed and recorded per transaction: small enough that a round holds the (SQLite)
/// write lock only briefly, large enough to amortise the commit.
const ROWS_PER_ROUND_MAX: i64 = 200;

/// Whose revenue an operation concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RevenueScope {
    Device(DeviceId),
    Account(UserId),
    All,
}

/// What [`settle_royalties`] handed over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SettleReport {
    pub revenue_recorded: usize,
    pub redemptions_recorded: usize,
}

/// Records in royalties every ad revenue and redemption not recorded yet. Safe to run on several
/// servers at once (see the module documentation).
pub fn settle_royalties(
    connection: &mut DbConnection,
    now: NaiveDateTime,
    settings: &RoyaltySettings,
) -> Result<SettleReport, AdsError> {
    Ok(SettleReport {
        revenue_recorded: record_pending_revenue(connection, RevenueScope::All, now)?,
        redemptions_recorded: record_pending_redemptions(connection, None, now, settings)?,
    })
}

fn parse_user(text: &str) -> Result<UserId, AdsError> {
    text.parse()
        .map_err(|_| AdsError::CorruptRow(format!("user id {text:?}")))
}

/// Hands over rows in rounds, each one write transaction, until `load` (at most
/// [`ROWS_PER_ROUND_MAX`] rows) finds fewer than a full round waiting. `settle` claims one row
/// and records it, answering whether this call claimed it.
fn settle_in_rounds<Row>(
    connection: &mut DbConnection,
    mut load: impl FnMut(&mut DbConnection) -> Result<Vec<Row>, AdsError>,
    mut settle: impl FnMut(&mut DbConnection, Row) -> Result<bool, AdsError>,
) -> Result<usize, AdsError> {
    let mut recorded = 0;
    loop {
        let (claimed, full_round) = write_transaction(connection, |connection| {
            let rows = load(connection)?;
            let full_round =
                i64::try_from(rows.len()).is_ok_and(|count| count >= ROWS_PER_ROUND_MAX);
            let mut claimed = 0;
            for row in rows {
                if settle(connection, row)? {
                    claimed += 1;
                }
            }
            Ok::<_, AdsError>((claimed, full_round))
        })?;
        recorded += claimed;
        if !full_round {
            return Ok(recorded);
        }
    }
}

pub(crate) fn record_pending_revenue(
    connection: &mut DbConnection,
    scope: RevenueScope,
    now: NaiveDateTime,
) -> Result<usize, AdsError> {
    let load = |connection: &mut DbConnection| {
        let mut query = ads_revenue::table
            .filter(ads_revenue::recorded_at.is_null())
            .select((
                ads_revenue::source_id,
                ads_revenue::user_id,
                ads_revenue::campaign_id,
                ads_revenue::amount_micro_cents,
                ads_revenue::occurred_at,
            ))
            // One order for every settler, so their row locks never deadlock.
            .order(ads_revenue::source_id)
            .limit(ROWS_PER_ROUND_MAX)
            .into_boxed();
        query = match scope {
            RevenueScope::Device(device) => {
                query.filter(ads_revenue::device_id.eq(device.0.to_string()))
            }
            RevenueScope::Account(user) => query.filter(ads_revenue::user_id.eq(user.to_string())),
            RevenueScope::All => query,
        };
        Ok(query.load::<(String, String, String, i64, NaiveDateTime)>(connection)?)
    };
    settle_in_rounds(
        connection,
        load,
        |connection, (source_id, user_id, campaign_id, amount_micro_cents, occurred_at)| {
            let claimed = diesel::update(
                ads_revenue::table
                    .find(&source_id)
                    .filter(ads_revenue::recorded_at.is_null()),
            )
            .set(ads_revenue::recorded_at.eq(now))
            .execute(connection)?;
            if claimed == 0 {
                return Ok(false);
            }
            let revenue = AdRevenueInput {
                event_id: source_id,
                installer: parse_user(&user_id)?,
                campaign_id,
                amount: MicroCents(amount_micro_cents),
                occurred_at,
            };
            royalties::record_ad_revenue(connection, &revenue)?;
            Ok(true)
        },
    )
}

pub(crate) fn record_pending_redemptions(
    connection: &mut DbConnection,
    user: Option<UserId>,
    now: NaiveDateTime,
    settings: &RoyaltySettings,
) -> Result<usize, AdsError> {
    let load = |connection: &mut DbConnection| {
        let mut query = ads_redemptions::table
            .filter(ads_redemptions::recorded_at.is_null())
            .select((
                ads_redemptions::id,
                ads_redemptions::user_id,
                ads_redemptions::artist_id,
                ads_redemptions::redeemed_at,
            ))
            .order(ads_redemptions::id)
            .limit(ROWS_PER_ROUND_MAX)
            .into_boxed();
        if let Some(user) = user {
            query = query.filter(ads_redemptions::user_id.eq(user.to_string()));
        }
        Ok(query.load::<(String, String, String, NaiveDateTime)>(connection)?)
    };
    settle_in_rounds(
        connection,
        load,
        |connection, (id, user_id, artist_id, redeemed_at)| {
            let claimed = diesel::update(
                ads_redemptions::table
                    .find(&id)
                    .filter(ads_redemptions::recorded_at.is_null()),
            )
            .set(ads_redemptions::recorded_at.eq(now))
            .execute(connection)?;
            if claimed == 0 {
                return Ok(false);
            }
            let redemption = RedemptionInput {
                redemption_id: id,
                listener: parse_user(&user_id)?,
                artist: artist_id
                    .parse()
                    .map_err(|_| AdsError::CorruptRow(format!("artist id {artist_id:?}")))?,
                occurred_at: redeemed_at,
            };
            royalties::record_credit_redemption(connection, &redemption, settings)?;
            Ok(true)
        },
    )
}
