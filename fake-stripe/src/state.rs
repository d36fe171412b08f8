//! The fake's in-memory Stripe account: every object the store can create or read, the platform's
//! available balance, idempotency records and the event log. All operations are synchronous and
//! run under one mutex, which is what makes concurrent requests with one idempotency key have one effect.

use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

use crate::error::ApiError;
use crate::form::Params;
use crate::objects::{
    Account, BalanceTransaction, BalanceTransactionKind, Charge, CheckoutSession, Dispute,
    LineItem, PaymentIntent, Refund, SessionStatus, Transfer, render_account,
    render_balance_transaction, render_charge, render_checkout_session, render_dispute,
    render_payment_intent, render_refund, render_transfer,
};
use crate::unix_time_seconds;
use crate::webhooks::{DeliveryRecord, WebhookEndpoint};

/// How many objects (sessions, charges, transfers, …) one fake may create in its lifetime.
pub const OBJECTS_MAX: u64 = 100_000;
/// How many idempotency keys one fake remembers (Stripe forgets them after 24 hours; tests never get there).
pub const IDEMPOTENCY_KEYS_MAX: usize = 100_000;
/// How many events one fake records.
pub const EVENTS_MAX: usize = 20_000;
/// The most objects one operation creates (a completed checkout: payment intent, charge,
/// balance transaction, event), with room to spare.
const OBJECTS_PER_OPERATION_MAX: u64 = 8;
/// The most events one operation records.
const EVENTS_PER_OPERATION_MAX: usize = 1;
/// How many line items one Checkout Session may have (Stripe's limit).
pub const LINE_ITEMS_MAX: usize = 100;
/// The largest amount Stripe accepts (eight digits of minor units).
pub const AMOUNT_CENTS_MAX: i64 = 99_999_999;
/// The smallest charge Stripe accepts in USD.
pub const CHARGE_AMOUNT_CENTS_MIN: i64 = 50;
/// How many levels `expand[]` may follow (Stripe's limit).
pub const EXPAND_DEPTH_MAX: usize = 4;
/// How long a Checkout Session stays open by default (Stripe's default: 24 hours).
const CHECKOUT_SESSION_LIFETIME_SECONDS: i64 = 24 * 60 * 60;
/// How long an Account Link stays valid (Stripe: a few minutes).
const ACCOUNT_LINK_LIFETIME_SECONDS: i64 = 300;
/// The API version the fake's events claim, the one async-stripe 1.0.0-rc.10 is generated for,
/// so that the client does not warn about a version mismatch.
pub const API_VERSION: &str = "2026-09-30.endive";
/// How long a string parameter such as `client_reference_id` may be (Stripe's limit).
const CLIENT_REFERENCE_ID_CHARS_MAX: usize = 200;

/// Stripe's processing fee on a charge, and its dispute fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeSchedule {
    /// The percentage part, in basis points of the charge amount (290 = 2.9%).
    pub percent_basis_points: i64,
    /// The fixed part per charge.
    pub fixed_cents: i64,
    /// What a dispute costs on top of the disputed amount.
    pub dispute_fee_cents: i64,
}

impl Default for FeeSchedule {
    /// Stripe's standard US card pricing: 2.9% + 30¢, and $15 per dispute.
    fn default() -> Self {
        Self {
            percent_basis_points: 290,
            fixed_cents: 30,
            dispute_fee_cents: 1_500,
        }
    }
}

impl FeeSchedule {
    /// The fee on a charge of `amount_cents` (non-negative): the percentage rounded half up, plus the fixed part.
    pub fn charge_fee_cents(&self, amount_cents: i64) -> i64 {
        debug_assert!((0..=AMOUNT_CENTS_MAX).contains(&amount_cents));
        (amount_cents * self.percent_basis_points + 5_000) / 10_000 + self.fixed_cents
    }
}

/// When a completed Checkout Session's payment arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentTiming {
    /// A card: the session completes paid, with its charge.
    #[default]
    Immediate,
    /// A delayed method (bank debit): the session completes unpaid, and
    /// `checkout.session.async_payment_succeeded` or `_failed` follows later.
    Delayed,
}

/// A transfer as tests see it, for exactly-once assertions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferRecord {
    pub id: String,
    pub destination: String,
    pub amount_cents: i64,
    pub currency: String,
    pub metadata: BTreeMap<String, String>,
    /// The `Idempotency-Key` the creating request carried, if any.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone)]
struct Event {
    id: String,
    event_type: String,
    /// The exact JSON body every delivery of this event sends, so redeliveries are byte-identical.
    payload: String,
}

/// An event as tests see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventSummary {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The id of the object the event carries.
    pub object_id: String,
}

/// What a request with an idempotency key must match to be replayed.
#[derive(Debug, Clone, PartialEq)]
struct RequestFingerprint {
    path: String,
    parameters: Map<String, Value>,
}

/// A stored response, replayed for a repeated request with the same idempotency key.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Clone)]
struct IdempotencyRecord {
    fingerprint: RequestFingerprint,
    response: StoredResponse,
}

/// The result of looking up an idempotency key.
pub enum IdempotencyLookup {
    Replay(StoredResponse),
    Unused,
}

/// Which kind of object a GET path names, with Stripe's name for it in "No such …" errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    CheckoutSession,
    PaymentIntent,
    Charge,
    BalanceTransaction,
    Refund,
    Dispute,
    Account,
    Transfer,
    Event,
}

impl ObjectKind {
    fn stripe_name(self) -> &'static str {
        match self {
            ObjectKind::CheckoutSession => "checkout.session",
            ObjectKind::PaymentIntent => "payment_intent",
            ObjectKind::Charge => "charge",
            ObjectKind::BalanceTransaction => "balance_transaction",
            ObjectKind::Refund => "refund",
            ObjectKind::Dispute => "dispute",
            ObjectKind::Account => "account",
            ObjectKind::Transfer => "transfer",
            ObjectKind::Event => "event",
        }
    }
}

/// What the creating endpoints need besides their parameters.
pub struct RequestContext<'a> {
    pub base_url: &'a str,
    pub idempotency_key: Option<&'a str>,
}

/// The whole fake account.
#[derive(Debug)]
pub struct State {
    fees: FeeSchedule,
    currency: String,
    objects_created: u64,
    /// The sum of every balance transaction's net amount.
    available_cents: i64,
    checkout_sessions: HashMap<String, CheckoutSession>,
    payment_intents: HashMap<String, PaymentIntent>,
    charges: HashMap<String, Charge>,
    balance_transactions: HashMap<String, BalanceTransaction>,
    refunds: HashMap<String, Refund>,
    disputes: HashMap<String, Dispute>,
    accounts: HashMap<String, Account>,
    /// In creation order, for listing.
    transfers: Vec<Transfer>,
    events: Vec<Event>,
    /// Events recorded by the operation in progress, handed to the webhook sender afterwards.
    new_events: Vec<String>,
    idempotency: HashMap<String, IdempotencyRecord>,
    pub webhook_endpoint: Option<WebhookEndpoint>,
    pub deliveries: std::collections::VecDeque<DeliveryRecord>,
}

impl State {
    pub fn new(fees: FeeSchedule, currency: String) -> Self {
        Self {
            fees,
            currency,
            objects_created: 0,
            available_cents: 0,
            checkout_sessions: HashMap::new(),
            payment_intents: HashMap::new(),
            charges: HashMap::new(),
            balance_transactions: HashMap::new(),
            refunds: HashMap::new(),
            disputes: HashMap::new(),
            accounts: HashMap::new(),
            transfers: Vec::new(),
            events: Vec::new(),
            new_events: Vec::new(),
            idempotency: HashMap::new(),
            webhook_endpoint: None,
            deliveries: std::collections::VecDeque::new(),
        }
    }

    /// Refuses an operation when the fake is nearly full, before the operation changes anything:
    /// running out of room half-way would leave half an operation behind.
    pub fn ensure_room_for_an_operation(&self) -> Result<(), ApiError> {
        if self.objects_created + OBJECTS_PER_OPERATION_MAX > OBJECTS_MAX {
            return Err(ApiError::capacity_exceeded("objects"));
        }
        if self.events.len() + EVENTS_PER_OPERATION_MAX > EVENTS_MAX {
            return Err(ApiError::capacity_exceeded("events"));
        }
        Ok(())
    }

    fn mint_id(&mut self, prefix: &str) -> Result<String, ApiError> {
        if self.objects_created >= OBJECTS_MAX {
            return Err(ApiError::capacity_exceeded("objects"));
        }
        self.objects_created += 1;
        Ok(format!("{prefix}_fake{:010}", self.objects_created))
    }

    // ----- Idempotency -----

    /// Looks `key` up for a request to `path` with `parameters`.
    pub fn idempotency_lookup(
        &self,
        key: &str,
        path: &str,
        parameters: &Map<String, Value>,
    ) -> Result<IdempotencyLookup, ApiError> {
        match self.idempotency.get(key) {
            None => Ok(IdempotencyLookup::Unused),
            Some(record)
                if record.fingerprint.path == path
                    && record.fingerprint.parameters == *parameters =>
            {
                Ok(IdempotencyLookup::Replay(record.response.clone()))
            }
            Some(_) => Err(ApiError::idempotency_key_reused(key)),
        }
    }

    /// Whether one more idempotency key fits, checked before the operation runs so that an
    /// operation never takes effect without its key being remembered.
    pub fn idempotency_capacity_left(&self) -> Result<(), ApiError> {
        if self.idempotency.len() >= IDEMPOTENCY_KEYS_MAX {
            return Err(ApiError::capacity_exceeded("idempotency keys"));
        }
        Ok(())
    }

    pub fn idempotency_store(
        &mut self,
        key: &str,
        path: &str,
        parameters: Map<String, Value>,
        response: StoredResponse,
    ) {
        let fingerprint = RequestFingerprint {
            path: path.to_owned(),
            parameters,
        };
        self.idempotency.insert(
            key.to_owned(),
            IdempotencyRecord {
                fingerprint,
                response,
            },
        );
    }

    // ----- Events -----

    fn record_event(
        &mut self,
        event_type: &str,
        object: Value,
        previous_attributes: Option<Value>,
    ) -> Result<(), ApiError> {
        if self.events.len() >= EVENTS_MAX {
            return Err(ApiError::capacity_exceeded("events"));
        }
        let id = self.mint_id("evt")?;
        let mut data = json!({ "object": object });
        if let (Some(previous), Some(data)) = (previous_attributes, data.as_object_mut()) {
            data.insert("previous_attributes".to_owned(), previous);
        }
        let payload = json!({
            "id": id,
            "object": "event",
            "api_version": API_VERSION,
            "created": unix_time_seconds(),
            "data": data,
            "livemode": false,
            "pending_webhooks": 1,
            "request": { "id": null, "idempotency_key": null },
            "type": event_type,
        })
        .to_string();
        self.events.push(Event {
            id: id.clone(),
            event_type: event_type.to_owned(),
            payload,
        });
        self.new_events.push(id);
        Ok(())
    }

    /// The events recorded since the last call, in the order they happened.
    pub fn take_new_events(&mut self) -> Vec<String> {
        std::mem::take(&mut self.new_events)
    }

    /// Forgets events recorded by an operation that then failed, so a failure leaves no trace.
    pub fn discard_new_events(&mut self) {
        let discarded = std::mem::take(&mut self.new_events);
        self.events.retain(|event| !discarded.contains(&event.id));
    }

    pub fn event_payload(&self, id: &str) -> Option<(String, String)> {
        self.events
            .iter()
            .find(|event| event.id == id)
            .map(|event| (event.event_type.clone(), event.payload.clone()))
    }

    pub fn events(&self) -> Vec<EventSummary> {
        self.events
            .iter()
            .map(|event| {
                let object_id = serde_json::from_str::<Value>(&event.payload)
                    .ok()
                    .and_then(|payload| payload["data"]["object"]["id"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                EventSummary {
                    id: event.id.clone(),
                    event_type: event.event_type.clone(),
                    object_id,
                }
            })
            .collect()
    }

    // ----- Balance -----

    /// The platform's available balance: everything ever added to it, net of fees, minus everything
    /// taken out. Kept as a running total (recomputing it would make each transfer linear in history).
    pub fn available_balance_cents(&self) -> i64 {
        self.available_cents
    }

    /// The balance recomputed from every balance transaction, to check the running total against.
    #[cfg(test)]
    fn available_balance_recomputed_cents(&self) -> i64 {
        self.balance_transactions
            .values()
            .map(BalanceTransaction::net_cents)
            .sum()
    }

    fn record_balance_transaction(
        &mut self,
        kind: BalanceTransactionKind,
        amount_cents: i64,
        fee_cents: i64,
        source: Option<String>,
    ) -> Result<String, ApiError> {
        let id = self.mint_id("txn")?;
        let transaction = BalanceTransaction {
            id: id.clone(),
            created: unix_time_seconds(),
            amount_cents,
            fee_cents,
            currency: self.currency.clone(),
            kind,
            source,
        };
        self.available_cents += transaction.net_cents();
        self.balance_transactions.insert(id.clone(), transaction);
        Ok(id)
    }

    /// Adds money to the available balance, as if from earlier sales (a test control).
    pub fn top_up(&mut self, amount_cents: i64) -> Result<i64, ApiError> {
        self.ensure_room_for_an_operation()?;
        if !(1..=AMOUNT_CENTS_MAX).contains(&amount_cents) {
            return Err(ApiError::parameter_invalid(
                "amount",
                format!("amount must be between 1 and {AMOUNT_CENTS_MAX}"),
            ));
        }
        self.record_balance_transaction(BalanceTransactionKind::TopUp, amount_cents, 0, None)?;
        Ok(self.available_balance_cents())
    }

    pub fn render_balance(&self) -> Value {
        json!({
            "object": "balance",
            "livemode": false,
            "available": [{ "amount": self.available_balance_cents(), "currency": self.currency }],
            "pending": [{ "amount": 0, "currency": self.currency }],
        })
    }

    // ----- Checkout Sessions -----

    pub fn create_checkout_session(
        &mut self,
        params: &Params,
        context: &RequestContext,
    ) -> Result<Value, ApiError> {
        params.allow_only(&[
            "mode",
            "line_items",
            "success_url",
            "cancel_url",
            "metadata",
            "client_reference_id",
            "customer_email",
            "payment_method_types",
            "payment_intent_data",
            "expires_at",
            "locale",
            "submit_type",
        ])?;
        let mode = params.required_string("mode")?;
        if mode != "payment" {
            return Err(ApiError::parameter_invalid(
                "mode",
                format!("The fake supports only mode=payment, not {mode}."),
            ));
        }
        let items = params.object_list("line_items")?;
        if items.is_empty() || items.len() > LINE_ITEMS_MAX {
            return Err(ApiError::parameter_missing("line_items"));
        }
        let mut line_items = Vec::with_capacity(items.len());
        let mut currency: Option<String> = None;
        for item in &items {
            item.allow_only(&["price_data", "quantity"])?;
            let quantity = item.integer("quantity")?.unwrap_or(1);
            let Some(price_data) = item.object("price_data")? else {
                return Err(item.missing("price_data"));
            };
            price_data.allow_only(&["currency", "unit_amount", "product_data", "tax_behavior"])?;
            let item_currency = parse_currency(&price_data, "currency")?;
            if currency
                .as_ref()
                .is_some_and(|first| *first != item_currency)
            {
                return Err(ApiError::parameter_invalid(
                    "line_items",
                    "All line items must use the same currency.".to_owned(),
                ));
            }
            currency = Some(item_currency);
            let unit_amount_cents = price_data.required_integer("unit_amount")?;
            let Some(product_data) = price_data.object("product_data")? else {
                return Err(price_data.missing("product_data"));
            };
            product_data.allow_only(&["name", "description", "metadata", "images"])?;
            let name = product_data.required_string("name")?.to_owned();
            if !(0..=AMOUNT_CENTS_MAX).contains(&unit_amount_cents)
                || !(1..=999_999).contains(&quantity)
            {
                return Err(ApiError::parameter_invalid(
                    "line_items",
                    "unit_amount must be between 0 and 99999999 and quantity between 1 and 999999."
                        .to_owned(),
                ));
            }
            line_items.push(LineItem {
                name,
                unit_amount_cents,
                quantity,
            });
        }
        let amount_total_cents = line_items.iter().try_fold(0_i64, |total, item| {
            item.unit_amount_cents
                .checked_mul(item.quantity)
                .and_then(|line| total.checked_add(line))
        });
        let amount_total_cents = match amount_total_cents {
            Some(total) if (CHARGE_AMOUNT_CENTS_MIN..=AMOUNT_CENTS_MAX).contains(&total) => total,
            _ => {
                return Err(ApiError::invalid_request(
                    Some("line_items"),
                    format!("The Checkout Session's total amount must be between {CHARGE_AMOUNT_CENTS_MIN} and {AMOUNT_CENTS_MAX}."),
                )
                .with_code("amount_too_small"));
            }
        };
        let client_reference_id = params.string("client_reference_id")?.map(str::to_owned);
        if client_reference_id
            .as_ref()
            .is_some_and(|reference| reference.chars().count() > CLIENT_REFERENCE_ID_CHARS_MAX)
        {
            return Err(ApiError::parameter_invalid(
                "client_reference_id",
                "client_reference_id is too long.".to_owned(),
            ));
        }
        let payment_intent_metadata = match params.object("payment_intent_data")? {
            Some(data) => {
                data.allow_only(&["metadata", "description", "transfer_group"])?;
                data.metadata()?
            }
            None => BTreeMap::new(),
        };
        let created = unix_time_seconds();
        let expires_at = params
            .integer("expires_at")?
            .unwrap_or(created + CHECKOUT_SESSION_LIFETIME_SECONDS);
        let id = self.mint_id("cs_test")?;
        let session = CheckoutSession {
            url: format!("{}_fake/pay/{id}", context.base_url),
            id: id.clone(),
            created,
            expires_at,
            currency: currency.unwrap_or_else(|| self.currency.clone()),
            line_items,
            amount_total_cents,
            success_url: params.string("success_url")?.map(str::to_owned),
            cancel_url: params.string("cancel_url")?.map(str::to_owned),
            metadata: params.metadata()?,
            payment_intent_metadata,
            client_reference_id,
            customer_email: params.string("customer_email")?.map(str::to_owned),
            status: SessionStatus::Open,
            paid: false,
            payment_intent: None,
        };
        let rendered = render_checkout_session(&session);
        self.checkout_sessions.insert(id, session);
        Ok(rendered)
    }

    fn session_mut(&mut self, id: &str) -> Result<&mut CheckoutSession, ApiError> {
        self.checkout_sessions.get_mut(id).ok_or_else(|| {
            ApiError::resource_missing("id", ObjectKind::CheckoutSession.stripe_name(), id)
        })
    }

    /// The buyer pays (test control): with an immediate payment the session is paid and has a
    /// payment intent, a charge and a balance transaction with the fee; `checkout.session.completed` follows.
    pub fn complete_checkout_session(
        &mut self,
        id: &str,
        timing: PaymentTiming,
    ) -> Result<Value, ApiError> {
        let session = self.session_mut(id)?;
        if session.status != SessionStatus::Open {
            return Err(ApiError::operation_failed(
                "checkout_session_not_open",
                format!("Checkout Session {id} is not open."),
            ));
        }
        let (amount_cents, currency, metadata) = (
            session.amount_total_cents,
            session.currency.clone(),
            session.payment_intent_metadata.clone(),
        );
        let payment_intent_id = self.mint_id("pi")?;
        self.payment_intents.insert(
            payment_intent_id.clone(),
            PaymentIntent {
                id: payment_intent_id.clone(),
                created: unix_time_seconds(),
                amount_cents,
                currency,
                metadata,
                status: "processing",
                latest_charge: None,
            },
        );
        let session = self.session_mut(id)?;
        session.status = SessionStatus::Complete;
        session.payment_intent = Some(payment_intent_id.clone());
        if timing == PaymentTiming::Immediate {
            self.charge_payment_intent(id, &payment_intent_id)?;
        }
        let rendered = self.render_session_by_id(id)?;
        self.record_event("checkout.session.completed", rendered.clone(), None)?;
        Ok(rendered)
    }

    fn charge_payment_intent(
        &mut self,
        session_id: &str,
        payment_intent_id: &str,
    ) -> Result<(), ApiError> {
        let (amount_cents, currency, metadata) = {
            let intent = self.payment_intents.get(payment_intent_id).ok_or_else(|| {
                ApiError::resource_missing(
                    "payment_intent",
                    ObjectKind::PaymentIntent.stripe_name(),
                    payment_intent_id,
                )
            })?;
            (
                intent.amount_cents,
                intent.currency.clone(),
                intent.metadata.clone(),
            )
        };
        let charge_id = self.mint_id("ch")?;
        let fee_cents = self.fees.charge_fee_cents(amount_cents);
        let balance_transaction = self.record_balance_transaction(
            BalanceTransactionKind::Charge,
            amount_cents,
            fee_cents,
            Some(charge_id.clone()),
        )?;
        self.charges.insert(
            charge_id.clone(),
            Charge {
                id: charge_id.clone(),
                created: unix_time_seconds(),
                amount_cents,
                currency,
                payment_intent: payment_intent_id.to_owned(),
                balance_transaction,
                amount_refunded_cents: 0,
                disputed: false,
                metadata,
            },
        );
        if let Some(intent) = self.payment_intents.get_mut(payment_intent_id) {
            intent.status = "succeeded";
            intent.latest_charge = Some(charge_id);
        }
        self.session_mut(session_id)?.paid = true;
        Ok(())
    }

    /// A delayed payment settles (test control): `checkout.session.async_payment_succeeded` with a
    /// charge, or `checkout.session.async_payment_failed` leaving the session unpaid.
    pub fn settle_async_payment(&mut self, id: &str, succeeded: bool) -> Result<Value, ApiError> {
        let session = self.session_mut(id)?;
        let payment_intent_id = match (&session.status, session.paid, &session.payment_intent) {
            (SessionStatus::Complete, false, Some(intent)) => intent.clone(),
            _ => {
                return Err(ApiError::operation_failed(
                    "checkout_session_not_awaiting_payment",
                    format!(
                        "Checkout Session {id} is not completed with a delayed payment pending."
                    ),
                ));
            }
        };
        let event_type = if succeeded {
            self.charge_payment_intent(id, &payment_intent_id)?;
            "checkout.session.async_payment_succeeded"
        } else {
            if let Some(intent) = self.payment_intents.get_mut(&payment_intent_id) {
                intent.status = "requires_payment_method";
            }
            "checkout.session.async_payment_failed"
        };
        let rendered = self.render_session_by_id(id)?;
        self.record_event(event_type, rendered.clone(), None)?;
        Ok(rendered)
    }

    /// The buyer gives up and the session expires (test control): `checkout.session.expired`.
    pub fn expire_checkout_session(&mut self, id: &str) -> Result<Value, ApiError> {
        let session = self.session_mut(id)?;
        if session.status != SessionStatus::Open {
            return Err(ApiError::operation_failed(
                "checkout_session_not_open",
                format!("Checkout Session {id} is not open."),
            ));
        }
        session.status = SessionStatus::Expired;
        let rendered = self.render_session_by_id(id)?;
        self.record_event("checkout.session.expired", rendered.clone(), None)?;
        Ok(rendered)
    }

    /// Where the hosted payment page sends the buyer afterwards.
    pub fn checkout_redirect(&self, id: &str, paid: bool) -> Option<String> {
        let session = self.checkout_sessions.get(id)?;
        if paid {
            session.success_url.clone()
        } else {
            session.cancel_url.clone()
        }
    }

    fn render_session_by_id(&self, id: &str) -> Result<Value, ApiError> {
        self.retrieve(ObjectKind::CheckoutSession, id)
    }

    // ----- Refunds and disputes -----

    pub fn create_refund(&mut self, params: &Params) -> Result<Value, ApiError> {
        params.allow_only(&["charge", "payment_intent", "amount", "reason", "metadata"])?;
        let charge_id = match (params.string("charge")?, params.string("payment_intent")?) {
            (Some(charge), _) => {
                if !self.charges.contains_key(charge) {
                    return Err(ApiError::resource_missing(
                        "charge",
                        ObjectKind::Charge.stripe_name(),
                        charge,
                    ));
                }
                charge.to_owned()
            }
            (None, Some(intent)) => self
                .payment_intents
                .get(intent)
                .ok_or_else(|| {
                    ApiError::resource_missing(
                        "payment_intent",
                        ObjectKind::PaymentIntent.stripe_name(),
                        intent,
                    )
                })?
                .latest_charge
                .clone()
                .ok_or_else(|| {
                    ApiError::operation_failed(
                        "charge_not_found",
                        format!("PaymentIntent {intent} has no successful charge to refund."),
                    )
                })?,
            (None, None) => return Err(ApiError::parameter_missing("charge")),
        };
        let reason = params.string("reason")?;
        if let Some(reason) = reason
            && !["duplicate", "fraudulent", "requested_by_customer"].contains(&reason)
        {
            return Err(ApiError::parameter_invalid(
                "reason",
                format!("Invalid reason: {reason}"),
            ));
        }
        let amount_cents = params.integer("amount")?;
        let metadata = params.metadata()?;
        self.refund_charge(
            &charge_id,
            amount_cents,
            reason.map(str::to_owned),
            metadata,
        )
    }

    /// Refunds `amount_cents` (default: what is left) of a charge, which takes it out of the
    /// available balance (Stripe keeps its fee) and emits `charge.refunded`.
    pub fn refund_charge(
        &mut self,
        charge_id: &str,
        amount_cents: Option<i64>,
        reason: Option<String>,
        metadata: BTreeMap<String, String>,
    ) -> Result<Value, ApiError> {
        let charge = self
            .charges
            .get(charge_id)
            .ok_or_else(|| {
                ApiError::resource_missing("charge", ObjectKind::Charge.stripe_name(), charge_id)
            })?
            .clone();
        let refundable_cents = charge.amount_cents - charge.amount_refunded_cents;
        if refundable_cents == 0 {
            return Err(ApiError::operation_failed(
                "charge_already_refunded",
                format!("Charge {charge_id} has already been refunded."),
            ));
        }
        let amount_cents = amount_cents.unwrap_or(refundable_cents);
        if amount_cents <= 0 {
            return Err(ApiError::parameter_invalid(
                "amount",
                "Refund amount must be positive.".to_owned(),
            ));
        }
        if amount_cents > refundable_cents {
            return Err(ApiError::operation_failed(
                "amount_too_large",
                format!(
                    "Refund amount ({amount_cents}) is greater than unrefunded amount on charge ({refundable_cents})."
                ),
            ));
        }
        let refund_id = self.mint_id("re")?;
        let balance_transaction = self.record_balance_transaction(
            BalanceTransactionKind::Refund,
            -amount_cents,
            0,
            Some(refund_id.clone()),
        )?;
        let refund = Refund {
            id: refund_id.clone(),
            created: unix_time_seconds(),
            amount_cents,
            currency: charge.currency.clone(),
            charge: charge.id.clone(),
            payment_intent: charge.payment_intent.clone(),
            balance_transaction,
            metadata,
            reason,
        };
        let rendered = render_refund(&refund);
        self.refunds.insert(refund_id, refund);
        if let Some(stored) = self.charges.get_mut(charge_id) {
            stored.amount_refunded_cents += amount_cents;
            debug_assert!(stored.amount_refunded_cents <= stored.amount_cents);
        }
        let charge = self.retrieve(ObjectKind::Charge, charge_id)?;
        self.record_event("charge.refunded", charge, None)?;
        Ok(rendered)
    }

    /// The buyer disputes a charge (test control): the amount and the dispute fee leave the
    /// balance and `charge.dispute.created` follows.
    pub fn open_dispute(&mut self, charge_id: &str) -> Result<Value, ApiError> {
        let charge = self
            .charges
            .get(charge_id)
            .ok_or_else(|| {
                ApiError::resource_missing("charge", ObjectKind::Charge.stripe_name(), charge_id)
            })?
            .clone();
        if charge.disputed {
            return Err(ApiError::operation_failed(
                "charge_disputed",
                format!("Charge {charge_id} is already disputed."),
            ));
        }
        let dispute_id = self.mint_id("du")?;
        let balance_transaction = self.record_balance_transaction(
            BalanceTransactionKind::Dispute,
            -charge.amount_cents,
            self.fees.dispute_fee_cents,
            Some(dispute_id.clone()),
        )?;
        let dispute = Dispute {
            id: dispute_id.clone(),
            created: unix_time_seconds(),
            amount_cents: charge.amount_cents,
            currency: charge.currency.clone(),
            charge: charge.id.clone(),
            payment_intent: charge.payment_intent.clone(),
            balance_transaction,
        };
        self.disputes.insert(dispute_id.clone(), dispute);
        if let Some(stored) = self.charges.get_mut(charge_id) {
            stored.disputed = true;
        }
        let rendered = self.retrieve(ObjectKind::Dispute, &dispute_id)?;
        self.record_event("charge.dispute.created", rendered.clone(), None)?;
        Ok(rendered)
    }

    // ----- Connect -----

    pub fn create_account(&mut self, params: &Params) -> Result<Value, ApiError> {
        params.allow_only(&[
            "type",
            "country",
            "email",
            "capabilities",
            "business_type",
            "metadata",
            "controller",
            "business_profile",
            "default_currency",
        ])?;
        let account_type = match params.string("type")? {
            Some(kind @ ("express" | "standard" | "custom")) => kind.to_owned(),
            Some(other) => {
                return Err(ApiError::parameter_invalid(
                    "type",
                    format!("Invalid account type: {other}"),
                ));
            }
            // Accounts created with `controller` instead of `type` show as `none`, as in Stripe.
            None => "none".to_owned(),
        };
        let transfers_requested = match params.object("capabilities")? {
            Some(capabilities) => match capabilities.object("transfers")? {
                Some(transfers) => transfers.boolean("requested")?.unwrap_or(false),
                None => false,
            },
            None => false,
        };
        let country = match params.string("country")? {
            Some(country)
                if country.len() == 2
                    && country.chars().all(|letter| letter.is_ascii_uppercase()) =>
            {
                country.to_owned()
            }
            Some(other) => {
                return Err(ApiError::parameter_invalid(
                    "country",
                    format!("Invalid country: {other}"),
                ));
            }
            None => "US".to_owned(),
        };
        let default_currency = match params.string("default_currency")? {
            Some(_) => parse_currency(params, "default_currency")?,
            None => self.currency.clone(),
        };
        let id = self.mint_id("acct")?;
        let account = Account {
            id: id.clone(),
            created: unix_time_seconds(),
            account_type,
            country,
            email: params.string("email")?.map(str::to_owned),
            business_type: params.string("business_type")?.map(str::to_owned),
            default_currency,
            metadata: params.metadata()?,
            transfers_requested,
            ready: false,
        };
        let rendered = render_account(&account);
        self.accounts.insert(id, account);
        Ok(rendered)
    }

    pub fn create_account_link(
        &mut self,
        params: &Params,
        context: &RequestContext,
    ) -> Result<Value, ApiError> {
        params.allow_only(&[
            "account",
            "type",
            "refresh_url",
            "return_url",
            "collect",
            "collection_options",
        ])?;
        let account = params.required_string("account")?;
        if !self.accounts.contains_key(account) {
            return Err(ApiError::resource_missing(
                "account",
                ObjectKind::Account.stripe_name(),
                account,
            ));
        }
        let link_type = params.required_string("type")?;
        if !["account_onboarding", "account_update"].contains(&link_type) {
            return Err(ApiError::parameter_invalid(
                "type",
                format!("Invalid account link type: {link_type}"),
            ));
        }
        let created = unix_time_seconds();
        // Minting an id bounds the number of links even though links are not stored.
        let link_id = self.mint_id("link")?;
        Ok(json!({
            "object": "account_link",
            "created": created,
            "expires_at": created + ACCOUNT_LINK_LIFETIME_SECONDS,
            "url": format!("{}_fake/onboarding/{account}?link={link_id}", context.base_url),
        }))
    }

    /// The connected account finishes onboarding (test control): charges and payouts are enabled,
    /// the `transfers` capability becomes active, and `account.updated` follows.
    pub fn mark_account_ready(&mut self, id: &str) -> Result<Value, ApiError> {
        let account = self.accounts.get_mut(id).ok_or_else(|| {
            ApiError::resource_missing("account", ObjectKind::Account.stripe_name(), id)
        })?;
        let previous = json!({
            "charges_enabled": account.ready,
            "payouts_enabled": account.ready,
            "details_submitted": account.ready,
        });
        account.ready = true;
        account.transfers_requested = true;
        let rendered = render_account(account);
        self.record_event("account.updated", rendered.clone(), Some(previous))?;
        Ok(rendered)
    }

    pub fn create_transfer(
        &mut self,
        params: &Params,
        context: &RequestContext,
    ) -> Result<Value, ApiError> {
        params.allow_only(&[
            "amount",
            "currency",
            "destination",
            "metadata",
            "transfer_group",
            "description",
            "source_transaction",
            "source_type",
        ])?;
        let amount_cents = params.required_integer("amount")?;
        if !(1..=AMOUNT_CENTS_MAX).contains(&amount_cents) {
            return Err(ApiError::parameter_invalid(
                "amount",
                format!("amount must be between 1 and {AMOUNT_CENTS_MAX}."),
            ));
        }
        let currency = parse_currency(params, "currency")?;
        if currency != self.currency {
            return Err(ApiError::parameter_invalid(
                "currency",
                format!(
                    "The platform's balance is in {}, not {currency}.",
                    self.currency
                ),
            ));
        }
        let destination = params.required_string("destination")?;
        let account = self.accounts.get(destination).ok_or_else(|| {
            ApiError::resource_missing(
                "destination",
                ObjectKind::Account.stripe_name(),
                destination,
            )
        })?;
        if !account.ready {
            return Err(ApiError::operation_failed(
                "insufficient_capabilities_for_transfer",
                "Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments".to_owned(),
            ));
        }
        let source_transaction = params.string("source_transaction")?;
        if let Some(charge) = source_transaction
            && !self.charges.contains_key(charge)
        {
            return Err(ApiError::resource_missing(
                "source_transaction",
                ObjectKind::Charge.stripe_name(),
                charge,
            ));
        }
        let available_cents = self.available_balance_cents();
        if amount_cents > available_cents {
            return Err(ApiError::operation_failed(
                "balance_insufficient",
                format!(
                    "You have insufficient available funds in your Stripe account ({available_cents} {currency} available, {amount_cents} requested)."
                ),
            ));
        }
        let id = self.mint_id("tr")?;
        let balance_transaction = self.record_balance_transaction(
            BalanceTransactionKind::Transfer,
            -amount_cents,
            0,
            Some(id.clone()),
        )?;
        let transfer = Transfer {
            id,
            created: unix_time_seconds(),
            amount_cents,
            currency,
            destination: destination.to_owned(),
            balance_transaction,
            metadata: params.metadata()?,
            transfer_group: params.string("transfer_group")?.map(str::to_owned),
            description: params.string("description")?.map(str::to_owned),
            source_transaction: source_transaction.map(str::to_owned),
            idempotency_key: context.idempotency_key.map(str::to_owned),
        };
        let rendered = render_transfer(&transfer);
        self.transfers.push(transfer);
        debug_assert!(
            self.available_balance_cents() >= 0,
            "a transfer never overdraws the balance"
        );
        Ok(rendered)
    }

    pub fn transfers(&self) -> Vec<TransferRecord> {
        self.transfers
            .iter()
            .map(|transfer| TransferRecord {
                id: transfer.id.clone(),
                destination: transfer.destination.clone(),
                amount_cents: transfer.amount_cents,
                currency: transfer.currency.clone(),
                metadata: transfer.metadata.clone(),
                idempotency_key: transfer.idempotency_key.clone(),
            })
            .collect()
    }

    // ----- Reading -----

    /// The object `id` of `kind`, rendered as Stripe would, or Stripe's 404.
    pub fn retrieve(&self, kind: ObjectKind, id: &str) -> Result<Value, ApiError> {
        let rendered = match kind {
            ObjectKind::CheckoutSession => {
                self.checkout_sessions.get(id).map(render_checkout_session)
            }
            ObjectKind::PaymentIntent => self.payment_intents.get(id).map(render_payment_intent),
            ObjectKind::Charge => self.charges.get(id).map(render_charge),
            ObjectKind::BalanceTransaction => self
                .balance_transactions
                .get(id)
                .map(render_balance_transaction),
            ObjectKind::Refund => self.refunds.get(id).map(render_refund),
            ObjectKind::Dispute => self.disputes.get(id).map(|dispute| {
                let transactions: Vec<Value> = self
                    .balance_transactions
                    .get(&dispute.balance_transaction)
                    .map(render_balance_transaction)
                    .into_iter()
                    .collect();
                render_dispute(dispute, transactions)
            }),
            ObjectKind::Account => self.accounts.get(id).map(render_account),
            ObjectKind::Transfer => self
                .transfers
                .iter()
                .find(|transfer| transfer.id == id)
                .map(render_transfer),
            ObjectKind::Event => self
                .events
                .iter()
                .find(|event| event.id == id)
                .and_then(|event| serde_json::from_str(&event.payload).ok()),
        };
        rendered.ok_or_else(|| ApiError::resource_missing("id", kind.stripe_name(), id))
    }

    /// Any object by id, whatever its kind (for `expand[]` and for tests' assertions).
    pub fn retrieve_any(&self, id: &str) -> Option<Value> {
        let kind = [
            ("cs_", ObjectKind::CheckoutSession),
            ("pi_", ObjectKind::PaymentIntent),
            ("ch_", ObjectKind::Charge),
            ("txn_", ObjectKind::BalanceTransaction),
            ("re_", ObjectKind::Refund),
            ("du_", ObjectKind::Dispute),
            ("acct_", ObjectKind::Account),
            ("tr_", ObjectKind::Transfer),
            ("evt_", ObjectKind::Event),
        ]
        .into_iter()
        .find_map(|(prefix, kind)| id.starts_with(prefix).then_some(kind))?;
        self.retrieve(kind, id).ok()
    }

    /// Replaces the ids named by Stripe's `expand[]` paths (`payment_intent.latest_charge`) with the objects.
    pub fn expand(&self, object: &mut Value, paths: &[&str]) -> Result<(), ApiError> {
        for path in paths {
            let segments: Vec<&str> = path.split('.').collect();
            if segments.len() > EXPAND_DEPTH_MAX {
                return Err(ApiError::parameter_invalid(
                    "expand",
                    format!("You cannot expand more than {EXPAND_DEPTH_MAX} levels of a property."),
                ));
            }
            self.expand_path(object, &segments, path)?;
        }
        Ok(())
    }

    fn expand_path(
        &self,
        object: &mut Value,
        segments: &[&str],
        path: &str,
    ) -> Result<(), ApiError> {
        let Some((field, rest)) = segments.split_first() else {
            return Ok(());
        };
        let not_expandable = || {
            ApiError::parameter_invalid(
                "expand",
                format!("This property cannot be expanded ({path})."),
            )
        };
        let slot = object.get_mut(*field).ok_or_else(not_expandable)?;
        if let Value::String(id) = slot {
            *slot = self.retrieve_any(id).ok_or_else(not_expandable)?;
        }
        match slot {
            Value::Object(_) => self.expand_path(slot, rest, path),
            // A null reference (a session not yet paid has no payment_intent) stays null, as in Stripe.
            Value::Null => Ok(()),
            _ => Err(not_expandable()),
        }
    }
}

fn parse_currency(params: &Params, name: &str) -> Result<String, ApiError> {
    let currency = params.required_string(name)?;
    if currency.len() == 3 && currency.chars().all(|letter| letter.is_ascii_alphabetic()) {
        Ok(currency.to_ascii_lowercase())
    } else {
        Err(ApiError::parameter_invalid(
            name,
            format!("Invalid currency: {currency}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_fake_refuses_operations_without_changing_anything() {
        let mut state = State::new(FeeSchedule::default(), "usd".to_owned());
        let mut top_ups = 0_u64;
        let error = loop {
            match state.top_up(1) {
                Ok(_) => top_ups += 1,
                Err(error) => break error,
            }
        };
        assert_eq!(error.status.as_u16(), 503);
        // The last top-up that ran still had room for a whole operation (8 objects) left.
        assert_eq!(top_ups, OBJECTS_MAX - OBJECTS_PER_OPERATION_MAX + 1);
        assert!(state.ensure_room_for_an_operation().is_err());
        let expected_cents = i64::try_from(top_ups).unwrap_or(i64::MAX);
        assert_eq!(state.available_balance_cents(), expected_cents);
        assert_eq!(state.available_balance_recomputed_cents(), expected_cents);
    }

    #[test]
    fn fee_is_percentage_rounded_half_up_plus_fixed() {
        let fees = FeeSchedule::default();
        // (amount, fee): 2.9% of 1000 = 29 exactly; of 1050 = 30.45 → 30; of 1500 = 43.5 → 44 (half up).
        for (amount_cents, fee_cents) in [
            (0, 30),
            (50, 31),
            (1_000, 59),
            (1_050, 60),
            (1_500, 74),
            (99_999_999, 2_900_030),
        ] {
            assert_eq!(
                fees.charge_fee_cents(amount_cents),
                fee_cents,
                "fee on {amount_cents}"
            );
        }
        let custom = FeeSchedule {
            percent_basis_points: 150,
            fixed_cents: 0,
            dispute_fee_cents: 0,
        };
        assert_eq!(custom.charge_fee_cents(100), 2, "1.5 rounds half up to 2");
        assert_eq!(custom.charge_fee_cents(99), 1, "1.485 rounds down to 1");
    }
}
