//! Refresh tokens. A login starts a *family*; each refresh spends the presented token and adds
//! a new one to the family. Presenting a token that was already spent means it was copied:
//! the whole family is revoked, so the thief and the user both have to log in again.
//! Only SHA-256 hashes of tokens are stored.

use base64::Engine;
use chrono::{NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use megabox_database::DbConnection;
use megabox_domain::UserId;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::schema::refresh_tokens;

const TOKEN_BYTES: usize = 32;
/// Refresh tokens are base64url of 32 bytes: anything much longer is not one of ours.
pub const TOKEN_LENGTH_MAX: usize = 64;

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let bytes: [u8; TOKEN_BYTES] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Starts a new family for `user_id` and returns its first token.
pub fn start_family(
    connection: &mut DbConnection,
    user_id: UserId,
    ttl_seconds: u64,
) -> Result<String, diesel::result::Error> {
    insert_token(
        connection,
        user_id,
        &uuid::Uuid::now_v7().to_string(),
        ttl_seconds,
    )
}

fn insert_token(
    connection: &mut DbConnection,
    user_id: UserId,
    family_id: &str,
    ttl_seconds: u64,
) -> Result<String, diesel::result::Error> {
    let token = new_token();
    let now = Utc::now().naive_utc();
    let ttl = TimeDelta::seconds(i64::try_from(ttl_seconds).unwrap_or(i64::MAX / 1000));
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(uuid::Uuid::now_v7().to_string()),
            refresh_tokens::user_id.eq(user_id.to_string()),
            refresh_tokens::family_id.eq(family_id),
            refresh_tokens::token_hash.eq(hash(&token)),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(now + ttl),
        ))
        .execute(connection)?;
    Ok(token)
}

#[derive(Queryable)]
struct TokenRow {
    id: String,
    user_id: String,
    family_id: String,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

fn find(
    connection: &mut DbConnection,
    token: &str,
) -> Result<Option<TokenRow>, diesel::result::Error> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash(token)))
        .select((
            refresh_tokens::id,
            refresh_tokens::user_id,
            refresh_tokens::family_id,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
            refresh_tokens::revoked_at,
        ))
        .first(connection)
        .optional()
}

fn revoke_family(
    connection: &mut DbConnection,
    family_id: &str,
) -> Result<(), diesel::result::Error> {
    diesel::update(refresh_tokens::table.filter(refresh_tokens::family_id.eq(family_id)))
        .filter(refresh_tokens::revoked_at.is_null())
        .set(refresh_tokens::revoked_at.eq(Utc::now().naive_utc()))
        .execute(connection)?;
    Ok(())
}

/// The outcome of presenting a refresh token. A reuse is reported as a value, not an error, so
/// that the caller commits the family's revocation before answering 401.
pub enum Rotation {
    Rotated {
        user_id: UserId,
        refresh_token: String,
    },
    Invalid,
    Reused,
}

/// Spends `token` and returns its successor. Call inside a write transaction.
pub fn rotate(
    connection: &mut DbConnection,
    token: &str,
    ttl_seconds: u64,
) -> Result<Rotation, diesel::result::Error> {
    let Some(row) = find(connection, token)? else {
        return Ok(Rotation::Invalid);
    };
    if row.revoked_at.is_some() {
        return Ok(Rotation::Invalid);
    }
    if row.used_at.is_some() {
        revoke_family(connection, &row.family_id)?;
        return Ok(Rotation::Reused);
    }
    let now = Utc::now().naive_utc();
    if row.expires_at <= now {
        return Ok(Rotation::Invalid);
    }
    // Guarded on `used_at IS NULL`, so two concurrent refreshes cannot both spend it.
    let spent = diesel::update(refresh_tokens::table.find(&row.id))
        .filter(refresh_tokens::used_at.is_null())
        .set(refresh_tokens::used_at.eq(now))
        .execute(connection)?;
    if spent != 1 {
        revoke_family(connection, &row.family_id)?;
        return Ok(Rotation::Reused);
    }
    let Ok(user_id) = row.user_id.parse::<UserId>() else {
        return Ok(Rotation::Invalid);
    };
    let refresh_token = insert_token(connection, user_id, &row.family_id, ttl_seconds)?;
    Ok(Rotation::Rotated {
        user_id,
        refresh_token,
    })
}

/// Ends the login that `token` belongs to. Unknown tokens are ignored: logout always succeeds.
pub fn logout(connection: &mut DbConnection, token: &str) -> Result<(), diesel::result::Error> {
    if let Some(row) = find(connection, token)? {
        revoke_family(connection, &row.family_id)?;
    }
    Ok(())
}
