//! An in-memory fake of the part of the Stripe API Megabox uses, served over HTTP so that the store's
//! real async-stripe client can point its base URL at it. No test in this project calls the real Stripe.
//!
//! ```no_run
//! # async fn example() -> Result<(), fake_stripe::StartError> {
//! let fake = fake_stripe::FakeStripe::start(fake_stripe::FakeStripeConfig::default()).await?;
//! // Give `fake.base_url()` to the client (`ClientBuilder::new(fake.secret_key()).url(fake.base_url())`).
//! fake.set_webhook_endpoint("http://127.0.0.1:8080/api/v1/webhooks/stripe", "whsec_test");
//! # Ok(()) }
//! ```
//!
//! # Stripe endpoints (Bearer secret key; form-encoded bodies; Stripe-shaped JSON and errors)
//!
//! `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions/{id}`, `GET /v1/payment_intents/{id}`,
//! `GET /v1/charges/{id}`, `GET /v1/balance_transactions/{id}`, `POST /v1/refunds`, `GET /v1/refunds/{id}`,
//! `GET /v1/disputes/{id}`, `POST /v1/accounts`, `GET /v1/accounts/{id}`, `POST /v1/account_links`,
//! `POST /v1/transfers`, `GET /v1/transfers/{id}`, `GET /v1/events/{id}`, `GET /v1/balance`.
//! GETs accept `expand[]` (`payment_intent.latest_charge.balance_transaction`).
//! Every POST follows Stripe's `Idempotency-Key` rules: the same key with the same parameters replays
//! the stored response (with `Idempotent-Replayed: true`), with other parameters it fails with
//! `idempotency_error`, and concurrent requests with one key have one effect.
//!
//! # Test controls (JSON bodies, no authentication; an empty body means all defaults)
//!
//! | control | effect |
//! | --- | --- |
//! | `POST /_fake/webhook_endpoint` `{url, secret}` | where events go |
//! | `POST /_fake/checkout/sessions/{id}/complete` `{payment: "immediate"\|"delayed", delivery}` | pay: payment intent, charge, balance transaction with the fee; `checkout.session.completed` |
//! | `POST /_fake/checkout/sessions/{id}/async_payment` `{succeeded, delivery}` | `checkout.session.async_payment_succeeded` (with the charge) or `_failed` |
//! | `POST /_fake/checkout/sessions/{id}/expire` `{delivery}` | the buyer gives up: `checkout.session.expired` |
//! | `POST /_fake/charges/{id}/refund` `{amount?, delivery}` | `charge.refunded` |
//! | `POST /_fake/charges/{id}/dispute` `{delivery}` | `charge.dispute.created` |
//! | `POST /_fake/accounts/{id}/ready` `{delivery}` | charges and payouts enabled: `account.updated` |
//! | `GET`/`POST /_fake/balance` `{amount_cents}` | read / top up the available balance |
//! | `GET /_fake/transfers?idempotency_key=` | transfers made (and their count), for exactly-once assertions |
//! | `GET /_fake/events`, `POST /_fake/events/deliver` `{event_ids, delivery}` | list events; send them again in any order |
//! | `GET /_fake/deliveries` | every delivery attempt and the store's answer |
//! | `GET`/`POST /_fake/pay/{id}`, `GET /_fake/onboarding/{account}` | the pages a Checkout Session's and an Account Link's `url` lead to |
//!
//! `delivery` is [`Delivery`]: `{hold, copies, concurrent, delay_ms, signing: "valid"|"wrong_secret"|"stale_timestamp"|"unsigned", background}`.
//! Events caused by the store's own API calls (refunds) are sent once, in the background.

mod api;
mod controls;
mod error;
mod form;
mod objects;
mod signature;
mod state;
mod webhooks;

use actix_web::{App, HttpServer, web};
use serde_json::Value;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use api::{BODY_BYTES_MAX, IDEMPOTENCY_KEY_CHARS_MAX};
pub use controls::ControlOutcome;
pub use error::{ApiError, ErrorType};
pub use signature::{hmac_sha256_hex, sign_webhook, webhook_signature_v1};
pub use state::{
    API_VERSION, EventSummary, FeeSchedule, OBJECTS_MAX, PaymentTiming, TransferRecord,
};
pub use webhooks::{
    Delivery, DeliveryRecord, STALE_SIGNATURE_AGE_SECONDS, Signing, WebhookEndpoint,
};

use controls::Action;
use state::State;

/// The secret key the fake accepts unless configured otherwise.
pub const DEFAULT_SECRET_KEY: &str = "sk_test_fake_stripe";
/// How many HTTP worker threads the fake runs: two, so concurrency tests really race.
const WORKERS: usize = 2;

/// How to start a fake.
#[derive(Debug, Clone)]
pub struct FakeStripeConfig {
    /// Where to listen; port 0 picks a free port.
    pub bind: SocketAddr,
    /// The only secret key the API accepts (`Authorization: Bearer …`).
    pub secret_key: String,
    pub fees: FeeSchedule,
    /// The platform's currency: checkouts may use any, transfers only this one.
    pub currency: String,
    /// Where events go; can also be set later with [`FakeStripe::set_webhook_endpoint`].
    pub webhook_endpoint: Option<WebhookEndpoint>,
    /// How long `POST /v1/transfers` takes, as a slow network and gateway would: half of it
    /// before the transfer is made, half after it is made and before the answer is sent, so that
    /// a client killed meanwhile may or may not have moved the money (crash-safety tests).
    pub transfer_latency: Duration,
}

impl Default for FakeStripeConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            fees: FeeSchedule::default(),
            currency: "usd".to_owned(),
            webhook_endpoint: None,
            transfer_latency: Duration::ZERO,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("could not build the webhook HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
}

/// What every request handler shares.
pub(crate) struct Shared {
    state: Mutex<State>,
    secret_key: String,
    /// `http://127.0.0.1:{port}/`, with the trailing slash async-stripe expects.
    base_url: String,
    http: reqwest::Client,
    transfer_latency: Duration,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every operation validates before it mutates, so a panic cannot leave half an operation
        // behind; a poisoned lock still guards consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) fn unix_time_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// A running fake Stripe server; dropping it stops the server.
pub struct FakeStripe {
    shared: Arc<Shared>,
    server: actix_web::dev::ServerHandle,
}

impl FakeStripe {
    /// Starts the server on `config.bind` inside the current Tokio runtime.
    pub async fn start(config: FakeStripeConfig) -> Result<Self, StartError> {
        let listener = TcpListener::bind(config.bind).map_err(|source| StartError::Bind {
            address: config.bind,
            source,
        })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            address: config.bind,
            source,
        })?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(webhooks::WEBHOOK_TIMEOUT_MS))
            // The client is used from several runtimes (the caller's and the server's workers);
            // pooled connections would be tied to whichever runtime opened them.
            .pool_max_idle_per_host(0)
            .build()?;
        let mut state = State::new(config.fees, config.currency.to_ascii_lowercase());
        state.webhook_endpoint = config.webhook_endpoint;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            secret_key: config.secret_key,
            base_url: format!("http://{address}/"),
            http,
            transfer_latency: config.transfer_latency,
        });
        let data = web::Data::from(Arc::clone(&shared));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .configure(api::routes)
                .configure(controls::routes)
                .default_service(web::to(api::unknown_route))
        })
        .workers(WORKERS)
        .disable_signals()
        .listen(listener)
        .map_err(|source| StartError::Bind { address, source })?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            shared,
            server: handle,
        })
    }

    /// The base URL to give the Stripe client, with a trailing slash: `http://127.0.0.1:{port}/`.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The secret key the fake accepts.
    pub fn secret_key(&self) -> &str {
        &self.shared.secret_key
    }

    /// Sends future events to `url`, signed with `secret`.
    pub fn set_webhook_endpoint(&self, url: impl Into<String>, secret: impl Into<String>) {
        self.shared.lock().webhook_endpoint = Some(WebhookEndpoint {
            url: url.into(),
            secret: secret.into(),
        });
    }

    /// The buyer pays the Checkout Session; `checkout.session.completed` is sent as `delivery` says.
    pub async fn complete_checkout_session(
        &self,
        id: &str,
        payment: PaymentTiming,
        delivery: Delivery,
    ) -> Result<ControlOutcome, ApiError> {
        controls::run(
            &self.shared,
            Action::CompleteCheckoutSession { id, payment },
            delivery,
        )
        .await
    }

    /// A delayed payment succeeds (with a charge) or fails.
    pub async fn settle_async_payment(
        &self,
        id: &str,
        succeeded: bool,
        delivery: Delivery,
    ) -> Result<ControlOutcome, ApiError> {
        controls::run(
            &self.shared,
            Action::SettleAsyncPayment { id, succeeded },
            delivery,
        )
        .await
    }

    /// The Checkout Session expires unpaid.
    pub async fn expire_checkout_session(
        &self,
        id: &str,
        delivery: Delivery,
    ) -> Result<ControlOutcome, ApiError> {
        controls::run(&self.shared, Action::ExpireCheckoutSession { id }, delivery).await
    }

    /// Refunds a charge (all that is left when `amount_cents` is `None`) from Stripe's dashboard.
    pub async fn refund_charge(
        &self,
        charge_id: &str,
        amount_cents: Option<i64>,
        delivery: Delivery,
    ) -> Result<ControlOutcome, ApiError> {
        controls::run(
            &self.shared,
            Action::RefundCharge {
                id: charge_id,
                amount_cents,
            },
            delivery,
        )
        .await
    }

    /// The buyer disputes a charge.
    pub async fn open_dispute(
        &self,
        charge_id: &str,
        delivery: Delivery,
    ) -> Result<ControlOutcome, ApiError> {
        controls::run(
            &self.shared,
            Action::OpenDispute { id: charge_id },
            delivery,
        )
        .await
    }

    /// The connected account finishes onboarding: charges and payouts enabled, transfers active.
    pub async fn mark_account_ready(
        &self,
        account_id: &str,
        delivery: Delivery,
    ) -> Result<ControlOutcome, ApiError> {
        controls::run(
            &self.shared,
            Action::MarkAccountReady { id: account_id },
            delivery,
        )
        .await
    }

    /// Sends recorded events (again), in the order given.
    pub async fn deliver_events(
        &self,
        event_ids: &[String],
        delivery: Delivery,
    ) -> Result<Vec<DeliveryRecord>, ApiError> {
        controls::deliver_events(&self.shared, event_ids.to_vec(), delivery).await
    }

    /// Every event recorded so far, oldest first.
    pub fn events(&self) -> Vec<EventSummary> {
        self.shared.lock().events()
    }

    /// The exact body every delivery of event `id` sends (sign it with [`sign_webhook`] to hand it
    /// to a webhook handler directly).
    pub fn event_payload(&self, id: &str) -> Option<String> {
        self.shared
            .lock()
            .event_payload(id)
            .map(|(_event_type, payload)| payload)
    }

    /// Every delivery attempt so far (the most recent ones when there were very many).
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.shared.lock().deliveries.iter().cloned().collect()
    }

    /// The platform's available balance.
    pub fn available_balance_cents(&self) -> i64 {
        self.shared.lock().available_balance_cents()
    }

    /// Adds to the available balance, as if from earlier sales; returns the new balance.
    pub fn add_available_balance(&self, amount_cents: i64) -> Result<i64, ApiError> {
        self.shared.lock().top_up(amount_cents)
    }

    /// Every transfer made, oldest first.
    pub fn transfers(&self) -> Vec<TransferRecord> {
        self.shared.lock().transfers()
    }

    /// How many transfers requests carrying `idempotency_key` created (exactly-once checks expect 1).
    pub fn transfer_count_for_idempotency_key(&self, idempotency_key: &str) -> usize {
        self.transfers()
            .iter()
            .filter(|transfer| transfer.idempotency_key.as_deref() == Some(idempotency_key))
            .count()
    }

    /// Any object by id (`cs_…`, `pi_…`, `ch_…`, `txn_…`, `re_…`, `du_…`, `acct_…`, `tr_…`, `evt_…`), as the API renders it.
    pub fn object(&self, id: &str) -> Option<Value> {
        self.shared.lock().retrieve_any(id)
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        // `stop` sends its command immediately; the returned future only waits for completion.
        drop(self.server.stop(false));
    }
}
