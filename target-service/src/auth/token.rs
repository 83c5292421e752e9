//! Self-verifying bearer tokens (HMAC-SHA256 with `TOKEN_SECRET`), so any stateless
//! instance behind the load balancer accepts a token another instance issued.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::clock::unix_millis;
use crate::model::Role;

type HmacSha256 = Hmac<Sha256>;

/// What a valid token says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claims {
    pub member_id: i64,
    pub role: Role,
    pub expires_unix: i64,
}

#[derive(Clone)]
pub struct TokenSigner {
    key: HmacSha256,
    ttl: Duration,
}

impl TokenSigner {
    pub fn new(secret: &str, ttl: Duration) -> TokenSigner {
        let key = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        TokenSigner { key, ttl }
    }

    /// `v1.<member>.<role>.<expiry>.<nonce>.<hex mac>`; the nonce makes every login's token unique.
    pub fn issue(&self, member_id: i64, role: Role) -> String {
        let expires = unix_millis() / 1000 + self.ttl.as_secs() as i64;
        let nonce: u64 = rand::random();
        let body = format!("v1.{member_id}.{}.{expires}.{nonce:016x}", role.as_str());
        let mut mac = self.key.clone();
        mac.update(body.as_bytes());
        format!("{body}.{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// The claims of a genuine, unexpired token.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        if token.len() > 256 {
            return None;
        }
        let (body, sig) = token.rsplit_once('.')?;
        // The MAC as issued, lowercase hex, byte for byte: decoding the hex first took
        // `ABCD` for `abcd`, so one token had many spellings (and rate-limit keys).
        let mut mac = self.key.clone();
        mac.update(body.as_bytes());
        let expected = hex::encode(mac.finalize().into_bytes());
        if !constant_time_eq(expected.as_bytes(), sig.as_bytes()) {
            return None;
        }
        let mut parts = body.split('.');
        let (Some("v1"), Some(id), Some(role), Some(exp)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let claims = Claims {
            member_id: id.parse().ok()?,
            role: Role::parse(role)?,
            expires_unix: exp.parse().ok()?,
        };
        (claims.expires_unix > unix_millis() / 1000).then_some(claims)
    }
}

/// Whether `a` and `b` are equal, in a time that depends on their lengths only (the
/// length of a MAC is no secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let signer = TokenSigner::new("secret", Duration::from_secs(60));
        let token = signer.issue(7, Role::Librarian);
        let claims = signer.verify(&token).unwrap();
        assert_eq!((claims.member_id, claims.role), (7, Role::Librarian));

        let forged = token.replacen("v1.7.librarian", "v1.8.librarian", 1);
        assert!(signer.verify(&forged).is_none());
        assert!(TokenSigner::new("other", Duration::from_secs(60))
            .verify(&token)
            .is_none());
        let (body, sig) = token.rsplit_once('.').unwrap();
        let upper = format!("{body}.{}", sig.to_ascii_uppercase());
        assert_ne!(upper, token, "the MAC has letters");
        assert!(
            signer.verify(&upper).is_none(),
            "the MAC is compared exactly"
        );
        assert!(signer.verify(&format!("{token}0")).is_none());
        assert!(signer.verify("garbage").is_none());
        assert!(signer.verify("").is_none());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let signer = TokenSigner::new("secret", Duration::from_secs(0));
        assert!(signer.verify(&signer.issue(1, Role::Member)).is_none());
    }
}
