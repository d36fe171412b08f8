//! Intake of signed impression batches (DESIGN.md §3.3, §5): the whole batch is checked against
//! its device (known, not revoked, not flagged, signature, sequence), then each event on its own
//! (duplicate, freshness, creative, campaign, caps, budget); accepted events are charged to their
//! campaign and their revenue recorded in royalties for the installer — all in one transaction per batch.
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
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use megabox_database::{DbConnection, write_transaction};
use megabox_domain::MicroCents;
use megabox_protocol::{
    BatchResponse, DeviceId, EventId, ImpressionBatch, ImpressionEvent, ProtocolError,
    RejectionReason,
};
use royalties::{AdRevenueInput, Period};
use sha2::{Digest, Sha256};

use crate::campaigns::{CampaignStatus, IMPRESSION_MICRO_CENTS_PER_CPM_CENT};
use crate::devices::{Device, find_device};
use crate::schema::{ads_batches, ads_campaigns, ads_creatives, ads_devices, ads_impressions};
use crate::{AdsError, AdsSettings, chrono_duration, day_of, flags};
use megabox_database::batch_insert::{OnConflict, SqlValue, insert_rows, insert_statement};

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
            Reason::OverDeviceCap | Reason::OverAccountCap | Reason::OverIpCap => {
                RejectionReason::CapExceeded
            }
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
                .map(|rejected| megabox_protocol::RejectedEvent {
                    event_id: rejected.event_id,
                    reason: rejected.reason.to_protocol(),
                })
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
/// receipt says what happened to each event. Revenue reaches royalties in the same transaction.
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
    batch
        .verify(&device.public_key)
        .map_err(|error| match error {
            ProtocolError::BadSignature | ProtocolError::InvalidPublicKey => {
                refused(Reason::BadSignature)
            }
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
    let context = BatchContext {
        batch,
        device: &device,
        sequence,
        digest: &digest,
        client_ip,
        now,
        settings,
    };
    let first = write_transaction(connection, |connection| {
        process(connection, &context, claims.as_deref())
    });
    let receipt = match first {
        Ok(receipt) => receipt,
        Err(ProcessError::Ads(error)) => return Err(error),
        Err(ProcessError::DeduperMissedDuplicate) => {
            match write_transaction(connection, |connection| process(connection, &context, None)) {
                Ok(receipt) => receipt,
                Err(ProcessError::Ads(error)) => return Err(error),
                Err(ProcessError::DeduperMissedDuplicate) => {
                    return Err(AdsError::CorruptRow(
                        "a duplicate impression passed the duplicate check".to_owned(),
                    ));
                }
            }
        }
    };
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

/// The device's row as the batch's first statement locks and reads it.
#[derive(QueryableByName)]
struct DeviceState {
    #[diesel(sql_type = Nullable<Timestamp>)]
    revoked_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_sequence: Option<i64>,
}

/// A campaign's row as intake locks and reads it.
#[derive(QueryableByName)]
struct CampaignRow {
    #[diesel(sql_type = BigInt)]
    cpm_cents: i64,
    #[diesel(sql_type = BigInt)]
    budget_cents: i64,
    #[diesel(sql_type = BigInt)]
    spent_micro_cents: i64,
    #[diesel(sql_type = Timestamp)]
    starts_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    ends_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    status: String,
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
    #[diesel(sql_type = Text)]
    scope: String,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Text)]
    day: String,
    #[diesel(sql_type = BigInt)]
    impressions: i64,
}

/// The columns of `ads_daily_counts` rows written by intake.
const COUNTER_COLUMNS: [&str; 4] = ["scope", "subject", "day", "impressions"];

/// One `ads_daily_counts` row to write: the key and a count.
fn counter_row((scope, subject, day): &CounterKey, impressions: i64) -> Vec<SqlValue> {
    vec![
        SqlValue::Text(scope.as_str().to_owned()),
        SqlValue::Text(subject.clone()),
        SqlValue::Text(day.clone()),
        SqlValue::BigInt(impressions),
    ]
}

/// Creates the counter rows that are missing, locks them all (PostgreSQL locks them in the
/// given order, the keys' sorted order, so batches never deadlock) and fills in their counts —
/// in one statement.
fn lock_counters(
    connection: &mut DbConnection,
    counters: &mut BTreeMap<CounterKey, (i64, i64)>,
) -> Result<(), AdsError> {
    let rows = counters.keys().map(|key| counter_row(key, 0)).collect();
    let locked: Vec<CounterRow> = insert_statement(
        connection.backend(),
        "ads_daily_counts",
        &COUNTER_COLUMNS,
        rows,
        " ON CONFLICT (scope, subject, day) DO UPDATE SET impressions = ads_daily_counts.impressions RETURNING scope, subject, day, impressions",
    )
    .load(connection)?;
    for row in locked {
        let scope = [CapScope::Account, CapScope::Device, CapScope::Ip]
            .into_iter()
            .find(|scope| scope.as_str() == row.scope)
            .ok_or_else(|| AdsError::CorruptRow(format!("counter scope {:?}", row.scope)))?;
        if let Some((count, _)) = counters.get_mut(&(scope, row.subject, row.day)) {
            *count = row.impressions;
        }
    }
    Ok(())
}

/// The address whose daily cap a client counts against: IPv4 as is, IPv6 by its /64.
fn ip_cap_subject(client_ip: IpAddr) -> String {
    match client_ip {
        IpAddr::V4(address) => address.to_string(),
        IpAddr::V6(address) => {
            let prefix = u128::from(address) & (u128::MAX << (128 - IPV6_CAP_PREFIX_BITS));
            format!(
                "{}/{IPV6_CAP_PREFIX_BITS}",
                std::net::Ipv6Addr::from(prefix)
            )
        }
    }
}

/// When the event's time bucket starts, or why it is not acceptable now.
fn event_time(
    event: &ImpressionEvent,
    now: NaiveDateTime,
    settings: &AdsSettings,
) -> Result<NaiveDateTime, Reason> {
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

fn process(
    connection: &mut DbConnection,
    context: &BatchContext<'_>,
    claims: Option<&[bool]>,
) -> Result<IntakeReceipt, ProcessError> {
    let BatchContext {
        batch,
        device,
        sequence,
        digest,
        client_ip,
        now,
        settings,
    } = *context;
    let device_id = device.id.0.to_string();
    let user_id = device.user.to_string();

    // The device row lock serialises this device's batches (PostgreSQL; SQLite has one writer).
    let DeviceState { revoked_at, last_sequence } =
        diesel::sql_query("UPDATE ads_devices SET last_batch_at = $1 WHERE id = $2 RETURNING revoked_at, last_sequence")
            .bind::<Timestamp, _>(now)
            .bind::<Text, _>(&device_id)
            .get_result(connection)?;
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
        return serde_json::from_str(&receipt)
            .map_err(|error| AdsError::CorruptRow(format!("batch receipt: {error}")).into());
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
    let lookup_events: Vec<String> = batch
        .events
        .iter()
        .enumerate()
        .filter(|(index, _)| needs_lookup(*index))
        .map(|(_, event)| event.event_id.0.to_string())
        .collect();
    let lookup_nonces: Vec<String> = batch
        .events
        .iter()
        .enumerate()
        .filter(|(index, _)| needs_lookup(*index))
        .map(|(_, event)| event.nonce.to_string())
        .collect();
    let (seen_events, seen_nonces): (HashSet<String>, HashSet<String>) = if lookup_events.is_empty()
    {
        (HashSet::new(), HashSet::new())
    } else {
        let rows: Vec<(String, String)> = ads_impressions::table
            .filter(ads_impressions::device_id.eq(&device_id))
            .filter(
                ads_impressions::event_id
                    .eq_any(&lookup_events)
                    .or(ads_impressions::nonce.eq_any(&lookup_nonces)),
            )
            .select((ads_impressions::event_id, ads_impressions::nonce))
            .load(connection)?;
        rows.into_iter().unzip()
    };

    // Creatives and their campaigns, then the campaigns locked in id order (no deadlocks).
    let creative_ids: BTreeSet<&str> = batch
        .events
        .iter()
        .map(|event| event.creative_id.as_str())
        .collect();
    let creatives: HashMap<String, (String, String)> = ads_creatives::table
        .filter(ads_creatives::id.eq_any(&creative_ids))
        .select((
            ads_creatives::id,
            ads_creatives::size,
            ads_creatives::campaign_id,
        ))
        .load::<(String, String, String)>(connection)?
        .into_iter()
        .map(|(id, size, campaign)| (id, (size, campaign)))
        .collect();
    let campaign_ids: BTreeSet<&String> =
        creatives.values().map(|(_, campaign)| campaign).collect();
    let mut campaigns: HashMap<String, CampaignState> = HashMap::new();
    for campaign_id in campaign_ids {
        let CampaignRow {
            cpm_cents,
            budget_cents,
            spent_micro_cents,
            starts_at,
            ends_at,
            status,
        } = diesel::sql_query(
            "UPDATE ads_campaigns SET spent_micro_cents = spent_micro_cents WHERE id = $1 \
             RETURNING cpm_cents, budget_cents, spent_micro_cents, starts_at, ends_at, status",
        )
        .bind::<Text, _>(campaign_id)
        .get_result(connection)?;
        campaigns.insert(
            campaign_id.clone(),
            CampaignState {
                cost_micro_cents: cpm_cents
                    .checked_mul(IMPRESSION_MICRO_CENTS_PER_CPM_CENT)
                    .ok_or(AdsError::Overflow)?,
                budget_micro_cents: budget_cents
                    .checked_mul(MICRO_CENTS_PER_CENT)
                    .ok_or(AdsError::Overflow)?,
                spent_micro_cents,
                starts_at,
                ends_at,
                active: status == CampaignStatus::Active.as_str(),
            },
        );
    }

    // The daily counters of the day the server receives the batch, locked in key order. Caps
    // count by the server's clock, not by the event's claimed hour: otherwise events dated
    // back into earlier days would each fill a day of their own.
    let event_times: Vec<Result<NaiveDateTime, Reason>> = batch
        .events
        .iter()
        .map(|event| event_time(event, now, settings))
        .collect();
    let ip_subject = ip_cap_subject(client_ip);
    let today = day_of(now);
    let counter_key = |scope: CapScope| -> CounterKey {
        let subject = match scope {
            CapScope::Account => user_id.clone(),
            CapScope::Device => device_id.clone(),
            CapScope::Ip => ip_subject.clone(),
        };
        (scope, subject, today.clone())
    };
    let mut counters: BTreeMap<CounterKey, (i64, i64)> = BTreeMap::new();
    if event_times.iter().any(Result::is_ok) {
        for scope in [CapScope::Account, CapScope::Device, CapScope::Ip] {
            counters.insert(counter_key(scope), (0, 0));
        }
    }
    if !counters.is_empty() {
        lock_counters(connection, &mut counters)?;
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
            let (size, campaign_id) = creatives
                .get(event.creative_id.as_str())
                .ok_or(Reason::UnknownCreative)?;
            if *size != event.size.to_string() {
                return Err(Reason::UnknownCreative);
            }
            let campaign = campaigns.get(campaign_id).ok_or(Reason::UnknownCreative)?;
            let bucket_end = occurred_at + chrono::TimeDelta::seconds(BUCKET_SECONDS);
            if !campaign.active
                || bucket_end <= campaign.starts_at
                || occurred_at >= campaign.ends_at
            {
                return Err(Reason::CampaignInactive);
            }
            let caps = [
                (
                    CapScope::Device,
                    settings.impressions_per_device_per_day_max,
                    Reason::OverDeviceCap,
                ),
                (
                    CapScope::Account,
                    settings.impressions_per_account_per_day_max,
                    Reason::OverAccountCap,
                ),
                (
                    CapScope::Ip,
                    settings.impressions_per_ip_per_day_max,
                    Reason::OverIpCap,
                ),
            ];
            for (scope, cap, reason) in caps {
                let (count, added) = counters.get(&counter_key(scope)).copied().unwrap_or((0, 0));
                if count + added >= cap {
                    return Err(reason);
                }
            }
            if campaign.spent_micro_cents + campaign.cost_micro_cents > campaign.budget_micro_cents
            {
                return Err(Reason::BudgetExhausted);
            }
            Ok((occurred_at, campaign_id.clone()))
        })();
        let (occurred_at, campaign_id) = match verdict {
            Ok(accepted) => accepted,
            Err(reason) => {
                receipt.rejected.push(RejectedEvent {
                    event_id: event.event_id,
                    reason,
                });
                continue;
            }
        };
        for scope in [CapScope::Account, CapScope::Device, CapScope::Ip] {
            if let Some((_, added)) = counters.get_mut(&counter_key(scope)) {
                *added += 1;
            }
        }
        let campaign = campaigns.get_mut(&campaign_id).ok_or(AdsError::Overflow)?;
        campaign.spent_micro_cents += campaign.cost_micro_cents;
        let cost = campaign.cost_micro_cents;
        let group = revenue
            .entry((campaign_id.clone(), Period::containing(occurred_at)))
            .or_insert((0, occurred_at));
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
        &[
            "device_id",
            "event_id",
            "nonce",
            "user_id",
            "creative_id",
            "campaign_id",
            "cost_micro_cents",
            "occurred_at",
            "batch_sequence",
        ],
        impression_rows,
        OnConflict::Skip,
    )?;
    if inserted != accepted_count {
        return Err(ProcessError::DeduperMissedDuplicate);
    }
    // Every counter that grew, in one statement (the rows exist and are locked: see above).
    let increments: Vec<Vec<SqlValue>> = counters
        .iter()
        .filter(|(_, (_, added))| *added > 0)
        .map(|(key, (_, added))| counter_row(key, *added))
        .collect();
    if !increments.is_empty() {
        insert_statement(
            connection.backend(),
            "ads_daily_counts",
            &COUNTER_COLUMNS,
            increments,
            " ON CONFLICT (scope, subject, day) DO UPDATE SET impressions = ads_daily_counts.impressions + excluded.impressions",
        )
        .execute(connection)?;
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
    // The batch's revenue, one row and one ledger posting per campaign and period (usually one
    // per batch), recorded in royalties in this very transaction (a savepoint of it): stored as
    // already handed over, so settlement never touches it.
    let revenue: Vec<AdRevenueInput> = revenue
        .into_iter()
        .map(
            |((campaign_id, period), (amount, occurred_at))| AdRevenueInput {
                event_id: format!("impressions:{device_id}:{sequence}:{campaign_id}:{period}"),
                installer: device.user,
                campaign_id,
                amount: MicroCents(amount),
                occurred_at,
            },
        )
        .collect();
    let revenue_rows: Vec<Vec<SqlValue>> = revenue
        .iter()
        .map(|revenue| {
            vec![
                SqlValue::Text(revenue.event_id.clone()),
                SqlValue::Text(device_id.clone()),
                SqlValue::Text(user_id.clone()),
                SqlValue::Text(revenue.campaign_id.clone()),
                SqlValue::BigInt(revenue.amount.0),
                SqlValue::Timestamp(revenue.occurred_at),
                SqlValue::Timestamp(now),
            ]
        })
        .collect();
    insert_rows(
        connection,
        "ads_revenue",
        &[
            "source_id",
            "device_id",
            "user_id",
            "campaign_id",
            "amount_micro_cents",
            "occurred_at",
            "recorded_at",
        ],
        revenue_rows,
        OnConflict::Fail,
    )?;
    for revenue in &revenue {
        royalties::record_ad_revenue(connection, revenue).map_err(AdsError::from)?;
    }
    let receipt_text = serde_json::to_string(&receipt)
        .map_err(|error| AdsError::CorruptRow(format!("batch receipt: {error}")))?;
    diesel::insert_into(ads_batches::table)
        .values((
            ads_batches::device_id.eq(&device_id),
            ads_batches::sequence.eq(sequence),
            ads_batches::digest.eq(digest),
            ads_batches::receipt.eq(receipt_text),
            ads_batches::received_at.eq(now),
        ))
        .execute(connection)?;
    diesel::update(ads_devices::table.find(&device_id))
        .set(ads_devices::last_sequence.eq(sequence))
        .execute(connection)?;
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_length_matches_the_protocol() {
        assert_eq!(
            u64::try_from(BUCKET_SECONDS),
            Ok(megabox_protocol::TIME_BUCKET_SECONDS)
        );
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
            let parsed: IpAddr = address
                .parse()
                .unwrap_or_else(|error| panic!("{address}: {error}"));
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
            assert_eq!(
                serde_json::to_string(&reason).ok(),
                Some(format!("\"{}\"", reason.as_str()))
            );
        }
    }
}
