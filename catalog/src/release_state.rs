//! What kind a release is and where it stands in its life cycle, stored as text. A leaf module:
//! the error type names states, and every release module reads them.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseKind {
    Album,
    Ep,
    Single,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseState {
    Draft,
    Published,
    Unpublished,
}

/// Enums stored as text: one table of names serves both directions.
macro_rules! stored_enum {
    ($type:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $type {
            pub fn as_str(self) -> &'static str {
                match self { $($type::$variant => $name),+ }
            }

            /// Parses the stored name; `None` for any other text.
            pub fn parse(text: &str) -> Option<$type> {
                match text {
                    $($name => Some($type::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}

stored_enum!(ReleaseKind { Album => "album", Ep => "ep", Single => "single" });
stored_enum!(ReleaseState { Draft => "draft", Published => "published", Unpublished => "unpublished" });
