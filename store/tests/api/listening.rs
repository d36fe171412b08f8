//! Walkthrough 4: streaming and plays. Who may stream, HTTP Range against the stored file, signed
//! links that cannot be forged or stretched, and the rules that make a play qualify.

use megabox_database::Backend;
use reqwest::header::{CONTENT_RANGE, RANGE};
use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::{Session, TestApp, error_code, spawn_app_with};
use megabox_store::demo::audio::{SAMPLE_RATE_HZ, tagged_wav, tagged_wav_from_samples};

on_every_backend!(
    full_streams_need_an_entitlement_and_serve_exact_ranges,
    streams_decode_after_a_seek,
    plays_qualify_only_under_the_rules,
    a_play_is_credited_only_the_audio_it_fetched,
    starting_a_play_ends_the_previous_one,
    every_server_with_the_same_keys_verifies_a_link
);

/// An artist with one published track; returns the artist's session, the track id and its bytes.
pub async fn published_track(
    app: &TestApp,
    email: &str,
    seconds: u32,
) -> (Session, String, Vec<u8>) {
    let audio = tagged_wav(seconds, 440, "Stream Me", "Streamer", "Streams");
    published_file(app, email, audio, "s.wav").await
}

/// An artist with one published track made of `audio` (a file named `file_name`).
pub async fn published_file(
    app: &TestApp,
    email: &str,
    audio: Vec<u8>,
    file_name: &str,
) -> (Session, String, Vec<u8>) {
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
    let uploaded: Value = app
        .upload_track(&artist.access_token, release_id, file_name, audio.clone())
        .await
        .json()
        .await
        .unwrap();
    let track_id = uploaded["track"]["id"].as_str().unwrap().to_owned();
    let price = json!({"price": {"kind": "fixed", "price_cents": 100}});
    for path in [
        format!("/api/v1/tracks/{track_id}"),
        format!("/api/v1/releases/{release_id}"),
    ] {
        let response = app
            .client
            .patch(app.url(&path))
            .bearer_auth(&artist.access_token)
            .json(&price)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let published = app
        .client
        .post(app.url(&format!("/api/v1/releases/{release_id}/publish")))
        .bearer_auth(&artist.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 200);
    (artist, track_id, audio)
}

const URL_KEY_OLD: &str = "old=0123456789abcdef0123456789abcdef";
const URL_KEY_NEW: &str = "new=fedcba9876543210fedcba9876543210";

/// `MEGABOX_URL_SIGNING_KEYS`: a link signed on one server passes the signature check on any
/// server with the same keys (there the play is unknown: 404), also after the new key is put
/// first, and on none with other keys (403).
async fn every_server_with_the_same_keys_verifies_a_link(backend: Backend) {
    let keyed = |keys: &'static str| {
        move |settings: &mut megabox_store::configuration::Settings| {
            settings.url_signing_keys = Some(keys.into());
        }
    };
    let signer = spawn_app_with(backend, keyed(URL_KEY_OLD)).await;
    let (artist, track_id, _) = published_track(&signer, "keys@example.com", 1).await;
    let started: Value = start_play(&signer, &artist, &track_id)
        .await
        .json()
        .await
        .unwrap();
    let stream_path = started["stream_url"].as_str().unwrap();
    assert!(stream_path.contains("&kid=old&"), "{stream_path}");
    let on = |app: &TestApp| app.client.get(app.url(stream_path)).send();
    assert_eq!(on(&signer).await.unwrap().status(), 200);
    let rotated = spawn_app_with(backend, |settings| {
        settings.url_signing_keys = Some(format!("{URL_KEY_NEW},{URL_KEY_OLD}").into());
    })
    .await;
    assert_eq!(
        error_code(on(&rotated).await.unwrap(), 404).await,
        "not_found",
        "signature accepted; the play lives in the other server's database"
    );
    for stranger in [
        spawn_app_with(backend, keyed(URL_KEY_NEW)).await,
        spawn_app_with(backend, |_| {}).await,
    ] {
        assert_eq!(
            error_code(on(&stranger).await.unwrap(), 403).await,
            "forbidden"
        );
    }
}

pub async fn start_play(app: &TestApp, session: &Session, track_id: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/plays"))
        .bearer_auth(&session.access_token)
        .json(&json!({"track_id": track_id}))
        .send()
        .await
        .unwrap()
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
    let direct = app
        .get_authorized(
            &format!("/api/v1/tracks/{track_id}/stream"),
            &listener.access_token,
        )
        .await;
    assert_eq!(error_code(direct, 403).await, "not_entitled");
    let not_admin = app
        .client
        .put(app.url("/api/v1/admin/users/x/agent-active"))
        .bearer_auth(&listener.access_token)
        .json(&json!({"active": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(not_admin, 403).await, "forbidden");

    set_free_tier(&app, &admin, &listener, true).await;
    let started: Value = start_play(&app, &listener, &track_id)
        .await
        .json()
        .await
        .unwrap();
    let stream_url = app.url(started["stream_url"].as_str().unwrap());

    let whole = app.client.get(&stream_url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert!(whole.headers().contains_key("etag"));
    assert_eq!(
        whole.bytes().await.unwrap().as_ref(),
        audio.as_slice(),
        "the stored file, byte for byte"
    );

    let length = audio.len();
    for (range, start, end) in [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, length - 1),
        ("bytes=-500", length - 500, length - 1),
        ("bytes=44-44", 44, 44),
    ] {
        let partial = app
            .client
            .get(&stream_url)
            .header(RANGE, range)
            .send()
            .await
            .unwrap();
        assert_eq!(partial.status(), 206, "{range}");
        assert_eq!(
            partial.headers()[CONTENT_RANGE].to_str().unwrap(),
            format!("bytes {start}-{end}/{length}"),
            "{range}"
        );
        assert_eq!(
            partial.bytes().await.unwrap().as_ref(),
            &audio[start..=end],
            "{range}"
        );
    }
    let unsatisfiable = app
        .client
        .get(&stream_url)
        .header(RANGE, format!("bytes={}-", length + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(unsatisfiable.status(), 416);
    let head = app.client.head(&stream_url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        length.to_string()
    );

    let tampered = stream_url.replace("sig=", "sig=00");
    assert_eq!(
        error_code(app.client.get(&tampered).send().await.unwrap(), 403).await,
        "forbidden"
    );
    let stretched = stream_url.replace("expires=", "expires=9");
    assert_eq!(
        error_code(app.client.get(&stretched).send().await.unwrap(), 403).await,
        "forbidden"
    );
    // Without MEGABOX_URL_SIGNING_KEYS the data directory's generated key signs, under its id.
    assert!(stream_url.contains("&kid=generated-1&"), "{stream_url}");
    let other_key = stream_url.replace("kid=generated-1", "kid=other");
    assert_eq!(
        error_code(app.client.get(&other_key).send().await.unwrap(), 403).await,
        "forbidden"
    );
    let play_id = started["play_id"].as_str().unwrap();
    let other_play = stream_url.replace(play_id, &uuid::Uuid::now_v7().to_string());
    assert_eq!(
        error_code(app.client.get(&other_play).send().await.unwrap(), 403).await,
        "forbidden"
    );
    let bearer_only = app
        .client
        .get(app.url(&format!("/api/v1/tracks/{track_id}/stream")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(bearer_only, 401).await, "unauthorized");

    // Leaving the free tier ends streaming, even with an unexpired link.
    set_free_tier(&app, &admin, &listener, false).await;
    assert_eq!(
        error_code(app.client.get(&stream_url).send().await.unwrap(), 403).await,
        "not_entitled"
    );
    let unknown = app
        .get_authorized(
            &format!("/api/v1/tracks/{}/stream", uuid::Uuid::now_v7()),
            &listener.access_token,
        )
        .await;
    assert_eq!(error_code(unknown, 404).await, "not_found");

    let waveform: Value = app
        .client
        .get(app.url(&format!("/api/v1/tracks/{track_id}/waveform")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

    let play: Value = start_play(&app, &listener, &track_id)
        .await
        .json()
        .await
        .unwrap();
    let play_id = play["play_id"].as_str().unwrap().to_owned();
    fetch(&app, &play).await;
    let early = report(&app, &listener, &play_id, 3_500).await;
    assert_eq!(
        early["qualified"], false,
        "a report ahead of the server's clock is not believed: {early}"
    );
    assert_eq!(early["not_qualified"], "too_short");
    assert!(
        early["credited_position_ms"].as_u64().unwrap() < 3_000,
        "{early}"
    );

    let stranger = app.register("stranger@example.com", "listener").await;
    let foreign = app
        .client
        .post(app.url(&format!("/api/v1/plays/{play_id}/progress")))
        .bearer_auth(&stranger.access_token)
        .json(&json!({"position_ms": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(foreign, 404).await,
        "not_found",
        "another listener's play"
    );

    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let counted = report(&app, &listener, &play_id, 3_500).await;
    assert_eq!(counted["qualified"], true, "{counted}");
    let again = report(&app, &listener, &play_id, 4_000).await;
    assert_eq!(
        again["qualified"], true,
        "a qualified play stays qualified, once"
    );

    let second: Value = start_play(&app, &listener, &track_id)
        .await
        .json()
        .await
        .unwrap();
    fetch(&app, &second).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let capped = report(&app, &listener, second["play_id"].as_str().unwrap(), 3_500).await;
    assert_eq!(capped["not_qualified"], "daily_cap_reached", "{capped}");

    let own: Value = start_play(&app, &artist, &track_id)
        .await
        .json()
        .await
        .unwrap();
    fetch(&app, &own).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let own_progress = report(&app, &artist, own["play_id"].as_str().unwrap(), 3_500).await;
    assert_eq!(own_progress["not_qualified"], "own_track", "{own_progress}");
}

/// Fetches the whole file through a started play's stream link, as a player does.
pub async fn fetch(app: &TestApp, play: &Value) -> usize {
    let response = app
        .client
        .get(app.url(play["stream_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().len()
}

/// Moves a play's start `seconds` into the past, as if the listener had started it then.
fn backdate_play(app: &TestApp, play_id: &str, seconds: i64) {
    use diesel::prelude::*;
    use megabox_store::schema::play_sessions;
    let pool = megabox_database::connect(&app._database.url, 1).unwrap();
    let mut connection = pool.get().unwrap();
    let started_at = chrono::Utc::now().naive_utc() - chrono::TimeDelta::seconds(seconds);
    let updated = diesel::update(play_sessions::table.find(play_id))
        .set(play_sessions::started_at.eq(started_at))
        .execute(&mut *connection)
        .unwrap();
    assert_eq!(updated, 1);
}

async fn a_play_is_credited_only_the_audio_it_fetched(backend: Backend) {
    let app = spawn_app_with(backend, |settings| settings.play_qualifying_seconds = 3).await;
    let (_artist, track_id, audio) = published_track(&app, "heard@example.com", 4).await;
    let listener = app.register("farm@example.com", "listener").await;
    let admin = app.admin("ops@example.com").await;
    set_free_tier(&app, &admin, &listener, true).await;

    // A minute after the start and not one byte fetched: nothing was heard.
    let play: Value = start_play(&app, &listener, &track_id)
        .await
        .json()
        .await
        .unwrap();
    let play_id = play["play_id"].as_str().unwrap();
    backdate_play(&app, play_id, 60);
    let unheard = report(&app, &listener, play_id, 60_000).await;
    assert_eq!(unheard["qualified"], false, "{unheard}");
    assert_eq!(unheard["not_qualified"], "too_short");
    assert_eq!(unheard["credited_position_ms"], 0, "{unheard}");
    let head = app
        .client
        .head(app.url(play["stream_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        report(&app, &listener, play_id, 60_000).await["credited_position_ms"],
        0,
        "a HEAD carries no audio"
    );

    // The first quarter of the file, fetched ten times, is a quarter of the track.
    let quarter = audio.len() / 4;
    for _ in 0..10 {
        let partial = app
            .client
            .get(app.url(play["stream_url"].as_str().unwrap()))
            .header(RANGE, format!("bytes=0-{}", quarter - 1))
            .send()
            .await
            .unwrap();
        assert_eq!(partial.status(), 206);
        partial.bytes().await.unwrap();
    }
    let repeated = report(&app, &listener, play_id, 60_000).await;
    assert_eq!(repeated["not_qualified"], "too_short", "{repeated}");
    let credited = repeated["credited_position_ms"].as_u64().unwrap();
    assert!((900..=1_000).contains(&credited), "{repeated}");

    // The rest of the file: the whole track was delivered, and the play counts.
    let rest = app
        .client
        .get(app.url(play["stream_url"].as_str().unwrap()))
        .header(RANGE, format!("bytes={quarter}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 206);
    rest.bytes().await.unwrap();
    let heard = report(&app, &listener, play_id, 60_000).await;
    assert_eq!(heard["qualified"], true, "{heard}");
    assert_eq!(heard["credited_position_ms"], 4_000, "{heard}");

    // Streaming without the play's link (with a bearer token) credits no play.
    let other: Value = start_play(&app, &listener, &track_id)
        .await
        .json()
        .await
        .unwrap();
    let other_id = other["play_id"].as_str().unwrap();
    backdate_play(&app, other_id, 60);
    let direct = app
        .get_authorized(
            &format!("/api/v1/tracks/{track_id}/stream"),
            &listener.access_token,
        )
        .await;
    assert_eq!(direct.status(), 200);
    direct.bytes().await.unwrap();
    let unlinked = report(&app, &listener, other_id, 60_000).await;
    assert_eq!(unlinked["credited_position_ms"], 0, "{unlinked}");
}

async fn starting_a_play_ends_the_previous_one(backend: Backend) {
    let app = spawn_app_with(backend, |settings| settings.play_qualifying_seconds = 3).await;
    let (_artist, track_id, _) = published_track(&app, "parallel@example.com", 4).await;
    let listener = app.register("tabs@example.com", "listener").await;
    let admin = app.admin("ops@example.com").await;
    set_free_tier(&app, &admin, &listener, true).await;

    let first: Value = start_play(&app, &listener, &track_id)
        .await
        .json()
        .await
        .unwrap();
    let first_id = first["play_id"].as_str().unwrap();
    fetch(&app, &first).await;
    let second: Value = start_play(&app, &listener, &track_id)
        .await
        .json()
        .await
        .unwrap();
    let second_id = second["play_id"].as_str().unwrap();

    // The first play's link is gone, and its clock stopped when the second started.
    let gone = app
        .client
        .get(app.url(first["stream_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(gone, 410).await, "play_ended");
    fetch(&app, &second).await;
    tokio::time::sleep(std::time::Duration::from_millis(3_000)).await;
    let ended = report(&app, &listener, first_id, 4_000).await;
    assert_eq!(ended["qualified"], false, "{ended}");
    let credited = ended["credited_position_ms"].as_u64().unwrap();
    assert!(
        credited < 3_000,
        "the first play was open for moments: {ended}"
    );
    let open = report(&app, &listener, second_id, 4_000).await;
    assert_eq!(open["qualified"], true, "{open}");

    // Another listener's play is not found through a link signed for someone else.
    let stranger = app.register("lurker@example.com", "listener").await;
    let foreign = app
        .client
        .post(app.url(&format!("/api/v1/plays/{second_id}/progress")))
        .bearer_auth(&stranger.access_token)
        .json(&json!({"position_ms": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(foreign, 404).await, "not_found");
}

/// The stepped test signal: a sine whose frequency says which stretch of the track it is, so a
/// decoder that lands anywhere can tell where it is by counting zero crossings.
const STEP_SECONDS: f64 = 4.0;
const STEPPED_TRACK_SECONDS: u32 = 60;

fn step_frequency_hz(time_seconds: f64) -> f64 {
    300.0 + 100.0 * (time_seconds / STEP_SECONDS).floor()
}

#[allow(clippy::as_conversions, reason = "test signal arithmetic")]
fn stepped_flac(directory: &std::path::Path) -> Vec<u8> {
    let rate = f64::from(SAMPLE_RATE_HZ);
    let mut phase = 0.0_f64;
    let samples: Vec<f32> = (0..STEPPED_TRACK_SECONDS * SAMPLE_RATE_HZ)
        .map(|frame| {
            phase += step_frequency_hz(f64::from(frame) / rate) * std::f64::consts::TAU / rate;
            (phase.sin() * 0.5) as f32
        })
        .collect();
    let wav = directory.join("stepped.wav");
    std::fs::write(
        &wav,
        tagged_wav_from_samples(&samples, "Steps", "Stepper", "Stairs"),
    )
    .unwrap();
    let flac = directory.join("stepped.flac");
    let status = std::process::Command::new("flac")
        .args(["--silent", "--force", "-o"])
        .arg(&flac)
        .arg(&wav)
        .status()
        .expect("the flac encoder (installed by .ci/install)");
    assert!(status.success());
    std::fs::read(flac).unwrap()
}

/// A seekable byte source over HTTP: every read the decoder makes becomes a Range request, the
/// way a browser's media element fetches what it needs after a seek.
struct HttpRangeSource {
    runtime: tokio::runtime::Handle,
    client: reqwest::Client,
    url: String,
    length: u64,
    position: u64,
    bytes_fetched: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

const RANGE_REQUEST_BYTES: u64 = 64 * 1024;

impl std::io::Read for HttpRangeSource {
    #[allow(clippy::as_conversions, reason = "buffer lengths fit u64")]
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.position >= self.length || buffer.is_empty() {
            return Ok(0);
        }
        let wanted = (buffer.len() as u64).min(RANGE_REQUEST_BYTES);
        let last = (self.position + wanted).min(self.length) - 1;
        let range = format!("bytes={}-{last}", self.position);
        let (status, content_range, body) = self.runtime.block_on(async {
            let response = self
                .client
                .get(&self.url)
                .header(RANGE, &range)
                .send()
                .await
                .unwrap();
            let content_range = response
                .headers()
                .get(CONTENT_RANGE)
                .map(|value| value.to_str().unwrap().to_owned());
            (
                response.status(),
                content_range,
                response.bytes().await.unwrap(),
            )
        });
        assert_eq!(status, 206, "{range}");
        assert_eq!(
            content_range.as_deref(),
            Some(format!("bytes {}-{last}/{}", self.position, self.length).as_str())
        );
        buffer[..body.len()].copy_from_slice(&body);
        self.position += body.len() as u64;
        self.bytes_fetched
            .fetch_add(body.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(body.len())
    }
}

impl std::io::Seek for HttpRangeSource {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            std::io::SeekFrom::Start(offset) => Some(offset),
            std::io::SeekFrom::End(delta) => self.length.checked_add_signed(delta),
            std::io::SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        self.position = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(self.position)
    }
}

impl symphonia::core::io::MediaSource for HttpRangeSource {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.length)
    }
}

/// Opens `url` over Range requests, seeks to `seek_seconds` and decodes a fifth of a second;
/// returns the frequency heard there and how many bytes were fetched in all.
#[allow(clippy::as_conversions, reason = "test signal arithmetic")]
fn frequency_after_seek(source: HttpRangeSource, extension: &str, seek_seconds: f64) -> (f64, u64) {
    use symphonia::core::formats::{FormatOptions, SeekMode, SeekTo, TrackType};
    let bytes_fetched = source.bytes_fetched.clone();
    let mut hint = symphonia::core::formats::probe::Hint::new();
    hint.with_extension(extension);
    let stream = symphonia::core::io::MediaSourceStream::new(Box::new(source), Default::default());
    let mut reader = symphonia::default::get_probe()
        .probe(&hint, stream, FormatOptions::default(), Default::default())
        .unwrap();
    let track = reader.default_track(TrackType::Audio).unwrap();
    let track_id = track.id;
    let parameters = track
        .codec_params
        .as_ref()
        .and_then(|parameters| parameters.audio())
        .unwrap()
        .clone();
    let rate = f64::from(parameters.sample_rate.unwrap());
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&parameters, &Default::default())
        .unwrap();
    let time = symphonia::core::units::Time::try_from_secs_f64(seek_seconds).unwrap();
    let seeked = reader
        .seek(
            SeekMode::Accurate,
            SeekTo::Time {
                time,
                track_id: Some(track_id),
            },
        )
        .unwrap();
    let wanted_frames = (rate / 5.0) as usize;
    let mut heard: Vec<f32> = Vec::new();
    let mut interleaved: Vec<f32> = Vec::new();
    while heard.len() < wanted_frames {
        let packet = reader
            .next_packet()
            .unwrap()
            .expect("audio after the seek point");
        if packet.track_id != track_id {
            continue;
        }
        let buffer = decoder.decode(&packet).unwrap();
        let channels = buffer.spec().channels().count();
        buffer.copy_to_vec_interleaved(&mut interleaved);
        // Skip what lies before the requested time in the packet the seek landed in.
        let skip_frames = if packet.pts < seeked.required_ts {
            usize::try_from(seeked.required_ts.get() - packet.pts.get()).unwrap()
        } else {
            0
        };
        heard.extend(
            interleaved
                .chunks(channels)
                .skip(skip_frames)
                .map(|frame| frame[0]),
        );
    }
    heard.truncate(wanted_frames);
    let crossings = heard
        .windows(2)
        .filter(|pair| (pair[0] < 0.0) != (pair[1] < 0.0))
        .count();
    (
        crossings as f64 / 2.0 / (heard.len() as f64 / rate),
        bytes_fetched.load(std::sync::atomic::Ordering::Relaxed),
    )
}

async fn decode_after_seek(
    app: &TestApp,
    url: String,
    extension: &'static str,
    seek_seconds: f64,
) -> (f64, u64, u64) {
    let head = app.client.head(&url).send().await.unwrap();
    assert_eq!(head.headers()["accept-ranges"], "bytes");
    let length: u64 = head.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let source = HttpRangeSource {
        runtime: tokio::runtime::Handle::current(),
        client: app.client.clone(),
        url,
        length,
        position: 0,
        bytes_fetched: Default::default(),
    };
    let (frequency_hz, fetched) =
        tokio::task::spawn_blocking(move || frequency_after_seek(source, extension, seek_seconds))
            .await
            .unwrap();
    (frequency_hz, fetched, length)
}

async fn streams_decode_after_a_seek(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let directory = tempfile::tempdir().unwrap();
    let (_artist, track_id, _) = published_file(
        &app,
        "seeker@example.com",
        stepped_flac(directory.path()),
        "stepped.flac",
    )
    .await;
    let listener = app.register("skipper@example.com", "listener").await;
    let admin = app.admin("ops@example.com").await;
    set_free_tier(&app, &admin, &listener, true).await;
    let started: Value = start_play(&app, &listener, &track_id)
        .await
        .json()
        .await
        .unwrap();

    // The full stream (the original FLAC): a jump to 0:42 plays what is at 0:42, and reaching
    // it did not need the bytes in between.
    let seek_seconds = 42.5;
    let (frequency_hz, fetched, length) = decode_after_seek(
        &app,
        app.url(started["stream_url"].as_str().unwrap()),
        "flac",
        seek_seconds,
    )
    .await;
    let expected_hz = step_frequency_hz(seek_seconds);
    assert!(
        (frequency_hz - expected_hz).abs() < 25.0,
        "heard {frequency_hz:.0} Hz after the seek, expected {expected_hz} Hz"
    );
    assert!(
        fetched < length / 2,
        "the seek fetched {fetched} of {length} bytes: it read through instead of seeking"
    );

    // The preview (an MP3 cut from 25% into the track): 10 s into the clip is 25 s into the track.
    let clip_seek_seconds = 10.0;
    let (frequency_hz, _, _) = decode_after_seek(
        &app,
        app.url(&format!("/api/v1/tracks/{track_id}/preview")),
        "mp3",
        clip_seek_seconds,
    )
    .await;
    let expected_hz =
        step_frequency_hz(f64::from(STEPPED_TRACK_SECONDS) * 0.25 + clip_seek_seconds);
    assert!(
        (frequency_hz - expected_hz).abs() < 25.0,
        "heard {frequency_hz:.0} Hz in the preview after the seek, expected {expected_hz} Hz"
    );
}
