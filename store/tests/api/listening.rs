//! Walkthrough 4: streaming and plays. Who may stream, HTTP Range against the stored file, signed
//! links that cannot be forged or stretched, and the rules that make a play qualify.

use megabox_database::Backend;
use reqwest::header::{CONTENT_RANGE, RANGE};
use serde_json::{Value, json};

use megabox_store::demo::audio::tagged_wav;
use crate::on_every_backend;
use crate::support::{Session, TestApp, error_code, spawn_app_with};

on_every_backend!(full_streams_need_an_entitlement_and_serve_exact_ranges, plays_qualify_only_under_the_rules);

/// An artist with one published track; returns the artist's session, the track id and its bytes.
pub async fn published_track(app: &TestApp, email: &str, seconds: u32) -> (Session, String, Vec<u8>) {
    let artist = app.register(email, "artist").await;
    let release: Value = app
        .client
        .post(app.url("/api/v1/releases"))
        .bearer_auth(&artist.access_token)
        .json(&json!({"title": "Streams", "kind": "single"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let release_id = release["id"].as_str().unwrap();
    let audio = tagged_wav(seconds, 440, "Stream Me", "Streamer", "Streams");
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(audio.clone()).file_name("s.wav"));
    let uploaded: Value = app
        .client
        .post(app.url(&format!("/api/v1/releases/{release_id}/tracks")))
        .bearer_auth(&artist.access_token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let track_id = uploaded["track"]["id"].as_str().unwrap().to_owned();
    let price = json!({"price": {"kind": "fixed", "price_cents": 100}});
    for path in [format!("/api/v1/tracks/{track_id}"), format!("/api/v1/releases/{release_id}")] {
        let response = app.client.patch(app.url(&path)).bearer_auth(&artist.access_token).json(&price).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let published = app.client.post(app.url(&format!("/api/v1/releases/{release_id}/publish"))).bearer_auth(&artist.access_token).send().await.unwrap();
    assert_eq!(published.status(), 200);
    (artist, track_id, audio)
}

pub async fn start_play(app: &TestApp, session: &Session, track_id: &str) -> reqwest::Response {
    app.client.post(app.url("/api/v1/plays")).bearer_auth(&session.access_token).json(&json!({"track_id": track_id})).send().await.unwrap()
}

pub async fn set_free_tier(app: &TestApp, admin: &Session, listener: &Session, active: bool) {
    let id = app.me(listener).await["id"].as_str().unwrap().to_owned();
    let response = app
        .client
        .put(app.url(&format!("/api/v1/admin/users/{id}/agent-active")))
        .bearer_auth(&admin.access_token)
        .json(&json!({"active": active}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

async fn full_streams_need_an_entitlement_and_serve_exact_ranges(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let (_artist, track_id, audio) = published_track(&app, "streamer@example.com", 1).await;
    let listener = app.register("ears@example.com", "listener").await;
    let admin = app.admin("ops@example.com").await;

    let refused = start_play(&app, &listener, &track_id).await;
    assert_eq!(error_code(refused, 403).await, "not_entitled");
    let direct = app.get_authorized(&format!("/api/v1/tracks/{track_id}/stream"), &listener.access_token).await;
    assert_eq!(error_code(direct, 403).await, "not_entitled");
    let not_admin = app.client.put(app.url("/api/v1/admin/users/x/agent-active")).bearer_auth(&listener.access_token).json(&json!({"active": true})).send().await.unwrap();
    assert_eq!(error_code(not_admin, 403).await, "forbidden");

    set_free_tier(&app, &admin, &listener, true).await;
    let started: Value = start_play(&app, &listener, &track_id).await.json().await.unwrap();
    let stream_url = app.url(started["stream_url"].as_str().unwrap());

    let whole = app.client.get(&stream_url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert!(whole.headers().contains_key("etag"));
    assert_eq!(whole.bytes().await.unwrap().as_ref(), audio.as_slice(), "the stored file, byte for byte");

    let length = audio.len();
    for (range, start, end) in [("bytes=0-99", 0, 99), ("bytes=1000-", 1000, length - 1), ("bytes=-500", length - 500, length - 1), ("bytes=44-44", 44, 44)] {
        let partial = app.client.get(&stream_url).header(RANGE, range).send().await.unwrap();
        assert_eq!(partial.status(), 206, "{range}");
        assert_eq!(partial.headers()[CONTENT_RANGE].to_str().unwrap(), format!("bytes {start}-{end}/{length}"), "{range}");
        assert_eq!(partial.bytes().await.unwrap().as_ref(), &audio[start..=end], "{range}");
    }
    let unsatisfiable = app.client.get(&stream_url).header(RANGE, format!("bytes={}-", length + 10)).send().await.unwrap();
    assert_eq!(unsatisfiable.status(), 416);
    let head = app.client.head(&stream_url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"].to_str().unwrap(), length.to_string());

    let tampered = stream_url.replace("sig=", "sig=00");
    assert_eq!(error_code(app.client.get(&tampered).send().await.unwrap(), 403).await, "forbidden");
    let stretched = stream_url.replace("expires=", "expires=9");
    assert_eq!(error_code(app.client.get(&stretched).send().await.unwrap(), 403).await, "forbidden");
    let other_track = stream_url.replace(&track_id, &uuid::Uuid::now_v7().to_string());
    assert_eq!(error_code(app.client.get(&other_track).send().await.unwrap(), 403).await, "forbidden");

    // Leaving the free tier ends streaming, even with an unexpired link.
    set_free_tier(&app, &admin, &listener, false).await;
    assert_eq!(error_code(app.client.get(&stream_url).send().await.unwrap(), 403).await, "not_entitled");
    let unknown = app.get_authorized(&format!("/api/v1/tracks/{}/stream", uuid::Uuid::now_v7()), &listener.access_token).await;
    assert_eq!(error_code(unknown, 404).await, "not_found");

    let waveform: Value = app.client.get(app.url(&format!("/api/v1/tracks/{track_id}/waveform"))).send().await.unwrap().json().await.unwrap();
    assert!(!waveform["peaks"].as_array().unwrap().is_empty());
    assert_eq!(waveform["duration_ms"], 1000);
}

pub async fn report(app: &TestApp, session: &Session, play_id: &str, position_ms: u64) -> Value {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/plays/{play_id}/progress")))
        .bearer_auth(&session.access_token)
        .json(&json!({"position_ms": position_ms}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn plays_qualify_only_under_the_rules(backend: Backend) {
    // A 3-second qualifying time keeps the test quick while leaving room to show that the
    // server's clock, not the player's report, decides.
    let app = spawn_app_with(backend, |settings| {
        settings.play_qualifying_seconds = 3;
        settings.plays_per_listener_track_day_max = 1;
    })
    .await;
    let (artist, track_id, _) = published_track(&app, "plays@example.com", 4).await;
    let listener = app.register("counted@example.com", "listener").await;
    let admin = app.admin("ops@example.com").await;
    set_free_tier(&app, &admin, &listener, true).await;

    let play: Value = start_play(&app, &listener, &track_id).await.json().await.unwrap();
    let play_id = play["play_id"].as_str().unwrap().to_owned();
    let early = report(&app, &listener, &play_id, 3_500).await;
    assert_eq!(early["qualified"], false, "a report ahead of the server's clock is not believed: {early}");
    assert_eq!(early["not_qualified"], "too_short");
    assert!(early["credited_position_ms"].as_u64().unwrap() < 3_000, "{early}");

    let stranger = app.register("stranger@example.com", "listener").await;
    let foreign = app
        .client
        .post(app.url(&format!("/api/v1/plays/{play_id}/progress")))
        .bearer_auth(&stranger.access_token)
        .json(&json!({"position_ms": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(foreign, 404).await, "not_found", "another listener's play");

    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let counted = report(&app, &listener, &play_id, 3_500).await;
    assert_eq!(counted["qualified"], true, "{counted}");
    let again = report(&app, &listener, &play_id, 4_000).await;
    assert_eq!(again["qualified"], true, "a qualified play stays qualified, once");

    let second: Value = start_play(&app, &listener, &track_id).await.json().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let capped = report(&app, &listener, second["play_id"].as_str().unwrap(), 3_500).await;
    assert_eq!(capped["not_qualified"], "daily_cap_reached", "{capped}");

    let own: Value = start_play(&app, &artist, &track_id).await.json().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let own_progress = report(&app, &artist, own["play_id"].as_str().unwrap(), 3_500).await;
    assert_eq!(own_progress["not_qualified"], "own_track", "{own_progress}");
}
