//! Typed ids. Every id is a UUID (version 7, so ids sort by creation time) stored as text,
//! which both SQLite and PostgreSQL index the same way.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid id")]
pub struct IdParseError;

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new id, unique and ordered by creation time.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(formatter)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(text).map(Self).map_err(|_| IdParseError)
            }
        }
    };
}

typed_id!(
    /// An account: listener, artist or admin.
    UserId
);
typed_id!(
    /// An artist profile, owned by one user.
    ArtistId
);
typed_id!(
    /// A release (album, EP or single).
    ReleaseId
);
typed_id!(
    /// A track of a release.
    TrackId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_reject_garbage() {
        let id = TrackId::generate();
        assert_eq!(id.to_string().parse::<TrackId>(), Ok(id));
        for garbage in ["", "42", "../etc/passwd", "0000-zzzz"] {
            assert_eq!(garbage.parse::<TrackId>(), Err(IdParseError), "{garbage:?}");
        }
    }
}
