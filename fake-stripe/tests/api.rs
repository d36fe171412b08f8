//! The `/v1` endpoints over raw HTTP: authentication, parameter errors, Stripe's idempotency rules,
//! the balance that limits transfers, and hostile request bodies.

#![allow(clippy::unwrap_used)]

mod common;

use common::{CHECKOUT_FORM, get, post_form};
use fake_stripe::{Delivery, FakeStripe, FakeStripeConfig, FeeSchedule, PaymentTiming};
use futures_util::future::join_all;
use serde_json::json;

/// Changes to a form: a key with its new value, or `None` to remove it.
type FormChanges<'a> = &'a [(&'a str, Option<&'a str>)];
/// A whole form.
type Form<'a> = &'a [(&'a str, &'a str)];

fn form_with<'a>(
    base: &[(&'a str, &'a str)],
    changes: &[(&'a str, Option<&'a str>)],
) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = base
        .iter()
        .copied()
        .filter(|(key, _)| !changes.iter().any(|(changed, _)| changed == key))
        .collect();
    form.extend(
        changes
            .iter()
            .filter_map(|(key, value)| value.map(|value| (*key, value))),
    );
    form
}

/// Pays a fresh 15.00 USD session and returns (session, payment intent, charge, balance transaction) ids.
async fn paid_session(fake: &FakeStripe) -> (String, String, String, String) {
    let session = common::create_session(fake).await;
    let outcome = fake
        .complete_checkout_session(&session, PaymentTiming::Immediate, Delivery::default())
        .await
        .unwrap();
    let intent = outcome.object["payment_intent"]
        .as_str()
        .unwrap()
        .to_owned();
    let charge = get(fake, &format!("v1/payment_intents/{intent}"))
        .await
        .body["latest_charge"]
        .as_str()
        .unwrap()
        .to_owned();
    let transaction = get(fake, &format!("v1/charges/{charge}")).await.body["balance_transaction"]
        .as_str()
        .unwrap()
        .to_owned();
    (session, intent, charge, transaction)
}

#[tokio::test]
async fn requests_without_the_secret_key_get_401() {
    let fake = common::start_fake().await;
    let client = reqwest::Client::new();
    let url = format!("{}v1/checkout/sessions", fake.base_url());
    let bearer = format!("Bearer {}", fake.secret_key());
    // (Authorization header, expected status): a valid key gets past authentication to the
    // parameter check, which then fails because line_items are missing.
    let cases = [
        (None, 401),
        (Some("Bearer sk_test_wrong"), 401),
        (Some("Basic c2tfdGVzdDo="), 401),
        (Some(fake.secret_key()), 401),
        (Some(bearer.as_str()), 400),
        (Some("Basic c2tfdGVzdF9mYWtlX3N0cmlwZTo="), 400),
    ];
    for (authorization, status) in cases {
        let mut request = client.post(&url).body("mode=payment");
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{authorization:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
    let unauthorized = client
        .get(format!("{}v1/accounts/acct_1", fake.base_url()))
        .bearer_auth("sk_test_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status().as_u16(), 401);
}

#[tokio::test]
async fn checkout_session_parameter_errors() {
    let fake = common::start_fake().await;
    // (change to the valid form, status, code, param)
    let cases: [(FormChanges, u16, Option<&str>, &str); 10] = [
        (&[("mode", None)], 400, Some("parameter_missing"), "mode"),
        (&[("mode", Some("subscription"))], 400, None, "mode"),
        (
            &[("line_items[0][price_data][unit_amount]", Some("ten"))],
            400,
            Some("parameter_invalid_integer"),
            "line_items[0][price_data][unit_amount]",
        ),
        (
            &[("line_items[1][price_data][product_data][name]", None)],
            400,
            Some("parameter_missing"),
            "line_items[1][price_data][product_data]",
        ),
        (
            &[("line_items[1][price_data][currency]", Some("eur"))],
            400,
            None,
            "line_items",
        ),
        (
            &[("line_items[0][price_data][unit_amount]", Some("-5"))],
            400,
            None,
            "line_items",
        ),
        (
            &[
                ("line_items[0][price_data][unit_amount]", Some("0")),
                ("line_items[1][price_data][unit_amount]", Some("10")),
            ],
            400,
            Some("amount_too_small"),
            "line_items",
        ),
        (&[("surprise", Some("1"))], 400, None, "surprise"),
        (
            &[("line_items[0][price]", Some("price_123"))],
            400,
            None,
            "line_items[0][price]",
        ),
        (
            &[("metadata[a]", Some(&"x".repeat(501)))],
            400,
            None,
            "metadata[a]",
        ),
    ];
    for (changes, status, code, param) in cases {
        let form = form_with(&CHECKOUT_FORM, changes);
        let answer = post_form(&fake, "v1/checkout/sessions", &form, None).await;
        assert_eq!(answer.status, status, "{changes:?}: {}", answer.body);
        assert_eq!(
            answer.body["error"]["code"].as_str(),
            code,
            "{changes:?}: {}",
            answer.body
        );
        assert_eq!(answer.body["error"]["param"], param, "{changes:?}");
    }
    let no_items = post_form(&fake, "v1/checkout/sessions", &[("mode", "payment")], None).await;
    assert_eq!(no_items.body["error"]["code"], "parameter_missing");
    assert!(fake.events().is_empty());
}

#[tokio::test]
async fn hostile_bodies_are_rejected() {
    let fake = common::start_fake().await;
    let client = reqwest::Client::new();
    let url = format!("{}v1/accounts", fake.base_url());
    let deep_key = format!("metadata{}=1", "[a]".repeat(10));
    let huge = format!("email={}", "a".repeat(fake_stripe::BODY_BYTES_MAX));
    let cases: [(String, u16); 7] = [
        ("metadata[a=1".to_owned(), 400),
        ("metadata]a[=1".to_owned(), 400),
        ("type=express&type[x]=1".to_owned(), 400),
        ("type=express&type=custom".to_owned(), 400),
        (deep_key, 400),
        ("[email]=a".to_owned(), 400),
        (huge, 413),
    ];
    for (body, status) in cases {
        let response = client
            .post(&url)
            .bearer_auth(fake.secret_key())
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            status,
            "{}",
            &body[..body.len().min(60)]
        );
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["type"], "invalid_request_error");
    }
    let unknown = get(&fake, "v1/customers/cus_1").await;
    assert_eq!(
        (unknown.status, unknown.body["error"]["type"].as_str()),
        (404, Some("invalid_request_error"))
    );
}

#[tokio::test]
async fn completing_a_session_creates_the_payment_chain_with_the_fee() {
    let fake = common::start_fake().await;
    let (session, intent, charge, transaction) = paid_session(&fake).await;
    let session = get(&fake, &format!("v1/checkout/sessions/{session}"))
        .await
        .body;
    assert_eq!(
        (
            session["status"].as_str(),
            session["payment_status"].as_str()
        ),
        (Some("complete"), Some("paid"))
    );
    assert_eq!(session["payment_intent"], intent);
    let charge = get(&fake, &format!("v1/charges/{charge}")).await.body;
    assert_eq!(
        (
            charge["amount"].as_i64(),
            charge["refunded"].as_bool(),
            charge["disputed"].as_bool()
        ),
        (Some(1_500), Some(false), Some(false))
    );
    let transaction = get(&fake, &format!("v1/balance_transactions/{transaction}"))
        .await
        .body;
    // 2.9% of 1500 is 43.5, rounded half up to 44, plus 30.
    assert_eq!(
        (
            transaction["amount"].as_i64(),
            transaction["fee"].as_i64(),
            transaction["net"].as_i64()
        ),
        (Some(1_500), Some(74), Some(1_426))
    );
    assert_eq!(fake.available_balance_cents(), 1_426);

    let again = fake
        .complete_checkout_session(
            session["id"].as_str().unwrap(),
            PaymentTiming::Immediate,
            Delivery::default(),
        )
        .await;
    assert_eq!(again.unwrap_err().code, Some("checkout_session_not_open"));
    let expanded = get(
        &fake,
        &format!(
            "v1/checkout/sessions/{}?expand[]=payment_intent.latest_charge",
            session["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(
        expanded.body["payment_intent"]["latest_charge"]["amount"],
        1_500
    );
    let bad_expand = get(
        &fake,
        &format!(
            "v1/checkout/sessions/{}?expand[]=customer_details.address",
            session["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(bad_expand.status, 400);
}

#[tokio::test]
async fn fee_schedule_is_configurable() {
    let config = FakeStripeConfig {
        fees: FeeSchedule {
            percent_basis_points: 150,
            fixed_cents: 25,
            dispute_fee_cents: 0,
        },
        ..FakeStripeConfig::default()
    };
    let fake = FakeStripe::start(config).await.unwrap();
    let (_, _, _, transaction) = paid_session(&fake).await;
    let transaction = get(&fake, &format!("v1/balance_transactions/{transaction}"))
        .await
        .body;
    // 1.5% of 1500 is 22.5, rounded half up to 23, plus 25.
    assert_eq!(transaction["fee"], 48);
}

#[tokio::test]
async fn missing_objects_are_404_for_every_kind() {
    let fake = common::start_fake().await;
    let paths = [
        ("v1/checkout/sessions/cs_x", "checkout.session"),
        ("v1/payment_intents/pi_x", "payment_intent"),
        ("v1/charges/ch_x", "charge"),
        ("v1/balance_transactions/txn_x", "balance_transaction"),
        ("v1/refunds/re_x", "refund"),
        ("v1/disputes/du_x", "dispute"),
        ("v1/accounts/acct_x", "account"),
        ("v1/transfers/tr_x", "transfer"),
        ("v1/events/evt_x", "event"),
    ];
    for (path, object) in paths {
        let answer = get(&fake, path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.body["error"]["code"], "resource_missing");
        assert!(
            answer.body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("No such {object}: ")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn refunds_and_disputes_move_the_charge_and_the_balance() {
    let fake = common::start_fake().await;
    let (_, intent, charge, _) = paid_session(&fake).await;
    let partial = post_form(
        &fake,
        "v1/refunds",
        &[
            ("charge", &charge),
            ("amount", "500"),
            ("reason", "requested_by_customer"),
        ],
        None,
    )
    .await;
    assert_eq!(partial.status, 200, "{}", partial.body);
    assert_eq!(fake.available_balance_cents(), 1_426 - 500);
    let too_much = post_form(
        &fake,
        "v1/refunds",
        &[("payment_intent", &intent), ("amount", "1001")],
        None,
    )
    .await;
    assert_eq!(
        (too_much.status, too_much.body["error"]["code"].as_str()),
        (400, Some("amount_too_large"))
    );
    let rest = post_form(&fake, "v1/refunds", &[("payment_intent", &intent)], None).await;
    assert_eq!(rest.body["amount"], 1_000);
    let charge_now = get(&fake, &format!("v1/charges/{charge}")).await.body;
    assert_eq!(
        (
            charge_now["amount_refunded"].as_i64(),
            charge_now["refunded"].as_bool()
        ),
        (Some(1_500), Some(true))
    );
    let again = post_form(&fake, "v1/refunds", &[("charge", &charge)], None).await;
    assert_eq!(again.body["error"]["code"], "charge_already_refunded");
    let bad_reason = post_form(
        &fake,
        "v1/refunds",
        &[("charge", &charge), ("reason", "bored")],
        None,
    )
    .await;
    assert_eq!(bad_reason.body["error"]["param"], "reason");
    let missing = post_form(&fake, "v1/refunds", &[("charge", "ch_missing")], None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(fake.available_balance_cents(), 1_426 - 1_500);

    let (_, _, disputed, _) = paid_session(&fake).await;
    let before = fake.available_balance_cents();
    let dispute = fake
        .open_dispute(&disputed, Delivery::default())
        .await
        .unwrap();
    assert_eq!(dispute.object["amount"], 1_500);
    assert_eq!(
        fake.available_balance_cents(),
        before - 1_500 - 1_500,
        "the amount and the $15 dispute fee"
    );
    assert_eq!(
        get(&fake, &format!("v1/charges/{disputed}")).await.body["disputed"],
        true
    );
    assert!(
        fake.open_dispute(&disputed, Delivery::default())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn transfers_need_a_ready_account_and_enough_available_balance() {
    let fake = common::start_fake().await;
    let pending = post_form(&fake, "v1/accounts", &[("type", "express")], None)
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let account = common::ready_account(&fake).await;
    paid_session(&fake).await;
    assert_eq!(fake.available_balance_cents(), 1_426);
    let transfer = |destination: String, amount: &'static str, currency: &'static str| {
        let fake = &fake;
        async move {
            post_form(
                fake,
                "v1/transfers",
                &[
                    ("destination", &destination),
                    ("amount", amount),
                    ("currency", currency),
                ],
                None,
            )
            .await
        }
    };
    let not_ready = transfer(pending, "100", "usd").await;
    assert_eq!(
        not_ready.body["error"]["code"],
        "insufficient_capabilities_for_transfer"
    );
    let missing = transfer("acct_missing".to_owned(), "100", "usd").await;
    assert_eq!(
        (missing.status, missing.body["error"]["param"].as_str()),
        (404, Some("destination"))
    );
    let wrong_currency = transfer(account.clone(), "100", "eur").await;
    assert_eq!(wrong_currency.body["error"]["param"], "currency");
    let zero = transfer(account.clone(), "0", "usd").await;
    assert_eq!(zero.body["error"]["param"], "amount");
    let too_much = transfer(account.clone(), "1427", "usd").await;
    assert_eq!(
        (too_much.status, too_much.body["error"]["code"].as_str()),
        (400, Some("balance_insufficient"))
    );
    let exact = transfer(account.clone(), "1426", "usd").await;
    assert_eq!(exact.status, 200, "{}", exact.body);
    assert_eq!(fake.available_balance_cents(), 0);
    let retrieved = get(
        &fake,
        &format!("v1/transfers/{}", exact.body["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        (
            retrieved.body["amount"].as_i64(),
            retrieved.body["destination"].as_str()
        ),
        (Some(1_426), Some(account.as_str()))
    );
    assert_eq!(
        transfer(account, "1", "usd").await.body["error"]["code"],
        "balance_insufficient"
    );
    let balance = get(&fake, "v1/balance").await.body;
    assert_eq!(balance["available"][0]["amount"], 0);
}

#[tokio::test]
async fn account_and_account_link_errors() {
    let fake = common::start_fake().await;
    let bad_type = post_form(&fake, "v1/accounts", &[("type", "premium")], None).await;
    assert_eq!(bad_type.body["error"]["param"], "type");
    let bad_country = post_form(
        &fake,
        "v1/accounts",
        &[("type", "express"), ("country", "usa")],
        None,
    )
    .await;
    assert_eq!(bad_country.body["error"]["param"], "country");
    let account = post_form(
        &fake,
        "v1/accounts",
        &[("type", "express"), ("metadata[artist_id]", "a1")],
        None,
    )
    .await
    .body;
    assert_eq!(
        (
            account["charges_enabled"].as_bool(),
            account["metadata"]["artist_id"].as_str()
        ),
        (Some(false), Some("a1"))
    );
    let id = account["id"].as_str().unwrap();
    let cases: [(Form, u16, &str); 3] = [
        (
            &[("account", "acct_missing"), ("type", "account_onboarding")],
            404,
            "account",
        ),
        (&[("account", id), ("type", "account_party")], 400, "type"),
        (&[("account", id)], 400, "type"),
    ];
    for (form, status, param) in cases {
        let answer = post_form(&fake, "v1/account_links", form, None).await;
        assert_eq!(
            (answer.status, answer.body["error"]["param"].as_str()),
            (status, Some(param)),
            "{form:?}"
        );
    }
    let link = post_form(
        &fake,
        "v1/account_links",
        &[("account", id), ("type", "account_onboarding")],
        None,
    )
    .await
    .body;
    // Following the link finishes onboarding, as a person would on Stripe's pages.
    let page = reqwest::get(link["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(
        get(&fake, &format!("v1/accounts/{id}")).await.body["payouts_enabled"],
        true
    );
}

#[tokio::test]
async fn idempotency_key_replays_the_stored_response() {
    let fake = common::start_fake().await;
    let first = post_form(
        &fake,
        "v1/checkout/sessions",
        &CHECKOUT_FORM,
        Some("cart-1"),
    )
    .await;
    let mut reordered = CHECKOUT_FORM.to_vec();
    reordered.reverse();
    let second = post_form(&fake, "v1/checkout/sessions", &reordered, Some("cart-1")).await;
    assert_eq!((first.status, first.replayed), (200, false));
    assert_eq!((second.status, second.replayed), (200, true));
    assert_eq!(
        first.body, second.body,
        "the same parameters in another order are the same request"
    );

    let different = form_with(&CHECKOUT_FORM, &[("line_items[0][quantity]", Some("2"))]);
    let mismatch = post_form(&fake, "v1/checkout/sessions", &different, Some("cart-1")).await;
    assert_eq!(
        (mismatch.status, mismatch.body["error"]["type"].as_str()),
        (400, Some("idempotency_error"))
    );
    let other_endpoint =
        post_form(&fake, "v1/accounts", &[("type", "express")], Some("cart-1")).await;
    assert_eq!(other_endpoint.body["error"]["type"], "idempotency_error");
    let too_long = post_form(
        &fake,
        "v1/accounts",
        &[("type", "express")],
        Some(&"k".repeat(256)),
    )
    .await;
    assert_eq!(too_long.status, 400);
}

#[tokio::test]
async fn idempotency_stores_outcomes_but_not_validation_errors() {
    let fake = common::start_fake().await;
    let account = common::ready_account(&fake).await;
    let form = [
        ("destination", account.as_str()),
        ("amount", "1000"),
        ("currency", "usd"),
    ];
    // A request that fails validation is not stored: the corrected request may use the same key.
    let invalid = post_form(
        &fake,
        "v1/transfers",
        &[("destination", account.as_str()), ("amount", "1000")],
        Some("payout-1"),
    )
    .await;
    assert_eq!(invalid.body["error"]["code"], "parameter_missing");
    let refused = post_form(&fake, "v1/transfers", &form, Some("payout-1")).await;
    assert_eq!(refused.body["error"]["code"], "balance_insufficient");
    // An outcome is stored: after the balance grows, the same key still answers with the refusal.
    fake.add_available_balance(5_000).unwrap();
    let replayed = post_form(&fake, "v1/transfers", &form, Some("payout-1")).await;
    assert_eq!((replayed.status, replayed.replayed), (400, true));
    assert_eq!(replayed.body, refused.body);
    let fresh = post_form(&fake, "v1/transfers", &form, Some("payout-2")).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fake.transfers().len(), 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_have_one_effect() {
    let fake = common::start_fake().await;
    let account = common::ready_account(&fake).await;
    fake.add_available_balance(1_000).unwrap();
    let form = [
        ("destination", account.as_str()),
        ("amount", "600"),
        ("currency", "usd"),
        ("metadata[payout_id]", "p-1"),
    ];
    let answers =
        join_all((0..16).map(|_| post_form(&fake, "v1/transfers", &form, Some("payout-p-1"))))
            .await;
    assert!(
        answers
            .iter()
            .all(|answer| answer.status == 200 && answer.body == answers[0].body),
        "{answers:?}"
    );
    assert_eq!(answers.iter().filter(|answer| !answer.replayed).count(), 1);
    assert_eq!(fake.transfer_count_for_idempotency_key("payout-p-1"), 1);
    assert_eq!(fake.available_balance_cents(), 400);
    let listed = reqwest::get(format!(
        "{}_fake/transfers?idempotency_key=payout-p-1",
        fake.base_url()
    ))
    .await
    .unwrap();
    let listed: serde_json::Value = listed.json().await.unwrap();
    assert_eq!(listed["count"], 1);
    assert_eq!(
        listed["transfers"][0]["metadata"],
        json!({ "payout_id": "p-1" })
    );
}

#[tokio::test]
async fn http_controls_drive_the_same_operations() {
    let fake = common::start_fake().await;
    let session = common::create_session(&fake).await;
    let missing = common::control(
        &fake,
        "_fake/checkout/sessions/cs_missing/complete",
        json!({}),
    )
    .await;
    assert_eq!(missing.status, 404);
    let unknown_field = common::control(
        &fake,
        &format!("_fake/checkout/sessions/{session}/complete"),
        json!({ "pay": true }),
    )
    .await;
    assert_eq!(unknown_field.status, 400);
    let completed = common::control(
        &fake,
        &format!("_fake/checkout/sessions/{session}/complete"),
        json!({ "payment": "delayed" }),
    )
    .await;
    assert_eq!(
        (
            completed.status,
            completed.body["object"]["payment_status"].as_str()
        ),
        (200, Some("unpaid"))
    );
    let settled = common::control(
        &fake,
        &format!("_fake/checkout/sessions/{session}/async_payment"),
        json!({ "succeeded": true }),
    )
    .await;
    assert_eq!(settled.body["object"]["payment_status"], "paid");
    let top_up = common::control(&fake, "_fake/balance", json!({ "amount_cents": 100 })).await;
    assert_eq!(top_up.body["available_cents"], 1_426 + 100);
    let events = reqwest::get(format!("{}_fake/events", fake.base_url()))
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let types: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "checkout.session.completed",
            "checkout.session.async_payment_succeeded"
        ]
    );
    let event = get(
        &fake,
        &format!("v1/events/{}", events["events"][1]["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(event.body["data"]["object"]["id"], session.as_str());
}

#[tokio::test]
async fn hosted_payment_page_completes_and_redirects() {
    let fake = common::start_fake().await;
    let form = form_with(
        &CHECKOUT_FORM,
        &[
            ("success_url", Some("https://megabox.test/paid")),
            ("cancel_url", Some("https://megabox.test/cart")),
        ],
    );
    let session = post_form(&fake, "v1/checkout/sessions", &form, None)
        .await
        .body;
    let url = session["url"].as_str().unwrap();
    let page = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert!(page.contains(session["id"].as_str().unwrap()) && page.contains("test mode"));
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let paid = no_redirects
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=pay")
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status().as_u16(), 303);
    assert_eq!(paid.headers()["location"], "https://megabox.test/paid");
    assert_eq!(
        fake.object(session["id"].as_str().unwrap()).unwrap()["payment_status"],
        "paid"
    );
    let bogus = no_redirects
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=steal")
        .send()
        .await
        .unwrap();
    assert_eq!(bogus.status().as_u16(), 400);
}

#[tokio::test]
async fn transfers_take_the_configured_latency_and_are_made_half_way() {
    let latency = std::time::Duration::from_millis(400);
    let fake = FakeStripe::start(FakeStripeConfig {
        transfer_latency: latency,
        ..FakeStripeConfig::default()
    })
    .await
    .unwrap();
    let account = common::ready_account(&fake).await;
    fake.add_available_balance(1_000).unwrap();
    let form = [
        ("destination", account.as_str()),
        ("amount", "600"),
        ("currency", "usd"),
    ];
    let started = std::time::Instant::now();
    let answer = post_form(&fake, "v1/transfers", &form, Some("payout-slow")).await;
    assert_eq!(answer.status, 200);
    assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
    // A client that gives up after the transfer is made (half-way) never hears of it, but the
    // money moved: its retry with the same key gets the same transfer.
    let impatient = reqwest::Client::builder()
        .timeout(latency * 3 / 4)
        .build()
        .unwrap();
    let given_up = impatient
        .post(format!("{}v1/transfers", fake.base_url()))
        .bearer_auth(fake.secret_key())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("idempotency-key", "payout-lost")
        .body(
            serde_urlencoded::to_string([
                ("destination", account.as_str()),
                ("amount", "400"),
                ("currency", "usd"),
            ])
            .unwrap(),
        )
        .send()
        .await;
    assert!(given_up.is_err(), "the client timed out");
    assert_eq!(fake.transfer_count_for_idempotency_key("payout-lost"), 1);
    let retried = post_form(
        &fake,
        "v1/transfers",
        &[
            ("destination", account.as_str()),
            ("amount", "400"),
            ("currency", "usd"),
        ],
        Some("payout-lost"),
    )
    .await;
    assert_eq!((retried.status, retried.replayed), (200, true));
    assert_eq!(fake.transfers().len(), 2);
    assert_eq!(fake.available_balance_cents(), 0);
}
