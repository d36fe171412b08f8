//! Helpers shared by the fake's integration tests: a started fake, raw form-encoded requests, and a
//! webhook receiver that verifies signatures with async-stripe's own webhook code.

#![allow(dead_code, clippy::unwrap_used)] // Each test binary uses a different subset.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use fake_stripe::{FakeStripe, FakeStripeConfig};
use serde_json::Value;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

pub const WEBHOOK_SECRET: &str = "whsec_test_secret";

pub async fn start_fake() -> FakeStripe {
    FakeStripe::start(FakeStripeConfig::default())
        .await
        .unwrap()
}

/// A raw HTTP answer: status, headers of interest and the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub replayed: bool,
    pub body: Value,
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|value| value == "true");
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    Answer {
        status,
        replayed,
        body,
    }
}

/// POSTs form `pairs` to `path` with the fake's key (and an idempotency key if given).
pub async fn post_form(
    fake: &FakeStripe,
    path: &str,
    pairs: &[(&str, &str)],
    idempotency_key: Option<&str>,
) -> Answer {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", fake.base_url()))
        .bearer_auth(fake.secret_key())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(pairs).unwrap());
    if let Some(key) = idempotency_key {
        request = request.header("idempotency-key", key);
    }
    answer(request.send().await.unwrap()).await
}

pub async fn get(fake: &FakeStripe, path_and_query: &str) -> Answer {
    let response = reqwest::Client::new()
        .get(format!("{}{path_and_query}", fake.base_url()))
        .bearer_auth(fake.secret_key())
        .send()
        .await
        .unwrap();
    answer(response).await
}

/// POSTs a JSON control body.
pub async fn control(fake: &FakeStripe, path: &str, body: Value) -> Answer {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", fake.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    answer(response).await
}

pub const CHECKOUT_FORM: [(&str, &str); 9] = [
    ("mode", "payment"),
    ("line_items[0][price_data][currency]", "usd"),
    ("line_items[0][price_data][unit_amount]", "1000"),
    ("line_items[0][price_data][product_data][name]", "Album"),
    ("line_items[0][quantity]", "1"),
    ("line_items[1][price_data][currency]", "usd"),
    ("line_items[1][price_data][unit_amount]", "250"),
    ("line_items[1][price_data][product_data][name]", "Single"),
    ("line_items[1][quantity]", "2"),
];

/// Creates a checkout session for 15.00 USD and returns its id.
pub async fn create_session(fake: &FakeStripe) -> String {
    let answer = post_form(fake, "v1/checkout/sessions", &CHECKOUT_FORM, None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

/// Creates an Express account and marks it ready; returns its id.
pub async fn ready_account(fake: &FakeStripe) -> String {
    let answer = post_form(
        fake,
        "v1/accounts",
        &[
            ("type", "express"),
            ("capabilities[transfers][requested]", "true"),
        ],
        None,
    )
    .await;
    let id = answer.body["id"].as_str().unwrap().to_owned();
    fake.mark_account_ready(&id, fake_stripe::Delivery::default())
        .await
        .unwrap();
    id
}

/// One webhook request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub signature: Option<String>,
    pub payload: String,
    /// What `stripe_webhook::Webhook::construct_event` made of it: the event type, or the error.
    pub verified: Result<String, String>,
}

/// A store stand-in that verifies every delivery exactly as the store will, with async-stripe.
pub struct WebhookReceiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    server: actix_web::dev::ServerHandle,
}

async fn receive(
    request: HttpRequest,
    body: web::Bytes,
    received: web::Data<Mutex<Vec<Received>>>,
) -> HttpResponse {
    let payload = String::from_utf8(body.to_vec()).unwrap();
    let signature = request
        .headers()
        .get("stripe-signature")
        .map(|value| value.to_str().unwrap().to_owned());
    let verified = match &signature {
        Some(signature) => {
            stripe_webhook::Webhook::construct_event(&payload, signature, WEBHOOK_SECRET)
                .map(|event| event.type_.as_str().to_owned())
                .map_err(|error| error.to_string())
        }
        None => Err("unsigned".to_owned()),
    };
    let status = if verified.is_ok() { 200 } else { 400 };
    received.lock().unwrap().push(Received {
        signature,
        payload,
        verified,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/webhooks/stripe", listener.local_addr().unwrap());
        let received = web::Data::new(Mutex::new(Vec::new()));
        let shared = received.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .route("/webhooks/stripe", web::post().to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url,
            received: received.into_inner(),
            server: handle,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Starts a fake whose events go to a fresh receiver.
    pub async fn with_fake() -> (FakeStripe, Self) {
        let receiver = Self::start().await;
        let fake = start_fake().await;
        fake.set_webhook_endpoint(receiver.url.clone(), WEBHOOK_SECRET);
        (fake, receiver)
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}
