//! Typed, layered configuration: built-in defaults, then an optional TOML file named by
//! `MEGABOX_CONFIG`, then environment variables (`MEGABOX_<SETTING>`, plus the conventional
//! `DATABASE_URL` and `REDIS_URL`). Every setting is documented here and in README.md.
//!
//! Secrets are `SecretString`s: they never appear in `Debug` output or logs.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::client_address::TrustedProxies;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Pretty,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Which payment gateway takes the money (`MEGABOX_PAYMENTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentsMode {
    /// Stripe, with `MEGABOX_STRIPE_SECRET_KEY`.
    Stripe,
    /// The built-in test-mode gateway: no money moves and anyone can "pay" for any order.
    Test,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server listens on (`MEGABOX_BIND`).
    pub bind: String,
    /// Directory of the embedded SQLite database, media files and generated keys (`MEGABOX_DATA_DIR`).
    pub data_dir: PathBuf,
    /// PostgreSQL URL (`DATABASE_URL`); when absent, SQLite under `data_dir` is used.
    pub database_url: Option<String>,
    /// Connections in the database pool (`MEGABOX_DATABASE_POOL_SIZE`).
    pub database_pool_size: u32,
    /// Redis URL (`REDIS_URL`); when absent, rate limits and dedupe run in-process.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several deployments or tests can share one Redis
    /// (`MEGABOX_REDIS_KEY_PREFIX`).
    pub redis_key_prefix: String,
    /// The URL where users reach this server, used in links it generates
    /// (`MEGABOX_PUBLIC_URL`); defaults to `http://{bind}`.
    pub public_url: Option<String>,
    /// Proxies whose `Forwarded` and `X-Forwarded-For` headers name the client, as
    /// comma-separated CIDRs or addresses (`MEGABOX_TRUSTED_PROXIES`); without it both headers
    /// are ignored and the TCP peer is the client (see `client_address.rs`).
    pub trusted_proxies: Option<String>,
    /// Bearer token that `/metrics` requires (`MEGABOX_METRICS_TOKEN`), at least 32 bytes.
    /// Without it and without `metrics_bind`, `/metrics` is not served (404), so a public server
    /// never shows its traffic to anyone who asks.
    #[serde(skip_serializing)]
    pub metrics_token: Option<SecretString>,
    /// Address of a listener of its own that serves `/metrics` (`MEGABOX_METRICS_BIND`, say a
    /// private interface or loopback for a local Prometheus); the main listener then answers 404
    /// there. With `metrics_token` too, that listener also requires the token.
    pub metrics_bind: Option<String>,
    /// The built web app, served at `/` with a fallback to its `index.html` for client-side
    /// routes (`MEGABOX_FRONTEND_DIR`).
    pub frontend_dir: PathBuf,
    /// `pretty` or `json` (`MEGABOX_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// `iss` of access tokens (`MEGABOX_JWT_ISSUER`).
    pub jwt_issuer: String,
    /// `aud` of access tokens (`MEGABOX_JWT_AUDIENCE`).
    pub jwt_audience: String,
    /// Signing keys of access tokens as `kid=secret,kid=secret` (`MEGABOX_JWT_KEYS`); the first
    /// signs, all verify, so a key can be rotated in without logging anyone out. When absent, a
    /// random key is generated once and kept in `data_dir` (fine for one machine; several
    /// servers must share keys through this setting).
    #[serde(skip_serializing)]
    pub jwt_keys: Option<SecretString>,
    /// Keys of signed stream and download links as `kid=secret,kid=secret`
    /// (`MEGABOX_URL_SIGNING_KEYS`; key ids of letters, digits, `-`, `_`, `.`; secrets of at
    /// least 32 bytes); the first signs, all verify, and a link names its key's id, so any server
    /// verifies any server's links and a key can be rotated in without breaking links in use.
    /// When absent, a random key is generated once and kept in `data_dir` (fine for one machine;
    /// several servers must share keys through this setting).
    #[serde(skip_serializing)]
    pub url_signing_keys: Option<SecretString>,
    /// Lifetime of an access token in seconds (`MEGABOX_ACCESS_TOKEN_TTL_SECONDS`).
    pub access_token_ttl_seconds: u64,
    /// Lifetime of a refresh token in seconds (`MEGABOX_REFRESH_TOKEN_TTL_SECONDS`).
    pub refresh_token_ttl_seconds: u64,
    /// Login attempts allowed per (email, client address) per minute
    /// (`MEGABOX_LOGIN_ATTEMPTS_PER_MINUTE`); one address gets 5× that across emails, and one
    /// email 5× that per hour from addresses that never signed in to it.
    pub login_attempts_per_minute: u32,
    /// Registrations allowed per client address per hour (`MEGABOX_REGISTRATIONS_PER_HOUR`).
    pub registrations_per_hour: u32,
    /// Largest accepted audio upload in bytes (`MEGABOX_UPLOAD_BYTES_MAX`).
    pub upload_bytes_max: u64,
    /// Audio and artwork an artist may store, in bytes (`MEGABOX_STORAGE_QUOTA_BYTES`).
    pub storage_quota_bytes: u64,
    /// Uploads allowed per artist per hour (`MEGABOX_UPLOADS_PER_HOUR`).
    pub uploads_per_hour: u32,
    /// Uploads one artist may have in flight at once, per server
    /// (`MEGABOX_CONCURRENT_UPLOADS_PER_ARTIST_MAX`).
    pub concurrent_uploads_per_artist_max: u32,
    /// Address-space limit of the analysis child process (`MEGABOX_ANALYSIS_MEMORY_BYTES_MAX`).
    pub analysis_memory_bytes_max: u64,
    /// CPU-time limit of one file's analysis (`MEGABOX_ANALYSIS_CPU_SECONDS_MAX`).
    pub analysis_cpu_seconds_max: u64,
    /// Wall-clock limit of one file's analysis (`MEGABOX_ANALYSIS_WALL_SECONDS_MAX`).
    pub analysis_wall_seconds_max: u64,
    /// The program that analyses uploads in a child process, called as `PROGRAM __analyze FILE`
    /// (`MEGABOX_ANALYZER_PROGRAM`), and likewise `PROGRAM __transcode …` for previews and
    /// downloads; defaults to this `megabox` binary itself.
    pub analyzer_program: Option<PathBuf>,
    /// Checkouts allowed per listener per hour (`MEGABOX_CHECKOUTS_PER_HOUR`).
    pub checkouts_per_hour: u32,
    /// Impression batches accepted per client address per minute (`MEGABOX_IMPRESSION_BATCHES_PER_MINUTE`).
    pub impression_batches_per_minute: u32,
    /// Accepted impressions per device per UTC day (`MEGABOX_IMPRESSIONS_PER_DEVICE_PER_DAY_MAX`).
    pub impressions_per_device_per_day_max: i64,
    /// Accepted impressions per installer account per UTC day (`MEGABOX_IMPRESSIONS_PER_ACCOUNT_PER_DAY_MAX`).
    pub impressions_per_account_per_day_max: i64,
    /// Accepted impressions per client address per UTC day (`MEGABOX_IMPRESSIONS_PER_IP_PER_DAY_MAX`).
    pub impressions_per_ip_per_day_max: i64,
    /// Seconds between two hand-overs to the royalty ledger of ad revenue and credit redemptions
    /// still waiting there (say after a crash between an impression batch and its ledger entry);
    /// safe with several servers (`MEGABOX_ADS_SETTLE_INTERVAL_SECONDS`).
    pub ads_settle_interval_seconds: u64,
    /// Seconds a listener must hear for a play to count (`MEGABOX_PLAY_QUALIFYING_SECONDS`).
    pub play_qualifying_seconds: u64,
    /// Qualifying plays per listener, track and UTC day (`MEGABOX_PLAYS_PER_LISTENER_TRACK_DAY_MAX`).
    pub plays_per_listener_track_day_max: u32,
    /// Play sessions a listener may have open at once; starting one more ends the oldest
    /// (`MEGABOX_OPEN_PLAYS_PER_LISTENER_MAX`).
    pub open_plays_per_listener_max: u32,
    /// The artist's share of a sale's net revenue, in basis points (`MEGABOX_SALE_ARTIST_SHARE_BPS`).
    pub sale_artist_share_bps: i64,
    /// The artists' share of a period's ad revenue, in basis points (`MEGABOX_AD_ARTIST_SHARE_BPS`).
    pub ad_artist_share_bps: i64,
    /// How many plays one credit-redeemed download counts as (`MEGABOX_PLAYS_PER_REDEMPTION`).
    pub plays_per_redemption: u32,
    /// `user_centric` or `pro_rata` allocation of the ad pool (`MEGABOX_AD_ALLOCATION_MODEL`).
    pub ad_allocation_model: royalties::AllocationModel,
    /// The smallest balance paid out, in cents (`MEGABOX_PAYOUT_THRESHOLD_CENTS`).
    pub payout_threshold_cents: i64,
    /// `stripe` or `test` (`MEGABOX_PAYMENTS`). When unset: Stripe if a Stripe key is set, else
    /// test mode only for `serve --demo` or a loopback public URL; anything else refuses to
    /// start, so a public server never takes fake payments by accident.
    pub payments: Option<PaymentsMode>,
    /// Stripe secret key (`MEGABOX_STRIPE_SECRET_KEY`).
    #[serde(skip_serializing)]
    pub stripe_secret_key: Option<SecretString>,
    /// Secret that signs Stripe webhooks (`MEGABOX_STRIPE_WEBHOOK_SECRET`).
    #[serde(skip_serializing)]
    pub stripe_webhook_secret: Option<SecretString>,
    /// Base URL of the Stripe API, for the fake server in tests (`MEGABOX_STRIPE_API_BASE`).
    pub stripe_api_base: Option<String>,
    /// Whether the server runs the demo: set by `megabox serve --demo` alone, never by a file or
    /// the environment; `GET /api/v1/demo` then lists the demo accounts.
    #[serde(skip)]
    pub demo: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./megabox-data"),
            database_url: None,
            database_pool_size: 8,
            redis_url: None,
            redis_key_prefix: "megabox".to_owned(),
            public_url: None,
            trusted_proxies: None,
            metrics_token: None,
            metrics_bind: None,
            frontend_dir: PathBuf::from("frontend/dist"),
            log_format: LogFormat::Pretty,
            jwt_issuer: "megabox".to_owned(),
            jwt_audience: "megabox-api".to_owned(),
            jwt_keys: None,
            url_signing_keys: None,
            access_token_ttl_seconds: 15 * 60,
            refresh_token_ttl_seconds: 30 * 24 * 60 * 60,
            login_attempts_per_minute: 10,
            registrations_per_hour: 20,
            upload_bytes_max: 1024 * 1024 * 1024,
            storage_quota_bytes: 20 * 1024 * 1024 * 1024,
            uploads_per_hour: 600,
            concurrent_uploads_per_artist_max: 4,
            analysis_memory_bytes_max: catalog::sandbox::ADDRESS_SPACE_BYTES_DEFAULT,
            analysis_cpu_seconds_max: catalog::sandbox::CPU_SECONDS_DEFAULT,
            analysis_wall_seconds_max: catalog::sandbox::WALL_CLOCK_SECONDS_DEFAULT,
            analyzer_program: None,
            checkouts_per_hour: 120,
            impression_batches_per_minute: 600,
            impressions_per_device_per_day_max: megabox_ads::AdsSettings::default()
                .impressions_per_device_per_day_max,
            impressions_per_account_per_day_max: megabox_ads::AdsSettings::default()
                .impressions_per_account_per_day_max,
            impressions_per_ip_per_day_max: megabox_ads::AdsSettings::default()
                .impressions_per_ip_per_day_max,
            ads_settle_interval_seconds: 60,
            play_qualifying_seconds: 30,
            plays_per_listener_track_day_max: 3,
            open_plays_per_listener_max: 1,
            sale_artist_share_bps: 9000,
            ad_artist_share_bps: 9000,
            plays_per_redemption: 10,
            ad_allocation_model: royalties::AllocationModel::UserCentric,
            payout_threshold_cents: 1000,
            payments: None,
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            stripe_api_base: None,
            demo: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigurationError(String);

/// `MEGABOX_*` variables that belong to other programs or to a command rather than to the
/// server's settings: the agent's (`MEGABOX_AGENT_*`), the tests' and scripts'
/// (`MEGABOX_TEST_*`, `MEGABOX_BIN`), the config file's name and the admin password. Any other
/// unknown `MEGABOX_*` variable is an error, so a mistyped setting is never silently ignored.
fn is_server_setting(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    !(key.starts_with("agent_")
        || key.starts_with("test_")
        || ["bin", "config", "admin_password"].contains(&key.as_str()))
}

impl Settings {
    /// Defaults, then the file named by `MEGABOX_CONFIG` (if set), then the environment.
    pub fn load() -> Result<Settings, ConfigurationError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Ok(path) = std::env::var("MEGABOX_CONFIG") {
            if !std::path::Path::new(&path).is_file() {
                return Err(ConfigurationError(format!(
                    "MEGABOX_CONFIG names {path}, which is not a file"
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment
            .merge(Env::prefixed("MEGABOX_").filter(|key| is_server_setting(key.as_str())))
            .merge(Env::raw().only(&["database_url", "redis_url"]));
        let settings: Settings = figment
            .extract()
            .map_err(|error| ConfigurationError(error.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigurationError> {
        if self.database_pool_size == 0 {
            return Err(ConfigurationError(
                "database_pool_size must be at least 1".to_owned(),
            ));
        }
        if self.access_token_ttl_seconds == 0 || self.refresh_token_ttl_seconds == 0 {
            return Err(ConfigurationError(
                "token lifetimes must be positive".to_owned(),
            ));
        }
        if self.login_attempts_per_minute == 0
            || self.registrations_per_hour == 0
            || self.uploads_per_hour == 0
            || self.concurrent_uploads_per_artist_max == 0
            || self.checkouts_per_hour == 0
            || self.impression_batches_per_minute == 0
        {
            return Err(ConfigurationError(
                "rate limits must allow at least one request".to_owned(),
            ));
        }
        if self.impressions_per_device_per_day_max < 0
            || self.impressions_per_account_per_day_max < 0
            || self.impressions_per_ip_per_day_max < 0
        {
            return Err(ConfigurationError(
                "impression caps cannot be negative".to_owned(),
            ));
        }
        if self.ads_settle_interval_seconds == 0 {
            return Err(ConfigurationError(
                "ads_settle_interval_seconds must be at least 1".to_owned(),
            ));
        }
        self.royalty_settings()?;
        self.trusted_proxies()?;
        if let Some(keys) = &self.url_signing_keys {
            crate::signing::parse_keys(keys.expose_secret())
                .map_err(|error| ConfigurationError(error.to_string()))?;
        }
        if self
            .metrics_token
            .as_ref()
            .is_some_and(|token| token.expose_secret().len() < crate::files::SECRET_KEY_BYTES_MIN)
        {
            return Err(ConfigurationError(format!(
                "metrics_token must be at least {} bytes",
                crate::files::SECRET_KEY_BYTES_MIN
            )));
        }
        if self.payout_threshold_cents <= 0 {
            return Err(ConfigurationError(
                "payout_threshold_cents must be positive".to_owned(),
            ));
        }
        Ok(())
    }

    /// The ads rules, with the impression caps set here.
    pub fn ads_settings(&self) -> megabox_ads::AdsSettings {
        megabox_ads::AdsSettings {
            impressions_per_device_per_day_max: self.impressions_per_device_per_day_max,
            impressions_per_account_per_day_max: self.impressions_per_account_per_day_max,
            impressions_per_ip_per_day_max: self.impressions_per_ip_per_day_max,
            ..megabox_ads::AdsSettings::default()
        }
    }

    /// The shares and weights of the royalty engine.
    pub fn royalty_settings(&self) -> Result<royalties::RoyaltySettings, ConfigurationError> {
        let share = |name: &str, value: i64| {
            megabox_domain::BasisPoints::new(value)
                .map_err(|error| ConfigurationError(format!("{name}: {error}")))
        };
        if self.plays_per_redemption == 0 {
            return Err(ConfigurationError(
                "plays_per_redemption must be at least 1".to_owned(),
            ));
        }
        Ok(royalties::RoyaltySettings {
            sale_artist_share: share("sale_artist_share_bps", self.sale_artist_share_bps)?,
            ad_artist_share: share("ad_artist_share_bps", self.ad_artist_share_bps)?,
            plays_per_redemption: self.plays_per_redemption,
        })
    }

    /// The parsed [`Settings::trusted_proxies`].
    pub fn trusted_proxies(&self) -> Result<TrustedProxies, ConfigurationError> {
        TrustedProxies::parse(self.trusted_proxies.as_deref().unwrap_or(""))
            .map_err(|error| ConfigurationError(format!("trusted_proxies: {error}")))
    }

    /// The payment gateway to run, or why none may run (see [`Settings::payments`]).
    pub fn payments_mode(&self) -> Result<PaymentsMode, ConfigurationError> {
        let has_key = self.stripe_secret_key.is_some();
        match (self.payments, has_key) {
            (Some(PaymentsMode::Stripe), true) | (None, true) => Ok(PaymentsMode::Stripe),
            (Some(PaymentsMode::Stripe), false) => Err(ConfigurationError(
                "MEGABOX_PAYMENTS=stripe needs MEGABOX_STRIPE_SECRET_KEY (and MEGABOX_STRIPE_WEBHOOK_SECRET)"
                    .to_owned(),
            )),
            (Some(PaymentsMode::Test), true) => Err(ConfigurationError(
                "MEGABOX_PAYMENTS=test but MEGABOX_STRIPE_SECRET_KEY is set: unset one of them"
                    .to_owned(),
            )),
            (Some(PaymentsMode::Test), false) => Ok(PaymentsMode::Test),
            (None, false) if self.public_url_is_loopback() => Ok(PaymentsMode::Test),
            (None, false) => Err(ConfigurationError(format!(
                "no MEGABOX_STRIPE_SECRET_KEY and the public URL {} is not a loopback address: \
                 set the Stripe key (and MEGABOX_STRIPE_WEBHOOK_SECRET), or choose the test-mode \
                 gateway, where no money moves and anyone can pay for any order, with \
                 MEGABOX_PAYMENTS=test",
                self.effective_public_url()
            ))),
        }
    }

    /// `public_url`, or `http://{bind}` without it.
    pub fn effective_public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", self.bind),
        }
    }

    /// Whether users reach this server only from this machine (`localhost`, `127.0.0.0/8`, `[::1]`).
    fn public_url_is_loopback(&self) -> bool {
        match url::Url::parse(&self.effective_public_url()) {
            Ok(url) => match url.host() {
                Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(address)) => address.is_loopback(),
                Some(url::Host::Ipv6(address)) => address.is_loopback(),
                None => false,
            },
            Err(_) => false,
        }
    }

    /// The database to use: `database_url`, or the embedded SQLite file under `data_dir`.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => self.data_dir.join("megabox.sqlite3").display().to_string(),
        }
    }

    pub fn media_dir(&self) -> PathBuf {
        self.data_dir.join("media")
    }

    /// Where transcodes and release archives are made before they are stored or served.
    pub fn work_dir(&self) -> PathBuf {
        self.data_dir.join("work")
    }

    /// Where uploads are received before analysis; on the same disk as the media, so that a
    /// full disk shows up while receiving, before anything is recorded.
    pub fn upload_dir(&self) -> PathBuf {
        self.data_dir.join("uploads")
    }
}

#[cfg(test)]
mod tests {
    use super::{PaymentsMode, Settings, is_server_setting};

    #[test]
    fn test_mode_payments_only_when_chosen_or_on_a_loopback_url() {
        let stripe = Some("sk_live_x");
        let chosen_test = Some(PaymentsMode::Test);
        let chosen_stripe = Some(PaymentsMode::Stripe);
        /// Chosen mode, Stripe key, public URL, bind → the mode, or `None` for a refusal.
        type Case<'a> = (
            Option<PaymentsMode>,
            Option<&'a str>,
            Option<&'a str>,
            &'a str,
            Option<PaymentsMode>,
        );
        let cases: &[Case<'_>] = &[
            (None, None, None, "127.0.0.1:8080", Some(PaymentsMode::Test)),
            (None, None, None, "[::1]:8080", Some(PaymentsMode::Test)),
            (None, None, None, "localhost:8080", Some(PaymentsMode::Test)),
            (
                None,
                None,
                Some("http://127.0.0.2:9000/"),
                "0.0.0.0:80",
                Some(PaymentsMode::Test),
            ),
            (None, None, None, "0.0.0.0:8080", None),
            (
                None,
                None,
                Some("https://music.example.com"),
                "127.0.0.1:8080",
                None,
            ),
            (
                None,
                None,
                Some("https://localhost.example.com"),
                "127.0.0.1:8080",
                None,
            ),
            (None, None, Some("not a url"), "127.0.0.1:8080", None),
            (
                chosen_test,
                None,
                Some("https://music.example.com"),
                "0.0.0.0:80",
                Some(PaymentsMode::Test),
            ),
            (chosen_test, stripe, None, "127.0.0.1:8080", None),
            (
                None,
                stripe,
                Some("https://music.example.com"),
                "0.0.0.0:80",
                Some(PaymentsMode::Stripe),
            ),
            (
                chosen_stripe,
                stripe,
                None,
                "127.0.0.1:8080",
                Some(PaymentsMode::Stripe),
            ),
            (chosen_stripe, None, None, "127.0.0.1:8080", None),
        ];
        for &(payments, key, public_url, bind, expected) in cases {
            let settings = Settings {
                payments,
                stripe_secret_key: key.map(|key| key.to_owned().into()),
                public_url: public_url.map(str::to_owned),
                bind: bind.to_owned(),
                ..Settings::default()
            };
            let outcome = settings.payments_mode();
            assert_eq!(
                outcome.as_ref().ok().copied(),
                expected,
                "{payments:?} {key:?} {public_url:?} {bind}: {outcome:?}"
            );
        }
        let refused = Settings {
            public_url: Some("https://music.example.com".to_owned()),
            ..Settings::default()
        }
        .payments_mode()
        .expect_err("a public URL without a key is refused");
        assert!(
            refused.to_string().contains("MEGABOX_PAYMENTS=test"),
            "the refusal says how to choose test mode: {refused}"
        );
    }

    #[test]
    fn other_programs_variables_are_not_settings() {
        for key in ["bind", "data_dir", "stripe_secret_key", "bnid"] {
            assert!(
                is_server_setting(key),
                "{key} is read (and a typo like `bnid` is refused)"
            );
        }
        for key in [
            "agent_dir",
            "AGENT_BIND",
            "test_postgres_url",
            "BIN",
            "config",
            "admin_password",
        ] {
            assert!(!is_server_setting(key), "{key} belongs to something else");
        }
    }

    #[test]
    fn impression_caps_reach_the_ads_rules_and_cannot_be_negative() {
        let defaults = megabox_ads::AdsSettings::default();
        let settings = Settings {
            impressions_per_device_per_day_max: 7,
            impressions_per_account_per_day_max: 8,
            impressions_per_ip_per_day_max: 9,
            ..Settings::default()
        };
        let ads = settings.ads_settings();
        assert_eq!(
            (
                ads.impressions_per_device_per_day_max,
                ads.impressions_per_account_per_day_max,
                ads.impressions_per_ip_per_day_max
            ),
            (7, 8, 9)
        );
        assert_eq!(
            ads.event_age_max, defaults.event_age_max,
            "the other rules keep their defaults"
        );
        assert!(Settings::default().validate().is_ok());
        for negative in [
            Settings {
                impressions_per_device_per_day_max: -1,
                ..Settings::default()
            },
            Settings {
                impressions_per_account_per_day_max: -1,
                ..Settings::default()
            },
            Settings {
                impressions_per_ip_per_day_max: -1,
                ..Settings::default()
            },
        ] {
            assert!(negative.validate().is_err());
        }
    }
}
