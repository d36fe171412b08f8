//! Listening: who may hear a full track (the one entitlement rule), and play sessions that turn
//! into qualifying plays for the royalty engine.

pub mod entitlements;
pub mod plays;
