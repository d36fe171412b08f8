//! The store's real Stripe client (async-stripe 1.0) against the fake: its requests must be accepted
//! and the fake's responses must deserialise into async-stripe's generated types.

#![allow(clippy::unwrap_used)]

mod common;

use fake_stripe::{Delivery, PaymentTiming};
use std::collections::HashMap;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    ProductData, RetrieveCheckoutSession,
};
use stripe_checkout::{CheckoutSessionMode, CheckoutSessionPaymentStatus};
use stripe_connect::account::{
    CreateAccount, CreateAccountCapabilities, CreateAccountCapabilitiesTransfers,
    CreateAccountType, RetrieveAccount,
};
use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
use stripe_connect::transfer::{CreateTransfer, RetrieveTransfer};
use stripe_types::{Currency, Expandable};

fn client(fake: &fake_stripe::FakeStripe, secret_key: &str) -> Client {
    ClientBuilder::new(secret_key)
        .url(fake.base_url())
        .build()
        .unwrap()
}

fn line_item(name: &str, unit_amount_cents: i64, quantity: u64) -> CreateCheckoutSessionLineItems {
    let mut price_data = CreateCheckoutSessionLineItemsPriceData::new(Currency::USD);
    price_data.unit_amount = Some(unit_amount_cents);
    price_data.product_data = Some(ProductData::new(name));
    let mut item = CreateCheckoutSessionLineItems::new();
    item.price_data = Some(price_data);
    item.quantity = Some(quantity);
    item
}

#[tokio::test]
async fn checkout_session_create_and_retrieve() {
    let fake = common::start_fake().await;
    let client = client(&fake, fake.secret_key());
    let created = CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Payment)
        .line_items(vec![
            line_item("Album", 1_000, 1),
            line_item("Single", 250, 2),
        ])
        .success_url("https://megabox.test/paid")
        .cancel_url("https://megabox.test/cart")
        .client_reference_id("order-1")
        .metadata(HashMap::from([(
            "order_id".to_owned(),
            "order-1".to_owned(),
        )]))
        .send(&client)
        .await
        .unwrap();
    assert_eq!(created.amount_total, Some(1_500));
    assert_eq!(created.payment_status, CheckoutSessionPaymentStatus::Unpaid);
    assert_eq!(created.client_reference_id.as_deref(), Some("order-1"));
    assert_eq!(
        created
            .metadata
            .as_ref()
            .and_then(|metadata| metadata.get("order_id"))
            .map(String::as_str),
        Some("order-1")
    );
    assert!(
        created
            .url
            .as_deref()
            .is_some_and(|url| url.starts_with(fake.base_url()))
    );
    assert!(created.payment_intent.is_none());

    fake.complete_checkout_session(
        created.id.as_str(),
        PaymentTiming::Immediate,
        Delivery::default(),
    )
    .await
    .unwrap();
    let retrieved = RetrieveCheckoutSession::new(created.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(retrieved.payment_status, CheckoutSessionPaymentStatus::Paid);
    let payment_intent = retrieved
        .payment_intent
        .as_ref()
        .map(|intent| intent.id().as_str().to_owned())
        .unwrap();
    assert!(payment_intent.starts_with("pi_"));

    // With the payment intent, charge and balance transaction expanded, the fee is one call away.
    let expanded = RetrieveCheckoutSession::new(created.id.clone())
        .expand(vec![
            "payment_intent.latest_charge.balance_transaction".to_owned(),
        ])
        .send(&client)
        .await
        .unwrap();
    let Some(Expandable::Object(intent)) = expanded.payment_intent else {
        panic!("payment_intent not expanded")
    };
    let Some(Expandable::Object(charge)) = intent.latest_charge else {
        panic!("latest_charge not expanded")
    };
    let Some(Expandable::Object(balance_transaction)) = charge.balance_transaction else {
        panic!("balance_transaction not expanded")
    };
    assert_eq!(
        (
            balance_transaction.amount,
            balance_transaction.fee,
            balance_transaction.net
        ),
        (1_500, 74, 1_426)
    );
}

#[tokio::test]
async fn account_create_link_and_retrieve() {
    let fake = common::start_fake().await;
    let client = client(&fake, fake.secret_key());
    let mut capabilities = CreateAccountCapabilities::new();
    capabilities.transfers = Some(CreateAccountCapabilitiesTransfers {
        requested: Some(true),
    });
    let account = CreateAccount::new()
        .type_(CreateAccountType::Express)
        .country("US")
        .email("artist@megabox.test")
        .capabilities(capabilities)
        .send(&client)
        .await
        .unwrap();
    assert_eq!(account.charges_enabled, Some(false));
    assert_eq!(account.payouts_enabled, Some(false));

    let link = CreateAccountLink::new(
        account.id.as_str(),
        CreateAccountLinkType::AccountOnboarding,
    )
    .refresh_url("https://megabox.test/payout-account/refresh")
    .return_url("https://megabox.test/payout-account/done")
    .send(&client)
    .await
    .unwrap();
    assert!(link.url.contains(account.id.as_str()));
    assert!(link.expires_at > link.created);

    fake.mark_account_ready(account.id.as_str(), Delivery::default())
        .await
        .unwrap();
    let retrieved = RetrieveAccount::new(account.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(
        (
            retrieved.charges_enabled,
            retrieved.payouts_enabled,
            retrieved.details_submitted
        ),
        (Some(true), Some(true), Some(true))
    );
}

#[tokio::test]
async fn transfer_create_retrieve_and_idempotent_retry() {
    let fake = common::start_fake().await;
    let client = client(&fake, fake.secret_key());
    let account = common::ready_account(&fake).await;
    fake.add_available_balance(10_000).unwrap();

    let key = IdempotencyKey::new("payout-0001").unwrap();
    let request = CreateTransfer::new(Currency::USD, account.clone())
        .amount(9_000)
        .metadata(HashMap::from([(
            "payout_id".to_owned(),
            "payout-0001".to_owned(),
        )]));
    let first = request
        .customize()
        .request_strategy(RequestStrategy::Idempotent(key.clone()))
        .send(&client)
        .await
        .unwrap();
    let second = request
        .customize()
        .request_strategy(RequestStrategy::Idempotent(key))
        .send(&client)
        .await
        .unwrap();
    assert_eq!(first.id, second.id, "a retried payout is the same transfer");
    assert_eq!(fake.transfer_count_for_idempotency_key("payout-0001"), 1);
    assert_eq!(first.amount, 9_000);
    assert_eq!(
        first
            .destination
            .as_ref()
            .map(|destination| destination.id().as_str().to_owned()),
        Some(account.clone())
    );
    assert_eq!(fake.available_balance_cents(), 1_000);

    let retrieved = RetrieveTransfer::new(first.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(retrieved.amount, 9_000);

    let error = CreateTransfer::new(Currency::USD, account)
        .amount(1_001)
        .send(&client)
        .await
        .unwrap_err();
    let StripeError::Stripe(error, status) = error else {
        panic!("expected a Stripe error, got {error:?}")
    };
    assert_eq!(status, 400);
    assert_eq!(
        error
            .code
            .as_ref()
            .map(|code| code.as_str().to_owned())
            .as_deref(),
        Some("balance_insufficient")
    );
}

#[tokio::test]
async fn wrong_secret_key_is_rejected_with_401() {
    let fake = common::start_fake().await;
    let client = client(&fake, "sk_test_wrong");
    let error = RetrieveAccount::new("acct_missing")
        .send(&client)
        .await
        .unwrap_err();
    let StripeError::Stripe(_, status) = error else {
        panic!("expected a Stripe error, got {error:?}")
    };
    assert_eq!(status, 401);
}

#[tokio::test]
async fn missing_objects_are_stripe_404s() {
    let fake = common::start_fake().await;
    let client = client(&fake, fake.secret_key());
    let error = RetrieveTransfer::new("tr_missing")
        .send(&client)
        .await
        .unwrap_err();
    let StripeError::Stripe(error, status) = error else {
        panic!("expected a Stripe error, got {error:?}")
    };
    assert_eq!(status, 404);
    assert_eq!(
        error.message.as_deref(),
        Some("No such transfer: 'tr_missing'")
    );
}

/// Objects the store reads without a request type of its own (payment intents, charges, balance
/// transactions, refunds) must still parse into async-stripe's shared types.
#[tokio::test]
async fn payment_objects_parse_as_async_stripe_types() {
    let fake = common::start_fake().await;
    let session = common::create_session(&fake).await;
    let completed = fake
        .complete_checkout_session(&session, PaymentTiming::Immediate, Delivery::default())
        .await
        .unwrap();
    let intent_id = completed.object["payment_intent"]
        .as_str()
        .unwrap()
        .to_owned();
    let intent = fake.object(&intent_id).unwrap();
    let charge_id = intent["latest_charge"].as_str().unwrap().to_owned();
    let refund = common::post_form(
        &fake,
        "v1/refunds",
        &[("charge", &charge_id), ("amount", "500")],
        None,
    )
    .await;
    assert_eq!(refund.status, 200, "{}", refund.body);

    let intent: stripe_shared::PaymentIntent =
        miniserde::json::from_str(&intent.to_string()).unwrap();
    assert_eq!(intent.amount_received, 1_500);
    let charge = fake.object(&charge_id).unwrap();
    let balance_transaction_id = charge["balance_transaction"].as_str().unwrap().to_owned();
    let charge: stripe_shared::Charge = miniserde::json::from_str(&charge.to_string()).unwrap();
    assert_eq!((charge.amount_refunded, charge.refunded), (500, false));
    let balance_transaction = fake.object(&balance_transaction_id).unwrap().to_string();
    let balance_transaction: stripe_shared::BalanceTransaction =
        miniserde::json::from_str(&balance_transaction).unwrap();
    assert_eq!(balance_transaction.fee_details.len(), 1);
    let refund: stripe_shared::Refund =
        miniserde::json::from_str(&refund.body.to_string()).unwrap();
    assert_eq!(refund.amount, 500);
}
