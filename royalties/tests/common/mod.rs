//! Shared test support: a fresh database per backend, fixed ids and instants, and an in-memory
//! payment gateway that can succeed, refuse, lose its answer or crash the caller.
#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::Connection;
use megabox_database::testing::{TestDatabase, backends};
use megabox_database::{Backend, DbConnection};
use megabox_domain::{ArtistId, Cents, UserId};
use royalties::{GatewayError, PayoutGateway, TransferId};

/// Runs `test` once per available backend, each time on a fresh migrated database.
pub fn on_each_backend(test: impl Fn(Backend, &mut DbConnection)) {
    for backend in backends() {
        let database =
            TestDatabase::new(backend).unwrap_or_else(|error| panic!("{backend:?}: {error}"));
        let mut connection = DbConnection::establish(&database.url)
            .unwrap_or_else(|error| panic!("{backend:?}: {error}"));
        test(backend, &mut connection);
    }
}

/// A fresh database and a connection to it; the database lives as long as the first value.
pub fn database(backend: Backend) -> (TestDatabase, DbConnection) {
    let database =
        TestDatabase::new(backend).unwrap_or_else(|error| panic!("{backend:?}: {error}"));
    let connection = DbConnection::establish(&database.url)
        .unwrap_or_else(|error| panic!("{backend:?}: {error}"));
    (database, connection)
}

/// Artist number `index`, with ids that sort in index order (ties of splits go to the smaller).
pub fn artist(index: u32) -> ArtistId {
    format!("00000000-0000-7000-8000-{index:012x}")
        .parse()
        .unwrap_or_else(|_| panic!("artist {index}"))
}

pub fn listener(index: u32) -> UserId {
    format!("00000000-0000-7000-9000-{index:012x}")
        .parse()
        .unwrap_or_else(|_| panic!("listener {index}"))
}

/// Noon UTC on a day of 2026.
pub fn day(month: u32, day: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, month, day)
        .and_then(|date| date.and_hms_opt(12, 0, 0))
        .unwrap_or_else(|| panic!("2026-{month}-{day}"))
}

/// How the fake gateway answers the next calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayBehaviour {
    Succeed,
    /// Refuse: no transfer is made.
    Decline,
    /// Make the transfer, then lose the answer (a timeout after the fact).
    LoseResponse,
    /// Crash the caller before the transfer reaches the gateway.
    CrashBefore,
    /// Make the transfer, then crash the caller before it hears the answer.
    CrashAfter,
}

/// A gateway that keeps transfers in memory and honours idempotency keys, as Stripe does.
pub struct FakeGateway {
    pub behaviour: Cell<GatewayBehaviour>,
    /// Transfers by idempotency key: (transfer id, destination, amount).
    pub transfers: RefCell<BTreeMap<String, (String, String, Cents)>>,
    pub calls: Cell<usize>,
}

impl FakeGateway {
    pub fn new(behaviour: GatewayBehaviour) -> FakeGateway {
        FakeGateway {
            behaviour: Cell::new(behaviour),
            transfers: RefCell::new(BTreeMap::new()),
            calls: Cell::new(0),
        }
    }

    fn transfer(&self, idempotency_key: &str, destination: &str, amount: Cents) -> TransferId {
        let mut transfers = self.transfers.borrow_mut();
        let count = transfers.len();
        let (transfer_id, _, _) = transfers
            .entry(idempotency_key.to_owned())
            .or_insert_with(|| (format!("tr_{count}"), destination.to_owned(), amount));
        TransferId(transfer_id.clone())
    }
}

impl PayoutGateway for FakeGateway {
    fn create_transfer(
        &self,
        idempotency_key: &str,
        destination: &str,
        amount: Cents,
    ) -> Result<TransferId, GatewayError> {
        self.calls.set(self.calls.get() + 1);
        // Like Stripe: a key that already made a transfer answers with that transfer.
        if let Some((transfer_id, _, _)) = self.transfers.borrow().get(idempotency_key) {
            return Ok(TransferId(transfer_id.clone()));
        }
        match self.behaviour.get() {
            GatewayBehaviour::Succeed => Ok(self.transfer(idempotency_key, destination, amount)),
            GatewayBehaviour::Decline => Err(GatewayError::Declined("account closed".to_owned())),
            GatewayBehaviour::LoseResponse => {
                self.transfer(idempotency_key, destination, amount);
                Err(GatewayError::Unknown("timed out".to_owned()))
            }
            GatewayBehaviour::CrashBefore => panic!("simulated crash before the transfer"),
            GatewayBehaviour::CrashAfter => {
                self.transfer(idempotency_key, destination, amount);
                panic!("simulated crash after the transfer")
            }
        }
    }
}

/// Fails the test with the violation if the ledger's invariants do not hold.
pub fn assert_verified(connection: &mut DbConnection, context: &str) {
    if let Err(error) = royalties::verify(connection) {
        panic!("{context}: {error}");
    }
}
