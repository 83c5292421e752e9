//! Extractors whose rejections are `ApiError`s, so every 4xx is JSON.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// `Json<T>` with JSON rejections: 415 a content type other than `application/json`,
/// 413 too large, 400 syntax or a control character in any string (values and keys
/// alike, the same on every backend: PostgreSQL cannot store NUL, SQLite can), 422 a
/// body that is not an object or a shape that is not `T`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_plain_json(req.headers()) {
            return Err(ApiError::Rejected {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                message: "Expected request with `Content-Type: application/json`".into(),
            });
        }
        let Json(value) = Json::<Value>::from_request(req, state)
            .await
            .map_err(|rejection| ApiError::Rejected {
                status: rejection.status(),
                message: rejection.body_text(),
            })?;
        // serde reads a struct from an array too (its fields in order): a login
        // body of `["email", "password"]` logged in.
        if !value.is_object() {
            return Err(ApiError::Invalid(
                "request body must be a JSON object".into(),
            ));
        }
        if let Some(path) = control_character_at(&value, "") {
            return Err(ApiError::BadRequest(format!(
                "{path} must not contain control characters"
            )));
        }
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|e| ApiError::Invalid(format!("request body: {e}")))
    }
}

/// Whether the content type is `application/json`, parameters allowed (`charset`
/// only as UTF-8, JSON's one encoding). axum's `Json` also takes any `+json` type,
/// `application/vnd.anything+json` included.
fn is_plain_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        && parts.all(|param| match param.split_once('=') {
            Some((name, charset)) if name.trim().eq_ignore_ascii_case("charset") => {
                let charset = charset.trim().trim_matches('"');
                charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")
            }
            Some((name, _)) => !name.trim().is_empty(),
            None => false,
        })
}

/// Where the first string holding a control character (Unicode Cc) is, as a path.
fn control_character_at(value: &Value, at: &str) -> Option<String> {
    let name = |key: &str| match at {
        "" => key.to_string(),
        _ => format!("{at}.{key}"),
    };
    match value {
        Value::String(s) if has_control(s) => Some(if at.is_empty() {
            "body".into()
        } else {
            at.into()
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| control_character_at(v, &name(&i.to_string()))),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            if has_control(k) {
                Some(if at.is_empty() {
                    "a field name".into()
                } else {
                    format!("a field name in {at}")
                })
            } else {
                control_character_at(v, &name(k))
            }
        }),
        _ => None,
    }
}

/// Whether `text` holds a control character (C0, DEL, C1): never valid in this API's text.
pub fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
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

/// The positive integer id of a `/{id}` path (`"abc"`, `-1`, overflow, bad UTF-8 -> 400).
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| invalid_id())?;
        match raw.0.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Id(id)),
            _ => Err(invalid_id()),
        }
    }
}

fn invalid_id() -> ApiError {
    ApiError::BadRequest("id must be a positive integer".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_application_json_is_json() {
        let with = |ct: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            is_plain_json(&headers)
        };
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            assert!(with(ok), "{ok}");
        }
        for refused in [
            "application/vnd.evil+json",
            "application/json-seq",
            "text/json",
            "application/json; charset=latin1",
            "application/json; garbage",
            "application/jsonx",
        ] {
            assert!(!with(refused), "{refused}");
        }
        assert!(!is_plain_json(&HeaderMap::new()));
    }

    #[test]
    fn control_characters_are_found_anywhere() {
        assert_eq!(
            control_character_at(&json!({"a": "ok", "b": ["x", "y\u{0}"]}), ""),
            Some("b.1".into())
        );
        assert_eq!(
            control_character_at(&json!({"k\u{7f}": 1}), ""),
            Some("a field name".into())
        );
        assert_eq!(
            control_character_at(&json!("\u{85}"), ""),
            Some("body".into())
        );
        assert_eq!(
            control_character_at(&json!({"t": "tab\tin"}), ""),
            Some("t".into())
        );
        assert_eq!(
            control_character_at(&json!({"t": "é ü 中 \u{200b}"}), ""),
            None
        );
    }
}
