//! The one error type of the catalog's data API. The store maps each variant to an HTTP status:
//! `NotFound` to 404 (also for objects the caller may not see), `Invalid` and `NotPublishable` to
//! 422, `Duplicate`, `QuotaExceeded` and `InvalidTransition` to 409, the rest to an opaque 500.

use megabox_domain::{ReleaseId, TrackId};

use crate::release_state::ReleaseState;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The object does not exist, or the caller may not see it; the two are never told apart.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(
        "this audio was already imported as track {existing_track} of release {existing_release}"
    )]
    Duplicate {
        existing_track: TrackId,
        existing_release: ReleaseId,
    },
    #[error(
        "storage quota exceeded: {used_bytes} bytes used + {incoming_bytes} incoming > {quota_bytes} allowed"
    )]
    QuotaExceeded {
        used_bytes: u64,
        incoming_bytes: u64,
        quota_bytes: u64,
    },
    #[error("a {from} release cannot become {to}")]
    InvalidTransition {
        from: ReleaseState,
        to: ReleaseState,
    },
    #[error("the release cannot be published: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    NotPublishable { problems: Vec<PublishProblem> },
    /// A stored row breaks an invariant that was checked when it was written.
    #[error("corrupt catalog data: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl CatalogError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> CatalogError {
        CatalogError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// One reason a release is not ready to publish; publishing reports all of them at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishProblem {
    #[error("the release has no title")]
    MissingTitle,
    #[error("the release has no tracks")]
    NoTracks,
    #[error("the release has no price")]
    ReleaseUnpriced,
    #[error("track {0} has no price")]
    TrackUnpriced(TrackId),
}
