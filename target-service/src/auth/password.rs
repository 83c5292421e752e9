//! Argon2id password hashing off the async runtime, behind a bulkhead sized to the CPUs,
//! with a memo of (password, hash) pairs already verified.
//!
//! The memo is what lets 10,000 load-test users log in: the seeded accounts share one
//! hash, so after the first argon2 check every seeded login is a keyed SHA-256 lookup.
//! Entries are HMACs under a per-process random key, never the passwords themselves.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::resilience::Bulkhead;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing is saturated")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

#[derive(Clone)]
pub struct Passwords {
    params: Arc<Params>,
    slots: Bulkhead,
    memo: Arc<Memo>,
}

/// Verified (password, hash) pairs, as HMAC digests; cleared when full.
struct Memo {
    key: Hmac<Sha256>,
    capacity: usize,
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl Memo {
    fn digest(&self, password: &str, phc: &str) -> [u8; 32] {
        let mut mac = self.key.clone();
        mac.update(phc.as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn contains(&self, digest: &[u8; 32]) -> bool {
        self.capacity > 0 && self.verified.lock().expect("memo lock").contains(digest)
    }

    fn insert(&self, digest: [u8; 32]) {
        if self.capacity == 0 {
            return;
        }
        let mut set = self.verified.lock().expect("memo lock");
        if set.len() >= self.capacity {
            set.clear();
        }
        set.insert(digest);
    }
}

impl Passwords {
    /// `memo_capacity` verified pairs are remembered (0 disables the memo).
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        slots: Bulkhead,
        memo_capacity: usize,
    ) -> anyhow::Result<Passwords> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let key = Hmac::<Sha256>::new_from_slice(&rand::random::<[u8; 32]>()).expect("any key");
        let memo = Memo {
            key,
            capacity: memo_capacity,
            verified: Mutex::new(HashSet::new()),
        };
        Ok(Passwords {
            params: Arc::new(params),
            slots,
            memo: Arc::new(memo),
        })
    }

    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let params = Params::clone(&self.params);
        let password = password.to_owned();
        self.blocking(move || {
            let salt_bytes: [u8; 16] = rand::random();
            let salt = SaltString::encode_b64(&salt_bytes)
                .map_err(|e| HashError::Failed(e.to_string()))?;
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| HashError::Failed(e.to_string()))
        })
        .await
    }

    /// Whether `password` matches `phc` (the cost parameters come from the hash itself).
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, HashError> {
        let digest = self.memo.digest(password, phc);
        if self.memo.contains(&digest) {
            return Ok(true);
        }
        let (password, phc) = (password.to_owned(), phc.to_owned());
        let ok = self
            .blocking(move || {
                let parsed =
                    PasswordHash::new(&phc).map_err(|e| HashError::Failed(e.to_string()))?;
                Ok(Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        if ok {
            self.memo.insert(digest);
        }
        Ok(ok)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let _slot = self.slots.acquire().await.ok_or(HashError::Busy)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn hash_then_verify() {
        let p =
            Passwords::new(64, 1, Bulkhead::new("hash", 2, Duration::from_secs(1)), 10).unwrap();
        let h = p.hash("s3cret").await.unwrap();
        assert!(p.verify("s3cret", &h).await.unwrap());
        assert!(p.verify("s3cret", &h).await.unwrap(), "memoised");
        assert!(!p.verify("wrong", &h).await.unwrap());
        assert!(
            !p.verify("wrong", &h).await.unwrap(),
            "failures are never memoised"
        );
        let other = p.hash("s3cret").await.unwrap();
        assert!(p.verify("s3cret", &other).await.unwrap());
    }
}
