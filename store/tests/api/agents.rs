//! Walkthrough 3 at the HTTP edge: an installer pairs an agent, the operator runs a campaign,
//! and signed impression batches flow in once each; forged, replayed and revoked reports do not.

use ed25519_dalek::SigningKey;
use megabox_database::Backend;
use megabox_protocol::{
    CreativeId, DeviceId, EventId, ImpressionEvent, Nonce, PairingCode, PublicKey, SlotSize,
    TimeBucket, UnsignedBatch,
};
use serde_json::{Value, json};

use crate::listening::{published_track, set_free_tier, start_play};
use crate::on_every_backend;
use crate::support::{Session, TestApp, error_code, spawn_app, spawn_app_with};

/// Accepted impressions that earn one download credit (`AdsSettings::default`).
const IMPRESSIONS_PER_CREDIT: usize = 50;
/// Accepted impressions over 7 days that make an account agent-active (`AdsSettings::default`).
const AGENT_ACTIVE_IMPRESSIONS: usize = 5;
/// Accepted impressions one device may report per UTC day (`AdsSettings::default`).
const DEVICE_DAILY_CAP: usize = 30;

on_every_backend!(
    signed_impressions_are_counted_once_and_hostile_batches_refused,
    creative_images_are_served_from_the_offered_path,
    credits_redeem_downloads_once_and_hostile_redemptions_are_refused,
    the_free_tier_status_is_the_stream_checks_answer,
    waiting_ad_revenue_reaches_the_ledger_without_a_restart,
);

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(width, height, image::Rgb([20, 90, 200]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// Uploads a 300x250 creative with the texts in `texts` (a query string) and a click-through URL.
async fn upload_creative(
    app: &TestApp,
    admin: &Session,
    campaign_id: &str,
    texts: &str,
    image: Vec<u8>,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(image).file_name("ad.png"),
    );
    app.client
        .post(app.url(&format!("/api/v1/admin/campaigns/{campaign_id}/creatives?size=300x250&{texts}&link_url=https%3A%2F%2Fexample.com%2F")))
        .bearer_auth(&admin.access_token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn campaign_with_creative(app: &TestApp, admin: &Session) -> String {
    let advertiser = app.create_advertiser(admin, "Acme").await;
    let now = chrono::Utc::now();
    let campaign: Value = app
        .client
        .post(app.url("/api/v1/admin/campaigns"))
        .bearer_auth(&admin.access_token)
        .json(&json!({
            "advertiser_id": advertiser["id"], "name": "Launch", "cpm_cents": 500, "budget_cents": 100_000,
            // Started days ago, so impressions from yesterday's time buckets are in its flight.
            "starts_at": now - chrono::TimeDelta::days(3), "ends_at": now + chrono::TimeDelta::days(30),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let campaign_id = campaign["id"].as_str().unwrap();
    let creative = upload_creative(
        app,
        admin,
        campaign_id,
        "headline=Hello&body=New%20music",
        png(300, 250),
    )
    .await;
    assert_eq!(creative.status(), 201);
    let refused = upload_creative(app, admin, campaign_id, "headline=H&body=B", png(10, 10)).await;
    assert_eq!(
        error_code(refused, 422).await,
        "invalid_input",
        "an image of the wrong size"
    );
    let creatives: Value = app
        .client
        .get(app.url("/api/v1/ads/creatives?size=300x250"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    creatives["creatives"][0]["creative_id"]
        .as_str()
        .expect("the creative is offered")
        .to_owned()
}

async fn creative_images_are_served_from_the_offered_path(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("ops@example.com").await;
    let creative = campaign_with_creative(&app, &admin).await;
    let offers: Value = app
        .client
        .get(app.url("/api/v1/ads/creatives?size=300x250"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let image_url = offers["creatives"][0]["image_url"]
        .as_str()
        .expect("an image path");
    assert_eq!(
        image_url,
        format!("/api/v1/ads/creatives/{creative}/image"),
        "server-relative, resolved by the agent"
    );

    let image = app.client.get(app.url(image_url)).send().await.unwrap();
    assert_eq!(image.status(), 200);
    let header = |name: &str| {
        image
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "image/png");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(
        header("cache-control").contains("max-age=31536000"),
        "{}",
        header("cache-control")
    );
    assert_eq!(
        image.bytes().await.unwrap().as_ref(),
        png(300, 250).as_slice(),
        "the uploaded bytes"
    );

    for unknown in [
        format!("/api/v1/ads/creatives/{}/image", uuid::Uuid::now_v7()),
        "/api/v1/ads/creatives/..%2F..%2Fsecret/image".to_owned(),
    ] {
        let missing = app.client.get(app.url(&unknown)).send().await.unwrap();
        assert_eq!(error_code(missing, 404).await, "not_found", "{unknown}");
    }

    // The operator's console lists a campaign's creatives; nobody else may.
    let campaigns: Value = app
        .get_authorized("/api/v1/admin/campaigns", &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    let listing = format!(
        "/api/v1/admin/campaigns/{}/creatives",
        campaigns[0]["id"].as_str().unwrap()
    );
    let listed: Value = app
        .get_authorized(&listing, &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "the refused upload left nothing: {listed}"
    );
    assert_eq!(
        (listed[0]["id"].as_str(), listed[0]["size"].as_str()),
        (Some(creative.as_str()), Some("300x250"))
    );
    let listener = app.register("curious@example.com", "listener").await;
    assert_eq!(
        error_code(
            app.get_authorized(&listing, &listener.access_token).await,
            403
        )
        .await,
        "forbidden"
    );
    let unknown = app
        .get_authorized(
            &format!("/api/v1/admin/campaigns/{}/creatives", uuid::Uuid::now_v7()),
            &admin.access_token,
        )
        .await;
    assert_eq!(error_code(unknown, 404).await, "not_found");
}

fn batch(key: &SigningKey, device: DeviceId, sequence: u64, creative: &str) -> Value {
    batch_of(
        key,
        device,
        sequence,
        creative,
        1,
        chrono::TimeDelta::zero(),
    )
}

/// A signed batch of `count` impressions of `creative` that happened `ago`.
fn batch_of(
    key: &SigningKey,
    device: DeviceId,
    sequence: u64,
    creative: &str,
    count: usize,
    ago: chrono::TimeDelta,
) -> Value {
    let unix = u64::try_from((chrono::Utc::now() - ago).timestamp()).unwrap();
    let events = (0..count)
        .map(|_| ImpressionEvent {
            event_id: EventId::random(),
            creative_id: CreativeId::parse(creative).unwrap(),
            size: "300x250".parse::<SlotSize>().unwrap(),
            time_bucket: TimeBucket::containing(unix),
            nonce: Nonce(rand::random()),
        })
        .collect();
    let signed = UnsignedBatch {
        device_id: device,
        sequence,
        events,
    }
    .sign(key)
    .unwrap();
    serde_json::to_value(signed).unwrap()
}

/// Pairs a new agent key with `installer`'s account.
async fn pair(app: &TestApp, installer: &Session) -> (SigningKey, DeviceId) {
    let code: Value = app
        .client
        .post(app.url("/api/v1/devices/pairing-codes"))
        .bearer_auth(&installer.access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = SigningKey::from_bytes(&rand::random());
    let registration = json!({"code": PairingCode::parse(code["code"].as_str().unwrap()).unwrap(), "public_key": PublicKey::of(&key)});
    let paired = app.post_json("/api/v1/devices", &registration).await;
    assert_eq!(paired.status(), 201);
    let device: DeviceId =
        serde_json::from_value(paired.json::<Value>().await.unwrap()["device_id"].clone()).unwrap();
    (key, device)
}

/// Earns `installer` download credits the real way: signed batches from paired agents, within
/// the per-device daily cap (on as many devices as that takes; caps count by the day the server
/// receives the impressions, so dating them back would not help).
async fn earn_credits(app: &TestApp, installer: &Session, creative: &str, credits: usize) {
    let mut remaining = credits * IMPRESSIONS_PER_CREDIT;
    while remaining > 0 {
        let (key, device) = pair(app, installer).await;
        let count = remaining.min(DEVICE_DAILY_CAP);
        let receipt: Value = app
            .post_json(
                "/api/v1/impressions",
                &batch_of(&key, device, 1, creative, count, chrono::TimeDelta::zero()),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            receipt["accepted"].as_array().unwrap().len(),
            count,
            "{receipt}"
        );
        remaining -= count;
    }
}

async fn redeem(app: &TestApp, session: &Session, track: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/installer/redemptions"))
        .bearer_auth(&session.access_token)
        .json(&json!({"track_id": track}))
        .send()
        .await
        .unwrap()
}

async fn credits_available(app: &TestApp, session: &Session) -> i64 {
    let status: Value = app
        .get_authorized("/api/v1/installer/status", &session.access_token)
        .await
        .json()
        .await
        .unwrap();
    status["credits_available"].as_i64().unwrap()
}

async fn credits_redeem_downloads_once_and_hostile_redemptions_are_refused(backend: Backend) {
    // Two credits in one day are more than the default account cap allows.
    let app = spawn_app_with(backend, |settings| {
        settings.impressions_per_account_per_day_max = 4 * i64::try_from(DEVICE_DAILY_CAP).unwrap();
    })
    .await;
    let admin = app.admin("ops@example.com").await;
    let creative = campaign_with_creative(&app, &admin).await;
    let (artist, first, _) = published_track(&app, "one@example.com", 1).await;
    let (_, second, _) = published_track(&app, "two@example.com", 1).await;
    let (_, third, _) = published_track(&app, "three@example.com", 1).await;
    let (hidden_artist, hidden, _) = published_track(&app, "hidden@example.com", 1).await;
    let releases: Value = app
        .get_authorized("/api/v1/releases", &hidden_artist.access_token)
        .await
        .json()
        .await
        .unwrap();
    let unpublish = app
        .client
        .post(app.url(&format!(
            "/api/v1/releases/{}/unpublish",
            releases[0]["id"].as_str().unwrap()
        )))
        .bearer_auth(&hidden_artist.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(unpublish.status(), 200);
    let installer = app.register("installer@example.com", "listener").await;

    assert_eq!(
        error_code(redeem(&app, &installer, &first).await, 409).await,
        "no_credits",
        "nothing earned yet"
    );
    earn_credits(&app, &installer, &creative, 2).await;
    assert_eq!(credits_available(&app, &installer).await, 2);

    assert_eq!(
        error_code(
            redeem(&app, &installer, &uuid::Uuid::now_v7().to_string()).await,
            404
        )
        .await,
        "not_found",
        "an unknown track"
    );
    assert_eq!(
        error_code(redeem(&app, &installer, &hidden).await, 404).await,
        "not_found",
        "an unpublished track"
    );
    assert_eq!(
        error_code(redeem(&app, &artist, &first).await, 409).await,
        "own_track",
        "an artist's own music"
    );
    let extra = app
        .post_json(
            "/api/v1/installer/redemptions",
            &json!({"track_id": first, "credits": 5}),
        )
        .await;
    assert!(
        extra.status().is_client_error(),
        "unknown fields are refused"
    );
    let anonymous = app
        .post_json("/api/v1/installer/redemptions", &json!({"track_id": first}))
        .await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        credits_available(&app, &installer).await,
        2,
        "refusals spend nothing"
    );

    // Five requests at once for three tracks with two credits: two succeed, no track twice.
    let requests =
        [&first, &first, &first, &second, &third].map(|track| redeem(&app, &installer, track));
    let responses = futures_util::future::join_all(requests).await;
    let mut redeemed = Vec::new();
    for (track, response) in [&first, &first, &first, &second, &third]
        .into_iter()
        .zip(responses)
    {
        if response.status() == 201 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["track_id"], track.as_str());
            redeemed.push(track.clone());
        } else {
            let code = error_code(response, 409).await;
            assert!(code == "no_credits" || code == "already_owned", "{code}");
        }
    }
    assert_eq!(
        redeemed.len(),
        2,
        "exactly the credits earned: {redeemed:?}"
    );
    assert!(
        redeemed[0] != redeemed[1],
        "a track is redeemed once: {redeemed:?}"
    );
    assert_eq!(credits_available(&app, &installer).await, 0);
    assert_eq!(
        error_code(redeem(&app, &installer, &redeemed[0]).await, 409).await,
        "already_owned",
        "a retry spends nothing"
    );

    // The redeemed tracks are owned like bought ones: listed, downloadable.
    let library: Value = app
        .get_authorized("/api/v1/library", &installer.access_token)
        .await
        .json()
        .await
        .unwrap();
    let mut owned: Vec<String> = library
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["item"]["id"].as_str().unwrap().to_owned())
        .collect();
    owned.sort();
    redeemed.sort();
    assert_eq!(owned, redeemed, "{library}");
    assert!(
        library
            .as_array()
            .unwrap()
            .iter()
            .all(|item| item["redemption_id"].is_string() && item["order_id"].is_null()),
        "{library}"
    );
    let link = app
        .client
        .post(app.url(&format!("/api/v1/library/{}/download", redeemed[0])))
        .bearer_auth(&installer.access_token)
        .json(&json!({"format": "original"}))
        .send()
        .await
        .unwrap();
    assert_eq!(link.status(), 200);
    let link: Value = link.json().await.unwrap();
    let file = app
        .client
        .get(app.url(link["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert!(!file.bytes().await.unwrap().is_empty());

    // The history is the caller's own.
    let history: Value = app
        .get_authorized("/api/v1/installer/redemptions", &installer.access_token)
        .await
        .json()
        .await
        .unwrap();
    let mut listed: Vec<String> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["track_id"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, redeemed, "{history}");
    let stranger = app.register("stranger@example.com", "listener").await;
    let foreign: Value = app
        .get_authorized("/api/v1/installer/redemptions", &stranger.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(foreign, json!([]));
    let not_theirs = app
        .client
        .post(app.url(&format!("/api/v1/library/{}/download", redeemed[0])))
        .bearer_auth(&stranger.access_token)
        .json(&json!({"format": "original"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(not_theirs, 404).await,
        "not_found",
        "another listener's redemption grants them nothing"
    );
    let verify = app
        .get_authorized("/api/v1/admin/ledger/verify", &admin.access_token)
        .await;
    assert_eq!(verify.status(), 200);
}

async fn signed_impressions_are_counted_once_and_hostile_batches_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("ops@example.com").await;
    let creative = campaign_with_creative(&app, &admin).await;
    let installer = app.register("installer@example.com", "listener").await;

    let code: Value = app
        .client
        .post(app.url("/api/v1/devices/pairing-codes"))
        .bearer_auth(&installer.access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = SigningKey::from_bytes(&rand::random());
    let registration = json!({"code": PairingCode::parse(code["code"].as_str().unwrap()).unwrap(), "public_key": PublicKey::of(&key)});
    let paired = app.post_json("/api/v1/devices", &registration).await;
    assert_eq!(paired.status(), 201);
    let device: DeviceId =
        serde_json::from_value(paired.json::<Value>().await.unwrap()["device_id"].clone()).unwrap();
    let reused = app.post_json("/api/v1/devices", &json!({"code": code["code"], "public_key": PublicKey::of(&SigningKey::from_bytes(&rand::random()))})).await;
    assert_eq!(error_code(reused, 409).await, "pairing_code_used");

    let first = batch(&key, device, 1, &creative);
    let receipt: Value = app
        .post_json("/api/v1/impressions", &first)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        receipt["accepted"].as_array().unwrap().len(),
        1,
        "{receipt}"
    );
    let resent: Value = app
        .post_json("/api/v1/impressions", &first)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resent, receipt, "a resent batch gets the same answer");

    let forger = SigningKey::from_bytes(&rand::random());
    let forged = app
        .post_json("/api/v1/impressions", &batch(&forger, device, 2, &creative))
        .await;
    assert_eq!(error_code(forged, 401).await, "bad_signature");
    let old = app
        .post_json("/api/v1/impressions", &batch(&key, device, 1, &creative))
        .await;
    assert_eq!(
        error_code(old, 409).await,
        "stale_sequence",
        "a new batch under a used sequence is a replay"
    );

    let status: Value = app
        .get_authorized("/api/v1/installer/status", &installer.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        status["accepted_impressions_7d"], 1,
        "counted once: {status}"
    );

    let stranger = app.register("stranger@example.com", "listener").await;
    let foreign = app
        .client
        .delete(app.url(&format!("/api/v1/devices/{}", device.0)))
        .bearer_auth(&stranger.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(foreign, 404).await,
        "not_found",
        "another user's device"
    );
    let revoked = app
        .client
        .delete(app.url(&format!("/api/v1/devices/{}", device.0)))
        .bearer_auth(&installer.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let after_revoke = app
        .post_json("/api/v1/impressions", &batch(&key, device, 3, &creative))
        .await;
    assert_eq!(error_code(after_revoke, 403).await, "revoked_device");
}

async fn the_free_tier_status_is_the_stream_checks_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("ops@example.com").await;
    let creative = campaign_with_creative(&app, &admin).await;
    let (_, track, _) = published_track(&app, "artist@example.com", 1).await;
    let installer = app.register("installer@example.com", "listener").await;
    let free_tier = || async {
        let status: Value = app
            .get_authorized("/api/v1/installer/status", &installer.access_token)
            .await
            .json()
            .await
            .unwrap();
        (status["free_tier"].clone(), status["agent_active"].clone())
    };
    let streams = || async { start_play(&app, &installer, &track).await.status().as_u16() };

    assert_eq!(
        free_tier().await,
        (json!({"active": false, "reason": null}), json!(false))
    );
    assert_eq!(streams().await, 403);
    set_free_tier(&app, &admin, &installer, true).await;
    assert_eq!(
        free_tier().await,
        (json!({"active": true, "reason": "operator"}), json!(false)),
        "the operator's switch counts"
    );
    assert_eq!(streams().await, 201);
    set_free_tier(&app, &admin, &installer, false).await;
    assert_eq!(
        free_tier().await,
        (json!({"active": false, "reason": null}), json!(false))
    );
    assert_eq!(streams().await, 403);

    let (key, device) = pair(&app, &installer).await;
    let receipt: Value = app
        .post_json(
            "/api/v1/impressions",
            &batch_of(
                &key,
                device,
                1,
                &creative,
                AGENT_ACTIVE_IMPRESSIONS - 1,
                chrono::TimeDelta::zero(),
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        receipt["accepted"].as_array().unwrap().len(),
        AGENT_ACTIVE_IMPRESSIONS - 1
    );
    assert_eq!(
        free_tier().await.0,
        json!({"active": false, "reason": null}),
        "one impression short"
    );
    assert_eq!(streams().await, 403);
    app.post_json("/api/v1/impressions", &batch(&key, device, 2, &creative))
        .await;
    assert_eq!(
        free_tier().await,
        (
            json!({"active": true, "reason": "agent_active"}),
            json!(true)
        )
    );
    assert_eq!(streams().await, 201);

    // A flag ends the free tier, the agent's and the operator's switch alike.
    set_free_tier(&app, &admin, &installer, true).await;
    let installer_id = app.me(&installer).await["id"].as_str().unwrap().to_owned();
    let flagged = app
        .client
        .post(app.url("/api/v1/admin/flags"))
        .bearer_auth(&admin.access_token)
        .json(&json!({"user_id": installer_id, "reason": "scripted agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(flagged.status(), 201);
    assert_eq!(
        free_tier().await,
        (json!({"active": false, "reason": null}), json!(false))
    );
    assert_eq!(streams().await, 403);
}

/// The settlement interval the test runs the server with, and how long it waits for a round.
const SETTLE_INTERVAL_SECONDS: u64 = 1;
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

fn count(connection: &mut megabox_database::DbConnection, sql: &str, subject: &str) -> i64 {
    use diesel::RunQueryDsl;
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Text, _>(subject)
        .get_result::<Count>(connection)
        .unwrap()
        .count
}

async fn waiting_ad_revenue_reaches_the_ledger_without_a_restart(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.ads_settle_interval_seconds = SETTLE_INTERVAL_SECONDS
    })
    .await;
    let admin = app.admin("ops@example.com").await;
    let creative = campaign_with_creative(&app, &admin).await;
    let installer = app.register("installer@example.com", "listener").await;
    let (key, device) = pair(&app, &installer).await;
    let receipt: Value = app
        .post_json("/api/v1/impressions", &batch(&key, device, 1, &creative))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(receipt["accepted"].as_array().unwrap().len(), 1);

    // What a crash between a batch's commit and its ledger entry leaves behind: revenue in the
    // ads tables that royalties has not seen (a copy of the batch's row under a new source id).
    let pool = megabox_database::connect(&app._database.url, 1).unwrap();
    let connection = &mut *pool.get().unwrap();
    let waiting = format!("crashed:{}", device.0);
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "INSERT INTO ads_revenue (source_id, device_id, user_id, campaign_id, amount_micro_cents, occurred_at) \
             SELECT $1, device_id, user_id, campaign_id, amount_micro_cents, occurred_at FROM ads_revenue WHERE device_id = $2",
        )
        .bind::<diesel::sql_types::Text, _>(&waiting)
        .bind::<diesel::sql_types::Text, _>(device.0.to_string())
        .execute(connection)
        .unwrap();
    }
    let in_ledger = |connection: &mut megabox_database::DbConnection| {
        count(
            connection,
            "SELECT COUNT(*) AS count FROM royalty_ad_revenue WHERE source_id = $1",
            &waiting,
        )
    };
    assert_eq!(in_ledger(connection), 0);
    let started = std::time::Instant::now();
    while in_ledger(connection) == 0 {
        assert!(
            started.elapsed() < SETTLE_WAIT,
            "the waiting revenue never reached the ledger"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Exactly once, and marked as handed over, however many rounds run.
    tokio::time::sleep(std::time::Duration::from_secs(2 * SETTLE_INTERVAL_SECONDS)).await;
    assert_eq!(in_ledger(connection), 1);
    assert_eq!(
        count(
            connection,
            "SELECT COUNT(*) AS count FROM ads_revenue WHERE source_id = $1 AND recorded_at IS NOT NULL",
            &waiting
        ),
        1
    );
    let verify = app
        .get_authorized("/api/v1/admin/ledger/verify", &admin.access_token)
        .await;
    assert_eq!(verify.status(), 200);
}
