//! catalog (being written).
pub mod analysis;
pub mod sandbox;
