//! Test controls under `/_fake/…`: what a buyer, a bank or a connected account would do on Stripe's
//! side (pay, fail, refund, dispute, finish onboarding), inspection of transfers and events, and
//! explicit webhook (re)delivery. `FakeStripe`'s methods call the same functions.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::Shared;
use crate::error::ApiError;
use crate::state::{PaymentTiming, TransferRecord};
use crate::webhooks::{self, Delivery, DeliveryRecord, WebhookEndpoint};

/// How many events one explicit delivery may name.
pub const DELIVERY_EVENTS_MAX: usize = 1_000;

/// What a control did: the object it changed, the events it recorded and how their delivery went.
#[derive(Debug, Clone, Serialize)]
pub struct ControlOutcome {
    pub object: Value,
    pub events: Vec<String>,
    pub deliveries: Vec<DeliveryRecord>,
}

/// A change on Stripe's side of the world.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Action<'a> {
    CompleteCheckoutSession {
        id: &'a str,
        payment: PaymentTiming,
    },
    SettleAsyncPayment {
        id: &'a str,
        succeeded: bool,
    },
    ExpireCheckoutSession {
        id: &'a str,
    },
    RefundCharge {
        id: &'a str,
        amount_cents: Option<i64>,
    },
    OpenDispute {
        id: &'a str,
    },
    MarkAccountReady {
        id: &'a str,
    },
}

/// Applies `action` and sends the events it caused as `delivery` says.
pub(crate) async fn run(
    shared: &Arc<Shared>,
    action: Action<'_>,
    delivery: Delivery,
) -> Result<ControlOutcome, ApiError> {
    delivery.validate()?;
    let (object, events) = {
        let mut state = shared.lock();
        state.ensure_room_for_an_operation()?;
        let result = match action {
            Action::CompleteCheckoutSession { id, payment } => {
                state.complete_checkout_session(id, payment)
            }
            Action::SettleAsyncPayment { id, succeeded } => {
                state.settle_async_payment(id, succeeded)
            }
            Action::ExpireCheckoutSession { id } => state.expire_checkout_session(id),
            Action::RefundCharge { id, amount_cents } => {
                state.refund_charge(id, amount_cents, None, BTreeMap::new())
            }
            Action::OpenDispute { id } => state.open_dispute(id),
            Action::MarkAccountReady { id } => state.mark_account_ready(id),
        };
        match result {
            Ok(object) => (object, state.take_new_events()),
            Err(error) => {
                state.discard_new_events();
                return Err(error);
            }
        }
    };
    let deliveries = webhooks::deliver(shared, events.clone(), delivery).await?;
    Ok(ControlOutcome {
        object,
        events,
        deliveries,
    })
}

/// Sends recorded events again, in the order given.
pub(crate) async fn deliver_events(
    shared: &Arc<Shared>,
    event_ids: Vec<String>,
    delivery: Delivery,
) -> Result<Vec<DeliveryRecord>, ApiError> {
    if event_ids.is_empty() || event_ids.len() > DELIVERY_EVENTS_MAX {
        return Err(ApiError::parameter_invalid(
            "event_ids",
            format!("Name between 1 and {DELIVERY_EVENTS_MAX} events."),
        ));
    }
    if shared.lock().webhook_endpoint.is_none() {
        return Err(ApiError::operation_failed(
            "webhook_endpoint_missing",
            "Configure a webhook endpoint first.".to_owned(),
        ));
    }
    webhooks::deliver(shared, event_ids, delivery).await
}

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/_fake/webhook_endpoint",
            web::post().to(set_webhook_endpoint),
        )
        .route(
            "/_fake/checkout/sessions/{id}/complete",
            web::post().to(complete_checkout_session),
        )
        .route(
            "/_fake/checkout/sessions/{id}/async_payment",
            web::post().to(settle_async_payment),
        )
        .route(
            "/_fake/checkout/sessions/{id}/expire",
            web::post().to(expire_checkout_session),
        )
        .route("/_fake/charges/{id}/refund", web::post().to(refund_charge))
        .route("/_fake/charges/{id}/dispute", web::post().to(open_dispute))
        .route(
            "/_fake/accounts/{id}/ready",
            web::post().to(mark_account_ready),
        )
        .route("/_fake/balance", web::get().to(balance))
        .route("/_fake/balance", web::post().to(top_up))
        .route("/_fake/transfers", web::get().to(transfers))
        .route("/_fake/events", web::get().to(events))
        .route("/_fake/events/deliver", web::post().to(deliver))
        .route("/_fake/deliveries", web::get().to(deliveries))
        .route("/_fake/pay/{id}", web::get().to(payment_page))
        .route("/_fake/pay/{id}", web::post().to(pay))
        .route("/_fake/onboarding/{id}", web::get().to(onboarding_page));
}

/// Reads a JSON control body; an empty body means "all defaults".
fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|error| ApiError::invalid_request(None, format!("Invalid control body: {error}")))
}

fn outcome_response(outcome: &ControlOutcome) -> HttpResponse {
    HttpResponse::Ok().json(outcome)
}

fn arc(shared: web::Data<Shared>) -> Arc<Shared> {
    shared.into_inner()
}

async fn set_webhook_endpoint(
    shared: web::Data<Shared>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let endpoint: WebhookEndpoint = json_body(&body)?;
    shared.lock().webhook_endpoint = Some(endpoint.clone());
    Ok(HttpResponse::Ok().json(json!({ "url": endpoint.url })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DeliveryOnly {
    delivery: Delivery,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct CompleteRequest {
    payment: PaymentTiming,
    delivery: Delivery,
}

async fn complete_checkout_session(
    shared: web::Data<Shared>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: CompleteRequest = json_body(&body)?;
    let action = Action::CompleteCheckoutSession {
        id: &id,
        payment: request.payment,
    };
    Ok(outcome_response(
        &run(&arc(shared), action, request.delivery).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AsyncPaymentRequest {
    succeeded: bool,
    #[serde(default)]
    delivery: Delivery,
}

async fn settle_async_payment(
    shared: web::Data<Shared>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: AsyncPaymentRequest = json_body(&body)?;
    let action = Action::SettleAsyncPayment {
        id: &id,
        succeeded: request.succeeded,
    };
    Ok(outcome_response(
        &run(&arc(shared), action, request.delivery).await?,
    ))
}

async fn expire_checkout_session(
    shared: web::Data<Shared>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: DeliveryOnly = json_body(&body)?;
    Ok(outcome_response(
        &run(
            &arc(shared),
            Action::ExpireCheckoutSession { id: &id },
            request.delivery,
        )
        .await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RefundRequest {
    amount: Option<i64>,
    delivery: Delivery,
}

async fn refund_charge(
    shared: web::Data<Shared>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: RefundRequest = json_body(&body)?;
    let action = Action::RefundCharge {
        id: &id,
        amount_cents: request.amount,
    };
    Ok(outcome_response(
        &run(&arc(shared), action, request.delivery).await?,
    ))
}

async fn open_dispute(
    shared: web::Data<Shared>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: DeliveryOnly = json_body(&body)?;
    Ok(outcome_response(
        &run(
            &arc(shared),
            Action::OpenDispute { id: &id },
            request.delivery,
        )
        .await?,
    ))
}

async fn mark_account_ready(
    shared: web::Data<Shared>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: DeliveryOnly = json_body(&body)?;
    Ok(outcome_response(
        &run(
            &arc(shared),
            Action::MarkAccountReady { id: &id },
            request.delivery,
        )
        .await?,
    ))
}

async fn balance(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "available_cents": shared.lock().available_balance_cents() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopUpRequest {
    amount_cents: i64,
}

async fn top_up(shared: web::Data<Shared>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let request: TopUpRequest = json_body(&body)?;
    let available_cents = shared.lock().top_up(request.amount_cents)?;
    Ok(HttpResponse::Ok().json(json!({ "available_cents": available_cents })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransfersQuery {
    idempotency_key: Option<String>,
}

async fn transfers(shared: web::Data<Shared>, query: web::Query<TransfersQuery>) -> HttpResponse {
    let transfers: Vec<TransferRecord> = shared
        .lock()
        .transfers()
        .into_iter()
        .filter(|transfer| {
            query.idempotency_key.is_none() || transfer.idempotency_key == query.idempotency_key
        })
        .collect();
    HttpResponse::Ok().json(json!({ "count": transfers.len(), "transfers": transfers }))
}

async fn events(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "events": shared.lock().events() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliverRequest {
    event_ids: Vec<String>,
    #[serde(default)]
    delivery: Delivery,
}

async fn deliver(shared: web::Data<Shared>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let request: DeliverRequest = json_body(&body)?;
    let deliveries = deliver_events(&arc(shared), request.event_ids, request.delivery).await?;
    Ok(HttpResponse::Ok().json(json!({ "deliveries": deliveries })))
}

async fn deliveries(shared: web::Data<Shared>) -> HttpResponse {
    let deliveries: Vec<DeliveryRecord> = shared.lock().deliveries.iter().cloned().collect();
    HttpResponse::Ok().json(json!({ "deliveries": deliveries }))
}

/// Escapes text for HTML, so ids and amounts from requests cannot inject markup.
fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The hosted payment page a Checkout Session's `url` points at, for running the store by hand.
async fn payment_page(
    shared: web::Data<Shared>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let session = shared
        .lock()
        .retrieve(crate::state::ObjectKind::CheckoutSession, &id)?;
    let amount = session["amount_total"].as_i64().unwrap_or_default();
    let currency = session["currency"].as_str().unwrap_or_default();
    let id = escape_html(&id);
    let page = format!(
        "<!doctype html><title>Fake Stripe Checkout</title><h1>Fake Stripe Checkout (test mode)</h1>\
         <p>Session {id}: {amount} {currency} (minor units).</p>\
         <form method=post><button name=action value=pay>Pay</button> \
         <button name=action value=cancel>Cancel</button></form>",
        currency = escape_html(currency),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayForm {
    action: String,
}

async fn pay(
    shared: web::Data<Shared>,
    id: web::Path<String>,
    form: web::Form<PayForm>,
) -> Result<HttpResponse, ApiError> {
    let paid = match form.action.as_str() {
        "pay" => true,
        "cancel" => false,
        other => {
            return Err(ApiError::parameter_invalid(
                "action",
                format!("Unknown action {other}; use pay or cancel."),
            ));
        }
    };
    let shared = arc(shared);
    let action = if paid {
        Action::CompleteCheckoutSession {
            id: &id,
            payment: PaymentTiming::Immediate,
        }
    } else {
        Action::ExpireCheckoutSession { id: &id }
    };
    run(&shared, action, Delivery::default()).await?;
    let redirect = shared.lock().checkout_redirect(&id, paid);
    Ok(match redirect {
        Some(location) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .finish(),
        None => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(if paid { "Paid." } else { "Cancelled." }),
    })
}

/// Where an Account Link leads: onboarding completes at once.
async fn onboarding_page(
    shared: web::Data<Shared>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    run(
        &arc(shared),
        Action::MarkAccountReady { id: &id },
        Delivery::default(),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("Fake Stripe onboarding complete (test mode)."))
}
