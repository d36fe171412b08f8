//! The embedded test-mode gateway: no money moves. Sessions live in this crate's own table and
//! are paid or canceled on a local page (`{public_url}/test-checkout/{session_id}`, served by the
//! store). Completing one does not touch the order: it produces the signed webhook that Stripe
//! would send, which the store feeds to the same [`crate::handle_webhook`] as real webhooks, so no
//! code path skips the webhook. Fees are simulated like Stripe's (2.9% + 30¢), and the gateway
//! answers the same "current state" calls from its table.

use std::fmt;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use megabox_database::{DbConnection, DbPool, write_transaction};
use megabox_domain::{ArtistId, Cents};
use royalties::{PayoutAccountStatus, PayoutGateway, TransferId};
use secrecy::SecretString;

use crate::gateway::{
    ChargeState, CheckoutRequest, CreatedSession, GatewayError, GatewayFuture, GatewayKind,
    PaymentGateway, SessionPayment, SessionState,
};
use crate::orders::{OrderLine, order_lines};
use crate::schema::{payment_test_events, payment_test_sessions, payment_test_transfers};
use crate::signature::sign_payload;
use crate::{PaymentsError, now, with_connection};

/// The simulated fee's percentage part, in basis points of the charge (Stripe's 2.9%).
const FEE_BASIS_POINTS: i64 = 290;
/// The simulated fee's fixed part per charge (Stripe's 30¢).
const FEE_FIXED_CENTS: i64 = 30;
const BASIS_POINTS_PER_WHOLE: i64 = 10_000;

/// The fee Stripe's standard card pricing takes from a charge: 2.9% rounded half up, plus 30¢.
pub fn simulated_fee(amount: Cents) -> Cents {
    let percentage = amount
        .0
        .saturating_mul(FEE_BASIS_POINTS)
        .saturating_add(BASIS_POINTS_PER_WHOLE / 2)
        / BASIS_POINTS_PER_WHOLE;
    Cents(percentage.saturating_add(FEE_FIXED_CENTS))
}

/// What the buyer does on the test checkout page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestCheckoutAction {
    Pay,
    Cancel,
}

/// A webhook ready for [`crate::handle_webhook`]: the body and its `Stripe-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedWebhook {
    pub payload: String,
    pub signature_header: String,
}

/// What the test checkout page shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TestCheckoutView {
    pub session_id: String,
    pub order_id: String,
    pub amount: Cents,
    /// `open`, `paid` or `canceled`.
    pub status: String,
    pub expires_at: NaiveDateTime,
    pub lines: Vec<OrderLine>,
}

/// The test-mode gateway; `Debug` never shows its signing secret.
#[derive(Clone)]
pub struct TestModeGateway {
    pool: DbPool,
    public_url: String,
    signing_secret: SecretString,
}

impl fmt::Debug for TestModeGateway {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TestModeGateway")
            .field("public_url", &self.public_url)
            .field("signing_secret", &self.signing_secret)
            .finish_non_exhaustive()
    }
}

#[derive(Queryable)]
struct TestSessionRow {
    id: String,
    order_id: String,
    amount_cents: i64,
    status: String,
    charge_id: Option<String>,
    fee_cents: Option<i64>,
    expires_at: NaiveDateTime,
    /// When the session last changed: for a paid session, when it was paid (it never changes
    /// after that).
    updated_at: NaiveDateTime,
}

type TestSessionColumns = (
    payment_test_sessions::id,
    payment_test_sessions::order_id,
    payment_test_sessions::amount_cents,
    payment_test_sessions::status,
    payment_test_sessions::charge_id,
    payment_test_sessions::fee_cents,
    payment_test_sessions::expires_at,
    payment_test_sessions::updated_at,
);

const TEST_SESSION_COLUMNS: TestSessionColumns = (
    payment_test_sessions::id,
    payment_test_sessions::order_id,
    payment_test_sessions::amount_cents,
    payment_test_sessions::status,
    payment_test_sessions::charge_id,
    payment_test_sessions::fee_cents,
    payment_test_sessions::expires_at,
    payment_test_sessions::updated_at,
);

const OPEN: &str = "open";
const PAID: &str = "paid";
const CANCELED: &str = "canceled";

fn load_session(
    connection: &mut DbConnection,
    session_id: &str,
) -> Result<Option<TestSessionRow>, PaymentsError> {
    Ok(payment_test_sessions::table
        .find(session_id)
        .select(TEST_SESSION_COLUMNS)
        .first(connection)
        .optional()?)
}

fn unavailable(error: PaymentsError) -> GatewayError {
    GatewayError::Unavailable(error.to_string())
}

impl TestModeGateway {
    /// `signing_secret` signs the webhooks it produces; the webhook endpoint must accept it.
    pub fn new(
        pool: DbPool,
        public_url: impl Into<String>,
        signing_secret: SecretString,
    ) -> TestModeGateway {
        TestModeGateway {
            pool,
            public_url: public_url.into(),
            signing_secret,
        }
    }

    /// The buyer pays or cancels on the test page. Returns the signed webhook to hand to
    /// [`crate::handle_webhook`]; the same action again returns the same event (re-signed), so a
    /// retried form post or a crash before the webhook was handled loses nothing.
    pub async fn complete_checkout(
        &self,
        session_id: &str,
        action: TestCheckoutAction,
    ) -> Result<SignedWebhook, PaymentsError> {
        self.complete_checkout_at(session_id, action, now()).await
    }

    /// [`TestModeGateway::complete_checkout`] as if the buyer acted at `acted_at`, which becomes
    /// the charge's time (the demo's history is made of sales in past months this way).
    pub async fn complete_checkout_at(
        &self,
        session_id: &str,
        action: TestCheckoutAction,
        acted_at: NaiveDateTime,
    ) -> Result<SignedWebhook, PaymentsError> {
        let session_id = session_id.to_owned();
        let payload = with_connection(&self.pool, move |connection| {
            write_transaction(connection, |connection| {
                complete_in_transaction(connection, &session_id, action, acted_at)
            })
        })
        .await?;
        let signature_header = sign_payload(
            &self.signing_secret,
            chrono::Utc::now().timestamp(),
            payload.as_bytes(),
        );
        Ok(SignedWebhook {
            payload,
            signature_header,
        })
    }

    /// The session and its order's lines, for the test checkout page; `None` for an unknown id.
    pub async fn checkout_view(
        &self,
        session_id: &str,
    ) -> Result<Option<TestCheckoutView>, PaymentsError> {
        let session_id = session_id.to_owned();
        with_connection(&self.pool, move |connection| {
            let Some(session) = load_session(connection, &session_id)? else {
                return Ok(None);
            };
            Ok(Some(TestCheckoutView {
                lines: order_lines(connection, &session.order_id)?,
                session_id: session.id,
                order_id: session.order_id,
                amount: Cents(session.amount_cents),
                status: session.status,
                expires_at: session.expires_at,
            }))
        })
        .await
    }
}

fn complete_in_transaction(
    connection: &mut DbConnection,
    session_id: &str,
    action: TestCheckoutAction,
    current: NaiveDateTime,
) -> Result<String, PaymentsError> {
    let session =
        load_session(connection, session_id)?.ok_or(PaymentsError::TestSessionNotFound)?;
    let event_type = match action {
        TestCheckoutAction::Pay => "checkout.session.completed",
        TestCheckoutAction::Cancel => "checkout.session.expired",
    };
    let existing: Option<(String, String)> = payment_test_events::table
        .filter(payment_test_events::session_id.eq(session_id))
        .select((
            payment_test_events::event_type,
            payment_test_events::payload,
        ))
        .first(connection)
        .optional()?;
    if let Some((existing_type, payload)) = existing {
        return if existing_type == event_type {
            Ok(payload)
        } else {
            Err(PaymentsError::TestSessionClosed)
        };
    }
    if session.status != OPEN
        || (action == TestCheckoutAction::Pay && session.expires_at <= current)
    {
        return Err(PaymentsError::TestSessionClosed);
    }
    match action {
        TestCheckoutAction::Pay => {
            let fee = simulated_fee(Cents(session.amount_cents));
            diesel::update(payment_test_sessions::table.find(session_id))
                .set((
                    payment_test_sessions::status.eq(PAID),
                    payment_test_sessions::charge_id
                        .eq(format!("ch_test_{}", uuid::Uuid::now_v7().simple())),
                    payment_test_sessions::fee_cents.eq(fee.0),
                    payment_test_sessions::updated_at.eq(current),
                ))
                .execute(connection)?;
        }
        TestCheckoutAction::Cancel => {
            diesel::update(payment_test_sessions::table.find(session_id))
                .set((
                    payment_test_sessions::status.eq(CANCELED),
                    payment_test_sessions::updated_at.eq(current),
                ))
                .execute(connection)?;
        }
    }
    let event_id = format!("evt_test_{}", uuid::Uuid::now_v7().simple());
    // The shape of Stripe's event; the handler reads only the ids and fetches the rest.
    let payload = serde_json::json!({
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": current.and_utc().timestamp(),
        "livemode": false,
        "data": { "object": {
            "id": session.id,
            "object": "checkout.session",
            "metadata": { "order_id": session.order_id },
        } },
    })
    .to_string();
    diesel::insert_into(payment_test_events::table)
        .values((
            payment_test_events::id.eq(&event_id),
            payment_test_events::session_id.eq(session_id),
            payment_test_events::event_type.eq(event_type),
            payment_test_events::payload.eq(&payload),
            payment_test_events::created_at.eq(current),
        ))
        .execute(connection)?;
    Ok(payload)
}

impl PaymentGateway for TestModeGateway {
    fn kind(&self) -> GatewayKind {
        GatewayKind::TestMode
    }

    fn create_checkout_session<'a>(
        &'a self,
        request: &'a CheckoutRequest,
    ) -> GatewayFuture<'a, CreatedSession> {
        Box::pin(async move {
            let mut amount = Cents::ZERO;
            for line in &request.lines {
                amount = amount
                    .checked_add(line.amount)
                    .map_err(|error| GatewayError::Refused(error.to_string()))?;
            }
            let expires_at = chrono::DateTime::from_timestamp(request.expires_at_unix_seconds, 0)
                .ok_or_else(|| GatewayError::Refused("expires_at is out of range".to_owned()))?
                .naive_utc();
            let order_id = request.order_id.clone();
            let session_id = with_connection(&self.pool, move |connection| {
                write_transaction(connection, |connection| {
                    let current = now();
                    // One session per order, like Stripe's idempotency key on the order id.
                    diesel::sql_query(
                        "INSERT INTO payment_test_sessions (id, order_id, amount_cents, status, expires_at, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING",
                    )
                    .bind::<Text, _>(format!("cs_test_{}", uuid::Uuid::now_v7().simple()))
                    .bind::<Text, _>(&order_id)
                    .bind::<BigInt, _>(amount.0)
                    .bind::<Text, _>(OPEN)
                    .bind::<Timestamp, _>(expires_at)
                    .bind::<Timestamp, _>(current)
                    .execute(connection)?;
                    Ok(payment_test_sessions::table
                        .filter(payment_test_sessions::order_id.eq(&order_id))
                        .select(payment_test_sessions::id)
                        .first::<String>(connection)?)
                })
            })
            .await
            .map_err(unavailable)?;
            let checkout_url = format!(
                "{}/test-checkout/{session_id}",
                self.public_url.trim_end_matches('/')
            );
            Ok(CreatedSession {
                session_id,
                checkout_url,
            })
        })
    }

    fn checkout_session<'a>(&'a self, session_id: &'a str) -> GatewayFuture<'a, SessionState> {
        Box::pin(async move {
            let lookup = session_id.to_owned();
            let session = with_connection(&self.pool, move |connection| {
                load_session(connection, &lookup)
            })
            .await
            .map_err(unavailable)?
            .ok_or_else(|| GatewayError::NotFound(format!("session {session_id}")))?;
            let payment = match (
                session.status.as_str(),
                session.charge_id,
                session.fee_cents,
            ) {
                (PAID, Some(charge_id), Some(fee_cents)) => SessionPayment::Paid(ChargeState {
                    charge_id,
                    amount: Cents(session.amount_cents),
                    fee: Cents(fee_cents),
                    amount_refunded: Cents::ZERO,
                    disputed: false,
                    paid_at: session.updated_at,
                }),
                (OPEN, _, _) if session.expires_at > now() => SessionPayment::Unpaid,
                (OPEN | CANCELED, _, _) => SessionPayment::Expired,
                (status, _, _) => {
                    return Err(GatewayError::Unavailable(format!(
                        "test session {session_id} is {status} without a charge"
                    )));
                }
            };
            Ok(SessionState {
                session_id: session.id,
                order_id: Some(session.order_id),
                payment,
            })
        })
    }

    fn order_of_charge<'a>(&'a self, charge_id: &'a str) -> GatewayFuture<'a, Option<String>> {
        Box::pin(async move {
            let charge_id = charge_id.to_owned();
            with_connection(&self.pool, move |connection| {
                Ok(payment_test_sessions::table
                    .filter(payment_test_sessions::charge_id.eq(&charge_id))
                    .select(payment_test_sessions::order_id)
                    .first::<String>(connection)
                    .optional()?)
            })
            .await
            .map_err(unavailable)
        })
    }

    /// Test-mode accounts need no onboarding: the id is derived from the artist, so it is stable.
    fn create_payout_account<'a>(&'a self, artist: ArtistId) -> GatewayFuture<'a, String> {
        Box::pin(async move { Ok(format!("acct_test_{}", artist.as_uuid().simple())) })
    }

    fn payout_onboarding_url<'a>(&'a self, _account_id: &'a str) -> GatewayFuture<'a, String> {
        Box::pin(async move {
            Ok(format!(
                "{}/artist/payouts?onboarding=done&test_mode=true",
                self.public_url.trim_end_matches('/')
            ))
        })
    }

    fn payout_account_status<'a>(
        &'a self,
        _account_id: &'a str,
    ) -> GatewayFuture<'a, PayoutAccountStatus> {
        Box::pin(async move { Ok(PayoutAccountStatus::Ready) })
    }
}

impl PayoutGateway for TestModeGateway {
    /// Records the transfer in the test-mode table; the same key returns the first transfer.
    fn create_transfer(
        &self,
        idempotency_key: &str,
        destination: &str,
        amount: Cents,
    ) -> Result<TransferId, royalties::GatewayError> {
        let unknown =
            |error: &dyn fmt::Display| royalties::GatewayError::Unknown(error.to_string());
        let mut connection = self.pool.get().map_err(|error| unknown(&error))?;
        let (transfer_id, stored_destination, stored_amount) = write_transaction(&mut connection, |connection| {
            diesel::sql_query(
                "INSERT INTO payment_test_transfers (idempotency_key, transfer_id, destination, amount_cents, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind::<Text, _>(idempotency_key)
            .bind::<Text, _>(format!("tr_test_{}", uuid::Uuid::now_v7().simple()))
            .bind::<Text, _>(destination)
            .bind::<BigInt, _>(amount.0)
            .bind::<Timestamp, _>(now())
            .execute(connection)?;
            payment_test_transfers::table
                .find(idempotency_key)
                .select((payment_test_transfers::transfer_id, payment_test_transfers::destination, payment_test_transfers::amount_cents))
                .first::<(String, String, i64)>(connection)
        })
        .map_err(|error| unknown(&error))?;
        if stored_destination != destination || stored_amount != amount.0 {
            return Err(royalties::GatewayError::Declined(format!(
                "idempotency key {idempotency_key} was used for another transfer"
            )));
        }
        Ok(TransferId(transfer_id))
    }
}
