//! Times on the wire. Every response carries RFC 3339 in UTC (`2026-12-02T06:23:50.324660Z`);
//! every request time must be RFC 3339 with an offset (`Z` or `+01:00`), and a naive one is a
//! 422 `invalid_timestamp` that names the field. Inside the server times are UTC `NaiveDateTime`s,
//! as the database stores them; this module is the one place that converts.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::error::ApiError;

/// A stored UTC time as it goes on the wire.
/// Fields hold `chrono::DateTime<Utc>` by name, which utoipa documents as `date-time`; serde
/// writes it as RFC 3339 with `Z`.
pub fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

/// A Unix time (seconds) as it goes on the wire, e.g. a signed link's expiry.
pub fn from_unix(seconds: u64) -> DateTime<Utc> {
    i64::try_from(seconds)
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Parses a request's time: RFC 3339 with an offset, converted to UTC.
pub fn parse(field: &'static str, text: &str) -> Result<NaiveDateTime, ApiError> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|at| at.naive_utc())
        .map_err(|_| {
            ApiError::invalid(
                "invalid_timestamp",
                format!(
                    "{field} must be an RFC 3339 time with an offset, such as 2026-12-02T06:00:00Z"
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_converted_to_utc() {
        let at = parse("starts_at", "2026-12-02T07:30:00+01:00").expect("valid");
        assert_eq!(utc(at).to_rfc3339(), "2026-12-02T06:30:00+00:00");
        assert_eq!(
            serde_json::to_string(&utc(at)).expect("serializes"),
            "\"2026-12-02T06:30:00Z\""
        );
    }

    #[test]
    fn naive_and_malformed_times_name_the_field() {
        for text in ["2026-12-02T06:00:00", "2026-12-02", "yesterday", ""] {
            let error = parse("ends_at", text).expect_err(text);
            assert_eq!(error.code(), "invalid_timestamp");
            assert!(error.to_string().contains("ends_at"), "{text}");
        }
    }

    #[test]
    fn unix_expiries_become_rfc3339() {
        assert_eq!(from_unix(0).to_rfc3339(), "1970-01-01T00:00:00+00:00");
        assert_eq!(from_unix(u64::MAX), DateTime::<Utc>::MAX_UTC);
    }
}
