//! Serves the built web app (`frontend/dist`): files as they are, and `index.html` for any
//! other GET outside `/api/`, so client-side routes survive a reload. Everything else that
//! matched no route gets the JSON 404 of the API. Without a built app, pages say how to build it.

use std::path::Path;

use actix_files::{Files, NamedFile};
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;

const NOT_BUILT_PAGE: &str = "<!doctype html><meta charset=utf-8><title>Megabox</title>\
<h1>Megabox</h1><p>The API is running, but the web app is not built.\
 Build it with <code>npm --prefix frontend ci &amp;&amp; npm --prefix frontend run build</code>, or start everything with <code>bash .ci/demo</code>.</p>";

fn wants_page(request: &HttpRequest) -> bool {
    matches!(*request.method(), Method::GET | Method::HEAD) && !request.path().starts_with("/api/")
}

fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::not_found("no such route"))
}

pub fn is_built(frontend_dir: &Path) -> bool {
    frontend_dir.join("index.html").is_file()
}

pub fn configure(config: &mut web::ServiceConfig, frontend_dir: &Path) {
    if !is_built(frontend_dir) {
        config.default_service(web::to(|request: HttpRequest| async move {
            if wants_page(&request) {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(NOT_BUILT_PAGE)
            } else {
                not_found()
            }
        }));
        return;
    }
    let index = frontend_dir.join("index.html");
    config.service(
        Files::new("/", frontend_dir)
            .index_file("index.html")
            .default_handler(fn_service(move |request: ServiceRequest| {
                let index = index.clone();
                async move {
                    let (request, _) = request.into_parts();
                    let response = match NamedFile::open_async(&index).await {
                        Ok(file) if wants_page(&request) => file.into_response(&request),
                        _ => not_found(),
                    };
                    Ok(ServiceResponse::new(request, response))
                }
            })),
    );
}
