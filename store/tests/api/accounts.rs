//! Registering, logging in, refreshing and logging out, and every way to get them wrong.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use megabox_database::Backend;
use serde_json::json;

use crate::on_every_backend;
use crate::support::{JWT_KID, JWT_SECRET, error_code, session_of, spawn_app, spawn_app_with};

const PASSWORD: &str = "correct horse battery";

on_every_backend!(
    a_listener_registers_logs_in_and_reads_me,
    bad_registrations_are_refused_with_their_reason,
    malformed_bodies_are_refused,
    forged_and_expired_tokens_are_refused,
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    logout_ends_the_login,
    login_is_rate_limited,
    login_guesses_from_elsewhere_cannot_lock_the_owner_out,
    registration_is_rate_limited,
);

async fn a_listener_registers_logs_in_and_reads_me(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("Listener@Example.com", "listener").await;

    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "listener@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status(), 200);
    let session = session_of(login).await;

    let me: serde_json::Value = app
        .get_authorized("/api/v1/me", &session.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "listener@example.com", "emails are normalised");
    assert_eq!(me["role"], "listener");
    assert_eq!(me["agent_active"], false);

    let wrong = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "listener@example.com", "password": "wrong password!"}),
        )
        .await;
    assert_eq!(error_code(wrong, 401).await, "invalid_credentials");
    let unknown = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "nobody@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        error_code(unknown, 401).await,
        "invalid_credentials",
        "unknown email looks like a wrong password"
    );
}

async fn bad_registrations_are_refused_with_their_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("taken@example.com", "artist").await;
    let cases = [
        (
            json!({"email": "TAKEN@example.com", "password": PASSWORD, "display_name": "A", "role": "listener"}),
            409,
            "email_taken",
        ),
        (
            json!({"email": "not-an-email", "password": PASSWORD, "display_name": "A", "role": "listener"}),
            422,
            "invalid_email",
        ),
        (
            json!({"email": "a@example.com", "password": "short", "display_name": "A", "role": "listener"}),
            422,
            "weak_password",
        ),
        (
            json!({"email": "a@example.com", "password": "1234567890", "display_name": "A", "role": "listener"}),
            422,
            "weak_password",
        ),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "display_name": "  ", "role": "listener"}),
            422,
            "invalid_display_name",
        ),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "display_name": "A", "role": "admin"}),
            422,
            "invalid_role",
        ),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "display_name": "A", "role": "superuser"}),
            422,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        let response = app.post_json("/api/v1/auth/register", &body).await;
        assert_eq!(error_code(response, status).await, code, "{body}");
    }
    // None of the refused registrations created an account.
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "a@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(error_code(login, 401).await, "invalid_credentials");
}

async fn malformed_bodies_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let register = app.url("/api/v1/auth/register");
    let malformed = app
        .client
        .post(&register)
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(malformed, 400).await, "malformed_json");
    let unknown_field = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "a@example.com", "password": PASSWORD, "display_name": "A", "role": "listener", "is_admin": true}),
        )
        .await;
    assert_eq!(error_code(unknown_field, 422).await, "invalid_body");
    let not_json = app
        .client
        .post(&register)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(not_json, 415).await, "unsupported_media_type");
    let huge = app
        .client
        .post(&register)
        .header("content-type", "application/json")
        .body(vec![b' '; 100_000])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(huge, 413).await, "body_too_large");
}

fn forge(
    claims: serde_json::Value,
    kid: Option<&str>,
    algorithm: Algorithm,
    secret: &str,
) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn forged_and_expired_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.register("victim@example.com", "artist").await;
    let me: serde_json::Value = app
        .get_authorized("/api/v1/me", &session.access_token)
        .await
        .json()
        .await
        .unwrap();
    let subject = me["id"].as_str().unwrap().to_owned();
    let now = jsonwebtoken::get_current_timestamp();
    let claims = |iss: &str, aud: &str, exp: u64| json!({"sub": subject, "role": "admin", "iss": iss, "aud": aud, "iat": now, "exp": exp});

    // The harness's own key and claims are accepted: the refusals below are for their one defect.
    let valid = forge(
        claims("megabox", "megabox-api", now + 60),
        Some(JWT_KID),
        Algorithm::HS256,
        JWT_SECRET,
    );
    assert_eq!(app.get_authorized("/api/v1/me", &valid).await.status(), 200);

    let mut tampered = session.access_token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let cases = [
        ("tampered signature", tampered),
        (
            "expired",
            forge(
                claims("megabox", "megabox-api", now - 120),
                Some(JWT_KID),
                Algorithm::HS256,
                JWT_SECRET,
            ),
        ),
        (
            "wrong audience",
            forge(
                claims("megabox", "other-api", now + 60),
                Some(JWT_KID),
                Algorithm::HS256,
                JWT_SECRET,
            ),
        ),
        (
            "wrong issuer",
            forge(
                claims("evil", "megabox-api", now + 60),
                Some(JWT_KID),
                Algorithm::HS256,
                JWT_SECRET,
            ),
        ),
        (
            "wrong algorithm",
            forge(
                claims("megabox", "megabox-api", now + 60),
                Some(JWT_KID),
                Algorithm::HS512,
                JWT_SECRET,
            ),
        ),
        (
            "unknown kid",
            forge(
                claims("megabox", "megabox-api", now + 60),
                Some("other"),
                Algorithm::HS256,
                JWT_SECRET,
            ),
        ),
        (
            "no kid",
            forge(
                claims("megabox", "megabox-api", now + 60),
                None,
                Algorithm::HS256,
                JWT_SECRET,
            ),
        ),
        (
            "wrong key",
            forge(
                claims("megabox", "megabox-api", now + 60),
                Some(JWT_KID),
                Algorithm::HS256,
                "another-secret-0123456789abcdefgh",
            ),
        ),
        (
            "alg none",
            format!(
                "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
                valid.split('.').nth(1).unwrap()
            ),
        ),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (case, token) in cases {
        let response = app.get_authorized("/api/v1/me", &token).await;
        assert_eq!(error_code(response, 401).await, "invalid_token", "{case}");
    }
    let missing = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(error_code(missing, 401).await, "unauthorized");
}

async fn refresh_tokens_rotate_and_reuse_revokes_the_family(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.register("rotate@example.com", "listener").await;

    let refreshed = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": first.refresh_token}),
        )
        .await;
    assert_eq!(refreshed.status(), 200);
    let second = session_of(refreshed).await;
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(
        app.get_authorized("/api/v1/me", &second.access_token)
            .await
            .status(),
        200
    );

    // A second login is a separate family and survives the theft of the first.
    let other_login = session_of(
        app.post_json(
            "/api/v1/auth/login",
            &json!({"email": "rotate@example.com", "password": PASSWORD}),
        )
        .await,
    )
    .await;

    let reused = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": first.refresh_token}),
        )
        .await;
    assert_eq!(error_code(reused, 401).await, "refresh_token_reused");
    let after_reuse = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": second.refresh_token}),
        )
        .await;
    assert_eq!(
        error_code(after_reuse, 401).await,
        "invalid_refresh_token",
        "the whole family is revoked"
    );
    let other = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": other_login.refresh_token}),
        )
        .await;
    assert_eq!(other.status(), 200, "another login's family is untouched");

    for bogus in ["", "nonsense", &"x".repeat(5000)] {
        let response = app
            .post_json("/api/v1/auth/refresh", &json!({"refresh_token": bogus}))
            .await;
        assert_eq!(
            error_code(response, 401).await,
            "invalid_refresh_token",
            "{bogus:.20}"
        );
    }
}

async fn logout_ends_the_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.register("logout@example.com", "listener").await;
    let logout = app
        .post_json(
            "/api/v1/auth/logout",
            &json!({"refresh_token": session.refresh_token}),
        )
        .await;
    assert_eq!(logout.status(), 204);
    let refresh = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": session.refresh_token}),
        )
        .await;
    assert_eq!(error_code(refresh, 401).await, "invalid_refresh_token");
}

async fn login_is_rate_limited(backend: Backend) {
    let app = spawn_app_with(backend, |settings| settings.login_attempts_per_minute = 3).await;
    app.register("limited@example.com", "listener").await;
    let wrong_password = json!({"email": "limited@example.com", "password": "wrong password!"});
    for _ in 0..3 {
        assert_eq!(
            app.post_json("/api/v1/auth/login", &wrong_password)
                .await
                .status(),
            401
        );
    }
    let limited = app.post_json("/api/v1/auth/login", &wrong_password).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(error_code(limited, 429).await, "rate_limited");
}

/// Guesses against one account: each (email, address) pair has its own small budget, one
/// address a larger one across emails, and the email a slow hourly one that spares the
/// addresses its owner signed in from, so guesses from elsewhere never lock the owner out.
async fn login_guesses_from_elsewhere_cannot_lock_the_owner_out(backend: Backend) {
    const ATTEMPTS_PER_MINUTE: u32 = 2;
    let app = spawn_app_with(backend, |settings| {
        settings.login_attempts_per_minute = ATTEMPTS_PER_MINUTE;
        settings.trusted_proxies = Some("127.0.0.0/8".to_owned());
    })
    .await;
    app.register("owner@example.com", "listener").await;
    let login = |address: String, email: &'static str, password: &'static str| {
        let request = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", address)
            .json(&json!({"email": email, "password": password}));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let home = || "198.51.100.7".to_owned();
    assert_eq!(login(home(), "owner@example.com", PASSWORD).await, 200);

    // Redis counts in fixed windows that may turn mid-test: spend a budget until refused.
    let mut refused = false;
    for _ in 0..ATTEMPTS_PER_MINUTE * 3 {
        if login(
            "203.0.113.1".to_owned(),
            "owner@example.com",
            "wrong password!",
        )
        .await
            == 429
        {
            refused = true;
            break;
        }
    }
    assert!(refused, "one address's guesses at one email are bounded");
    assert_eq!(
        login(
            "203.0.113.1".to_owned(),
            "someone@example.com",
            "wrong password!"
        )
        .await,
        401,
        "the same address may still try another email"
    );

    let mut refused = false;
    for index in 0..60 {
        let address = format!("203.0.113.{}", index + 10);
        if login(address, "owner@example.com", "wrong password!").await == 429 {
            refused = true;
            break;
        }
    }
    assert!(
        refused,
        "guesses from many addresses run into the per-email budget"
    );
    assert_eq!(
        login(home(), "owner@example.com", PASSWORD).await,
        200,
        "the owner's known address is spared the per-email budget"
    );
    assert_eq!(
        login("192.0.2.9".to_owned(), "owner@example.com", PASSWORD).await,
        429,
        "an address new to the account waits like the guesses"
    );
}

async fn registration_is_rate_limited(backend: Backend) {
    let app = spawn_app_with(backend, |settings| settings.registrations_per_hour = 2).await;
    app.register("one@example.com", "listener").await;
    app.register("two@example.com", "listener").await;
    let third = app
        .post_json("/api/v1/auth/register", &json!({"email": "three@example.com", "password": PASSWORD, "display_name": "T", "role": "listener"}))
        .await;
    assert!(third.headers().contains_key("retry-after"));
    assert_eq!(error_code(third, 429).await, "rate_limited");
}
