//! Intake of signed impression batches (DESIGN.md §3.3, §5): the whole batch is checked against
//! its device (known, not revoked, not flagged, signature, sequence), then each event on its own
//! (duplicate, freshness, creative, campaign, caps, budget); accepted events are charged to their
//! campaign and their revenue attributed to the installer — all in one transaction per batch.
//!
//! Idempotency: the receipt of every batch is stored by (device, sequence). A byte-identical
//! resend gets the stored receipt back and changes nothing; other bytes under a used sequence,
//! or a sequence at or below the last accepted one, refuse the whole batch. (device, event id)
//! and (device, nonce) are unique in the database, which stays the source of truth when a
//! [`Deduper`] (Redis `SET NX`) is used to skip the duplicate lookup for events it has never seen.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use megabox_database::{Backend as Engine, DbConnection, write_transaction};
use megabox_protocol::{BatchResponse, DeviceId, EventId, ImpressionBatch, ImpressionEvent, ProtocolError, RejectionReason};
use royalties::Period;
use sha2::{Digest, Sha256};

use crate::campaigns::{CampaignStatus, IMPRESSION_MICRO_CENTS_PER_CPM_CENT};
use crate::devices::{Device, find_device};
use crate::schema::{ads_batches, ads_campaigns, ads_creatives, ads_devices, ads_impressions};
use crate::sql::{OnConflict, SqlValue, insert_rows};
use crate::{AdsError, AdsSettings, chrono_duration, day_of, flags, settle};

const MICRO_CENTS_PER_CENT: i64 = 1_000_000;
/// Length of a time bucket (`megabox_protocol::TIME_BUCKET_SECONDS`); an event may have
/// happened anywhere inside its bucket.
const BUCKET_SECONDS: i64 = 3600;
/// IPv6 clients are capped per /64: one subscriber usually holds a whole /64.
const IPV6_CAP_PREFIX_BITS: u32 = 64;

/// Why a batch or one of its events was refused; `as_str` is the stable snake_case code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    // Whole-batch refusals.
    /// The signature does not verify with the device's key.
    BadSignature,
    /// No device has this id.
    UnknownDevice,
    /// The installer revoked the device.
    RevokedDevice,
    /// An operator flagged the device or its account for invalid traffic.
    FlaggedDevice,
    /// Too many or no events, a repeated event id, or a sequence beyond 2^63 − 1.
    MalformedBatch,
    /// The sequence is not above the last accepted one (and the bytes are not a known resend).
    StaleSequence,
    // Per-event rejections.
    /// The time bucket is older than the accepted age.
    StaleTimestamp,
    /// The time bucket starts in the future beyond the clock-skew allowance.
    FutureTimestamp,
    /// The device already reported this event id or nonce.
    Duplicate,
    OverDeviceCap,
    OverAccountCap,
    OverIpCap,
    /// No creative with this id and size.
    UnknownCreative,
    /// The creative's campaign is paused, ended or outside its flight at the event's time.
    CampaignInactive,
    /// The campaign's budget cannot pay for another impression.
    BudgetExhausted,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BadSignature => "bad_signature",
            Reason::UnknownDevice => "unknown_device",
            Reason::RevokedDevice => "revoked_device",
            Reason::FlaggedDevice => "flagged_device",
            Reason::MalformedBatch => "malformed_batch",
            Reason::StaleSequence => "stale_sequence",
            Reason::StaleTimestamp => "stale_timestamp",
            Reason::FutureTimestamp => "future_timestamp",
            Reason::Duplicate => "duplicate",
            Reason::OverDeviceCap => "over_device_cap",
            Reason::OverAccountCap => "over_account_cap",
            Reason::OverIpCap => "over_ip_cap",
            Reason::UnknownCreative => "unknown_creative",
            Reason::CampaignInactive => "campaign_inactive",
            Reason::BudgetExhausted => "budget_exhausted",
        }
    }

    /// The coarser reason of the wire protocol, for per-event rejections. A creative whose
    /// campaign cannot pay is, for the agent, a creative that does not run.
    pub fn to_protocol(self) -> RejectionReason {
        match self {
            Reason::Duplicate => RejectionReason::Duplicate,
            Reason::StaleTimestamp | Reason::FutureTimestamp => RejectionReason::Stale,
            Reason::OverDeviceCap | Reason::OverAccountCap | Reason::OverIpCap => RejectionReason::CapExceeded,
            _ => RejectionReason::UnknownCreative,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RejectedEvent {
    pub event_id: EventId,
    pub reason: Reason,
}

/// The outcome of one batch: every event appears once, accepted or rejected, in batch order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IntakeReceipt {
    pub accepted: Vec<EventId>,
    pub rejected: Vec<RejectedEvent>,
}

impl IntakeReceipt {
    /// The wire answer (`megabox-protocol`'s [`BatchResponse`]).
    pub fn to_protocol(&self) -> BatchResponse {
        BatchResponse {
            accepted: self.accepted.clone(),
            rejected: self
                .rejected
                .iter()
                .map(|rejected| megabox_protocol::RejectedEvent { event_id: rejected.event_id, reason: rejected.reason.to_protocol() })
                .collect(),
        }
    }
}

/// The fast-path dedupe store is unreachable; intake falls back to the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dedupe store unavailable: {0}")]
pub struct DeduperUnavailable(pub String);

/// A fast "have we seen this event?" store in front of the database (Redis `SET NX` with a TTL
/// longer than the accepted event age). It only ever saves a lookup: an event it calls new is
/// still inserted under the database's unique constraint, and an event it has seen is checked
/// in the database, so losing or flushing it cannot cause a double count or a false duplicate.
pub trait Deduper: Send + Sync {
    /// Claims each (device, event): `true` when this call is the first to claim it.
    fn claim(&self, device: DeviceId, events: &[EventId]) -> Result<Vec<bool>, DeduperUnavailable>;
}

/// A failure inside the intake transaction: either a real error, or a duplicate the deduper
/// called new (only possible after it lost data), which reruns the batch without the deduper.
enum ProcessError {
    Ads(AdsError),
    DeduperMissedDuplicate,
}

impl From<diesel::result::Error> for ProcessError {
    fn from(error: diesel::result::Error) -> Self {
        ProcessError::Ads(AdsError::Database(error))
    }
}

impl From<AdsError> for ProcessError {
    fn from(error: AdsError) -> Self {
        ProcessError::Ads(error)
    }
}

fn refused(reason: Reason) -> AdsError {
    AdsError::BatchRefused(reason)
}

/// Processes one signed batch from `client_ip` at `now` (see the module documentation).
/// A refused batch is an `Err(AdsError::BatchRefused(reason))` and has no effect; otherwise the
/// receipt says what happened to each event. Revenue reaches royalties right after the commit.
pub fn intake_batch(
    connection: &mut DbConnection,
    batch: &ImpressionBatch,
    client_ip: IpAddr,
    now: NaiveDateTime,
    settings: &AdsSettings,
    deduper: Option<&dyn Deduper>,
) -> Result<IntakeReceipt, AdsError> {
    let sequence = i64::try_from(batch.sequence).map_err(|_| refused(Reason::MalformedBatch))?;
    let device = find_device(connection, batch.device_id)?.ok_or(refused(Reason::UnknownDevice))?;
    batch.verify(&device.public_key).map_err(|error| match error {
        ProtocolError::BadSignature | ProtocolError::InvalidPublicKey => refused(Reason::BadSignature),
        _ => refused(Reason::MalformedBatch),
    })?;
    if device.revoked_at.is_some() {
        return Err(refused(Reason::RevokedDevice));
    }
    let digest = hex::encode(Sha256::digest(batch.canonical_bytes()));
    let event_ids: Vec<EventId> = batch.events.iter().map(|event| event.event_id).collect();
    // Asked before the transaction, so the round trip is not made under the write lock.
    let claims = deduper.and_then(|deduper| match deduper.claim(device.id, &event_ids) {
        Ok(claims) if claims.len() == event_ids.len() => Some(claims),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, "impression dedupe store unavailable; checking the database");
            None
        }
    });
    let context = BatchContext { batch, device: &device, sequence, digest: &digest, client_ip, now, settings };
    let first = write_transaction(connection, |connection| process(connection, &context, claims.as_deref()));
    let receipt = match first {
        Ok(receipt) => receipt,
        Err(ProcessError::Ads(error)) => return Err(error),
        Err(ProcessError::DeduperMissedDuplicate) => {
            match write_transaction(connection, |connection| process(connection, &context, None)) {
                Ok(receipt) => receipt,
                Err(ProcessError::Ads(error)) => return Err(error),
                Err(ProcessError::DeduperMissedDuplicate) => {
                    return Err(AdsError::CorruptRow("a duplicate impression passed the duplicate check".to_owned()));
                }
            }
        }
    };
    // On SQLite the impressions are committed but their revenue is not recorded yet (see
    // `process`); if royalties fails now, `settle_royalties` or this device's next batch
    // hands it over later.
    if connection.backend() == Engine::Sqlite
        && let Err(error) = settle::record_pending_revenue(connection, settle::RevenueScope::Device(device.id), now)
    {
        tracing::warn!(%error, device.id = %device.id.0, "ad revenue not yet recorded in royalties; will retry");
    }
    Ok(receipt)
}

struct BatchContext<'a> {
    batch: &'a ImpressionBatch,
    device: &'a Device,
    sequence: i64,
    digest: &'a str,
    client_ip: IpAddr,
    now: NaiveDateTime,
    settings: &'a AdsSettings,
}

/// One campaign as intake needs it, read under its row lock.
struct CampaignState {
    cost_micro_cents: i64,
    budget_micro_cents: i64,
    spent_micro_cents: i64,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum CapScope {
    // Declared in the order of the scope names, so counters lock in one global order.
    Account,
    Device,
    Ip,
}

impl CapScope {
    fn as_str(self) -> &'static str {
        match self {
            CapScope::Account => "account",
            CapScope::Device => "device",
            CapScope::Ip => "ip",
        }
    }
}

type CounterKey = (CapScope, String, String);

#[derive(QueryableByName)]
struct CounterRow {
    #[diesel(sql_type = BigInt)]
    impressions: i64,
}

/// The address whose daily cap a client counts against: IPv4 as is, IPv6 by its /64.
fn ip_cap_subject(client_ip: IpAddr) -> String {
    match client_ip {
        IpAddr::V4(address) => address.to_string(),
        IpAddr::V6(address) => {
            let prefix = u128::from(address) & (u128::MAX << (128 - IPV6_CAP_PREFIX_BITS));
            format!("{}/{IPV6_CAP_PREFIX_BITS}", std::net::Ipv6Addr::from(prefix))
        }
    }
}

/// Creates the counter row if needed, locks it (PostgreSQL) and returns its count.
fn lock_counter(connection: &mut DbConnection, (scope, subject, day): &CounterKey) -> Result<i64, diesel::result::Error> {
    let row: CounterRow = diesel::sql_query(
        "INSERT INTO ads_daily_counts (scope, subject, day, impressions) VALUES ($1, $2, $3, 0) \
         ON CONFLICT (scope, subject, day) DO UPDATE SET impressions = ads_daily_counts.impressions \
         RETURNING impressions",
    )
    .bind::<Text, _>(scope.as_str())
    .bind::<Text, _>(subject)
    .bind::<Text, _>(day)
    .get_result(connection)?;
    Ok(row.impressions)
}

/// When the event's time bucket starts, or why it is not acceptable now.
fn event_time(event: &ImpressionEvent, now: NaiveDateTime, settings: &AdsSettings) -> Result<NaiveDateTime, Reason> {
    let occurred_at = i64::try_from(event.time_bucket.start_unix_seconds())
        .ok()
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
        .map(|instant| instant.naive_utc())
        .ok_or(Reason::FutureTimestamp)?;
    if occurred_at > now + chrono_duration(settings.event_future_tolerance) {
        return Err(Reason::FutureTimestamp);
    }
    if occurred_at < now - chrono_duration(settings.event_age_max) {
        return Err(Reason::StaleTimestamp);
    }
    Ok(occurred_at)
}

fn process(connection: &mut DbConnection, context: &BatchContext<'_>, claims: Option<&[bool]>) -> Result<IntakeReceipt, ProcessError> {
    let BatchContext { batch, device, sequence, digest, client_ip, now, settings } = *context;
    let device_id = device.id.0.to_string();
    let user_id = device.user.to_string();

    // The device row lock serialises this device's batches (PostgreSQL; SQLite has one writer).
    diesel::update(ads_devices::table.find(&device_id)).set(ads_devices::last_batch_at.eq(now)).execute(connection)?;
    let (revoked_at, last_sequence): (Option<NaiveDateTime>, Option<i64>) =
        ads_devices::table.find(&device_id).select((ads_devices::revoked_at, ads_devices::last_sequence)).first(connection)?;
    let stored: Option<(String, String)> = ads_batches::table
        .find((&device_id, sequence))
        .select((ads_batches::digest, ads_batches::receipt))
        .first(connection)
        .optional()?;
    if let Some((stored_digest, receipt)) = stored {
        if stored_digest != digest {
            return Err(refused(Reason::StaleSequence).into());
        }
        // A resend of a processed batch: the same answer and no other effect (the
        // `last_batch_at` touch above only records the contact).
        return serde_json::from_str(&receipt).map_err(|error| AdsError::CorruptRow(format!("batch receipt: {error}")).into());
    }
    if last_sequence.is_some_and(|last| sequence <= last) {
        return Err(refused(Reason::StaleSequence).into());
    }
    if revoked_at.is_some() {
        return Err(refused(Reason::RevokedDevice).into());
    }
    if flags::is_flagged(connection, device.id, device.user)? {
        return Err(refused(Reason::FlaggedDevice).into());
    }

    // Events already recorded for this device. Events the deduper just claimed as new skip this
    // lookup; the insert below still proves them new.
    let needs_lookup = |index: usize| claims.is_none_or(|claims| !claims[index]);
    let lookup_events: Vec<String> =
        batch.events.iter().enumerate().filter(|(index, _)| needs_lookup(*index)).map(|(_, event)| event.event_id.0.to_string()).collect();
    let lookup_nonces: Vec<String> =
        batch.events.iter().enumerate().filter(|(index, _)| needs_lookup(*index)).map(|(_, event)| event.nonce.to_string()).collect();
    let (seen_events, seen_nonces): (HashSet<String>, HashSet<String>) = if lookup_events.is_empty() {
        (HashSet::new(), HashSet::new())
    } else {
        let rows: Vec<(String, String)> = ads_impressions::table
            .filter(ads_impressions::device_id.eq(&device_id))
            .filter(ads_impressions::event_id.eq_any(&lookup_events).or(ads_impressions::nonce.eq_any(&lookup_nonces)))
            .select((ads_impressions::event_id, ads_impressions::nonce))
            .load(connection)?;
        rows.into_iter().unzip()
    };

    // Creatives and their campaigns, then the campaigns locked in id order (no deadlocks).
    let creative_ids: BTreeSet<&str> = batch.events.iter().map(|event| event.creative_id.as_str()).collect();
    let creatives: HashMap<String, (String, String)> = ads_creatives::table
        .filter(ads_creatives::id.eq_any(&creative_ids))
        .select((ads_creatives::id, ads_creatives::size, ads_creatives::campaign_id))
        .load::<(String, String, String)>(connection)?
        .into_iter()
        .map(|(id, size, campaign)| (id, (size, campaign)))
        .collect();
    let campaign_ids: BTreeSet<&String> = creatives.values().map(|(_, campaign)| campaign).collect();
    let mut campaigns: HashMap<String, CampaignState> = HashMap::new();
    for campaign_id in campaign_ids {
        diesel::update(ads_campaigns::table.find(campaign_id))
            .set(ads_campaigns::spent_micro_cents.eq(ads_campaigns::spent_micro_cents))
            .execute(connection)?;
        let (cpm_cents, budget_cents, spent_micro_cents, starts_at, ends_at, status): (i64, i64, i64, NaiveDateTime, NaiveDateTime, String) =
            ads_campaigns::table
                .find(campaign_id)
                .select((
                    ads_campaigns::cpm_cents,
                    ads_campaigns::budget_cents,
                    ads_campaigns::spent_micro_cents,
                    ads_campaigns::starts_at,
                    ads_campaigns::ends_at,
                    ads_campaigns::status,
                ))
                .first(connection)?;
        campaigns.insert(
            campaign_id.clone(),
            CampaignState {
                cost_micro_cents: cpm_cents.checked_mul(IMPRESSION_MICRO_CENTS_PER_CPM_CENT).ok_or(AdsError::Overflow)?,
                budget_micro_cents: budget_cents.checked_mul(MICRO_CENTS_PER_CENT).ok_or(AdsError::Overflow)?,
                spent_micro_cents,
                starts_at,
                ends_at,
                active: status == CampaignStatus::Active.as_str(),
            },
        );
    }

    // Daily counters of the days the fresh events fall on, locked in key order.
    let event_times: Vec<Result<NaiveDateTime, Reason>> = batch.events.iter().map(|event| event_time(event, now, settings)).collect();
    let ip_subject = ip_cap_subject(client_ip);
    let counter_key = |scope: CapScope, day: &str| -> CounterKey {
        let subject = match scope {
            CapScope::Account => user_id.clone(),
            CapScope::Device => device_id.clone(),
            CapScope::Ip => ip_subject.clone(),
        };
        (scope, subject, day.to_owned())
    };
    let days: BTreeSet<String> = event_times.iter().flatten().map(|occurred_at| day_of(*occurred_at)).collect();
    let mut counters: BTreeMap<CounterKey, (i64, i64)> = BTreeMap::new();
    for day in &days {
        for scope in [CapScope::Account, CapScope::Device, CapScope::Ip] {
            counters.insert(counter_key(scope, day), (0, 0));
        }
    }
    for (key, (count, _)) in counters.iter_mut() {
        *count = lock_counter(connection, key)?;
    }

    let mut receipt = IntakeReceipt::default();
    let mut nonces_in_batch = HashSet::new();
    let mut impression_rows = Vec::new();
    let mut revenue: BTreeMap<(String, Period), (i64, NaiveDateTime)> = BTreeMap::new();
    for (event, occurred_at) in batch.events.iter().zip(event_times) {
        let nonce = event.nonce.to_string();
        let verdict = (|| {
            if !nonces_in_batch.insert(nonce.clone())
                || seen_events.contains(&event.event_id.0.to_string())
                || seen_nonces.contains(&nonce)
            {
                return Err(Reason::Duplicate);
            }
            let occurred_at = occurred_at?;
            let (size, campaign_id) = creatives.get(event.creative_id.as_str()).ok_or(Reason::UnknownCreative)?;
            if *size != event.size.to_string() {
                return Err(Reason::UnknownCreative);
            }
            let campaign = campaigns.get(campaign_id).ok_or(Reason::UnknownCreative)?;
            let bucket_end = occurred_at + chrono::TimeDelta::seconds(BUCKET_SECONDS);
            if !campaign.active || bucket_end <= campaign.starts_at || occurred_at >= campaign.ends_at {
                return Err(Reason::CampaignInactive);
            }
            let day = day_of(occurred_at);
            let caps = [
                (CapScope::Device, settings.impressions_per_device_per_day_max, Reason::OverDeviceCap),
                (CapScope::Account, settings.impressions_per_account_per_day_max, Reason::OverAccountCap),
                (CapScope::Ip, settings.impressions_per_ip_per_day_max, Reason::OverIpCap),
            ];
            for (scope, cap, reason) in caps {
                let (count, added) = counters.get(&counter_key(scope, &day)).copied().unwrap_or((0, 0));
                if count + added >= cap {
                    return Err(reason);
                }
            }
            if campaign.spent_micro_cents + campaign.cost_micro_cents > campaign.budget_micro_cents {
                return Err(Reason::BudgetExhausted);
            }
            Ok((occurred_at, day, campaign_id.clone()))
        })();
        let (occurred_at, day, campaign_id) = match verdict {
            Ok(accepted) => accepted,
            Err(reason) => {
                receipt.rejected.push(RejectedEvent { event_id: event.event_id, reason });
                continue;
            }
        };
        for scope in [CapScope::Account, CapScope::Device, CapScope::Ip] {
            if let Some((_, added)) = counters.get_mut(&counter_key(scope, &day)) {
                *added += 1;
            }
        }
        let campaign = campaigns.get_mut(&campaign_id).ok_or(AdsError::Overflow)?;
        campaign.spent_micro_cents += campaign.cost_micro_cents;
        let cost = campaign.cost_micro_cents;
        let group = revenue.entry((campaign_id.clone(), Period::containing(occurred_at))).or_insert((0, occurred_at));
        group.0 = group.0.checked_add(cost).ok_or(AdsError::Overflow)?;
        group.1 = group.1.min(occurred_at);
        impression_rows.push(vec![
            SqlValue::Text(device_id.clone()),
            SqlValue::Text(event.event_id.0.to_string()),
            SqlValue::Text(nonce),
            SqlValue::Text(user_id.clone()),
            SqlValue::Text(event.creative_id.as_str().to_owned()),
            SqlValue::Text(campaign_id),
            SqlValue::BigInt(cost),
            SqlValue::Timestamp(occurred_at),
            SqlValue::BigInt(sequence),
        ]);
        receipt.accepted.push(event.event_id);
    }

    let accepted_count = impression_rows.len();
    let inserted = insert_rows(
        connection,
        "ads_impressions",
        &["device_id", "event_id", "nonce", "user_id", "creative_id", "campaign_id", "cost_micro_cents", "occurred_at", "batch_sequence"],
        impression_rows,
        OnConflict::Skip,
    )?;
    if inserted != accepted_count {
        return Err(ProcessError::DeduperMissedDuplicate);
    }
    for ((scope, subject, day), (_, added)) in &counters {
        if *added > 0 {
            diesel::sql_query("UPDATE ads_daily_counts SET impressions = impressions + $1 WHERE scope = $2 AND subject = $3 AND day = $4")
                .bind::<BigInt, _>(added)
                .bind::<Text, _>(scope.as_str())
                .bind::<Text, _>(subject)
                .bind::<Text, _>(day)
                .execute(connection)?;
        }
    }
    for (campaign_id, campaign) in &campaigns {
        diesel::update(ads_campaigns::table.find(campaign_id))
            .set(ads_campaigns::spent_micro_cents.eq(campaign.spent_micro_cents))
            .execute(connection)?;
    }
    if accepted_count > 0 {
        diesel::sql_query(
            "INSERT INTO ads_installer_credits (user_id, impressions_total, credits_redeemed) VALUES ($1, $2, 0) \
             ON CONFLICT (user_id) DO UPDATE SET impressions_total = ads_installer_credits.impressions_total + excluded.impressions_total",
        )
        .bind::<Text, _>(&user_id)
        .bind::<BigInt, _>(i64::try_from(accepted_count).map_err(|_| AdsError::Overflow)?)
        .execute(connection)?;
    }
    let revenue_rows: Vec<Vec<SqlValue>> = revenue
        .into_iter()
        .map(|((campaign_id, period), (amount, occurred_at))| {
            vec![
                SqlValue::Text(format!("impressions:{device_id}:{sequence}:{campaign_id}:{period}")),
                SqlValue::Text(device_id.clone()),
                SqlValue::Text(user_id.clone()),
                SqlValue::Text(campaign_id),
                SqlValue::BigInt(amount),
                SqlValue::Timestamp(occurred_at),
            ]
        })
        .collect();
    insert_rows(
        connection,
        "ads_revenue",
        &["source_id", "device_id", "user_id", "campaign_id", "amount_micro_cents", "occurred_at"],
        revenue_rows,
        OnConflict::Fail,
    )?;
    let receipt_text = serde_json::to_string(&receipt).map_err(|error| AdsError::CorruptRow(format!("batch receipt: {error}")))?;
    diesel::insert_into(ads_batches::table)
        .values((
            ads_batches::device_id.eq(&device_id),
            ads_batches::sequence.eq(sequence),
            ads_batches::digest.eq(digest),
            ads_batches::receipt.eq(receipt_text),
            ads_batches::received_at.eq(now),
        ))
        .execute(connection)?;
    diesel::update(ads_devices::table.find(&device_id)).set(ads_devices::last_sequence.eq(sequence)).execute(connection)?;
    // PostgreSQL nests royalties' own transaction as a savepoint, so there the revenue is
    // recorded in this very transaction (one commit per batch). SQLite cannot nest
    // transactions: `intake_batch` records it right after the commit instead.
    if connection.backend() == Engine::Postgres {
        settle::record_pending_revenue(connection, settle::RevenueScope::Device(device.id), now)?;
    }
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_length_matches_the_protocol() {
        assert_eq!(u64::try_from(BUCKET_SECONDS), Ok(megabox_protocol::TIME_BUCKET_SECONDS));
    }

    #[test]
    fn ipv6_clients_are_capped_per_slash_64() {
        let cases = [
            ("203.0.113.9", "203.0.113.9"),
            ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
            ("::1", "::/64"),
        ];
        for (address, expected) in cases {
            let parsed: IpAddr = address.parse().unwrap_or_else(|error| panic!("{address}: {error}"));
            assert_eq!(ip_cap_subject(parsed), expected);
        }
    }

    #[test]
    fn every_reason_has_a_distinct_snake_case_code_matching_serde() {
        let reasons = [
            Reason::BadSignature,
            Reason::UnknownDevice,
            Reason::RevokedDevice,
            Reason::FlaggedDevice,
            Reason::MalformedBatch,
            Reason::StaleSequence,
            Reason::StaleTimestamp,
            Reason::FutureTimestamp,
            Reason::Duplicate,
            Reason::OverDeviceCap,
            Reason::OverAccountCap,
            Reason::OverIpCap,
            Reason::UnknownCreative,
            Reason::CampaignInactive,
            Reason::BudgetExhausted,
        ];
        let codes: HashSet<&str> = reasons.iter().map(|reason| reason.as_str()).collect();
        assert_eq!(codes.len(), reasons.len());
        for reason in reasons {
            assert_eq!(serde_json::to_string(&reason).ok(), Some(format!("\"{}\"", reason.as_str())));
        }
    }
}
