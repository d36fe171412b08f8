//! Royalty periods: calendar months in UTC, written "2026-11", and the rule that decides which
//! period an event is booked into (its own month, or the next open one if that month is
//! closing or closed).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::QueryableByName;
use diesel::RunQueryDsl;
use megabox_database::DbConnection;

use crate::RoyaltyError;

/// Months far enough ahead that a search for an open period that has not ended is a bug.
const OPEN_PERIOD_SEARCH_MONTHS_MAX: u32 = 1200;
/// Four-digit years keep the text form sortable.
const YEAR_MIN: i32 = 1000;
const YEAR_MAX: i32 = 9999;

/// A calendar month.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    year: i32,
    month: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a period is a month written YYYY-MM (years {YEAR_MIN}–{YEAR_MAX}), not {0:?}")]
pub struct PeriodParseError(String);

impl Period {
    pub fn new(year: i32, month: u32) -> Result<Period, PeriodParseError> {
        if (YEAR_MIN..=YEAR_MAX).contains(&year) && (1..=12).contains(&month) {
            Ok(Period { year, month })
        } else {
            Err(PeriodParseError(format!("{year}-{month}")))
        }
    }

    /// The month an instant falls in.
    pub fn containing(instant: NaiveDateTime) -> Period {
        Period {
            year: instant.year().clamp(YEAR_MIN, YEAR_MAX),
            month: instant.month(),
        }
    }

    pub fn next(self) -> Period {
        if self.month == 12 {
            Period {
                year: (self.year + 1).min(YEAR_MAX),
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Midnight UTC of the first day.
    pub fn start(self) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .unwrap_or_default()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Period {
    type Err = PeriodParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || PeriodParseError(text.to_owned());
        let (year, month) = text.split_once('-').ok_or_else(invalid)?;
        if year.len() != 4
            || month.len() != 2
            || !(year
                .bytes()
                .chain(month.bytes())
                .all(|byte| byte.is_ascii_digit()))
        {
            return Err(invalid());
        }
        Period::new(
            year.parse().map_err(|_| invalid())?,
            month.parse().map_err(|_| invalid())?,
        )
        .map_err(|_| invalid())
    }
}

impl TryFrom<String> for Period {
    type Error = PeriodParseError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Period> for String {
    fn from(period: Period) -> Self {
        period.to_string()
    }
}

/// Where a period is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeriodStatus {
    Open,
    /// A close has begun: new events go to the next period.
    Closing,
    Closed,
}

impl PeriodStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PeriodStatus::Open => "open",
            PeriodStatus::Closing => "closing",
            PeriodStatus::Closed => "closed",
        }
    }

    fn parse(text: &str) -> Result<PeriodStatus, RoyaltyError> {
        match text {
            "open" => Ok(PeriodStatus::Open),
            "closing" => Ok(PeriodStatus::Closing),
            "closed" => Ok(PeriodStatus::Closed),
            other => Err(RoyaltyError::CorruptRow(format!("period status {other:?}"))),
        }
    }
}

#[derive(QueryableByName)]
struct StatusRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
}

/// The period's status, creating it open if it is new. On PostgreSQL the row is share-locked
/// until the caller's transaction ends, so a close (which updates the row) cannot start
/// between this read and the caller's insert of an event into the period.
pub(crate) fn lock_period_status(
    connection: &mut DbConnection,
    period: Period,
) -> Result<PeriodStatus, RoyaltyError> {
    diesel::sql_query("INSERT INTO royalty_periods (period, status) VALUES ($1, 'open') ON CONFLICT (period) DO NOTHING")
        .bind::<diesel::sql_types::Text, _>(period.to_string())
        .execute(connection)?;
    let select = match connection {
        DbConnection::Postgresql(_) => {
            "SELECT status FROM royalty_periods WHERE period = $1 FOR SHARE"
        }
        DbConnection::Sqlite(_) => "SELECT status FROM royalty_periods WHERE period = $1",
    };
    let row: StatusRow = diesel::sql_query(select)
        .bind::<diesel::sql_types::Text, _>(period.to_string())
        .get_result(connection)?;
    PeriodStatus::parse(&row.status)
}

/// The period an event that happened at `occurred_at` is booked into: its month, or the first
/// later month that is still open.
pub(crate) fn booking_period(
    connection: &mut DbConnection,
    occurred_at: NaiveDateTime,
) -> Result<Period, RoyaltyError> {
    let mut period = Period::containing(occurred_at);
    for _ in 0..OPEN_PERIOD_SEARCH_MONTHS_MAX {
        if lock_period_status(connection, period)? == PeriodStatus::Open {
            return Ok(period);
        }
        period = period.next();
    }
    Err(RoyaltyError::NoOpenPeriod {
        after: Period::containing(occurred_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_print_and_advance() {
        let cases = [
            ("2026-11", "2026-12"),
            ("2026-12", "2027-01"),
            ("1999-01", "1999-02"),
        ];
        for (text, next) in cases {
            let period: Period = text
                .parse()
                .unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(period.to_string(), text);
            assert_eq!(period.next().to_string(), next);
            assert_eq!(Period::containing(period.start()), period);
        }
    }

    #[test]
    fn rejects_malformed_periods() {
        for text in [
            "",
            "2026",
            "2026-13",
            "2026-00",
            "2026-1",
            "26-11",
            "2026-11-01",
            "+026-11",
            "2026-1a",
            "0999-12",
        ] {
            assert!(text.parse::<Period>().is_err(), "{text:?}");
        }
    }
}
