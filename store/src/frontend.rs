//! Serves the built web app (`frontend/dist`): files as they are, and `index.html` for any
//! other GET outside `/api/`, so client-side routes survive a reload. Everything else that
//! matched no route gets the JSON 404 of the API.

use std::path::Path;

use actix_files::{Files, NamedFile};
use actix_web::dev::{HttpServiceFactory, ServiceRequest, ServiceResponse, fn_service};
use actix_web::http::Method;

use crate::error::ApiError;

pub fn service(frontend_dir: &Path) -> impl HttpServiceFactory + 'static {
    let index = frontend_dir.join("index.html");
    Files::new("/", frontend_dir).index_file("index.html").default_handler(fn_service(move |request: ServiceRequest| {
        let index = index.clone();
        async move {
            let (request, _) = request.into_parts();
            let wants_page = matches!(*request.method(), Method::GET | Method::HEAD) && !request.path().starts_with("/api/");
            let response = match NamedFile::open_async(&index).await {
                Ok(file) if wants_page => file.into_response(&request),
                _ => actix_web::ResponseError::error_response(&ApiError::not_found("no such route")),
            };
            Ok(ServiceResponse::new(request, response))
        }
    }))
}
