//! Isolated databases for tests: each test gets a fresh SQLite file or a fresh PostgreSQL
//! database, migrated, and removed when the handle is dropped, so tests run in parallel.
//!
//! PostgreSQL is found at `MEGABOX_TEST_POSTGRES_URL` (default: the local server's `postgres`
//! database). Where it cannot be reached a test is skipped with a message, except when
//! `CI=true`: then the test fails, because CI must prove both backends.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::{Backend, DatabaseError};

const DEFAULT_POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// True when the run must prove every backend and service instead of skipping what is missing.
pub fn services_required() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

fn postgres_admin_url() -> String {
    std::env::var("MEGABOX_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_ADMIN_URL.to_owned())
}

/// The backends a test should run on: SQLite always, PostgreSQL when it is reachable (or when
/// CI requires it, in which case an unreachable server fails the test).
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    match PgConnection::establish(&postgres_admin_url()) {
        Ok(_) => backends.push(Backend::Postgres),
        Err(error) if services_required() => {
            panic!(
                "CI=true but PostgreSQL is unreachable at {}: {error}",
                postgres_admin_url()
            )
        }
        Err(error) => eprintln!("skipping PostgreSQL (unreachable: {error})"),
    }
    backends
}

/// A migrated database that exists for as long as this value does.
pub struct TestDatabase {
    pub url: String,
    backend: Backend,
    postgres_name: Option<String>,
    _directory: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub fn new(backend: Backend) -> Result<TestDatabase, DatabaseError> {
        let database = match backend {
            Backend::Sqlite => {
                let directory = tempfile::tempdir().map_err(|error| {
                    DatabaseError::Migrate(format!("cannot create a temporary directory: {error}"))
                })?;
                let url = directory
                    .path()
                    .join("megabox.sqlite3")
                    .display()
                    .to_string();
                TestDatabase {
                    url,
                    backend,
                    postgres_name: None,
                    _directory: Some(directory),
                }
            }
            Backend::Postgres => {
                let name = format!("megabox_test_{}", uuid::Uuid::new_v4().simple());
                let admin_url = postgres_admin_url();
                let mut admin = PgConnection::establish(&admin_url)?;
                admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
                let url = replace_database_name(&admin_url, &name);
                TestDatabase {
                    url,
                    backend,
                    postgres_name: Some(name),
                    _directory: None,
                }
            }
        };
        crate::migrate(&database.url)?;
        Ok(database)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.postgres_name
            && let Ok(mut admin) = PgConnection::establish(&postgres_admin_url())
            && let Err(error) =
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        {
            eprintln!("could not drop test database {name}: {error}");
        }
    }
}

fn replace_database_name(url: &str, name: &str) -> String {
    let (without_query, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match without_query.rsplit_once('/') {
        Some((server, _database))
            if server.contains("//") && server.len() > "postgres://".len() =>
        {
            server
        }
        _ => without_query,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database_name;

    #[test]
    fn replaces_the_database_in_a_url() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgres://u@h/db?sslmode=disable",
                "postgres://u@h/x?sslmode=disable",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(replace_database_name(input, "x"), expected);
        }
    }
}
