//! Logs and metrics: structured `tracing` logs (pretty or JSON) with a request id on every
//! request, and Prometheus counters and histograms of HTTP traffic.

use actix_web::HttpMessage;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
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
