//! Hands ad revenue and credit redemptions to royalties. Both are first written to this crate's
//! tables; on PostgreSQL they are recorded in royalties inside the same transaction (royalties'
//! own transaction nests as a savepoint), on SQLite right after the commit (SQLite cannot nest
//! transactions). Royalties is idempotent by source id, so recording twice is harmless;
//! [`settle_royalties`] records what a crash between commit and recording left behind on
//! SQLite — run it at startup and periodically.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::{MicroCents, UserId};
use megabox_protocol::DeviceId;
use royalties::{AdRevenueInput, RedemptionInput, RoyaltySettings};

use crate::AdsError;
use crate::schema::{ads_redemptions, ads_revenue};

/// Rows handed over per query; the loop continues until none is left.
const ROWS_PER_ROUND_MAX: i64 = 1000;

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

/// Records in royalties every ad revenue and redemption not recorded yet.
pub fn settle_royalties(connection: &mut DbConnection, now: NaiveDateTime, settings: &RoyaltySettings) -> Result<SettleReport, AdsError> {
    Ok(SettleReport {
        revenue_recorded: record_pending_revenue(connection, RevenueScope::All, now)?,
        redemptions_recorded: record_pending_redemptions(connection, None, now, settings)?,
    })
}

fn parse_user(text: &str) -> Result<UserId, AdsError> {
    text.parse().map_err(|_| AdsError::CorruptRow(format!("user id {text:?}")))
}

pub(crate) fn record_pending_revenue(connection: &mut DbConnection, scope: RevenueScope, now: NaiveDateTime) -> Result<usize, AdsError> {
    let mut recorded = 0;
    loop {
        let mut query = ads_revenue::table
            .filter(ads_revenue::recorded_at.is_null())
            .select((ads_revenue::source_id, ads_revenue::user_id, ads_revenue::campaign_id, ads_revenue::amount_micro_cents, ads_revenue::occurred_at))
            .order(ads_revenue::source_id)
            .limit(ROWS_PER_ROUND_MAX)
            .into_boxed();
        query = match scope {
            RevenueScope::Device(device) => query.filter(ads_revenue::device_id.eq(device.0.to_string())),
            RevenueScope::Account(user) => query.filter(ads_revenue::user_id.eq(user.to_string())),
            RevenueScope::All => query,
        };
        let rows: Vec<(String, String, String, i64, NaiveDateTime)> = query.load(connection)?;
        if rows.is_empty() {
            return Ok(recorded);
        }
        for (source_id, user_id, campaign_id, amount_micro_cents, occurred_at) in rows {
            let revenue = AdRevenueInput {
                event_id: source_id.clone(),
                installer: parse_user(&user_id)?,
                campaign_id,
                amount: MicroCents(amount_micro_cents),
                occurred_at,
            };
            royalties::record_ad_revenue(connection, &revenue)?;
            diesel::update(ads_revenue::table.find(&source_id)).set(ads_revenue::recorded_at.eq(now)).execute(connection)?;
            recorded += 1;
        }
    }
}

pub(crate) fn record_pending_redemptions(
    connection: &mut DbConnection,
    user: Option<UserId>,
    now: NaiveDateTime,
    settings: &RoyaltySettings,
) -> Result<usize, AdsError> {
    let mut recorded = 0;
    loop {
        let mut query = ads_redemptions::table
            .filter(ads_redemptions::recorded_at.is_null())
            .select((ads_redemptions::id, ads_redemptions::user_id, ads_redemptions::artist_id, ads_redemptions::redeemed_at))
            .order(ads_redemptions::id)
            .limit(ROWS_PER_ROUND_MAX)
            .into_boxed();
        if let Some(user) = user {
            query = query.filter(ads_redemptions::user_id.eq(user.to_string()));
        }
        let rows: Vec<(String, String, String, NaiveDateTime)> = query.load(connection)?;
        if rows.is_empty() {
            return Ok(recorded);
        }
        for (id, user_id, artist_id, redeemed_at) in rows {
            let redemption = RedemptionInput {
                redemption_id: id.clone(),
                listener: parse_user(&user_id)?,
                artist: artist_id.parse().map_err(|_| AdsError::CorruptRow(format!("artist id {artist_id:?}")))?,
                occurred_at: redeemed_at,
            };
            royalties::record_credit_redemption(connection, &redemption, settings)?;
            diesel::update(ads_redemptions::table.find(&id)).set(ads_redemptions::recorded_at.eq(now)).execute(connection)?;
            recorded += 1;
        }
    }
}
