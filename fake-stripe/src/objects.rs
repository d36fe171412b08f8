//! The Stripe objects the fake keeps and how each renders as Stripe's JSON. The field names and
//! the required fields follow async-stripe 1.0's generated types (`stripe_shared::CheckoutSession`,
//! `Charge`, `Account`, `Transfer`, …), which the crate's tests deserialise these renderings into.

use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionStatus {
    Open,
    Complete,
    Expired,
}

#[derive(Debug, Clone)]
pub(crate) struct LineItem {
    pub(crate) name: String,
    pub(crate) unit_amount_cents: i64,
    pub(crate) quantity: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct CheckoutSession {
    pub(crate) id: String,
    pub(crate) created: i64,
    pub(crate) expires_at: i64,
    pub(crate) currency: String,
    pub(crate) line_items: Vec<LineItem>,
    pub(crate) amount_total_cents: i64,
    pub(crate) success_url: Option<String>,
    pub(crate) cancel_url: Option<String>,
    pub(crate) url: String,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) payment_intent_metadata: BTreeMap<String, String>,
    pub(crate) client_reference_id: Option<String>,
    pub(crate) customer_email: Option<String>,
    pub(crate) status: SessionStatus,
    pub(crate) paid: bool,
    pub(crate) payment_intent: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct PaymentIntent {
    pub(crate) id: String,
    pub(crate) created: i64,
    pub(crate) amount_cents: i64,
    pub(crate) currency: String,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) status: &'static str,
    pub(crate) latest_charge: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Charge {
    pub(crate) id: String,
    pub(crate) created: i64,
    pub(crate) amount_cents: i64,
    pub(crate) currency: String,
    pub(crate) payment_intent: String,
    pub(crate) balance_transaction: String,
    pub(crate) amount_refunded_cents: i64,
    pub(crate) disputed: bool,
    pub(crate) metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BalanceTransactionKind {
    Charge,
    Refund,
    Transfer,
    Dispute,
    TopUp,
}

impl BalanceTransactionKind {
    /// Stripe's `type` and `reporting_category` for this kind of movement.
    pub(crate) fn type_and_category(self) -> (&'static str, &'static str) {
        match self {
            BalanceTransactionKind::Charge => ("charge", "charge"),
            BalanceTransactionKind::Refund => ("refund", "refund"),
            BalanceTransactionKind::Transfer => ("transfer", "transfer"),
            BalanceTransactionKind::Dispute => ("adjustment", "dispute"),
            BalanceTransactionKind::TopUp => ("adjustment", "other_adjustment"),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct BalanceTransaction {
    pub(crate) id: String,
    pub(crate) created: i64,
    pub(crate) amount_cents: i64,
    pub(crate) fee_cents: i64,
    pub(crate) currency: String,
    pub(crate) kind: BalanceTransactionKind,
    pub(crate) source: Option<String>,
}

impl BalanceTransaction {
    pub(crate) fn net_cents(&self) -> i64 {
        self.amount_cents - self.fee_cents
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Refund {
    pub(crate) id: String,
    pub(crate) created: i64,
    pub(crate) amount_cents: i64,
    pub(crate) currency: String,
    pub(crate) charge: String,
    pub(crate) payment_intent: String,
    pub(crate) balance_transaction: String,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Dispute {
    pub(crate) id: String,
    pub(crate) created: i64,
    pub(crate) amount_cents: i64,
    pub(crate) currency: String,
    pub(crate) charge: String,
    pub(crate) payment_intent: String,
    pub(crate) balance_transaction: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) created: i64,
    pub(crate) account_type: String,
    pub(crate) country: String,
    pub(crate) email: Option<String>,
    pub(crate) business_type: Option<String>,
    pub(crate) default_currency: String,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) transfers_requested: bool,
    pub(crate) ready: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Transfer {
    pub(crate) id: String,
    pub(crate) created: i64,
    pub(crate) amount_cents: i64,
    pub(crate) currency: String,
    pub(crate) destination: String,
    pub(crate) balance_transaction: String,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) transfer_group: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) source_transaction: Option<String>,
    pub(crate) idempotency_key: Option<String>,
}

pub(crate) fn string_map(metadata: &BTreeMap<String, String>) -> Value {
    json!(metadata)
}

pub(crate) fn render_checkout_session(session: &CheckoutSession) -> Value {
    let status = match session.status {
        SessionStatus::Open => "open",
        SessionStatus::Complete => "complete",
        SessionStatus::Expired => "expired",
    };
    let line_items: Vec<Value> = session
        .line_items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            json!({
                "id": format!("li_{}_{index}", session.id),
                "object": "item",
                "description": item.name,
                "quantity": item.quantity,
                "currency": session.currency,
                "amount_subtotal": item.unit_amount_cents * item.quantity,
                "amount_total": item.unit_amount_cents * item.quantity,
                "amount_discount": 0,
                "amount_tax": 0,
            })
        })
        .collect();
    json!({
        "id": session.id,
        "object": "checkout.session",
        "amount_subtotal": session.amount_total_cents,
        "amount_total": session.amount_total_cents,
        "automatic_tax": { "enabled": false, "liability": null, "provider": null, "status": null },
        "cancel_url": session.cancel_url,
        "client_reference_id": session.client_reference_id,
        "created": session.created,
        "currency": session.currency,
        "custom_fields": [],
        "custom_text": { "after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null },
        "customer": null,
        "customer_email": session.customer_email,
        "expires_at": session.expires_at,
        "livemode": false,
        "metadata": string_map(&session.metadata),
        "mode": "payment",
        "payment_intent": session.payment_intent,
        "payment_method_types": ["card"],
        "payment_status": if session.paid { "paid" } else { "unpaid" },
        "shipping_options": [],
        "status": status,
        "success_url": session.success_url,
        "url": if session.status == SessionStatus::Open { Some(&session.url) } else { None },
        // Stripe includes line items only when expanded; the fake always does, which clients accept.
        "line_items": {
            "object": "list",
            "data": line_items,
            "has_more": false,
            "url": format!("/v1/checkout/sessions/{}/line_items", session.id),
        },
    })
}

pub(crate) fn render_payment_intent(intent: &PaymentIntent) -> Value {
    json!({
        "id": intent.id,
        "object": "payment_intent",
        "amount": intent.amount_cents,
        "amount_capturable": 0,
        "amount_received": if intent.latest_charge.is_some() { intent.amount_cents } else { 0 },
        "capture_method": "automatic",
        "confirmation_method": "automatic",
        "created": intent.created,
        "currency": intent.currency,
        "latest_charge": intent.latest_charge,
        "livemode": false,
        "metadata": string_map(&intent.metadata),
        "payment_method_types": ["card"],
        "status": intent.status,
    })
}

pub(crate) fn render_charge(charge: &Charge) -> Value {
    json!({
        "id": charge.id,
        "object": "charge",
        "amount": charge.amount_cents,
        "amount_captured": charge.amount_cents,
        "amount_refunded": charge.amount_refunded_cents,
        "balance_transaction": charge.balance_transaction,
        "billing_details": { "address": null, "email": null, "name": null, "phone": null },
        "captured": true,
        "created": charge.created,
        "currency": charge.currency,
        "disputed": charge.disputed,
        "livemode": false,
        "metadata": string_map(&charge.metadata),
        "paid": true,
        "payment_intent": charge.payment_intent,
        "refunded": charge.amount_refunded_cents == charge.amount_cents,
        "status": "succeeded",
    })
}

pub(crate) fn render_balance_transaction(transaction: &BalanceTransaction) -> Value {
    let (transaction_type, reporting_category) = transaction.kind.type_and_category();
    let fee_details: Vec<Value> = if transaction.fee_cents == 0 {
        Vec::new()
    } else {
        vec![json!({
            "amount": transaction.fee_cents,
            "currency": transaction.currency,
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        })]
    };
    json!({
        "id": transaction.id,
        "object": "balance_transaction",
        "amount": transaction.amount_cents,
        "available_on": transaction.created,
        "balance_type": "payments",
        "created": transaction.created,
        "currency": transaction.currency,
        "fee": transaction.fee_cents,
        "fee_details": fee_details,
        "net": transaction.net_cents(),
        "reporting_category": reporting_category,
        "source": transaction.source,
        "status": "available",
        "type": transaction_type,
    })
}

pub(crate) fn render_refund(refund: &Refund) -> Value {
    json!({
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount_cents,
        "balance_transaction": refund.balance_transaction,
        "charge": refund.charge,
        "created": refund.created,
        "currency": refund.currency,
        "metadata": string_map(&refund.metadata),
        "payment_intent": refund.payment_intent,
        "reason": refund.reason,
        "status": "succeeded",
    })
}

pub(crate) fn render_dispute(dispute: &Dispute, balance_transactions: Vec<Value>) -> Value {
    json!({
        "id": dispute.id,
        "object": "dispute",
        "amount": dispute.amount_cents,
        "balance_transactions": balance_transactions,
        "charge": dispute.charge,
        "created": dispute.created,
        "currency": dispute.currency,
        "enhanced_eligibility_types": [],
        "evidence": { "enhanced_evidence": {} },
        "evidence_details": {
            "due_by": dispute.created + 7 * 24 * 60 * 60,
            "enhanced_eligibility": {},
            "has_evidence": false,
            "past_due": false,
            "submission_count": 0,
        },
        "is_charge_refundable": false,
        "livemode": false,
        "metadata": {},
        "payment_intent": dispute.payment_intent,
        "reason": "fraudulent",
        "status": "needs_response",
    })
}

pub(crate) fn render_account(account: &Account) -> Value {
    let capabilities = if account.transfers_requested {
        json!({ "transfers": if account.ready { "active" } else { "inactive" } })
    } else {
        json!({})
    };
    json!({
        "id": account.id,
        "object": "account",
        "business_type": account.business_type,
        "capabilities": capabilities,
        "charges_enabled": account.ready,
        "country": account.country,
        "created": account.created,
        "default_currency": account.default_currency,
        "details_submitted": account.ready,
        "email": account.email,
        "metadata": string_map(&account.metadata),
        "payouts_enabled": account.ready,
        "type": account.account_type,
    })
}

pub(crate) fn render_transfer(transfer: &Transfer) -> Value {
    json!({
        "id": transfer.id,
        "object": "transfer",
        "amount": transfer.amount_cents,
        "amount_reversed": 0,
        "balance_transaction": transfer.balance_transaction,
        "created": transfer.created,
        "currency": transfer.currency,
        "description": transfer.description,
        "destination": transfer.destination,
        "livemode": false,
        "metadata": string_map(&transfer.metadata),
        "reversals": {
            "object": "list",
            "data": [],
            "has_more": false,
            "total_count": 0,
            "url": format!("/v1/transfers/{}/reversals", transfer.id),
        },
        "reversed": false,
        "source_transaction": transfer.source_transaction,
        "transfer_group": transfer.transfer_group,
    })
}
