//! Play sessions. A play qualifies when the listener has heard at least `qualifying_ms`
//! (30 s) — as reported by the player, but never more than the server's own clock allows since
//! the session started — at most `plays_per_listener_track_day_max` times a UTC day for one
//! listener and track; an artist's plays of their own tracks never qualify. Qualifying plays
//! are recorded in the royalty ledger, exactly once per session.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::UserId;

use crate::error::ApiError;
use crate::schema::play_sessions;

/// Latency between the player's clock and ours that a report may be ahead by.
pub const CLOCK_SLACK_MS: u64 = 2_000;

#[derive(Debug, Clone, Copy)]
pub struct PlayRules {
    pub qualifying_ms: u64,
    pub plays_per_listener_track_day_max: u32,
}

/// What the server believes has been heard: the report, bounded by the time since the start.
pub fn credited_position_ms(reported_ms: u64, elapsed_ms: u64) -> u64 {
    reported_ms.min(elapsed_ms.saturating_add(CLOCK_SLACK_MS))
}

/// Why a play did not qualify (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotQualified {
    /// Less than the qualifying time credited so far.
    TooShort,
    /// The listener is the track's artist.
    OwnTrack,
    /// This listener already has the day's maximum of qualifying plays of this track.
    DailyCapReached,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub credited_position_ms: u64,
    pub qualified: bool,
    pub not_qualified: Option<NotQualified>,
}

pub struct StartedPlay {
    pub id: String,
}

pub fn start(
    connection: &mut DbConnection,
    listener: UserId,
    media: &catalog::tracks::TrackMedia,
    own_track: bool,
    now: NaiveDateTime,
) -> Result<StartedPlay, ApiError> {
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(play_sessions::table)
        .values((
            play_sessions::id.eq(&id),
            play_sessions::listener_id.eq(listener.to_string()),
            play_sessions::track_id.eq(media.track_id.to_string()),
            play_sessions::artist_id.eq(media.artist_id.to_string()),
            play_sessions::own_track.eq(own_track),
            play_sessions::started_at.eq(now),
            play_sessions::position_ms.eq(0_i64),
        ))
        .execute(connection)?;
    Ok(StartedPlay { id })
}

#[derive(Queryable)]
struct Session {
    track_id: String,
    artist_id: String,
    own_track: bool,
    started_at: NaiveDateTime,
    position_ms: i64,
    qualified_at: Option<NaiveDateTime>,
}

/// Records a position report; call inside a write transaction. Another listener's session is
/// not found.
pub fn report(
    connection: &mut DbConnection,
    listener: UserId,
    play_id: &str,
    reported_ms: u64,
    now: NaiveDateTime,
    rules: PlayRules,
) -> Result<Progress, ApiError> {
    let session: Session = play_sessions::table
        .find(play_id)
        .filter(play_sessions::listener_id.eq(listener.to_string()))
        .select((
            play_sessions::track_id,
            play_sessions::artist_id,
            play_sessions::own_track,
            play_sessions::started_at,
            play_sessions::position_ms,
            play_sessions::qualified_at,
        ))
        .first(connection)
        .optional()?
        .ok_or_else(|| ApiError::not_found("play not found"))?;
    let elapsed_ms = u64::try_from((now - session.started_at).num_milliseconds()).unwrap_or(0);
    let credited = credited_position_ms(reported_ms, elapsed_ms)
        .max(u64::try_from(session.position_ms).unwrap_or(0));
    diesel::update(play_sessions::table.find(play_id))
        .set(play_sessions::position_ms.eq(i64::try_from(credited).unwrap_or(i64::MAX)))
        .execute(connection)?;
    if session.qualified_at.is_some() {
        return Ok(Progress {
            credited_position_ms: credited,
            qualified: true,
            not_qualified: None,
        });
    }
    let not_qualified = if session.own_track {
        Some(NotQualified::OwnTrack)
    } else if credited < rules.qualifying_ms {
        Some(NotQualified::TooShort)
    } else if qualified_today(connection, listener, &session.track_id, now)?
        >= i64::from(rules.plays_per_listener_track_day_max)
    {
        Some(NotQualified::DailyCapReached)
    } else {
        None
    };
    if not_qualified.is_some() {
        return Ok(Progress {
            credited_position_ms: credited,
            qualified: false,
            not_qualified,
        });
    }
    diesel::update(play_sessions::table.find(play_id))
        .set(play_sessions::qualified_at.eq(now))
        .execute(connection)?;
    let play =
        royalties::PlayInput {
            play_id: play_id.to_owned(),
            listener,
            track: session.track_id.parse().map_err(|_| {
                ApiError::internal(anyhow::anyhow!("corrupt play session {play_id}"))
            })?,
            artist: session.artist_id.parse().map_err(|_| {
                ApiError::internal(anyhow::anyhow!("corrupt play session {play_id}"))
            })?,
            occurred_at: now,
        };
    royalties::record_qualifying_play(connection, &play).map_err(ApiError::internal)?;
    Ok(Progress {
        credited_position_ms: credited,
        qualified: true,
        not_qualified: None,
    })
}

fn qualified_today(
    connection: &mut DbConnection,
    listener: UserId,
    track: &str,
    now: NaiveDateTime,
) -> Result<i64, diesel::result::Error> {
    let day_start = now.date().and_time(chrono::NaiveTime::MIN);
    play_sessions::table
        .filter(play_sessions::listener_id.eq(listener.to_string()))
        .filter(play_sessions::track_id.eq(track))
        .filter(play_sessions::qualified_at.ge(day_start))
        .filter(play_sessions::qualified_at.lt(day_start + TimeDelta::days(1)))
        .count()
        .get_result(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_clock_bounds_what_is_credited() {
        let cases = [
            // (reported, elapsed since start, credited)
            (30_000, 30_000, 30_000),
            (30_000, 5_000, 7_000),
            (29_000, 60_000, 29_000),
            (u64::MAX, 31_000, 33_000),
            (0, 0, 0),
        ];
        for (reported, elapsed, credited) in cases {
            assert_eq!(
                credited_position_ms(reported, elapsed),
                credited,
                "reported {reported} after {elapsed}"
            );
        }
    }
}
