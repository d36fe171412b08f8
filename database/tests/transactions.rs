//! `write_transaction` nests: inside another transaction it is a savepoint, so an inner failure
//! rolls back only the inner work and an outer failure rolls back everything.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on the first unexpected error"
)]

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use megabox_database::testing::{TestDatabase, backends};
use megabox_database::write_transaction;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn count(connection: &mut megabox_database::DbConnection) -> i64 {
    diesel::sql_query("SELECT COUNT(*) AS count FROM nesting_probe")
        .get_result::<Count>(connection)
        .unwrap()
        .count
}

#[test]
fn nested_write_transactions_are_savepoints() {
    for backend in backends() {
        let database = TestDatabase::new(backend).unwrap();
        let pool = megabox_database::connect(&database.url, 1).unwrap();
        let mut connection = pool.get().unwrap();
        connection
            .batch_execute("CREATE TABLE nesting_probe (id BIGINT PRIMARY KEY)")
            .unwrap();
        let insert = |connection: &mut megabox_database::DbConnection, id: i64| {
            diesel::sql_query(format!("INSERT INTO nesting_probe (id) VALUES ({id})"))
                .execute(connection)
                .map(|_| ())
        };

        write_transaction(&mut connection, |connection| {
            insert(connection, 1)?;
            let inner: Result<(), diesel::result::Error> =
                write_transaction(connection, |connection| {
                    insert(connection, 2)?;
                    Err(diesel::result::Error::RollbackTransaction)
                });
            assert!(inner.is_err());
            write_transaction(connection, |connection| insert(connection, 3))
        })
        .unwrap();
        assert_eq!(
            count(&mut connection),
            2,
            "{backend:?}: the failed inner unit alone was rolled back"
        );

        let outer: Result<(), diesel::result::Error> =
            write_transaction(&mut connection, |connection| {
                write_transaction(connection, |connection| insert(connection, 4))?;
                Err(diesel::result::Error::RollbackTransaction)
            });
        assert!(outer.is_err());
        assert_eq!(
            count(&mut connection),
            2,
            "{backend:?}: an outer failure undoes committed inner work"
        );
    }
}
