//! How the catalog talks to the database: every write runs atomically whether or not the caller
//! already opened a transaction, timestamps come from one clock, and ids are converted between
//! the typed ids and their stored text in one place.

use std::str::FromStr;

use diesel::Connection;
use diesel::connection::TransactionManager;
use megabox_database::DbConnection;

use crate::error::CatalogError;

/// Runs `work` atomically. Inside the caller's transaction it becomes a savepoint; otherwise it
/// opens a write transaction (`BEGIN IMMEDIATE` on SQLite), so every catalog write is all or
/// nothing whether the store wraps it or not.
pub(crate) fn atomically<T>(
    connection: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, CatalogError>,
) -> Result<T, CatalogError> {
    type Manager = <DbConnection as Connection>::TransactionManager;
    let depth = Manager::transaction_manager_status_mut(connection).transaction_depth()?;
    if depth.is_some() {
        connection.transaction(work)
    } else {
        megabox_database::write_transaction(connection, work)
    }
}

pub(crate) use megabox_database::now;

/// Parses an id read from the database; a malformed one means the row is corrupt.
pub(crate) fn stored_id<Id: FromStr>(text: &str) -> Result<Id, CatalogError> {
    text.parse()
        .map_err(|_| CatalogError::Corrupt(format!("malformed stored id {text:?}")))
}

/// Refuses to go on inside the caller's transaction: for work whose side effects outside the
/// database (blobs) must follow the outcome of its own commit.
pub(crate) fn ensure_outside_transaction(
    connection: &mut DbConnection,
) -> Result<(), CatalogError> {
    type Manager = <DbConnection as Connection>::TransactionManager;
    if Manager::transaction_manager_status_mut(connection)
        .transaction_depth()?
        .is_some()
    {
        return Err(CatalogError::Database(
            diesel::result::Error::AlreadyInTransaction,
        ));
    }
    Ok(())
}
