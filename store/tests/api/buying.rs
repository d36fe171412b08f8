//! Walkthrough 2: a listener buys. A two-artist cart through the test-mode gateway (the
//! embedded default) and through the real Stripe client against the fake Stripe server, both
//! ending in the library and a full stream; and the ways a checkout or a webhook can be wrong.

use fake_stripe::{Delivery, FakeStripe, FakeStripeConfig, PaymentTiming};
use megabox_database::Backend;
use serde_json::{Value, json};

use crate::listening::{published_track, start_play};
use crate::on_every_backend;
use crate::support::{Session, TestApp, error_code, spawn_app, spawn_app_with};

on_every_backend!(
    a_listener_buys_a_two_artist_cart_in_test_mode,
    a_listener_buys_through_stripe,
    bad_checkouts_and_webhooks_change_nothing
);

const WEBHOOK_SECRET: &str = "whsec_test_store_secret";

async fn release_of_track(app: &TestApp, artist: &Session) -> String {
    let releases: Value = app
        .get_authorized("/api/v1/releases", &artist.access_token)
        .await
        .json()
        .await
        .unwrap();
    releases[0]["id"].as_str().unwrap().to_owned()
}

async fn checkout(app: &TestApp, listener: &Session, items: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/checkout"))
        .bearer_auth(&listener.access_token)
        .json(&json!({"items": items}))
        .send()
        .await
        .unwrap()
}

async fn library(app: &TestApp, listener: &Session) -> Vec<Value> {
    app.get_authorized("/api/v1/library", &listener.access_token)
        .await
        .json::<Value>()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

async fn a_listener_buys_a_two_artist_cart_in_test_mode(backend: Backend) {
    let app = spawn_app(backend).await;
    let (first_artist, first_track, _) = published_track(&app, "one@example.com", 1).await;
    let (second_artist, _, _) = published_track(&app, "two@example.com", 1).await;
    let second_release = release_of_track(&app, &second_artist).await;
    let listener = app.register("buyer@example.com", "listener").await;

    // A client-sent amount for a fixed-price item is ignored: prices come from the catalog.
    let started = checkout(
        &app,
        &listener,
        json!([{"track_id": first_track, "amount_cents": 1}, {"release_id": second_release}]),
    )
    .await;
    assert_eq!(started.status(), 201);
    let started: Value = started.json().await.unwrap();
    assert_eq!(started["test_mode"], true);
    let checkout_url = started["checkout_url"].as_str().unwrap();
    let page = app.client.get(checkout_url).send().await.unwrap();
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.starts_with("default-src 'none'; style-src 'sha256-"),
        "only the page's own style runs: {policy}"
    );
    let page = page.text().await.unwrap();
    assert!(page.contains("TEST MODE"), "the page says it is test mode");
    assert!(
        page.contains("2.00"),
        "1.00 + 1.00 from the catalog: {page}"
    );
    assert!(
        library(&app, &listener).await.is_empty(),
        "nothing is owned before paying"
    );

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let paid = no_redirects
        .post(checkout_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=pay")
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    assert!(
        paid.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/checkout/complete?order_id=")
    );
    let again = no_redirects
        .post(checkout_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=pay")
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        303,
        "paying twice (a double click) is the same payment"
    );
    let cancel = no_redirects
        .post(checkout_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=cancel")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(cancel, 409).await,
        "checkout_closed",
        "a paid session cannot be canceled"
    );

    let owned = library(&app, &listener).await;
    assert_eq!(owned.len(), 2, "{owned:?}");
    assert!(
        owned
            .iter()
            .all(|item| item["title"] == "Stream Me" || item["title"] == "Streams"),
        "items carry their titles: {owned:?}"
    );
    assert!(
        owned.iter().all(|item| item["artist_name"] == "Test"),
        "{owned:?}"
    );
    let order: Value = app
        .get_authorized(
            &format!("/api/v1/orders/{}", started["order_id"].as_str().unwrap()),
            &listener.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "paid");
    assert_eq!(order["total_cents"], 200);
    assert_eq!(
        start_play(&app, &listener, &first_track).await.status(),
        201,
        "bought music streams in full"
    );

    // Downloads in the chosen format, through signed links that cannot be stretched.
    let link = |item: String, format: &'static str| {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/library/{item}/download"));
        let token = listener.access_token.clone();
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"format": format}))
                .send()
                .await
                .unwrap()
        }
    };
    let mp3: Value = link(first_track.clone(), "mp3-320")
        .await
        .json()
        .await
        .unwrap();
    let file = app
        .client
        .get(app.url(mp3["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "audio/mpeg");
    assert!(
        file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(
                "filename=\"01 - Stream Me.mp3\"; filename*=UTF-8''01%20-%20Stream%20Me.mp3"
            )
    );
    let bytes = file.bytes().await.unwrap();
    let audio_dir = tempfile::tempdir().unwrap();
    std::fs::write(audio_dir.path().join("download.mp3"), &bytes).unwrap();
    let decoded = catalog::analysis::analyze_file(&audio_dir.path().join("download.mp3")).unwrap();
    assert!(
        decoded.duration_ms.abs_diff(1000) < 60,
        "the MP3 lasts as long as the original: {}",
        decoded.duration_ms
    );
    let zip: Value = link(second_release.clone(), "flac")
        .await
        .json()
        .await
        .unwrap();
    let archive = app
        .client
        .get(app.url(zip["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(archive.headers()["content-type"], "application/zip");
    assert!(archive.bytes().await.unwrap().starts_with(b"PK"), "a ZIP");
    let tampered = mp3["url"].as_str().unwrap().replace("mp3-320", "flac");
    assert_eq!(
        error_code(
            app.client.get(app.url(&tampered)).send().await.unwrap(),
            403
        )
        .await,
        "forbidden"
    );
    assert_eq!(
        error_code(link(first_track.clone(), "wav").await, 422).await,
        "unknown_format"
    );
    let not_owned = app.register("nonbuyer@example.com", "listener").await;
    let foreign = app
        .client
        .post(app.url(&format!("/api/v1/library/{first_track}/download")))
        .bearer_auth(&not_owned.access_token)
        .json(&json!({"format": "original"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(foreign, 404).await,
        "not_found",
        "only what you own"
    );

    // Previews are for anyone: a real clip, not the file.
    let preview = app
        .client
        .get(app.url(&format!("/api/v1/tracks/{first_track}/preview")))
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), 200);
    assert_eq!(preview.headers()["content-type"], "audio/mpeg");

    let twice = checkout(&app, &listener, json!([{"track_id": first_track}])).await;
    assert_eq!(error_code(twice, 409).await, "already_owned");
    let stranger = app.register("stranger@example.com", "listener").await;
    let foreign = app
        .get_authorized(
            &format!("/api/v1/orders/{}", started["order_id"].as_str().unwrap()),
            &stranger.access_token,
        )
        .await;
    assert_eq!(
        error_code(foreign, 404).await,
        "not_found",
        "another listener's order"
    );

    // The artists see the sale.
    let period = chrono::Utc::now().format("%Y-%m").to_string();
    let earnings: Value = app
        .get_authorized("/api/v1/artist/earnings", &first_artist.access_token)
        .await
        .json()
        .await
        .unwrap();
    let sales = earnings
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["period"] == period.as_str())
        .unwrap()["sales_cents"]
        .as_i64()
        .unwrap();
    assert!(
        sales > 0 && sales < 90,
        "90% of the net of a 1.00 sale after its share of the fee: {sales}"
    );
    let admin = app.admin("ops@example.com").await;
    let verified: Value = app
        .get_authorized("/api/v1/admin/ledger/verify", &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verified["ok"], true, "{verified}");
}

async fn a_listener_buys_through_stripe(backend: Backend) {
    let fake = FakeStripe::start(FakeStripeConfig::default())
        .await
        .unwrap();
    let base = fake.base_url().to_owned();
    let key = fake.secret_key().to_owned();
    let app = spawn_app_with(backend, move |settings| {
        settings.stripe_secret_key = Some(key.into());
        settings.stripe_webhook_secret = Some(WEBHOOK_SECRET.to_owned().into());
        settings.stripe_api_base = Some(base);
    })
    .await;
    fake.set_webhook_endpoint(app.url("/api/v1/webhooks/stripe"), WEBHOOK_SECRET);
    let (_, first_track, _) = published_track(&app, "one@example.com", 1).await;
    let (second_artist, _, _) = published_track(&app, "two@example.com", 1).await;
    let second_release = release_of_track(&app, &second_artist).await;
    let listener = app.register("buyer@example.com", "listener").await;

    let started: Value = checkout(
        &app,
        &listener,
        json!([{"track_id": first_track}, {"release_id": second_release}]),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(started["test_mode"], false);
    let session_id = started["checkout_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let outcome = fake
        .complete_checkout_session(
            &session_id,
            PaymentTiming::Immediate,
            Delivery {
                copies: 3,
                concurrent: true,
                ..Delivery::default()
            },
        )
        .await
        .unwrap();
    assert!(
        outcome
            .deliveries
            .iter()
            .all(|delivery| delivery.status == Some(200)),
        "{:?}",
        outcome.deliveries
    );
    assert_eq!(
        library(&app, &listener).await.len(),
        2,
        "each delivery applied once"
    );
    assert_eq!(
        start_play(&app, &listener, &first_track).await.status(),
        201
    );
}

async fn bad_checkouts_and_webhooks_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (artist, track, _) = published_track(&app, "pwyw@example.com", 1).await;
    let release = release_of_track(&app, &artist).await;
    let pwyw = json!({"price": {"kind": "pay_what_you_want", "minimum_cents": 500, "suggested_cents": 700}});
    // Unpublish to change the price, then publish again.
    let path = format!("/api/v1/releases/{release}");
    app.client
        .post(app.url(&format!("{path}/unpublish")))
        .bearer_auth(&artist.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.client
            .patch(app.url(&path))
            .bearer_auth(&artist.access_token)
            .json(&pwyw)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.client
        .post(app.url(&format!("{path}/publish")))
        .bearer_auth(&artist.access_token)
        .send()
        .await
        .unwrap();
    let listener = app.register("cheap@example.com", "listener").await;

    let cases = [
        (
            json!([{"release_id": release, "amount_cents": 499}]),
            422,
            "invalid_cart",
        ),
        (
            json!([{"release_id": release, "amount_cents": -5}]),
            422,
            "invalid_cart",
        ),
        (json!([]), 422, "invalid_cart"),
        (
            json!([{"release_id": release}, {"release_id": release}]),
            422,
            "invalid_cart",
        ),
        (
            json!([{"release_id": release, "track_id": track}]),
            422,
            "invalid_cart",
        ),
        (
            json!([{"release_id": uuid::Uuid::now_v7().to_string()}]),
            404,
            "not_found",
        ),
    ];
    for (items, status, code) in cases {
        let response = checkout(&app, &listener, items.clone()).await;
        assert_eq!(error_code(response, status).await, code, "{items}");
    }
    let at_minimum = checkout(
        &app,
        &listener,
        json!([{"release_id": release, "amount_cents": 500}]),
    )
    .await;
    assert_eq!(at_minimum.status(), 201, "exactly the minimum is accepted");

    let forged = app
        .client
        .post(app.url("/api/v1/webhooks/stripe"))
        .header("stripe-signature", "t=1,v1=00")
        .body(
            r#"{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"id":"cs_1"}}}"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(forged, 400).await, "invalid_signature");
    let unsigned = app
        .client
        .post(app.url("/api/v1/webhooks/stripe"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(unsigned, 400).await, "invalid_signature");
    assert!(library(&app, &listener).await.is_empty());
}
