//! Per-client token buckets, keyed by the verified member or else the peer address,
//! in a table of bounded size that costs O(1) per request.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use tokio::time::Instant;

/// Who a bucket belongs to. Only what the server verified or saw: an unverified bearer
/// token is a string the client picks, so keying by it gave every request a fresh bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A member whose token verified (any of their tokens, from any address).
    Member(i64),
    /// An IPv4 address, or an IPv6 /64 (one host usually holds a whole /64).
    Ip(IpAddr),
    /// No peer address (in-process tests).
    Unknown,
}

impl ClientKey {
    pub fn ip(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::Ip(IpAddr::V4(v4)),
                None => {
                    let net = u128::from(v6) & !(u128::from(u64::MAX));
                    ClientKey::Ip(IpAddr::V6(Ipv6Addr::from(net)))
                }
            },
            v4 => ClientKey::Ip(v4),
        }
    }
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Two generations of buckets. A client found in the previous generation moves to the
/// current one; when the current one is full it becomes the previous and the old
/// previous is forgotten. So at most `max_clients` buckets exist, each call is O(1)
/// amortised (keys and buckets own no heap: forgetting a generation is one clear), and
/// only clients unseen for a whole generation are forgotten. A forgotten bucket starts
/// full again, which matters only to a client that went quiet while limited.
struct Table {
    /// The rate and bucket size, under the table's lock so a live change costs nothing.
    per_sec: f64,
    burst: f64,
    current: HashMap<ClientKey, Bucket>,
    previous: HashMap<ClientKey, Bucket>,
    generation: usize,
}

impl Table {
    fn bucket(&mut self, key: ClientKey, fresh: Bucket) -> &mut Bucket {
        if !self.current.contains_key(&key) {
            let bucket = self.previous.remove(&key).unwrap_or(fresh);
            if self.current.len() >= self.generation {
                std::mem::swap(&mut self.current, &mut self.previous);
                self.current.clear();
            }
            self.current.insert(key, bucket);
        }
        self.current.get_mut(&key).expect("just inserted")
    }
}

/// Token buckets keyed by client; `per_sec == 0` disables limiting.
pub struct RateLimiter {
    table: Mutex<Table>,
}

impl RateLimiter {
    pub fn new(per_sec: u32, burst: u32, max_clients: usize) -> RateLimiter {
        RateLimiter {
            table: Mutex::new(Table {
                per_sec: f64::from(per_sec),
                burst: f64::from(burst.max(1)),
                current: HashMap::new(),
                previous: HashMap::new(),
                generation: (max_clients / 2).max(1),
            }),
        }
    }

    /// A new rate and bucket size (a live configuration change). Buckets keep their
    /// tokens, capped at the new size at their next request.
    pub fn set_rate(&self, per_sec: u32, burst: u32) {
        let mut table = self.table.lock().expect("rate limiter lock");
        table.per_sec = f64::from(per_sec);
        table.burst = f64::from(burst.max(1));
    }

    /// `Ok` to proceed, or `Err(seconds until a token is available)`.
    pub fn check(&self, client: ClientKey) -> Result<(), u64> {
        let now = Instant::now();
        let mut table = self.table.lock().expect("rate limiter lock");
        let (per_sec, burst) = (table.per_sec, table.burst);
        if per_sec <= 0.0 {
            return Ok(());
        }
        let fresh = Bucket {
            tokens: burst,
            last: now,
        };
        let bucket = table.bucket(client, fresh);
        let refill = now.duration_since(bucket.last).as_secs_f64() * per_sec;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / per_sec).ceil().max(1.0) as u64)
        }
    }

    /// Buckets held now (never more than `max_clients`).
    pub fn clients(&self) -> usize {
        let table = self.table.lock().expect("rate limiter lock");
        table.current.len() + table.previous.len()
    }
}

/// The forwarded client address when trusted and well-formed, else the peer address.
pub(crate) fn peer_key(req: &Request, trust_proxy: bool) -> ClientKey {
    if trust_proxy {
        if let Some(ip) = forwarded_ip(req.headers()) {
            return ClientKey::ip(ip);
        }
    }
    match req.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => ClientKey::ip(addr.ip()),
        None => ClientKey::Unknown,
    }
}

fn forwarded_ip(headers: &HeaderMap) -> Option<IpAddr> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let raw = text("x-forwarded-for")
        .and_then(|v| v.split(',').next())
        .or_else(|| text("x-real-ip"))?;
    raw.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(n: u32) -> ClientKey {
        ClientKey::Ip(IpAddr::from(n.to_be_bytes()))
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_refills_over_time() {
        let limiter = RateLimiter::new(2, 2, 100);
        assert!(limiter.check(ip(1)).is_ok());
        assert!(limiter.check(ip(1)).is_ok());
        assert_eq!(limiter.check(ip(1)), Err(1));
        assert!(
            limiter.check(ip(2)).is_ok(),
            "clients have their own buckets"
        );
        tokio::time::advance(Duration::from_millis(600)).await;
        assert!(limiter.check(ip(1)).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_rate_applies_to_the_next_request() {
        let limiter = RateLimiter::new(0, 0, 100);
        for _ in 0..100 {
            assert!(limiter.check(ip(1)).is_ok(), "0 disables");
        }
        limiter.set_rate(1, 2);
        assert!(limiter.check(ip(1)).is_ok());
        assert!(limiter.check(ip(1)).is_ok());
        assert_eq!(limiter.check(ip(1)), Err(1));
        limiter.set_rate(0, 0);
        assert!(limiter.check(ip(1)).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_new_clients_stays_bounded_and_spares_active_ones() {
        let limiter = RateLimiter::new(1, 3, 1_000);
        for _ in 0..3 {
            assert!(limiter.check(ClientKey::Member(7)).is_ok());
        }
        for n in 0..200_000 {
            let _ = limiter.check(ip(n));
            if n % 100 == 0 {
                // Still drained: an active client is never forgotten, so never refilled.
                assert!(limiter.check(ClientKey::Member(7)).is_err(), "after {n}");
            }
            assert!(limiter.clients() <= 1_000);
        }
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::ip(a), ClientKey::ip(b));
        assert_ne!(ClientKey::ip(a), ClientKey::ip(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(
            ClientKey::ip(mapped),
            ClientKey::ip("10.0.0.1".parse().unwrap())
        );
    }
}
