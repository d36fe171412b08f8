//! Builds the application from settings; `main` and the tests both start the server through
//! [`Application::build`], so tests exercise exactly what production runs.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, Service};
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use futures_util::FutureExt;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::tokens::TokenKeys;
use crate::configuration::{PaymentsMode, Settings};
use crate::error::{self, ApiError};
use crate::rate_limit::{Limit, RateLimiter};
use crate::state::{AppState, Limits};
use crate::telemetry::{self, Metrics};
use crate::{frontend, health, openapi, routes};

/// JSON request bodies larger than this are refused (uploads are multipart, not JSON).
const JSON_BODY_BYTES_MAX: usize = 64 * 1024;
/// In-flight requests get this long to finish after SIGTERM.
const SHUTDOWN_GRACE_SECONDS: u64 = 30;
const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pairing codes are short; this bounds guessing from one address.
const PAIRING_ATTEMPTS_PER_HOUR_PER_ADDRESS: u32 = 30;
/// One client address may try this many times the per-(email, address) login budget, across
/// emails (a NAT or an office shares an address).
const LOGIN_ADDRESS_BUDGET_FACTOR: u32 = 5;
/// Per email, from addresses that never signed in to it: this many times the per-minute
/// login budget per hour. Slow enough that guessing across many addresses gets nowhere.
const LOGIN_EMAIL_BUDGET_PER_HOUR_FACTOR: u32 = 5;

pub struct Application {
    port: u16,
    server: Server,
    /// The listener of its own that serves `/metrics` (`MEGABOX_METRICS_BIND`), and its port.
    metrics_server: Option<(Server, u16)>,
    settlement: Settlement,
}

/// The periodic [`megabox_ads::settle_royalties`]: ad revenue and credit redemptions that did not
/// reach the royalty ledger with their own transaction (a crash or a refusal in between) get
/// there within one interval, without a restart. Every server of a deployment runs it; a row is
/// claimed and recorded in one transaction, so they never record one twice.
struct Settlement {
    pool: megabox_database::DbPool,
    royalty_settings: royalties::RoyaltySettings,
    interval: Duration,
}

impl Settlement {
    /// Settles every interval until `stopped` fires; a round in progress is finished first.
    async fn run(self, mut stopped: tokio::sync::watch::Receiver<()>) {
        let mut ticks =
            tokio::time::interval_at(tokio::time::Instant::now() + self.interval, self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stopped.changed() => return,
            }
            match self.round().await {
                Ok(report) if report.revenue_recorded + report.redemptions_recorded > 0 => {
                    tracing::info!(
                        revenue = report.revenue_recorded,
                        redemptions = report.redemptions_recorded,
                        "waiting ad revenue and redemptions handed to royalties"
                    );
                }
                Ok(_) => {}
                // Nothing is lost: the rows wait for the next round.
                Err(error) => {
                    tracing::warn!(error = %error, "settling ad revenue with royalties failed; retrying next interval")
                }
            }
        }
    }

    /// One settlement, on the blocking pool.
    async fn round(&self) -> anyhow::Result<megabox_ads::SettleReport> {
        let (pool, settings) = (self.pool.clone(), self.royalty_settings);
        tokio::task::spawn_blocking(move || -> anyhow::Result<megabox_ads::SettleReport> {
            Ok(megabox_ads::settle_royalties(
                &mut *pool.get()?,
                chrono::Utc::now().naive_utc(),
                &settings,
            )?)
        })
        .await?
    }
}

/// Everything served, in one place: health, metrics and the API under `/api/v1`.
fn routes(config: &mut ServiceConfig) {
    config
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(crate::test_checkout::show)
        .service(crate::test_checkout::complete)
        .service(
            utoipa_actix_web::scope("/api/v1")
                .route("/openapi.json", web::get().to(serve_openapi))
                .configure(routes::api)
                .default_service(web::to(|| async {
                    Err::<HttpResponse, _>(ApiError::not_found("no such route"))
                })),
        );
}

/// The OpenAPI document of everything [`routes`] serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDocument::openapi())
        .configure(routes)
        .split_for_parts();
    openapi::add_common_statuses(&mut document);
    document
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        // Before anything is opened: a public server must not start taking fake payments.
        let payments_mode = settings.payments_mode()?;
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                settings.data_dir.display()
            )
        })?;
        let database_url = settings.effective_database_url();
        let pool_size = settings.database_pool_size;
        let pool = tokio::task::spawn_blocking(move || {
            megabox_database::connect(&database_url, pool_size)
        })
        .await
        .context("database start-up panicked")??;
        let redis = match &settings.redis_url {
            Some(url) => Some(connect_redis(url).await?),
            None => None,
        };
        let token_keys = TokenKeys::load(
            settings.jwt_keys.as_ref(),
            &settings.data_dir,
            settings.jwt_issuer.clone(),
            settings.jwt_audience.clone(),
            settings.access_token_ttl_seconds,
        )?;
        let limits = Limits {
            login_pair: Limit {
                name: "login_pair",
                requests: settings.login_attempts_per_minute,
                window: Duration::from_secs(60),
            },
            login_address: Limit {
                name: "login_address",
                requests: settings
                    .login_attempts_per_minute
                    .saturating_mul(LOGIN_ADDRESS_BUDGET_FACTOR),
                window: Duration::from_secs(60),
            },
            login_email: Limit {
                name: "login_email",
                requests: settings
                    .login_attempts_per_minute
                    .saturating_mul(LOGIN_EMAIL_BUDGET_PER_HOUR_FACTOR),
                window: Duration::from_secs(3600),
            },
            register: Limit {
                name: "register",
                requests: settings.registrations_per_hour,
                window: Duration::from_secs(3600),
            },
            upload: Limit {
                name: "upload",
                requests: settings.uploads_per_hour,
                window: Duration::from_secs(3600),
            },
            checkout: Limit {
                name: "checkout",
                requests: settings.checkouts_per_hour,
                window: Duration::from_secs(3600),
            },
            pairing: Limit {
                name: "pairing",
                requests: PAIRING_ATTEMPTS_PER_HOUR_PER_ADDRESS,
                window: Duration::from_secs(3600),
            },
            impressions: Limit {
                name: "impressions",
                requests: settings.impression_batches_per_minute,
                window: Duration::from_secs(60),
            },
        };
        let rate_limiter = RateLimiter::new(
            &[
                limits.login_pair,
                limits.login_address,
                limits.login_email,
                limits.register,
                limits.upload,
                limits.checkout,
                limits.pairing,
                limits.impressions,
            ],
            redis
                .clone()
                .map(|connection| (connection, settings.redis_key_prefix.clone())),
        );
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let backend = megabox_database::Backend::of_url(&settings.effective_database_url());
        tracing::info!(
            address = %listener.local_addr()?,
            database = ?backend,
            redis = settings.redis_url.is_some(),
            payments = ?payments_mode,
            "megabox listening"
        );
        let blobs = std::sync::Arc::new(
            catalog::storage::LocalBlobStore::open(settings.media_dir())
                .context("cannot open the media directory")?,
        );
        let analysis_sandbox = crate::children::analysis_sandbox(&settings)?;
        let transcode_sandbox = crate::children::transcode_sandbox(&settings)?;
        let link_signer = crate::signing::LinkSigner::load(
            settings.url_signing_keys.as_ref(),
            &settings.data_dir,
        )
        .context("cannot create the link signing key")?;
        let payments = payments(&settings, &pool, &format!("http://127.0.0.1:{port}"))?;
        let ads_settings = settings.ads_settings();
        let impression_deduper = match &settings.redis_url {
            Some(url) => {
                let url = url.clone();
                let age = ads_settings.event_age_max;
                let deduper = tokio::task::spawn_blocking(move || {
                    megabox_ads::RedisDeduper::connect(&url, age)
                })
                .await?;
                match deduper {
                    Ok(deduper) => Some(std::sync::Arc::new(deduper)),
                    Err(error) => {
                        tracing::warn!(error = %error, "impression dedupe runs on the database alone: Redis unreachable");
                        None
                    }
                }
            }
            None => None,
        };
        // Ad revenue or redemptions a crash left between the ads tables and the ledger; later
        // ones are settled periodically while the server runs.
        let settlement = Settlement {
            pool: pool.clone(),
            royalty_settings: settings.royalty_settings()?,
            interval: Duration::from_secs(settings.ads_settle_interval_seconds),
        };
        settlement.round().await?;
        let state = web::Data::new(AppState {
            settings,
            pool,
            token_keys,
            rate_limiter,
            limits,
            redis,
            metrics: Metrics::new()?,
            blobs,
            analysis_sandbox,
            transcode_sandbox,
            link_signer,
            payments,
            ads_settings,
            impression_deduper,
            uploads_in_flight: Default::default(),
            stream_grants: Default::default(),
        });
        let trusted_proxies = state.settings.trusted_proxies()?;
        let https = state
            .settings
            .effective_public_url()
            .to_ascii_lowercase()
            .starts_with("https://");
        let document = web::Data::new(openapi_document());
        let frontend_dir = state.settings.frontend_dir.clone();
        if !frontend::is_built(&frontend_dir) {
            tracing::warn!(frontend.dir = %frontend_dir.display(), "the web app is not built; serving the API only");
        }
        let metrics_server = match &state.settings.metrics_bind {
            Some(address) => Some(metrics_server(address, state.clone())?),
            None => None,
        };
        if metrics_server.is_none() && state.settings.metrics_token.is_none() {
            tracing::info!(
                "/metrics is not served: set MEGABOX_METRICS_TOKEN or MEGABOX_METRICS_BIND"
            );
        }
        let server = HttpServer::new(move || {
            let (app, _) = App::new()
                .into_utoipa_app()
                .app_data(state.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(JSON_BODY_BYTES_MAX)
                        .error_handler(error::json_error),
                )
                .app_data(web::QueryConfig::default().error_handler(error::query_error))
                .app_data(web::FormConfig::default().error_handler(error::form_error))
                .app_data(web::PathConfig::default().error_handler(error::path_error))
                .configure(routes)
                .split_for_parts();
            app.app_data(document.clone())
                .app_data(trusted_proxies.clone())
                .configure(|config| frontend::configure(config, &frontend_dir))
                .wrap(security_headers(https))
                .wrap_fn(|request, service| {
                    let started = Instant::now();
                    let state = request.app_data::<web::Data<AppState>>().cloned();
                    let method = request.method().to_string();
                    let route = request.match_pattern();
                    let request_id = telemetry::request_id(&request);
                    service.call(request).map(move |result| {
                        result.map(|mut response| {
                            if let Some(state) = state {
                                telemetry::record_request(
                                    &state.metrics,
                                    &method,
                                    route,
                                    &response,
                                    started.elapsed().as_secs_f64(),
                                );
                            }
                            if let Some(id) = request_id {
                                response
                                    .headers_mut()
                                    .insert(telemetry::REQUEST_ID_HEADER, id);
                            }
                            response
                        })
                    })
                })
                .wrap(tracing_actix_web::TracingLogger::<telemetry::AccessLog>::new())
        })
        .listen(listener)?
        .shutdown_timeout(SHUTDOWN_GRACE_SECONDS)
        .run();
        Ok(Application {
            port,
            server,
            metrics_server,
            settlement,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics listener, when `MEGABOX_METRICS_BIND` gives metrics one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(_, port)| *port)
    }

    /// Serves (and settles periodically) until SIGINT or SIGTERM, then lets in-flight requests
    /// and a settlement round in progress finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(());
        let settling = tokio::spawn(self.settlement.run(stopped));
        let served = match self.metrics_server {
            // Both servers stop on the same signal.
            Some((metrics_server, _)) => tokio::try_join!(self.server, metrics_server).map(|_| ()),
            None => self.server.await,
        };
        drop(stop);
        if let Err(error) = settling.await {
            tracing::error!(error = %error, "the settlement task failed");
        }
        served
    }
}

/// The web app's Content-Security-Policy: scripts, styles and everything else from this origin
/// only, nothing inline, no plugins, no framing, forms only to this origin. A page that needs
/// something else sets its own (the test checkout allows its one inline style by hash).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// HSTS when the public URL is https: a year, this host only (other subdomains are the
/// operator's to decide).
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Headers on every response that does not set its own.
fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY));
    if https {
        headers.add(("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY))
    } else {
        headers
    }
}

/// The listener of its own that serves only `/metrics` (`MEGABOX_METRICS_BIND`).
fn metrics_server(address: &str, state: web::Data<AppState>) -> anyhow::Result<(Server, u16)> {
    let listener = TcpListener::bind(address)
        .with_context(|| format!("cannot listen for metrics on {address}"))?;
    let port = listener.local_addr()?.port();
    tracing::info!(address = %listener.local_addr()?, "metrics listening");
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(health::metrics_on_own_listener))
    })
    .workers(1)
    .listen(listener)?
    .shutdown_timeout(SHUTDOWN_GRACE_SECONDS)
    .run();
    Ok((server, port))
}

/// The payment gateway the settings choose ([`Settings::payments_mode`]).
pub fn payments(
    settings: &Settings,
    pool: &megabox_database::DbPool,
    default_public_url: &str,
) -> anyhow::Result<megabox_payments::Payments> {
    let stripe_secret_key = match settings.payments_mode()? {
        PaymentsMode::Stripe => settings.stripe_secret_key.clone(),
        PaymentsMode::Test => None,
    };
    Ok(megabox_payments::Payments::new(
        pool.clone(),
        megabox_payments::PaymentSettings {
            stripe_secret_key,
            stripe_webhook_secret: settings.stripe_webhook_secret.clone(),
            stripe_api_base: settings.stripe_api_base.clone(),
            public_url: settings
                .public_url
                .clone()
                .unwrap_or_else(|| default_public_url.to_owned()),
            royalty_settings: settings.royalty_settings()?,
        },
    )?)
}

async fn serve_openapi(document: web::Data<utoipa::openapi::OpenApi>) -> HttpResponse {
    HttpResponse::Ok().json(document.get_ref())
}

async fn connect_redis(url: &str) -> anyhow::Result<redis::aio::ConnectionManager> {
    let client = redis::Client::open(url).context("invalid REDIS_URL")?;
    tokio::time::timeout(REDIS_CONNECT_TIMEOUT, client.get_connection_manager())
        .await
        .context("timed out connecting to Redis")?
        .context("cannot connect to Redis")
}
