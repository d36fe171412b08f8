//! Types every Megabox crate shares, parsed once at the edge and trusted after:
//! money in integer minor units ([`Cents`], [`MicroCents`]), shares in [`BasisPoints`],
//! and typed ids so that a track id can never be passed where a user id is expected.

mod ids;
mod money;

pub use ids::{ArtistId, IdParseError, ReleaseId, TrackId, UserId};
pub use money::{BasisPoints, Cents, MicroCents, MoneyError};
