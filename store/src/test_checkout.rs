//! The test-mode gateway's checkout page, used when no Stripe key is configured. It shows the
//! order, clearly marked as test mode, and its form completes the order through the same signed
//! webhook path as Stripe would — no code path skips the webhook.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use megabox_payments::TestCheckoutAction;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// The page's style sheet, inline so the page stands alone; its CSP names its hash.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#111}.banner{background:#ffd400;color:#111;padding:.75rem 1rem;font-weight:700;border-radius:.5rem}table{width:100%;border-collapse:collapse;margin:1rem 0}td{padding:.4rem 0;border-bottom:1px solid #ddd}.amount{text-align:right}button{font-size:1rem;padding:.6rem 1.2rem;border-radius:.4rem;border:0;background:#1a56db;color:#fff;cursor:pointer}button.secondary{background:#555}button:focus{outline:3px solid #111;outline-offset:2px}";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The test-mode checkout page.
#[utoipa::path(tag = "buying", params(("id" = String, Path)), responses((status = 200, content_type = "text/html"), (status = 404, body = crate::error::ErrorBody)))]
#[get("/test-checkout/{id}")]
pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .payments
        .test_checkout_view(&path)
        .await?
        .ok_or_else(|| ApiError::not_found("no such test checkout"))?;
    let lines: String = view
        .lines
        .iter()
        .map(|line| {
            format!(
                "<tr><td>{}</td><td class=amount>{}</td></tr>",
                escape(&line.title),
                line.amount
            )
        })
        .collect();
    let actions = if view.status == "open" {
        format!(
            "<form method=post action=\"/test-checkout/{id}\"><button name=action value=pay>Pay {total} (test)</button> \
             <button name=action value=cancel class=secondary>Cancel</button></form>",
            id = escape(&view.session_id),
            total = view.amount
        )
    } else {
        format!(
            "<p>This checkout is <strong>{}</strong>.</p><p><a href=\"/library\">Go to your library</a></p>",
            escape(&view.status)
        )
    };
    let page = format!(
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>Megabox test checkout</title><style>{STYLE}</style>\
         <p class=banner role=alert>TEST MODE — no real payment is made.</p><h1>Checkout</h1>\
         <table><tbody>{lines}<tr><td><strong>Total</strong></td><td class=amount><strong>{total}</strong></td></tr></tbody></table>{actions}</html>",
        total = view.amount
    );
    // The page's one inline style is allowed by its hash; nothing else inline runs.
    let style_hash = BASE64_STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; style-src 'sha256-{style_hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            ),
        ))
        .body(page))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCheckoutForm {
    /// `pay` or `cancel`.
    pub action: String,
}

/// Completes (or cancels) a test-mode checkout through the webhook path, then returns the
/// listener to the app.
#[utoipa::path(tag = "buying", params(("id" = String, Path)), request_body(content = TestCheckoutForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "back to the app"), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
#[post("/test-checkout/{id}")]
pub async fn complete(
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<TestCheckoutForm>,
) -> Result<HttpResponse, ApiError> {
    let action = match form.action.as_str() {
        "pay" => TestCheckoutAction::Pay,
        "cancel" => TestCheckoutAction::Cancel,
        other => {
            return Err(ApiError::invalid(
                "invalid_action",
                format!(
                    "action must be pay or cancel, not {:?}",
                    other.chars().take(20).collect::<String>()
                ),
            ));
        }
    };
    let view = state
        .payments
        .test_checkout_view(&path)
        .await?
        .ok_or_else(|| ApiError::not_found("no such test checkout"))?;
    state.payments.complete_test_checkout(&path, action).await?;
    let location = match action {
        TestCheckoutAction::Pay => format!("/checkout/complete?order_id={}", view.order_id),
        TestCheckoutAction::Cancel => "/cart".to_owned(),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish())
}
