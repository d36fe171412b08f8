//! Starting the real server for a test, and running a test on every backend.

use std::sync::OnceLock;

use megabox_database::Backend;
use megabox_database::testing::{TestDatabase, backends, services_required};
use megabox_store::configuration::Settings;
use megabox_store::startup::Application;
use serde_json::{Value, json};

pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Signing key the tests know, so they can forge tokens that must be refused.
pub const JWT_KID: &str = "test-1";
pub const JWT_SECRET: &str = "test-signing-secret-0123456789abcdef";

/// Runs an async test function once per backend: SQLite always, PostgreSQL when reachable
/// (and always under CI=true, where an unreachable PostgreSQL fails the test).
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(megabox_database::Backend::Sqlite).await; })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() {
                if $crate::support::postgres_available() { super::$name(megabox_database::Backend::Postgres).await; }
            })*
        }
    };
}

pub fn postgres_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| backends().contains(&Backend::Postgres))
}

fn redis_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| match std::net::TcpStream::connect("127.0.0.1:6379") {
        Ok(_) => true,
        Err(error) if services_required() => {
            panic!("CI=true but Redis is unreachable at {REDIS_URL}: {error}")
        }
        Err(error) => {
            eprintln!("skipping Redis (unreachable: {error})");
            false
        }
    })
}

pub struct TestApp {
    pub address: String,
    /// The metrics listener, when the test gave metrics one (`metrics_bind`).
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    /// Held so the database and the data directory outlive the server.
    pub _database: TestDatabase,
    pub _data_dir: tempfile::TempDir,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the server with test settings, adjusted by `configure`. The PostgreSQL run also
/// turns Redis on (with a key prefix of its own), so both the embedded and the production
/// shape are exercised.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let database = TestDatabase::new(backend).expect("test database");
    let data_dir = tempfile::tempdir().expect("data dir");
    let mut settings = Settings {
        bind: "127.0.0.1:0".to_owned(),
        data_dir: data_dir.path().to_path_buf(),
        database_url: Some(database.url.clone()),
        database_pool_size: 4,
        jwt_keys: Some(format!("{JWT_KID}={JWT_SECRET}").into()),
        // The test binary cannot analyse files; the real `megabox` binary can.
        analyzer_program: Some(env!("CARGO_BIN_EXE_megabox").into()),
        ..Settings::default()
    };
    if backend == Backend::Postgres && redis_available() {
        settings.redis_url = Some(REDIS_URL.to_owned());
        settings.redis_key_prefix = format!("megabox-test-{}", uuid::Uuid::new_v4().simple());
    }
    configure(&mut settings);
    let application = Application::build(settings)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let metrics_address = application
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    tokio::spawn(application.run_until_stopped());
    TestApp {
        address,
        metrics_address,
        client: reqwest::Client::new(),
        _database: database,
        _data_dir: data_dir,
    }
}

/// A registered account's tokens.
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// GET `path` as `session`, which must answer 200 with JSON.
    pub async fn get_json(&self, path: &str, session: &Session) -> Value {
        let response = self.get_authorized(path, &session.access_token).await;
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.expect("a JSON body")
    }

    /// The OpenAPI document the server serves.
    pub async fn openapi_document(&self) -> Value {
        self.client
            .get(self.url("/api/v1/openapi.json"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("the document is JSON")
    }

    /// An advertiser made by the operator `admin`, as the API answers it.
    pub async fn create_advertiser(&self, admin: &Session, name: &str) -> Value {
        self.client
            .post(self.url("/api/v1/admin/advertisers"))
            .bearer_auth(&admin.access_token)
            .json(&json!({ "name": name }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("the advertiser is JSON")
    }

    /// Runs the real `megabox` binary against this app's database and data directory.
    pub fn megabox(&self, arguments: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_megabox"))
            .args(arguments)
            .env("DATABASE_URL", &self._database.url)
            .env("MEGABOX_DATA_DIR", self._data_dir.path())
            .env_remove("REDIS_URL")
            .output()
            .expect("megabox runs")
    }

    /// Signs in an account of `megabox demo` (they all share the demo password).
    pub async fn sign_in_demo(&self, email: &str) -> Session {
        let response = self
            .post_json(
                "/api/v1/auth/login",
                &json!({"email": email, "password": "megabox-demo-password"}),
            )
            .await;
        assert_eq!(response.status(), 200, "{email} signs in");
        session_of(response).await
    }

    pub async fn get_authorized(&self, path: &str, access_token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }

    pub async fn register(&self, email: &str, role: &str) -> Session {
        let response = self
            .post_json(
                "/api/v1/auth/register",
                &json!({"email": email, "password": "correct horse battery", "display_name": "Test", "role": role}),
            )
            .await;
        assert_eq!(response.status(), 201, "register {email}");
        session_of(response).await
    }
}

impl TestApp {
    /// An operator account, made the way `megabox admin create` makes one, then signed in.
    pub async fn admin(&self, email: &str) -> Session {
        use megabox_store::accounts::{self, DisplayName, Email, Password, Role};
        let url = self._database.url.clone();
        let email_owned = email.to_owned();
        tokio::task::spawn_blocking(move || {
            let pool = megabox_database::connect(&url, 1).unwrap();
            let password = Password::parse("correct horse battery".to_owned().into()).unwrap();
            let hash = megabox_store::auth::passwords::hash_password(&password).unwrap();
            let email = Email::parse(&email_owned).unwrap();
            accounts::create_account(
                &mut pool.get().unwrap(),
                &email,
                &hash,
                &DisplayName::parse("Operator").unwrap(),
                Role::Admin,
            )
            .unwrap();
        })
        .await
        .unwrap();
        session_of(
            self.post_json(
                "/api/v1/auth/login",
                &json!({"email": email, "password": "correct horse battery"}),
            )
            .await,
        )
        .await
    }

    /// Uploads `bytes` as a track of the release, the way the web app's upload form does.
    pub async fn upload_track(
        &self,
        access_token: &str,
        release_id: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
        );
        self.client
            .post(self.url(&format!("/api/v1/releases/{release_id}/tracks")))
            .bearer_auth(access_token)
            .multipart(form)
            .send()
            .await
            .expect("request")
    }

    pub async fn me(&self, session: &Session) -> Value {
        self.get_authorized("/api/v1/me", &session.access_token)
            .await
            .json()
            .await
            .unwrap()
    }
}

pub async fn session_of(response: reqwest::Response) -> Session {
    let body: Value = response.json().await.expect("token pair");
    Session {
        access_token: body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        refresh_token: body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    }
}

/// Asserts the error shape of DESIGN.md §11 and returns the code.
pub async fn error_code(response: reqwest::Response, expected_status: u16) -> String {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(status, expected_status, "body: {body}");
    assert!(body["error"]["message"].is_string(), "error shape: {body}");
    body["error"]["code"]
        .as_str()
        .expect("error code")
        .to_owned()
}
