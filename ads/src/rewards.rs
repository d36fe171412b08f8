//! What an installer earns (DESIGN.md §3.3): free streaming while the agent is active — enough
//! accepted impressions on the account's devices over the last 7 days — and one download credit
//! per `impressions_per_credit` accepted impressions, spent through [`redeem_credit`]. A flagged
//! account earns neither: its agent is not active and it has no credits left to spend.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use megabox_database::{DbConnection, write_transaction};
use megabox_domain::{ArtistId, TrackId, UserId};
use royalties::RoyaltySettings;

use crate::flags::is_account_flagged;
use crate::schema::{ads_daily_counts, ads_installer_credits, ads_redemptions};
use crate::settle::record_pending_redemptions;
use crate::{AdsError, AdsSettings, day_of};

/// The window of the agent-active rule, in days (today included).
const AGENT_ACTIVE_WINDOW_DAYS: i64 = 7;

/// Why an account streams for free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FreeTierReason {
    /// The operator switched the free tier on for the account (it does not lapse, so it is
    /// reported first when both hold).
    Operator,
    /// The account's agents reported enough accepted impressions in the last 7 days.
    AgentActive,
}

/// The free-tier rule, the one both the installer's status and the storefront's stream check
/// use: the operator's switch, or an active agent.
fn free_tier_rule(operator_granted: bool, agent_active: bool) -> Option<FreeTierReason> {
    if operator_granted {
        Some(FreeTierReason::Operator)
    } else if agent_active {
        Some(FreeTierReason::AgentActive)
    } else {
        None
    }
}

/// The installer page's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct InstallerStatus {
    /// Free streaming is on, and why; `None` when it is off.
    pub free_tier: Option<FreeTierReason>,
    /// The account's agents reported enough in the last 7 days (one way into the free tier).
    pub agent_active: bool,
    pub accepted_impressions_7d: i64,
    pub impressions_today: i64,
    pub credits_available: i64,
    pub credits_earned: i64,
}

/// A spent download credit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Redemption {
    pub redemption_id: String,
    pub track: TrackId,
    pub artist: ArtistId,
    pub credits_available: i64,
}

fn impressions_per_credit(settings: &AdsSettings) -> Result<i64, AdsError> {
    if settings.impressions_per_credit <= 0 {
        return Err(AdsError::InvalidInput(
            "impressions_per_credit must be positive".to_owned(),
        ));
    }
    Ok(settings.impressions_per_credit)
}

/// The account's rewards. `operator_granted` is the operator's free-tier switch for the account
/// (kept with the account, outside this crate).
pub fn installer_status(
    connection: &mut DbConnection,
    user: UserId,
    operator_granted: bool,
    now: NaiveDateTime,
    settings: &AdsSettings,
) -> Result<InstallerStatus, AdsError> {
    let per_credit = impressions_per_credit(settings)?;
    let today = day_of(now);
    let days: Vec<String> = (0..AGENT_ACTIVE_WINDOW_DAYS)
        .map(|back| day_of(now - chrono::TimeDelta::days(back)))
        .collect();
    let counts: Vec<(String, i64)> = ads_daily_counts::table
        .filter(ads_daily_counts::scope.eq("account"))
        .filter(ads_daily_counts::subject.eq(user.to_string()))
        .filter(ads_daily_counts::day.eq_any(&days))
        .select((ads_daily_counts::day, ads_daily_counts::impressions))
        .load(connection)?;
    let accepted_impressions_7d = counts.iter().map(|(_, impressions)| impressions).sum();
    let impressions_today = counts
        .iter()
        .filter(|(day, _)| *day == today)
        .map(|(_, impressions)| impressions)
        .sum();
    let credits: Option<(i64, i64)> = ads_installer_credits::table
        .find(user.to_string())
        .select((
            ads_installer_credits::impressions_total,
            ads_installer_credits::credits_redeemed,
        ))
        .first(connection)
        .optional()?;
    let (impressions_total, credits_redeemed) = credits.unwrap_or((0, 0));
    let credits_earned = impressions_total / per_credit;
    let flagged = is_account_flagged(connection, user)?;
    let agent_active =
        !flagged && accepted_impressions_7d >= settings.agent_active_impressions_7d_min;
    Ok(InstallerStatus {
        free_tier: free_tier_rule(operator_granted, agent_active),
        agent_active,
        accepted_impressions_7d,
        impressions_today,
        credits_available: if flagged {
            0
        } else {
            (credits_earned - credits_redeemed).max(0)
        },
        credits_earned,
    })
}

/// Whether, and why, the account streams for free (the storefront's entitlement check; the same
/// answer as [`InstallerStatus::free_tier`]). The operator's switch needs no further query.
pub fn free_tier(
    connection: &mut DbConnection,
    user: UserId,
    operator_granted: bool,
    now: NaiveDateTime,
    settings: &AdsSettings,
) -> Result<Option<FreeTierReason>, AdsError> {
    if operator_granted {
        return Ok(free_tier_rule(true, false));
    }
    Ok(installer_status(connection, user, operator_granted, now, settings)?.free_tier)
}

/// Spends one download credit on `track` by `artist`, and records the redemption in royalties
/// (weighted as `plays_per_redemption` plays) in the same transaction. The credit is taken by one
/// conditional update, so concurrent redemptions can never spend more credits than were earned,
/// nor any after the account was flagged.
/// Run it inside the caller's write transaction that grants the download (it nests as a
/// savepoint), so a crash leaves either all of it or none.
pub fn redeem_credit(
    connection: &mut DbConnection,
    user: UserId,
    track: TrackId,
    artist: ArtistId,
    now: NaiveDateTime,
    settings: &AdsSettings,
    royalty_settings: &RoyaltySettings,
) -> Result<Redemption, AdsError> {
    let per_credit = impressions_per_credit(settings)?;
    let redemption_id = uuid::Uuid::now_v7().to_string();
    let credits_available = write_transaction(connection, |connection| {
        let taken = diesel::sql_query(
            "UPDATE ads_installer_credits SET credits_redeemed = credits_redeemed + 1 \
             WHERE user_id = $1 AND impressions_total / $2 - credits_redeemed >= 1 \
             AND NOT EXISTS (SELECT 1 FROM ads_flags WHERE kind = 'account' AND subject_id = $1)",
        )
        .bind::<Text, _>(user.to_string())
        .bind::<BigInt, _>(per_credit)
        .execute(connection)?;
        if taken == 0 {
            return Err(AdsError::NoCreditAvailable);
        }
        diesel::insert_into(ads_redemptions::table)
            .values((
                ads_redemptions::id.eq(&redemption_id),
                ads_redemptions::user_id.eq(user.to_string()),
                ads_redemptions::track_id.eq(track.to_string()),
                ads_redemptions::artist_id.eq(artist.to_string()),
                ads_redemptions::redeemed_at.eq(now),
            ))
            .execute(connection)?;
        let (impressions_total, credits_redeemed): (i64, i64) = ads_installer_credits::table
            .find(user.to_string())
            .select((
                ads_installer_credits::impressions_total,
                ads_installer_credits::credits_redeemed,
            ))
            .first(connection)?;
        record_pending_redemptions(connection, Some(user), now, royalty_settings)?;
        Ok(impressions_total / per_credit - credits_redeemed)
    })?;
    Ok(Redemption {
        redemption_id,
        track,
        artist,
        credits_available,
    })
}

/// One spent credit as the installer's history shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RedemptionRecord {
    pub redemption_id: String,
    pub track: TrackId,
    pub artist: ArtistId,
    pub redeemed_at: NaiveDateTime,
}

/// The installer's redemptions, newest first.
pub fn list_redemptions(
    connection: &mut DbConnection,
    user: UserId,
) -> Result<Vec<RedemptionRecord>, AdsError> {
    let rows: Vec<(String, String, String, NaiveDateTime)> = ads_redemptions::table
        .filter(ads_redemptions::user_id.eq(user.to_string()))
        .select((
            ads_redemptions::id,
            ads_redemptions::track_id,
            ads_redemptions::artist_id,
            ads_redemptions::redeemed_at,
        ))
        .order((
            ads_redemptions::redeemed_at.desc(),
            ads_redemptions::id.desc(),
        ))
        .load(connection)?;
    rows.into_iter()
        .map(|(redemption_id, track, artist, redeemed_at)| {
            Ok(RedemptionRecord {
                track: track
                    .parse()
                    .map_err(|_| AdsError::CorruptRow(format!("track id {track:?}")))?,
                artist: artist
                    .parse()
                    .map_err(|_| AdsError::CorruptRow(format!("artist id {artist:?}")))?,
                redemption_id,
                redeemed_at,
            })
        })
        .collect()
}
