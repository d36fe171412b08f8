//! Tags (issue #19): an artist tags a release with `PATCH /releases/{id}`, normalised once; the
//! public browses the most used tags and the published releases carrying one, a page at a time.

use megabox_database::Backend;
use megabox_store::demo::audio::tagged_wav;
use serde_json::{Value, json};

use crate::listening::published_file;
use crate::on_every_backend;
use crate::support::{Session, TestApp, error_code, spawn_app};

on_every_backend!(
    tags_are_normalised_shown_and_browsable,
    hostile_tags_are_refused,
    only_published_releases_are_counted_and_listed,
);

/// An artist with one published single; returns the session and the release id.
async fn published_release(app: &TestApp, email: &str, pitch_hz: u32) -> (Session, String) {
    let audio = tagged_wav(1, pitch_hz, "Tagged", "Taggers", "Tags");
    let (artist, _track, _audio) = published_file(app, email, audio, "t.wav").await;
    let releases = app.get_json("/api/v1/releases", &artist).await;
    let release_id = releases[0]["id"].as_str().unwrap().to_owned();
    (artist, release_id)
}

async fn set_tags(
    app: &TestApp,
    artist: &Session,
    release_id: &str,
    tags: Value,
) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/api/v1/releases/{release_id}")))
        .bearer_auth(&artist.access_token)
        .json(&json!({ "tags": tags }))
        .send()
        .await
        .unwrap()
}

async fn get_public(app: &TestApp, path: &str) -> Value {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn ids_of(page: &Value) -> Vec<String> {
    page["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|release| release["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn tags_are_normalised_shown_and_browsable(backend: Backend) {
    let app = spawn_app(backend).await;
    let (first_artist, first) = published_release(&app, "one@example.com", 440).await;
    let (second_artist, second) = published_release(&app, "two@example.com", 550).await;
    let (third_artist, third) = published_release(&app, "three@example.com", 660).await;
    let saved = set_tags(
        &app,
        &first_artist,
        &first,
        json!([" Ambient ", "LO-FI", "ambient"]),
    )
    .await;
    assert_eq!(saved.status(), 200);
    assert_eq!(
        set_tags(&app, &second_artist, &second, json!(["ambient"]))
            .await
            .status(),
        200
    );
    assert_eq!(
        set_tags(&app, &third_artist, &third, json!(["Ambient", "drone"]))
            .await
            .status(),
        200
    );

    let page = get_public(&app, &format!("/api/v1/catalog/releases/{first}")).await;
    assert_eq!(
        page["tags"],
        json!(["ambient", "lo-fi"]),
        "trimmed, lower case, once"
    );
    let own = app
        .get_json(&format!("/api/v1/releases/{first}"), &first_artist)
        .await;
    assert_eq!(own["tags"], json!(["ambient", "lo-fi"]));

    let most_used = get_public(&app, "/api/v1/catalog/tags").await;
    assert_eq!(
        most_used["tags"],
        json!([
            {"tag": "ambient", "release_count": 3},
            {"tag": "drone", "release_count": 1},
            {"tag": "lo-fi", "release_count": 1},
        ])
    );
    let top = get_public(&app, "/api/v1/catalog/tags?limit=1").await;
    assert_eq!(top["tags"].as_array().unwrap().len(), 1);

    // Keyset pages of two, newest first, then one; the tag is matched as it is stored.
    let page_one = get_public(&app, "/api/v1/catalog/tags/%20AMBIENT?limit=2").await;
    assert_eq!(ids_of(&page_one), [third.as_str(), second.as_str()]);
    let cursor = page_one["next_cursor"].as_str().unwrap();
    let page_two = get_public(
        &app,
        &format!("/api/v1/catalog/tags/ambient?limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(ids_of(&page_two), [first.as_str()]);
    assert!(page_two["next_cursor"].is_null());

    // Clearing the tags takes the release off its tag pages.
    assert_eq!(
        set_tags(&app, &first_artist, &first, json!([]))
            .await
            .status(),
        200
    );
    let lo_fi = get_public(&app, "/api/v1/catalog/tags/lo-fi").await;
    assert!(ids_of(&lo_fi).is_empty());
}

async fn hostile_tags_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (artist, release) = published_release(&app, "owner@example.com", 440).await;
    let eleven: Vec<String> = (0..11).map(|n| format!("tag{n}")).collect();
    for hostile in [
        json!(eleven),
        json!(["x".repeat(41)]),
        json!(["x".repeat(60_000)]),
        json!(["   "]),
        json!(["new\nline"]),
    ] {
        let response = set_tags(&app, &artist, &release, hostile).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["code"], "invalid_input");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("tags"),
            "the message names the field: {body}"
        );
    }
    let unchanged = get_public(&app, &format!("/api/v1/catalog/releases/{release}")).await;
    assert_eq!(unchanged["tags"], json!([]), "nothing half-saved");

    // Another artist's release is 404, exactly like one that does not exist.
    let stranger = app.register("stranger@example.com", "artist").await;
    let foreign = set_tags(&app, &stranger, &release, json!(["mine"])).await;
    assert_eq!(error_code(foreign, 404).await, "not_found");
    let fan = app.register("fan@example.com", "listener").await;
    let not_an_artist = set_tags(&app, &fan, &release, json!(["mine"])).await;
    assert_eq!(not_an_artist.status(), 403);

    for bad in [
        "/api/v1/catalog/tags?limit=0",
        "/api/v1/catalog/tags?limit=101",
        "/api/v1/catalog/tags/ambient?limit=101",
        "/api/v1/catalog/tags/ambient?cursor=nonsense",
    ] {
        let response = app.client.get(app.url(bad)).send().await.unwrap();
        assert_eq!(error_code(response, 422).await, "invalid_input", "{bad}");
    }
    let long = format!("/api/v1/catalog/tags/{}", "x".repeat(41));
    let response = app.client.get(app.url(&long)).send().await.unwrap();
    assert_eq!(error_code(response, 422).await, "invalid_input");
}

async fn only_published_releases_are_counted_and_listed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (artist, release) = published_release(&app, "owner@example.com", 440).await;
    assert_eq!(
        set_tags(&app, &artist, &release, json!(["secret"]))
            .await
            .status(),
        200
    );
    let draft: Value = app
        .client
        .post(app.url("/api/v1/releases"))
        .bearer_auth(&artist.access_token)
        .json(&json!({"title": "Draft", "kind": "single"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let draft = draft["id"].as_str().unwrap();
    assert_eq!(
        set_tags(&app, &artist, draft, json!(["secret"]))
            .await
            .status(),
        200
    );
    let listed = get_public(&app, "/api/v1/catalog/tags/secret").await;
    assert_eq!(
        ids_of(&listed),
        [release.as_str()],
        "the draft is not listed"
    );

    let unpublished = app
        .client
        .post(app.url(&format!("/api/v1/releases/{release}/unpublish")))
        .bearer_auth(&artist.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(unpublished.status(), 200);
    let listed = get_public(&app, "/api/v1/catalog/tags/secret").await;
    assert!(ids_of(&listed).is_empty(), "unpublished is not listed");
    let most_used = get_public(&app, "/api/v1/catalog/tags").await;
    assert_eq!(most_used["tags"], json!([]), "nor counted");
    let own = app
        .get_json(&format!("/api/v1/releases/{draft}"), &artist)
        .await;
    assert_eq!(own["tags"], json!(["secret"]), "the owner still sees them");
}
