//! A bearer token is accepted only as it was issued: its MAC is compared byte for
//! byte, so `ABCD` is not `abcd` (hex decoding took both, one token had 2^n spellings).

use std::time::Duration;

use target_service::auth::token::TokenSigner;
use target_service::model::Role;

use crate::socket::serve_with;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_with_its_mac_in_other_case_is_refused() {
    let served = serve_with(&[]).await;
    let signer = TokenSigner::new("test-secret", Duration::from_secs(600));
    let token = signer.issue(4, Role::Member);
    let loans = |token: String| {
        let served = &served;
        async move {
            let auth = format!("Bearer {token}");
            served
                .get("/members/me/loans", &[("Authorization", &auth)])
                .await
        }
    };
    assert_eq!(loans(token.clone()).await.status, 200, "as issued");
    let (body, mac) = token.rsplit_once('.').unwrap();
    let upper = format!("{body}.{}", mac.to_ascii_uppercase());
    assert_ne!(upper, token);
    let r = loans(upper).await;
    assert_eq!(r.status, 401, "{r:?}");
    let mixed: String = mac
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    assert_eq!(loans(format!("{body}.{mixed}")).await.status, 401);
}
