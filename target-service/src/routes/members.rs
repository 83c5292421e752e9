//! `/members` registration and `/auth/login`, which trades a password for a bearer token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{db_read, db_write};
use crate::auth::password::HashError;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::model::{Member, NewMember, Role, MAX_EMAIL_CHARS, MAX_PASSWORD_CHARS};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/members", post(register))
        .route("/auth/login", post(login))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Serialize)]
struct LoginResponse {
    token: String,
    member_id: i64,
    role: Role,
}

async fn register(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NewMember>,
) -> Result<(StatusCode, Json<Member>), ApiError> {
    if let Some(problem) = input.problem() {
        return Err(ApiError::BadRequest(problem.into()));
    }
    let (email, name) = (input.email.to_lowercase(), input.name.trim());
    let hash = state
        .passwords
        .hash(&input.password)
        .await
        .map_err(hash_error)?;
    let name = name.to_string();
    let member = db_write(&state, |store| async move {
        store
            .create_member(&email, &name, &hash, Role::Member)
            .await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(member)))
}

async fn login(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    // Longer than any account's: no need to ask the database or argon2.
    if input.email.chars().count() > MAX_EMAIL_CHARS
        || input.password.chars().count() > MAX_PASSWORD_CHARS
    {
        return Err(ApiError::Unauthorized);
    }
    let email = input.email.trim().to_lowercase();
    let found = db_read(&state, |store| {
        let email = email.clone();
        async move { store.credentials(&email).await }
    })
    .await?;
    let Some(creds) = found else {
        // Spend the same work as a real check so response time does not reveal members.
        let _ = state.passwords.hash(&input.password).await;
        return Err(ApiError::Unauthorized);
    };
    if !state
        .passwords
        .verify(&input.password, &creds.password_hash)
        .await
        .map_err(hash_error)?
    {
        return Err(ApiError::Unauthorized);
    }
    let role = Role::parse(&creds.role).unwrap_or(Role::Member);
    Ok(Json(LoginResponse {
        token: state.tokens.issue(creds.id, role),
        member_id: creds.id,
        role,
    }))
}

fn hash_error(e: HashError) -> ApiError {
    match e {
        HashError::Busy => ApiError::Overloaded {
            retry_after_secs: 1,
        },
        HashError::Failed(detail) => ApiError::Internal(anyhow::anyhow!(detail)),
    }
}
