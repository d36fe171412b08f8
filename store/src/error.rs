//! The one error type of the HTTP edge. Every failure leaves as
//! `{"error": {"code": "snake_case", "message": "…"}}` with the right status; unexpected
//! failures become an opaque 500 whose cause is logged once, here.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after_seconds: Option<u64>,
    cause: Option<anyhow::Error>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable, snake_case.
    pub code: String,
    /// For people; may change.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_seconds: None,
            cause: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// Also for objects that exist but that the caller may not see: never reveal existence.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn too_many_requests(retry_after_seconds: u64) -> ApiError {
        ApiError {
            retry_after_seconds: Some(retry_after_seconds.max(1)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; retry later",
            )
        }
    }

    /// The same error, telling the client when to try again (`Retry-After`).
    pub fn with_retry_after(self, seconds: u64) -> ApiError {
        ApiError {
            retry_after_seconds: Some(seconds.max(1)),
            ..self
        }
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// An unexpected failure: the client sees an opaque 500, the log gets the cause.
    pub fn internal(cause: impl Into<anyhow::Error>) -> ApiError {
        ApiError {
            cause: Some(cause.into()),
            ..ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        }
    }

    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} ({}): {}",
            self.code,
            self.status.as_u16(),
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.cause {
            tracing::error!(error.cause = format!("{cause:#}"), "request failed");
        }
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after_seconds
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.insert_header((RETRY_AFTER, value));
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
            },
        })
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        ApiError::internal(error)
    }
}

impl From<megabox_database::DatabaseError> for ApiError {
    fn from(error: megabox_database::DatabaseError) -> Self {
        ApiError::internal(error)
    }
}

/// JSON bodies that do not parse: syntax errors are 400, well-formed JSON of the wrong shape
/// (unknown fields, wrong types, missing fields) is 422.
pub fn json_error(
    error: actix_web::error::JsonPayloadError,
    _request: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError;
    let api_error = match &error {
        JsonPayloadError::Deserialize(inner) if inner.is_data() => ApiError::invalid(
            "invalid_body",
            format!("the request body does not match the expected shape: {inner}"),
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body exceeds {limit} bytes"),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected Content-Type: application/json",
        ),
        other => ApiError::bad_request(
            "malformed_json",
            format!("the request body is not valid JSON: {other}"),
        ),
    };
    api_error.into()
}

pub fn query_error(
    error: actix_web::error::QueryPayloadError,
    _request: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::invalid(
        "invalid_query",
        format!("invalid query parameters: {error}"),
    )
    .into()
}

pub fn form_error(
    error: actix_web::error::UrlencodedError,
    _request: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::UrlencodedError;
    let api_error = match &error {
        UrlencodedError::Overflow { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body exceeds {limit} bytes"),
        ),
        UrlencodedError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected Content-Type: application/x-www-form-urlencoded",
        ),
        other => ApiError::invalid(
            "invalid_body",
            format!("the form does not match the expected fields: {other}"),
        ),
    };
    api_error.into()
}

pub fn path_error(
    error: actix_web::error::PathError,
    _request: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::not_found(format!("no such resource: {error}")).into()
}

impl From<catalog::CatalogError> for ApiError {
    fn from(error: catalog::CatalogError) -> Self {
        use catalog::CatalogError;
        match error {
            CatalogError::NotFound { what } => ApiError::not_found(format!("{what} not found")),
            CatalogError::Invalid { .. } => ApiError::invalid("invalid_input", error.to_string()),
            CatalogError::NotPublishable { .. } => {
                ApiError::invalid("not_publishable", error.to_string())
            }
            CatalogError::Duplicate { .. } => {
                ApiError::conflict("duplicate_audio", error.to_string())
            }
            CatalogError::QuotaExceeded { .. } => {
                ApiError::conflict("quota_exceeded", error.to_string())
            }
            CatalogError::InvalidTransition { .. } => {
                ApiError::conflict("invalid_transition", error.to_string())
            }
            CatalogError::Corrupt(_) | CatalogError::Storage(_) | CatalogError::Database(_) => {
                ApiError::internal(error)
            }
        }
    }
}

impl From<catalog::analysis::AnalysisError> for ApiError {
    fn from(error: catalog::analysis::AnalysisError) -> Self {
        use catalog::analysis::AnalysisError;
        match error {
            AnalysisError::UnsupportedFormat { .. } => {
                ApiError::invalid("unsupported_format", error.to_string())
            }
            AnalysisError::UnsupportedCodec { .. } => {
                ApiError::invalid("unsupported_codec", error.to_string())
            }
            AnalysisError::Io { .. } | AnalysisError::SandboxFailed { .. } => {
                ApiError::internal(error)
            }
            _ => ApiError::invalid("invalid_audio", error.to_string()),
        }
    }
}

impl From<royalties::RoyaltyError> for ApiError {
    fn from(error: royalties::RoyaltyError) -> Self {
        use royalties::RoyaltyError;
        match error {
            RoyaltyError::InvalidInput(_) | RoyaltyError::InvalidSourceId { .. } => {
                ApiError::invalid("invalid_input", error.to_string())
            }
            RoyaltyError::UnknownSale(_)
            | RoyaltyError::UnknownItem { .. }
            | RoyaltyError::UnknownAdEvent(_) => ApiError::not_found(error.to_string()),
            RoyaltyError::AlreadyRefunded { .. } => {
                ApiError::conflict("already_refunded", error.to_string())
            }
            _ => ApiError::internal(error),
        }
    }
}

impl From<megabox_payments::PaymentsError> for ApiError {
    fn from(error: megabox_payments::PaymentsError) -> Self {
        use megabox_payments::PaymentsError;
        match error {
            PaymentsError::EmptyCart
            | PaymentsError::TooManyItems
            | PaymentsError::DuplicateItem(_)
            | PaymentsError::InvalidOffer { .. }
            | PaymentsError::BelowMinimumCharge => {
                ApiError::invalid("invalid_cart", error.to_string())
            }
            PaymentsError::AlreadyOwned(_) => {
                ApiError::conflict("already_owned", error.to_string())
            }
            PaymentsError::NotForSale(_) | PaymentsError::TestSessionNotFound => {
                ApiError::not_found(error.to_string())
            }
            PaymentsError::TestSessionClosed => {
                ApiError::conflict("checkout_closed", error.to_string())
            }
            PaymentsError::Signature(_) => {
                ApiError::bad_request("invalid_signature", error.to_string())
            }
            PaymentsError::MalformedEvent(_) => {
                ApiError::bad_request("malformed_event", error.to_string())
            }
            PaymentsError::Gateway(_) => {
                tracing::error!(error = %error, "payment gateway failed");
                ApiError::new(
                    actix_web::http::StatusCode::BAD_GATEWAY,
                    "gateway_unavailable",
                    "the payment provider did not answer; try again",
                )
            }
            PaymentsError::Catalog(error) => error.into(),
            PaymentsError::Royalties(error) => error.into(),
            _ => ApiError::internal(error),
        }
    }
}

impl From<megabox_ads::AdsError> for ApiError {
    fn from(error: megabox_ads::AdsError) -> Self {
        use actix_web::http::StatusCode;
        use megabox_ads::{AdsError, Reason};
        match &error {
            AdsError::NotFound { .. } | AdsError::PairingCodeUnknown => {
                ApiError::not_found(error.to_string())
            }
            AdsError::InvalidInput(_) | AdsError::InvalidImage(_) | AdsError::InvalidPublicKey => {
                ApiError::invalid("invalid_input", error.to_string())
            }
            AdsError::InvalidStatusChange { .. } => {
                ApiError::conflict("invalid_transition", error.to_string())
            }
            AdsError::PairingCodeUsed => ApiError::conflict("pairing_code_used", error.to_string()),
            AdsError::PublicKeyTaken => ApiError::conflict("public_key_taken", error.to_string()),
            AdsError::PairingCodeExpired => {
                ApiError::new(StatusCode::GONE, "pairing_code_expired", error.to_string())
            }
            AdsError::TooManyPairingCodes => ApiError::too_many_requests(3600),
            AdsError::NoCreditAvailable => ApiError::conflict("no_credits", error.to_string()),
            AdsError::BatchRefused(reason) => {
                let (status, code) = match reason {
                    Reason::BadSignature => (StatusCode::UNAUTHORIZED, "bad_signature"),
                    Reason::UnknownDevice => (StatusCode::UNAUTHORIZED, "unknown_device"),
                    Reason::RevokedDevice => (StatusCode::FORBIDDEN, "revoked_device"),
                    Reason::StaleSequence => (StatusCode::CONFLICT, "stale_sequence"),
                    Reason::MalformedBatch => (StatusCode::UNPROCESSABLE_ENTITY, "malformed_batch"),
                    Reason::FlaggedDevice => (StatusCode::FORBIDDEN, "flagged_device"),
                    _ => (StatusCode::UNPROCESSABLE_ENTITY, "batch_refused"),
                };
                ApiError::new(status, code, error.to_string())
            }
            _ => ApiError::internal(error),
        }
    }
}
