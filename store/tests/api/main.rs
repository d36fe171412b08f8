//! API tests: each starts the real server (the same `Application::build` as `main`) on
//! 127.0.0.1:0 with its own database, and runs once on SQLite and once on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on the first unexpected error"
)]

mod support;

mod accounts;
mod agents;
mod buying;
mod cli;
mod contract;
mod demo;
mod hardening;
mod listening;
mod money;
mod operations;
mod ownership;
mod payout_crash;
mod process;
mod publishing;
mod tags;
