//! The operator CLI against the same database as a running server: `megabox import` (with its
//! resumable re-run and per-file failures), `megabox admin create`, the batch commands and
//! `megabox storage sweep`.

use megabox_database::Backend;
use megabox_store::demo::audio::tagged_wav;
use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::{TestApp, spawn_app};

on_every_backend!(
    import_is_resumable_and_reports_failures,
    admin_create_makes_an_operator,
    batch_commands_run_against_the_database,
    storage_sweep_removes_only_what_a_crash_left
);

fn megabox(app: &TestApp, arguments: &[&str], extra_env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_megabox"))
        .args(arguments)
        .env("DATABASE_URL", &app._database.url)
        .env("MEGABOX_DATA_DIR", app._data_dir.path())
        .envs(extra_env.iter().copied())
        .env_remove("REDIS_URL")
        .output()
        .unwrap()
}

async fn import_is_resumable_and_reports_failures(backend: Backend) {
    let app = spawn_app(backend).await;
    let artist = app.register("importer@example.com", "artist").await;
    let library = tempfile::tempdir().unwrap();
    let album = library.path().join("Album One");
    std::fs::create_dir(&album).unwrap();
    std::fs::write(
        album.join("01.wav"),
        tagged_wav(1, 440, "First", "Importer", "Album One"),
    )
    .unwrap();
    std::fs::write(
        album.join("02.wav"),
        tagged_wav(1, 550, "Second", "Importer", "Album One"),
    )
    .unwrap();
    std::fs::write(album.join("broken.mp3"), b"not audio at all").unwrap();
    std::fs::write(album.join("notes.txt"), b"ignored: not an audio extension").unwrap();
    let directory = library.path().to_str().unwrap();

    let first = megabox(
        &app,
        &["import", directory, "--artist", "importer@example.com"],
        &[],
    );
    let report = String::from_utf8_lossy(&first.stderr);
    assert!(
        !first.status.success(),
        "a failed file makes the exit status non-zero: {report}"
    );
    assert!(
        report.contains("imported 2, skipped 0 already imported, failed 1"),
        "{report}"
    );
    assert!(
        report.contains("broken.mp3"),
        "the failure names the file: {report}"
    );

    let again = megabox(
        &app,
        &["import", directory, "--artist", "importer@example.com"],
        &[],
    );
    let report = String::from_utf8_lossy(&again.stderr);
    assert!(
        report.contains("imported 0, skipped 2 already imported, failed 1"),
        "{report}"
    );

    let releases: Value = app
        .get_authorized("/api/v1/releases", &artist.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        releases.as_array().unwrap().len(),
        1,
        "the re-run reused the folder's draft: {releases}"
    );
    assert_eq!(releases[0]["title"], "Album One");
    let detail: Value = app
        .get_authorized(
            &format!("/api/v1/releases/{}", releases[0]["id"].as_str().unwrap()),
            &artist.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let titles: Vec<&str> = detail["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|track| track["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["First", "Second"]);

    let listener = megabox(
        &app,
        &["import", directory, "--artist", "nobody@example.com"],
        &[],
    );
    assert!(!listener.status.success());
    assert!(String::from_utf8_lossy(&listener.stderr).contains("no account"));
}

async fn admin_create_makes_an_operator(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = megabox(
        &app,
        &["admin", "create", "--email", "root@example.com"],
        &[("MEGABOX_ADMIN_PASSWORD", "correct horse battery")],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "root@example.com", "password": "correct horse battery"}),
        )
        .await;
    let session = crate::support::session_of(login).await;
    assert_eq!(app.me(&session).await["role"], "admin");
    let weak = megabox(
        &app,
        &["admin", "create", "--email", "weak@example.com"],
        &[("MEGABOX_ADMIN_PASSWORD", "short")],
    );
    assert!(
        !weak.status.success(),
        "the password policy applies to admins too"
    );
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&created.stdout),
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(
        !output.contains("correct horse battery"),
        "the password is never printed"
    );
}

async fn batch_commands_run_against_the_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let payouts = megabox(&app, &["payouts", "run"], &[]);
    assert!(
        payouts.status.success(),
        "{}",
        String::from_utf8_lossy(&payouts.stderr)
    );
    let run: Value = serde_json::from_slice(&payouts.stdout).unwrap();
    assert_eq!(run["created"], 0, "nobody is owed anything yet");
    let close = megabox(&app, &["periods", "close", "2026-02"], &[]);
    assert!(
        close.status.success(),
        "{}",
        String::from_utf8_lossy(&close.stderr)
    );
    let closed: Value = serde_json::from_slice(&close.stdout).unwrap();
    assert_eq!(closed["period"], "2026-02");
    let bad = megabox(&app, &["periods", "close", "February"], &[]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

fn files_under(directory: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path))
        } else {
            files.push(path)
        }
    }
    files
}

async fn storage_sweep_removes_only_what_a_crash_left(backend: Backend) {
    let app = spawn_app(backend).await;
    let artist = app.register("kept@example.com", "artist").await;
    let release: Value = app
        .client
        .post(app.url("/api/v1/releases"))
        .bearer_auth(&artist.access_token)
        .json(&json!({"title": "Kept", "kind": "single"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let audio = tagged_wav(1, 440, "Kept", "Keeper", "Kept");
    let uploaded: Value = app
        .upload_track(
            &artist.access_token,
            release["id"].as_str().unwrap(),
            "kept.wav",
            audio.clone(),
        )
        .await
        .json()
        .await
        .unwrap();
    let track_id = uploaded["track"]["id"].as_str().unwrap();

    // What a kill -9 between a blob's write and its rows' commit, and one mid-upload, leave.
    let data = app._data_dir.path();
    let orphan_id = uuid::Uuid::new_v4().to_string();
    let orphan = data
        .join("media/audio")
        .join(&orphan_id[orphan_id.len() - 2..])
        .join(&orphan_id);
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"orphaned audio").unwrap();
    std::fs::create_dir_all(data.join("uploads")).unwrap();
    std::fs::write(data.join("uploads/upload-crashed"), b"half an upload").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 60 * 60);
    for file in files_under(data) {
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
    }
    std::fs::write(data.join("uploads/upload-in-progress"), b"arriving now").unwrap();

    let swept = megabox(&app, &["storage", "sweep"], &[]);
    assert!(
        swept.status.success(),
        "{}",
        String::from_utf8_lossy(&swept.stderr)
    );
    let report: Value = serde_json::from_slice(&swept.stdout).unwrap();
    assert_eq!(report["blobs_removed"], 1, "{report}");
    assert_eq!(report["temporary_files_removed"], 1, "{report}");
    assert!(!orphan.exists() && !data.join("uploads/upload-crashed").exists());
    assert!(
        data.join("uploads/upload-in-progress").exists(),
        "a file being written is left alone"
    );
    let stream = app
        .get_authorized(
            &format!("/api/v1/tracks/{track_id}/stream"),
            &artist.access_token,
        )
        .await;
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.bytes().await.unwrap().as_ref(),
        audio.as_slice(),
        "the referenced blob is intact"
    );

    let refused = megabox(&app, &["storage", "sweep", "--min-age-minutes", "1"], &[]);
    assert!(
        !refused.status.success(),
        "a minimum age too short to be safe is refused"
    );
}
