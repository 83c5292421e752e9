//! The store's one-round-trip calls: reads keyed by integers go as simple queries
//! outside any transaction (integers written into the text), and a borrow checks its
//! idempotency key inside its own transaction. Same answers as before, on both backends.

use target_service::model::BookInput;
use target_service::store::StoreError;

use crate::helpers::{on_both, TestApp};

async fn simple_query_reads_decode_every_field(app: &TestApp) {
    let store = &app.state.store;
    // Text a simple query would choke on if it were ever written into the SQL.
    let input = BookInput {
        isbn: "978-0-00-000000-2".into(),
        title: "Ünïcode 'quoted' $1 -- title".into(),
        author: "O'Brien; DROP TABLE books".into(),
        year: -300,
        copies: 4,
    };
    let created = store.create_book(&input).await.unwrap();
    assert_eq!(store.get_book(created.id).await.unwrap(), created);
    assert!(matches!(
        store.get_book(i64::MAX).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.get_book(-1).await,
        Err(StoreError::NotFound)
    ));

    let member = 7;
    let (first, _) = store.borrow(member, created.id, None, 5).await.unwrap();
    let (second, _) = store
        .borrow(member, created.id, Some("k"), 5)
        .await
        .unwrap();
    let returned = store.return_loan(member, first.id).await.unwrap();
    assert!(returned.returned_at.is_some() && second.returned_at.is_none());
    // Active loans first, then the newest.
    assert_eq!(
        store.member_loans(member).await.unwrap(),
        vec![second, returned]
    );
    assert!(store.member_loans(i64::MAX).await.unwrap().is_empty());

    // Nothing relays in these tests: the three events wait, and a claim leases them
    // in id order, so a second claim finds none.
    assert_eq!(store.outbox_pending().await.unwrap(), 3);
    let claimed = store.claim_outbox(10, 30_000).await.unwrap();
    let kinds: Vec<&str> = claimed.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(kinds, ["loan.created", "loan.created", "loan.returned"]);
    assert!(claimed.windows(2).all(|w| w[0].id < w[1].id));
    assert!(store.claim_outbox(10, 30_000).await.unwrap().is_empty());
    store.ping().await.unwrap();
}
on_both!(simple_query_reads_decode_every_field);

/// The key is now checked after the member's row is counted: a replay must still win
/// over the loan limit and leave the count as it was.
async fn a_replay_at_the_loan_limit_is_still_a_replay(app: &TestApp) {
    let store = &app.state.store;
    let (member, limit) = (8, 2);
    let book = app.add_book(5).await;
    let (kept, created) = store.borrow(member, book, Some("a"), limit).await.unwrap();
    assert!(created);
    store.borrow(member, book, Some("b"), limit).await.unwrap();
    let (again, created) = store.borrow(member, book, Some("a"), limit).await.unwrap();
    assert_eq!((again, created), (kept.clone(), false));
    assert!(matches!(
        store.borrow(member, book, Some("c"), limit).await,
        Err(StoreError::LoanLimit)
    ));
    assert!(matches!(
        store.borrow(member, book + 1, Some("a"), limit).await,
        Err(StoreError::KeyReused)
    ));
    // The replays were rolled back: one return makes room for exactly one loan.
    store.return_loan(member, kept.id).await.unwrap();
    store.borrow(member, book, Some("c"), limit).await.unwrap();
    assert!(matches!(
        store.borrow(member, book, Some("d"), limit).await,
        Err(StoreError::LoanLimit)
    ));
}
on_both!(a_replay_at_the_loan_limit_is_still_a_replay);
