//! Buying: checkout of a cart (one gateway session per cart), the Stripe webhook, the listener's
//! orders and library, artists' payout accounts, and the operator's payout run. Prices always
//! come from the catalog; the client only chooses an amount for pay-what-you-want.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use megabox_domain::Cents;
use megabox_payments::{
    CartItem, EntitlementSource, Item, OrderLine, OrderStatus, OrderSummary, WebhookOutcome,
};
use royalties::PayoutAccountStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::releases::acting_artist;
use super::views::parse_id;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartItemRequest {
    /// A release to buy whole…
    #[schema(value_type = Option<String>, format = Uuid)]
    pub release_id: Option<String>,
    /// …or a single track.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub track_id: Option<String>,
    /// For pay-what-you-want items: what the listener chooses to pay, at least the minimum.
    /// Ignored for fixed prices.
    pub amount_cents: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    pub items: Vec<CartItemRequest>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckoutResponse {
    pub order_id: String,
    /// Where to send the listener to pay (a local test-mode page in the embedded default).
    pub checkout_url: String,
    /// True when no real money moves.
    pub test_mode: bool,
}

fn cart_item(request: &CartItemRequest) -> Result<CartItem, ApiError> {
    let item = match (&request.release_id, &request.track_id) {
        (Some(release), None) => Item::Release(parse_id(release, "release")?),
        (None, Some(track)) => Item::Track(parse_id(track, "track")?),
        _ => {
            return Err(ApiError::invalid(
                "invalid_cart",
                "each item names exactly one of release_id and track_id",
            ));
        }
    };
    Ok(CartItem {
        item,
        offer: request.amount_cents.map(Cents),
    })
}

/// Buy a cart of releases and tracks from any number of artists in one payment.
#[utoipa::path(tag = "buying", security(("bearer" = [])), request_body = CheckoutRequest,
    responses((status = 201, body = CheckoutResponse), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "already owned", body = crate::error::ErrorBody),
        (status = 422, description = "empty, oversized or invalid cart; offer below the minimum", body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
#[post("/checkout")]
pub async fn start_checkout(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    body: web::Json<CheckoutRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .rate_limit(&state.limits.checkout, &user.user_id.to_string())
        .await?;
    let cart = body
        .items
        .iter()
        .map(cart_item)
        .collect::<Result<Vec<_>, _>>()?;
    let started = state.payments.checkout(user.user_id, &cart).await?;
    Ok(HttpResponse::Created().json(CheckoutResponse {
        order_id: started.order_id,
        checkout_url: started.checkout_url,
        test_mode: state.payments.is_test_mode(),
    }))
}

/// What was bought: a whole release, or one track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKindView {
    Release,
    Track,
}

#[derive(Serialize, ToSchema)]
pub struct ItemView {
    pub kind: ItemKindView,
    pub id: String,
}

impl From<Item> for ItemView {
    fn from(item: Item) -> Self {
        match item {
            Item::Release(id) => ItemView {
                kind: ItemKindView::Release,
                id: id.to_string(),
            },
            Item::Track(id) => ItemView {
                kind: ItemKindView::Track,
                id: id.to_string(),
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrderLineView {
    pub item: ItemView,
    pub title: String,
    pub amount_cents: i64,
}

impl From<OrderLine> for OrderLineView {
    fn from(line: OrderLine) -> Self {
        OrderLineView {
            item: line.item.into(),
            title: line.title,
            amount_cents: line.amount.0,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    pub status: OrderStatusView,
    pub total_cents: i64,
    pub lines: Vec<OrderLineView>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<OrderSummary> for OrderView {
    fn from(order: OrderSummary) -> Self {
        OrderView {
            id: order.id,
            status: order.status.into(),
            total_cents: order.total.0,
            lines: order.lines.into_iter().map(OrderLineView::from).collect(),
            created_at: super::time::utc(order.created_at),
        }
    }
}

/// One of the caller's orders.
#[utoipa::path(tag = "buying", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = OrderView), (status = 404, body = crate::error::ErrorBody)))]
#[get("/orders/{id}")]
pub async fn show_order(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
    path: web::Path<String>,
) -> Result<web::Json<OrderView>, ApiError> {
    let order_id = path.into_inner();
    if order_id.len() > 100 {
        return Err(ApiError::not_found("order not found"));
    }
    let order = state
        .database(move |connection| {
            Ok(megabox_payments::order(
                connection,
                user.user_id,
                &order_id,
            )?)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("order not found"))?;
    Ok(web::Json(order.into()))
}

/// Stripe's webhook. The signature is checked against the raw body; each event is applied once,
/// whatever the order or number of deliveries.
#[utoipa::path(tag = "buying", request_body(content = String, description = "the event, exactly as Stripe sent it"),
    params(("Stripe-Signature" = String, Header)),
    responses((status = 200, description = "applied, duplicate or ignored"), (status = 400, description = "bad signature or event", body = crate::error::ErrorBody)))]
#[post("/webhooks/stripe")]
pub async fn receive_stripe_webhook(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let signature = request
        .headers()
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok());
    let outcome = state.payments.handle_webhook(&body, signature).await?;
    // A refund or a dispute may have revoked a stream grant.
    state.stream_grants.forget_all();
    let (event_id, result) = match &outcome {
        WebhookOutcome::Applied { event_id, .. } => (event_id, "applied"),
        WebhookOutcome::Duplicate { event_id } => (event_id, "duplicate"),
        WebhookOutcome::Ignored { event_id, .. } => (event_id, "ignored"),
    };
    tracing::info!(stripe.event_id = %event_id, webhook.result = result, "webhook handled");
    Ok(HttpResponse::Ok().json(serde_json::json!({"received": true, "result": result})))
}

#[derive(Serialize, ToSchema)]
pub struct LibraryItemView {
    pub item: ItemView,
    /// The track or release title; absent when the artist has taken it off the store.
    pub title: Option<String>,
    pub artist_name: Option<String>,
    /// The paid order that granted the item, or…
    pub order_id: Option<String>,
    /// …the download credit it was redeemed with (`POST /installer/redemptions`).
    pub redemption_id: Option<String>,
    pub granted_at: chrono::DateTime<chrono::Utc>,
}

/// The title and artist of a bought item, as the catalog shows it now.
fn describe(
    connection: &mut megabox_database::DbConnection,
    item: Item,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let release = match item {
        Item::Release(release) => release,
        Item::Track(track) => match catalog::tracks::track_media(connection, track, None) {
            Ok(media) => media.release_id,
            Err(catalog::CatalogError::NotFound { .. }) => return Ok((None, None)),
            Err(error) => return Err(error.into()),
        },
    };
    match catalog::releases::public_release(connection, release) {
        Ok(detail) => {
            let title = match item {
                Item::Release(_) => detail.release.title,
                Item::Track(track) => detail
                    .tracks
                    .into_iter()
                    .find(|candidate| candidate.id == track)
                    .map(|found| found.title),
            };
            Ok((title, Some(detail.artist_name)))
        }
        Err(catalog::CatalogError::NotFound { .. }) => Ok((None, None)),
        Err(error) => Err(error.into()),
    }
}

/// What the caller owns.
#[utoipa::path(tag = "buying", security(("bearer" = [])), responses((status = 200, body = Vec<LibraryItemView>)))]
#[get("/library")]
pub async fn show_library(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<Vec<LibraryItemView>>, ApiError> {
    let library = state
        .database(move |connection| {
            let owned = megabox_payments::entitlements_of(connection, user.user_id)?;
            owned
                .into_iter()
                .map(|entitlement| {
                    let (title, artist_name) = describe(connection, entitlement.item)?;
                    let (order_id, redemption_id) = match entitlement.source {
                        EntitlementSource::Order(order) => (Some(order), None),
                        EntitlementSource::CreditRedemption(redemption) => (None, Some(redemption)),
                    };
                    Ok(LibraryItemView {
                        item: entitlement.item.into(),
                        title,
                        artist_name,
                        order_id,
                        redemption_id,
                        granted_at: super::time::utc(entitlement.granted_at),
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await?;
    Ok(web::Json(library))
}

wire_enum!(
    /// Where an order stands.
    OrderStatusView mirrors OrderStatus { Pending, Paid, Failed, Canceled, Refunded, Disputed }
);

/// Where an artist's payout account stands: `none` until onboarding starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayoutAccountStatusView {
    None,
    Pending,
    Ready,
    Disabled,
}

impl From<Option<PayoutAccountStatus>> for PayoutAccountStatusView {
    fn from(status: Option<PayoutAccountStatus>) -> Self {
        match status {
            None => PayoutAccountStatusView::None,
            Some(PayoutAccountStatus::Pending) => PayoutAccountStatusView::Pending,
            Some(PayoutAccountStatus::Ready) => PayoutAccountStatusView::Ready,
            Some(PayoutAccountStatus::Disabled) => PayoutAccountStatusView::Disabled,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PayoutAccountView {
    pub status: PayoutAccountStatusView,
}

/// The caller's payout account status.
#[utoipa::path(tag = "money", security(("bearer" = [])), responses((status = 200, body = PayoutAccountView)))]
#[get("/artist/payout-account")]
pub async fn show_payout_account(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<PayoutAccountView>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let status = state
        .database(move |connection| {
            Ok(megabox_payments::payout_account_status(connection, artist)?)
        })
        .await?;
    Ok(web::Json(PayoutAccountView {
        status: status.into(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct OnboardingView {
    /// Where the artist finishes setting up payouts with the payment provider.
    pub onboarding_url: String,
}

/// Start (or resume) setting up the caller's payout account.
#[utoipa::path(tag = "money", security(("bearer" = [])), responses((status = 200, body = OnboardingView), (status = 403, body = crate::error::ErrorBody)))]
#[post("/artist/payout-account")]
pub async fn start_payout_onboarding(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<OnboardingView>, ApiError> {
    let artist = acting_artist(&state, user).await?;
    let onboarding_url = state.payments.start_payout_onboarding(artist).await?;
    Ok(web::Json(OnboardingView { onboarding_url }))
}

#[derive(Serialize, ToSchema)]
pub struct PayoutRunView {
    pub created: usize,
    pub posted: usize,
    pub voided: usize,
    /// Outcome unknown at the gateway; the next run asks again with the same idempotency key.
    pub still_pending: usize,
    pub debts_recovered: usize,
}

/// Operator: pay every artist whose balance reached the threshold and whose payout account is
/// ready — exactly one transfer each, even across crashes and re-runs.
#[utoipa::path(tag = "operations", security(("bearer" = [])), responses((status = 200, body = PayoutRunView), (status = 403, body = crate::error::ErrorBody)))]
#[post("/admin/payouts/run")]
pub async fn admin_run_payouts(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<PayoutRunView>, ApiError> {
    user.require_admin()?;
    let state_for_work = state.clone();
    let threshold = Cents(state.settings.payout_threshold_cents);
    let run = state
        .database(move |connection| {
            Ok(royalties::run_payouts(
                connection,
                state_for_work.payments.payout_gateway(),
                threshold,
            )?)
        })
        .await?;
    tracing::info!(operator.id = %user.user_id, payouts.posted = run.posted, payouts.voided = run.voided, "payout run");
    Ok(web::Json(PayoutRunView::from(run)))
}

impl From<royalties::PayoutRun> for PayoutRunView {
    fn from(run: royalties::PayoutRun) -> Self {
        PayoutRunView {
            created: run.created,
            posted: run.posted,
            voided: run.voided,
            still_pending: run.still_pending,
            debts_recovered: run.debts_recovered,
        }
    }
}
