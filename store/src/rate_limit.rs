//! Rate limits on the endpoints that attract abuse (login, register, and later upload,
//! checkout and impression intake).
//!
//! With Redis configured, limits are shared by every server: a fixed window counter per key
//! (`INCR` + `EXPIRE`). Without Redis — or while Redis is unreachable — each process enforces
//! the same limits on its own with `governor`; that degrades a cluster's limit to N× per key,
//! which is the documented behaviour (DESIGN.md §8): money paths never depend on Redis.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

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
        RateLimiter { in_process, redis }
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
}
