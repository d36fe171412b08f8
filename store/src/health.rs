//! Liveness, readiness and metrics for operators and load balancers; metrics only with their
//! token or on a listener of their own.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use diesel::RunQueryDsl;
use secrecy::ExposeSecret;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub database: &'static str,
    /// `ok`, `unreachable`, or `not_configured`.
    pub redis: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// The database and (when configured) Redis answer.
#[utoipa::path(tag = "operations", responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database_ok = state
        .database(|connection| {
            diesel::sql_query("SELECT 1")
                .execute(connection)
                .map_err(ApiError::from)
        })
        .await
        .is_ok();
    let redis = match &state.redis {
        None => "not_configured",
        Some(connection) => {
            let mut connection = connection.clone();
            let ping = tokio::time::timeout(
                std::time::Duration::from_secs(2),
                redis::cmd("PING").query_async::<String>(&mut connection),
            )
            .await;
            if matches!(ping, Ok(Ok(_))) {
                "ok"
            } else {
                "unreachable"
            }
        }
    };
    let ready = database_ok && redis != "unreachable";
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        database: if database_ok { "ok" } else { "unreachable" },
        redis,
    };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus metrics in text format, only with `MEGABOX_METRICS_TOKEN` as a bearer token; not
/// served here at all without that setting or when `MEGABOX_METRICS_BIND` gives them a listener
/// of their own.
#[utoipa::path(
    tag = "operations",
    security(("metrics_token" = [])),
    responses(
        (status = 200, content_type = "text/plain", body = String),
        (status = 401, description = "no or the wrong metrics token", body = crate::error::ErrorBody),
        (status = 404, description = "metrics are not served on this listener", body = crate::error::ErrorBody),
    )
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let settings = &state.settings;
    if settings.metrics_bind.is_some() || settings.metrics_token.is_none() {
        return Err(ApiError::not_found("no such route"));
    }
    render_metrics(&state, &request)
}

/// `/metrics` on the listener of its own (`MEGABOX_METRICS_BIND`).
pub async fn metrics_on_own_listener(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    render_metrics(&state, &request)
}

/// The metrics, when the request carries the metrics token (if one is configured).
fn render_metrics(state: &AppState, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.settings.metrics_token {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or("");
        // Digests have one length whatever was sent, and are compared in constant time.
        let matches: bool = Sha256::digest(presented.as_bytes())
            .ct_eq(&Sha256::digest(token.expose_secret().as_bytes()))
            .into();
        if !matches {
            return Err(ApiError::unauthorized(
                "invalid_metrics_token",
                "metrics need the metrics token as a bearer token",
            ));
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render()))
}
