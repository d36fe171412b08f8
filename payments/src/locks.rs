//! Named locks that serialise work on one order or one listener across processes. PostgreSQL
//! gets advisory locks; SQLite needs none, because its writers are serialised already (every
//! write transaction begins with `BEGIN IMMEDIATE`).

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use megabox_database::{Backend, DbConnection};
use sha2::{Digest, Sha256};

use crate::PaymentsError;

/// The 64-bit advisory lock key of a name.
fn advisory_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("megabox-payments:{name}").as_bytes());
    let mut key_bytes = [0_u8; 8];
    key_bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(key_bytes)
}

/// Locks `name` until the caller's transaction ends.
pub(crate) fn lock_for_transaction(
    connection: &mut DbConnection,
    name: &str,
) -> Result<(), PaymentsError> {
    if connection.backend() == Backend::Postgres {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(advisory_key(name))
            .execute(connection)?;
    }
    Ok(())
}

/// Runs `work`, which may run transactions of its own, while holding a lock on `name`.
pub(crate) fn with_lock<T>(
    connection: &mut DbConnection,
    name: &str,
    work: impl FnOnce(&mut DbConnection) -> Result<T, PaymentsError>,
) -> Result<T, PaymentsError> {
    if connection.backend() == Backend::Sqlite {
        return work(connection);
    }
    // A session-level lock: it spans the transactions `work` runs. Should releasing it fail, the
    // error is logged; the lock goes with the connection, which a failed query usually breaks.
    let key = advisory_key(name);
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(key)
        .execute(connection)?;
    let result = work(connection);
    if let Err(error) = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(key)
        .execute(connection)
    {
        tracing::error!(%error, lock.name = name, "cannot release an advisory lock");
    }
    result
}
