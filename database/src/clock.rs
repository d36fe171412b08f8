//! The current time as both databases store it: UTC, to the microsecond (PostgreSQL's
//! `timestamp` precision), so a time written and read back compares equal on either backend.
//! Domain code takes `now` as an argument; this is where the edges (handlers, jobs, record
//! calls without a caller-given time) read the clock.

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// Now, in UTC, truncated to whole microseconds.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    #[test]
    fn is_utc_to_the_microsecond() {
        let before = Utc::now().naive_utc();
        let now = now();
        assert_eq!(now.nanosecond() % 1_000, 0);
        assert!((now - before).num_seconds().abs() < 5);
    }
}
