//! Serializes byte vectors (artwork, waveform peaks) as base64 strings: a third of the size of a
//! JSON array of numbers, and quick to cross the sandbox's process boundary.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serializer};

pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&STANDARD.encode(bytes))
}

pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = <&str>::deserialize(deserializer)?;
    STANDARD.decode(text).map_err(serde::de::Error::custom)
}
