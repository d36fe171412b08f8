//! Pairing agent installs with accounts, and the account's list of its devices.
//!
//! The installer asks for a short code on the website ([`create_pairing_code`]) and types it into
//! `megabox-agent pair`; the agent sends it with its Ed25519 public key ([`pair_device`]). Codes
//! are one-time, expire quickly and are stored only as a SHA-256 hash; the store's per-IP rate
//! limit on `POST /api/v1/devices` bounds guessing.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use megabox_database::{DbConnection, write_transaction};
use megabox_domain::UserId;
use megabox_protocol::{DeviceId, PairingCode, PublicKey};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::schema::{ads_devices, ads_pairing_codes};
use crate::{AdsError, AdsSettings, chrono_duration};

/// Characters a code is made of: capitals and digits without the look-alikes 0/O, 1/I/L.
pub const PAIRING_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Characters in a code: 31^8 ≈ 8.5 × 10^11 possibilities for a code that lives ten minutes.
pub const PAIRING_CODE_LENGTH: usize = 8;
const HOUR_SECONDS: i64 = 3600;

/// A fresh code, shown to the installer once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PairingCodeIssued {
    pub code: String,
    pub expires_at: NaiveDateTime,
}

/// An agent install paired with an account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Device {
    pub id: DeviceId,
    pub user: UserId,
    pub public_key: PublicKey,
    pub paired_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_batch_at: Option<NaiveDateTime>,
}

fn code_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.to_ascii_uppercase().as_bytes()))
}

/// Creates a one-time pairing code for `user`, valid for `settings.pairing_code_lifetime`; at
/// most `settings.pairing_codes_per_hour_max` per account per hour.
pub fn create_pairing_code(
    connection: &mut DbConnection,
    user: UserId,
    now: NaiveDateTime,
    settings: &AdsSettings,
) -> Result<PairingCodeIssued, AdsError> {
    let mut random = rand::rng();
    let code: String = (0..PAIRING_CODE_LENGTH)
        .map(|_| {
            char::from(PAIRING_CODE_ALPHABET[random.random_range(0..PAIRING_CODE_ALPHABET.len())])
        })
        .collect();
    let expires_at = now + chrono_duration(settings.pairing_code_lifetime);
    write_transaction(connection, |connection| {
        let recent: i64 = ads_pairing_codes::table
            .filter(ads_pairing_codes::user_id.eq(user.to_string()))
            .filter(
                ads_pairing_codes::created_at.gt(now - chrono::TimeDelta::seconds(HOUR_SECONDS)),
            )
            .count()
            .get_result(connection)?;
        if recent >= settings.pairing_codes_per_hour_max {
            return Err(AdsError::TooManyPairingCodes);
        }
        diesel::insert_into(ads_pairing_codes::table)
            .values((
                ads_pairing_codes::code_hash.eq(code_hash(&code)),
                ads_pairing_codes::user_id.eq(user.to_string()),
                ads_pairing_codes::created_at.eq(now),
                ads_pairing_codes::expires_at.eq(expires_at),
            ))
            .execute(connection)?;
        Ok(PairingCodeIssued { code, expires_at })
    })
}

/// Pairs the install holding `public_key` with the account that created `code`. The code works
/// once and only before it expires (case-insensitive, dashes and spaces ignored); the key must be
/// a valid, non-weak Ed25519 key that no other device uses.
pub fn pair_device(
    connection: &mut DbConnection,
    code: &PairingCode,
    public_key: &PublicKey,
    now: NaiveDateTime,
) -> Result<Device, AdsError> {
    let verifying_key = public_key
        .verifying_key()
        .map_err(|_| AdsError::InvalidPublicKey)?;
    // Small-order keys would let "signatures" verify for many messages.
    if verifying_key.is_weak() {
        return Err(AdsError::InvalidPublicKey);
    }
    let hash = code_hash(code.as_str());
    write_transaction(connection, |connection| {
        let stored: Option<(String, NaiveDateTime, Option<NaiveDateTime>)> =
            ads_pairing_codes::table
                .find(&hash)
                .select((
                    ads_pairing_codes::user_id,
                    ads_pairing_codes::expires_at,
                    ads_pairing_codes::used_at,
                ))
                .first(connection)
                .optional()?;
        let (user_id, expires_at, used_at) = stored.ok_or(AdsError::PairingCodeUnknown)?;
        if used_at.is_some() {
            return Err(AdsError::PairingCodeUsed);
        }
        if expires_at <= now {
            return Err(AdsError::PairingCodeExpired);
        }
        let key_text = public_key.to_string();
        let key_taken: i64 = ads_devices::table
            .filter(ads_devices::public_key.eq(&key_text))
            .count()
            .get_result(connection)?;
        if key_taken > 0 {
            return Err(AdsError::PublicKeyTaken);
        }
        let device = Device {
            id: DeviceId(uuid::Uuid::now_v7()),
            user: user_id
                .parse()
                .map_err(|_| AdsError::CorruptRow(format!("user id {user_id:?}")))?,
            public_key: *public_key,
            paired_at: now,
            revoked_at: None,
            last_batch_at: None,
        };
        // Claiming the code with a condition makes two concurrent pairings with one code
        // produce exactly one device.
        let claimed = diesel::update(
            ads_pairing_codes::table
                .find(&hash)
                .filter(ads_pairing_codes::used_at.is_null()),
        )
        .set((
            ads_pairing_codes::used_at.eq(now),
            ads_pairing_codes::device_id.eq(device.id.0.to_string()),
        ))
        .execute(connection)?;
        if claimed == 0 {
            return Err(AdsError::PairingCodeUsed);
        }
        diesel::insert_into(ads_devices::table)
            .values((
                ads_devices::id.eq(device.id.0.to_string()),
                ads_devices::user_id.eq(&user_id),
                ads_devices::public_key.eq(&key_text),
                ads_devices::paired_at.eq(now),
            ))
            .execute(connection)?;
        Ok(device)
    })
}

type DeviceRow = (
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

fn device_from_row(row: DeviceRow) -> Result<Device, AdsError> {
    let (id, user, public_key, paired_at, revoked_at, last_batch_at) = row;
    let corrupt = |what: &str, text: &str| AdsError::CorruptRow(format!("{what} {text:?}"));
    Ok(Device {
        id: DeviceId(uuid::Uuid::parse_str(&id).map_err(|_| corrupt("device id", &id))?),
        user: user.parse().map_err(|_| corrupt("user id", &user))?,
        public_key: public_key
            .parse()
            .map_err(|_| corrupt("public key", &public_key))?,
        paired_at,
        revoked_at,
        last_batch_at,
    })
}

fn device_columns() -> (
    ads_devices::id,
    ads_devices::user_id,
    ads_devices::public_key,
    ads_devices::paired_at,
    ads_devices::revoked_at,
    ads_devices::last_batch_at,
) {
    (
        ads_devices::id,
        ads_devices::user_id,
        ads_devices::public_key,
        ads_devices::paired_at,
        ads_devices::revoked_at,
        ads_devices::last_batch_at,
    )
}

/// The account's devices, revoked ones included (with `revoked_at`), oldest first.
pub fn list_devices(connection: &mut DbConnection, user: UserId) -> Result<Vec<Device>, AdsError> {
    let rows: Vec<DeviceRow> = ads_devices::table
        .filter(ads_devices::user_id.eq(user.to_string()))
        .select(device_columns())
        .order(ads_devices::id)
        .load(connection)?;
    rows.into_iter().map(device_from_row).collect()
}

/// Any device by id, whoever owns it (for intake and the operator's flags).
pub(crate) fn find_device(
    connection: &mut DbConnection,
    device: DeviceId,
) -> Result<Option<Device>, AdsError> {
    let row: Option<DeviceRow> = ads_devices::table
        .find(device.0.to_string())
        .select(device_columns())
        .first(connection)
        .optional()?;
    row.map(device_from_row).transpose()
}

/// Revokes one of the account's devices: its further batches are refused. Another account's
/// device is [`AdsError::NotFound`]. Revoking twice keeps the first time.
pub fn revoke_device(
    connection: &mut DbConnection,
    user: UserId,
    device: DeviceId,
    now: NaiveDateTime,
) -> Result<Device, AdsError> {
    write_transaction(connection, |connection| {
        let found = find_device(connection, device)?.filter(|found| found.user == user);
        let found = found.ok_or(AdsError::NotFound { what: "device" })?;
        if found.revoked_at.is_some() {
            return Ok(found);
        }
        diesel::update(ads_devices::table.find(device.0.to_string()))
            .set(ads_devices::revoked_at.eq(now))
            .execute(connection)?;
        Ok(Device {
            revoked_at: Some(now),
            ..found
        })
    })
}
