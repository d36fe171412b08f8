//! `embed_migrations!` reads the migration folders at compile time; without this, cargo would
//! not rebuild when a migration is added, and a binary would run with an old schema.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
