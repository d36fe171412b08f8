//! Buying music: a listener's cart becomes an order with one checkout session at the payment
//! gateway ([`checkout`]); the gateway's signed webhooks ([`handle_webhook`]) mark it paid, grant
//! the entitlements ([`entitlements_of`], [`owns_track`]) and record the sale in the royalty ledger,
//! or revoke and reverse them after a refund or dispute. Artists open payout accounts at the
//! gateway ([`start_payout_onboarding`]) and royalties' payout runs send transfers through
//! [`StripeGateway`] or [`TestModeGateway`], both [`royalties::PayoutGateway`]s.
//!
//! Architecture invariants: no HTTP server code (the store owns routes and JSON); prices come from
//! the catalog only, a client's offer counts only for pay-what-you-want; every order and its lines
//! are stored before the gateway is called; each webhook event is applied once, its id stored in
//! the same transaction as its effect on this crate's tables, and the state applied is the one the
//! gateway reports now, not the one the event carried, so duplicates and any order of arrival end
//! in the same state. Connections are never held across a gateway call.

mod catalog_items;
mod entitlements;
mod gateway;
mod item;
mod locks;
mod orders;
mod payout_accounts;
mod schema;
mod setup;
mod signature;
mod stripe;
mod test_mode;
mod webhooks;

pub(crate) use megabox_database::now;
use megabox_database::{DbConnection, DbPool};

pub use entitlements::{
    Entitlement, EntitlementSource, ReleaseOwnership, entitlements_of, grant_for_credit,
    ownership_of_release, owns_item, owns_track,
};
pub use gateway::{
    ChargeState, CheckoutLine, CheckoutRequest, CreatedSession, GatewayError, GatewayFuture,
    GatewayKind, PaymentGateway, SessionPayment, SessionState,
};
pub use item::Item;
pub use orders::{
    CART_ITEMS_MAX, CHARGE_CENTS_MIN, CHECKOUT_LIFETIME, CartItem, CheckoutStarted, OrderLine,
    OrderStatus, OrderSummary, checkout, order,
};
pub use payout_accounts::{payout_account_status, start_payout_onboarding};
pub use setup::{PaymentSettings, Payments, SettingsError};
pub use signature::{
    SIGNATURE_HEADER_BYTES_MAX, SIGNATURE_TOLERANCE, SignatureError, sign_payload, verify_signature,
};
pub use stripe::{StripeConfig, StripeGateway};
pub use test_mode::{
    SignedWebhook, TestCheckoutAction, TestCheckoutView, TestModeGateway, simulated_fee,
};
pub use webhooks::{WEBHOOK_PAYLOAD_BYTES_MAX, WebhookConfig, WebhookOutcome, handle_webhook};

/// The one currency of the ledger, as the gateway spells it.
pub const CURRENCY: &str = "usd";

/// Everything that can go wrong; the store maps each variant to a status (see each variant).
#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    /// 422: the cart has no items.
    #[error("the cart is empty")]
    EmptyCart,
    /// 422: the cart has more than [`CART_ITEMS_MAX`] items.
    #[error("a cart holds at most {CART_ITEMS_MAX} items")]
    TooManyItems,
    /// 422: the same item twice, or a track together with its release.
    #[error("{0} appears more than once in the cart")]
    DuplicateItem(Item),
    /// 409: the listener owns the item already.
    #[error("{0} is already in the library")]
    AlreadyOwned(Item),
    /// 404: no such published release or track.
    #[error("{0} is not for sale")]
    NotForSale(Item),
    /// 422: a pay-what-you-want offer outside the item's rule (below the minimum, above the cap).
    #[error("the amount offered for {item} is not accepted: {reason}")]
    InvalidOffer { item: Item, reason: String },
    /// 422: the gateway cannot charge less than [`CHARGE_CENTS_MIN`].
    #[error("a checkout must total at least {CHARGE_CENTS_MIN} cents")]
    BelowMinimumCharge,
    /// 400: the webhook's signature is missing, wrong or stale.
    #[error("webhook signature rejected: {0}")]
    Signature(#[from] SignatureError),
    /// 400: the webhook's body is not an event this crate can read.
    #[error("malformed webhook event: {0}")]
    MalformedEvent(String),
    /// 500 (the gateway retries): the event names an order, charge or account not known (yet).
    #[error("the event refers to {0}, which is unknown")]
    UnknownReference(String),
    /// 404: no test-mode checkout session with this id.
    #[error("no such test checkout session")]
    TestSessionNotFound,
    /// 409: the test-mode session was already completed the other way, or has expired.
    #[error("the test checkout session is closed")]
    TestSessionClosed,
    /// 502 (or 503 when unavailable): the gateway failed.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Royalties(#[from] royalties::RoyaltyError),
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// A stored row breaks an invariant that was checked when it was written.
    #[error("corrupt payments data: {0}")]
    Corrupt(String),
    #[error("a blocking task failed: {0}")]
    Task(String),
}

/// Runs database work on the blocking thread pool with a connection of its own, so that async
/// callers never block their runtime and never hold a connection across a gateway call.
pub(crate) async fn with_connection<T, Work>(pool: &DbPool, work: Work) -> Result<T, PaymentsError>
where
    T: Send + 'static,
    Work: FnOnce(&mut DbConnection) -> Result<T, PaymentsError> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut connection = pool.get()?;
        work(&mut connection)
    })
    .await
    .map_err(|error| PaymentsError::Task(error.to_string()))?
}
