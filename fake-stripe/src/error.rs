//! Stripe-shaped API errors: `{"error": {"type", "code", "message", "param"}}` with Stripe's status codes,
//! and whether a failure is an outcome that an idempotency key must replay.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// Stripe's error `type` values used by the fake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    InvalidRequest,
    Idempotency,
    Api,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request_error",
            ErrorType::Idempotency => "idempotency_error",
            ErrorType::Api => "api_error",
        }
    }
}

/// One failed request, rendered as Stripe renders it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} ({}): {message}", error_type.as_str(), code.unwrap_or("no code"))]
pub struct ApiError {
    pub status: StatusCode,
    pub error_type: ErrorType,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    /// Stripe saves an idempotent result only once the endpoint started executing: failures of
    /// the operation itself (insufficient balance, already refunded) are replayed, while
    /// parameter validation failures are not, so a corrected retry with the same key may succeed.
    pub replayed_under_idempotency_key: bool,
}

impl ApiError {
    fn new(status: StatusCode, error_type: ErrorType, message: String) -> Self {
        Self {
            status,
            error_type,
            code: None,
            message,
            param: None,
            replayed_under_idempotency_key: false,
        }
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn invalid_request(param: Option<&str>, message: String) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, message);
        error.param = param.map(str::to_owned);
        error
    }

    pub fn parameter_missing(param: &str) -> Self {
        Self::invalid_request(Some(param), format!("Missing required param: {param}."))
            .with_code("parameter_missing")
    }

    /// A parameter with a value the endpoint does not accept (Stripe gives these no code).
    pub fn parameter_invalid(param: &str, message: String) -> Self {
        Self::invalid_request(Some(param), message)
    }

    /// 404 for an id that names no object of the expected kind.
    pub fn resource_missing(param: &str, object: &str, id: &str) -> Self {
        let mut error = Self::invalid_request(Some(param), format!("No such {object}: '{id}'"))
            .with_code("resource_missing");
        error.status = StatusCode::NOT_FOUND;
        error
    }

    /// A failure of the operation itself, which an idempotency key replays.
    pub fn operation_failed(code: &'static str, message: String) -> Self {
        let mut error = Self::invalid_request(None, message).with_code(code);
        error.replayed_under_idempotency_key = true;
        error
    }

    pub fn invalid_api_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::InvalidRequest,
            "Invalid API Key provided. Send it as `Authorization: Bearer sk_…`.".to_owned(),
        )
    }

    pub fn idempotency_key_reused(key: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::Idempotency,
            format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. \
                 Try using a key other than '{key}' if you meant to execute a different request."
            ),
        )
    }

    /// The fake refuses to grow past its bounds rather than silently forgetting objects.
    pub fn capacity_exceeded(what: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::Api,
            format!("The fake Stripe server holds too many {what}; start a fresh one."),
        )
    }

    pub fn body_too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorType::InvalidRequest,
            format!("Request body larger than {limit_bytes} bytes."),
        )
    }

    pub fn not_found_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequest,
            format!("Unrecognized request URL: {path}."),
        )
    }

    pub fn body(&self) -> serde_json::Value {
        let mut error = json!({
            "type": self.error_type.as_str(),
            "code": self.code,
            "message": self.message,
        });
        if let (Some(param), Some(object)) = (&self.param, error.as_object_mut()) {
            object.insert("param".to_owned(), json!(param));
        }
        json!({ "error": error })
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(self.body())
    }
}
