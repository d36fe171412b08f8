//! The wire format shared by `megabox-agent` and the megabox server.
//!
//! Everything the agent ever sends about impressions is defined here, so the privacy promise of
//! DESIGN.md §5 ("nothing about browsing leaves the machine") can be checked in one place: an
//! [`ImpressionEvent`] carries a creative id, a slot size, a coarse time bucket and a nonce —
//! there is no field that could hold a URL, a page title or a referrer.
//!
//! # Flow
//!
//! 1. Pairing: the agent sends [`DeviceRegistration`] to `POST /api/v1/devices` and receives
//!    [`DeviceRegistered`], whose `device_id` it uses in every batch.
//! 2. Creatives: `GET /api/v1/ads/creatives?size=300x250` answers a [`CreativeList`].
//! 3. Impressions: the agent builds an [`UnsignedBatch`], signs it with [`UnsignedBatch::sign`]
//!    and sends the resulting [`ImpressionBatch`] as JSON to `POST /api/v1/impressions`.
//!    The server calls [`ImpressionBatch::verify`] with the device's registered key and answers
//!    [`BatchResponse`].
//!
//! # Signing
//!
//! The signature covers [`UnsignedBatch::canonical_bytes`], not the JSON: JSON allows many
//! spellings of the same value, the canonical bytes allow exactly one. They are versioned
//! ([`CANONICAL_VERSION`]), start with a domain-separation tag, and every variable-length field
//! is length-prefixed, so two different batches can never produce the same bytes.
//!
//! # Idempotency contract (what the server must do)
//!
//! * `sequence` is strictly increasing per device. The agent re-sends a batch that was not
//!   acknowledged with the *same* sequence and the *same* bytes; the server must answer such a
//!   resend with the same effect (events already recorded are reported as accepted again, or as
//!   rejected with [`RejectionReason::Duplicate`]) and must not count them twice.
//! * A batch whose sequence is lower than the device's highest seen sequence but whose bytes are
//!   unknown is a replay or a forgery: reject the whole batch (HTTP 409).
//! * Every event of an accepted batch appears exactly once in either `accepted` or `rejected`;
//!   the agent deletes both from its outbox (a rejection is final, never retried).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Version byte written into the canonical bytes; bump it whenever their layout changes.
pub const CANONICAL_VERSION: u8 = 1;

/// Domain-separation tag, so a batch signature can never be confused with a signature the same
/// key made over anything else.
const CANONICAL_DOMAIN_TAG: &[u8] = b"megabox-impression-batch";

/// Most events one batch may carry; the agent splits larger outboxes into several batches.
pub const EVENTS_PER_BATCH_MAX: usize = 500;

/// Longest creative id, in bytes.
pub const CREATIVE_ID_BYTES_MAX: usize = 64;

/// Largest slot edge in CSS pixels; real ad slots are far smaller.
pub const SLOT_EDGE_PIXELS_MAX: u16 = 4096;

/// Width of one time bucket. Impressions are reported to the hour, not to the second, so the
/// server cannot line them up with a browsing history.
pub const TIME_BUCKET_SECONDS: u64 = 3600;

/// Length of a pairing code as typed by the installer.
pub const PAIRING_CODE_CHARACTERS_MAX: usize = 32;

/// Errors from parsing wire values or checking a batch.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("creative id must be 1 to {CREATIVE_ID_BYTES_MAX} characters of [A-Za-z0-9_-]")]
    InvalidCreativeId,
    #[error("slot size must look like 300x250 with edges from 1 to {SLOT_EDGE_PIXELS_MAX}")]
    InvalidSlotSize,
    #[error("expected {expected} bytes of URL-safe base64")]
    InvalidBase64 { expected: usize },
    #[error("not a valid Ed25519 public key")]
    InvalidPublicKey,
    #[error("a batch carries 1 to {EVENTS_PER_BATCH_MAX} events, this one has {count}")]
    BatchSize { count: usize },
    #[error("the same event id appears twice in one batch")]
    DuplicateEventInBatch,
    #[error("the batch signature does not verify")]
    BadSignature,
    #[error("pairing code must be 1 to {PAIRING_CODE_CHARACTERS_MAX} letters or digits")]
    InvalidPairingCode,
}

/// Decodes URL-safe base64 (no padding) into exactly `N` bytes.
fn decode_fixed<const N: usize>(text: &str) -> Result<[u8; N], ProtocolError> {
    let error = ProtocolError::InvalidBase64 { expected: N };
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| error.clone())?;
    bytes.try_into().map_err(|_| error)
}

/// Declares a newtype over fixed bytes that travels as URL-safe base64.
macro_rules! base64_bytes {
    ($(#[$meta:meta])* $name:ident, $length:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub [u8; $length]);

        impl $name {
            /// Number of raw bytes.
            pub const LENGTH: usize = $length;
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(&URL_SAFE_NO_PAD.encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = ProtocolError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                decode_fixed::<$length>(text).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

base64_bytes!(
    /// A single-use value the agent issued for one slot on one page load; the viewability beacon
    /// must echo it, so an impression can be reported at most once per slot it was issued for.
    Nonce,
    16
);

base64_bytes!(
    /// An Ed25519 signature over [`UnsignedBatch::canonical_bytes`].
    BatchSignature,
    64
);

base64_bytes!(
    /// The 32 bytes of an install's Ed25519 public key, as registered at pairing.
    PublicKey,
    32
);

impl PublicKey {
    /// The public half of `signing_key`.
    pub fn of(signing_key: &SigningKey) -> Self {
        Self(signing_key.verifying_key().to_bytes())
    }

    /// Parses the key as an Ed25519 point; fails for bytes that are not a valid key.
    pub fn verifying_key(&self) -> Result<VerifyingKey, ProtocolError> {
        VerifyingKey::from_bytes(&self.0).map_err(|_| ProtocolError::InvalidPublicKey)
    }
}

/// Random (UUID v4) id of one impression. Random rather than v7 on purpose: a v7 id would carry
/// a millisecond timestamp, far finer than the [`TimeBucket`] the design allows to leave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub Uuid);

impl EventId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

/// Id the server gave this install at pairing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceId(pub Uuid);

/// Id of an advertiser's creative: 1 to [`CREATIVE_ID_BYTES_MAX`] ASCII letters, digits, `_`, `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreativeId(String);

impl CreativeId {
    /// Parses a creative id, rejecting anything that is not a short ASCII token.
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let valid_character =
            |character: char| character.is_ascii_alphanumeric() || "_-".contains(character);
        if text.is_empty()
            || text.len() > CREATIVE_ID_BYTES_MAX
            || !text.chars().all(valid_character)
        {
            return Err(ProtocolError::InvalidCreativeId);
        }
        Ok(Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CreativeId {
    type Error = ProtocolError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<CreativeId> for String {
    fn from(id: CreativeId) -> Self {
        id.0
    }
}

impl fmt::Display for CreativeId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// An ad slot's size in CSS pixels; travels as `"300x250"` (also the `size=` query value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SlotSize {
    width_pixels: u16,
    height_pixels: u16,
}

impl SlotSize {
    /// A size whose edges are both within 1..=[`SLOT_EDGE_PIXELS_MAX`].
    pub fn new(width_pixels: u16, height_pixels: u16) -> Result<Self, ProtocolError> {
        let edge_valid = |edge: u16| (1..=SLOT_EDGE_PIXELS_MAX).contains(&edge);
        if !edge_valid(width_pixels) || !edge_valid(height_pixels) {
            return Err(ProtocolError::InvalidSlotSize);
        }
        Ok(Self {
            width_pixels,
            height_pixels,
        })
    }

    /// Width in CSS pixels.
    pub fn width_pixels(self) -> u16 {
        self.width_pixels
    }

    /// Height in CSS pixels.
    pub fn height_pixels(self) -> u16 {
        self.height_pixels
    }
}

impl FromStr for SlotSize {
    type Err = ProtocolError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (width, height) = text.split_once('x').ok_or(ProtocolError::InvalidSlotSize)?;
        let parse_edge = |edge: &str| {
            // `u16::from_str` accepts a leading `+`; the canonical spelling has digits only.
            if edge.is_empty()
                || !edge.bytes().all(|byte| byte.is_ascii_digit())
                || edge.starts_with('0')
            {
                return Err(ProtocolError::InvalidSlotSize);
            }
            edge.parse::<u16>()
                .map_err(|_| ProtocolError::InvalidSlotSize)
        };
        Self::new(parse_edge(width)?, parse_edge(height)?)
    }
}

impl TryFrom<String> for SlotSize {
    type Error = ProtocolError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<SlotSize> for String {
    fn from(size: SlotSize) -> Self {
        size.to_string()
    }
}

impl fmt::Display for SlotSize {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}x{}", self.width_pixels, self.height_pixels)
    }
}

/// The hour an impression happened in: Unix seconds divided by [`TIME_BUCKET_SECONDS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeBucket(pub u64);

impl TimeBucket {
    /// The bucket that contains `unix_seconds`.
    pub fn containing(unix_seconds: u64) -> Self {
        Self(unix_seconds / TIME_BUCKET_SECONDS)
    }

    /// First Unix second of the bucket.
    pub fn start_unix_seconds(self) -> u64 {
        self.0.saturating_mul(TIME_BUCKET_SECONDS)
    }
}

/// One viewable impression of a Megabox creative. Deliberately nothing else: no URL, no page,
/// no slot position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpressionEvent {
    pub event_id: EventId,
    pub creative_id: CreativeId,
    pub size: SlotSize,
    pub time_bucket: TimeBucket,
    pub nonce: Nonce,
}

/// A batch before signing; the agent builds it from its outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedBatch {
    pub device_id: DeviceId,
    /// Strictly increasing per device; a resend reuses the same value.
    pub sequence: u64,
    pub events: Vec<ImpressionEvent>,
}

/// A signed batch as sent to `POST /api/v1/impressions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpressionBatch {
    pub device_id: DeviceId,
    pub sequence: u64,
    pub events: Vec<ImpressionEvent>,
    pub signature: BatchSignature,
}

/// Appends `bytes` preceded by their length as a big-endian u32.
fn push_length_prefixed(output: &mut Vec<u8>, bytes: &[u8]) {
    // Every field written here is bounded far below 4 GiB by the limits above.
    let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    output.extend_from_slice(&length.to_be_bytes());
    output.extend_from_slice(bytes);
}

impl UnsignedBatch {
    /// Checks the structural rules a batch must meet before it is signed or trusted.
    fn check_shape(events: &[ImpressionEvent]) -> Result<(), ProtocolError> {
        if events.is_empty() || events.len() > EVENTS_PER_BATCH_MAX {
            return Err(ProtocolError::BatchSize {
                count: events.len(),
            });
        }
        let mut seen = std::collections::HashSet::with_capacity(events.len());
        if !events.iter().all(|event| seen.insert(event.event_id)) {
            return Err(ProtocolError::DuplicateEventInBatch);
        }
        Ok(())
    }

    /// The exact bytes that are signed. Layout (all integers big-endian):
    ///
    /// ```text
    /// u32 len ‖ "megabox-impression-batch"
    /// u8  version (= CANONICAL_VERSION)
    /// [16] device_id
    /// u64 sequence
    /// u32 event count
    /// per event:
    ///   [16] event_id
    ///   u32 len ‖ creative_id (ASCII)
    ///   u16 width_pixels ‖ u16 height_pixels
    ///   u64 time_bucket
    ///   [16] nonce
    /// ```
    pub fn canonical_bytes(&self) -> Vec<u8> {
        canonical_bytes(self.device_id, self.sequence, &self.events)
    }

    /// Signs the batch; fails only if the batch breaks the size or uniqueness rules.
    pub fn sign(self, signing_key: &SigningKey) -> Result<ImpressionBatch, ProtocolError> {
        Self::check_shape(&self.events)?;
        let signature = BatchSignature(signing_key.sign(&self.canonical_bytes()).to_bytes());
        Ok(ImpressionBatch {
            device_id: self.device_id,
            sequence: self.sequence,
            events: self.events,
            signature,
        })
    }
}

fn canonical_bytes(device_id: DeviceId, sequence: u64, events: &[ImpressionEvent]) -> Vec<u8> {
    const EVENT_BYTES_TYPICAL: usize = 16 + 4 + 16 + 4 + 8 + 16;
    let mut output = Vec::with_capacity(64 + events.len() * EVENT_BYTES_TYPICAL);
    push_length_prefixed(&mut output, CANONICAL_DOMAIN_TAG);
    output.push(CANONICAL_VERSION);
    output.extend_from_slice(device_id.0.as_bytes());
    output.extend_from_slice(&sequence.to_be_bytes());
    let count = u32::try_from(events.len()).unwrap_or(u32::MAX);
    output.extend_from_slice(&count.to_be_bytes());
    for event in events {
        output.extend_from_slice(event.event_id.0.as_bytes());
        push_length_prefixed(&mut output, event.creative_id.as_str().as_bytes());
        output.extend_from_slice(&event.size.width_pixels.to_be_bytes());
        output.extend_from_slice(&event.size.height_pixels.to_be_bytes());
        output.extend_from_slice(&event.time_bucket.0.to_be_bytes());
        output.extend_from_slice(&event.nonce.0);
    }
    output
}

impl ImpressionBatch {
    /// The canonical bytes the signature covers (see [`UnsignedBatch::canonical_bytes`]).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        canonical_bytes(self.device_id, self.sequence, &self.events)
    }

    /// Verifies shape and signature against the device's registered key (strict Ed25519:
    /// no malleable signatures, no small-order keys). The server calls this before anything else.
    pub fn verify(&self, public_key: &PublicKey) -> Result<(), ProtocolError> {
        UnsignedBatch::check_shape(&self.events)?;
        let verifying_key = public_key.verifying_key()?;
        let signature = ed25519_dalek::Signature::from_bytes(&self.signature.0);
        verifying_key
            .verify_strict(&self.canonical_bytes(), &signature)
            .map_err(|_| ProtocolError::BadSignature)
    }
}

/// Why the server refused one event of an otherwise valid batch. Final: the agent drops it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionReason {
    /// The (device, event id) or (device, nonce) pair was already recorded.
    Duplicate,
    /// The time bucket is too old or in the future.
    Stale,
    /// A per-device, per-account or per-IP cap was reached.
    CapExceeded,
    /// The creative does not exist or does not run at that size.
    UnknownCreative,
}

/// One refused event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectedEvent {
    pub event_id: EventId,
    pub reason: RejectionReason,
}

/// The answer to `POST /api/v1/impressions` for a batch whose signature verified.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchResponse {
    pub accepted: Vec<EventId>,
    pub rejected: Vec<RejectedEvent>,
}

impl BatchResponse {
    /// Every event id the server has settled, accepted or not: the agent removes these.
    pub fn settled_event_ids(&self) -> impl Iterator<Item = EventId> + '_ {
        self.accepted
            .iter()
            .copied()
            .chain(self.rejected.iter().map(|rejected| rejected.event_id))
    }
}

/// A short code the installer copies from the website into `megabox-agent pair CODE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PairingCode(String);

impl PairingCode {
    /// Accepts letters and digits (case kept; the server decides whether it is case-sensitive);
    /// dashes and spaces that people type for readability are dropped.
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let code: String = text
            .chars()
            .filter(|character| !matches!(character, '-' | ' '))
            .collect();
        if code.is_empty()
            || code.len() > PAIRING_CODE_CHARACTERS_MAX
            || !code
                .chars()
                .all(|character| character.is_ascii_alphanumeric())
        {
            return Err(ProtocolError::InvalidPairingCode);
        }
        Ok(Self(code))
    }

    /// The normalised code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PairingCode {
    type Error = ProtocolError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<PairingCode> for String {
    fn from(code: PairingCode) -> Self {
        code.0
    }
}

/// Body of `POST /api/v1/devices`: pairs this install's key with the account that created the code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRegistration {
    pub code: PairingCode,
    pub public_key: PublicKey,
}

/// Answer to a successful pairing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRegistered {
    pub device_id: DeviceId,
}

/// One creative the agent may show, from `GET /api/v1/ads/creatives?size=WxH`. The agent renders
/// it itself (escaped text in a sandboxed frame), so the server sends data, never markup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Creative {
    pub creative_id: CreativeId,
    pub size: SlotSize,
    pub headline: String,
    pub body: String,
    /// Where a click goes (a Megabox page); opened in a new top-level tab.
    pub link_url: String,
    /// The creative's picture (PNG, JPEG or GIF of exactly `size`), as a server-relative path
    /// such as `/api/v1/ads/creatives/{creative_id}/image` ([`Creative::image_path`]). The agent
    /// resolves it against the server URL it was paired with, so a creative can never make the
    /// agent fetch from another host.
    pub image_url: String,
}

impl Creative {
    /// The server-relative path of `creative_id`'s image; the server fills [`Creative::image_url`]
    /// with it and serves the image there.
    pub fn image_path(creative_id: &CreativeId) -> String {
        format!("/api/v1/ads/creatives/{creative_id}/image")
    }
}

/// Answer to `GET /api/v1/ads/creatives?size=`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreativeList {
    pub creatives: Vec<Creative>,
}

#[cfg(test)]
mod tests;
