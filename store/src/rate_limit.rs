//! Rate limits on the endpoints that attract abuse (login, register, and later upload,
//! checkout and impression intake).
//!
//! With Redis configured, limits are shared by every server: a fixed window counter per key
//! (`INCR` + `EXPIRE`). Without Redis — or while Redis is unreachable — each process enforces
//! the same limits on its own with `governor`; that degrades a cluster's limit to N× per key,
//! which is the documented behaviour (DESIGN.md §8): money paths never depend on Redis.
//!
//! The limiter also remembers facts for a while ([`RateLimiter::remember`]), such as the
//! addresses an account signed in from, so a limit can spare them; in Redis when configured,
//! else in this process.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Keys kept by an in-process limiter before idle ones are swept.
const IN_PROCESS_KEYS_MAX: usize = 100_000;

/// One named limit: at most `requests` per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit {
    pub name: &'static str,
    pub requests: u32,
    pub window: Duration,
}

/// A request over its limit may retry after this many seconds.
#[derive(Debug, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

pub struct RateLimiter {
    in_process: HashMap<&'static str, DefaultKeyedRateLimiter<String>>,
    /// Remembered keys and when they are forgotten, without Redis.
    remembered: Mutex<HashMap<String, Instant>>,
    redis: Option<(redis::aio::ConnectionManager, String)>,
}

impl RateLimiter {
    /// A limiter for `limits`, shared through Redis when `redis` (a connection and a key
    /// prefix) is given.
    pub fn new(
        limits: &[Limit],
        redis: Option<(redis::aio::ConnectionManager, String)>,
    ) -> RateLimiter {
        let in_process = limits
            .iter()
            .map(|limit| {
                let requests = NonZeroU32::new(limit.requests).unwrap_or(NonZeroU32::MIN);
                let period = limit.window / requests.get();
                let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
                    .unwrap_or_else(|| Quota::per_second(requests))
                    .allow_burst(requests);
                (limit.name, DefaultKeyedRateLimiter::keyed(quota))
            })
            .collect();
        RateLimiter {
            in_process,
            remembered: Mutex::new(HashMap::new()),
            redis,
        }
    }

    /// Remembers `key` for `ttl`.
    pub async fn remember(&self, key: &str, ttl: Duration) {
        if let Some((connection, prefix)) = &self.redis {
            let mut connection = connection.clone();
            let stored: Result<(), redis::RedisError> = redis::cmd("SET")
                .arg(format!("{prefix}:known:{key}"))
                .arg(1)
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .query_async(&mut connection)
                .await;
            match stored {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(error = %error, "Redis unreachable; remembering in-process")
                }
            }
        }
        let now = Instant::now();
        let mut remembered = self
            .remembered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if remembered.len() >= IN_PROCESS_KEYS_MAX {
            remembered.retain(|_, forget_at| *forget_at > now);
        }
        if remembered.len() < IN_PROCESS_KEYS_MAX {
            remembered.insert(key.to_owned(), now + ttl);
        }
    }

    /// Whether `key` was remembered and not yet forgotten.
    pub async fn remembers(&self, key: &str) -> bool {
        if let Some((connection, prefix)) = &self.redis {
            let mut connection = connection.clone();
            let exists: Result<bool, redis::RedisError> = redis::cmd("EXISTS")
                .arg(format!("{prefix}:known:{key}"))
                .query_async(&mut connection)
                .await;
            match exists {
                Ok(exists) => return exists,
                Err(error) => {
                    tracing::warn!(error = %error, "Redis unreachable; recalling in-process")
                }
            }
        }
        self.remembered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .is_some_and(|forget_at| *forget_at > Instant::now())
    }

    /// Counts one request for `key` under `limit`.
    pub async fn check(&self, limit: &Limit, key: &str) -> Result<(), RetryAfter> {
        if let Some((connection, prefix)) = &self.redis {
            match check_redis(connection.clone(), prefix, limit, key).await {
                Ok(outcome) => return outcome,
                Err(error) => {
                    tracing::warn!(error = %error, rate_limit = limit.name, "Redis unreachable; limiting in-process")
                }
            }
        }
        self.check_in_process(limit, key)
    }

    fn check_in_process(&self, limit: &Limit, key: &str) -> Result<(), RetryAfter> {
        let Some(limiter) = self.in_process.get(limit.name) else {
            tracing::error!(
                rate_limit = limit.name,
                "rate limit was not registered; allowing"
            );
            return Ok(());
        };
        if limiter.len() > IN_PROCESS_KEYS_MAX {
            limiter.retain_recent();
        }
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            RetryAfter(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        })
    }
}

async fn check_redis(
    mut connection: redis::aio::ConnectionManager,
    prefix: &str,
    limit: &Limit,
    key: &str,
) -> Result<Result<(), RetryAfter>, redis::RedisError> {
    let window_seconds = limit.window.as_secs().max(1);
    let now = crate::auth::tokens::unix_now();
    let window_index = now / window_seconds;
    let redis_key = format!("{prefix}:rate:{}:{key}:{window_index}", limit.name);
    let (count,): (u64,) = redis::pipe()
        .atomic()
        .incr(&redis_key, 1)
        .expire(
            &redis_key,
            i64::try_from(window_seconds).unwrap_or(i64::MAX),
        )
        .ignore()
        .query_async(&mut connection)
        .await?;
    if count > u64::from(limit.requests) {
        Ok(Err(RetryAfter((window_index + 1) * window_seconds - now)))
    } else {
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_limits_per_key() {
        let limit = Limit {
            name: "test",
            requests: 3,
            window: Duration::from_secs(60),
        };
        let limiter = RateLimiter::new(&[limit], None);
        for _ in 0..3 {
            assert_eq!(limiter.check(&limit, "a").await, Ok(()));
        }
        let refused = limiter.check(&limit, "a").await.unwrap_err();
        assert!((1..=20).contains(&refused.0), "retry after {}", refused.0);
        assert_eq!(
            limiter.check(&limit, "b").await,
            Ok(()),
            "another key has its own budget"
        );
    }

    #[tokio::test]
    async fn in_process_memory_forgets_after_its_ttl() {
        let limiter = RateLimiter::new(&[], None);
        assert!(!limiter.remembers("a").await);
        limiter.remember("a", Duration::from_secs(60)).await;
        limiter.remember("b", Duration::ZERO).await;
        assert!(limiter.remembers("a").await);
        assert!(
            !limiter.remembers("b").await,
            "a zero TTL is forgotten at once"
        );
        assert!(!limiter.remembers("c").await);
    }
}
