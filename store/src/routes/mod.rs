//! The REST API under `/api/v1`. Handlers are thin: extract → parse into domain types → one
//! call into a domain crate (in a transaction) → map to a response.

pub mod accounts;

use utoipa_actix_web::service_config::ServiceConfig;

/// Every route of the API. `startup` mounts this under `/api/v1`, and the OpenAPI document is
/// generated from the same calls, so a route cannot be served without being documented.
pub fn api(config: &mut ServiceConfig) {
    config
        .service(accounts::register)
        .service(accounts::login)
        .service(accounts::refresh)
        .service(accounts::logout)
        .service(accounts::me);
}
