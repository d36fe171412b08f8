//! What an artist sees: a statement per period listing every sale, refund, ad share and payout
//! line that makes up their balance, each traceable to its source id, as a struct (the store
//! renders JSON) or CSV; and their earnings per period.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use megabox_database::DbConnection;
use megabox_domain::{ArtistId, Cents};

use crate::RoyaltyError;
use crate::ledger::{Account, TransactionKind};
use crate::period::Period;
use crate::schema::{ledger_lines, ledger_transactions};

/// One line of an artist's statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatementLine {
    pub booked_at: NaiveDateTime,
    pub kind: TransactionKind,
    /// The sale, refund, period or payout id the line comes from.
    pub source_id: String,
    /// The item of a sale or refund; the period of an ad share; the payout id.
    pub source_ref: String,
    /// Positive when the artist earns, negative when a refund or payout takes it back.
    pub amount: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Statement {
    pub artist: ArtistId,
    pub period: Period,
    pub opening_balance: Cents,
    pub lines: Vec<StatementLine>,
    pub closing_balance: Cents,
}

/// An artist's income in one period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PeriodEarnings {
    pub period: Period,
    pub sales: Cents,
    /// Negative: what refunds took back.
    pub refunds: Cents,
    pub ad_shares: Cents,
    /// Negative: what was paid out (net of voided payouts).
    pub payouts: Cents,
    /// Qualifying plays, redemptions counted with their weight.
    pub plays: i64,
}

/// Micro-cents to cents: artist lines are always whole cents, so this only drops nothing.
fn cents(micro_cents: i64) -> Cents {
    megabox_domain::MicroCents(micro_cents)
        .split_whole_cents()
        .0
}

/// The artist's statement for a period: the lines of both their accounts (what they are owed
/// and what they owe back) booked in it, between the balances before and after.
pub fn statement(
    connection: &mut DbConnection,
    artist: ArtistId,
    period: Period,
) -> Result<Statement, RoyaltyError> {
    let codes = [
        Account::ArtistPayable(artist).code(),
        Account::ArtistReceivable(artist).code(),
    ];
    let rows: Vec<(NaiveDateTime, String, String, String, i64)> = ledger_lines::table
        .inner_join(ledger_transactions::table)
        .filter(ledger_lines::account_code.eq_any(&codes))
        .filter(ledger_transactions::period.eq(period.to_string()))
        .order((
            ledger_transactions::booked_at,
            ledger_transactions::id,
            ledger_lines::line_number,
        ))
        .select((
            ledger_transactions::booked_at,
            ledger_transactions::kind,
            ledger_transactions::source_id,
            ledger_lines::source_ref,
            ledger_lines::amount_micro_cents,
        ))
        .load(connection)?;
    let opening: TotalRow = diesel::sql_query(
        "SELECT CAST(COALESCE(SUM(lines.amount_micro_cents), 0) AS BIGINT) AS total \
         FROM ledger_lines AS lines JOIN ledger_transactions AS transactions ON transactions.id = lines.transaction_id \
         WHERE lines.account_code IN ($1, $2) AND transactions.period < $3",
    )
    .bind::<Text, _>(&codes[0])
    .bind::<Text, _>(&codes[1])
    .bind::<Text, _>(period.to_string())
    .get_result(connection)?;
    let opening_balance = cents(opening.total);
    let mut closing = opening_balance.0;
    let mut lines = Vec::with_capacity(rows.len());
    for (booked_at, kind, source_id, source_ref, amount_micro_cents) in rows {
        let amount = cents(amount_micro_cents);
        closing += amount.0;
        lines.push(StatementLine {
            booked_at,
            kind: TransactionKind::parse(&kind)?,
            source_id,
            source_ref,
            amount,
        });
    }
    Ok(Statement {
        artist,
        period,
        opening_balance,
        lines,
        closing_balance: Cents(closing),
    })
}

/// Writes a statement as CSV: a header, then one row per line.
pub fn write_statement_csv(statement: &Statement, output: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        output,
        "artist_id,period,booked_at,kind,source_id,source_ref,amount"
    )?;
    for line in &statement.lines {
        writeln!(
            output,
            "{},{},{},{},{},{},{}",
            statement.artist,
            statement.period,
            line.booked_at.format("%Y-%m-%dT%H:%M:%SZ"),
            line.kind.as_str(),
            csv_field(&line.source_id),
            csv_field(&line.source_ref),
            line.amount,
        )?;
    }
    Ok(())
}

/// Quotes a text field when it needs it, and defuses text a spreadsheet would run as a formula.
fn csv_field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[derive(QueryableByName)]
struct TotalRow {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct PeriodTotalRow {
    #[diesel(sql_type = Text)]
    period: String,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct KindTotalRow {
    #[diesel(sql_type = Text)]
    period: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// The artist's earnings per period, oldest first: sales, refunds, ad shares, payouts, plays.
pub fn earnings(
    connection: &mut DbConnection,
    artist: ArtistId,
) -> Result<Vec<PeriodEarnings>, RoyaltyError> {
    let totals: Vec<KindTotalRow> = diesel::sql_query(
        "SELECT transactions.period AS period, transactions.kind AS kind, \
                CAST(SUM(lines.amount_micro_cents) AS BIGINT) AS total \
         FROM ledger_lines AS lines JOIN ledger_transactions AS transactions ON transactions.id = lines.transaction_id \
         WHERE lines.account_code IN ($1, $2) GROUP BY transactions.period, transactions.kind",
    )
    .bind::<Text, _>(Account::ArtistPayable(artist).code())
    .bind::<Text, _>(Account::ArtistReceivable(artist).code())
    .load(connection)?;
    let plays: Vec<PeriodTotalRow> = diesel::sql_query(
        // The running per-artist totals: one row per period instead of every play.
        "SELECT period, plays AS total FROM royalty_artist_plays WHERE artist_id = $1",
    )
    .bind::<Text, _>(artist.to_string())
    .load(connection)?;
    let mut by_period: BTreeMap<Period, PeriodEarnings> = BTreeMap::new();
    let parse = |text: &str| {
        text.parse::<Period>()
            .map_err(|_| RoyaltyError::CorruptRow(format!("period {text:?}")))
    };
    for row in totals {
        let period = parse(&row.period)?;
        let entry = by_period
            .entry(period)
            .or_insert_with(|| PeriodEarnings::empty(period));
        let amount = cents(row.total);
        let bucket = match TransactionKind::parse(&row.kind)? {
            TransactionKind::Sale => &mut entry.sales,
            TransactionKind::Refund => &mut entry.refunds,
            TransactionKind::AdAllocation => &mut entry.ad_shares,
            _ => &mut entry.payouts,
        };
        bucket.0 += amount.0;
    }
    for row in plays {
        let period = parse(&row.period)?;
        by_period
            .entry(period)
            .or_insert_with(|| PeriodEarnings::empty(period))
            .plays += row.total;
    }
    Ok(by_period.into_values().collect())
}

impl PeriodEarnings {
    fn empty(period: Period) -> PeriodEarnings {
        PeriodEarnings {
            period,
            sales: Cents::ZERO,
            refunds: Cents::ZERO,
            ad_shares: Cents::ZERO,
            payouts: Cents::ZERO,
            plays: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        let cases = [
            ("plain-id", "plain-id"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("-1+1", "'-1+1"),
            ("line\nbreak", "\"line\nbreak\""),
        ];
        for (input, expected) in cases {
            assert_eq!(csv_field(input), expected, "{input:?}");
        }
    }
}
