//! Authentication: password hashing, access tokens, refresh-token families, and the extractor
//! that turns a bearer token into an [`AuthenticatedUser`].

pub mod passwords;
pub mod sessions;
pub mod tokens;

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header::AUTHORIZATION, web};
use megabox_domain::UserId;

use crate::accounts::Role;
use crate::error::ApiError;
use crate::state::AppState;

/// The caller, proven by a valid access token.
#[derive(Debug, Clone, Copy)]
pub struct AuthenticatedUser {
    pub user_id: UserId,
    pub role: Role,
}

impl AuthenticatedUser {
    /// 403 unless the caller has `role` (admins may act as anyone).
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role == role || self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this requires the {} role",
                role.as_str()
            )))
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden("this requires the admin role"))
        }
    }
}

impl FromRequest for AuthenticatedUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(authenticate(request))
    }
}

/// The caller when the request carries a bearer token, `None` for a visitor without one. Unlike
/// `Option<AuthenticatedUser>`, an invalid or expired token is a 401 rather than a visitor, so a
/// signed-in client refreshes its token instead of being shown the visitor's page.
#[derive(Debug, Clone, Copy)]
pub struct OptionalUser(pub Option<AuthenticatedUser>);

impl FromRequest for OptionalUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        if request.headers().contains_key(AUTHORIZATION) {
            ready(authenticate(request).map(|user| OptionalUser(Some(user))))
        } else {
            ready(Ok(OptionalUser(None)))
        }
    }
}

fn authenticate(request: &HttpRequest) -> Result<AuthenticatedUser, ApiError> {
    let state = request
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
    let header = request.headers().get(AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized("unauthorized", "sign in first: missing bearer token")
    })?;
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::unauthorized(
                "invalid_token",
                "the Authorization header must be `Bearer <token>`",
            )
        })?;
    let verified = state.token_keys.verify(token.trim()).ok_or_else(|| {
        ApiError::unauthorized("invalid_token", "the access token is invalid or expired")
    })?;
    Ok(AuthenticatedUser {
        user_id: verified.user_id,
        role: verified.role,
    })
}
