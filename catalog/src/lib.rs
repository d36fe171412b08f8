//! The catalog: audio analysis of uploads, and the data of artists, releases, tracks and media
//! files, with the public catalog queries and search. It knows nothing about HTTP or money
//! movements; the store calls its functions inside its own transactions or blocking tasks.

pub mod analysis;
pub mod artists;
mod db;
pub mod error;
pub mod fields;
pub mod import;
pub mod media;
pub mod pricing;
pub mod releases;
pub mod sandbox;
mod schema;
pub mod search;
pub mod storage;
pub mod tracks;

pub use error::{CatalogError, PublishProblem};
