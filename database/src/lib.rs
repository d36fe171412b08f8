//! One diesel connection type over SQLite and PostgreSQL, the migrations of both embedded in the
//! binary, and a pool that applies them before handing out connections.
//!
//! Every other crate declares its own tables with `diesel::table!` and runs its queries on
//! [`DbConnection`]; this crate knows nothing about what the tables mean.
//! Where SQL must differ between the backends, match on the connection variant in one place.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub mod batch_insert;
mod clock;
#[cfg(feature = "test-support")]
pub mod testing;

pub use clock::now;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// How long a connection waits for SQLite's write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;
/// How long a request waits for a free pooled connection.
const POOL_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

pub type DbPool = Pool<ConnectionManager<DbConnection>>;
pub type PooledDbConnection = PooledConnection<ConnectionManager<DbConnection>>;

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("cannot apply the migrations: {0}")]
    Migrate(String),
    #[error("cannot build the connection pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Applies the pending migrations of the URL's backend, then opens a pool of `pool_size`.
pub fn connect(database_url: &str, pool_size: u32) -> Result<DbPool, DatabaseError> {
    migrate(database_url)?;
    let manager = ConnectionManager::<DbConnection>::new(database_url);
    let pool = Pool::builder()
        .max_size(pool_size)
        .connection_timeout(POOL_CONNECTION_TIMEOUT)
        .connection_customizer(Box::new(SessionSettings))
        .build(manager)?;
    Ok(pool)
}

/// Applies the embedded migrations of the URL's backend.
pub fn migrate(database_url: &str) -> Result<(), DatabaseError> {
    let applied = match Backend::of_url(database_url) {
        Backend::Postgres => {
            let mut connection = PgConnection::establish(database_url)?;
            connection
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|versions| versions.len())
        }
        Backend::Sqlite => {
            let mut connection = SqliteConnection::establish(database_url)?;
            // WAL is a property of the file: set once, before anything else opens it.
            connection
                .batch_execute("PRAGMA journal_mode = WAL;")
                .map_err(|error| DatabaseError::Migrate(error.to_string()))?;
            apply_sqlite_settings(&mut connection)?;
            connection
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|versions| versions.len())
        }
    }
    .map_err(|error| DatabaseError::Migrate(error.to_string()))?;
    if applied > 0 {
        tracing::info!(migrations.applied = applied, "database migrated");
    }
    Ok(())
}

fn apply_sqlite_settings(connection: &mut SqliteConnection) -> Result<(), diesel::result::Error> {
    connection.batch_execute(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA synchronous = NORMAL;"
    ))
}

/// Per-connection settings applied whenever the pool opens a connection.
#[derive(Debug)]
struct SessionSettings;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, connection: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        match connection {
            DbConnection::Sqlite(sqlite) => {
                apply_sqlite_settings(sqlite).map_err(diesel::r2d2::Error::QueryError)
            }
            DbConnection::Postgresql(postgres) => postgres
                .batch_execute("SET TIME ZONE 'UTC';")
                .map_err(diesel::r2d2::Error::QueryError),
        }
    }
}

/// Runs `work` in a transaction. On SQLite the transaction takes the write lock at its start
/// (`BEGIN IMMEDIATE`), so two writers that both read first never fail upgrading their locks;
/// use this for every transaction that writes. Called inside another transaction, it becomes a
/// savepoint of that transaction, so domain functions that protect their own writes compose into
/// a caller's transaction (a webhook's effect and its event id commit together).
pub fn write_transaction<T, E>(
    connection: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    let nested = Manager::transaction_manager_status_mut(connection)
        .transaction_depth()
        .map_err(E::from)?
        .is_some();
    match connection {
        // Inside a transaction the write lock is already held (or this is PostgreSQL): a
        // savepoint is all a nested unit of work needs.
        DbConnection::Sqlite(sqlite) if !nested => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?
        }
        _ => Manager::begin_transaction(connection)?,
    }
    match work(connection) {
        Ok(value) => {
            Manager::commit_transaction(connection)?;
            Ok(value)
        }
        Err(error) => {
            // The work's error is the one worth reporting; a failed rollback leaves the
            // connection broken, and the pool discards broken connections.
            if let Err(rollback_error) = Manager::rollback_transaction(connection) {
                tracing::warn!(error = %rollback_error, "rollback failed");
            }
            Err(error)
        }
    }
}
