//! Argon2id password hashing off the async runtime, behind a bulkhead sized to the CPUs.

use std::sync::Arc;

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
}

impl Passwords {
    pub fn new(memory_kib: u32, iterations: u32, slots: Bulkhead) -> anyhow::Result<Passwords> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        Ok(Passwords {
            params: Arc::new(params),
            slots,
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
        let (password, phc) = (password.to_owned(), phc.to_owned());
        self.blocking(move || {
            let parsed = PasswordHash::new(&phc).map_err(|e| HashError::Failed(e.to_string()))?;
            Ok(Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await
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
        let p = Passwords::new(64, 1, Bulkhead::new("hash", 2, Duration::from_secs(1))).unwrap();
        let h = p.hash("s3cret").await.unwrap();
        assert!(p.verify("s3cret", &h).await.unwrap());
        assert!(!p.verify("wrong", &h).await.unwrap());
    }
}
