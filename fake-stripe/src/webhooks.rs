//! Sending events to the store's webhook endpoint, signed as Stripe signs them, with the knobs the
//! store's reliability tests need: several copies, concurrent copies, a delay, a caller-chosen
//! order, a wrong secret, a stale timestamp or no signature at all.

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

use crate::Shared;
use crate::error::ApiError;
use crate::signature::sign_webhook;

/// How many webhook delivery attempts are kept for inspection; older ones are dropped first.
pub const DELIVERY_RECORDS_MAX: usize = 20_000;
/// How many copies of one event a single delivery may send.
pub const WEBHOOK_COPIES_MAX: u32 = 100;
/// The longest delay a delivery may wait before sending.
pub const WEBHOOK_DELAY_MS_MAX: u64 = 60_000;
/// How long the fake waits for the store to answer one delivery.
pub const WEBHOOK_TIMEOUT_MS: u64 = 10_000;
/// How old a stale signature's timestamp is: well past Stripe's 300-second tolerance.
pub const STALE_SIGNATURE_AGE_SECONDS: i64 = 3_600;
/// The secret a `wrong_secret` delivery signs with.
const WRONG_WEBHOOK_SECRET: &str = "whsec_not_the_endpoint_secret";

/// Where events go, and the secret they are signed with (`whsec_…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    pub url: String,
    pub secret: String,
}

/// How a delivery signs its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signing {
    /// Signed with the endpoint's secret at the current time, as Stripe does.
    #[default]
    Valid,
    /// Signed with a secret the endpoint does not know (a forged request).
    WrongSecret,
    /// Signed correctly but with a timestamp an hour old (a replayed request).
    StaleTimestamp,
    /// No `Stripe-Signature` header at all.
    Unsigned,
}

/// How the events of one operation (or one explicit redelivery) are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Delivery {
    /// Record the events but send nothing; send them later with `deliver_events`, in any order.
    pub hold: bool,
    /// How many times each event is sent (duplicates, as Stripe's retries produce).
    pub copies: u32,
    /// Send all copies of all events at once instead of one after another.
    pub concurrent: bool,
    /// Wait this long before sending.
    pub delay_ms: u64,
    pub signing: Signing,
    /// Return at once and send in the background (with `delay_ms`, this lets a later event overtake).
    pub background: bool,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            hold: false,
            copies: 1,
            concurrent: false,
            delay_ms: 0,
            signing: Signing::Valid,
            background: false,
        }
    }
}

impl Delivery {
    pub(crate) fn validate(&self) -> Result<(), ApiError> {
        if !(1..=WEBHOOK_COPIES_MAX).contains(&self.copies) || self.delay_ms > WEBHOOK_DELAY_MS_MAX
        {
            return Err(ApiError::parameter_invalid(
                "delivery",
                format!(
                    "copies must be between 1 and {WEBHOOK_COPIES_MAX} and delay_ms at most {WEBHOOK_DELAY_MS_MAX}."
                ),
            ));
        }
        Ok(())
    }
}

/// One attempt to deliver one event, as the store answered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    pub event_id: String,
    pub event_type: String,
    pub signing: Signing,
    /// The store's HTTP status, or `None` when the request failed (`error` says why).
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// Sends `event_ids` as `delivery` says and returns what the endpoint answered (nothing when held,
/// sent in the background, or when no endpoint is configured).
pub(crate) async fn deliver(
    shared: &Arc<Shared>,
    event_ids: Vec<String>,
    delivery: Delivery,
) -> Result<Vec<DeliveryRecord>, ApiError> {
    delivery.validate()?;
    if delivery.hold || event_ids.is_empty() {
        return Ok(Vec::new());
    }
    let (endpoint, events) = {
        let state = shared.lock();
        let mut events = Vec::with_capacity(event_ids.len());
        for id in &event_ids {
            let (event_type, payload) = state
                .event_payload(id)
                .ok_or_else(|| ApiError::resource_missing("event_ids", "event", id))?;
            events.push((id.clone(), event_type, payload));
        }
        (state.webhook_endpoint.clone(), events)
    };
    let Some(endpoint) = endpoint else {
        return Ok(Vec::new());
    };
    if delivery.background {
        let shared = Arc::clone(shared);
        tokio::spawn(async move { send_all(&shared, &endpoint, &events, delivery).await });
        return Ok(Vec::new());
    }
    Ok(send_all(shared, &endpoint, &events, delivery).await)
}

async fn send_all(
    shared: &Arc<Shared>,
    endpoint: &WebhookEndpoint,
    events: &[(String, String, String)],
    delivery: Delivery,
) -> Vec<DeliveryRecord> {
    if delivery.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delivery.delay_ms)).await;
    }
    let copies = events.iter().flat_map(|event| {
        std::iter::repeat_n(event, usize::try_from(delivery.copies).unwrap_or(1))
    });
    let records = if delivery.concurrent {
        join_all(copies.map(|(id, event_type, payload)| {
            send_one(shared, endpoint, id, event_type, payload, delivery.signing)
        }))
        .await
    } else {
        let mut records = Vec::new();
        for (id, event_type, payload) in copies {
            records
                .push(send_one(shared, endpoint, id, event_type, payload, delivery.signing).await);
        }
        records
    };
    let mut state = shared.lock();
    for record in &records {
        if state.deliveries.len() >= DELIVERY_RECORDS_MAX {
            state.deliveries.pop_front();
        }
        state.deliveries.push_back(record.clone());
    }
    records
}

async fn send_one(
    shared: &Shared,
    endpoint: &WebhookEndpoint,
    event_id: &str,
    event_type: &str,
    payload: &str,
    signing: Signing,
) -> DeliveryRecord {
    let now = crate::unix_time_seconds();
    let signature = match signing {
        Signing::Valid => Some(sign_webhook(&endpoint.secret, now, payload)),
        Signing::WrongSecret => Some(sign_webhook(WRONG_WEBHOOK_SECRET, now, payload)),
        Signing::StaleTimestamp => Some(sign_webhook(
            &endpoint.secret,
            now - STALE_SIGNATURE_AGE_SECONDS,
            payload,
        )),
        Signing::Unsigned => None,
    };
    let mut request = shared
        .http
        .post(&endpoint.url)
        .header("content-type", "application/json; charset=utf-8")
        .header(
            "user-agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .body(payload.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let (status, error) = match request.send().await {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(error) => (None, Some(error.to_string())),
    };
    tracing::debug!(
        event.id = event_id,
        event.kind = event_type,
        ?status,
        ?error,
        "fake stripe delivered a webhook"
    );
    DeliveryRecord {
        event_id: event_id.to_owned(),
        event_type: event_type.to_owned(),
        signing,
        status,
        error,
    }
}
