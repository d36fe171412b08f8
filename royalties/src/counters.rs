//! Running totals per period that the close reads instead of every play and every impression:
//! plays per (listener, artist) and per artist, and ad revenue per installer. Each `record_*`
//! call adds to them in the same transaction as the event it records, only when the event is
//! new, so they always equal the sums over the recorded events (migration
//! `2026-11-21-000008_royalty_counters` filled them from the events recorded before).
//!
//! The per-artist row is the only one many writers share (every play of a popular artist), so
//! it is updated last, just before the recording transaction commits, holding its row lock on
//! PostgreSQL for as short a time as possible.

use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Text};
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, MicroCents, UserId};

use crate::RoyaltyError;
use crate::period::Period;

/// Adds a play (or a redemption's weight) of `artist` by `listener` in `period`.
pub(crate) fn add_play(
    connection: &mut DbConnection,
    period: Period,
    listener: UserId,
    artist: ArtistId,
    weight: i64,
) -> Result<(), RoyaltyError> {
    diesel::sql_query(
        "INSERT INTO royalty_play_counts (period, listener_id, artist_id, plays) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (period, listener_id, artist_id) DO UPDATE SET plays = royalty_play_counts.plays + excluded.plays",
    )
    .bind::<Text, _>(period.to_string())
    .bind::<Text, _>(listener.to_string())
    .bind::<Text, _>(artist.to_string())
    .bind::<BigInt, _>(weight)
    .execute(connection)?;
    diesel::sql_query(
        "INSERT INTO royalty_artist_plays (period, artist_id, plays) VALUES ($1, $2, $3) \
         ON CONFLICT (period, artist_id) DO UPDATE SET plays = royalty_artist_plays.plays + excluded.plays",
    )
    .bind::<Text, _>(period.to_string())
    .bind::<Text, _>(artist.to_string())
    .bind::<BigInt, _>(weight)
    .execute(connection)?;
    Ok(())
}

/// Adds ad revenue (negative for a clawback) an installer earned in `period`.
pub(crate) fn add_installer_revenue(
    connection: &mut DbConnection,
    period: Period,
    installer_id: &str,
    amount: MicroCents,
) -> Result<(), RoyaltyError> {
    diesel::sql_query(
        "INSERT INTO royalty_installer_revenue (period, installer_id, revenue_micro_cents) VALUES ($1, $2, $3) \
         ON CONFLICT (period, installer_id) DO UPDATE \
         SET revenue_micro_cents = royalty_installer_revenue.revenue_micro_cents + excluded.revenue_micro_cents",
    )
    .bind::<Text, _>(period.to_string())
    .bind::<Text, _>(installer_id)
    .bind::<BigInt, _>(amount.0)
    .execute(connection)?;
    Ok(())
}
