//! Who is calling: signed bearer tokens, password hashing, and the request extractors.

pub mod password;
pub mod token;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::auth::token::Claims;
use crate::error::ApiError;
use crate::model::Role;
use crate::state::AppState;

/// An authenticated caller (any role).
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub member_id: i64,
    pub role: Role,
}

/// An authenticated librarian.
#[derive(Clone, Copy, Debug)]
pub struct Librarian(pub Caller);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The rate limiter keeps the claims of a token it verified.
        let claims = match parts.extensions.get::<Claims>() {
            Some(claims) => *claims,
            None => bearer(&parts.headers)
                .and_then(|token| state.tokens.verify(token))
                .ok_or(ApiError::Unauthorized)?,
        };
        Ok(Caller {
            member_id: claims.member_id,
            role: claims.role,
        })
    }
}

impl FromRequestParts<AppState> for Librarian {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.role {
            Role::Librarian => Ok(Librarian(caller)),
            Role::Member => Err(ApiError::Forbidden),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
