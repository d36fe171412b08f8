//! Invalid traffic: an operator flags a device or a whole account. Its further batches are
//! refused, and the ad revenue it generated is taken back through royalties — a clawback while
//! its period is open, an adjustment in the next period once it has closed (DESIGN.md §4) — and
//! what its impressions spent goes back to their campaigns' budgets, in the transaction of the
//! flag. A flagged account also loses what its agent earned: its free tier and its unspent
//! download credits (see `rewards`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};
use megabox_database::{DbConnection, write_transaction};
use megabox_domain::{MicroCents, UserId};
use megabox_protocol::DeviceId;

use crate::AdsError;
use crate::devices::find_device;
use crate::schema::{ads_campaigns, ads_devices, ads_flags, ads_revenue};
use crate::settle::{self, RevenueScope};

const REASON_CHARACTERS_MAX: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    Device,
    Account,
}

impl FlagKind {
    fn as_str(self) -> &'static str {
        match self {
            FlagKind::Device => "device",
            FlagKind::Account => "account",
        }
    }
}

/// A flagged device or account and what was taken back from it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Flag {
    pub kind: FlagKind,
    /// The device id or the user id.
    pub subject_id: String,
    pub reason: String,
    pub flagged_at: NaiveDateTime,
    /// Ad revenue of the flagged party clawed back so far.
    pub clawed_back: MicroCents,
}

fn checked_reason(reason: &str) -> Result<String, AdsError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > REASON_CHARACTERS_MAX {
        return Err(AdsError::InvalidInput(format!(
            "a flag reason is 1 to {REASON_CHARACTERS_MAX} characters"
        )));
    }
    Ok(reason.to_owned())
}

/// True when the device or its account is flagged.
pub(crate) fn is_flagged(
    connection: &mut DbConnection,
    device: DeviceId,
    user: UserId,
) -> Result<bool, diesel::result::Error> {
    let device_flag = ads_flags::kind
        .eq(FlagKind::Device.as_str())
        .and(ads_flags::subject_id.eq(device.0.to_string()));
    let account_flag = ads_flags::kind
        .eq(FlagKind::Account.as_str())
        .and(ads_flags::subject_id.eq(user.to_string()));
    let count: i64 = ads_flags::table
        .filter(device_flag.or(account_flag))
        .count()
        .get_result(connection)?;
    Ok(count > 0)
}

/// Flags one device. Running it again (say after a crash) finishes any clawback left undone and
/// keeps the first reason.
pub fn flag_device(
    connection: &mut DbConnection,
    device: DeviceId,
    reason: &str,
    now: NaiveDateTime,
) -> Result<Flag, AdsError> {
    let reason = checked_reason(reason)?;
    write_transaction(connection, |connection| {
        find_device(connection, device)?.ok_or(AdsError::NotFound { what: "device" })?;
        // Locks the device row, so a batch being taken in either commits before the flag (and
        // its revenue is clawed back below) or sees the flag.
        diesel::update(ads_devices::table.find(device.0.to_string()))
            .set(ads_devices::last_sequence.eq(ads_devices::last_sequence))
            .execute(connection)?;
        insert_flag(
            connection,
            FlagKind::Device,
            &device.0.to_string(),
            &reason,
            now,
        )?;
        claw_back(connection, RevenueScope::Device(device), now)?;
        find_flag(connection, FlagKind::Device, &device.0.to_string())
    })
}

/// Flags an account: all its devices are refused, all their revenue is clawed back, and the
/// account's free tier by its agent and its unspent download credits are gone.
pub fn flag_account(
    connection: &mut DbConnection,
    user: UserId,
    reason: &str,
    now: NaiveDateTime,
) -> Result<Flag, AdsError> {
    let reason = checked_reason(reason)?;
    write_transaction(connection, |connection| {
        diesel::update(ads_devices::table.filter(ads_devices::user_id.eq(user.to_string())))
            .set(ads_devices::last_sequence.eq(ads_devices::last_sequence))
            .execute(connection)?;
        insert_flag(
            connection,
            FlagKind::Account,
            &user.to_string(),
            &reason,
            now,
        )?;
        claw_back(connection, RevenueScope::Account(user), now)?;
        find_flag(connection, FlagKind::Account, &user.to_string())
    })
}

fn insert_flag(
    connection: &mut DbConnection,
    kind: FlagKind,
    subject_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), AdsError> {
    diesel::sql_query(
        "INSERT INTO ads_flags (kind, subject_id, reason, flagged_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (kind, subject_id) DO NOTHING",
    )
    .bind::<Text, _>(kind.as_str())
    .bind::<Text, _>(subject_id)
    .bind::<Text, _>(reason)
    .bind::<Timestamp, _>(now)
    .execute(connection)?;
    Ok(())
}

/// True when the account is flagged as a whole.
pub(crate) fn is_account_flagged(
    connection: &mut DbConnection,
    user: UserId,
) -> Result<bool, diesel::result::Error> {
    let count: i64 = ads_flags::table
        .filter(ads_flags::kind.eq(FlagKind::Account.as_str()))
        .filter(ads_flags::subject_id.eq(user.to_string()))
        .count()
        .get_result(connection)?;
    Ok(count > 0)
}

/// Hands any revenue of the scope still waiting to royalties, then claws all of it back and
/// returns what it spent to its campaigns' budgets; call inside a write transaction.
fn claw_back(
    connection: &mut DbConnection,
    scope: RevenueScope,
    now: NaiveDateTime,
) -> Result<(), AdsError> {
    settle::record_pending_revenue(connection, scope, now)?;
    let mut query = ads_revenue::table
        .filter(ads_revenue::recorded_at.is_not_null())
        .filter(ads_revenue::clawed_back_at.is_null())
        .select((
            ads_revenue::source_id,
            ads_revenue::campaign_id,
            ads_revenue::amount_micro_cents,
        ))
        .into_boxed();
    query = match scope {
        RevenueScope::Device(device) => {
            query.filter(ads_revenue::device_id.eq(device.0.to_string()))
        }
        RevenueScope::Account(user) => query.filter(ads_revenue::user_id.eq(user.to_string())),
        RevenueScope::All => query,
    };
    let rows: Vec<(String, String, i64)> = query.load(connection)?;
    for (source_id, campaign_id, amount_micro_cents) in rows {
        royalties::clawback_ad_revenue(connection, &source_id, now)?;
        diesel::update(ads_revenue::table.find(&source_id))
            .set(ads_revenue::clawed_back_at.eq(now))
            .execute(connection)?;
        // The revenue row is the campaign's spend on those impressions, so it goes back whole.
        diesel::update(ads_campaigns::table.find(&campaign_id))
            .set(
                ads_campaigns::spent_micro_cents
                    .eq(ads_campaigns::spent_micro_cents - amount_micro_cents),
            )
            .execute(connection)?;
    }
    Ok(())
}

fn clawed_back_total(
    connection: &mut DbConnection,
    kind: FlagKind,
    subject_id: &str,
) -> Result<MicroCents, AdsError> {
    let query = ads_revenue::table
        .filter(ads_revenue::clawed_back_at.is_not_null())
        .select(ads_revenue::amount_micro_cents);
    let amounts: Vec<i64> = match kind {
        FlagKind::Device => query
            .filter(ads_revenue::device_id.eq(subject_id))
            .load(connection)?,
        FlagKind::Account => query
            .filter(ads_revenue::user_id.eq(subject_id))
            .load(connection)?,
    };
    amounts
        .into_iter()
        .try_fold(MicroCents::ZERO, |total, amount| {
            total.checked_add(MicroCents(amount))
        })
        .map_err(|_| AdsError::Overflow)
}

fn find_flag(
    connection: &mut DbConnection,
    kind: FlagKind,
    subject_id: &str,
) -> Result<Flag, AdsError> {
    let (reason, flagged_at): (String, NaiveDateTime) = ads_flags::table
        .find((kind.as_str(), subject_id))
        .select((ads_flags::reason, ads_flags::flagged_at))
        .first(connection)?;
    let clawed_back = clawed_back_total(connection, kind, subject_id)?;
    Ok(Flag {
        kind,
        subject_id: subject_id.to_owned(),
        reason,
        flagged_at,
        clawed_back,
    })
}

/// Every flag, most recent first.
pub fn flagged(connection: &mut DbConnection) -> Result<Vec<Flag>, AdsError> {
    let rows: Vec<(String, String)> = ads_flags::table
        .select((ads_flags::kind, ads_flags::subject_id))
        .order((ads_flags::flagged_at.desc(), ads_flags::subject_id))
        .load(connection)?;
    rows.into_iter()
        .map(|(kind, subject_id)| {
            let kind = match kind.as_str() {
                "device" => FlagKind::Device,
                "account" => FlagKind::Account,
                other => return Err(AdsError::CorruptRow(format!("flag kind {other:?}"))),
            };
            find_flag(connection, kind, &subject_id)
        })
        .collect()
}
