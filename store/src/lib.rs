//! The Megabox server and operator CLI. HTTP, JSON and OpenAPI live here and only here; the
//! business rules live in `catalog` and `royalties`, which the handlers call.

pub mod accounts;
pub mod auth;
pub mod children;
pub mod cli;
pub mod client_address;
pub mod configuration;
pub mod demo;
pub mod error;
pub mod files;
pub mod frontend;
pub mod health;
pub mod import;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod schema;
pub mod signing;
pub mod startup;
pub mod state;
pub mod storefront;
pub mod telemetry;
pub mod test_checkout;
pub mod uploads;
