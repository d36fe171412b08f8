//! What people read about their own music: release pages say what the signed-in caller owns
//! (`owned`), and statements name the items of sales by title rather than by id.

use megabox_database::Backend;
use serde_json::{Value, json};

use crate::listening::published_track;
use crate::on_every_backend;
use crate::support::{Session, TestApp, error_code, spawn_app};

on_every_backend!(release_page_says_what_is_owned);

/// Buys `items` through the test-mode gateway and pays.
async fn buy(app: &TestApp, listener: &Session, items: Value) {
    let started: Value = app
        .client
        .post(app.url("/api/v1/checkout"))
        .bearer_auth(&listener.access_token)
        .json(&json!({"items": items}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paid = app
        .client
        .post(started["checkout_url"].as_str().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=pay")
        .send()
        .await
        .unwrap();
    assert!(paid.status().is_success() || paid.status().is_redirection());
}

async fn release_page(app: &TestApp, release: &str, token: Option<&str>) -> reqwest::Response {
    let request = app
        .client
        .get(app.url(&format!("/api/v1/catalog/releases/{release}")));
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
    .send()
    .await
    .unwrap()
}

async fn release_page_json(app: &TestApp, release: &str, token: Option<&str>) -> Value {
    let response = release_page(app, release, token).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn release_page_says_what_is_owned(backend: Backend) {
    let app = spawn_app(backend).await;
    let (artist, track, _) = published_track(&app, "owner@example.com", 1).await;
    let releases: Value = app
        .get_authorized("/api/v1/releases", &artist.access_token)
        .await
        .json()
        .await
        .unwrap();
    let release = releases[0]["id"].as_str().unwrap().to_owned();
    let buyer = app.register("buyer@example.com", "listener").await;
    let other = app.register("other@example.com", "listener").await;

    let visitor = release_page_json(&app, &release, None).await;
    assert!(visitor["release"].get("owned").is_none(), "{visitor}");
    assert!(visitor["tracks"][0].get("owned").is_none(), "{visitor}");
    let before = release_page_json(&app, &release, Some(&buyer.access_token)).await;
    assert_eq!(before["release"]["owned"], false);
    assert_eq!(before["tracks"][0]["owned"], false);

    buy(&app, &buyer, json!([{"track_id": track}])).await;
    let track_bought = release_page_json(&app, &release, Some(&buyer.access_token)).await;
    assert_eq!(
        track_bought["release"]["owned"], false,
        "the track, not the release"
    );
    assert_eq!(track_bought["tracks"][0]["owned"], true);
    let someone_else = release_page_json(&app, &release, Some(&other.access_token)).await;
    assert_eq!(
        someone_else["tracks"][0]["owned"], false,
        "ownership is the caller's"
    );
    assert_eq!(
        error_code(release_page(&app, &release, Some("not-a-token")).await, 401).await,
        "invalid_token",
        "a bad token is refused, not treated as a visitor, so clients refresh it"
    );

    buy(&app, &other, json!([{"release_id": release}])).await;
    let release_bought = release_page_json(&app, &release, Some(&other.access_token)).await;
    assert_eq!(release_bought["release"]["owned"], true);
    assert_eq!(
        release_bought["tracks"][0]["owned"], true,
        "a track is owned through its release"
    );

    // The artist's statement names what sold.
    let period = chrono::Utc::now().format("%Y-%m").to_string();
    let statement: Value = app
        .get_authorized(
            &format!("/api/v1/artist/statements/{period}"),
            &artist.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let sales: Vec<&Value> = statement["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["kind"] == "sale")
        .collect();
    assert!(
        sales.len() >= 2,
        "a sale of the track and one of the release: {statement}"
    );
    for line in sales {
        let expected = if line["source_ref"].as_str().unwrap().starts_with("track:") {
            "Stream Me"
        } else {
            "Streams"
        };
        assert_eq!(line["title"], expected, "{line}");
    }
}
