//! Generated media for the demo catalog and the tests: music from a small deterministic
//! synthesiser written as tagged WAV files with an embedded cover ([`audio`]), and abstract cover
//! art and ad banners ([`art`]). It is a crate of its own so that its per-sample and per-pixel
//! loops are optimised even in debug builds (see the workspace's `[profile.dev.package]`).
//!
//! Architecture invariant: no IO and no dependency but `image`; the same inputs give the same
//! bytes on every platform.

pub mod art;
pub mod audio;
