//! The demo (`megabox demo`, which `megabox serve --demo` runs first): a catalog of generated
//! releases by several artists, each with its cover, published through the real ingest path,
//! and a running ad campaign with a creative in every accepted size; seeding twice adds nothing
//! the second time.

use std::collections::HashSet;

use megabox_database::Backend;
use serde_json::Value;

use crate::on_every_backend;
use crate::support::{TestApp, spawn_app, spawn_app_with};

on_every_backend!(
    demo_seeding_is_idempotent_and_fills_the_catalog,
    the_demo_accounts_are_listed_only_in_demo_mode
);

fn megabox_demo(app: &TestApp) -> std::process::Output {
    app.megabox(&["demo"])
}

async fn published_releases(app: &TestApp) -> Vec<Value> {
    let page: Value = app
        .client
        .get(app.url("/api/v1/catalog/releases?limit=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page["next_cursor"].is_null(), "one page holds the demo");
    page["releases"].as_array().unwrap().clone()
}

async fn demo_seeding_is_idempotent_and_fills_the_catalog(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = megabox_demo(&app);
    let report = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{report}");
    let timing = report
        .lines()
        .find(|line| line.starts_with("seeded the demo in"))
        .unwrap_or_else(|| panic!("the seeding reports its time: {report}"));
    // Shown with --nocapture: the seeding time is a figure worth watching.
    eprintln!("{backend:?}: {timing}");
    assert!(
        report.contains("listener@demo.megabox.test") && report.contains("megabox-demo-password"),
        "the accounts are printed: {report}"
    );

    let releases = published_releases(&app).await;
    assert!(releases.len() >= 12, "{} releases", releases.len());
    let artists: HashSet<&str> = releases
        .iter()
        .map(|release| release["artist_id"].as_str().unwrap())
        .collect();
    assert!(artists.len() >= 5, "{} artists", artists.len());
    let kinds: HashSet<&str> = releases
        .iter()
        .map(|release| release["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, HashSet::from(["album", "ep", "single"]));
    let prices: HashSet<&str> = releases
        .iter()
        .map(|release| release["price"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(prices, HashSet::from(["fixed", "pay_what_you_want"]));

    // Every cover was extracted from the uploaded file and is served; no two are the same.
    let mut covers = HashSet::new();
    for release in &releases {
        let url = release["artwork_url"]
            .as_str()
            .unwrap_or_else(|| panic!("{} has a cover", release["title"]));
        let response = app.client.get(app.url(url)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let bytes = response.bytes().await.unwrap();
        let image = image::load_from_memory(&bytes).unwrap();
        assert_eq!((image.width(), image.height()), (1200, 1200));
        assert!(
            covers.insert(bytes),
            "{} has a cover of its own",
            release["title"]
        );
    }
    // Every release carries tags, and the tag pages list them.
    for release in &releases {
        let id = release["id"].as_str().unwrap();
        let detail: Value = app
            .client
            .get(app.url(&format!("/api/v1/catalog/releases/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            !detail["tags"].as_array().unwrap().is_empty(),
            "{} has tags",
            release["title"]
        );
    }
    let tags: Value = app
        .client
        .get(app.url("/api/v1/catalog/tags"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        tags["tags"][0]["tag"], "electronic",
        "the most used demo tag"
    );
    assert_eq!(tags["tags"][0]["release_count"], 5);
    // Tracks were analysed: each has its real length, and the release's tracks are in order.
    let album = releases
        .iter()
        .find(|release| release["title"] == "Harbour Lights")
        .unwrap();
    let detail: Value = app
        .client
        .get(app.url(&format!(
            "/api/v1/catalog/releases/{}",
            album["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tracks = detail["tracks"].as_array().unwrap();
    let titles: Vec<&str> = tracks
        .iter()
        .map(|track| track["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Low Tide", "Signal Fires", "Night Ferry", "Breakwater"]
    );
    for track in tracks {
        let duration_ms = track["duration_ms"].as_u64().unwrap();
        assert!((32_000..=40_000).contains(&duration_ms), "{track}");
    }

    // The campaign runs: an agent asking for any accepted size gets a creative of that size.
    for size in [
        "300x250", "728x90", "160x600", "300x600", "320x50", "970x250",
    ] {
        let list: Value = app
            .client
            .get(app.url(&format!("/api/v1/ads/creatives?size={size}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let creative = &list["creatives"][0];
        assert_eq!(creative["headline"], "Winter sampler", "{size}: {list}");
        let image = app
            .client
            .get(app.url(creative["image_url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(image.status(), 200);
        let image = image::load_from_memory(&image.bytes().await.unwrap()).unwrap();
        assert_eq!(format!("{}x{}", image.width(), image.height()), size);
    }

    // Three months of history through the real calls: the ledger holds.
    let history = report
        .lines()
        .find(|line| line.starts_with("history:"))
        .unwrap_or_else(|| panic!("the history is reported: {report}"));
    eprintln!("{backend:?}: {history}");
    let verify = app.megabox(&["ledger", "verify"]);
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let artist = app.sign_in_demo("nova@demo.megabox.test").await;
    let earnings = app.get_json("/api/v1/artist/earnings", &artist).await;
    let periods = earnings.as_array().unwrap();
    let with = |field: &str| {
        periods
            .iter()
            .filter(|period| period[field].as_i64().unwrap() != 0)
            .count()
    };
    assert!(
        with("sales_cents") >= 3,
        "sales in the past months: {earnings}"
    );
    assert!(with("plays") >= 3, "plays in the past months: {earnings}");
    assert!(with("ad_shares_cents") >= 1, "an ad share: {earnings}");
    assert_eq!(with("payouts_cents"), 1, "one payout: {earnings}");
    let payouts = app.get_json("/api/v1/artist/payouts", &artist).await;
    assert_eq!(payouts.as_array().unwrap().len(), 1, "{payouts}");
    let first_period = periods
        .iter()
        .map(|period| period["period"].as_str().unwrap())
        .min()
        .unwrap();
    let statement = app
        .get_json(
            &format!("/api/v1/artist/statements/{first_period}"),
            &artist,
        )
        .await;
    assert!(
        !statement["lines"].as_array().unwrap().is_empty(),
        "{statement}"
    );

    let again = megabox_demo(&app);
    let report = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{report}");
    assert!(report.contains("seeded already"), "{report}");
    let after = published_releases(&app).await;
    assert_eq!(after.len(), releases.len(), "nothing duplicated");
    let earnings_after = app.get_json("/api/v1/artist/earnings", &artist).await;
    assert_eq!(earnings_after, earnings, "no second history");
}

async fn the_demo_accounts_are_listed_only_in_demo_mode(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .get(app.url("/api/v1/demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        404,
        "a real store never lists demo accounts"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body}");

    let app = spawn_app_with(backend, |settings| settings.demo = true).await;
    let response = app
        .client
        .get(app.url("/api/v1/demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let accounts = body["accounts"].as_array().unwrap();
    let roles: HashSet<&str> = accounts
        .iter()
        .map(|account| account["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, HashSet::from(["listener", "artist", "admin"]));
    for account in accounts {
        assert_eq!(account["password"], "megabox-demo-password", "{account}");
        for field in ["email", "display_name", "try_this"] {
            assert!(
                !account[field].as_str().unwrap().is_empty(),
                "{field} of {account}"
            );
        }
    }
    // The list is the one `serve --demo` prints.
    let printed = megabox_store::demo::describe("http://demo");
    for account in accounts {
        assert!(
            printed.contains(account["email"].as_str().unwrap()),
            "{printed}"
        );
        assert!(
            printed.contains(account["try_this"].as_str().unwrap()),
            "{printed}"
        );
    }
}
