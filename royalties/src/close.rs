//! Closing a period: the period's ad revenue (micro-cents) becomes a pool of whole cents, the
//! leftover micro-cents are carried into the next period, and the pool is split between the
//! artists (90% by default) and the platform, weighted by plays.
//!
//! The close reads running totals (`counters`) rather than every play and impression: plays per
//! artist (the pro-rata weights), and for user-centric weights each installer's revenue with
//! their plays per artist, walked in installer order a batch of installers at a time, so memory
//! does not grow with the number of installers or plays.
//!
//! Crash safety: the close first commits the period as `closing` (new events then go to the
//! next period), then computes and posts everything and marks it `closed` in one transaction.
//! A crash rolls that transaction back; running the close again redoes it, exactly once.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use megabox_database::{DbConnection, write_transaction};
use megabox_domain::{Cents, MicroCents};

use crate::ledger::{self, Account, Posting, PostingLine, TransactionKind, micro};
use crate::period::{Period, PeriodStatus, booking_period, lock_period_status};
use crate::revenue::insert_ad_revenue;
use crate::schema::{
    royalty_ad_allocations, royalty_artist_plays, royalty_installer_revenue, royalty_periods,
};
use crate::split::largest_remainder;
use crate::{RoyaltyError, RoyaltySettings, parse_artist};
use megabox_database::batch_insert::{OnConflict, SqlValue, insert_rows};

const MICRO_CENTS_PER_CENT: i64 = 1_000_000;
/// Installers whose revenue is split per round trip; their plays per artist are read together.
const INSTALLERS_PER_BATCH: i64 = 20_000;
/// PostgreSQL memory for the close's aggregate (a batch job, one at a time).
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
            other => Err(RoyaltyError::CorruptRow(format!(
                "allocation model {other:?}"
            ))),
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
        let (status, stored_model, artist_share_bps): (String, Option<String>, i64) =
            royalty_periods::table
                .find(period.to_string())
                .select((
                    royalty_periods::status,
                    royalty_periods::allocation_model,
                    royalty_periods::artist_share_bps,
                ))
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
fn allocate(
    connection: &mut DbConnection,
    period: Period,
    model: AllocationModel,
    artist_share_bps: i64,
) -> Result<(), RoyaltyError> {
    let booked_at: NaiveDateTime = megabox_database::now();
    let ad_revenue: TotalRow = diesel::sql_query(
        "SELECT CAST(COALESCE(SUM(amount_micro_cents), 0) AS BIGINT) AS total FROM royalty_ad_revenue WHERE period = $1",
    )
    .bind::<Text, _>(period.to_string())
    .get_result(connection)?;
    let ad_revenue = ad_revenue.total;
    if let DbConnection::Postgresql(_) = connection {
        // The close runs many short range queries; compiling each one costs more than it saves.
        diesel::sql_query("SET LOCAL jit = off").execute(connection)?;
        // The installers' plays are grouped in one hash aggregate; let it stay in memory.
        diesel::sql_query(format!("SET LOCAL work_mem = '{CLOSE_WORK_MEMORY_MB}MB'"))
            .execute(connection)?;
    }
    let PeriodWeights {
        play_counts,
        weights,
    } = artist_weights(connection, period, model, ad_revenue)?;
    let weight_sum: u64 = weights
        .values()
        .try_fold(0_u64, |sum, weight| sum.checked_add(*weight))
        .ok_or(RoyaltyError::Overflow)?;
    // With no plays (or no revenue) there is nobody to pay: everything waits for the next period.
    let pool_cents = if ad_revenue > 0 && weight_sum > 0 {
        ad_revenue.div_euclid(MICRO_CENTS_PER_CENT)
    } else {
        0
    };
    let carried = ad_revenue - micro(pool_cents)?.0;

    let mut parties: Vec<(Party, u64)> = Vec::with_capacity(weights.len() + 1);
    let artist_bps = u64::try_from(artist_share_bps)
        .map_err(|_| RoyaltyError::CorruptRow("negative share".to_owned()))?;
    for (artist_id, weight) in &weights {
        parties.push((
            Party::Artist(artist_id.clone()),
            weight
                .checked_mul(artist_bps)
                .ok_or(RoyaltyError::Overflow)?,
        ));
    }
    let platform_weight = weight_sum
        .checked_mul(10_000 - artist_bps.min(10_000))
        .ok_or(RoyaltyError::Overflow)?;
    parties.push((Party::Platform, platform_weight));
    let shares = largest_remainder(pool_cents, &parties)?;

    if pool_cents > 0 {
        let pool_micro = micro(pool_cents)?;
        post_close(
            connection,
            period,
            TransactionKind::PeriodPool,
            booked_at,
            vec![
                PostingLine {
                    account: Account::AdPending,
                    amount: MicroCents(-pool_micro.0),
                    source_ref: period.to_string(),
                },
                PostingLine {
                    account: Account::AdPool(period),
                    amount: pool_micro,
                    source_ref: period.to_string(),
                },
            ],
        )?;
        let mut lines = vec![PostingLine {
            account: Account::AdPool(period),
            amount: MicroCents(-pool_micro.0),
            source_ref: period.to_string(),
        }];
        for (party, cents) in &shares {
            let account = match party {
                Party::Artist(artist_id) => Account::ArtistPayable(parse_artist(artist_id)?),
                Party::Platform => Account::PlatformRevenue,
            };
            lines.push(PostingLine {
                account,
                amount: micro(*cents)?,
                source_ref: period.to_string(),
            });
        }
        post_close(
            connection,
            period,
            TransactionKind::AdAllocation,
            booked_at,
            lines,
        )?;
    }
    let rows: Vec<Vec<SqlValue>> = shares
        .iter()
        .filter_map(|(party, cents)| match party {
            Party::Artist(artist_id) => Some(vec![
                SqlValue::Text(period.to_string()),
                SqlValue::Text(artist_id.clone()),
                SqlValue::BigInt(
                    i64::try_from(weights.get(artist_id).copied().unwrap_or(0)).unwrap_or(i64::MAX),
                ),
                SqlValue::BigInt(play_counts.get(artist_id).copied().unwrap_or(0)),
                SqlValue::BigInt(*cents),
            ]),
            Party::Platform => None,
        })
        .collect();
    insert_rows(
        connection,
        "royalty_ad_allocations",
        &["period", "artist_id", "weight", "plays", "amount_cents"],
        rows,
        OnConflict::Fail,
    )?;
    if carried != 0 {
        // The carry stays in the pending account; this row books it into the next open period.
        let next = booking_period(connection, period.next().start())?;
        insert_ad_revenue(
            connection,
            &format!("carry:{period}"),
            "carry",
            None,
            None,
            MicroCents(carried),
            next,
            period.next().start(),
        )?;
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
    ledger::post(
        connection,
        Posting {
            idempotency_key: format!("close:{period}:{}", kind.as_str()),
            kind,
            source_id: period.to_string(),
            period,
            reverses_transaction_id: None,
            booked_at,
            lines,
        },
    )?;
    Ok(())
}

/// Per artist id: plays in the period, and weight in the pool (artists without weight absent).
struct PeriodWeights {
    play_counts: BTreeMap<String, i64>,
    weights: BTreeMap<String, u64>,
}

/// Each artist's plays in the period and weight in the pool. Pro-rata: the weight is their
/// plays. User-centric: the micro-cents of installer revenue attributed to them (each
/// installer's revenue split over the artists they played, in proportion to plays, by largest
/// remainder), plus their pro-rata part of the revenue nobody's plays claimed (installers who
/// played nothing, carried micro-cents). Negative unattributed revenue (clawbacks after a
/// close) shrinks the pool without changing the proportions.
fn artist_weights(
    connection: &mut DbConnection,
    period: Period,
    model: AllocationModel,
    ad_revenue: i64,
) -> Result<PeriodWeights, RoyaltyError> {
    let play_counts: BTreeMap<String, i64> = royalty_artist_plays::table
        .filter(royalty_artist_plays::period.eq(period.to_string()))
        .filter(royalty_artist_plays::plays.gt(0))
        .select((royalty_artist_plays::artist_id, royalty_artist_plays::plays))
        .load::<(String, i64)>(connection)?
        .into_iter()
        .collect();
    let play_weights = play_counts
        .iter()
        .map(|(artist_id, plays)| {
            Ok((
                artist_id.clone(),
                u64::try_from(*plays).map_err(|_| RoyaltyError::Overflow)?,
            ))
        })
        .collect::<Result<Vec<(String, u64)>, RoyaltyError>>()?;
    if model == AllocationModel::ProRata {
        return Ok(PeriodWeights {
            play_counts,
            weights: play_weights.into_iter().collect(),
        });
    }
    let (mut weights, attributed_total) = installer_shares(connection, period)?;
    let unattributed = ad_revenue - attributed_total;
    if unattributed > 0 && !play_weights.is_empty() {
        for (artist_id, part) in largest_remainder(unattributed, &play_weights)? {
            let entry = weights.entry(artist_id).or_insert(0);
            *entry = entry
                .checked_add(u64::try_from(part).unwrap_or(0))
                .ok_or(RoyaltyError::Overflow)?;
        }
    }
    weights.retain(|_, weight| *weight > 0);
    Ok(PeriodWeights {
        play_counts,
        weights,
    })
}

/// The user-centric part of the weights: each installer with positive revenue who played
/// something has that revenue split over the artists they played by their plays (largest
/// remainder, ties to the smaller artist id). Returns the micro-cents per artist and their sum.
/// Installers and their plays are read in id order, a batch of installers at a time.
fn installer_shares(
    connection: &mut DbConnection,
    period: Period,
) -> Result<(BTreeMap<String, u64>, i64), RoyaltyError> {
    let mut weights: HashMap<String, u64> = HashMap::new();
    let mut attributed_total = 0_i64;
    if let DbConnection::Postgresql(_) = connection {
        // One pass through a cursor: range queries per batch cost PostgreSQL a heap scan and a
        // sort each. The period is a validated `YYYY-MM`, safe to write into the statement.
        diesel::sql_query(
            format!("DECLARE close_installer_plays NO SCROLL CURSOR FOR {INSTALLER_PLAYS_SQL}")
                .replace("$1", &format!("'{period}'")),
        )
        .execute(connection)?;
        loop {
            let rows: Vec<InstallerPlaysRow> = diesel::sql_query(format!(
                "FETCH {INSTALLERS_PER_BATCH} FROM close_installer_plays"
            ))
            .load(connection)?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                split_installer(row.revenue, &row.plays, &mut weights)?;
                attributed_total = attributed_total
                    .checked_add(row.revenue)
                    .ok_or(RoyaltyError::Overflow)?;
            }
        }
        diesel::sql_query("CLOSE close_installer_plays").execute(connection)?;
        return Ok((weights.into_iter().collect(), attributed_total));
    }
    let period = period.to_string();
    let mut after: Option<String> = None;
    loop {
        let mut query = royalty_installer_revenue::table
            .filter(royalty_installer_revenue::period.eq(&period))
            .filter(royalty_installer_revenue::revenue_micro_cents.gt(0))
            .order(royalty_installer_revenue::installer_id)
            .limit(INSTALLERS_PER_BATCH)
            .select((
                royalty_installer_revenue::installer_id,
                royalty_installer_revenue::revenue_micro_cents,
            ))
            .into_boxed();
        if let Some(after) = &after {
            query = query.filter(royalty_installer_revenue::installer_id.gt(after.clone()));
        }
        let installers: Vec<(String, i64)> = query.load(connection)?;
        let (Some((first, _)), Some((last, _))) = (installers.first(), installers.last()) else {
            break;
        };
        let played: Vec<ListenerPlaysRow> = diesel::sql_query(LISTENER_PLAYS_SQL)
            .bind::<Text, _>(&period)
            .bind::<Text, _>(first)
            .bind::<Text, _>(last)
            .load(connection)?;
        // Both lists are in listener id order: walk them together.
        let mut rest = played.as_slice();
        for (installer_id, revenue) in &installers {
            let skipped = rest.partition_point(|row| row.listener_id < *installer_id);
            rest = &rest[skipped..];
            let Some((row, later)) = rest
                .split_first()
                .filter(|(row, _)| row.listener_id == *installer_id)
            else {
                continue;
            };
            rest = later;
            split_installer(*revenue, &row.plays, &mut weights)?;
            attributed_total = attributed_total
                .checked_add(*revenue)
                .ok_or(RoyaltyError::Overflow)?;
        }
        after = Some(last.clone());
    }
    Ok((weights.into_iter().collect(), attributed_total))
}

/// Splits one installer's revenue over the artists of `plays` (`artist:plays,…`) into `weights`.
fn split_installer(
    revenue: i64,
    plays: &str,
    weights: &mut HashMap<String, u64>,
) -> Result<(), RoyaltyError> {
    let parts = plays
        .split(',')
        .map(|part| {
            let (artist_id, plays) = part
                .rsplit_once(':')
                .ok_or_else(|| RoyaltyError::CorruptRow(format!("plays {part:?}")))?;
            Ok((
                artist_id,
                plays
                    .parse::<u64>()
                    .map_err(|_| RoyaltyError::CorruptRow(format!("plays {part:?}")))?,
            ))
        })
        .collect::<Result<Vec<(&str, u64)>, RoyaltyError>>()?;
    for (artist_id, part) in largest_remainder(revenue, &parts)? {
        let part = u64::try_from(part).map_err(|_| RoyaltyError::Overflow)?;
        match weights.get_mut(artist_id) {
            Some(weight) => *weight = weight.checked_add(part).ok_or(RoyaltyError::Overflow)?,
            None => {
                weights.insert(artist_id.to_owned(), part);
            }
        }
    }
    Ok(())
}

#[derive(QueryableByName)]
struct InstallerPlaysRow {
    #[diesel(sql_type = BigInt)]
    revenue: i64,
    #[diesel(sql_type = Text)]
    plays: String,
}

/// Every installer with positive revenue who played something, with their plays per artist,
/// in no particular order (each installer's split is independent of the others).
const INSTALLER_PLAYS_SQL: &str = "
SELECT revenue.revenue_micro_cents AS revenue,
       string_agg(counts.artist_id || ':' || CAST(counts.plays AS TEXT), ',') AS plays
FROM royalty_installer_revenue AS revenue
JOIN royalty_play_counts AS counts ON counts.period = revenue.period AND counts.listener_id = revenue.installer_id
WHERE revenue.period = $1 AND revenue.revenue_micro_cents > 0
GROUP BY revenue.installer_id, revenue.revenue_micro_cents";

#[derive(QueryableByName)]
struct ListenerPlaysRow {
    #[diesel(sql_type = Text)]
    listener_id: String,
    /// `artist:plays,artist:plays,…` in no particular order (a split does not depend on it).
    #[diesel(sql_type = Text)]
    plays: String,
}

/// The plays per artist of the listeners in a range of ids, one row per listener: fetching one
/// row per (listener, artist) would cost the client far more than the database's aggregate.
/// Artist ids are UUIDs, so the separators cannot occur in them.
const LISTENER_PLAYS_SQL: &str = "
SELECT listener_id, string_agg(artist_id || ':' || CAST(plays AS TEXT), ',') AS plays
FROM royalty_play_counts WHERE period = $1 AND listener_id BETWEEN $2 AND $3
GROUP BY listener_id ORDER BY listener_id";

/// The summary of a closed period, from what was stored when it closed.
fn closed_summary(
    connection: &mut DbConnection,
    period: Period,
    already_closed: bool,
) -> Result<PeriodClose, RoyaltyError> {
    let (model, ad_revenue, pool_cents, carried): (Option<String>, i64, i64, i64) =
        royalty_periods::table
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
