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

/// Adds the statuses every operation of a kind can answer, from the one place that produces
/// them, so no handler has to remember them: 401 on every operation that takes a token, 403 on
/// the artists' and operators' areas, 404 where a path names something, 400/413/415/422 on every
/// request body (the extractors' own errors), 422 on query strings, and 500 everywhere. Statuses
/// a handler documents itself keep its description.
pub fn add_common_statuses(document: &mut utoipa::openapi::OpenApi) {
    for (path, item) in document.paths.paths.iter_mut() {
        let role_restricted = ["/api/v1/admin/", "/api/v1/artist/", "/api/v1/releases"]
            .iter()
            .any(|prefix| path.starts_with(prefix))
            || (path == "/api/v1/tracks/{id}");
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            add_statuses(operation, path, role_restricted);
        }
    }
}

fn add_statuses(
    operation: &mut utoipa::openapi::path::Operation,
    path: &str,
    role_restricted: bool,
) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::path::ParameterIn;

    let takes_token = operation.security.as_ref().is_some_and(|requirements| {
        serde_json::to_value(requirements)
            .map(|value| value.to_string().contains("\"bearer\""))
            .unwrap_or(false)
    });
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_query = parameters
        .iter()
        .any(|parameter| {
            matches!(parameter, RefOr::T(parameter) if matches!(parameter.parameter_in, ParameterIn::Query))
        });
    let has_body = operation.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description).into());
    };
    if has_body {
        add(
            "400",
            "the body is not well-formed (`malformed_json`, or a broken multipart)",
        );
        add(
            "413",
            "the body is larger than this operation takes (`body_too_large`)",
        );
        add(
            "415",
            "the body's Content-Type is not the one this operation takes",
        );
        add(
            "422",
            "the body does not have this operation's shape or breaks one of its rules",
        );
    }
    if has_query {
        add("422", "a query parameter is malformed (`invalid_query`)");
    }
    if takes_token {
        add("401", "the access token is missing, expired or not valid");
    }
    if takes_token && role_restricted {
        add("403", "the account's role may not do this");
    }
    if path.contains('{') {
        add("404", "no such resource, or it is not the caller's");
    }
    add(
        "500",
        "an unexpected error (logged on the server with its cause)",
    );
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}
