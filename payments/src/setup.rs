//! Choosing the gateway from the store's settings, and [`Payments`], the handle the store keeps:
//! each payments endpoint is one call on it.
//!
//! With a Stripe secret key (`MEGABOX_STRIPE_SECRET_KEY`) the Stripe gateway is used, and its
//! webhook signing secret (`MEGABOX_STRIPE_WEBHOOK_SECRET`) is required; `MEGABOX_STRIPE_API_BASE`
//! points the client at another server (the fake). Without a key the test-mode gateway is used,
//! signing its webhooks with the configured secret or, when there is none, a random one.

use std::fmt;
use std::sync::Arc;

use megabox_database::DbPool;
use megabox_domain::{ArtistId, UserId};
use rand::Rng;
use royalties::{PayoutGateway, RoyaltySettings};
use secrecy::SecretString;

use crate::gateway::{GatewayError, PaymentGateway};
use crate::orders::{CartItem, CheckoutStarted};
use crate::stripe::{StripeConfig, StripeGateway};
use crate::test_mode::{TestCheckoutAction, TestCheckoutView, TestModeGateway};
use crate::webhooks::{WebhookConfig, WebhookOutcome};
use crate::{PaymentsError, checkout, handle_webhook, start_payout_onboarding};

/// Bytes of a generated test-mode signing secret.
const GENERATED_SECRET_BYTES: usize = 32;

/// The payment settings the store reads from its configuration. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub struct PaymentSettings {
    pub stripe_secret_key: Option<SecretString>,
    pub stripe_webhook_secret: Option<SecretString>,
    pub stripe_api_base: Option<String>,
    /// The store's public URL, e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
    pub royalty_settings: RoyaltySettings,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("MEGABOX_STRIPE_SECRET_KEY is set but MEGABOX_STRIPE_WEBHOOK_SECRET is not")]
    MissingWebhookSecret,
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

/// The store's handle on payments: the gateway, the webhook settings and the database.
#[derive(Clone)]
pub struct Payments {
    pool: DbPool,
    gateway: Arc<dyn PaymentGateway>,
    payouts: Arc<dyn PayoutGateway + Send + Sync>,
    test_mode: Option<TestModeGateway>,
    webhook: WebhookConfig,
}

impl fmt::Debug for Payments {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Payments")
            .field("gateway", &self.gateway)
            .field("webhook", &self.webhook)
            .finish_non_exhaustive()
    }
}

impl Payments {
    pub fn new(pool: DbPool, settings: PaymentSettings) -> Result<Payments, SettingsError> {
        let royalty_settings = settings.royalty_settings;
        match settings.stripe_secret_key {
            Some(secret_key) => {
                let webhook_secret = settings
                    .stripe_webhook_secret
                    .ok_or(SettingsError::MissingWebhookSecret)?;
                let stripe = Arc::new(StripeGateway::new(StripeConfig {
                    secret_key,
                    api_base: settings.stripe_api_base,
                    public_url: settings.public_url,
                })?);
                Ok(Payments {
                    pool,
                    gateway: stripe.clone(),
                    payouts: stripe,
                    test_mode: None,
                    webhook: WebhookConfig {
                        signing_secrets: vec![webhook_secret],
                        royalty_settings,
                    },
                })
            }
            None => {
                let signing_secret = settings
                    .stripe_webhook_secret
                    .unwrap_or_else(generated_secret);
                let test_mode =
                    TestModeGateway::new(pool.clone(), settings.public_url, signing_secret.clone());
                Ok(Payments {
                    pool,
                    gateway: Arc::new(test_mode.clone()),
                    payouts: Arc::new(test_mode.clone()),
                    test_mode: Some(test_mode),
                    webhook: WebhookConfig {
                        signing_secrets: vec![signing_secret],
                        royalty_settings,
                    },
                })
            }
        }
    }

    /// True when no money moves: the store labels every payment page as test mode.
    pub fn is_test_mode(&self) -> bool {
        self.test_mode.is_some()
    }

    pub fn gateway(&self) -> &dyn PaymentGateway {
        self.gateway.as_ref()
    }

    /// The gateway royalties' payout run sends transfers through.
    pub fn payout_gateway(&self) -> &(dyn PayoutGateway + Send + Sync) {
        self.payouts.as_ref()
    }

    /// `POST /api/v1/checkout`.
    pub async fn checkout(
        &self,
        listener: UserId,
        cart: &[CartItem],
    ) -> Result<CheckoutStarted, PaymentsError> {
        checkout(&self.pool, self.gateway.as_ref(), listener, cart).await
    }

    /// `POST /api/v1/webhooks/stripe`: the raw body and the `Stripe-Signature` header.
    pub async fn handle_webhook(
        &self,
        payload: &[u8],
        signature_header: Option<&str>,
    ) -> Result<WebhookOutcome, PaymentsError> {
        handle_webhook(
            &self.pool,
            self.gateway.as_ref(),
            &self.webhook,
            payload,
            signature_header,
        )
        .await
    }

    /// `GET /test-checkout/{id}`: `None` when the id is unknown or the gateway is not in test mode.
    pub async fn test_checkout_view(
        &self,
        session_id: &str,
    ) -> Result<Option<TestCheckoutView>, PaymentsError> {
        match &self.test_mode {
            Some(test_mode) => test_mode.checkout_view(session_id).await,
            None => Ok(None),
        }
    }

    /// `POST /test-checkout/{id}` with `action=pay|cancel`: completes the session and hands the
    /// signed event to [`Payments::handle_webhook`], the entry point real webhooks use.
    pub async fn complete_test_checkout(
        &self,
        session_id: &str,
        action: TestCheckoutAction,
    ) -> Result<WebhookOutcome, PaymentsError> {
        self.complete_test_checkout_at(session_id, action, crate::now())
            .await
    }

    /// [`Payments::complete_test_checkout`] as if the buyer acted at `acted_at`, the time the
    /// sale is booked at: how the demo makes its past months of sales.
    pub async fn complete_test_checkout_at(
        &self,
        session_id: &str,
        action: TestCheckoutAction,
        acted_at: chrono::NaiveDateTime,
    ) -> Result<WebhookOutcome, PaymentsError> {
        let test_mode = self
            .test_mode
            .as_ref()
            .ok_or(PaymentsError::TestSessionNotFound)?;
        let webhook = test_mode
            .complete_checkout_at(session_id, action, acted_at)
            .await?;
        self.handle_webhook(webhook.payload.as_bytes(), Some(&webhook.signature_header))
            .await
    }

    /// `POST /api/v1/artist/payout-account`: the URL to send the artist to.
    pub async fn start_payout_onboarding(&self, artist: ArtistId) -> Result<String, PaymentsError> {
        start_payout_onboarding(&self.pool, self.gateway.as_ref(), artist).await
    }
}

fn generated_secret() -> SecretString {
    let bytes: [u8; GENERATED_SECRET_BYTES] = rand::rng().random();
    SecretString::from(format!("whsec_test_{}", hex::encode(bytes)))
}
