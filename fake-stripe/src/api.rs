//! The Stripe API endpoints under `/v1`: Bearer secret-key authentication, form-encoded bodies,
//! Stripe-shaped JSON, and Stripe's idempotency-key rules on every POST.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

use crate::Shared;
use crate::error::ApiError;
use crate::form::{self, Params};
use crate::state::{IdempotencyLookup, ObjectKind, RequestContext, StoredResponse};
use crate::webhooks::{self, Delivery};

/// The largest request body the fake reads.
pub const BODY_BYTES_MAX: usize = 256 * 1024;
/// Stripe's limit on the length of an `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;

/// The objects the POST endpoints create.
#[derive(Debug, Clone, Copy)]
enum Creation {
    CheckoutSession,
    Refund,
    Account,
    AccountLink,
    Transfer,
}

const CREATE_ROUTES: [(&str, Creation); 5] = [
    ("/v1/checkout/sessions", Creation::CheckoutSession),
    ("/v1/refunds", Creation::Refund),
    ("/v1/accounts", Creation::Account),
    ("/v1/account_links", Creation::AccountLink),
    ("/v1/transfers", Creation::Transfer),
];

const RETRIEVE_ROUTES: [(&str, ObjectKind); 9] = [
    ("/v1/checkout/sessions/{id}", ObjectKind::CheckoutSession),
    ("/v1/payment_intents/{id}", ObjectKind::PaymentIntent),
    ("/v1/charges/{id}", ObjectKind::Charge),
    (
        "/v1/balance_transactions/{id}",
        ObjectKind::BalanceTransaction,
    ),
    ("/v1/refunds/{id}", ObjectKind::Refund),
    ("/v1/disputes/{id}", ObjectKind::Dispute),
    ("/v1/accounts/{id}", ObjectKind::Account),
    ("/v1/transfers/{id}", ObjectKind::Transfer),
    ("/v1/events/{id}", ObjectKind::Event),
];

pub(crate) fn routes(config: &mut web::ServiceConfig) {
    for (path, creation) in CREATE_ROUTES {
        config.route(
            path,
            web::post().to(
                move |request: HttpRequest, payload: web::Payload, shared: web::Data<Shared>| {
                    create(request, payload, shared, creation)
                },
            ),
        );
    }
    for (path, kind) in RETRIEVE_ROUTES {
        config.route(
            path,
            web::get().to(
                move |request: HttpRequest, shared: web::Data<Shared>, id: web::Path<String>| {
                    retrieve(request, shared, id.into_inner(), kind)
                },
            ),
        );
    }
    config.route("/v1/balance", web::get().to(balance));
}

/// Stripe's 404 for any path the fake does not serve.
pub(crate) async fn unknown_route(request: HttpRequest) -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::not_found_route(request.path()))
}

/// Accepts the secret key as a Bearer token, or as the Basic-auth user name (`curl -u sk_…:`), as Stripe does.
fn authenticate(request: &HttpRequest, shared: &Shared) -> Result<(), ApiError> {
    let presented = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    let key = presented.and_then(|value| {
        if let Some(token) = value.strip_prefix("Bearer ") {
            return Some(token.to_owned());
        }
        let credentials = BASE64_STANDARD.decode(value.strip_prefix("Basic ")?).ok()?;
        let credentials = String::from_utf8(credentials).ok()?;
        credentials
            .split_once(':')
            .map(|(user, _password)| user.to_owned())
    });
    match key {
        Some(key) if key == shared.secret_key => Ok(()),
        _ => Err(ApiError::invalid_api_key()),
    }
}

fn idempotency_key(request: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.chars().count() <= IDEMPOTENCY_KEY_CHARS_MAX => {
            Ok(Some(key.to_owned()))
        }
        _ => Err(ApiError::invalid_request(
            None,
            format!(
                "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_CHARS_MAX} printable characters."
            ),
        )),
    }
}

async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::invalid_request(None, format!("Could not read the body: {error}"))
        })?;
        if body.len() + chunk.len() > BODY_BYTES_MAX {
            return Err(ApiError::body_too_large(BODY_BYTES_MAX));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn respond(stored: &StoredResponse, idempotency_key: Option<&str>, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.content_type("application/json");
    if let Some(key) = idempotency_key {
        response.insert_header(("idempotency-key", key));
    }
    if replayed {
        response.insert_header(("idempotent-replayed", "true"));
    }
    response.body(stored.body.clone())
}

async fn create(
    request: HttpRequest,
    payload: web::Payload,
    shared: web::Data<Shared>,
    creation: Creation,
) -> Result<HttpResponse, ApiError> {
    authenticate(&request, &shared)?;
    let body = read_body(payload).await?;
    let parameters = form::parse(&body)?;
    if parameters.contains_key("expand") {
        return Err(ApiError::invalid_request(
            Some("expand"),
            "The fake supports expand[] only when retrieving.".to_owned(),
        ));
    }
    let idempotency_key = idempotency_key(&request)?;
    let path = request.path().to_owned();
    let latency_half = match creation {
        Creation::Transfer => shared.transfer_latency / 2,
        _ => Duration::ZERO,
    };
    tokio::time::sleep(latency_half).await;
    let (stored, new_events) = {
        let mut state = shared.lock();
        if let Some(key) = &idempotency_key {
            match state.idempotency_lookup(key, &path, &parameters)? {
                IdempotencyLookup::Replay(stored) => return Ok(respond(&stored, Some(key), true)),
                IdempotencyLookup::Unused => state.idempotency_capacity_left()?,
            }
        }
        let context = RequestContext {
            base_url: &shared.base_url,
            idempotency_key: idempotency_key.as_deref(),
        };
        state.ensure_room_for_an_operation()?;
        let params = Params::new(&parameters);
        let result = match creation {
            Creation::CheckoutSession => state.create_checkout_session(&params, &context),
            Creation::Refund => state.create_refund(&params),
            Creation::Account => state.create_account(&params),
            Creation::AccountLink => state.create_account_link(&params, &context),
            Creation::Transfer => state.create_transfer(&params, &context),
        };
        let stored = match result {
            Ok(object) => StoredResponse {
                status: StatusCode::OK.as_u16(),
                body: object.to_string(),
            },
            Err(error) => {
                state.discard_new_events();
                if !(error.replayed_under_idempotency_key && idempotency_key.is_some()) {
                    return Err(error);
                }
                StoredResponse {
                    status: error.status.as_u16(),
                    body: error.body().to_string(),
                }
            }
        };
        if let Some(key) = &idempotency_key {
            state.idempotency_store(key, &path, parameters.clone(), stored.clone());
        }
        (stored, state.take_new_events())
    };
    tokio::time::sleep(latency_half).await;
    // Events caused by the store's own API calls (a refund) go out in the background: the store
    // may still be inside the request that caused them, as it would be with the real Stripe.
    let shared: Arc<Shared> = shared.into_inner();
    if let Err(error) = webhooks::deliver(
        &shared,
        new_events,
        Delivery {
            background: true,
            ..Delivery::default()
        },
    )
    .await
    {
        tracing::warn!(%error, "fake stripe could not queue webhooks");
    }
    Ok(respond(&stored, idempotency_key.as_deref(), false))
}

async fn retrieve(
    request: HttpRequest,
    shared: web::Data<Shared>,
    id: String,
    kind: ObjectKind,
) -> Result<HttpResponse, ApiError> {
    authenticate(&request, &shared)?;
    let query = form::parse(request.query_string().as_bytes())?;
    let params = Params::new(&query);
    params.allow_only(&["expand"])?;
    let expand = params.string_list("expand")?;
    let object = {
        let state = shared.lock();
        let mut object = state.retrieve(kind, &id)?;
        state.expand(&mut object, &expand)?;
        object
    };
    Ok(HttpResponse::Ok().json(object))
}

async fn balance(
    request: HttpRequest,
    shared: web::Data<Shared>,
) -> Result<HttpResponse, ApiError> {
    authenticate(&request, &shared)?;
    Ok(HttpResponse::Ok().json(shared.lock().render_balance()))
}
