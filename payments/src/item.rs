//! What a listener can buy: a release or a track, with the text forms it has in order lines and
//! in the ledger.

use std::fmt;

use megabox_domain::{ReleaseId, TrackId};

use crate::PaymentsError;

/// Something a listener can buy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Item {
    Release(ReleaseId),
    Track(TrackId),
}

impl Item {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Item::Release(_) => "release",
            Item::Track(_) => "track",
        }
    }

    pub(crate) fn id_text(self) -> String {
        match self {
            Item::Release(release) => release.to_string(),
            Item::Track(track) => track.to_string(),
        }
    }

    /// The item's reference in the ledger and in order lines: `release:{id}` or `track:{id}`.
    pub(crate) fn reference(self) -> String {
        format!("{}:{}", self.kind(), self.id_text())
    }

    pub(crate) fn parse(kind: &str, id: &str) -> Result<Item, PaymentsError> {
        let corrupt = || PaymentsError::Corrupt(format!("item {kind}:{id}"));
        match kind {
            "release" => id.parse().map(Item::Release).map_err(|_| corrupt()),
            "track" => id.parse().map(Item::Track).map_err(|_| corrupt()),
            _ => Err(corrupt()),
        }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {}", self.kind(), self.id_text())
    }
}
