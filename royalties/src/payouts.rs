//! Payout runs: each artist whose payable balance reaches the threshold and whose payout
//! account is ready gets one transfer, exactly once, even if the process dies at any point.
//!
//! The payout row (status `pending`, its id the gateway's idempotency key) and the move of the
//! amount to "payouts in transit" are committed before the gateway is called. The gateway's
//! answer then posts the payout (success) or voids it with a reversing entry (definite
//! failure); an unknown outcome leaves it pending, and the next run asks again with the same
//! key, which the gateway answers with the transfer it already made, if any.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use megabox_database::{DbConnection, now, write_transaction};
use megabox_domain::{ArtistId, Cents, MicroCents};

use crate::ledger::{self, Account, Posting, PostingLine, TransactionKind, micro};
use crate::period::Period;
use crate::schema::royalty_payouts;
use crate::{RoyaltyError, parse_artist};

/// Longest stored gateway error message.
const GATEWAY_ERROR_LENGTH_MAX: usize = 500;
/// Longest payout destination (a gateway account id).
const DESTINATION_LENGTH_MAX: usize = 200;

/// The gateway's id for a transfer it made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TransferId(pub String);

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum GatewayError {
    /// The gateway refused: no money moved, and retrying with this key will not move any.
    #[error("transfer refused: {0}")]
    Declined(String),
    /// The outcome is not known (timeout, lost response): the transfer may or may not exist.
    #[error("transfer outcome unknown: {0}")]
    Unknown(String),
}

/// Sends money to artists. Implementations must treat `idempotency_key` as the gateway's
/// idempotency key: a second call with the same key returns the first call's transfer.
pub trait PayoutGateway {
    fn create_transfer(
        &self,
        idempotency_key: &str,
        destination: &str,
        amount: Cents,
    ) -> Result<TransferId, GatewayError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutAccountStatus {
    /// Onboarding at the gateway is not finished.
    Pending,
    Ready,
    Disabled,
}

impl PayoutAccountStatus {
    fn as_str(self) -> &'static str {
        match self {
            PayoutAccountStatus::Pending => "pending",
            PayoutAccountStatus::Ready => "ready",
            PayoutAccountStatus::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    Pending,
    Posted,
    Voided,
}

impl PayoutStatus {
    fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Pending => "pending",
            PayoutStatus::Posted => "posted",
            PayoutStatus::Voided => "voided",
        }
    }

    fn parse(text: &str) -> Result<PayoutStatus, RoyaltyError> {
        [
            PayoutStatus::Pending,
            PayoutStatus::Posted,
            PayoutStatus::Voided,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
        .ok_or_else(|| RoyaltyError::CorruptRow(format!("payout status {text:?}")))
    }
}

/// A payout as stored, with its last gateway error if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PayoutRecord {
    pub id: String,
    pub artist: ArtistId,
    pub destination: String,
    pub amount: Cents,
    pub status: PayoutStatus,
    pub transfer_id: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What one payout run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PayoutRun {
    /// Payouts created by this run.
    pub created: usize,
    pub posted: usize,
    pub voided: usize,
    /// Payouts whose outcome is still unknown; the next run asks the gateway again.
    pub still_pending: usize,
    /// Artists whose earnings first paid back what a refund left them owing.
    pub debts_recovered: usize,
}

/// Records (or updates) where an artist's payouts go and whether the gateway accepts them yet.
pub fn set_payout_account(
    connection: &mut DbConnection,
    artist: ArtistId,
    destination: &str,
    status: PayoutAccountStatus,
) -> Result<(), RoyaltyError> {
    if destination.is_empty() || destination.len() > DESTINATION_LENGTH_MAX {
        return Err(RoyaltyError::InvalidInput(format!(
            "a payout destination has 1 to {DESTINATION_LENGTH_MAX} bytes"
        )));
    }
    write_transaction(connection, |connection| {
        diesel::sql_query(
            "INSERT INTO royalty_payout_accounts (artist_id, destination, status, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (artist_id) DO UPDATE SET destination = excluded.destination, status = excluded.status, \
             updated_at = excluded.updated_at",
        )
        .bind::<Text, _>(artist.to_string())
        .bind::<Text, _>(destination)
        .bind::<Text, _>(status.as_str())
        .bind::<diesel::sql_types::Timestamp, _>(now())
        .execute(connection)?;
        Ok(())
    })
}

/// Payouts, newest first; one artist's or everyone's.
pub fn list_payouts(
    connection: &mut DbConnection,
    artist: Option<ArtistId>,
) -> Result<Vec<PayoutRecord>, RoyaltyError> {
    let mut query = royalty_payouts::table
        .order((
            royalty_payouts::created_at.desc(),
            royalty_payouts::id.desc(),
        ))
        .into_boxed();
    if let Some(artist) = artist {
        query = query.filter(royalty_payouts::artist_id.eq(artist.to_string()));
    }
    let rows: Vec<PayoutRow> = query.select(PayoutRow::as_select()).load(connection)?;
    rows.into_iter().map(PayoutRow::into_record).collect()
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = royalty_payouts)]
struct PayoutRow {
    id: String,
    artist_id: String,
    destination: String,
    amount_cents: i64,
    status: String,
    transfer_id: Option<String>,
    attempts: i64,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl PayoutRow {
    fn into_record(self) -> Result<PayoutRecord, RoyaltyError> {
        Ok(PayoutRecord {
            artist: parse_artist(&self.artist_id)?,
            status: PayoutStatus::parse(&self.status)?,
            id: self.id,
            destination: self.destination,
            amount: Cents(self.amount_cents),
            transfer_id: self.transfer_id,
            attempts: self.attempts,
            last_error: self.last_error,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(QueryableByName)]
struct CandidateRow {
    #[diesel(sql_type = Text)]
    artist_id: String,
    #[diesel(sql_type = Text)]
    destination: String,
}

#[derive(QueryableByName)]
struct DebtorRow {
    #[diesel(sql_type = Text)]
    artist_id: String,
}

/// Resumes the pending payouts, then pays every artist with a ready payout account whose
/// payable balance is at least `threshold`. Safe to run again at any time, and after a crash.
pub fn run_payouts(
    connection: &mut DbConnection,
    gateway: &dyn PayoutGateway,
    threshold: Cents,
) -> Result<PayoutRun, RoyaltyError> {
    if threshold.0 <= 0 {
        return Err(RoyaltyError::InvalidInput(
            "the payout threshold must be positive".to_owned(),
        ));
    }
    let mut run = PayoutRun::default();
    let pending: Vec<PayoutRow> = royalty_payouts::table
        .filter(royalty_payouts::status.eq(PayoutStatus::Pending.as_str()))
        .order((royalty_payouts::created_at, royalty_payouts::id))
        .select(PayoutRow::as_select())
        .load(connection)?;
    for payout in pending {
        attempt(connection, gateway, &payout.into_record()?, &mut run)?;
    }
    run.debts_recovered = recover_debts(connection)?;
    let candidates: Vec<CandidateRow> = diesel::sql_query(
        "SELECT accounts.artist_id AS artist_id, payout_accounts.destination AS destination \
         FROM ledger_accounts AS accounts \
         JOIN royalty_payout_accounts AS payout_accounts ON payout_accounts.artist_id = accounts.artist_id \
         WHERE accounts.kind = 'artist_payable' AND accounts.balance_micro_cents >= $1 AND payout_accounts.status = 'ready' \
         AND NOT EXISTS (SELECT 1 FROM royalty_payouts WHERE royalty_payouts.artist_id = accounts.artist_id \
                         AND royalty_payouts.status = 'pending') \
         ORDER BY accounts.artist_id",
    )
    .bind::<BigInt, _>(micro(threshold.0)?.0)
    .load(connection)?;
    for candidate in candidates {
        let artist = parse_artist(&candidate.artist_id)?;
        if let Some(payout) = create_payout(connection, artist, &candidate.destination, threshold)?
        {
            run.created += 1;
            attempt(connection, gateway, &payout, &mut run)?;
        }
    }
    tracing::info!(
        payouts.created = run.created,
        payouts.posted = run.posted,
        payouts.voided = run.voided,
        payouts.pending = run.still_pending,
        "payout run finished"
    );
    Ok(run)
}

/// Commits a pending payout of the artist's whole payable balance, moved to "in transit".
fn create_payout(
    connection: &mut DbConnection,
    artist: ArtistId,
    destination: &str,
    threshold: Cents,
) -> Result<Option<PayoutRecord>, RoyaltyError> {
    write_transaction(connection, |connection| {
        // Re-read inside the write transaction: another run may have paid this artist meanwhile.
        let balance = ledger::balance(connection, &Account::ArtistPayable(artist))?;
        let (amount, _) = balance.split_whole_cents();
        let in_flight: i64 = royalty_payouts::table
            .filter(royalty_payouts::artist_id.eq(artist.to_string()))
            .filter(royalty_payouts::status.eq(PayoutStatus::Pending.as_str()))
            .count()
            .get_result(connection)?;
        if amount < threshold || in_flight > 0 {
            return Ok(None);
        }
        let created_at = now();
        let payout = PayoutRecord {
            id: uuid::Uuid::now_v7().to_string(),
            artist,
            destination: destination.to_owned(),
            amount,
            status: PayoutStatus::Pending,
            transfer_id: None,
            attempts: 0,
            last_error: None,
            created_at,
            updated_at: created_at,
        };
        diesel::insert_into(royalty_payouts::table)
            .values((
                royalty_payouts::id.eq(&payout.id),
                royalty_payouts::artist_id.eq(artist.to_string()),
                royalty_payouts::destination.eq(destination),
                royalty_payouts::amount_cents.eq(amount.0),
                royalty_payouts::status.eq(PayoutStatus::Pending.as_str()),
                royalty_payouts::attempts.eq(0_i64),
                royalty_payouts::created_at.eq(created_at),
                royalty_payouts::updated_at.eq(created_at),
            ))
            .execute(connection)?;
        post_payout(
            connection,
            &payout,
            TransactionKind::Payout,
            None,
            [
                (Account::ArtistPayable(artist), -amount.0),
                (Account::PayoutsInTransit, amount.0),
            ],
        )?;
        Ok(Some(payout))
    })
}

/// Asks the gateway for the payout's transfer and records the answer.
fn attempt(
    connection: &mut DbConnection,
    gateway: &dyn PayoutGateway,
    payout: &PayoutRecord,
    run: &mut PayoutRun,
) -> Result<(), RoyaltyError> {
    let outcome = gateway.create_transfer(&payout.id, &payout.destination, payout.amount);
    write_transaction(connection, |connection| {
        // Another run may have recorded an answer for this payout since it was read.
        let status: String = royalty_payouts::table
            .find(&payout.id)
            .select(royalty_payouts::status)
            .first(connection)?;
        if status != PayoutStatus::Pending.as_str() {
            return Ok(());
        }
        let attempts = royalty_payouts::attempts.eq(royalty_payouts::attempts + 1);
        let updated_at = royalty_payouts::updated_at.eq(now());
        let row = royalty_payouts::table.find(&payout.id);
        match &outcome {
            Ok(transfer) => {
                diesel::update(row)
                    .set((
                        royalty_payouts::status.eq(PayoutStatus::Posted.as_str()),
                        royalty_payouts::transfer_id.eq(&transfer.0),
                        attempts,
                        updated_at,
                    ))
                    .execute(connection)?;
                post_payout(
                    connection,
                    payout,
                    TransactionKind::PayoutPosted,
                    None,
                    [
                        (Account::PayoutsInTransit, -payout.amount.0),
                        (Account::Gateway, payout.amount.0),
                    ],
                )?;
                run.posted += 1;
            }
            Err(GatewayError::Declined(message)) => {
                diesel::update(row)
                    .set((
                        royalty_payouts::status.eq(PayoutStatus::Voided.as_str()),
                        royalty_payouts::last_error.eq(truncate(message)),
                        attempts,
                        updated_at,
                    ))
                    .execute(connection)?;
                let reversed = payout_transaction_id(connection, payout)?;
                post_payout(
                    connection,
                    payout,
                    TransactionKind::PayoutVoided,
                    reversed,
                    [
                        (Account::PayoutsInTransit, -payout.amount.0),
                        (Account::ArtistPayable(payout.artist), payout.amount.0),
                    ],
                )?;
                tracing::warn!(payout.id = %payout.id, error = %message, "payout declined");
                run.voided += 1;
            }
            Err(GatewayError::Unknown(message)) => {
                diesel::update(row)
                    .set((
                        royalty_payouts::last_error.eq(truncate(message)),
                        attempts,
                        updated_at,
                    ))
                    .execute(connection)?;
                tracing::warn!(payout.id = %payout.id, error = %message, "payout outcome unknown; will retry");
                run.still_pending += 1;
            }
        }
        Ok(())
    })
}

fn truncate(message: &str) -> String {
    message.chars().take(GATEWAY_ERROR_LENGTH_MAX).collect()
}

fn payout_transaction_id(
    connection: &mut DbConnection,
    payout: &PayoutRecord,
) -> Result<Option<String>, RoyaltyError> {
    Ok(crate::schema::ledger_transactions::table
        .filter(
            crate::schema::ledger_transactions::idempotency_key
                .eq(payout_key(TransactionKind::Payout, &payout.id)),
        )
        .select(crate::schema::ledger_transactions::id)
        .first(connection)
        .optional()?)
}

fn payout_key(kind: TransactionKind, payout_id: &str) -> String {
    format!("{}:{payout_id}", kind.as_str())
}

fn post_payout<const LINES: usize>(
    connection: &mut DbConnection,
    payout: &PayoutRecord,
    kind: TransactionKind,
    reverses_transaction_id: Option<String>,
    lines: [(Account, i64); LINES],
) -> Result<(), RoyaltyError> {
    let booked_at = now();
    let lines = lines
        .into_iter()
        .map(|(account, cents)| {
            Ok(PostingLine {
                account,
                amount: micro(cents)?,
                source_ref: payout.id.clone(),
            })
        })
        .collect::<Result<Vec<_>, RoyaltyError>>()?;
    ledger::post(
        connection,
        Posting {
            idempotency_key: payout_key(kind, &payout.id),
            kind,
            source_id: payout.id.clone(),
            period: Period::containing(booked_at),
            reverses_transaction_id,
            booked_at,
            lines,
        },
    )?;
    Ok(())
}

/// Pays back, from each indebted artist's payable balance, what refunds left them owing.
fn recover_debts(connection: &mut DbConnection) -> Result<usize, RoyaltyError> {
    let debtors: Vec<DebtorRow> = diesel::sql_query(
        "SELECT receivable.artist_id AS artist_id FROM ledger_accounts AS receivable \
         JOIN ledger_accounts AS payable ON payable.artist_id = receivable.artist_id AND payable.kind = 'artist_payable' \
         WHERE receivable.kind = 'artist_receivable' AND receivable.balance_micro_cents < 0 AND payable.balance_micro_cents > 0 \
         ORDER BY receivable.artist_id",
    )
    .load(connection)?;
    for debtor in &debtors {
        let artist = parse_artist(&debtor.artist_id)?;
        write_transaction(connection, |connection| {
            let owed = -ledger::balance(connection, &Account::ArtistReceivable(artist))?.0;
            let available = ledger::balance(connection, &Account::ArtistPayable(artist))?.0;
            let amount = owed.min(available);
            if amount <= 0 {
                return Ok(());
            }
            let booked_at = now();
            let recovery_id = uuid::Uuid::now_v7().to_string();
            ledger::post(
                connection,
                Posting {
                    idempotency_key: format!(
                        "{}:{recovery_id}",
                        TransactionKind::DebtRecovery.as_str()
                    ),
                    kind: TransactionKind::DebtRecovery,
                    source_id: recovery_id.clone(),
                    period: Period::containing(booked_at),
                    reverses_transaction_id: None,
                    booked_at,
                    lines: vec![
                        PostingLine {
                            account: Account::ArtistPayable(artist),
                            amount: MicroCents(-amount),
                            source_ref: recovery_id.clone(),
                        },
                        PostingLine {
                            account: Account::ArtistReceivable(artist),
                            amount: MicroCents(amount),
                            source_ref: recovery_id,
                        },
                    ],
                },
            )?;
            Ok::<_, RoyaltyError>(())
        })?;
    }
    Ok(debtors.len())
}
