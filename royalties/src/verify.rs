//! The ledger's invariant check (`megabox ledger verify`): reads everything back and proves
//! that every transaction balances, cached balances equal their lines, no internal account is
//! negative, each artist's share of each period's net revenue is the configured share within
//! one cent, the pending ad revenue and the money in transit match their sources, no artist
//! was paid more than they earned, and the running totals the close reads equal the events
//! they count. The first violation found is reported precisely.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use megabox_database::DbConnection;

use crate::RoyaltyError;
use crate::ledger::{Account, EXTERNAL_ACCOUNT_KINDS_SQL};

/// A broken invariant, with what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("transaction {transaction_id}: lines sum to {sum_micro_cents} micro-cents, expected 0")]
    UnbalancedTransaction {
        transaction_id: String,
        sum_micro_cents: i64,
    },
    #[error(
        "account {account}: cached balance {cached_micro_cents} micro-cents, lines sum to {lines_micro_cents}"
    )]
    BalanceMismatch {
        account: String,
        cached_micro_cents: i64,
        lines_micro_cents: i64,
    },
    #[error("internal account {account} is negative: {balance_micro_cents} micro-cents")]
    NegativeInternalAccount {
        account: String,
        balance_micro_cents: i64,
    },
    #[error("artist {artist_id}, period {period}: {what}: expected {expected}, found {found}")]
    ArtistShare {
        artist_id: String,
        period: String,
        what: &'static str,
        expected: String,
        found: String,
    },
    #[error("period {period}: {what}: expected {expected}, found {found}")]
    PeriodTotals {
        period: String,
        what: &'static str,
        expected: i64,
        found: i64,
    },
    #[error(
        "account {account}: balance {found_micro_cents} micro-cents, its sources say {expected_micro_cents}"
    )]
    SourceMismatch {
        account: String,
        expected_micro_cents: i64,
        found_micro_cents: i64,
    },
    #[error("{counter} {key}: the running total is {counted}, its events sum to {summed}")]
    CounterMismatch {
        counter: &'static str,
        key: String,
        counted: i64,
        summed: i64,
    },
    #[error(
        "artist {artist_id}: paid out {paid_out_cents} cents, more than earned {earned_cents} plus owed {owed_cents}"
    )]
    OverPaid {
        artist_id: String,
        paid_out_cents: i64,
        earned_cents: i64,
        owed_cents: i64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("ledger invariant violated: {0}")]
    Violation(#[from] Violation),
    #[error(transparent)]
    Royalty(#[from] RoyaltyError),
}

impl From<diesel::result::Error> for VerifyError {
    fn from(error: diesel::result::Error) -> Self {
        VerifyError::Royalty(RoyaltyError::Database(error))
    }
}

/// What was checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    pub transactions: i64,
    pub lines: i64,
    pub accounts: i64,
    pub artist_periods: usize,
    pub closed_periods: usize,
}

#[derive(QueryableByName)]
struct KeyAmountRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

#[derive(QueryableByName)]
struct KeyPairRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    first: i64,
    #[diesel(sql_type = BigInt)]
    second: i64,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn count(connection: &mut DbConnection, table: &str) -> Result<i64, VerifyError> {
    let row: CountRow = diesel::sql_query(format!("SELECT COUNT(*) AS count FROM {table}"))
        .get_result(connection)?;
    Ok(row.count)
}

fn key_amounts(
    connection: &mut DbConnection,
    sql: &str,
) -> Result<BTreeMap<String, i64>, VerifyError> {
    let rows: Vec<KeyAmountRow> = diesel::sql_query(sql).load(connection)?;
    Ok(rows.into_iter().map(|row| (row.key, row.amount)).collect())
}

/// A running total kept by `counters`, read by its key columns, and the same totals summed
/// from the recorded events.
struct Counter {
    name: &'static str,
    keys: &'static [&'static str],
    counted: &'static str,
    summed: &'static str,
}

const PLAYS_PER_ARTIST_SQL: &str =
    "SELECT period, artist_id, SUM(weight) AS total FROM royalty_plays GROUP BY period, artist_id";

/// The per-(listener, artist) totals are checked through their sums per artist: joining them
/// row by row with the plays grouped the same way costs minutes at ten million plays.
const COUNTERS: [Counter; 3] = [
    Counter {
        name: "royalty_artist_plays",
        keys: &["period", "artist_id"],
        counted: "SELECT period, artist_id, plays AS total FROM royalty_artist_plays",
        summed: PLAYS_PER_ARTIST_SQL,
    },
    Counter {
        name: "royalty_play_counts",
        keys: &["period", "artist_id"],
        counted: "SELECT period, artist_id, SUM(plays) AS total FROM royalty_play_counts GROUP BY period, artist_id",
        summed: PLAYS_PER_ARTIST_SQL,
    },
    Counter {
        name: "royalty_installer_revenue",
        keys: &["period", "installer_id"],
        counted: "SELECT period, installer_id, revenue_micro_cents AS total FROM royalty_installer_revenue",
        summed: "SELECT period, installer_id, SUM(amount_micro_cents) AS total FROM royalty_ad_revenue \
                 WHERE installer_id IS NOT NULL GROUP BY period, installer_id",
    },
];

/// The running totals the close reads equal the sums over the events they count, both ways:
/// no total differs from its events, and no events lack their total.
fn verify_counters(connection: &mut DbConnection) -> Result<(), VerifyError> {
    for counter in &COUNTERS {
        let key = |side: &str| {
            counter
                .keys
                .iter()
                .map(|column| format!("{side}.{column}"))
                .collect::<Vec<_>>()
                .join(" || '/' || ")
        };
        let joined = counter
            .keys
            .iter()
            .map(|column| format!("counted.{column} = summed.{column}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let sql = format!(
            "SELECT {counted_key} AS key, CAST(counted.total AS BIGINT) AS first, CAST(COALESCE(summed.total, 0) AS BIGINT) AS second \
             FROM ({counted}) AS counted LEFT JOIN ({summed}) AS summed ON {joined} \
             WHERE counted.total <> COALESCE(summed.total, 0) \
             UNION ALL \
             SELECT {summed_key} AS key, 0 AS first, CAST(summed.total AS BIGINT) AS second \
             FROM ({summed}) AS summed LEFT JOIN ({counted}) AS counted ON {joined} \
             WHERE counted.total IS NULL AND summed.total <> 0",
            counted_key = key("counted"),
            summed_key = key("summed"),
            counted = counter.counted,
            summed = counter.summed,
        );
        let mismatch: Option<KeyPairRow> = diesel::sql_query(format!("{sql} LIMIT 1"))
            .get_result(connection)
            .optional()?;
        if let Some(row) = mismatch {
            return Err(Violation::CounterMismatch {
                counter: counter.name,
                key: row.key,
                counted: row.first,
                summed: row.second,
            }
            .into());
        }
    }
    Ok(())
}

/// Checks every invariant; `Ok` only if all hold. Run it inside a read transaction (or on a
/// quiet database) for a consistent snapshot.
pub fn verify(connection: &mut DbConnection) -> Result<VerifyReport, VerifyError> {
    let unbalanced: Option<KeyAmountRow> = diesel::sql_query(
        "SELECT transaction_id AS key, CAST(SUM(amount_micro_cents) AS BIGINT) AS amount FROM ledger_lines \
         GROUP BY transaction_id HAVING SUM(amount_micro_cents) <> 0 ORDER BY transaction_id LIMIT 1",
    )
    .get_result(connection)
    .optional()?;
    if let Some(row) = unbalanced {
        return Err(Violation::UnbalancedTransaction {
            transaction_id: row.key,
            sum_micro_cents: row.amount,
        }
        .into());
    }

    let mismatched: Option<KeyPairRow> = diesel::sql_query(
        "SELECT accounts.code AS key, accounts.balance_micro_cents AS first, \
                CAST(COALESCE(sums.total, 0) AS BIGINT) AS second \
         FROM ledger_accounts AS accounts LEFT JOIN \
              (SELECT account_code, SUM(amount_micro_cents) AS total FROM ledger_lines GROUP BY account_code) AS sums \
              ON sums.account_code = accounts.code \
         WHERE accounts.balance_micro_cents <> COALESCE(sums.total, 0) ORDER BY accounts.code LIMIT 1",
    )
    .get_result(connection)
    .optional()?;
    if let Some(row) = mismatched {
        return Err(Violation::BalanceMismatch {
            account: row.key,
            cached_micro_cents: row.first,
            lines_micro_cents: row.second,
        }
        .into());
    }

    let negative: Option<KeyAmountRow> = diesel::sql_query(format!(
        "SELECT accounts.code AS key, CAST(SUM(lines.amount_micro_cents) AS BIGINT) AS amount \
         FROM ledger_lines AS lines JOIN ledger_accounts AS accounts ON accounts.code = lines.account_code \
         WHERE accounts.kind NOT IN {EXTERNAL_ACCOUNT_KINDS_SQL} \
         GROUP BY accounts.code HAVING SUM(lines.amount_micro_cents) < 0 ORDER BY accounts.code LIMIT 1"
    ))
    .get_result(connection)
    .optional()?;
    if let Some(row) = negative {
        return Err(Violation::NegativeInternalAccount {
            account: row.key,
            balance_micro_cents: row.amount,
        }
        .into());
    }

    let artist_periods = verify_sales_shares(connection)?;
    let closed_periods = verify_ad_allocations(connection)?;
    verify_sources(connection)?;
    verify_payouts(connection)?;
    verify_counters(connection)?;

    Ok(VerifyReport {
        transactions: count(connection, "ledger_transactions")?,
        lines: count(connection, "ledger_lines")?,
        accounts: count(connection, "ledger_accounts")?,
        artist_periods,
        closed_periods,
    })
}

/// Sales: per artist and period, the credited cents are within one cent (in fact half) of the
/// exact share of the net of the period's unrefunded items, and the ledger agrees per artist.
fn verify_sales_shares(connection: &mut DbConnection) -> Result<usize, VerifyError> {
    let recorded: Vec<KeyPairRow> = diesel::sql_query(
        "SELECT artist_id || ' ' || period AS key, share_numerator AS first, credited_cents AS second \
         FROM royalty_artist_sales ORDER BY artist_id, period",
    )
    .load(connection)?;
    let from_items = key_amounts(
        connection,
        "SELECT artist_id || ' ' || period AS key, CAST(SUM(net_cents * artist_share_bps) AS BIGINT) AS amount \
         FROM royalty_sale_items WHERE refund_id IS NULL GROUP BY artist_id, period",
    )?;
    let mut credited_per_artist: BTreeMap<String, i64> = BTreeMap::new();
    for row in &recorded {
        let (artist_id, period) = row.key.split_once(' ').unwrap_or((&row.key, ""));
        let share = |what, expected: String, found: String| Violation::ArtistShare {
            artist_id: artist_id.to_owned(),
            period: period.to_owned(),
            what,
            expected,
            found,
        };
        let numerator = from_items.get(&row.key).copied().unwrap_or(0);
        if numerator != row.first {
            return Err(share(
                "sales share numerator (net cents × bps)",
                numerator.to_string(),
                row.first.to_string(),
            )
            .into());
        }
        // |credited − numerator / 10000| ≤ 1 cent, in integers.
        if (i128::from(row.second) * 10_000 - i128::from(numerator)).abs() > 10_000 {
            return Err(share(
                "sales share in cents",
                format!("{numerator}/10000"),
                row.second.to_string(),
            )
            .into());
        }
        *credited_per_artist.entry(artist_id.to_owned()).or_insert(0) += row.second;
    }
    let ledger_per_artist = key_amounts(
        connection,
        "SELECT accounts.artist_id AS key, CAST(SUM(lines.amount_micro_cents) / 1000000 AS BIGINT) AS amount \
         FROM ledger_lines AS lines \
         JOIN ledger_transactions AS transactions ON transactions.id = lines.transaction_id \
         JOIN ledger_accounts AS accounts ON accounts.code = lines.account_code \
         WHERE accounts.kind IN ('artist_payable', 'artist_receivable') AND transactions.kind IN ('sale', 'refund') \
         GROUP BY accounts.artist_id",
    )?;
    let artists: std::collections::BTreeSet<&String> = credited_per_artist
        .keys()
        .chain(ledger_per_artist.keys())
        .collect();
    for artist_id in artists {
        let expected = credited_per_artist.get(artist_id).copied().unwrap_or(0);
        let found = ledger_per_artist.get(artist_id).copied().unwrap_or(0);
        if expected != found {
            return Err(Violation::ArtistShare {
                artist_id: artist_id.clone(),
                period: "all".to_owned(),
                what: "sales and refunds in the ledger (cents)",
                expected: expected.to_string(),
                found: found.to_string(),
            }
            .into());
        }
    }
    Ok(recorded.len())
}

#[derive(QueryableByName)]
struct ClosedPeriodRow {
    #[diesel(sql_type = Text)]
    period: String,
    #[diesel(sql_type = BigInt)]
    pool_cents: i64,
    #[diesel(sql_type = BigInt)]
    artist_share_bps: i64,
}

/// Ads: per closed period, each artist's cents are within one cent of the configured share of
/// the pool times their weight, the parts add up to the pool, and the ledger agrees.
fn verify_ad_allocations(connection: &mut DbConnection) -> Result<usize, VerifyError> {
    let periods: Vec<ClosedPeriodRow> = diesel::sql_query(
        "SELECT period, pool_cents, artist_share_bps FROM royalty_periods WHERE status = 'closed' ORDER BY period",
    )
    .load(connection)?;
    for period in &periods {
        let allocations: Vec<KeyPairRow> = diesel::sql_query(
            "SELECT artist_id AS key, weight AS first, amount_cents AS second FROM royalty_ad_allocations \
             WHERE period = $1 ORDER BY artist_id",
        )
        .bind::<Text, _>(&period.period)
        .load(connection)?;
        let weight_sum: i128 = allocations.iter().map(|row| i128::from(row.first)).sum();
        let artists_total: i64 = allocations.iter().map(|row| row.second).sum();
        if period.pool_cents > 0 && (weight_sum == 0 || artists_total > period.pool_cents) {
            return Err(Violation::PeriodTotals {
                period: period.period.clone(),
                what: "artists' allocations within the pool (cents)",
                expected: period.pool_cents,
                found: artists_total,
            }
            .into());
        }
        let posted = key_amounts_for(connection, &period.period)?;
        for row in &allocations {
            // |amount − pool · bps/10000 · weight/Σweight| < 1 cent, in integers.
            let exact_scaled = i128::from(period.pool_cents)
                * i128::from(period.artist_share_bps)
                * i128::from(row.first);
            let found_scaled = i128::from(row.second) * 10_000 * weight_sum;
            if weight_sum > 0 && (found_scaled - exact_scaled).abs() >= 10_000 * weight_sum {
                return Err(Violation::ArtistShare {
                    artist_id: row.key.clone(),
                    period: period.period.clone(),
                    what: "ad share in cents",
                    expected: format!("{exact_scaled}/{}", 10_000 * weight_sum),
                    found: row.second.to_string(),
                }
                .into());
            }
            let in_ledger = posted.get(&row.key).copied().unwrap_or(0);
            if in_ledger != row.second {
                return Err(Violation::ArtistShare {
                    artist_id: row.key.clone(),
                    period: period.period.clone(),
                    what: "ad share in the ledger (cents)",
                    expected: row.second.to_string(),
                    found: in_ledger.to_string(),
                }
                .into());
            }
        }
        let pool_balance: Option<i64> = crate::schema::ledger_accounts::table
            .find(
                Account::AdPool(
                    period
                        .period
                        .parse()
                        .map_err(|_| RoyaltyError::CorruptRow(period.period.clone()))?,
                )
                .code(),
            )
            .select(crate::schema::ledger_accounts::balance_micro_cents)
            .first(connection)
            .optional()?;
        if pool_balance.unwrap_or(0) != 0 {
            return Err(Violation::PeriodTotals {
                period: period.period.clone(),
                what: "ad pool left after close (micro-cents)",
                expected: 0,
                found: pool_balance.unwrap_or(0),
            }
            .into());
        }
    }
    Ok(periods.len())
}

fn key_amounts_for(
    connection: &mut DbConnection,
    period: &str,
) -> Result<BTreeMap<String, i64>, VerifyError> {
    let rows: Vec<KeyAmountRow> = diesel::sql_query(
        "SELECT accounts.artist_id AS key, CAST(lines.amount_micro_cents / 1000000 AS BIGINT) AS amount \
         FROM ledger_lines AS lines \
         JOIN ledger_transactions AS transactions ON transactions.id = lines.transaction_id \
         JOIN ledger_accounts AS accounts ON accounts.code = lines.account_code \
         WHERE transactions.idempotency_key = $1 AND accounts.kind = 'artist_payable'",
    )
    .bind::<Text, _>(format!("close:{period}:ad_allocation"))
    .load(connection)?;
    Ok(rows.into_iter().map(|row| (row.key, row.amount)).collect())
}

/// The pending ad revenue equals the revenue booked in periods not yet closed, and the money in
/// transit equals the pending payouts.
fn verify_sources(connection: &mut DbConnection) -> Result<(), VerifyError> {
    let checks = [
        (
            Account::AdPending,
            "SELECT 'pending' AS key, CAST(COALESCE(SUM(amount_micro_cents), 0) AS BIGINT) AS amount FROM royalty_ad_revenue \
             WHERE period NOT IN (SELECT period FROM royalty_periods WHERE status = 'closed')",
        ),
        (
            Account::PayoutsInTransit,
            "SELECT 'in transit' AS key, CAST(COALESCE(SUM(amount_cents), 0) * 1000000 AS BIGINT) AS amount \
             FROM royalty_payouts WHERE status = 'pending'",
        ),
    ];
    for (account, sql) in checks {
        let expected = key_amounts(connection, sql)?
            .into_values()
            .next()
            .unwrap_or(0);
        let found = crate::ledger::balance(connection, &account)?.0;
        if expected != found {
            return Err(Violation::SourceMismatch {
                account: account.code(),
                expected_micro_cents: expected,
                found_micro_cents: found,
            }
            .into());
        }
    }
    Ok(())
}

/// Per artist: payouts not voided ≤ what they earned (sales, refunds, ad shares) plus what they
/// still owe back from refunds after a payout.
fn verify_payouts(connection: &mut DbConnection) -> Result<(), VerifyError> {
    let earned = key_amounts(
        connection,
        "SELECT accounts.artist_id AS key, CAST(SUM(lines.amount_micro_cents) / 1000000 AS BIGINT) AS amount \
         FROM ledger_lines AS lines \
         JOIN ledger_transactions AS transactions ON transactions.id = lines.transaction_id \
         JOIN ledger_accounts AS accounts ON accounts.code = lines.account_code \
         WHERE accounts.kind IN ('artist_payable', 'artist_receivable') \
         AND transactions.kind IN ('sale', 'refund', 'ad_allocation') GROUP BY accounts.artist_id",
    )?;
    let owed = key_amounts(
        connection,
        "SELECT artist_id AS key, CAST(-balance_micro_cents / 1000000 AS BIGINT) AS amount FROM ledger_accounts \
         WHERE kind = 'artist_receivable'",
    )?;
    let paid = key_amounts(
        connection,
        "SELECT artist_id AS key, CAST(SUM(amount_cents) AS BIGINT) AS amount FROM royalty_payouts \
         WHERE status IN ('pending', 'posted') GROUP BY artist_id",
    )?;
    for (artist_id, paid_out_cents) in paid {
        let earned_cents = earned.get(&artist_id).copied().unwrap_or(0);
        let owed_cents = owed.get(&artist_id).copied().unwrap_or(0);
        if paid_out_cents > earned_cents + owed_cents {
            return Err(Violation::OverPaid {
                artist_id,
                paid_out_cents,
                earned_cents,
                owed_cents,
            }
            .into());
        }
    }
    Ok(())
}
