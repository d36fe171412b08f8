//! Multi-row INSERTs written once for both backends. Diesel's typed batch insert is not
//! available on the two-backend connection, so the statement is built here with numbered
//! placeholders (`$1`, `$2`, … on PostgreSQL, `?1`, `?2`, … on SQLite) and bound value by value.
//! SQLite reads `$N` as a parameter *name* and looks each one up among the names seen so far,
//! which makes preparing a statement of thousands of values quadratic; `?N` is a plain index.

use chrono::NaiveDateTime;
use diesel::RunQueryDsl;
use diesel::connection::Connection;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::{Backend, DbConnection};

/// Rows per statement, so that a statement stays under SQLite's limit of 32,766 bound
/// parameters for up to 32 columns.
pub const ROWS_PER_STATEMENT_MAX: usize = 1000;

type DieselBackend = <DbConnection as Connection>::Backend;

/// One bound value.
#[derive(Debug, Clone)]
pub enum SqlValue {
    Text(String),
    OptionalText(Option<String>),
    BigInt(i64),
    Timestamp(NaiveDateTime),
}

/// What an insert does with a row whose key already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Fail the statement (and so the caller's transaction).
    Fail,
    /// Leave the existing row and skip this one.
    Skip,
}

/// `INSERT INTO table (columns) VALUES (…), (…)` followed by `suffix` (an `ON CONFLICT` or
/// `RETURNING` clause without placeholders), every value bound. Every row has one value per
/// column; at most [`ROWS_PER_STATEMENT_MAX`] rows.
pub fn insert_statement(
    backend: Backend,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<SqlValue>>,
    suffix: &str,
) -> BoxedSqlQuery<'static, DieselBackend, SqlQuery> {
    let sigil = match backend {
        Backend::Postgres => '$',
        Backend::Sqlite => '?',
    };
    let mut placeholder = 0;
    let tuples: Vec<String> = rows
        .iter()
        .map(|row| {
            let names: Vec<String> = row
                .iter()
                .map(|_| {
                    placeholder += 1;
                    format!("{sigil}{placeholder}")
                })
                .collect();
            format!("({})", names.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {}{suffix}",
        columns.join(", "),
        tuples.join(", ")
    );
    let mut query = diesel::sql_query(sql).into_boxed::<DieselBackend>();
    for value in rows.into_iter().flatten() {
        query = match value {
            SqlValue::Text(text) => query.bind::<Text, _>(text),
            SqlValue::OptionalText(text) => query.bind::<Nullable<Text>, _>(text),
            SqlValue::BigInt(number) => query.bind::<BigInt, _>(number),
            SqlValue::Timestamp(instant) => query.bind::<Timestamp, _>(instant),
        };
    }
    query
}

/// Inserts `rows` into `table (columns)`, [`ROWS_PER_STATEMENT_MAX`] per statement. Returns how
/// many rows were inserted (fewer than given when [`OnConflict::Skip`] skipped some).
pub fn insert_rows(
    connection: &mut DbConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<SqlValue>>,
    on_conflict: OnConflict,
) -> diesel::QueryResult<usize> {
    let suffix = match on_conflict {
        OnConflict::Fail => "",
        OnConflict::Skip => " ON CONFLICT DO NOTHING",
    };
    let backend = connection.backend();
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<SqlValue>> = rows.by_ref().take(ROWS_PER_STATEMENT_MAX).collect();
        inserted += insert_statement(backend, table, columns, chunk, suffix).execute(connection)?;
    }
    Ok(inserted)
}
