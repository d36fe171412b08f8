//! A [`Deduper`] backed by Redis: one pipelined `SET key 1 NX EX ttl` per event, so a batch of
//! 100 events costs one round trip. Keys expire after the accepted event age (plus a day), after
//! which the event would be refused as stale anyway.

use std::sync::Mutex;
use std::time::Duration;

use megabox_protocol::{DeviceId, EventId};

use crate::intake::{Deduper, DeduperUnavailable};

/// Margin added to the event age for the key lifetime.
const KEY_LIFETIME_MARGIN: Duration = Duration::from_secs(24 * 3600);

pub struct RedisDeduper {
    connection: Mutex<redis::Connection>,
    key_lifetime_seconds: u64,
}

impl RedisDeduper {
    /// Connects to `redis_url`; keys live `event_age_max` plus a day.
    pub fn connect(
        redis_url: &str,
        event_age_max: Duration,
    ) -> Result<RedisDeduper, DeduperUnavailable> {
        let unavailable = |error: redis::RedisError| DeduperUnavailable(error.to_string());
        let connection = redis::Client::open(redis_url)
            .map_err(unavailable)?
            .get_connection()
            .map_err(unavailable)?;
        Ok(RedisDeduper {
            connection: Mutex::new(connection),
            key_lifetime_seconds: (event_age_max + KEY_LIFETIME_MARGIN).as_secs(),
        })
    }
}

impl Deduper for RedisDeduper {
    fn claim(&self, device: DeviceId, events: &[EventId]) -> Result<Vec<bool>, DeduperUnavailable> {
        let mut pipeline = redis::pipe();
        for event in events {
            pipeline
                .cmd("SET")
                .arg(format!(
                    "megabox:impression:{}:{}",
                    device.0.simple(),
                    event.0.simple()
                ))
                .arg(1)
                .arg("NX")
                .arg("EX")
                .arg(self.key_lifetime_seconds);
        }
        let mut connection = self
            .connection
            .lock()
            .map_err(|_| DeduperUnavailable("connection lock poisoned".to_owned()))?;
        let replies: Vec<Option<String>> = pipeline
            .query(&mut *connection)
            .map_err(|error| DeduperUnavailable(error.to_string()))?;
        Ok(replies.into_iter().map(|reply| reply.is_some()).collect())
    }
}
