//! Closing a period: the period's ad revenue (micro-cents) becomes a pool of whole cents, the
//! leftover micro-cents are carried into the next period, and the pool is split between the
//! artists (90% by default) and the platform, weighted by plays.
//!
//! The heavy lifting is SQL aggregates that both backends run the same way (GROUP BY listener
//! and artist, window functions for the per-installer largest remainder); only one row per
//! artist comes back to Rust, so memory does not grow with the number of plays.
//!
//! Crash safety: the close first commits the period as `closing` (new events then go to the
//! next period), then computes and posts everything and marks it `closed` in one transaction.
//! A crash rolls that transaction back; running the close again redoes it, exactly once.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use megabox_database::{DbConnection, write_transaction};
use megabox_domain::{Cents, MicroCents};

use crate::ledger::{self, Account, Posting, PostingLine, TransactionKind, micro};
use crate::period::{Period, PeriodStatus, booking_period, lock_period_status};
use crate::batch::{OnConflict, SqlValue, insert_rows};
use crate::revenue::insert_ad_revenue;
use crate::schema::{royalty_ad_allocations, royalty_periods};
use crate::split::largest_remainder;
use crate::{RoyaltyError, RoyaltySettings, parse_artist};

const MICRO_CENTS_PER_CENT: i64 = 1_000_000;
/// PostgreSQL sort memory for the close's transaction (a batch job, one at a time).
const CLOSE_WORK_MEMORY_MB: u32 = 256;

/// How the artists' part of a period's ad pool is weighted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationModel {
    /// Each installer's revenue goes to the artists that installer played, in proportion; the
    /// revenue of installers who played nothing is pooled and split pro rata.
    #[default]
    UserCentric,
    /// The whole pool is split by each artist's share of all qualifying plays.
    ProRata,
}

impl AllocationModel {
    fn as_str(self) -> &'static str {
        match self {
            AllocationModel::UserCentric => "user_centric",
            AllocationModel::ProRata => "pro_rata",
        }
    }

    fn parse(text: &str) -> Result<AllocationModel, RoyaltyError> {
        match text {
            "user_centric" => Ok(AllocationModel::UserCentric),
            "pro_rata" => Ok(AllocationModel::ProRata),
            other => Err(RoyaltyError::CorruptRow(format!("allocation model {other:?}"))),
        }
    }
}

/// What a close did (or had done, when the period was already closed).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PeriodClose {
    pub period: Period,
    pub model: AllocationModel,
    /// All ad revenue booked in the period, including what was carried in and clawed back.
    pub ad_revenue: MicroCents,
    /// The whole cents allocated.
    pub pool: Cents,
    pub artists_total: Cents,
    pub platform: Cents,
    /// Micro-cents (or, with no plays, the whole revenue) carried into the next period.
    pub carried: MicroCents,
    pub artists_allocated: usize,
    /// True when this call found the period already closed and changed nothing.
    pub already_closed: bool,
}

#[derive(QueryableByName)]
struct ArtistWeightRow {
    #[diesel(sql_type = Text)]
    artist_id: String,
    #[diesel(sql_type = BigInt)]
    plays: i64,
    #[diesel(sql_type = BigInt)]
    weight: i64,
}

#[derive(QueryableByName)]
struct TotalRow {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Who shares the pool. Artists sort before the platform, so they win ties of the split.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Party {
    Artist(String),
    Platform,
}

/// Closes `period`: idempotent (a closed period is returned as it was closed) and resumable.
/// A close interrupted after it began keeps the model it began with.
pub fn close_period(
    connection: &mut DbConnection,
    period: Period,
    model: AllocationModel,
    settings: &RoyaltySettings,
) -> Result<PeriodClose, RoyaltyError> {
    let began = write_transaction(connection, |connection| {
        match lock_period_status(connection, period)? {
            PeriodStatus::Closed => return Ok(None),
            PeriodStatus::Closing => {}
            PeriodStatus::Open => {
                diesel::update(royalty_periods::table.find(period.to_string()))
                    .set((
                        royalty_periods::status.eq(PeriodStatus::Closing.as_str()),
                        royalty_periods::allocation_model.eq(model.as_str()),
                        royalty_periods::artist_share_bps.eq(settings.ad_artist_share.value()),
                    ))
                    .execute(connection)?;
            }
        }
        Ok::<_, RoyaltyError>(Some(()))
    })?;
    if began.is_none() {
        return closed_summary(connection, period, true);
    }
    let allocated_now = write_transaction(connection, |connection| {
        let (status, stored_model, artist_share_bps): (String, Option<String>, i64) = royalty_periods::table
            .find(period.to_string())
            .select((royalty_periods::status, royalty_periods::allocation_model, royalty_periods::artist_share_bps))
            .first(connection)?;
        if status == PeriodStatus::Closed.as_str() {
            return Ok(false);
        }
        let model = AllocationModel::parse(stored_model.as_deref().unwrap_or_default())?;
        allocate(connection, period, model, artist_share_bps)?;
        Ok::<_, RoyaltyError>(true)
    })?;
    closed_summary(connection, period, !allocated_now)
}

/// Computes and posts the allocation of a period that is `closing`, and marks it closed.
fn allocate(connection: &mut DbConnection, period: Period, model: AllocationModel, artist_share_bps: i64) -> Result<(), RoyaltyError> {
    let booked_at: NaiveDateTime = Utc::now().naive_utc();
    let ad_revenue: TotalRow = diesel::sql_query(
        "SELECT CAST(COALESCE(SUM(amount_micro_cents), 0) AS BIGINT) AS total FROM royalty_ad_revenue WHERE period = $1",
    )
    .bind::<Text, _>(period.to_string())
    .get_result(connection)?;
    let ad_revenue = ad_revenue.total;
    if let DbConnection::Postgresql(_) = connection {
        // The aggregates sort millions of rows; give this batch transaction room to do it in memory.
        diesel::sql_query(format!("SET LOCAL work_mem = '{CLOSE_WORK_MEMORY_MB}MB'")).execute(connection)?;
    }
    let PeriodWeights { play_counts, weights } = artist_weights(connection, period, model, ad_revenue)?;
    let weight_sum: u64 = weights.values().try_fold(0_u64, |sum, weight| sum.checked_add(*weight)).ok_or(RoyaltyError::Overflow)?;
    // With no plays (or no revenue) there is nobody to pay: everything waits for the next period.
    let pool_cents = if ad_revenue > 0 && weight_sum > 0 { ad_revenue.div_euclid(MICRO_CENTS_PER_CENT) } else { 0 };
    let carried = ad_revenue - micro(pool_cents)?.0;

    let mut parties: Vec<(Party, u64)> = Vec::with_capacity(weights.len() + 1);
    let artist_bps = u64::try_from(artist_share_bps).map_err(|_| RoyaltyError::CorruptRow("negative share".to_owned()))?;
    for (artist_id, weight) in &weights {
        parties.push((Party::Artist(artist_id.clone()), weight.checked_mul(artist_bps).ok_or(RoyaltyError::Overflow)?));
    }
    let platform_weight = weight_sum.checked_mul(10_000 - artist_bps.min(10_000)).ok_or(RoyaltyError::Overflow)?;
    parties.push((Party::Platform, platform_weight));
    let shares = largest_remainder(pool_cents, &parties)?;

    if pool_cents > 0 {
        let pool_micro = micro(pool_cents)?;
        post_close(connection, period, TransactionKind::PeriodPool, booked_at, vec![
            PostingLine { account: Account::AdPending, amount: MicroCents(-pool_micro.0), source_ref: period.to_string() },
            PostingLine { account: Account::AdPool(period), amount: pool_micro, source_ref: period.to_string() },
        ])?;
        let mut lines = vec![PostingLine { account: Account::AdPool(period), amount: MicroCents(-pool_micro.0), source_ref: period.to_string() }];
        for (party, cents) in &shares {
            let account = match party {
                Party::Artist(artist_id) => Account::ArtistPayable(parse_artist(artist_id)?),
                Party::Platform => Account::PlatformRevenue,
            };
            lines.push(PostingLine { account, amount: micro(*cents)?, source_ref: period.to_string() });
        }
        post_close(connection, period, TransactionKind::AdAllocation, booked_at, lines)?;
    }
    let rows: Vec<Vec<SqlValue>> = shares
        .iter()
        .filter_map(|(party, cents)| match party {
            Party::Artist(artist_id) => Some(vec![
                SqlValue::Text(period.to_string()),
                SqlValue::Text(artist_id.clone()),
                SqlValue::BigInt(i64::try_from(weights.get(artist_id).copied().unwrap_or(0)).unwrap_or(i64::MAX)),
                SqlValue::BigInt(play_counts.get(artist_id).copied().unwrap_or(0)),
                SqlValue::BigInt(*cents),
            ]),
            Party::Platform => None,
        })
        .collect();
    insert_rows(connection, "royalty_ad_allocations", &["period", "artist_id", "weight", "plays", "amount_cents"], rows, OnConflict::Fail)?;
    if carried != 0 {
        // The carry stays in the pending account; this row books it into the next open period.
        let next = booking_period(connection, period.next().start())?;
        insert_ad_revenue(connection, &format!("carry:{period}"), "carry", None, None, MicroCents(carried), next, period.next().start())?;
    }
    diesel::update(royalty_periods::table.find(period.to_string()))
        .set((
            royalty_periods::status.eq(PeriodStatus::Closed.as_str()),
            royalty_periods::ad_revenue_micro_cents.eq(ad_revenue),
            royalty_periods::pool_cents.eq(pool_cents),
            royalty_periods::carried_micro_cents.eq(carried),
            royalty_periods::closed_at.eq(Some(booked_at)),
        ))
        .execute(connection)?;
    tracing::info!(period = %period, pool_cents, carried_micro_cents = carried, artists = weights.len(), "period closed");
    Ok(())
}

fn post_close(
    connection: &mut DbConnection,
    period: Period,
    kind: TransactionKind,
    booked_at: NaiveDateTime,
    lines: Vec<PostingLine>,
) -> Result<(), RoyaltyError> {
    ledger::post(connection, Posting {
        idempotency_key: format!("close:{period}:{}", kind.as_str()),
        kind,
        source_id: period.to_string(),
        period,
        reverses_transaction_id: None,
        booked_at,
        lines,
    })?;
    Ok(())
}

/// Per artist id: plays in the period, and weight in the pool (artists without weight absent).
struct PeriodWeights {
    play_counts: BTreeMap<String, i64>,
    weights: BTreeMap<String, u64>,
}

/// Each artist's plays in the period and weight in the pool. Pro-rata: the weight is their
/// plays. User-centric: the micro-cents of installer revenue attributed to them (each
/// installer's revenue split over the artists they played by largest remainder, in SQL), plus
/// their pro-rata part of the revenue nobody's plays claimed (installers who played nothing,
/// carried micro-cents). Negative unattributed revenue (clawbacks after a close) shrinks the
/// pool without changing the proportions.
fn artist_weights(
    connection: &mut DbConnection,
    period: Period,
    model: AllocationModel,
    ad_revenue: i64,
) -> Result<PeriodWeights, RoyaltyError> {
    let sql = match model {
        AllocationModel::ProRata => PLAYS_PER_ARTIST_SQL,
        AllocationModel::UserCentric => USER_CENTRIC_WEIGHTS_SQL,
    };
    let rows: Vec<ArtistWeightRow> = diesel::sql_query(sql).bind::<Text, _>(period.to_string()).load(connection)?;
    let mut play_counts = BTreeMap::new();
    let mut play_weights = Vec::with_capacity(rows.len());
    let mut weights = BTreeMap::new();
    let mut attributed_total = 0_i64;
    for row in rows {
        let plays = u64::try_from(row.plays).map_err(|_| RoyaltyError::CorruptRow(format!("negative plays for {}", row.artist_id)))?;
        let weight = u64::try_from(row.weight).map_err(|_| RoyaltyError::CorruptRow(format!("negative weight for {}", row.artist_id)))?;
        attributed_total = attributed_total.checked_add(row.weight).ok_or(RoyaltyError::Overflow)?;
        if plays > 0 {
            play_weights.push((row.artist_id.clone(), plays));
        }
        play_counts.insert(row.artist_id.clone(), row.plays);
        weights.insert(row.artist_id, weight);
    }
    if model == AllocationModel::ProRata {
        return Ok(PeriodWeights { play_counts, weights: play_weights.into_iter().collect() });
    }
    let unattributed = ad_revenue - attributed_total;
    if unattributed > 0 && !play_weights.is_empty() {
        for (artist_id, part) in largest_remainder(unattributed, &play_weights)? {
            let entry = weights.entry(artist_id).or_insert(0);
            *entry = entry.checked_add(u64::try_from(part).unwrap_or(0)).ok_or(RoyaltyError::Overflow)?;
        }
    }
    weights.retain(|_, weight| *weight > 0);
    Ok(PeriodWeights { play_counts, weights })
}

/// Per artist, the period's plays (redemptions weighted); the weight is the plays.
const PLAYS_PER_ARTIST_SQL: &str = "
SELECT artist_id, CAST(SUM(weight) AS BIGINT) AS plays, CAST(SUM(weight) AS BIGINT) AS weight
FROM royalty_plays WHERE period = $1
GROUP BY artist_id
ORDER BY artist_id";

/// Per artist, the period's plays and the micro-cents of installer revenue their listeners'
/// plays claim, in one pass over the plays. Each installer's revenue R is split over the
/// artists they played by plays p (of P in all): floor(R·p/P) each, computed as
/// q·p + floor(r·p/P) with R = q·P + r so nothing overflows, and the leftover units go to the
/// largest remainders (r·p mod P), ties to the smaller artist id. Listeners without positive
/// revenue contribute plays but no weight.
const USER_CENTRIC_WEIGHTS_SQL: &str = "
WITH revenue AS (
    SELECT installer_id, CAST(SUM(amount_micro_cents) AS BIGINT) AS revenue
    FROM royalty_ad_revenue WHERE period = $1 AND installer_id IS NOT NULL
    GROUP BY installer_id
),
played AS (
    SELECT listener_id, artist_id, CAST(SUM(weight) AS BIGINT) AS plays
    FROM royalty_plays WHERE period = $1
    GROUP BY listener_id, artist_id
),
joined AS (
    SELECT played.listener_id, played.artist_id, played.plays,
           CASE WHEN revenue.revenue > 0 THEN revenue.revenue ELSE 0 END AS revenue,
           CAST(SUM(played.plays) OVER (PARTITION BY played.listener_id) AS BIGINT) AS listener_plays
    FROM played LEFT JOIN revenue ON revenue.installer_id = played.listener_id
),
shares AS (
    SELECT listener_id, artist_id, plays, revenue,
           (revenue / listener_plays) * plays + ((revenue % listener_plays) * plays) / listener_plays AS base,
           ((revenue % listener_plays) * plays) % listener_plays AS remainder
    FROM joined
),
ranked AS (
    SELECT artist_id, plays, base,
           ROW_NUMBER() OVER by_remainder AS position,
           revenue - SUM(base) OVER by_remainder AS leftover
    FROM shares
    -- One window (one sort) for both: the frame spans the whole partition for the sum.
    WINDOW by_remainder AS (PARTITION BY listener_id ORDER BY remainder DESC, artist_id
                            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
SELECT artist_id, CAST(SUM(plays) AS BIGINT) AS plays,
       CAST(SUM(base + CASE WHEN position <= leftover THEN 1 ELSE 0 END) AS BIGINT) AS weight
FROM ranked
GROUP BY artist_id
ORDER BY artist_id";

/// The summary of a closed period, from what was stored when it closed.
fn closed_summary(connection: &mut DbConnection, period: Period, already_closed: bool) -> Result<PeriodClose, RoyaltyError> {
    let (model, ad_revenue, pool_cents, carried): (Option<String>, i64, i64, i64) = royalty_periods::table
        .find(period.to_string())
        .select((
            royalty_periods::allocation_model,
            royalty_periods::ad_revenue_micro_cents,
            royalty_periods::pool_cents,
            royalty_periods::carried_micro_cents,
        ))
        .first(connection)?;
    let allocations: Vec<i64> = royalty_ad_allocations::table
        .filter(royalty_ad_allocations::period.eq(period.to_string()))
        .select(royalty_ad_allocations::amount_cents)
        .load(connection)?;
    let artists_total: i64 = allocations.iter().sum();
    Ok(PeriodClose {
        period,
        model: AllocationModel::parse(model.as_deref().unwrap_or_default())?,
        ad_revenue: MicroCents(ad_revenue),
        pool: Cents(pool_cents),
        artists_total: Cents(artists_total),
        platform: Cents(pool_cents - artists_total),
        carried: MicroCents(carried),
        artists_allocated: allocations.iter().filter(|amount| **amount > 0).count(),
        already_closed,
    })
}
