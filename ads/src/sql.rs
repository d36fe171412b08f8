//! Multi-row INSERTs written once for both backends (diesel's typed batch insert is not
//! available on the two-backend connection), bound value by value. Intake inserts a whole batch
//! of impressions in one statement.
//!
//! Placeholders are `$1, $2, …` on PostgreSQL but plain `?` on SQLite: SQLite treats `$N` as a
//! *named* parameter and looks each one up among the previous ones, which made preparing a
//! 900-parameter statement quadratic (a quarter of the intake time in the benchmark).

use chrono::NaiveDateTime;
use diesel::RunQueryDsl;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::connection::Connection;
use diesel::sql_types::{BigInt, Text, Timestamp};
use megabox_database::{Backend as Engine, DbConnection};

/// Rows per statement; with the widest row here (9 columns) this stays far below SQLite's
/// limit of 32,766 bound parameters.
const ROWS_PER_STATEMENT_MAX: usize = 1000;

type Backend = <DbConnection as Connection>::Backend;

/// One bound value.
#[derive(Debug, Clone)]
pub(crate) enum SqlValue {
    Text(String),
    BigInt(i64),
    Timestamp(NaiveDateTime),
}

/// What to do with a row whose key already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnConflict {
    Fail,
    Skip,
}

/// `INSERT INTO table (columns) VALUES (…), (…)` followed by `suffix` (an `ON CONFLICT` or
/// `RETURNING` clause), every value bound; at most [`ROWS_PER_STATEMENT_MAX`] rows.
pub(crate) fn insert_statement(
    engine: Engine,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<SqlValue>>,
    suffix: &str,
) -> BoxedSqlQuery<'static, Backend, SqlQuery> {
    let numbered = engine == Engine::Postgres;
    let mut placeholder = 0;
    let tuples: Vec<String> = rows
        .iter()
        .map(|row| {
            let names: Vec<String> = row
                .iter()
                .map(|_| {
                    placeholder += 1;
                    if numbered { format!("${placeholder}") } else { "?".to_owned() }
                })
                .collect();
            format!("({})", names.join(", "))
        })
        .collect();
    let sql = format!("INSERT INTO {table} ({}) VALUES {}{suffix}", columns.join(", "), tuples.join(", "));
    let mut query = diesel::sql_query(sql).into_boxed::<Backend>();
    for value in rows.into_iter().flatten() {
        query = match value {
            SqlValue::Text(text) => query.bind::<Text, _>(text),
            SqlValue::BigInt(number) => query.bind::<BigInt, _>(number),
            SqlValue::Timestamp(instant) => query.bind::<Timestamp, _>(instant),
        };
    }
    query
}

/// Inserts `rows` into `table (columns)` and returns how many rows were inserted (with
/// [`OnConflict::Skip`], rows whose key existed are not counted).
pub(crate) fn insert_rows(
    connection: &mut DbConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<SqlValue>>,
    on_conflict: OnConflict,
) -> Result<usize, diesel::result::Error> {
    let suffix = match on_conflict {
        OnConflict::Fail => "",
        OnConflict::Skip => " ON CONFLICT DO NOTHING",
    };
    let engine = connection.backend();
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<SqlValue>> = rows.by_ref().take(ROWS_PER_STATEMENT_MAX).collect();
        inserted += insert_statement(engine, table, columns, chunk, suffix).execute(connection)?;
    }
    Ok(inserted)
}
