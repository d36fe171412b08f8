//! The royalty engine: turns sales, refunds, ad revenue and plays into a double-entry ledger,
//! closes monthly periods by allocating the ad pool to artists (user-centric or pro-rata),
//! renders statements, runs payouts exactly once through a [`PayoutGateway`], and proves the
//! ledger's invariants with [`verify`].
//!
//! Architecture invariants: no HTTP, no JSON, no IO but this crate's own tables (through the
//! caller's [`megabox_database::DbConnection`]) and the payment gateway trait. Money is integer
//! minor units from `megabox-domain`; every split is [`split::largest_remainder`].
//! Every `record_*` call is idempotent by its source id and runs in its own write transaction.

mod close;
mod counters;
mod ledger;
mod payouts;
mod period;
mod revenue;
mod schema;
pub mod split;
mod statements;
mod verify;

use megabox_domain::BasisPoints;

pub use close::{AllocationModel, PeriodClose, close_period};
pub use ledger::TransactionKind;
pub use payouts::{
    GatewayError, PayoutAccountStatus, PayoutGateway, PayoutRecord, PayoutRun, PayoutStatus,
    TransferId, list_payouts, run_payouts, set_payout_account,
};
pub use period::{Period, PeriodParseError};
pub use revenue::{
    AdRevenueInput, PlayInput, Recorded, RedemptionInput, RefundInput, RefundScope, SaleInput,
    SaleItem, clawback_ad_revenue, record_ad_revenue, record_credit_redemption,
    record_qualifying_play, record_refund, record_sale,
};
pub use statements::{
    PeriodEarnings, Statement, StatementLine, earnings, statement, write_statement_csv,
};
pub use verify::{VerifyError, VerifyReport, Violation, verify};

/// Longest accepted external source id (sale, item, event, play, refund ids).
pub const SOURCE_ID_LENGTH_MAX: usize = 200;

/// The shares and weights the engine applies; the store reads them from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoyaltySettings {
    /// The artist's share of a sale's net revenue.
    pub sale_artist_share: BasisPoints,
    /// The artists' share of a period's ad pool.
    pub ad_artist_share: BasisPoints,
    /// How many plays one credit-redeemed download counts as.
    pub plays_per_redemption: u32,
}

impl Default for RoyaltySettings {
    fn default() -> Self {
        let ninety_percent = BasisPoints::new(9000).unwrap_or(BasisPoints::WHOLE);
        RoyaltySettings {
            sale_artist_share: ninety_percent,
            ad_artist_share: ninety_percent,
            plays_per_redemption: 10,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RoyaltyError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("{field} must be 1 to {SOURCE_ID_LENGTH_MAX} characters")]
    InvalidSourceId { field: &'static str },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("sale {0} is not recorded")]
    UnknownSale(String),
    #[error("sale {sale_id} has no item {item_ref}")]
    UnknownItem { sale_id: String, item_ref: String },
    #[error("item {item_ref} of sale {sale_id} is already refunded")]
    AlreadyRefunded { sale_id: String, item_ref: String },
    #[error("ad revenue event {0} is not recorded")]
    UnknownAdEvent(String),
    #[error(
        "transaction {transaction} does not balance: its lines sum to {sum_micro_cents} micro-cents"
    )]
    Unbalanced {
        transaction: String,
        sum_micro_cents: i64,
    },
    #[error("account {account} would go negative ({balance_micro_cents} micro-cents)")]
    NegativeBalance {
        account: String,
        balance_micro_cents: i64,
    },
    #[error("no open period found after {after}")]
    NoOpenPeriod { after: Period },
    #[error("an amount overflows")]
    Overflow,
    #[error(transparent)]
    Split(#[from] split::SplitError),
    #[error("a stored row is not valid: {0}")]
    CorruptRow(String),
}

pub(crate) fn check_source_id(field: &'static str, value: &str) -> Result<(), RoyaltyError> {
    if value.is_empty() || value.chars().count() > SOURCE_ID_LENGTH_MAX {
        Err(RoyaltyError::InvalidSourceId { field })
    } else {
        Ok(())
    }
}

pub(crate) fn parse_artist(text: &str) -> Result<megabox_domain::ArtistId, RoyaltyError> {
    text.parse()
        .map_err(|_| RoyaltyError::CorruptRow(format!("artist id {text:?}")))
}
