//! Play sessions. A play qualifies when the listener has heard at least `qualifying_ms`
//! (30 s) — as reported by the player, but never more than the server's own clock allows while
//! the session was open, nor more than the audio the server delivered through the session's own
//! stream link (distinct bytes, mapped to time through the file's size and the track's duration)
//! — at most `plays_per_listener_track_day_max` times a UTC day for one listener and track; an
//! artist's plays of their own tracks never qualify. A listener has at most
//! `open_plays_per_listener_max` sessions open: starting one more ends the oldest, whose clock
//! stops there. Qualifying plays are recorded in the royalty ledger, exactly once per session.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::UserId;

use crate::error::ApiError;
use crate::schema::{play_deliveries, play_sessions};

/// Latency between the player's clock and ours that a report may be ahead by.
pub const CLOCK_SLACK_MS: u64 = 2_000;

/// Responses a session's stream link may record; a player makes a handful (the first fetch and
/// one per seek), so more than this is not a player, and what it fetches is not counted.
pub const DELIVERIES_PER_PLAY_MAX: i64 = 256;

#[derive(Debug, Clone, Copy)]
pub struct PlayRules {
    pub qualifying_ms: u64,
    pub plays_per_listener_track_day_max: u32,
}

/// What the server believes has been heard: the report, bounded by the time the session was
/// open and by the audio delivered for it.
pub fn credited_position_ms(reported_ms: u64, open_ms: u64, delivered_ms: u64) -> u64 {
    reported_ms
        .min(open_ms.saturating_add(CLOCK_SLACK_MS))
        .min(delivered_ms)
}

/// The bytes covered by `ranges` (each `[first, end)`), counting overlaps once.
pub fn distinct_bytes(mut ranges: Vec<(u64, u64)>) -> u64 {
    ranges.sort_unstable();
    let mut total = 0_u64;
    let mut covered_to = 0_u64;
    for (first, end) in ranges {
        let first = first.max(covered_to);
        if end > first {
            total = total.saturating_add(end - first);
            covered_to = end;
        }
    }
    total
}

/// The playing time that `bytes` of a file of `file_bytes` holds, for a track of `duration_ms`.
pub fn delivered_ms(bytes: u64, file_bytes: u64, duration_ms: u64) -> u64 {
    if file_bytes == 0 {
        return 0;
    }
    let time = u128::from(bytes.min(file_bytes)) * u128::from(duration_ms) / u128::from(file_bytes);
    u64::try_from(time).unwrap_or(duration_ms)
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

/// Starts a session; call inside a write transaction. Ends the listener's oldest open sessions
/// so that at most `open_plays_max` (at least one) stay open, this one included.
pub fn start(
    connection: &mut DbConnection,
    listener: UserId,
    media: &catalog::tracks::TrackMedia,
    own_track: bool,
    open_plays_max: u32,
    now: NaiveDateTime,
) -> Result<StartedPlay, ApiError> {
    let still_open: Vec<String> = play_sessions::table
        .filter(play_sessions::listener_id.eq(listener.to_string()))
        .filter(play_sessions::ended_at.is_null())
        .order((play_sessions::started_at.desc(), play_sessions::id.desc()))
        .select(play_sessions::id)
        .offset(i64::from(open_plays_max.max(1) - 1))
        .load(connection)?;
    diesel::update(play_sessions::table.filter(play_sessions::id.eq_any(&still_open)))
        .set(play_sessions::ended_at.eq(now))
        .execute(connection)?;
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
            play_sessions::file_bytes.eq(i64::try_from(media.size_bytes).unwrap_or(i64::MAX)),
            play_sessions::duration_ms.eq(i64::try_from(media.duration_ms).unwrap_or(i64::MAX)),
        ))
        .execute(connection)?;
    Ok(StartedPlay { id })
}

/// A session that a stream link may serve: its track, while it is open.
pub struct StreamablePlay {
    pub track_id: String,
}

/// The listener's session `play_id` for streaming; another listener's session is not found, and
/// an ended one is gone.
pub fn streamable(
    connection: &mut DbConnection,
    listener: UserId,
    play_id: &str,
) -> Result<StreamablePlay, ApiError> {
    let (track_id, ended_at): (String, Option<NaiveDateTime>) = play_sessions::table
        .find(play_id)
        .filter(play_sessions::listener_id.eq(listener.to_string()))
        .select((play_sessions::track_id, play_sessions::ended_at))
        .first(connection)
        .optional()?
        .ok_or_else(|| ApiError::not_found("play not found"))?;
    if ended_at.is_some() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::GONE,
            "play_ended",
            "this play ended when another one started; start it again",
        ));
    }
    Ok(StreamablePlay { track_id })
}

/// Records that the bytes `[first_byte, end_byte)` of the session's file were served through
/// its stream link; beyond [`DELIVERIES_PER_PLAY_MAX`] responses nothing more is recorded.
pub fn record_delivery(
    connection: &mut DbConnection,
    play_id: &str,
    first_byte: u64,
    end_byte: u64,
    now: NaiveDateTime,
) -> Result<(), diesel::result::Error> {
    if end_byte <= first_byte {
        return Ok(());
    }
    let recorded: i64 = play_deliveries::table
        .filter(play_deliveries::play_id.eq(play_id))
        .count()
        .get_result(connection)?;
    if recorded >= DELIVERIES_PER_PLAY_MAX {
        return Ok(());
    }
    diesel::insert_into(play_deliveries::table)
        .values((
            play_deliveries::id.eq(uuid::Uuid::now_v7().to_string()),
            play_deliveries::play_id.eq(play_id),
            play_deliveries::first_byte.eq(i64::try_from(first_byte).unwrap_or(i64::MAX)),
            play_deliveries::end_byte.eq(i64::try_from(end_byte).unwrap_or(i64::MAX)),
            play_deliveries::delivered_at.eq(now),
        ))
        .execute(connection)?;
    Ok(())
}

fn delivered_bytes(
    connection: &mut DbConnection,
    play_id: &str,
) -> Result<u64, diesel::result::Error> {
    let ranges: Vec<(i64, i64)> = play_deliveries::table
        .filter(play_deliveries::play_id.eq(play_id))
        .select((play_deliveries::first_byte, play_deliveries::end_byte))
        .load(connection)?;
    Ok(distinct_bytes(
        ranges
            .into_iter()
            .map(|(first, end)| {
                (
                    u64::try_from(first).unwrap_or(0),
                    u64::try_from(end).unwrap_or(0),
                )
            })
            .collect(),
    ))
}

#[derive(Queryable)]
struct Session {
    track_id: String,
    artist_id: String,
    own_track: bool,
    started_at: NaiveDateTime,
    position_ms: i64,
    qualified_at: Option<NaiveDateTime>,
    file_bytes: i64,
    duration_ms: i64,
    ended_at: Option<NaiveDateTime>,
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
            play_sessions::file_bytes,
            play_sessions::duration_ms,
            play_sessions::ended_at,
        ))
        .first(connection)
        .optional()?
        .ok_or_else(|| ApiError::not_found("play not found"))?;
    let open_until = session.ended_at.map_or(now, |ended_at| ended_at.min(now));
    let open_ms = u64::try_from((open_until - session.started_at).num_milliseconds()).unwrap_or(0);
    let delivered = delivered_ms(
        delivered_bytes(connection, play_id)?,
        u64::try_from(session.file_bytes).unwrap_or(0),
        u64::try_from(session.duration_ms).unwrap_or(0),
    );
    let credited = credited_position_ms(reported_ms, open_ms, delivered)
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
    fn the_server_clock_and_the_delivered_audio_bound_what_is_credited() {
        let cases = [
            // (reported, open for, delivered, credited)
            (30_000, 30_000, 200_000, 30_000),
            (30_000, 5_000, 200_000, 7_000),
            (29_000, 60_000, 200_000, 29_000),
            (u64::MAX, 31_000, 200_000, 33_000),
            (60_000, 60_000, 0, 0),
            (60_000, 60_000, 12_000, 12_000),
            (0, 0, 0, 0),
        ];
        for (reported, open, delivered, credited) in cases {
            assert_eq!(
                credited_position_ms(reported, open, delivered),
                credited,
                "reported {reported} after {open} with {delivered} delivered"
            );
        }
    }

    #[test]
    fn repeated_ranges_count_once() {
        let cases: [(&[(u64, u64)], u64); 7] = [
            (&[], 0),
            (&[(0, 100)], 100),
            (&[(0, 100), (0, 100), (0, 100)], 100),
            (&[(0, 100), (50, 150)], 150),
            (&[(200, 300), (0, 100)], 200),
            (&[(0, 1000), (10, 20), (999, 1000)], 1000),
            (&[(5, 5), (9, 3)], 0),
        ];
        for (ranges, bytes) in cases {
            assert_eq!(distinct_bytes(ranges.to_vec()), bytes, "{ranges:?}");
        }
    }

    #[test]
    fn bytes_map_to_time_through_size_and_duration() {
        let cases = [
            // (bytes, file bytes, duration, time)
            (0, 1_000, 60_000, 0),
            (500, 1_000, 60_000, 30_000),
            (1_000, 1_000, 60_000, 60_000),
            (5_000, 1_000, 60_000, 60_000),
            (1, 0, 60_000, 0),
            (u64::MAX, u64::MAX, u64::MAX, u64::MAX),
        ];
        for (bytes, file_bytes, duration, time) in cases {
            assert_eq!(delivered_ms(bytes, file_bytes, duration), time);
        }
    }
}
