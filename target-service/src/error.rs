//! The API's error type: one status per variant, a safe JSON message for clients.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::resilience::GuardError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// An extractor's own rejection (bad JSON, wrong content type, body too large).
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
    /// Well-formed input this API cannot act on (a body of the wrong shape, an
    /// idempotency key reused for another request): 422.
    #[error("{0}")]
    Invalid(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request URI is longer than {0} bytes")]
    UriTooLong(usize),
    /// The body did not arrive within `BODY_READ_TIMEOUT_MS`: 408.
    #[error("request body not received within {0} ms")]
    BodyTimeout(u128),
    /// The body is (or says it is) over `MAX_BODY_BYTES`: 413.
    #[error("request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("{0}")]
    Conflict(&'static str),
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("service overloaded, retry later")]
    Overloaded { retry_after_secs: u64 },
    #[error("dependency unavailable, retry later")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Rejected { status, .. } => *status,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Overloaded { .. } | ApiError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after_secs }
            | ApiError::Overloaded { retry_after_secs } => Some(*retry_after_secs),
            ApiError::Unavailable(_) => Some(1),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        match &self {
            ApiError::Internal(e) => tracing::error!(error = ?e, "internal error"),
            ApiError::Unavailable(detail) => tracing::warn!(%detail, "dependency unavailable"),
            _ => tracing::debug!(%status, error = %self, "request rejected"),
        }
        let mut response = (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::NoCopies => ApiError::Conflict("no copies available"),
            StoreError::LoanLimit => ApiError::Conflict("loan limit reached"),
            StoreError::Duplicate => ApiError::Conflict("already exists"),
            StoreError::IsbnTaken => ApiError::Conflict("a book with this isbn already exists"),
            StoreError::AlreadyReturned => ApiError::Conflict("loan already returned"),
            StoreError::CopiesOnLoan => {
                ApiError::Conflict("more copies are on loan than the new total")
            }
            StoreError::KeyReused => {
                ApiError::Invalid("Idempotency-Key was already used for a different request".into())
            }
            // Validation should have stopped these; the detail goes to the log only.
            StoreError::BadValue(e) => {
                tracing::warn!(error = %e, "database refused a value");
                ApiError::BadRequest("a value in the request cannot be stored".into())
            }
            StoreError::Constraint(e) => {
                tracing::warn!(error = %e, "database refused a row");
                ApiError::Conflict("conflicts with existing data")
            }
            StoreError::Database(e) if is_unavailable(&e) => ApiError::Unavailable(e.to_string()),
            StoreError::Database(e) => ApiError::Internal(e.into()),
        }
    }
}

impl From<GuardError<StoreError>> for ApiError {
    fn from(e: GuardError<StoreError>) -> Self {
        match e {
            GuardError::Inner(inner) => inner.into(),
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}

/// Errors that mean "the database is not there right now", not "the query is wrong".
fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
    ) || e
        .as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| UNAVAILABLE_CODES.contains(&c.as_ref()))
}

/// SQLite busy/locked (and their extended forms); PostgreSQL serialization failure,
/// deadlock, connection failures, shutdown, and a database that no longer exists.
const UNAVAILABLE_CODES: [&str; 13] = [
    "5", "6", "261", "517", "40001", "40P01", "08000", "08003", "08006", "57P01", "57P02", "57P03",
    "3D000",
];
