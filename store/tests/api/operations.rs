//! Health, readiness, metrics (behind their token or on their own listener), request ids, and
//! the OpenAPI document.

use std::collections::BTreeSet;

use megabox_database::Backend;
use serde_json::Value;

use crate::on_every_backend;
use crate::support::{error_code, spawn_app, spawn_app_with};

on_every_backend!(
    health_readiness_and_metrics_answer,
    metrics_need_their_token,
    metrics_on_their_own_listener,
    unknown_routes_get_the_json_error_shape
);

async fn health_readiness_and_metrics_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));

    let ready: Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["database"], "ok");

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(
        metrics.status(),
        404,
        "without a metrics token or listener, metrics are not served"
    );
}

const READYZ_COUNTED: &str =
    "megabox_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1";
const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef-0123456789";

/// `/metrics` with `MEGABOX_METRICS_TOKEN`: only with that bearer token.
async fn metrics_need_their_token(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.metrics_token = Some(METRICS_TOKEN.to_owned().into());
    })
    .await;
    app.client.get(app.url("/readyz")).send().await.unwrap();
    let metrics = |token: Option<&str>| {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    for refused in [None, Some("wrong"), Some(&METRICS_TOKEN[1..])] {
        let response = metrics(refused).await.unwrap();
        assert_eq!(
            error_code(response, 401).await,
            "invalid_metrics_token",
            "{refused:?}"
        );
    }
    let access_token = app.register("m@example.com", "listener").await.access_token;
    assert_eq!(
        metrics(Some(&access_token)).await.unwrap().status(),
        401,
        "an account's token is not the metrics token"
    );
    let served = metrics(Some(METRICS_TOKEN)).await.unwrap();
    assert_eq!(served.status(), 200);
    let text = served.text().await.unwrap();
    assert!(text.contains(READYZ_COUNTED), "{text}");
}

/// `/metrics` with `MEGABOX_METRICS_BIND`: on that listener only.
async fn metrics_on_their_own_listener(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.metrics_bind = Some("127.0.0.1:0".to_owned());
    })
    .await;
    app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(
        app.client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "not on the main listener"
    );
    let metrics_address = app.metrics_address.as_ref().expect("a metrics listener");
    let text = app
        .client
        .get(format!("{metrics_address}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains(READYZ_COUNTED), "{text}");
}

async fn unknown_routes_get_the_json_error_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/api/v1/nope", "/api/v1/", "/api/other"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(error_code(response, 404).await, "not_found", "{path}");
    }
    // The tests run without a built web app: pages say how to build it.
    let page = app
        .client
        .get(app.url("/releases/whatever"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("web app is not built"), "{page}");
    let post = app.client.post(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(post.status(), 404, "wrong method on a known path");
}

#[tokio::test]
async fn the_web_app_is_served_with_a_fallback_for_client_routes() {
    let frontend = tempfile::tempdir().unwrap();
    std::fs::write(
        frontend.path().join("index.html"),
        "<!doctype html><title>Megabox</title>",
    )
    .unwrap();
    std::fs::create_dir(frontend.path().join("assets")).unwrap();
    std::fs::write(frontend.path().join("assets/app.js"), "console.log(1)").unwrap();
    let directory = frontend.path().to_path_buf();
    let app = spawn_app_with(Backend::Sqlite, move |settings| {
        settings.frontend_dir = directory
    })
    .await;
    for path in ["/", "/releases/some-id", "/artist/dashboard"] {
        let page = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("<title>Megabox</title>"),
            "{path}"
        );
    }
    let script = app
        .client
        .get(app.url("/assets/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.text().await.unwrap(), "console.log(1)");
    let api = app
        .client
        .get(app.url("/api/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(api, 404).await,
        "not_found",
        "API paths never fall back to the app"
    );
    let traversal = app
        .client
        .get(app.url("/..%2f..%2fetc%2fpasswd"))
        .send()
        .await
        .unwrap();
    assert!(
        !traversal.text().await.unwrap().contains("root:"),
        "no path traversal"
    );
}

/// Every handler attribute in the store's source, as (method, full path): `routes/` is mounted
/// under `/api/v1`, everything else at the root.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let source_root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut routes = BTreeSet::new();
    let mut directories = vec![source_root.clone()];
    while let Some(directory) = directories.pop() {
        for entry in std::fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                directories.push(path);
                continue;
            }
            let prefix = if path.starts_with(source_root.join("routes")) {
                "/api/v1"
            } else {
                ""
            };
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines().map(str::trim) {
                for method in ["get", "post", "put", "patch", "delete", "head"] {
                    if let Some(rest) = line.strip_prefix(&format!("#[{method}(\"")) {
                        let route = rest.split('"').next().unwrap();
                        routes.insert((method.to_owned(), format!("{prefix}{route}")));
                    }
                }
                // `#[route("/path", method = "GET", method = "HEAD")]`: HEAD is implied by GET.
                if let Some(rest) = line.strip_prefix("#[route(\"") {
                    let route = rest.split('"').next().unwrap();
                    for method in rest
                        .split("method = \"")
                        .skip(1)
                        .filter_map(|part| part.split('"').next())
                    {
                        if method != "HEAD" {
                            routes.insert((method.to_lowercase(), format!("{prefix}{route}")));
                        }
                    }
                }
            }
        }
    }
    routes
}

#[tokio::test]
async fn every_route_is_in_the_openapi_document() {
    let app = spawn_app(Backend::Sqlite).await;
    let document = app.openapi_document().await;
    let routes = routes_in_source();
    assert!(
        routes.len() >= 8,
        "the source scan found the handlers: {routes:?}"
    );
    for (method, path) in &routes {
        assert!(
            document["paths"][path][method].is_object(),
            "{} {path} is served but missing from /api/v1/openapi.json",
            method.to_uppercase()
        );
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}
