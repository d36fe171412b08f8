//! Orders: a listener's cart, priced by the catalog, stored with its lines before the gateway is
//! asked for one checkout session for the whole cart. A retried checkout of the same cart (same
//! items, same amounts) returns the same order and session while it can still be paid.

use std::collections::HashSet;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use megabox_database::{DbConnection, DbPool, write_transaction};
use megabox_domain::{ArtistId, Cents, UserId};
use sha2::{Digest, Sha256};

use crate::catalog_items::{PricedItem, price_item};
use crate::entitlements::owns_item;
use crate::gateway::{CheckoutLine, CheckoutRequest, PaymentGateway};
use crate::item::Item;
use crate::locks::lock_for_transaction;
use crate::schema::{payment_order_lines, payment_orders};
use crate::{PaymentsError, now, with_connection};

/// The most items one cart may hold.
pub const CART_ITEMS_MAX: usize = 50;
/// The smallest total the gateway can charge (Stripe's minimum for USD).
pub const CHARGE_CENTS_MIN: i64 = 50;
/// How long a checkout session can be paid.
pub const CHECKOUT_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// A retried checkout reuses the pending order only while this much of its lifetime is left, so
/// the listener is never sent to a session about to expire.
const CHECKOUT_REUSE_MARGIN: Duration = Duration::from_secs(10 * 60);

/// One item of a cart. `offer` is what the listener chose to pay for a pay-what-you-want item;
/// for a fixed price it is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct CartItem {
    pub item: Item,
    pub offer: Option<Cents>,
}

/// Where to send the listener to pay.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckoutStarted {
    pub order_id: String,
    pub checkout_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Waiting for the buyer (or a delayed payment method).
    Pending,
    Paid,
    /// A delayed payment failed.
    Failed,
    /// The session expired or the buyer canceled.
    Canceled,
    Refunded,
    Disputed,
}

impl OrderStatus {
    const ALL: [OrderStatus; 6] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Failed,
        OrderStatus::Canceled,
        OrderStatus::Refunded,
        OrderStatus::Disputed,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Failed => "failed",
            OrderStatus::Canceled => "canceled",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Disputed => "disputed",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<OrderStatus, PaymentsError> {
        OrderStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| PaymentsError::Corrupt(format!("order status {text:?}")))
    }

    /// How far along an order is. Status only moves to a higher stage, so applying the gateway's
    /// state from events in any order ends in the same place: paid beats unpaid outcomes, and a
    /// reversal (refund or dispute) is final.
    pub(crate) fn stage(self) -> u8 {
        match self {
            OrderStatus::Pending => 0,
            OrderStatus::Failed | OrderStatus::Canceled => 1,
            OrderStatus::Paid => 2,
            OrderStatus::Refunded | OrderStatus::Disputed => 3,
        }
    }

    /// True for the states in which the listener owns the order's items.
    pub(crate) fn grants_entitlements(self) -> bool {
        self == OrderStatus::Paid
    }
}

/// An order line as stored: the catalog's price at checkout time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrderLine {
    pub item: Item,
    pub artist: ArtistId,
    pub title: String,
    pub amount: Cents,
}

/// An order as its listener sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrderSummary {
    pub id: String,
    pub listener: UserId,
    pub status: OrderStatus,
    pub total: Cents,
    /// The processor's fee, known once paid.
    pub fee: Option<Cents>,
    pub lines: Vec<OrderLine>,
    pub created_at: NaiveDateTime,
}

/// Prices the cart from the catalog, stores the order and its lines, and opens one checkout
/// session for it. Retrying with the same cart returns the same order and session.
pub async fn checkout(
    pool: &DbPool,
    gateway: &dyn PaymentGateway,
    listener: UserId,
    cart: &[CartItem],
) -> Result<CheckoutStarted, PaymentsError> {
    check_cart_shape(cart)?;
    let cart = cart.to_vec();
    let gateway_kind = gateway.kind().as_str();
    let prepared = with_connection(pool, move |connection| {
        prepare_order(connection, listener, &cart, gateway_kind)
    })
    .await?;
    if let Some(checkout_url) = prepared.checkout_url {
        return Ok(CheckoutStarted {
            order_id: prepared.order_id,
            checkout_url,
        });
    }
    // The order and its lines are committed: whatever happens to this call, the gateway's session
    // (created with the order id as idempotency key) can be matched to them.
    let session = gateway.create_checkout_session(&prepared.request).await?;
    let order_id = prepared.order_id.clone();
    let stored_session = session.clone();
    let checkout_url = with_connection(pool, move |connection| {
        write_transaction(connection, |connection| {
            diesel::update(
                payment_orders::table
                    .find(&order_id)
                    .filter(payment_orders::session_id.is_null()),
            )
            .set((
                payment_orders::session_id.eq(&stored_session.session_id),
                payment_orders::checkout_url.eq(&stored_session.checkout_url),
                payment_orders::updated_at.eq(now()),
            ))
            .execute(connection)?;
            // A concurrent retry may have stored the session first; the gateway returned the same one.
            let stored: Option<String> = payment_orders::table
                .find(&order_id)
                .select(payment_orders::checkout_url)
                .first(connection)?;
            stored
                .ok_or_else(|| PaymentsError::Corrupt(format!("order {order_id} lost its session")))
        })
    })
    .await?;
    Ok(CheckoutStarted {
        order_id: prepared.order_id,
        checkout_url,
    })
}

fn check_cart_shape(cart: &[CartItem]) -> Result<(), PaymentsError> {
    if cart.is_empty() {
        return Err(PaymentsError::EmptyCart);
    }
    if cart.len() > CART_ITEMS_MAX {
        return Err(PaymentsError::TooManyItems);
    }
    let mut seen = HashSet::with_capacity(cart.len());
    for entry in cart {
        if !seen.insert(entry.item) {
            return Err(PaymentsError::DuplicateItem(entry.item));
        }
    }
    Ok(())
}

struct PreparedOrder {
    order_id: String,
    /// Set when a pending order of the same cart already has a session to send the listener to.
    checkout_url: Option<String>,
    request: CheckoutRequest,
}

fn prepare_order(
    connection: &mut DbConnection,
    listener: UserId,
    cart: &[CartItem],
    gateway_kind: &str,
) -> Result<PreparedOrder, PaymentsError> {
    let mut priced = Vec::with_capacity(cart.len());
    for entry in cart {
        priced.push(price_item(connection, entry.item, entry.offer)?);
    }
    priced.sort_by_key(|line| line.item);
    // A track bought together with its own release is the same music twice.
    for line in &priced {
        if let Item::Track(_) = line.item
            && priced
                .iter()
                .any(|other| other.item == Item::Release(line.release))
        {
            return Err(PaymentsError::DuplicateItem(line.item));
        }
    }
    let mut total = Cents::ZERO;
    for line in &priced {
        // Offers are capped by the catalog, so only corrupt prices could overflow.
        total = total
            .checked_add(line.amount)
            .map_err(|_| PaymentsError::Corrupt("the cart's total overflows".to_owned()))?;
    }
    if total.0 < CHARGE_CENTS_MIN {
        return Err(PaymentsError::BelowMinimumCharge);
    }
    let fingerprint = cart_fingerprint(&priced);
    write_transaction(connection, |connection| {
        // One checkout per listener at a time, so a double-submitted cart finds the first order.
        lock_for_transaction(connection, &format!("listener:{listener}"))?;
        for line in &priced {
            if owns_item(connection, listener, line.item)? {
                return Err(PaymentsError::AlreadyOwned(line.item));
            }
        }
        let current = now();
        if let Some(existing) = reusable_order(connection, listener, &fingerprint, current)? {
            return Ok(existing);
        }
        let order_id = uuid::Uuid::now_v7().to_string();
        let lifetime = chrono::Duration::from_std(CHECKOUT_LIFETIME)
            .map_err(|error| PaymentsError::Corrupt(error.to_string()))?;
        let expires_at = current + lifetime;
        diesel::insert_into(payment_orders::table)
            .values((
                payment_orders::id.eq(&order_id),
                payment_orders::listener_id.eq(listener.to_string()),
                payment_orders::status.eq(OrderStatus::Pending.as_str()),
                payment_orders::gateway.eq(gateway_kind),
                payment_orders::cart_fingerprint.eq(&fingerprint),
                payment_orders::total_cents.eq(total.0),
                payment_orders::expires_at.eq(expires_at),
                payment_orders::created_at.eq(current),
                payment_orders::updated_at.eq(current),
            ))
            .execute(connection)?;
        for line in &priced {
            diesel::insert_into(payment_order_lines::table)
                .values((
                    payment_order_lines::order_id.eq(&order_id),
                    payment_order_lines::item_ref.eq(line.item.reference()),
                    payment_order_lines::item_kind.eq(line.item.kind()),
                    payment_order_lines::item_id.eq(line.item.id_text()),
                    payment_order_lines::artist_id.eq(line.artist.to_string()),
                    payment_order_lines::title.eq(&line.title),
                    payment_order_lines::amount_cents.eq(line.amount.0),
                ))
                .execute(connection)?;
        }
        Ok(PreparedOrder {
            request: CheckoutRequest {
                order_id: order_id.clone(),
                lines: priced
                    .iter()
                    .map(|line| CheckoutLine {
                        name: line.title.clone(),
                        amount: line.amount,
                    })
                    .collect(),
                expires_at_unix_seconds: expires_at.and_utc().timestamp(),
            },
            order_id,
            checkout_url: None,
        })
    })
}

/// The listener's pending order of the same cart, if it can still be paid comfortably.
fn reusable_order(
    connection: &mut DbConnection,
    listener: UserId,
    fingerprint: &str,
    current: NaiveDateTime,
) -> Result<Option<PreparedOrder>, PaymentsError> {
    let margin = chrono::Duration::from_std(CHECKOUT_REUSE_MARGIN)
        .map_err(|error| PaymentsError::Corrupt(error.to_string()))?;
    let existing: Option<(String, Option<String>, NaiveDateTime)> = payment_orders::table
        .filter(payment_orders::listener_id.eq(listener.to_string()))
        .filter(payment_orders::cart_fingerprint.eq(fingerprint))
        .filter(payment_orders::status.eq(OrderStatus::Pending.as_str()))
        .filter(payment_orders::expires_at.gt(current + margin))
        .order(payment_orders::created_at.desc())
        .select((
            payment_orders::id,
            payment_orders::checkout_url,
            payment_orders::expires_at,
        ))
        .first(connection)
        .optional()?;
    let Some((order_id, checkout_url, expires_at)) = existing else {
        return Ok(None);
    };
    let lines = order_lines(connection, &order_id)?;
    Ok(Some(PreparedOrder {
        request: CheckoutRequest {
            order_id: order_id.clone(),
            lines: lines
                .into_iter()
                .map(|line| CheckoutLine {
                    name: line.title,
                    amount: line.amount,
                })
                .collect(),
            expires_at_unix_seconds: expires_at.and_utc().timestamp(),
        },
        order_id,
        checkout_url,
    }))
}

/// Identifies a cart by what is bought at which amounts, so a retry finds its order.
fn cart_fingerprint(priced: &[PricedItem]) -> String {
    let mut hasher = Sha256::new();
    for line in priced {
        hasher.update(format!("{}={};", line.item.reference(), line.amount.0).as_bytes());
    }
    hex::encode(hasher.finalize())
}

pub(crate) fn order_lines(
    connection: &mut DbConnection,
    order_id: &str,
) -> Result<Vec<OrderLine>, PaymentsError> {
    let rows: Vec<(String, String, String, String, i64)> = payment_order_lines::table
        .filter(payment_order_lines::order_id.eq(order_id))
        .order(payment_order_lines::item_ref)
        .select((
            payment_order_lines::item_kind,
            payment_order_lines::item_id,
            payment_order_lines::artist_id,
            payment_order_lines::title,
            payment_order_lines::amount_cents,
        ))
        .load(connection)?;
    rows.into_iter()
        .map(|(kind, id, artist, title, amount_cents)| {
            Ok(OrderLine {
                item: Item::parse(&kind, &id)?,
                artist: artist
                    .parse()
                    .map_err(|_| PaymentsError::Corrupt(format!("artist id {artist:?}")))?,
                title,
                amount: Cents(amount_cents),
            })
        })
        .collect()
}

/// The listener's order; `None` for an unknown order or another listener's.
pub fn order(
    connection: &mut DbConnection,
    listener: UserId,
    order_id: &str,
) -> Result<Option<OrderSummary>, PaymentsError> {
    let row: Option<(String, String, i64, Option<i64>, NaiveDateTime)> = payment_orders::table
        .find(order_id)
        .filter(payment_orders::listener_id.eq(listener.to_string()))
        .select((
            payment_orders::id,
            payment_orders::status,
            payment_orders::total_cents,
            payment_orders::fee_cents,
            payment_orders::created_at,
        ))
        .first(connection)
        .optional()?;
    let Some((id, status, total_cents, fee_cents, created_at)) = row else {
        return Ok(None);
    };
    Ok(Some(OrderSummary {
        lines: order_lines(connection, &id)?,
        id,
        listener,
        status: OrderStatus::parse(&status)?,
        total: Cents(total_cents),
        fee: fee_cents.map(Cents),
        created_at,
    }))
}
