//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations as they are
//! mounted (see `routes::api`), plus what the handlers cannot say themselves: title, security.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Megabox API",
        description = "The music store where artists keep 90% of the revenue. Errors are `{\"error\": {\"code\", \"message\"}}`.",
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerSecurity)
)]
pub struct ApiDocument;

struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        // `/metrics`: the operator's `MEGABOX_METRICS_TOKEN`, not an account's token.
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
