//! Accounts and sessions: register, login, refresh, logout, and who am I.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use megabox_domain::UserId;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::accounts::{
    self, Account, CreateAccountError, DisplayName, Email, InputError, Password, Role,
};
use crate::auth::sessions::{self, Rotation};
use crate::auth::{AuthenticatedUser, passwords};
use crate::error::ApiError;
use crate::state::AppState;

/// How long an address that signed in to an account stays known to it (spared the per-email
/// login budget).
const KNOWN_LOGIN_ADDRESS_TTL: std::time::Duration = std::time::Duration::from_secs(90 * 24 * 3600);

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    pub display_name: String,
    /// `listener` or `artist`; admins are made with `megabox admin create`.
    pub role: Role,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(value_type = String)]
    pub refresh_token: SecretString,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    #[schema(value_type = String, format = Uuid)]
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// On the free streaming tier because an agent of this account is active.
    pub agent_active: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Account> for Me {
    fn from(account: Account) -> Self {
        Me {
            id: account.id,
            email: account.email,
            display_name: account.display_name,
            role: account.role,
            agent_active: account.agent_active,
            created_at: super::time::utc(account.created_at),
        }
    }
}

impl From<InputError> for ApiError {
    fn from(error: InputError) -> Self {
        let code = match error {
            InputError::InvalidEmail => "invalid_email",
            InputError::PasswordTooShort
            | InputError::PasswordTooLong
            | InputError::PasswordTooCommon => "weak_password",
            InputError::InvalidDisplayName => "invalid_display_name",
        };
        ApiError::invalid(code, error.to_string())
    }
}

fn client_address(request: &HttpRequest) -> String {
    crate::client_address::of(request).to_string()
}

fn token_pair(
    state: &AppState,
    user_id: UserId,
    role: Role,
    refresh_token: String,
) -> Result<TokenPair, ApiError> {
    let access_token = state
        .token_keys
        .issue(user_id, role)
        .map_err(ApiError::internal)?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: state.token_keys.access_token_ttl_seconds(),
    })
}

/// Create a listener or artist account and sign in.
#[utoipa::path(
    tag = "accounts",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = TokenPair),
        (status = 409, description = "email already registered", body = crate::error::ErrorBody),
        (status = 422, description = "invalid email, weak password or display name", body = crate::error::ErrorBody),
        (status = 429, description = "too many registrations from this address", body = crate::error::ErrorBody),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .rate_limit(&state.limits.register, &client_address(&request))
        .await?;
    let RegisterRequest {
        email,
        password,
        display_name,
        role,
    } = body.into_inner();
    if role == Role::Admin {
        return Err(ApiError::invalid(
            "invalid_role",
            "role must be listener or artist",
        ));
    }
    let email = Email::parse(&email)?;
    let password = Password::parse(password)?;
    let display_name = DisplayName::parse(&display_name)?;
    let password_hash = web::block(move || passwords::hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let ttl = state.settings.refresh_token_ttl_seconds;
    let (account, refresh_token) = state
        .write(move |connection| {
            let account =
                accounts::create_account(connection, &email, &password_hash, &display_name, role)
                    .map_err(|error| match error {
                    CreateAccountError::EmailTaken => ApiError::conflict(
                        "email_taken",
                        "an account with this email already exists",
                    ),
                    CreateAccountError::Database(error) => ApiError::from(error),
                })?;
            let refresh_token = sessions::start_family(connection, account.id, ttl)?;
            Ok((account, refresh_token))
        })
        .await?;
    tracing::info!(user.id = %account.id, user.role = account.role.as_str(), "account registered");
    Ok(HttpResponse::Created().json(token_pair(&state, account.id, account.role, refresh_token)?))
}

/// Sign in with email and password.
#[utoipa::path(
    tag = "accounts",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "wrong email or password", body = crate::error::ErrorBody),
        (status = 429, description = "too many attempts", body = crate::error::ErrorBody),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<TokenPair>, ApiError> {
    let LoginRequest { email, password } = body.into_inner();
    let address = client_address(&request);
    state
        .rate_limit(&state.limits.login_address, &address)
        .await?;
    let wrong = || ApiError::unauthorized("invalid_credentials", "wrong email or password");
    let email = Email::parse(&email).map_err(|_| wrong())?;
    state
        .rate_limit(
            &state.limits.login_pair,
            &format!("{}|{address}", email.as_str()),
        )
        .await?;
    // An address that signed in to this account before is spared the per-email budget, so
    // guesses from elsewhere cannot lock the account's owner out.
    let known_address = format!("login:{}|{address}", email.as_str());
    if !state.rate_limiter.remembers(&known_address).await {
        state
            .rate_limit(&state.limits.login_email, email.as_str())
            .await?;
    }
    let found = state
        .database(move |connection| Ok(accounts::find_by_email(connection, &email)?))
        .await?;
    let (account, stored_hash) = match found {
        Some((account, hash)) => (Some(account), Some(hash)),
        None => (None, None),
    };
    let matches = web::block(move || {
        passwords::verify_password(password.expose_secret(), stored_hash.as_deref())
    })
    .await
    .map_err(ApiError::internal)?;
    let account = account.filter(|_| matches).ok_or_else(wrong)?;
    state
        .rate_limiter
        .remember(&known_address, KNOWN_LOGIN_ADDRESS_TTL)
        .await;
    let ttl = state.settings.refresh_token_ttl_seconds;
    let user_id = account.id;
    let refresh_token = state
        .write(move |connection| Ok(sessions::start_family(connection, user_id, ttl)?))
        .await?;
    Ok(web::Json(token_pair(
        &state,
        account.id,
        account.role,
        refresh_token,
    )?))
}

/// Exchange a refresh token for a new pair. Each refresh token works once: presenting a spent
/// one revokes every token of that login.
#[utoipa::path(
    tag = "accounts",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "unknown, expired, revoked or reused refresh token", body = crate::error::ErrorBody),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<web::Json<TokenPair>, ApiError> {
    let token = body.into_inner().refresh_token;
    if token.expose_secret().len() > sessions::TOKEN_LENGTH_MAX {
        return Err(ApiError::unauthorized(
            "invalid_refresh_token",
            "unknown or expired refresh token",
        ));
    }
    let ttl = state.settings.refresh_token_ttl_seconds;
    let rotation = state
        .write(move |connection| Ok(sessions::rotate(connection, token.expose_secret(), ttl)?))
        .await?;
    let (user_id, refresh_token) = match rotation {
        Rotation::Rotated {
            user_id,
            refresh_token,
        } => (user_id, refresh_token),
        Rotation::Invalid => {
            return Err(ApiError::unauthorized(
                "invalid_refresh_token",
                "unknown or expired refresh token",
            ));
        }
        Rotation::Reused => {
            tracing::warn!("refresh token reused; family revoked");
            return Err(ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; every session of this login was ended",
            ));
        }
    };
    let account = state
        .database(move |connection| Ok(accounts::find_by_id(connection, user_id)?))
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized("invalid_refresh_token", "the account no longer exists")
        })?;
    Ok(web::Json(token_pair(
        &state,
        account.id,
        account.role,
        refresh_token,
    )?))
}

/// End the login a refresh token belongs to (every token of its family).
#[utoipa::path(tag = "accounts", request_body = RefreshRequest, responses((status = 204)))]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().refresh_token;
    if token.expose_secret().len() <= sessions::TOKEN_LENGTH_MAX {
        state
            .write(move |connection| Ok(sessions::logout(connection, token.expose_secret())?))
            .await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in account.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody))
)]
#[get("/me")]
pub async fn me(
    state: web::Data<AppState>,
    user: AuthenticatedUser,
) -> Result<web::Json<Me>, ApiError> {
    let account = state
        .database(move |connection| Ok(accounts::find_by_id(connection, user.user_id)?))
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the account no longer exists"))?;
    Ok(web::Json(Me::from(account)))
}
