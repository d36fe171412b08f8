//! Placeholder until the intake benchmark is written (the ads engineer replaces this file).
fn main() {}
