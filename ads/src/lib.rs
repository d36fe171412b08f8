//! The server side of Megabox ads (DESIGN.md §3.3, §4, §5): the operator's advertisers,
//! campaigns and creatives; pairing of agent devices; intake of signed impression batches
//! (signature, sequence, freshness, dedupe, caps, budget, all in one transaction per batch);
//! the installer's rewards (agent-active status, download credits); and invalid-traffic flags.
//!
//! Architecture invariants: no HTTP and no JSON on the wire (the store maps these types to its
//! API); the wire types and the signature check are `megabox-protocol`'s, used as they are;
//! money is integer cents and micro-cents; ad revenue and credit redemptions reach the ledger
//! only through `royalties`' API. Every function takes the caller's
//! [`megabox_database::DbConnection`] and the current time, so tests control the clock.
//!
//! Royalties runs each `record_*` call in its own write transaction, which nests as a savepoint
//! of the caller's: impression revenue is recorded in the batch's transaction, a credit
//! redemption in the caller's transaction that also grants the download. Both are also kept in
//! this crate's own tables with a `recorded_at`; [`settle_royalties`] hands over any row still
//! waiting (as an earlier version, which recorded after the commit on SQLite, could leave one).

mod campaigns;
mod devices;
mod flags;
mod intake;
#[cfg(feature = "redis")]
mod redis_dedupe;
mod rewards;
mod schema;
mod settle;

use std::time::Duration;

pub use campaigns::{
    ALLOWED_CREATIVE_SIZES, Advertiser, AdvertiserId, CREATIVE_IMAGE_BYTES_MAX, Campaign,
    CampaignId, CampaignStatus, CreativeImage, CreativeOffer, CreativeRecord, ImageFormat,
    NewCampaign, NewCreative, StoredCreativeImage, create_advertiser, create_campaign,
    create_creative, creative_image, eligible_creatives, list_advertisers, list_campaigns,
    list_creatives, update_campaign_status, validate_creative_image,
};
pub use devices::{
    Device, PAIRING_CODE_ALPHABET, PAIRING_CODE_LENGTH, PairingCodeIssued, create_pairing_code,
    list_devices, pair_device, revoke_device,
};
pub use flags::{Flag, FlagKind, flag_account, flag_device, flagged};
pub use intake::{Deduper, DeduperUnavailable, IntakeReceipt, Reason, RejectedEvent, intake_batch};
#[cfg(feature = "redis")]
pub use redis_dedupe::RedisDeduper;
pub use rewards::{
    FreeTierReason, InstallerStatus, Redemption, RedemptionRecord, free_tier, installer_status,
    list_redemptions, redeem_credit,
};
pub use settle::{SettleReport, settle_royalties};

/// The rules an operator may tune; [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdsSettings {
    /// Accepted impressions per device per UTC day of the server's clock, whatever hour the
    /// events claim (the agent's own cap is 30 too).
    pub impressions_per_device_per_day_max: i64,
    /// Accepted impressions per account per UTC day, over all its devices.
    pub impressions_per_account_per_day_max: i64,
    /// Accepted impressions per client IP per UTC day (generous: many installers share a NAT).
    pub impressions_per_ip_per_day_max: i64,
    /// An event whose time bucket started longer ago than this is refused as stale.
    ///
    /// 24 h is what the agent's outbox needs: it journals each viewable impression before it
    /// sends it and retries with a backoff capped at 10 minutes, so an agent that is online
    /// delivers within minutes; the limit only has to cover a machine that went to sleep or
    /// offline with events still in its outbox and comes back the next day. Anything longer
    /// only widens what a forger may claim at once (caps count by the day the server receives
    /// the events, so an old event still spends today's cap).
    pub event_age_max: Duration,
    /// An event whose time bucket starts further ahead than this is refused (clock skew allowance).
    pub event_future_tolerance: Duration,
    /// Accepted impressions over the last 7 days that make an account agent-active.
    pub agent_active_impressions_7d_min: i64,
    /// Accepted impressions that earn one download credit.
    pub impressions_per_credit: i64,
    /// How long a pairing code stays valid.
    pub pairing_code_lifetime: Duration,
    /// Pairing codes one account may create per hour.
    pub pairing_codes_per_hour_max: i64,
    /// Pacing slack: a campaign is still offered while it has spent at most its flight-elapsed
    /// share of the budget plus this share of the budget, in basis points.
    pub pacing_margin_bps: i64,
    /// Most creatives offered in one answer to the agent.
    pub offers_max: usize,
}

impl Default for AdsSettings {
    fn default() -> Self {
        AdsSettings {
            impressions_per_device_per_day_max: 30,
            impressions_per_account_per_day_max: 90,
            impressions_per_ip_per_day_max: 1000,
            event_age_max: Duration::from_secs(24 * 3600),
            event_future_tolerance: Duration::from_secs(5 * 60),
            agent_active_impressions_7d_min: 5,
            impressions_per_credit: 50,
            pairing_code_lifetime: Duration::from_secs(10 * 60),
            pairing_codes_per_hour_max: 5,
            pacing_margin_bps: 1000,
            offers_max: 10,
        }
    }
}

/// Everything that can go wrong; the store maps each variant to a status and a snake_case code.
#[derive(Debug, thiserror::Error)]
pub enum AdsError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Royalty(#[from] royalties::RoyaltyError),
    /// 404: missing, or owned by someone else.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// 422: input that breaks a rule; the message says which.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// 422: the creative's image is not an accepted picture of the declared size.
    #[error("invalid creative image: {0}")]
    InvalidImage(String),
    /// 409: e.g. reactivating an ended campaign.
    #[error("a campaign cannot go from {from} to {to}")]
    InvalidStatusChange {
        from: CampaignStatus,
        to: CampaignStatus,
    },
    /// 404: no such pairing code (wrong, or mistyped).
    #[error("unknown pairing code")]
    PairingCodeUnknown,
    /// 409: the code already paired a device.
    #[error("this pairing code was already used")]
    PairingCodeUsed,
    /// 410: the code is older than its lifetime.
    #[error("this pairing code has expired")]
    PairingCodeExpired,
    /// 429: too many codes created in the last hour.
    #[error("too many pairing codes; try again later")]
    TooManyPairingCodes,
    /// 422: not a usable Ed25519 public key.
    #[error("not a valid Ed25519 public key")]
    InvalidPublicKey,
    /// 409: another device already registered this key.
    #[error("this public key is already registered")]
    PublicKeyTaken,
    /// The whole batch is refused (401 bad_signature/unknown_device, 403 revoked_device/flagged,
    /// 409 stale_sequence, 422 malformed_batch); nothing was recorded.
    #[error("impression batch refused: {0}")]
    BatchRefused(Reason),
    /// 409: no download credit left.
    #[error("no download credit available")]
    NoCreditAvailable,
    #[error("an amount overflows")]
    Overflow,
    #[error("a stored row is not valid: {0}")]
    CorruptRow(String),
}

/// The UTC calendar day of `instant` as stored in `ads_daily_counts`.
pub(crate) fn day_of(instant: chrono::NaiveDateTime) -> String {
    instant.date().format("%Y-%m-%d").to_string()
}

/// `duration` as a chrono duration, saturating (settings are far below the limit).
pub(crate) fn chrono_duration(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}
