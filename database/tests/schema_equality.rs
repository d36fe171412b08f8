//! The SQLite and PostgreSQL migrations must produce the same schema: the same tables, the
//! same columns in the same order, the same (normalised) types and nullability, and the same
//! indexed column sets. One schema, two dialects.
//!
//! The one permitted difference is full-text search machinery, which each engine does its own
//! way (an FTS5 virtual table on SQLite, a tsvector table on PostgreSQL): tables named
//! `search_*` (and FTS5's shadow tables) are left out of the comparison.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on the first unexpected error"
)]

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use megabox_database::Backend;
use megabox_database::testing::{TestDatabase, backends};

#[derive(QueryableByName, Debug)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[derive(QueryableByName, Debug)]
struct Index {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    columns: String,
}

/// Types named the way both dialects agree on.
fn normalise(data_type: &str) -> String {
    let lowered = data_type.to_lowercase();
    let base = lowered.split('(').next().unwrap_or_default().trim();
    match base {
        "text" | "character varying" | "varchar" => "text",
        "integer" | "int" | "int4" => "integer",
        "bigint" | "int8" => "bigint",
        "boolean" | "bool" => "boolean",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "double precision" | "real" | "float8" => "double",
        "blob" | "bytea" => "binary",
        other => other,
    }
    .to_owned()
}

type Shape = BTreeMap<String, (Vec<(String, String, bool)>, Vec<String>)>;

fn shape(backend: Backend) -> Shape {
    let database = TestDatabase::new(backend).expect("test database");
    let (columns, indexes): (Vec<Column>, Vec<Index>) = match backend {
        Backend::Sqlite => {
            let mut connection = SqliteConnection::establish(&database.url).unwrap();
            let columns = diesel::sql_query(
                "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
                 (p.\"notnull\" = 0 AND p.pk = 0) AS nullable \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%' \
                 AND m.sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND m.name NOT LIKE '%_fts%' \
                 ORDER BY m.name, p.cid",
            )
            .load(&mut connection)
            .unwrap();
            let indexes = diesel::sql_query(
                "SELECT m.name AS table_name, group_concat(ii.name, ',') AS columns \
                 FROM sqlite_master m JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii \
                 WHERE m.type = 'table' AND il.origin != 'pk' AND m.name NOT LIKE '__diesel%' AND m.name NOT LIKE '%_fts%' \
                 GROUP BY il.name ORDER BY m.name",
            )
            .load(&mut connection)
            .unwrap();
            (columns, indexes)
        }
        Backend::Postgres => {
            let mut connection = PgConnection::establish(&database.url).unwrap();
            let columns = diesel::sql_query(
                "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                 c.data_type::text AS data_type, (c.is_nullable = 'YES') AS nullable \
                 FROM information_schema.columns c JOIN information_schema.tables t \
                 ON t.table_name = c.table_name AND t.table_schema = c.table_schema \
                 WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.table_name NOT LIKE '__diesel%' \
                 ORDER BY c.table_name, c.ordinal_position",
            )
            .load(&mut connection)
            .unwrap();
            let indexes = diesel::sql_query(
                "SELECT t.relname::text AS table_name, string_agg(a.attname::text, ',' ORDER BY k.ordinality) AS columns \
                 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ordinality) \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE n.nspname = 'public' AND NOT x.indisprimary AND t.relname NOT LIKE '__diesel%' \
                 GROUP BY i.relname, t.relname ORDER BY t.relname",
            )
            .load(&mut connection)
            .unwrap();
            (columns, indexes)
        }
    };
    let mut shape = Shape::new();
    let compared = |table: &str| !table.starts_with("search_");
    for column in columns
        .into_iter()
        .filter(|column| compared(&column.table_name))
    {
        shape.entry(column.table_name).or_default().0.push((
            column.column_name,
            normalise(&column.data_type),
            column.nullable,
        ));
    }
    for index in indexes
        .into_iter()
        .filter(|index| compared(&index.table_name))
    {
        shape
            .entry(index.table_name)
            .or_default()
            .1
            .push(index.columns);
    }
    for (_, indexes) in shape.values_mut() {
        indexes.sort();
    }
    shape
}

#[test]
fn sqlite_and_postgres_schemas_are_equal() {
    let available = backends();
    let sqlite = shape(Backend::Sqlite);
    assert!(
        sqlite.contains_key("users"),
        "the migrations ran: {sqlite:?}"
    );
    if !available.contains(&Backend::Postgres) {
        return;
    }
    let postgres = shape(Backend::Postgres);
    let tables: std::collections::BTreeSet<_> = sqlite.keys().chain(postgres.keys()).collect();
    for table in tables {
        assert_eq!(
            sqlite.get(table),
            postgres.get(table),
            "table {table} differs (left: SQLite, right: PostgreSQL)"
        );
    }
}
