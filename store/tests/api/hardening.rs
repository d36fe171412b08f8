//! The edges an attacker or a careless deployment tries: test-mode payments on a public server,
//! spoofed client addresses, secrets in the access log, uploads that fill the disk in parallel.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use megabox_database::Backend;
use megabox_store::demo::audio::tagged_wav;
use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::{TestApp, error_code, spawn_app_with};

on_every_backend!(
    forwarding_headers_choose_the_rate_limit_key_only_from_trusted_proxies,
    uploads_in_flight_count_against_the_quota_and_the_concurrency_bound,
    the_web_app_gets_a_strict_csp_and_hsts_only_over_https,
);

/// How long `megabox serve` may take to refuse a configuration or to start listening.
const START_WAIT: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `megabox serve` process with its own data directory, logging JSON to a file.
struct Served {
    child: Child,
    address: String,
    log: std::path::PathBuf,
    _data_dir: tempfile::TempDir,
}

impl Served {
    /// Stops the server and returns what it logged.
    fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::fs::read_to_string(&self.log).unwrap()
    }
}

/// Starts `megabox serve` with `environment`; once it listens, the running server, or, when it
/// exits first, its exit status and stderr.
fn serve(environment: &[(&str, &str)]) -> Result<Served, (std::process::ExitStatus, String)> {
    let data_dir = tempfile::tempdir().unwrap();
    let log = data_dir.path().join("serve.log");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_megabox"))
        .arg("serve")
        .env("MEGABOX_BIND", format!("127.0.0.1:{port}"))
        .env("MEGABOX_DATA_DIR", data_dir.path())
        .env("MEGABOX_LOG_FORMAT", "json")
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("MEGABOX_STRIPE_SECRET_KEY")
        .env_remove("MEGABOX_PAYMENTS")
        .env_remove("MEGABOX_PUBLIC_URL")
        .env_remove("MEGABOX_TRUSTED_PROXIES")
        .envs(environment.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Err((status, std::fs::read_to_string(&log).unwrap()));
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(Served {
                child,
                address: format!("http://127.0.0.1:{port}"),
                log,
                _data_dir: data_dir,
            });
        }
        assert!(
            started.elapsed() < START_WAIT,
            "serve neither exited nor listened: {}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_public_server_without_a_stripe_key_refuses_to_start() {
    let Err((status, stderr)) = serve(&[("MEGABOX_PUBLIC_URL", "https://music.example.com")])
    else {
        panic!("serve must refuse to take test payments on a public URL");
    };
    assert!(!status.success());
    assert!(
        stderr.contains("MEGABOX_PAYMENTS=test"),
        "the refusal says how to choose test mode: {stderr}"
    );
    let chosen = serve(&[
        ("MEGABOX_PUBLIC_URL", "https://music.example.com"),
        ("MEGABOX_PAYMENTS", "test"),
    ])
    .expect("MEGABOX_PAYMENTS=test starts the server");
    let log = chosen.stop();
    assert!(
        log.contains(r#""payments":"Test""#),
        "the start line names the mode: {log}"
    );
}

/// The `request served` lines of a JSON log, each as its JSON object (the request's fields are
/// under `span`).
fn access_log_lines(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["message"] == "request served")
        .collect()
}

/// The access log: one line per request, secrets in the query redacted, and the client address
/// from `X-Forwarded-For` only when the peer is a trusted proxy.
#[tokio::test]
async fn the_access_log_redacts_secrets_and_believes_only_trusted_proxies() {
    let client = reqwest::Client::new();
    for (trusted, expected_client) in [(None, "127.0.0.1"), (Some("127.0.0.1/32"), "203.0.113.9")] {
        let mut environment = vec![];
        if let Some(trusted) = trusted {
            environment.push(("MEGABOX_TRUSTED_PROXIES", trusted));
        }
        let served = serve(&environment).expect("serve starts");
        let response = client
            .get(format!(
                "{}/api/v1/streams/x?expires=42&sig=s3cr3tsig&token=t0k3n&api_key=k3y",
                served.address
            ))
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        let log = served.stop();
        for secret in ["s3cr3tsig", "t0k3n", "k3y"] {
            assert!(!log.contains(secret), "{secret} reached the log: {log}");
        }
        let lines = access_log_lines(&log);
        let line = lines
            .iter()
            .find(|line| {
                line["span"]["http.target"]
                    .as_str()
                    .is_some_and(|target| target.starts_with("/api/v1/streams/x"))
            })
            .unwrap_or_else(|| panic!("no access-log line for the request: {log}"));
        assert_eq!(
            line["span"]["http.target"],
            "/api/v1/streams/x?expires=42&sig=REDACTED&token=REDACTED&api_key=REDACTED"
        );
        assert_eq!(line["http.status_code"], 404);
        assert_eq!(
            line["span"]["http.client_ip"], expected_client,
            "trusted proxies {trusted:?}: {line}"
        );
    }
}

/// Login attempts per client address: behind a trusted proxy each forwarded client has its own
/// budget; without trusted proxies a forged `X-Forwarded-For` does not buy a new one.
async fn forwarding_headers_choose_the_rate_limit_key_only_from_trusted_proxies(backend: Backend) {
    const ATTEMPTS_PER_MINUTE: u32 = 2;
    for trusted in [true, false] {
        let app = spawn_app_with(backend, |settings| {
            settings.login_attempts_per_minute = ATTEMPTS_PER_MINUTE;
            if trusted {
                settings.trusted_proxies = Some("127.0.0.0/8".to_owned());
            }
        })
        .await;
        let attempt = |forwarded_for: &'static str, email: String| {
            let request = app
                .client
                .post(app.url("/api/v1/auth/login"))
                .header("x-forwarded-for", forwarded_for)
                .json(&json!({"email": email, "password": "wrong password here"}));
            async move { request.send().await.unwrap().status().as_u16() }
        };
        // Redis counts in fixed one-minute windows, so a window may turn mid-test: spend the
        // budget until refused, then ask for the other client right away.
        let mut refused = false;
        for index in 0..ATTEMPTS_PER_MINUTE * 5 * 3 {
            if attempt("203.0.113.1", format!("a{index}@example.com")).await == 429 {
                refused = true;
                break;
            }
        }
        assert!(refused, "the address's budget is spent");
        let other_client = attempt("198.51.100.2", "b@example.com".to_owned()).await;
        if trusted {
            assert_eq!(
                other_client, 401,
                "another client behind the proxy has its own budget"
            );
        } else {
            assert_eq!(
                other_client, 429,
                "a forged X-Forwarded-For buys no new budget"
            );
        }
    }
}

const BOUNDARY: &str = "hardening-boundary";

/// An upload whose body stops after its first `sent_bytes` of audio until [`StalledUpload::finish`].
struct StalledUpload {
    rest: tokio::sync::oneshot::Sender<()>,
    response: tokio::task::JoinHandle<reqwest::Response>,
}

impl StalledUpload {
    async fn start(
        app: &TestApp,
        token: &str,
        release_id: &str,
        audio: Vec<u8>,
        sent_bytes: usize,
    ) -> StalledUpload {
        let head = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
        );
        let first: Vec<u8> = [head.as_bytes(), &audio[..sent_bytes]].concat();
        let rest: Vec<u8> = [
            &audio[sent_bytes..],
            format!("\r\n--{BOUNDARY}--\r\n").as_bytes(),
        ]
        .concat();
        let (send_rest, rest_wanted) = tokio::sync::oneshot::channel::<()>();
        let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(
            futures_util::stream::once(async move {
                let _ = rest_wanted.await;
                Ok(rest)
            }),
        );
        let request = app
            .client
            .post(app.url(&format!("/api/v1/releases/{release_id}/tracks")))
            .bearer_auth(token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(reqwest::Body::wrap_stream(body));
        let response = tokio::spawn(async move { request.send().await.unwrap() });
        // Time for the server to start receiving and count what was sent.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        StalledUpload {
            rest: send_rest,
            response,
        }
    }

    async fn finish(self) -> reqwest::Response {
        let _ = self.rest.send(());
        self.response.await.unwrap()
    }
}

/// While one upload is still arriving, its bytes already count against the storage quota, and
/// an artist has at most the configured number of uploads in flight; both refusals leave the
/// upload in progress unharmed.
async fn uploads_in_flight_count_against_the_quota_and_the_concurrency_bound(backend: Backend) {
    let slow_audio = tagged_wav(2, 440, "Slow", "Artist", "Album");
    let quick_audio = tagged_wav(2, 550, "Quick", "Artist", "Album");
    let app = spawn_app_with(backend, |settings| {
        settings.concurrent_uploads_per_artist_max = 2;
        // Room for one of the two files, not both.
        settings.storage_quota_bytes = u64::try_from(slow_audio.len() * 3 / 2).unwrap();
    })
    .await;
    let artist = app.register("inflight@example.com", "artist").await;
    let release: Value = app
        .client
        .post(app.url("/api/v1/releases"))
        .bearer_auth(&artist.access_token)
        .json(&json!({"title": "In flight", "kind": "album"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let release_id = release["id"].as_str().unwrap();

    let slow = StalledUpload::start(
        &app,
        &artist.access_token,
        release_id,
        slow_audio.clone(),
        slow_audio.len() * 3 / 4,
    )
    .await;
    let over_quota = app
        .upload_track(
            &artist.access_token,
            release_id,
            "quick.wav",
            quick_audio.clone(),
        )
        .await;
    assert_eq!(
        error_code(over_quota, 413).await,
        "quota_exceeded",
        "the bytes in flight count: nothing is stored yet"
    );
    let second_slow = StalledUpload::start(
        &app,
        &artist.access_token,
        release_id,
        quick_audio.clone(),
        100,
    )
    .await;
    let third = app
        .upload_track(
            &artist.access_token,
            release_id,
            "third.wav",
            tagged_wav(1, 660, "Third", "Artist", "Album"),
        )
        .await;
    assert!(third.headers().contains_key("retry-after"));
    assert_eq!(error_code(third, 429).await, "too_many_uploads");
    assert_eq!(
        error_code(second_slow.finish().await, 413).await,
        "quota_exceeded"
    );
    assert_eq!(
        slow.finish().await.status(),
        201,
        "the first upload completes"
    );
    let after = app
        .upload_track(&artist.access_token, release_id, "quick.wav", quick_audio)
        .await;
    assert_eq!(
        error_code(after, 413).await,
        "quota_exceeded",
        "stored bytes count once the upload is recorded"
    );
}

/// Every page gets a CSP without inline scripts or styles; HSTS only when users reach the server
/// over https (over plain http it would mean nothing, and on localhost it would stick).
async fn the_web_app_gets_a_strict_csp_and_hsts_only_over_https(backend: Backend) {
    for (public_url, hsts) in [
        (None, None),
        (Some("https://music.example.com"), Some("max-age=31536000")),
    ] {
        let app = spawn_app_with(backend, |settings| {
            settings.public_url = public_url.map(str::to_owned);
            settings.payments = Some(megabox_store::configuration::PaymentsMode::Test);
        })
        .await;
        for path in ["/", "/releases/anything", "/api/v1/catalog"] {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            let headers = response.headers();
            assert_eq!(
                headers["content-security-policy"],
                megabox_store::startup::CONTENT_SECURITY_POLICY,
                "{path}"
            );
            let policy = megabox_store::startup::CONTENT_SECURITY_POLICY;
            assert!(policy.contains("script-src 'self';") && !policy.contains("unsafe"));
            assert_eq!(
                headers
                    .get("strict-transport-security")
                    .map(|value| value.to_str().unwrap()),
                hsts,
                "{public_url:?} {path}"
            );
        }
    }
}
