//! `/loans` and `/members/me/loans`: borrowing and returning, idempotent by key.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::{db_read, db_write};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_id, ApiJson};
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
struct BorrowRequest {
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
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.trim().is_empty() && k.len() <= MAX_KEY_LEN => Some(k.trim().to_string()),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "Idempotency-Key must be 1-{MAX_KEY_LEN} visible characters"
                )))
            }
        },
    };
    let limit = state.config.loan_limit;
    let (loan, created) = db_write(
        &state,
        state
            .store
            .borrow(caller.member_id, input.book_id, key.as_deref(), limit),
    )
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
    Path(raw): Path<String>,
) -> Result<Json<Loan>, ApiError> {
    let id = parse_id(&raw)?;
    let loan = db_write(&state, state.store.return_loan(caller.member_id, id)).await?;
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
    let loans = db_read(&state, || state.store.member_loans(caller.member_id)).await?;
    state.cache.put_loans(caller.member_id, &loans).await;
    Ok(Json(loans))
}
