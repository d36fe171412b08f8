//! The gateway's webhooks. An event is trusted only for *which* order or account changed: the
//! handler asks the gateway for the object's current state and moves the order towards it, so
//! duplicated, concurrent and reordered deliveries end in the same state (a refund that arrives
//! before its `checkout.session.completed` leaves the order refunded, with no entitlement).
//!
//! Each event is applied once: its id is inserted in the same transaction as the order's new
//! status and its entitlements. The royalty ledger lives in the royalties crate, whose calls run
//! their own transactions; they are made *before* that transaction and are idempotent by the
//! order id (the sale) and `{order id}:reversal` (the refund or dispute), so a crash in between
//! is repaired by the gateway's retry, and a duplicate delivery books nothing twice.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Text, Timestamp};
use megabox_database::{DbConnection, DbPool, write_transaction};
use megabox_domain::{Cents, UserId};
use royalties::{
    PayoutAccountStatus, RefundInput, RefundScope, RoyaltyError, RoyaltySettings, SaleInput,
    SaleItem,
};
use secrecy::SecretString;
use serde_json::Value;

use crate::entitlements::{grant, revoke};
use crate::gateway::{PaymentGateway, SessionPayment, SessionState};
use crate::locks::with_lock;
use crate::orders::{OrderStatus, order_lines};
use crate::payout_accounts::{apply_account_status, artist_of_account};
use crate::schema::payment_orders;
use crate::signature::{SIGNATURE_TOLERANCE, verify_signature};
use crate::{PaymentsError, now, with_connection};

/// The largest webhook body read; Stripe's events are far smaller.
pub const WEBHOOK_PAYLOAD_BYTES_MAX: usize = 512 * 1024;
/// The longest event or object id accepted.
const GATEWAY_ID_CHARS_MAX: usize = 255;
/// How often a royalties call is retried when a concurrent delivery of the same event won a race
/// (a unique key or a deadlock); the second attempt finds the first one's booking.
const LEDGER_ATTEMPTS_MAX: usize = 4;

/// What the webhook endpoint needs besides the gateway.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Every secret whose signatures are accepted (the current one, and the previous one while rotating).
    pub signing_secrets: Vec<SecretString>,
    /// The artists' share of sales, passed to the royalty ledger.
    pub royalty_settings: RoyaltySettings,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WebhookOutcome {
    /// The event was applied now.
    Applied {
        event_id: String,
        event_type: String,
    },
    /// The event had been applied before; nothing changed.
    Duplicate { event_id: String },
    /// An event type (or object) this crate does not act on; acknowledge it.
    Ignored {
        event_id: String,
        event_type: String,
    },
}

/// What an event asks the handler to look at.
enum Subject {
    Session {
        session_id: String,
        payment_failed: bool,
    },
    Charge {
        charge_id: String,
    },
    Account {
        account_id: String,
    },
    Nothing,
}

/// Verifies, parses and applies one webhook delivery. The store answers 2xx for every `Ok`, 400
/// for signature and format errors, and 5xx otherwise so that the gateway delivers it again.
pub async fn handle_webhook(
    pool: &DbPool,
    gateway: &dyn PaymentGateway,
    config: &WebhookConfig,
    payload: &[u8],
    signature_header: Option<&str>,
) -> Result<WebhookOutcome, PaymentsError> {
    if payload.len() > WEBHOOK_PAYLOAD_BYTES_MAX {
        return Err(PaymentsError::MalformedEvent(
            "the body is too large".to_owned(),
        ));
    }
    verify_signature(
        signature_header,
        payload,
        &config.signing_secrets,
        chrono::Utc::now().timestamp(),
        SIGNATURE_TOLERANCE,
    )?;
    let event: Value = serde_json::from_slice(payload)
        .map_err(|error| PaymentsError::MalformedEvent(error.to_string()))?;
    let event_id = gateway_id(&event, "id")?;
    let event_type = event
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("type"))?
        .to_owned();
    let object = event
        .get("data")
        .and_then(|data| data.get("object"))
        .ok_or_else(|| malformed("data.object"))?;
    let subject = match event_type.as_str() {
        "checkout.session.completed"
        | "checkout.session.async_payment_succeeded"
        | "checkout.session.expired" => Subject::Session {
            session_id: gateway_id(object, "id")?,
            payment_failed: false,
        },
        "checkout.session.async_payment_failed" => Subject::Session {
            session_id: gateway_id(object, "id")?,
            payment_failed: true,
        },
        "charge.refunded" => Subject::Charge {
            charge_id: gateway_id(object, "id")?,
        },
        "charge.dispute.created" => Subject::Charge {
            charge_id: gateway_id(object, "charge")?,
        },
        "account.updated" => Subject::Account {
            account_id: gateway_id(object, "id")?,
        },
        _ => Subject::Nothing,
    };
    let outcome = match subject {
        Subject::Session {
            session_id,
            payment_failed,
        } => {
            apply_session(
                pool,
                gateway,
                config,
                &event_id,
                &event_type,
                &session_id,
                payment_failed,
            )
            .await?
        }
        Subject::Charge { charge_id } => {
            let Some(order_id) = gateway.order_of_charge(&charge_id).await? else {
                // A charge this store did not make (no order in its metadata).
                return Ok(ignored(event_id, event_type));
            };
            let lookup = order_id.clone();
            let session_id = with_connection(pool, move |connection| {
                payment_orders::table
                    .find(&lookup)
                    .select(payment_orders::session_id)
                    .first::<Option<String>>(connection)
                    .optional()
                    .map_err(PaymentsError::from)
            })
            .await?
            .flatten()
            .ok_or_else(|| PaymentsError::UnknownReference(format!("order {order_id}")))?;
            apply_session(
                pool,
                gateway,
                config,
                &event_id,
                &event_type,
                &session_id,
                false,
            )
            .await?
        }
        Subject::Account { account_id } => {
            apply_account(pool, gateway, &event_id, &event_type, &account_id).await?
        }
        Subject::Nothing => ignored(event_id, event_type),
    };
    tracing::info!(outcome = ?outcome, "payment webhook handled");
    Ok(outcome)
}

fn ignored(event_id: String, event_type: String) -> WebhookOutcome {
    tracing::debug!(event.id = %event_id, event.kind = %event_type, "webhook ignored");
    WebhookOutcome::Ignored {
        event_id,
        event_type,
    }
}

fn malformed(field: &str) -> PaymentsError {
    PaymentsError::MalformedEvent(format!("{field} is missing or not a string"))
}

fn gateway_id(object: &Value, field: &str) -> Result<String, PaymentsError> {
    let id = object
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(field))?;
    if id.is_empty() || id.chars().count() > GATEWAY_ID_CHARS_MAX {
        return Err(PaymentsError::MalformedEvent(format!(
            "{field} must be 1 to {GATEWAY_ID_CHARS_MAX} characters"
        )));
    }
    Ok(id.to_owned())
}

/// The order status the gateway's current state of the session calls for, if any.
fn target_status(state: &SessionState, payment_failed: bool) -> Option<OrderStatus> {
    match &state.payment {
        SessionPayment::Paid(charge) if charge.disputed => Some(OrderStatus::Disputed),
        SessionPayment::Paid(charge)
            if charge.amount_refunded.0 > 0 && charge.amount_refunded == charge.amount =>
        {
            Some(OrderStatus::Refunded)
        }
        SessionPayment::Paid(charge) => {
            if charge.amount_refunded.0 > 0 {
                // Which items a partial refund covers is not known here: the order stays paid and
                // an operator settles it.
                tracing::warn!(charge.id = %charge.charge_id, amount_refunded_cents = charge.amount_refunded.0, "partial refund left for an operator");
            }
            Some(OrderStatus::Paid)
        }
        SessionPayment::Expired => Some(OrderStatus::Canceled),
        SessionPayment::Unpaid if payment_failed => Some(OrderStatus::Failed),
        SessionPayment::Unpaid => None,
    }
}

struct StoredOrder {
    id: String,
    listener: UserId,
    total: Cents,
    session_id: Option<String>,
}

async fn apply_session(
    pool: &DbPool,
    gateway: &dyn PaymentGateway,
    config: &WebhookConfig,
    event_id: &str,
    event_type: &str,
    session_id: &str,
    payment_failed: bool,
) -> Result<WebhookOutcome, PaymentsError> {
    let state = gateway.checkout_session(session_id).await?;
    let order = {
        let state = state.clone();
        with_connection(pool, move |connection| stored_order(connection, &state)).await?
    };
    // Orders are committed before their session is created, so a session without one is not
    // this store's (another integration on the same account): nothing to do, and no retry.
    let Some(order) = order else {
        return Ok(ignored(event_id.to_owned(), event_type.to_owned()));
    };
    let target = target_status(&state, payment_failed);
    if let (Some(target), SessionPayment::Paid(charge)) = (target, &state.payment) {
        if charge.amount != order.total {
            return Err(PaymentsError::Corrupt(format!(
                "order {} totals {} but its charge {} is {}",
                order.id, order.total, charge.charge_id, charge.amount
            )));
        }
        let (order_id, fee, settings) = (order.id.clone(), charge.fee, config.royalty_settings);
        let (reversed, paid_at) = (target.stage() > OrderStatus::Paid.stage(), charge.paid_at);
        with_connection(pool, move |connection| {
            book_in_ledger(connection, &order_id, fee, paid_at, reversed, &settings)
        })
        .await?;
    }
    let (event_id, event_type) = (event_id.to_owned(), event_type.to_owned());
    with_connection(pool, move |connection| {
        write_transaction(connection, |connection| {
            if !record_event(connection, &event_id, &event_type)? {
                return Ok(WebhookOutcome::Duplicate {
                    event_id: event_id.clone(),
                });
            }
            if let Some(target) = target {
                move_order(connection, &order, &state, target)?;
            }
            Ok(WebhookOutcome::Applied {
                event_id: event_id.clone(),
                event_type: event_type.clone(),
            })
        })
    })
    .await
}

fn stored_order(
    connection: &mut DbConnection,
    state: &SessionState,
) -> Result<Option<StoredOrder>, PaymentsError> {
    let mut query = payment_orders::table.into_boxed();
    query = match &state.order_id {
        Some(order_id) => query.filter(payment_orders::id.eq(order_id.clone())),
        None => query.filter(payment_orders::session_id.eq(state.session_id.clone())),
    };
    let row: Option<(String, String, i64, Option<String>)> = query
        .select((
            payment_orders::id,
            payment_orders::listener_id,
            payment_orders::total_cents,
            payment_orders::session_id,
        ))
        .first(connection)
        .optional()?;
    let Some((id, listener, total_cents, session_id)) = row else {
        return Ok(None);
    };
    if session_id
        .as_ref()
        .is_some_and(|stored| *stored != state.session_id)
    {
        return Err(PaymentsError::UnknownReference(format!(
            "session {} of order {id}",
            state.session_id
        )));
    }
    let listener = listener
        .parse()
        .map_err(|_| PaymentsError::Corrupt(format!("listener id {listener:?}")))?;
    Ok(Some(StoredOrder {
        id,
        listener,
        total: Cents(total_cents),
        session_id,
    }))
}

/// Records the sale (and its reversal) in the royalty ledger; both calls are idempotent.
fn book_in_ledger(
    connection: &mut DbConnection,
    order_id: &str,
    fee: Cents,
    paid_at: chrono::NaiveDateTime,
    reversed: bool,
    settings: &RoyaltySettings,
) -> Result<(), PaymentsError> {
    // Royalties' calls are idempotent when they run one after the other, but on PostgreSQL two
    // concurrent `record_refund`s of one refund can both pass its duplicate check: deliveries of
    // one order's events book one after the other.
    with_lock(connection, &format!("order:{order_id}"), |connection| {
        book_sale_and_reversal(connection, order_id, fee, paid_at, reversed, settings)
    })
}

fn book_sale_and_reversal(
    connection: &mut DbConnection,
    order_id: &str,
    fee: Cents,
    paid_at: chrono::NaiveDateTime,
    reversed: bool,
    settings: &RoyaltySettings,
) -> Result<(), PaymentsError> {
    let lines = order_lines(connection, order_id)?;
    let sale = SaleInput {
        sale_id: order_id.to_owned(),
        cart_id: order_id.to_owned(),
        // The ledger shares the cart's one fee among the items pro rata to their gross.
        items: lines
            .iter()
            .map(|line| SaleItem {
                item_ref: line.item.reference(),
                artist: line.artist,
                gross: line.amount,
            })
            .collect(),
        processor_fee: fee,
        // When the buyer paid, not when the webhook arrived (a retry can come hours later).
        occurred_at: paid_at,
    };
    retry_on_conflict(|| royalties::record_sale(connection, &sale, settings))?;
    if reversed {
        let refund = RefundInput {
            refund_id: format!("{order_id}:reversal"),
            sale_id: order_id.to_owned(),
            scope: RefundScope::WholeSale,
            occurred_at: now(),
        };
        retry_on_conflict(|| royalties::record_refund(connection, &refund))?;
    }
    Ok(())
}

fn retry_on_conflict<T>(
    mut call: impl FnMut() -> Result<T, RoyaltyError>,
) -> Result<T, PaymentsError> {
    let mut attempt = 1;
    loop {
        match call() {
            Err(RoyaltyError::Database(error))
                if attempt < LEDGER_ATTEMPTS_MAX && is_lost_race(&error) =>
            {
                tracing::debug!(%error, attempt, "ledger booking raced a concurrent delivery; retrying");
                attempt += 1;
            }
            result => return result.map_err(PaymentsError::from),
        }
    }
}

fn is_lost_race(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure,
            _,
        ) => true,
        DieselError::DatabaseError(_, information) => information.message().contains("deadlock"),
        _ => false,
    }
}

/// Stores the event id; false when it was stored before (this delivery is a duplicate). A
/// concurrent delivery of the same event waits on the key until the first one commits.
fn record_event(
    connection: &mut DbConnection,
    event_id: &str,
    event_type: &str,
) -> Result<bool, PaymentsError> {
    let inserted = diesel::sql_query(
        "INSERT INTO payment_webhook_events (event_id, event_type, processed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(event_id)
    .bind::<Text, _>(event_type)
    .bind::<Timestamp, _>(now())
    .execute(connection)?;
    Ok(inserted == 1)
}

/// Moves the order forward to `target` (never back), granting or revoking its entitlements.
fn move_order(
    connection: &mut DbConnection,
    order: &StoredOrder,
    state: &SessionState,
    target: OrderStatus,
) -> Result<(), PaymentsError> {
    // Lock the order row before reading it (an update takes the lock on PostgreSQL; SQLite's
    // transaction holds the write lock already), so that two events of one order, applied
    // concurrently, see each other's status instead of both granting.
    diesel::update(payment_orders::table.find(&order.id))
        .set(payment_orders::updated_at.eq(payment_orders::updated_at))
        .execute(connection)?;
    let current: String = payment_orders::table
        .find(&order.id)
        .select(payment_orders::status)
        .first(connection)?;
    let current = OrderStatus::parse(&current)?;
    if target.stage() <= current.stage() {
        return Ok(());
    }
    let (charge_id, fee_cents) = match &state.payment {
        SessionPayment::Paid(charge) => (Some(charge.charge_id.clone()), Some(charge.fee.0)),
        SessionPayment::Unpaid | SessionPayment::Expired => (None, None),
    };
    diesel::update(payment_orders::table.find(&order.id))
        .set((
            payment_orders::status.eq(target.as_str()),
            payment_orders::session_id.eq(order
                .session_id
                .clone()
                .unwrap_or_else(|| state.session_id.clone())),
            payment_orders::charge_id.eq(charge_id),
            payment_orders::fee_cents.eq(fee_cents),
            payment_orders::updated_at.eq(now()),
        ))
        .execute(connection)?;
    match (current.grants_entitlements(), target.grants_entitlements()) {
        (false, true) => {
            grant(connection, order.listener, &order.id)?;
        }
        (true, false) => {
            revoke(connection, &order.id)?;
        }
        _ => {}
    }
    tracing::info!(order.id = %order.id, from = current.as_str(), to = target.as_str(), "order moved");
    Ok(())
}

async fn apply_account(
    pool: &DbPool,
    gateway: &dyn PaymentGateway,
    event_id: &str,
    event_type: &str,
    account_id: &str,
) -> Result<WebhookOutcome, PaymentsError> {
    let lookup = account_id.to_owned();
    let Some(artist) = with_connection(pool, move |connection| {
        artist_of_account(connection, &lookup)
    })
    .await?
    else {
        // Not one of our artists' accounts (or one whose creation was never stored): nothing to update.
        return Ok(ignored(event_id.to_owned(), event_type.to_owned()));
    };
    let status: PayoutAccountStatus = gateway.payout_account_status(account_id).await?;
    let (event_id, event_type, account_id) = (
        event_id.to_owned(),
        event_type.to_owned(),
        account_id.to_owned(),
    );
    with_connection(pool, move |connection| {
        // Royalties' payout eligibility first (an idempotent upsert in its own transaction), then
        // this crate's row together with the event id.
        royalties::set_payout_account(connection, artist, &account_id, status)?;
        write_transaction(connection, |connection| {
            if !record_event(connection, &event_id, &event_type)? {
                return Ok(WebhookOutcome::Duplicate {
                    event_id: event_id.clone(),
                });
            }
            apply_account_status(connection, artist, status)?;
            Ok(WebhookOutcome::Applied {
                event_id: event_id.clone(),
                event_type: event_type.clone(),
            })
        })
    })
    .await
}
