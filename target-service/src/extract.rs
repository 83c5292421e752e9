//! Extractors whose rejections are `ApiError`s, so every 4xx is JSON.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::Json;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `Json<T>` with JSON rejections (400 syntax, 415 content type, 413 too large, 422 shape).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::Rejected {
                status: rejection.status(),
                message: rejection.body_text(),
            }),
        }
    }
}

/// Query string as raw pairs; handlers validate each value themselves.
pub struct RawQuery(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for RawQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| RawQuery(q))
            .map_err(|_| ApiError::BadRequest("malformed query string".into()))
    }
}

/// A positive integer id from a path segment (`"abc"`, `-1`, overflow -> 400).
pub fn parse_id(raw: &str) -> Result<i64, ApiError> {
    match raw.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ApiError::BadRequest("id must be a positive integer".into())),
    }
}
