//! Walkthrough 1: an artist publishes. Upload through the API (analysed in the sandboxed child
//! process), pre-filled from tags, edited, priced, published, found in the public catalog and in
//! search; and every way an upload or an edit can go wrong.

use megabox_database::Backend;
use reqwest::multipart::Form;
use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::{TestApp, error_code, spawn_app, spawn_app_with};
use megabox_store::demo::audio::tagged_wav;

on_every_backend!(
    an_artist_uploads_edits_prices_and_publishes,
    hostile_uploads_are_refused_and_leave_nothing_behind,
    duplicate_and_oversized_uploads_are_refused,
    artists_never_see_each_others_drafts,
    prices_are_validated,
);

async fn create_release(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app
        .client
        .post(app.url("/api/v1/releases"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn an_artist_uploads_edits_prices_and_publishes(backend: Backend) {
    let app = spawn_app(backend).await;
    let artist = app.register("band@example.com", "artist").await;
    let release = create_release(&app, &artist.access_token, json!({"kind": "album"})).await;
    let release_id = release["id"].as_str().unwrap();
    assert_eq!(release["state"], "draft");

    let first = app
        .upload_track(
            &artist.access_token,
            release_id,
            "01.wav",
            tagged_wav(2, 440, "Opening Tune", "The Testers", "Loud Quiet Loud"),
        )
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let first_id = first["track"]["id"].as_str().unwrap();
    assert_eq!(
        first["track"]["title"], "Opening Tune",
        "pre-filled from the tags"
    );
    assert_eq!(first["track"]["duration_ms"], 2000);
    assert_eq!(
        first["release"]["title"], "Loud Quiet Loud",
        "the release title comes from the album tag"
    );
    let second = app
        .upload_track(
            &artist.access_token,
            release_id,
            "02.wav",
            tagged_wav(1, 660, "Secnod Song", "The Testers", "Loud Quiet Loud"),
        )
        .await;
    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.unwrap();
    let second_id = second["track"]["id"].as_str().unwrap();
    assert_eq!(second["track"]["position"], 2);

    // Not ready: no price yet.
    let early = app
        .client
        .post(app.url(&format!("/api/v1/releases/{release_id}/publish")))
        .bearer_auth(&artist.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(early, 422).await, "not_publishable");

    let fixed = patch(
        &app,
        &artist.access_token,
        &format!("/api/v1/tracks/{second_id}"),
        json!({"title": "Second Song", "price": {"kind": "fixed", "price_cents": 99}}),
    )
    .await;
    assert_eq!(fixed.status(), 200);
    let first_priced = patch(
        &app,
        &artist.access_token,
        &format!("/api/v1/tracks/{first_id}"),
        json!({"price": {"kind": "fixed", "price_cents": 129}}),
    )
    .await;
    assert_eq!(first_priced.status(), 200);
    let priced = patch(
        &app,
        &artist.access_token,
        &format!("/api/v1/releases/{release_id}"),
        json!({"price": {"kind": "pay_what_you_want", "minimum_cents": 500, "suggested_cents": 800}}),
    )
    .await;
    assert_eq!(priced.status(), 200);
    let published = app
        .client
        .post(app.url(&format!("/api/v1/releases/{release_id}/publish")))
        .bearer_auth(&artist.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 200);

    let page: Value = app
        .client
        .get(app.url("/api/v1/catalog/releases"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["releases"][0]["title"], "Loud Quiet Loud");
    assert_eq!(
        page["releases"][0]["price"],
        json!({"kind": "pay_what_you_want", "minimum_cents": 500, "suggested_cents": 800})
    );
    let detail: Value = app
        .client
        .get(app.url(&format!("/api/v1/catalog/releases/{release_id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let titles: Vec<&str> = detail["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|track| track["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Opening Tune", "Second Song"]);

    for query in ["loud quiet", "second", "Opening"] {
        let results: Value = app
            .client
            .get(app.url(&format!(
                "/api/v1/catalog/search?q={}",
                query.replace(' ', "%20")
            )))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found = results["releases"].as_array().unwrap().len()
            + results["tracks"].as_array().unwrap().len();
        assert!(found > 0, "{query}: {results}");
    }
}

/// Files that are not audio, or broken audio, get a clear error each; no row, no blob and no
/// temporary file stays behind.
async fn hostile_uploads_are_refused_and_leave_nothing_behind(backend: Backend) {
    let app = spawn_app(backend).await;
    let artist = app.register("hostile@example.com", "artist").await;
    let release = create_release(
        &app,
        &artist.access_token,
        json!({"title": "Hostile", "kind": "single"}),
    )
    .await;
    let release_id = release["id"].as_str().unwrap();
    let good = tagged_wav(1, 440, "t", "a", "b");
    let mut huge_declared = good.clone();
    let data_at = huge_declared
        .windows(4)
        .position(|window| window == b"data")
        .unwrap();
    huge_declared[data_at + 4..data_at + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde".to_vec();
    let random: Vec<u8> = (0..64 * 1024u32)
        .map(|index| u8::try_from(index.wrapping_mul(2_654_435_761) >> 24).unwrap())
        .collect();
    let cases: Vec<(&str, Vec<u8>, u16, &[&str])> = vec![
        ("empty.wav", Vec::new(), 422, &["empty_file"]),
        (
            "notes.mp3",
            b"just some text, not audio at all\n".repeat(100),
            422,
            &["unsupported_format"],
        ),
        ("cover.flac", png, 422, &["unsupported_format"]),
        (
            "noise.ogg",
            random,
            422,
            &["unsupported_format", "invalid_audio"],
        ),
        (
            "truncated.wav",
            good[..100].to_vec(),
            422,
            &["invalid_audio", "unsupported_format"],
        ),
        (
            "huge-declared.wav",
            huge_declared,
            422,
            &["invalid_audio", "unsupported_format"],
        ),
    ];
    for (name, bytes, status, codes) in cases {
        let response = app
            .upload_track(&artist.access_token, release_id, name, bytes)
            .await;
        let code = error_code(response, status).await;
        assert!(codes.contains(&code.as_str()), "{name}: {code}");
    }
    let detail: Value = app
        .client
        .get(app.url(&format!("/api/v1/releases/{release_id}")))
        .bearer_auth(&artist.access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["tracks"], json!([]), "no track was created");
    assert_eq!(
        files_under(&app._data_dir.path().join("media")),
        0,
        "no blob was stored"
    );
    assert_eq!(
        files_under(&app._data_dir.path().join("uploads")),
        0,
        "no upload was left behind"
    );
}

fn files_under(directory: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return 0;
    };
    entries
        .map(|entry| entry.unwrap().path())
        .map(|path| if path.is_dir() { files_under(&path) } else { 1 })
        .sum()
}

async fn duplicate_and_oversized_uploads_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, |settings| settings.upload_bytes_max = 300_000).await;
    let artist = app.register("dupe@example.com", "artist").await;
    let release = create_release(
        &app,
        &artist.access_token,
        json!({"title": "Dupes", "kind": "ep"}),
    )
    .await;
    let release_id = release["id"].as_str().unwrap();
    let audio = tagged_wav(1, 440, "Same", "Artist", "Album");
    assert_eq!(
        app.upload_track(&artist.access_token, release_id, "a.wav", audio.clone())
            .await
            .status(),
        201
    );
    // The same audio with other tags is still the same audio.
    let retagged = tagged_wav(1, 440, "Other title", "Artist", "Album");
    let duplicate = app
        .upload_track(&artist.access_token, release_id, "b.wav", retagged)
        .await;
    assert_eq!(error_code(duplicate, 409).await, "duplicate_audio");
    let too_large = app
        .upload_track(
            &artist.access_token,
            release_id,
            "long.wav",
            tagged_wav(3, 440, "Long", "Artist", "Album"),
        )
        .await;
    assert_eq!(error_code(too_large, 413).await, "file_too_large");
    let no_file = app
        .client
        .post(app.url(&format!("/api/v1/releases/{release_id}/tracks")))
        .bearer_auth(&artist.access_token)
        .multipart(Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(no_file, 422).await, "unexpected_field");
}

async fn artists_never_see_each_others_drafts(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.register("owner@example.com", "artist").await;
    let other = app.register("other@example.com", "artist").await;
    let listener = app.register("fan@example.com", "listener").await;
    let release = create_release(
        &app,
        &owner.access_token,
        json!({"title": "Secret", "kind": "single"}),
    )
    .await;
    let release_id = release["id"].as_str().unwrap();
    let uploaded: Value = app
        .upload_track(
            &owner.access_token,
            release_id,
            "s.wav",
            tagged_wav(1, 500, "Secret Song", "Owner", "Secret"),
        )
        .await
        .json()
        .await
        .unwrap();
    let track_id = uploaded["track"]["id"].as_str().unwrap();

    let reads = [format!("/api/v1/releases/{release_id}")];
    for path in &reads {
        let response = app.get_authorized(path, &other.access_token).await;
        assert_eq!(error_code(response, 404).await, "not_found", "{path}");
    }
    let edit = patch(
        &app,
        &other.access_token,
        &format!("/api/v1/releases/{release_id}"),
        json!({"title": "Mine now"}),
    )
    .await;
    assert_eq!(error_code(edit, 404).await, "not_found");
    let edit_track = patch(
        &app,
        &other.access_token,
        &format!("/api/v1/tracks/{track_id}"),
        json!({"title": "Mine now"}),
    )
    .await;
    assert_eq!(error_code(edit_track, 404).await, "not_found");
    let publish = app
        .client
        .post(app.url(&format!("/api/v1/releases/{release_id}/publish")))
        .bearer_auth(&other.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(publish, 404).await, "not_found");
    let upload_into = app
        .upload_track(
            &other.access_token,
            release_id,
            "x.wav",
            tagged_wav(1, 300, "x", "y", "z"),
        )
        .await;
    assert_eq!(error_code(upload_into, 404).await, "not_found");
    let public = app
        .client
        .get(app.url(&format!("/api/v1/catalog/releases/{release_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(public, 404).await,
        "not_found",
        "drafts are not public"
    );
    let results: Value = app
        .client
        .get(app.url("/api/v1/catalog/search?q=secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(results["releases"], json!([]), "drafts are not searchable");

    let listener_creates = app
        .client
        .post(app.url("/api/v1/releases"))
        .bearer_auth(&listener.access_token)
        .json(&json!({"kind": "single"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(listener_creates, 403).await, "forbidden");
    let garbage_id = app
        .get_authorized("/api/v1/releases/not-an-id", &owner.access_token)
        .await;
    assert_eq!(error_code(garbage_id, 404).await, "not_found");
}

async fn prices_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let artist = app.register("prices@example.com", "artist").await;
    let release = create_release(
        &app,
        &artist.access_token,
        json!({"title": "Prices", "kind": "single"}),
    )
    .await;
    let path = format!("/api/v1/releases/{}", release["id"].as_str().unwrap());
    let cases = [
        (
            json!({"price": {"kind": "fixed", "price_cents": -100}}),
            422,
        ),
        (json!({"price": {"kind": "fixed", "price_cents": 0}}), 422),
        (
            json!({"price": {"kind": "pay_what_you_want", "minimum_cents": 900, "suggested_cents": 500}}),
            422,
        ),
        (
            json!({"price": {"kind": "pay_what_you_want", "minimum_cents": -1, "suggested_cents": 500}}),
            422,
        ),
        (
            json!({"price": {"kind": "fixed", "price_cents": 100_000_000}}),
            422,
        ),
        (
            json!({"price": {"kind": "fixed", "price_cents": 100, "currency": "EUR"}}),
            422,
        ),
        (
            json!({"price": {"kind": "pay_what_you_want", "minimum_cents": 0, "suggested_cents": 0}}),
            200,
        ),
        (json!({"price": null}), 200),
    ];
    for (body, status) in cases {
        let response = patch(&app, &artist.access_token, &path, body.clone()).await;
        assert_eq!(response.status().as_u16(), status, "{body}");
    }
}
