//! What every request handler can reach: settings, the database pool, token keys, the rate
//! limiter, Redis and the metrics registry. Built once by `startup`.

use megabox_database::{DbConnection, DbPool};

use crate::auth::tokens::TokenKeys;
use crate::configuration::Settings;
use crate::error::ApiError;
use crate::rate_limit::{Limit, RateLimiter};
use crate::telemetry::Metrics;

/// The named limits the handlers apply, derived from settings.
pub struct Limits {
    /// Login attempts per (email, client address).
    pub login_pair: Limit,
    /// Login attempts per client address, across emails.
    pub login_address: Limit,
    /// Login attempts per email from addresses that never signed in to it.
    pub login_email: Limit,
    pub register: Limit,
    pub upload: Limit,
    pub checkout: Limit,
    pub pairing: Limit,
    pub impressions: Limit,
}

pub struct AppState {
    pub settings: Settings,
    pub pool: DbPool,
    pub token_keys: TokenKeys,
    pub rate_limiter: RateLimiter,
    pub limits: Limits,
    pub redis: Option<redis::aio::ConnectionManager>,
    pub metrics: Metrics,
    pub blobs: std::sync::Arc<catalog::storage::LocalBlobStore>,
    pub analysis_sandbox: catalog::sandbox::AnalysisSandbox,
    pub transcode_sandbox: catalog::transcode::TranscodeSandbox,
    pub link_signer: crate::signing::LinkSigner,
    pub payments: megabox_payments::Payments,
    pub ads_settings: megabox_ads::AdsSettings,
    /// Fast duplicate check in front of the database's unique constraint (Redis, when configured).
    pub impression_deduper: Option<std::sync::Arc<megabox_ads::RedisDeduper>>,
    /// Uploads being received, per artist (quota and concurrency while bytes arrive).
    pub uploads_in_flight: std::sync::Arc<crate::uploads::UploadsInFlight>,
    /// Recent full-stream grants, so a player's Range requests skip the database.
    pub stream_grants: crate::storefront::entitlements::StreamGrants,
}

/// A connection from the pool, or 503 when none comes within the pool's timeout.
pub fn pooled_connection(pool: &DbPool) -> Result<megabox_database::PooledDbConnection, ApiError> {
    pool.get()
        .map_err(|error| ApiError::unavailable(format!("database unavailable: {error}")))
}

impl AppState {
    /// Runs blocking database work on the blocking thread pool with a pooled connection.
    pub async fn database<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut connection = pooled_connection(&pool)?;
            work(&mut connection)
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// Like [`AppState::database`], inside a write transaction.
    pub async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.database(move |connection| megabox_database::write_transaction(connection, work))
            .await
    }

    /// Counts a request against `limit`; 429 with `Retry-After` when over.
    pub async fn rate_limit(&self, limit: &Limit, key: &str) -> Result<(), ApiError> {
        self.rate_limiter
            .check(limit, key)
            .await
            .map_err(|retry_after| ApiError::too_many_requests(retry_after.0))
    }
}
