//! Logs and metrics: structured `tracing` logs (pretty or JSON) with a request id on every
//! request, one access-log line per request (client address as `client_address.rs` decides,
//! secrets in the query string redacted), and Prometheus counters and histograms of HTTP traffic.

use std::borrow::Cow;
use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

use crate::configuration::LogFormat;

/// Installs the global log subscriber; `RUST_LOG` overrides the default level.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests start many servers in one process) is harmless.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

pub struct Metrics {
    pub registry: Registry,
    http_requests_total: IntCounterVec,
    http_request_duration_seconds: HistogramVec,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("megabox".to_owned()), None)?;
        let http_requests_total = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route and status",
            ),
            &["method", "route", "status"],
        )?;
        let http_request_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method and route",
            ),
            &["method", "route"],
        )?;
        registry.register(Box::new(http_requests_total.clone()))?;
        registry.register(Box::new(http_request_duration_seconds.clone()))?;
        Ok(Metrics {
            registry,
            http_requests_total,
            http_request_duration_seconds,
        })
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http_requests_total
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.http_request_duration_seconds
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// The registry in Prometheus text format.
    pub fn render(&self) -> String {
        prometheus::TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }
}

/// Records a finished request. The route label is the matched pattern (`/api/v1/tracks/{id}`),
/// never the raw path, so label cardinality stays bounded.
pub fn record_request<B>(
    metrics: &Metrics,
    method: &str,
    route: Option<String>,
    response: &ServiceResponse<B>,
    seconds: f64,
) {
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    metrics.observe(method, &route, response.status().as_u16(), seconds);
}

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request id that `tracing-actix-web` put on this request's span, for the response header.
pub fn request_id(request: &ServiceRequest) -> Option<HeaderValue> {
    request
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .and_then(|id| HeaderValue::from_str(&id.to_string()).ok())
}

/// Query parameters whose names contain one of these (case-insensitively) are logged as
/// [`REDACTED`]: link signatures (`sig`), tokens, keys, secrets, passwords.
const SECRET_QUERY_NAME_PARTS: [&str; 6] = ["sig", "token", "key", "secret", "password", "auth"];

/// What a secret query value is logged as.
pub const REDACTED: &str = "REDACTED";

/// The request's path and query for the log: every secret query value replaced by [`REDACTED`].
pub fn redacted_target(path_and_query: &str) -> Cow<'_, str> {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return Cow::Borrowed(path_and_query);
    };
    let is_secret = |name: &str| {
        let name = name.to_ascii_lowercase();
        SECRET_QUERY_NAME_PARTS
            .iter()
            .any(|part| name.contains(part))
    };
    if !query
        .split('&')
        .any(|pair| is_secret(pair.split_once('=').map_or(pair, |(name, _)| name)))
    {
        return Cow::Borrowed(path_and_query);
    }
    let query: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret(name) => Cow::Owned(format!("{name}={REDACTED}")),
            _ => Cow::Borrowed(pair),
        })
        .collect();
    Cow::Owned(format!("{path}?{}", query.join("&")))
}

/// When the access log saw the request start.
struct RequestStarted(Instant);

/// The request span and the access log: every log line of a request carries its method, route,
/// redacted target, client address and request id, and one `request served` line per request
/// adds its status and duration.
pub struct AccessLog;

impl RootSpanBuilder for AccessLog {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request
            .extensions_mut()
            .insert(RequestStarted(Instant::now()));
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let user_agent = request
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let target = request
            .uri()
            .path_and_query()
            .map_or("", |path_and_query| path_and_query.as_str());
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().unwrap_or_else(|| "unmatched".to_owned()),
            http.target = %redacted_target(target),
            http.client_ip = %crate::client_address::of(request.request()),
            http.user_agent = %user_agent,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let (status, duration_ms) = match outcome {
            Ok(response) => (
                response.status().as_u16(),
                response
                    .request()
                    .extensions()
                    .get::<RequestStarted>()
                    .map(|started| {
                        u64::try_from(started.0.elapsed().as_millis()).unwrap_or(u64::MAX)
                    }),
            ),
            Err(error) => (error.as_response_error().status_code().as_u16(), None),
        };
        span.in_scope(|| tracing::info!(http.status_code = status, duration_ms, "request served"));
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_target;

    #[test]
    fn secrets_in_query_strings_are_redacted() {
        for (target, logged) in [
            ("/api/v1/tracks", "/api/v1/tracks"),
            ("/search?q=love&page=2", "/search?q=love&page=2"),
            (
                "/api/v1/streams/abc?expires=1700000000&sig=deadbeef",
                "/api/v1/streams/abc?expires=1700000000&sig=REDACTED",
            ),
            (
                "/x?token=t&access_token=a&refresh_token=r&key=k&api_key=z&Signature=s&client_secret=c&password=p",
                "/x?token=REDACTED&access_token=REDACTED&refresh_token=REDACTED&key=REDACTED&api_key=REDACTED&Signature=REDACTED&client_secret=REDACTED&password=REDACTED",
            ),
            ("/x?sig", "/x?sig"),
            ("/x?a=1&&sig=2", "/x?a=1&&sig=REDACTED"),
        ] {
            assert_eq!(redacted_target(target), logged, "{target}");
        }
    }
}
