//! Walkthrough 5 at the HTTP edge: earnings and statements for artists (their own only), period
//! close and ledger verification for operators, over the API and the CLI.

use megabox_database::Backend;
use serde_json::Value;

use crate::listening::{fetch, published_track, report, set_free_tier, start_play};
use crate::on_every_backend;
use crate::support::{error_code, spawn_app_with};

on_every_backend!(plays_reach_earnings_and_operators_close_and_verify);

async fn plays_reach_earnings_and_operators_close_and_verify(backend: Backend) {
    let app = spawn_app_with(backend, |settings| settings.play_qualifying_seconds = 1).await;
    let (artist, track_id, _) = published_track(&app, "earner@example.com", 2).await;
    let listener = app.register("payer@example.com", "listener").await;
    let admin = app.admin("ops@example.com").await;
    set_free_tier(&app, &admin, &listener, true).await;
    let play: Value = start_play(&app, &listener, &track_id)
        .await
        .json()
        .await
        .unwrap();
    fetch(&app, &play).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(
        report(&app, &listener, play["play_id"].as_str().unwrap(), 2_000).await["qualified"],
        true
    );

    let earnings: Value = app
        .get_authorized("/api/v1/artist/earnings", &artist.access_token)
        .await
        .json()
        .await
        .unwrap();
    let period = chrono::Utc::now().format("%Y-%m").to_string();
    let this_period = earnings
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["period"] == period.as_str())
        .expect("the current period");
    assert_eq!(this_period["plays"], 1, "{earnings}");

    let statement: Value = app
        .get_authorized(
            &format!("/api/v1/artist/statements/{period}"),
            &artist.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let lines_total: i64 = statement["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["amount_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(
        statement["opening_balance_cents"].as_i64().unwrap() + lines_total,
        statement["closing_balance_cents"].as_i64().unwrap()
    );
    let csv = app
        .client
        .get(app.url(&format!("/api/v1/artist/statements/{period}?format=csv")))
        .bearer_auth(&artist.access_token)
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    for bad in ["2026-13", "nonsense", "2026-1-1"] {
        let response = app
            .get_authorized(
                &format!("/api/v1/artist/statements/{bad}"),
                &artist.access_token,
            )
            .await;
        assert_eq!(error_code(response, 422).await, "invalid_period", "{bad}");
    }
    let listener_earnings = app
        .get_authorized("/api/v1/artist/earnings", &listener.access_token)
        .await;
    assert_eq!(error_code(listener_earnings, 403).await, "forbidden");

    let close = |token: String| {
        let url = app.url("/api/v1/admin/periods/2026-01/close");
        let client = app.client.clone();
        async move { client.post(url).bearer_auth(token).send().await.unwrap() }
    };
    assert_eq!(
        error_code(close(artist.access_token.clone()).await, 403).await,
        "forbidden"
    );
    let first: Value = close(admin.access_token.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["already_closed"], false, "{first}");
    let second: Value = close(admin.access_token.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        second["already_closed"], true,
        "closing twice changes nothing"
    );

    let verified: Value = app
        .get_authorized("/api/v1/admin/ledger/verify", &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verified["ok"], true, "{verified}");
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_megabox"))
        .args(["ledger", "verify"])
        .env("DATABASE_URL", &app._database.url)
        .env("MEGABOX_DATA_DIR", app._data_dir.path())
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(String::from_utf8_lossy(&cli.stdout).contains("\"ok\": true"));
}
