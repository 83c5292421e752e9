//! Overload protection: in-flight load shedding, per-client token buckets, request deadline.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::error::ApiError;
use crate::state::AppState;

/// Counts requests being served; refuses new ones beyond the limit.
#[derive(Clone, Debug)]
pub struct InFlight {
    count: Arc<AtomicUsize>,
    max: usize,
}

/// Decrements the in-flight count when the request finishes (or is dropped).
pub struct InFlightGuard(Arc<AtomicUsize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl InFlight {
    pub fn new(max: usize) -> InFlight {
        InFlight {
            count: Arc::new(AtomicUsize::new(0)),
            max: max.max(1),
        }
    }

    pub fn try_enter(&self) -> Option<InFlightGuard> {
        let now = self.count.fetch_add(1, Ordering::AcqRel) + 1;
        let guard = InFlightGuard(self.count.clone());
        (now <= self.max).then_some(guard)
    }

    pub fn current(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets keyed by client; `per_sec == 0` disables limiting.
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_sec: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_sec: f64::from(per_sec),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` to proceed, or `Err(seconds until a token is available)`.
    pub fn check(&self, client: &str) -> Result<(), u64> {
        if self.per_sec <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() > 100_000 {
            // Idle buckets are full buckets: forgetting them changes nothing.
            let idle = Duration::from_secs_f64(self.burst / self.per_sec);
            buckets.retain(|_, b| now.duration_since(b.last) < idle);
        }
        let bucket = buckets.entry(client.to_string()).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * self.per_sec;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / self.per_sec).ceil().max(1.0) as u64)
        }
    }
}

/// Sheds load (503) when too many requests are in flight, then applies the deadline.
pub async fn shed_load(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(_guard) = state.in_flight.try_enter() else {
        state.metrics.shed();
        return ApiError::Overloaded {
            retry_after_secs: 1,
        }
        .into_response();
    };
    match tokio::time::timeout(state.config.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable("request deadline exceeded".into()).into_response(),
    }
}

/// Per-client rate limit (429 + Retry-After).
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let client = client_key(&req, state.config.trust_proxy_headers);
    if let Err(retry_after_secs) = state.limiter.check(&client) {
        state.metrics.rate_limited();
        return ApiError::RateLimited { retry_after_secs }.into_response();
    }
    next.run(req).await
}

/// The bearer token when present (one user = one bucket behind a shared proxy),
/// else the forwarded client address when trusted, else the peer address.
fn client_key(req: &Request, trust_proxy: bool) -> String {
    let headers = req.headers();
    if let Some(token) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        return format!(
            "t:{}",
            token.get(token.len().saturating_sub(64)..).unwrap_or(token)
        );
    }
    if trust_proxy {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .or_else(|| headers.get("x-real-ip").and_then(|v| v.to_str().ok()));
        if let Some(ip) = forwarded {
            return format!("ip:{}", ip.trim());
        }
    }
    match req.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => format!("ip:{}", addr.ip()),
        None => "ip:unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_refills_over_time() {
        let limiter = RateLimiter::new(2, 2);
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        assert_eq!(limiter.check("a"), Err(1));
        assert!(limiter.check("b").is_ok(), "clients have their own buckets");
        tokio::time::advance(Duration::from_millis(600)).await;
        assert!(limiter.check("a").is_ok());
    }

    #[test]
    fn in_flight_sheds_beyond_max() {
        let f = InFlight::new(1);
        let g = f.try_enter();
        assert!(g.is_some());
        assert!(f.try_enter().is_none());
        drop(g);
        assert_eq!(f.current(), 0);
        assert!(f.try_enter().is_some());
    }
}
