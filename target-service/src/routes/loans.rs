//! `/loans` and `/members/me/loans`: borrowing and returning, idempotent by key.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::{db_read, db_write};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, Id};
use crate::model::Loan;
use crate::state::AppState;

const MAX_KEY_LEN: usize = 128;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/loans", post(borrow))
        .route("/loans/{id}/return", post(give_back))
        .route("/members/me/loans", get(my_loans))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BorrowRequest {
    #[serde(deserialize_with = "crate::model::integer")]
    book_id: i64,
}

async fn borrow(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<BorrowRequest>,
) -> Result<(StatusCode, Json<Loan>), ApiError> {
    if input.book_id <= 0 {
        return Err(ApiError::BadRequest(
            "book_id must be a positive integer".into(),
        ));
    }
    let key = idempotency_key(&headers)?;
    let limit = state.config.loan_limit;
    let (member, book) = (caller.member_id, input.book_id);
    let (loan, created) = db_write(&state, |store| async move {
        store.borrow(member, book, key.as_deref(), limit).await
    })
    .await?;
    if created {
        state.cache.forget_book(loan.book_id).await;
        state.cache.forget_loans(caller.member_id).await;
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(loan)))
}

async fn give_back(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<Loan>, ApiError> {
    let member = caller.member_id;
    let loan = db_write(&state, |store| async move {
        store.return_loan(member, id).await
    })
    .await?;
    state.cache.forget_book(loan.book_id).await;
    state.cache.forget_loans(caller.member_id).await;
    Ok(Json(loan))
}

async fn my_loans(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Loan>>, ApiError> {
    if let Some(hit) = state.cache.loans::<Vec<Loan>>(caller.member_id).await {
        return Ok(Json(hit));
    }
    let member = caller.member_id;
    let loans = db_read(
        &state,
        |store| async move { store.member_loans(member).await },
    )
    .await?;
    state.cache.put_loans(caller.member_id, &loans).await;
    Ok(Json(loans))
}

/// The `Idempotency-Key`: absent is none; present, it must be 1-128 visible ASCII
/// characters (no spaces), so an empty or garbled key is a 400, never silently "no key".
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_KEY_LEN || !bytes.iter().all(u8::is_ascii_graphic) {
        return Err(ApiError::BadRequest(format!(
            "Idempotency-Key must be 1-{MAX_KEY_LEN} visible ASCII characters"
        )));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}
