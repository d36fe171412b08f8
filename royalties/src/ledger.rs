//! The double-entry, append-only ledger. Every posting is a transaction whose lines sum to zero
//! (checked before the write and again by reading the lines back), carries an idempotency key
//! (posting the same key twice returns the first transaction and changes nothing), and may
//! drive only external accounts below zero. Amounts are micro-cents so that ad accruals are
//! exact; everything paid to people is whole cents.
//!
//! Sign convention: a positive balance is money the platform holds for someone (an artist's
//! payable, its own revenue, the ad pool); the external accounts (the gateway's cash, the
//! advertisers, what artists owe back) are the other side and go negative.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, MicroCents};

use crate::RoyaltyError;
use crate::period::Period;
use crate::schema::ledger_accounts;
use megabox_database::batch_insert::{OnConflict, SqlValue, insert_rows};

/// Account codes looked up per query when creating missing accounts.
const ACCOUNT_LOOKUPS_PER_QUERY_MAX: usize = 1000;

/// An account of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Account {
    /// What the platform owes an artist.
    ArtistPayable(ArtistId),
    /// What an artist owes the platform: a refund after their earnings were paid out (external).
    ArtistReceivable(ArtistId),
    /// The platform's share.
    PlatformRevenue,
    /// Payment processor fees, paid out of gross sales.
    ProcessorFees,
    /// Ad revenue accrued in open periods, waiting for their close.
    AdPending,
    /// A closing period's ad pool, allocated to artists and the platform at close.
    AdPool(Period),
    /// Advertisers: what they owe for impressions (external).
    Advertisers,
    /// Payouts handed to the gateway whose outcome is not yet known.
    PayoutsInTransit,
    /// The payment gateway's side: money collected from buyers and sent to artists (external).
    Gateway,
}

impl Account {
    pub(crate) fn code(&self) -> String {
        match self {
            Account::ArtistPayable(artist) => format!("artist:{artist}:payable"),
            Account::ArtistReceivable(artist) => format!("artist:{artist}:receivable"),
            Account::PlatformRevenue => "platform:revenue".to_owned(),
            Account::ProcessorFees => "processor:fees".to_owned(),
            Account::AdPending => "ads:pending".to_owned(),
            Account::AdPool(period) => format!("ads:pool:{period}"),
            Account::Advertisers => "advertisers".to_owned(),
            Account::PayoutsInTransit => "payouts:in-transit".to_owned(),
            Account::Gateway => "gateway".to_owned(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Account::ArtistPayable(_) => "artist_payable",
            Account::ArtistReceivable(_) => "artist_receivable",
            Account::PlatformRevenue => "platform_revenue",
            Account::ProcessorFees => "processor_fees",
            Account::AdPending => "ad_pending",
            Account::AdPool(_) => "ad_pool",
            Account::Advertisers => "advertisers",
            Account::PayoutsInTransit => "payouts_in_transit",
            Account::Gateway => "gateway",
        }
    }

    fn artist(&self) -> Option<ArtistId> {
        match self {
            Account::ArtistPayable(artist) | Account::ArtistReceivable(artist) => Some(*artist),
            _ => None,
        }
    }
}

/// The account kinds that stand for the outside world and so may have any sign.
pub(crate) const EXTERNAL_ACCOUNT_KINDS_SQL: &str =
    "('advertisers', 'gateway', 'artist_receivable')";

/// Why a transaction was posted; statements and checks group by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Sale,
    Refund,
    AdRevenue,
    AdClawback,
    PeriodPool,
    AdAllocation,
    Payout,
    PayoutPosted,
    PayoutVoided,
    DebtRecovery,
}

impl TransactionKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TransactionKind::Sale => "sale",
            TransactionKind::Refund => "refund",
            TransactionKind::AdRevenue => "ad_revenue",
            TransactionKind::AdClawback => "ad_clawback",
            TransactionKind::PeriodPool => "period_pool",
            TransactionKind::AdAllocation => "ad_allocation",
            TransactionKind::Payout => "payout",
            TransactionKind::PayoutPosted => "payout_posted",
            TransactionKind::PayoutVoided => "payout_voided",
            TransactionKind::DebtRecovery => "debt_recovery",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<TransactionKind, RoyaltyError> {
        let all = [
            TransactionKind::Sale,
            TransactionKind::Refund,
            TransactionKind::AdRevenue,
            TransactionKind::AdClawback,
            TransactionKind::PeriodPool,
            TransactionKind::AdAllocation,
            TransactionKind::Payout,
            TransactionKind::PayoutPosted,
            TransactionKind::PayoutVoided,
            TransactionKind::DebtRecovery,
        ];
        all.into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| RoyaltyError::CorruptRow(format!("transaction kind {text:?}")))
    }
}

/// One line of a posting: an amount moved into (positive) or out of (negative) an account.
#[derive(Debug, Clone)]
pub(crate) struct PostingLine {
    pub account: Account,
    pub amount: MicroCents,
    /// What inside the source this line is for (a sale item, an artist's share).
    pub source_ref: String,
}

/// A transaction to post.
#[derive(Debug, Clone)]
pub(crate) struct Posting {
    pub idempotency_key: String,
    pub kind: TransactionKind,
    pub source_id: String,
    pub period: Period,
    pub reverses_transaction_id: Option<String>,
    pub booked_at: NaiveDateTime,
    pub lines: Vec<PostingLine>,
}

/// What posting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Posted {
    New { transaction_id: String },
    AlreadyPosted { transaction_id: String },
}

#[derive(QueryableByName)]
struct AccountBalanceRow {
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = BigInt)]
    balance_micro_cents: i64,
}

#[derive(QueryableByName)]
struct SumRow {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Posts a transaction. Must run inside the caller's write transaction, which this does not
/// commit: a rejected posting (unbalanced, or an internal account driven negative) is an error
/// and the caller's transaction rolls back.
pub(crate) fn post(
    connection: &mut DbConnection,
    posting: Posting,
) -> Result<Posted, RoyaltyError> {
    match claim(connection, &posting)? {
        Claim::New { transaction_id } => {
            write_lines(connection, &transaction_id, posting)?;
            Ok(Posted::New { transaction_id })
        }
        Claim::Taken { transaction_id, .. } => Ok(Posted::AlreadyPosted { transaction_id }),
    }
}

/// Whether a posting's idempotency key was free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The transaction row is inserted (inside the caller's transaction); its lines come next.
    New { transaction_id: String },
    /// Another posting holds the key: the event is already recorded.
    Taken {
        transaction_id: String,
        period: Period,
    },
}

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    period: String,
}

/// Claims the posting's idempotency key by inserting its transaction row (without lines). The
/// key's unique constraint decides between concurrent writers: on PostgreSQL a second insert of
/// the same key waits for the first writer's transaction and, once it commits, inserts nothing;
/// so a `record_*` call that claims its key before any other write has its effect exactly once
/// however many copies of it run at the same time.
pub(crate) fn claim(
    connection: &mut DbConnection,
    posting: &Posting,
) -> Result<Claim, RoyaltyError> {
    let transaction_id = uuid::Uuid::now_v7().to_string();
    let inserted = diesel::sql_query(
        "INSERT INTO ledger_transactions (id, idempotency_key, kind, source_id, period, reverses_transaction_id, booked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind::<Text, _>(&transaction_id)
    .bind::<Text, _>(&posting.idempotency_key)
    .bind::<Text, _>(posting.kind.as_str())
    .bind::<Text, _>(&posting.source_id)
    .bind::<Text, _>(posting.period.to_string())
    .bind::<diesel::sql_types::Nullable<Text>, _>(&posting.reverses_transaction_id)
    .bind::<diesel::sql_types::Timestamp, _>(posting.booked_at)
    .execute(connection)?;
    if inserted == 1 {
        return Ok(Claim::New { transaction_id });
    }
    let taken: ClaimedRow =
        diesel::sql_query("SELECT id, period FROM ledger_transactions WHERE idempotency_key = $1")
            .bind::<Text, _>(&posting.idempotency_key)
            .get_result(connection)?;
    let period = taken
        .period
        .parse()
        .map_err(|_| RoyaltyError::CorruptRow(format!("period {:?}", taken.period)))?;
    Ok(Claim::Taken {
        transaction_id: taken.id,
        period,
    })
}

/// Writes the lines of a claimed transaction and applies them to the balances.
pub(crate) fn write_lines(
    connection: &mut DbConnection,
    transaction_id: &str,
    posting: Posting,
) -> Result<(), RoyaltyError> {
    let total = posting
        .lines
        .iter()
        .try_fold(0_i64, |sum, line| sum.checked_add(line.amount.0))
        .ok_or(RoyaltyError::Overflow)?;
    if total != 0 {
        return Err(RoyaltyError::Unbalanced {
            transaction: posting.idempotency_key,
            sum_micro_cents: total,
        });
    }
    let lines: Vec<PostingLine> = posting
        .lines
        .into_iter()
        .filter(|line| line.amount.0 != 0)
        .collect();
    ensure_accounts(
        connection,
        lines.iter().map(|line| &line.account),
        posting.booked_at,
    )?;
    let rows = lines
        .into_iter()
        .zip(0_i64..)
        .map(|(line, line_number)| {
            vec![
                SqlValue::Text(transaction_id.to_owned()),
                SqlValue::BigInt(line_number),
                SqlValue::Text(line.account.code()),
                SqlValue::BigInt(line.amount.0),
                SqlValue::Text(line.source_ref),
            ]
        })
        .collect();
    insert_rows(
        connection,
        "ledger_lines",
        &[
            "transaction_id",
            "line_number",
            "account_code",
            "amount_micro_cents",
            "source_ref",
        ],
        rows,
        OnConflict::Fail,
    )?;
    // Read back what was written: the pair of the check above.
    let written: SumRow = diesel::sql_query(
        "SELECT CAST(COALESCE(SUM(amount_micro_cents), 0) AS BIGINT) AS total FROM ledger_lines WHERE transaction_id = $1",
    )
    .bind::<Text, _>(transaction_id)
    .get_result(connection)?;
    if written.total != 0 {
        return Err(RoyaltyError::Unbalanced {
            transaction: transaction_id.to_owned(),
            sum_micro_cents: written.total,
        });
    }
    apply_to_balances(connection, transaction_id)
}

/// Creates the accounts that do not exist yet.
fn ensure_accounts<'a>(
    connection: &mut DbConnection,
    accounts: impl Iterator<Item = &'a Account>,
    created_at: NaiveDateTime,
) -> Result<(), RoyaltyError> {
    let mut wanted: Vec<&Account> = accounts.collect();
    wanted.sort();
    wanted.dedup();
    for chunk in wanted.chunks(ACCOUNT_LOOKUPS_PER_QUERY_MAX) {
        let codes: Vec<String> = chunk.iter().map(|account| account.code()).collect();
        let existing: Vec<String> = ledger_accounts::table
            .filter(ledger_accounts::code.eq_any(&codes))
            .select(ledger_accounts::code)
            .load(connection)?;
        let existing: std::collections::HashSet<String> = existing.into_iter().collect();
        let missing: Vec<Vec<SqlValue>> = chunk
            .iter()
            .zip(codes)
            .filter(|(_, code)| !existing.contains(code))
            .map(|(account, code)| {
                vec![
                    SqlValue::Text(code),
                    SqlValue::Text(account.kind().to_owned()),
                    SqlValue::OptionalText(account.artist().map(|artist| artist.to_string())),
                    SqlValue::BigInt(0),
                    SqlValue::Timestamp(created_at),
                ]
            })
            .collect();
        // Two writers creating the same account at once: on PostgreSQL the second waits for the
        // first and then skips the row; SQLite writers are serialised.
        insert_rows(
            connection,
            "ledger_accounts",
            &[
                "code",
                "kind",
                "artist_id",
                "balance_micro_cents",
                "created_at",
            ],
            missing,
            OnConflict::Skip,
        )?;
    }
    Ok(())
}

/// Adds the transaction's lines to the cached balances and refuses an internal account below zero.
fn apply_to_balances(
    connection: &mut DbConnection,
    transaction_id: &str,
) -> Result<(), RoyaltyError> {
    if let DbConnection::Postgresql(_) = connection {
        // Lock the accounts in one global order so that concurrent postings cannot deadlock.
        diesel::sql_query(
            "SELECT code, balance_micro_cents FROM ledger_accounts WHERE code IN \
             (SELECT account_code FROM ledger_lines WHERE transaction_id = $1) ORDER BY code FOR UPDATE",
        )
        .bind::<Text, _>(transaction_id)
        .load::<AccountBalanceRow>(connection)?;
    }
    let update = match connection {
        // A hash join of the accounts with the transaction's lines grouped by account.
        DbConnection::Postgresql(_) => {
            "UPDATE ledger_accounts SET balance_micro_cents = balance_micro_cents + delta.amount \
             FROM (SELECT account_code, CAST(SUM(amount_micro_cents) AS BIGINT) AS amount FROM ledger_lines \
                   WHERE transaction_id = $1 GROUP BY account_code) AS delta \
             WHERE ledger_accounts.code = delta.account_code"
        }
        // SQLite would scan that grouped subquery once per account (quadratic in a period's
        // allocation, one line per artist): a correlated sum through the lines' account index.
        DbConnection::Sqlite(_) => {
            "UPDATE ledger_accounts SET balance_micro_cents = balance_micro_cents + \
                 (SELECT CAST(SUM(lines.amount_micro_cents) AS BIGINT) FROM ledger_lines AS lines \
                  WHERE lines.account_code = ledger_accounts.code AND lines.transaction_id = $1) \
             WHERE code IN (SELECT account_code FROM ledger_lines WHERE transaction_id = $1)"
        }
    };
    diesel::sql_query(update)
        .bind::<Text, _>(transaction_id)
        .execute(connection)?;
    let negative: Option<AccountBalanceRow> = diesel::sql_query(format!(
        "SELECT code, balance_micro_cents FROM ledger_accounts WHERE code IN \
         (SELECT account_code FROM ledger_lines WHERE transaction_id = $1) \
         AND kind NOT IN {EXTERNAL_ACCOUNT_KINDS_SQL} AND balance_micro_cents < 0 ORDER BY code LIMIT 1"
    ))
    .bind::<Text, _>(transaction_id)
    .get_result(connection)
    .optional()?;
    match negative {
        Some(row) => Err(RoyaltyError::NegativeBalance {
            account: row.code,
            balance_micro_cents: row.balance_micro_cents,
        }),
        None => Ok(()),
    }
}

/// An account's balance (zero for an account that has never been used).
pub(crate) fn balance(
    connection: &mut DbConnection,
    account: &Account,
) -> Result<MicroCents, RoyaltyError> {
    let balance: Option<i64> = ledger_accounts::table
        .find(account.code())
        .select(ledger_accounts::balance_micro_cents)
        .first(connection)
        .optional()?;
    Ok(MicroCents(balance.unwrap_or(0)))
}

/// Whole cents as micro-cents, failing instead of overflowing.
pub(crate) fn micro(cents: i64) -> Result<MicroCents, RoyaltyError> {
    megabox_domain::Cents(cents)
        .to_micro_cents()
        .map_err(|_| RoyaltyError::Overflow)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use diesel::Connection;
    use megabox_database::testing::{TestDatabase, backends};
    use megabox_database::write_transaction;

    use super::*;

    fn posting(key: &str, lines: Vec<(Account, i64)>) -> Posting {
        let booked_at = NaiveDate::from_ymd_opt(2026, 11, 21)
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .unwrap_or_default();
        Posting {
            idempotency_key: key.to_owned(),
            kind: TransactionKind::AdRevenue,
            source_id: key.to_owned(),
            period: Period::containing(booked_at),
            reverses_transaction_id: None,
            booked_at,
            lines: lines
                .into_iter()
                .map(|(account, amount)| PostingLine {
                    account,
                    amount: MicroCents(amount),
                    source_ref: String::new(),
                })
                .collect(),
        }
    }

    fn post_in_transaction(
        connection: &mut DbConnection,
        posting: Posting,
    ) -> Result<Posted, RoyaltyError> {
        write_transaction(connection, |connection| post(connection, posting))
    }

    #[test]
    fn postings_balance_stay_non_negative_and_are_idempotent() {
        for backend in backends() {
            let database = TestDatabase::new(backend).unwrap_or_else(|error| panic!("{error}"));
            let mut connection =
                DbConnection::establish(&database.url).unwrap_or_else(|error| panic!("{error}"));
            let connection = &mut connection;
            let accrual = posting(
                "accrual",
                vec![(Account::Advertisers, -500), (Account::AdPending, 500)],
            );
            let first = post_in_transaction(connection, accrual.clone())
                .unwrap_or_else(|error| panic!("{error}"));
            let Posted::New { transaction_id } = first else {
                panic!("{backend:?}: first posting must be new")
            };
            // The same key again, even with other lines, returns the first transaction unchanged.
            let mut changed = accrual.clone();
            changed.lines[0].amount = MicroCents(-900);
            changed.lines[1].amount = MicroCents(900);
            assert_eq!(
                post_in_transaction(connection, changed).unwrap_or_else(|error| panic!("{error}")),
                Posted::AlreadyPosted { transaction_id }
            );
            assert_eq!(
                balance(connection, &Account::AdPending).unwrap_or_else(|error| panic!("{error}")),
                MicroCents(500)
            );

            let rejected = [
                (
                    "unbalanced",
                    vec![(Account::Advertisers, -500), (Account::AdPending, 499)],
                ),
                (
                    "overdrawn",
                    vec![(Account::AdPending, -501), (Account::PlatformRevenue, 501)],
                ),
                (
                    "overflowing",
                    vec![(Account::Gateway, i64::MAX), (Account::Gateway, 1)],
                ),
            ];
            for (key, lines) in rejected {
                let error = post_in_transaction(connection, posting(key, lines));
                assert!(
                    matches!(
                        error,
                        Err(RoyaltyError::Unbalanced { .. }
                            | RoyaltyError::NegativeBalance { .. }
                            | RoyaltyError::Overflow)
                    ),
                    "{backend:?} {key}: {error:?}"
                );
            }
            // Rejected postings left nothing behind: the key is free and the balance unchanged.
            assert_eq!(
                balance(connection, &Account::AdPending).unwrap_or_else(|error| panic!("{error}")),
                MicroCents(500)
            );
            let overdrawn_fixed = posting(
                "overdrawn",
                vec![(Account::AdPending, -500), (Account::PlatformRevenue, 500)],
            );
            assert!(
                matches!(
                    post_in_transaction(connection, overdrawn_fixed),
                    Ok(Posted::New { .. })
                ),
                "{backend:?}"
            );
            // External accounts may go negative.
            assert_eq!(
                balance(connection, &Account::Advertisers)
                    .unwrap_or_else(|error| panic!("{error}")),
                MicroCents(-500)
            );
        }
    }
}
