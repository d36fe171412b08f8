//! The `megabox` binary as an operator runs it: secrets never reach its logs, and a `kill -9`
//! while a webhook is being handled loses nothing: the redelivery completes it exactly once.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fake_stripe::{Delivery, FakeStripe, FakeStripeConfig, PaymentTiming};
use serde_json::{Value, json};

const WEBHOOK_SECRET: &str = "whsec_process_test_secret";
const PASSWORD: &str = "correct horse battery";

struct Server {
    child: Child,
    address: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(data_dir: &std::path::Path, fake: &FakeStripe) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_megabox"))
        .arg("serve")
        .env("MEGABOX_BIND", format!("127.0.0.1:{port}"))
        .env("MEGABOX_DATA_DIR", data_dir)
        .env("MEGABOX_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug,h2=info,hyper=info,rustls=info")
        .env("MEGABOX_STRIPE_SECRET_KEY", fake.secret_key())
        .env("MEGABOX_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("MEGABOX_STRIPE_API_BASE", fake.base_url())
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(data_dir.join(format!("server-{port}.log"))).unwrap())
        .spawn()
        .unwrap();
    let address = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{address}/healthz"))
            .await
            .is_ok_and(|response| response.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fake.set_webhook_endpoint(format!("{address}/api/v1/webhooks/stripe"), WEBHOOK_SECRET);
    Server { child, address }
}

async fn post(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn secrets_stay_out_of_logs_and_a_killed_webhook_completes_on_redelivery() {
    let fake = FakeStripe::start(FakeStripeConfig::default())
        .await
        .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut server = start(data_dir.path(), &fake).await;
    let client = reqwest::Client::new();

    // An artist publishes one track; a listener starts a checkout through Stripe (the fake).
    let artist = post(&client, format!("{}/api/v1/auth/register", server.address), None, json!({"email": "a@example.com", "password": PASSWORD, "display_name": "A", "role": "artist"})).await;
    let artist_token = artist["access_token"].as_str().unwrap().to_owned();
    let release = post(
        &client,
        format!("{}/api/v1/releases", server.address),
        Some(&artist_token),
        json!({"title": "Kill Test", "kind": "single"}),
    )
    .await;
    let release_id = release["id"].as_str().unwrap();
    let audio = megabox_store::demo::audio::tagged_wav(1, 440, "Survivor", "A", "Kill Test");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(audio).file_name("s.wav"),
    );
    let uploaded: Value = client
        .post(format!(
            "{}/api/v1/releases/{release_id}/tracks",
            server.address
        ))
        .bearer_auth(&artist_token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let track_id = uploaded["track"]["id"].as_str().unwrap().to_owned();
    for path in [
        format!("/api/v1/tracks/{track_id}"),
        format!("/api/v1/releases/{release_id}"),
    ] {
        client
            .patch(format!("{}{path}", server.address))
            .bearer_auth(&artist_token)
            .json(&json!({"price": {"kind": "fixed", "price_cents": 300}}))
            .send()
            .await
            .unwrap();
    }
    client
        .post(format!(
            "{}/api/v1/releases/{release_id}/publish",
            server.address
        ))
        .bearer_auth(&artist_token)
        .send()
        .await
        .unwrap();
    let listener = post(&client, format!("{}/api/v1/auth/register", server.address), None, json!({"email": "l@example.com", "password": PASSWORD, "display_name": "L", "role": "listener"})).await;
    let listener_token = listener["access_token"].as_str().unwrap().to_owned();
    let refresh_token = listener["refresh_token"].as_str().unwrap().to_owned();
    let started = post(
        &client,
        format!("{}/api/v1/checkout", server.address),
        Some(&listener_token),
        json!({"items": [{"release_id": release_id}]}),
    )
    .await;
    let session_id = started["checkout_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    // The payment completes while the server is killed mid-delivery.
    let held = fake
        .complete_checkout_session(
            &session_id,
            PaymentTiming::Immediate,
            Delivery {
                hold: true,
                ..Delivery::default()
            },
        )
        .await
        .unwrap();
    let delivery = {
        let fake_events = held.events.clone();
        let fake = &fake;
        async move {
            fake.deliver_events(
                &fake_events,
                Delivery {
                    copies: 3,
                    concurrent: true,
                    ..Delivery::default()
                },
            )
            .await
        }
    };
    let killer = async {
        tokio::time::sleep(Duration::from_millis(3)).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
    };
    let (_, ()) = tokio::join!(delivery, killer);

    // Restarted on the same data, the redelivered events complete the order exactly once.
    let mut server = start(data_dir.path(), &fake).await;
    fake.deliver_events(
        &held.events,
        Delivery {
            copies: 2,
            ..Delivery::default()
        },
    )
    .await
    .unwrap();
    let library: Value = client
        .get(format!("{}/api/v1/library", server.address))
        .bearer_auth(&listener_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        library.as_array().unwrap().len(),
        1,
        "owned once: {library}"
    );
    let order: Value = client
        .get(format!(
            "{}/api/v1/orders/{}",
            server.address,
            started["order_id"].as_str().unwrap()
        ))
        .bearer_auth(&listener_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "paid");
    let verify = Command::new(env!("CARGO_BIN_EXE_megabox"))
        .args(["ledger", "verify"])
        .env("MEGABOX_DATA_DIR", data_dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "one sale in the ledger, consistent: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let mut logs = String::new();
    for entry in std::fs::read_dir(data_dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "log") {
            logs.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    assert!(logs.contains("webhook handled"), "the logs were captured");
    for secret in [
        PASSWORD,
        fake.secret_key(),
        WEBHOOK_SECRET,
        &refresh_token,
        &listener_token,
    ] {
        assert!(
            !logs.contains(secret),
            "a secret reached the logs: {}…",
            &secret[..6]
        );
    }
}
