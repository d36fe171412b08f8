//! The Stripe gateway, through async-stripe 1.0: Checkout Sessions for buying, Connect Express
//! accounts and account links for artists' payout accounts, and transfers for payouts (as the
//! royalties crate's [`royalties::PayoutGateway`]). The base URL is configurable so that tests
//! (and local runs) talk to the fake Stripe server; nothing here is mocked.

use std::collections::HashMap;
use std::fmt;

use megabox_domain::{ArtistId, Cents};
use royalties::{PayoutAccountStatus, PayoutGateway, TransferId};
use secrecy::{ExposeSecret, SecretString};
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, ProductData, RetrieveCheckoutSession,
};
use stripe_checkout::{CheckoutSessionMode, CheckoutSessionPaymentStatus};
use stripe_client_core::{RequestBuilder, StripeMethod};
use stripe_connect::account::{
    CreateAccount, CreateAccountCapabilities, CreateAccountCapabilitiesTransfers,
    CreateAccountType, RetrieveAccount,
};
use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
use stripe_connect::transfer::CreateTransfer;
use stripe_shared::{Charge, CheckoutSessionStatus};
use stripe_types::{Currency, Expandable};

use crate::gateway::{
    ChargeState, CheckoutRequest, CreatedSession, GatewayError, GatewayFuture, GatewayKind,
    PaymentGateway, SessionPayment, SessionState,
};

/// The metadata key that ties sessions, payment intents and charges to their order.
const ORDER_ID_METADATA_KEY: &str = "order_id";
/// What a session expands to reach the charge's fee in one call.
const SESSION_EXPANSION: &str = "payment_intent.latest_charge.balance_transaction";

/// How to reach Stripe. `Debug` never shows the secret key.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub secret_key: SecretString,
    /// `None` for Stripe itself; the fake's `http://127.0.0.1:{port}/` in tests.
    pub api_base: Option<String>,
    /// The store's public URL, for the pages Stripe sends buyers and artists back to.
    pub public_url: String,
}

pub struct StripeGateway {
    config: StripeConfig,
    client: Client,
}

impl fmt::Debug for StripeGateway {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("StripeGateway")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl StripeGateway {
    pub fn new(config: StripeConfig) -> Result<StripeGateway, GatewayError> {
        let client = build_client(&config)?;
        Ok(StripeGateway { config, client })
    }

    fn public_page(&self, path: &str) -> String {
        format!("{}{path}", self.config.public_url.trim_end_matches('/'))
    }
}

fn build_client(config: &StripeConfig) -> Result<Client, GatewayError> {
    let mut builder = ClientBuilder::new(config.secret_key.expose_secret());
    if let Some(api_base) = &config.api_base {
        builder = builder.url(api_base.clone());
    }
    builder.build().map_err(|error| {
        GatewayError::Unavailable(format!("cannot build the Stripe client: {error}"))
    })
}

fn idempotency_key(text: String) -> Result<RequestStrategy, GatewayError> {
    IdempotencyKey::new(text)
        .map(RequestStrategy::Idempotent)
        .map_err(|error| GatewayError::Refused(error.to_string()))
}

fn gateway_error(what: &str, error: StripeError) -> GatewayError {
    match error {
        StripeError::Stripe(api_error, 404) => {
            GatewayError::NotFound(format!("{what}: {}", api_error.message.unwrap_or_default()))
        }
        // A definite refusal; 409 (concurrent idempotent request) and 429 (rate limit) may pass on retry.
        StripeError::Stripe(api_error, status)
            if (400..500).contains(&status) && status != 409 && status != 429 =>
        {
            GatewayError::Refused(format!("{what}: {}", api_error.message.unwrap_or_default()))
        }
        other => GatewayError::Unavailable(format!("{what}: {other}")),
    }
}

fn order_metadata(order_id: &str) -> HashMap<String, String> {
    HashMap::from([(ORDER_ID_METADATA_KEY.to_owned(), order_id.to_owned())])
}

fn expanded<'a, T: stripe_types::Object>(
    value: Option<&'a Expandable<T>>,
    what: &str,
) -> Result<&'a T, GatewayError> {
    match value {
        Some(Expandable::Object(object)) => Ok(object),
        _ => Err(GatewayError::Unavailable(format!(
            "the paid session's {what} was not expanded"
        ))),
    }
}

fn session_state(session: stripe_shared::CheckoutSession) -> Result<SessionState, GatewayError> {
    let order_id = session
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.get(ORDER_ID_METADATA_KEY))
        .cloned();
    let payment = match (session.status, session.payment_status) {
        (_, CheckoutSessionPaymentStatus::Paid) => {
            let intent = expanded(session.payment_intent.as_ref(), "payment intent")?;
            let charge = expanded(intent.latest_charge.as_ref(), "charge")?;
            let balance_transaction =
                expanded(charge.balance_transaction.as_ref(), "balance transaction")?;
            SessionPayment::Paid(ChargeState {
                charge_id: charge.id.as_str().to_owned(),
                amount: Cents(charge.amount),
                fee: Cents(balance_transaction.fee),
                amount_refunded: Cents(charge.amount_refunded),
                disputed: charge.disputed,
                paid_at: chrono::DateTime::from_timestamp(charge.created, 0)
                    .ok_or_else(|| {
                        GatewayError::Unavailable(format!(
                            "charge {} has no valid creation time",
                            charge.id.as_str()
                        ))
                    })?
                    .naive_utc(),
            })
        }
        (Some(CheckoutSessionStatus::Expired), _) => SessionPayment::Expired,
        _ => SessionPayment::Unpaid,
    };
    Ok(SessionState {
        session_id: session.id.as_str().to_owned(),
        order_id,
        payment,
    })
}

fn account_status(account: &stripe_shared::Account) -> PayoutAccountStatus {
    if account.payouts_enabled == Some(true) {
        return PayoutAccountStatus::Ready;
    }
    let rejected = account
        .requirements
        .as_ref()
        .and_then(|requirements| requirements.disabled_reason.as_ref())
        .is_some_and(|reason| reason.as_str().starts_with("rejected"));
    if rejected {
        PayoutAccountStatus::Disabled
    } else {
        PayoutAccountStatus::Pending
    }
}

impl PaymentGateway for StripeGateway {
    fn kind(&self) -> GatewayKind {
        GatewayKind::Stripe
    }

    fn create_checkout_session<'a>(
        &'a self,
        request: &'a CheckoutRequest,
    ) -> GatewayFuture<'a, CreatedSession> {
        Box::pin(async move {
            let line_items = request
                .lines
                .iter()
                .map(|line| {
                    let mut price_data =
                        CreateCheckoutSessionLineItemsPriceData::new(Currency::USD);
                    price_data.unit_amount = Some(line.amount.0);
                    price_data.product_data = Some(ProductData::new(line.name.clone()));
                    let mut item = CreateCheckoutSessionLineItems::new();
                    item.price_data = Some(price_data);
                    item.quantity = Some(1);
                    item
                })
                .collect::<Vec<_>>();
            let mut intent_data = CreateCheckoutSessionPaymentIntentData::new();
            // Copied to the charge, so refund and dispute events lead back to the order.
            intent_data.metadata = Some(order_metadata(&request.order_id));
            let session = CreateCheckoutSession::new()
                .mode(CheckoutSessionMode::Payment)
                .line_items(line_items)
                .client_reference_id(request.order_id.clone())
                .metadata(order_metadata(&request.order_id))
                .payment_intent_data(intent_data)
                .expires_at(request.expires_at_unix_seconds)
                .success_url(
                    self.public_page(&format!("/checkout/complete?order_id={}", request.order_id)),
                )
                .cancel_url(self.public_page("/cart"))
                .customize()
                .request_strategy(idempotency_key(format!("checkout-{}", request.order_id))?)
                .send(&self.client)
                .await
                .map_err(|error| gateway_error("create checkout session", error))?;
            let checkout_url = session.url.ok_or_else(|| {
                GatewayError::Unavailable("the new session has no URL".to_owned())
            })?;
            Ok(CreatedSession {
                session_id: session.id.as_str().to_owned(),
                checkout_url,
            })
        })
    }

    fn checkout_session<'a>(&'a self, session_id: &'a str) -> GatewayFuture<'a, SessionState> {
        Box::pin(async move {
            let session = RetrieveCheckoutSession::new(session_id)
                .expand(vec![SESSION_EXPANSION.to_owned()])
                .send(&self.client)
                .await
                .map_err(|error| gateway_error("retrieve checkout session", error))?;
            session_state(session)
        })
    }

    fn order_of_charge<'a>(&'a self, charge_id: &'a str) -> GatewayFuture<'a, Option<String>> {
        Box::pin(async move {
            // The charge request type lives in a crate not otherwise needed; the generic request
            // builder reads the same object.
            let charge: Charge =
                RequestBuilder::new(StripeMethod::Get, format!("/charges/{charge_id}"))
                    .customize()
                    .send(&self.client)
                    .await
                    .map_err(|error| gateway_error("retrieve charge", error))?;
            Ok(charge.metadata.get(ORDER_ID_METADATA_KEY).cloned())
        })
    }

    fn create_payout_account<'a>(&'a self, artist: ArtistId) -> GatewayFuture<'a, String> {
        Box::pin(async move {
            let mut capabilities = CreateAccountCapabilities::new();
            capabilities.transfers = Some(CreateAccountCapabilitiesTransfers {
                requested: Some(true),
            });
            let account = CreateAccount::new()
                .type_(CreateAccountType::Express)
                .capabilities(capabilities)
                .metadata(HashMap::from([(
                    "artist_id".to_owned(),
                    artist.to_string(),
                )]))
                .customize()
                .request_strategy(idempotency_key(format!("payout-account-{artist}"))?)
                .send(&self.client)
                .await
                .map_err(|error| gateway_error("create account", error))?;
            Ok(account.id.as_str().to_owned())
        })
    }

    fn payout_onboarding_url<'a>(&'a self, account_id: &'a str) -> GatewayFuture<'a, String> {
        Box::pin(async move {
            let link = CreateAccountLink::new(account_id, CreateAccountLinkType::AccountOnboarding)
                .refresh_url(self.public_page("/artist/payouts?onboarding=refresh"))
                .return_url(self.public_page("/artist/payouts?onboarding=done"))
                .send(&self.client)
                .await
                .map_err(|error| gateway_error("create account link", error))?;
            Ok(link.url)
        })
    }

    fn payout_account_status<'a>(
        &'a self,
        account_id: &'a str,
    ) -> GatewayFuture<'a, PayoutAccountStatus> {
        Box::pin(async move {
            let account = RetrieveAccount::new(account_id)
                .send(&self.client)
                .await
                .map_err(|error| gateway_error("retrieve account", error))?;
            Ok(account_status(&account))
        })
    }
}

impl PayoutGateway for StripeGateway {
    /// Blocks the calling thread (royalties' payout run is synchronous): the request runs on a
    /// runtime of its own in a thread of its own, so this works inside or outside any async runtime.
    fn create_transfer(
        &self,
        idempotency_key_text: &str,
        destination: &str,
        amount: Cents,
    ) -> Result<TransferId, royalties::GatewayError> {
        let unknown = |message: String| royalties::GatewayError::Unknown(message);
        let strategy = idempotency_key(idempotency_key_text.to_owned())
            .map_err(|error| royalties::GatewayError::Declined(error.to_string()))?;
        let request = CreateTransfer::new(Currency::USD, destination.to_owned())
            .amount(amount.0)
            .metadata(HashMap::from([(
                "payout_id".to_owned(),
                idempotency_key_text.to_owned(),
            )]));
        let config = self.config.clone();
        let outcome = std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|error| GatewayError::Unavailable(error.to_string()))?;
                    runtime.block_on(async {
                        // A client of this runtime: pooled connections must not outlive it.
                        let client = build_client(&config)?;
                        request
                            .customize()
                            .request_strategy(strategy)
                            .send(&client)
                            .await
                            .map_err(|error| gateway_error("create transfer", error))
                    })
                })
                .join()
        })
        .map_err(|_| unknown("the transfer thread panicked".to_owned()))?;
        match outcome {
            Ok(transfer) => Ok(TransferId(transfer.id.as_str().to_owned())),
            Err(GatewayError::Refused(message)) => Err(royalties::GatewayError::Declined(message)),
            Err(other) => Err(unknown(other.to_string())),
        }
    }
}
