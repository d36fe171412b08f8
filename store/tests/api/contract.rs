//! The wire contract a strict client relies on: every time in a response is RFC 3339 in UTC
//! (`…Z`), including the expiries of signed links; every time a request takes must carry an
//! offset, and a naive one is a 422 `invalid_timestamp` that names the field.

use megabox_database::Backend;
use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::{Session, TestApp, error_code, spawn_app};

on_every_backend!(
    every_time_in_a_response_is_rfc3339_utc,
    request_times_need_an_offset,
    the_document_lists_what_each_operation_answers
);

/// Every string in `value` that starts like a date-time, with where it was found.
fn date_times<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(text) => {
            let bytes = text.as_bytes();
            let looks_like_one = bytes.len() >= 16
                && bytes[4] == b'-'
                && bytes[7] == b'-'
                && bytes[10] == b'T'
                && bytes[..4].iter().all(u8::is_ascii_digit);
            if looks_like_one {
                found.push((at, text));
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                date_times(item, format!("{at}[{index}]"), found);
            }
        }
        Value::Object(fields) => {
            for (name, field) in fields {
                date_times(field, format!("{at}.{name}"), found);
            }
        }
        _ => {}
    }
}

/// Asserts that every date-time in `body` is RFC 3339 in UTC, and returns how many it saw.
fn assert_utc_times(path: &str, body: &Value) -> usize {
    let mut found = Vec::new();
    date_times(body, String::new(), &mut found);
    for (at, text) in &found {
        assert!(
            chrono::DateTime::parse_from_rfc3339(text).is_ok() && text.ends_with('Z'),
            "{path}{at} = {text:?} is not RFC 3339 in UTC"
        );
    }
    found.len()
}

async fn get_checked(app: &TestApp, session: &Session, path: &str) -> (Value, usize) {
    let body = app.get_json(path, session).await;
    let times = assert_utc_times(path, &body);
    (body, times)
}

async fn post_checked(app: &TestApp, session: &Session, path: &str, body: &Value) -> Value {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(&session.access_token)
        .json(body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    let body: Value = response.json().await.unwrap();
    assert!(
        assert_utc_times(path, &body) > 0,
        "{path} has a time: {body}"
    );
    body
}

async fn every_time_in_a_response_is_rfc3339_utc(backend: Backend) {
    let app = spawn_app(backend).await;
    let seeded = app.megabox(&["demo"]);
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let fan = app.sign_in_demo("avery@fans.demo.megabox.test").await;
    let artist = app.sign_in_demo("nova@demo.megabox.test").await;
    let operator = app.sign_in_demo("admin@demo.megabox.test").await;

    let mut times = 0;
    for path in [
        "/api/v1/me",
        "/api/v1/library",
        "/api/v1/devices",
        "/api/v1/installer/status",
        "/api/v1/installer/redemptions",
        "/api/v1/catalog/releases?limit=100",
        "/api/v1/catalog/search?q=harbour",
    ] {
        times += get_checked(&app, &fan, path).await.1;
    }
    let (releases, _) = get_checked(&app, &artist, "/api/v1/releases").await;
    let release = releases.as_array().unwrap()[0]["id"].as_str().unwrap();
    let (earnings, _) = get_checked(&app, &artist, "/api/v1/artist/earnings").await;
    let period = earnings[0]["period"].as_str().unwrap();
    for path in [
        format!("/api/v1/releases/{release}"),
        format!("/api/v1/catalog/releases/{release}"),
        format!("/api/v1/artist/statements/{period}"),
        "/api/v1/artist/payouts".to_owned(),
        "/api/v1/artist/profile".to_owned(),
    ] {
        times += get_checked(&app, &artist, &path).await.1;
    }
    let (campaigns, _) = get_checked(&app, &operator, "/api/v1/admin/campaigns").await;
    let campaign = campaigns[0]["id"].as_str().unwrap();
    for path in [
        "/api/v1/admin/advertisers".to_owned(),
        "/api/v1/admin/flags".to_owned(),
        format!("/api/v1/admin/campaigns/{campaign}/creatives"),
    ] {
        times += get_checked(&app, &operator, &path).await.1;
    }
    assert!(times > 20, "the demo's history shows times: {times}");

    // Signed links carry their expiry as a time too, not as Unix seconds.
    let (library, _) = get_checked(&app, &fan, "/api/v1/library").await;
    let owned = &library[0]["item"];
    assert!(
        owned["id"].is_string(),
        "the demo fan owns music: {library}"
    );
    let link = post_checked(
        &app,
        &fan,
        &format!("/api/v1/library/{}/download", owned["id"].as_str().unwrap()),
        &json!({"format": "original"}),
    )
    .await;
    assert!(link["expires_at"].is_string(), "{link}");
    let code = post_checked(&app, &fan, "/api/v1/devices/pairing-codes", &json!({})).await;
    assert!(code["expires_at"].is_string(), "{code}");
}

async fn request_times_need_an_offset(backend: Backend) {
    let app = spawn_app(backend).await;
    let operator = app.admin("operator@example.com").await;
    let advertiser = app.create_advertiser(&operator, "Harbour Records").await;
    let campaign = |starts_at: &str, ends_at: &str| {
        json!({
            "advertiser_id": advertiser["id"], "name": "Launch", "cpm_cents": 500,
            "budget_cents": 10_000, "starts_at": starts_at, "ends_at": ends_at,
        })
    };
    let post = |body: Value| {
        app.client
            .post(app.url("/api/v1/admin/campaigns"))
            .bearer_auth(&operator.access_token)
            .json(&body)
            .send()
    };

    for (starts_at, ends_at, named) in [
        ("2026-12-02T06:00:00", "2026-12-31T00:00:00Z", "starts_at"),
        ("2026-12-02T06:00:00Z", "2026-12-31", "ends_at"),
        ("2026-12-02T06:00:00Z", "next week", "ends_at"),
    ] {
        let refused = post(campaign(starts_at, ends_at)).await.unwrap();
        let status = refused.status();
        let body: Value = refused.json().await.unwrap();
        assert_eq!(status, 422, "{starts_at} … {ends_at}: {body}");
        assert_eq!(body["error"]["code"], "invalid_timestamp", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{message}");
    }

    // Any offset is taken and converted: the answer is in UTC.
    let created = post(campaign(
        "2026-12-02T07:00:00+01:00",
        "2026-12-31T23:59:59.5-05:00",
    ))
    .await
    .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["starts_at"], "2026-12-02T06:00:00Z");
    assert_eq!(created["ends_at"], "2027-01-01T04:59:59.500Z");

    // A request with no body shape at all is still a plain shape error, not a time error.
    let malformed = post(json!({"starts_at": 5})).await.unwrap();
    assert_eq!(error_code(malformed, 422).await, "invalid_body");
}

/// What the extractors answer before a handler runs is in the document of every operation:
/// each operation that takes a token answers 401 without one, and each JSON body refuses another
/// Content-Type with 415; both are listed.
async fn the_document_lists_what_each_operation_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let document = app.openapi_document().await;
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let listed = |status: u16| operation["responses"].get(status.to_string()).is_some();
            assert!(listed(500), "{method} {path} lists 500");
            let security = operation["security"].as_array();
            let needs_token = security.is_some_and(|alternatives| {
                alternatives
                    .iter()
                    .all(|alternative| alternative.get("bearer").is_some())
            });
            let json_body = operation["requestBody"]["content"]
                .get("application/json")
                .is_some();
            let url = app.url(&path.replace(['{', '}'], ""));
            let request = app
                .client
                .request(method.to_uppercase().parse().unwrap(), url);
            if needs_token {
                let status = request.send().await.unwrap().status().as_u16();
                assert_eq!(status, 401, "{method} {path} without a token");
                assert!(listed(401), "{method} {path} lists 401");
                checked += 1;
            } else if json_body {
                let response = request
                    .header("content-type", "text/plain")
                    .body("{}")
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                assert!(
                    listed(status),
                    "{method} {path} answered {status}, not listed"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "{checked} operations checked");
}
