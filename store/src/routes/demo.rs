//! The demo's accounts, for the sign-in page: 404 unless the server was started with
//! `megabox serve --demo`, so a real store never lists them.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::Role;
use crate::demo::roster::{self, DEMO_PASSWORD};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct DemoAccountView {
    pub role: Role,
    pub email: String,
    /// Demo data only: every demo account has this password.
    pub password: String,
    pub display_name: String,
    /// A short sentence on what to try when signed in as this account.
    pub try_this: String,
}

#[derive(Serialize, ToSchema)]
pub struct DemoView {
    pub accounts: Vec<DemoAccountView>,
}

/// The demo accounts and what to try with each; 404 when the server is not running the demo.
#[utoipa::path(tag = "demo", responses((status = 200, body = DemoView), (status = 404, body = crate::error::ErrorBody)))]
#[get("/demo")]
pub async fn demo_accounts(state: web::Data<AppState>) -> Result<web::Json<DemoView>, ApiError> {
    if !state.settings.demo {
        return Err(ApiError::not_found("this server is not running the demo"));
    }
    let accounts = roster::accounts()
        .into_iter()
        .map(|account| DemoAccountView {
            role: account.role,
            email: account.email.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
            display_name: account.display_name.to_owned(),
            try_this: account.try_this.to_owned(),
        })
        .collect();
    Ok(web::Json(DemoView { accounts }))
}
