//! The payment gateway as the rest of the crate sees it: create a checkout session for an order,
//! read the current state of a session, a charge or a connected account, and open payout
//! accounts for artists. Two implementations: [`crate::StripeGateway`] (the real API, or the fake
//! through its base URL) and [`crate::TestModeGateway`] (the embedded default, its state in this
//! crate's own tables).
//!
//! Webhooks only say *that* something changed; the webhook handler asks the gateway for the
//! current state through these calls, so events may arrive in any order.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use megabox_domain::{ArtistId, Cents};
use royalties::PayoutAccountStatus;

/// A gateway call in flight. Boxed so that the trait can be used as `dyn PaymentGateway`.
pub type GatewayFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, GatewayError>> + Send + 'a>>;

/// Which gateway an order was sent to; stored with the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayKind {
    Stripe,
    TestMode,
}

impl GatewayKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GatewayKind::Stripe => "stripe",
            GatewayKind::TestMode => "test_mode",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum GatewayError {
    /// The gateway refused the request; retrying the same request will not help.
    #[error("the payment gateway refused: {0}")]
    Refused(String),
    /// The object does not exist at the gateway.
    #[error("the payment gateway does not know {0}")]
    NotFound(String),
    /// The gateway could not be reached or answered in an unexpected way; retrying may help.
    #[error("the payment gateway is unavailable: {0}")]
    Unavailable(String),
}

/// What the buyer is asked to pay for: one session per cart, so the fixed card fee is paid once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// The order's id: the session's reference, its metadata, and the gateway's idempotency key.
    pub order_id: String,
    pub lines: Vec<CheckoutLine>,
    /// Unix seconds after which the session can no longer be paid.
    pub expires_at_unix_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutLine {
    pub name: String,
    pub amount: Cents,
}

/// A session the buyer can pay at `checkout_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSession {
    pub session_id: String,
    pub checkout_url: String,
}

/// A checkout session as the gateway sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub session_id: String,
    /// The order id the session was created for (its metadata).
    pub order_id: Option<String>,
    pub payment: SessionPayment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionPayment {
    /// Not paid (yet): still open, or completed with a delayed payment method that has not settled.
    Unpaid,
    /// The session expired or the buyer canceled it; it can no longer be paid.
    Expired,
    Paid(ChargeState),
}

/// The money side of a paid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeState {
    pub charge_id: String,
    pub amount: Cents,
    /// The processor's fee, from the charge's balance transaction.
    pub fee: Cents,
    pub amount_refunded: Cents,
    pub disputed: bool,
    /// When the charge was made: the sale's time in the royalty ledger.
    pub paid_at: chrono::NaiveDateTime,
}

/// Talks to a payment processor. Every creating call is idempotent: calling it again with the same
/// order or artist returns the object the first call created.
pub trait PaymentGateway: Send + Sync + fmt::Debug {
    fn kind(&self) -> GatewayKind;

    /// One checkout session for the whole order.
    fn create_checkout_session<'a>(
        &'a self,
        request: &'a CheckoutRequest,
    ) -> GatewayFuture<'a, CreatedSession>;

    /// The session's current state, with its charge and fee when paid.
    fn checkout_session<'a>(&'a self, session_id: &'a str) -> GatewayFuture<'a, SessionState>;

    /// The order id a charge was made for (refund and dispute events name only the charge).
    fn order_of_charge<'a>(&'a self, charge_id: &'a str) -> GatewayFuture<'a, Option<String>>;

    /// A connected account that can receive the artist's payouts.
    fn create_payout_account<'a>(&'a self, artist: ArtistId) -> GatewayFuture<'a, String>;

    /// Where the artist finishes (or resumes) the account's onboarding.
    fn payout_onboarding_url<'a>(&'a self, account_id: &'a str) -> GatewayFuture<'a, String>;

    /// Whether the account can receive transfers now.
    fn payout_account_status<'a>(
        &'a self,
        account_id: &'a str,
    ) -> GatewayFuture<'a, PayoutAccountStatus>;
}
