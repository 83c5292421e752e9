//! The API's data types: what handlers read from requests and write as JSON.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Book {
    pub id: i64,
    pub isbn: String,
    pub title: String,
    pub author: String,
    pub year: i64,
    pub copies_total: i64,
    pub copies_available: i64,
}

/// Body of `POST /books` and `PUT /books/{id}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookInput {
    pub isbn: String,
    pub title: String,
    pub author: String,
    #[serde(deserialize_with = "integer")]
    pub year: i64,
    #[serde(deserialize_with = "integer")]
    pub copies: i64,
}

impl BookInput {
    /// A reason the input is unacceptable, if any. Lengths count characters (as JSON
    /// Schema's `maxLength` does) of the text as sent; blank means only whitespace.
    pub fn problem(&self) -> Option<&'static str> {
        if !text_ok(&self.isbn, 32) {
            return Some("isbn must be 1-32 characters, not all whitespace");
        }
        if !text_ok(&self.title, 500) || !text_ok(&self.author, 200) {
            return Some("title (1-500 characters) and author (1-200) must not be blank");
        }
        if !(-5000..=3000).contains(&self.year) {
            return Some("year must be between -5000 and 3000");
        }
        if !(0..=1_000_000).contains(&self.copies) {
            return Some("copies must be between 0 and 1000000");
        }
        None
    }
}

/// 1 to `max` characters, not all whitespace (control characters never get this far).
fn text_ok(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BookPage {
    pub items: Vec<Book>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Member {
    pub id: i64,
    pub email: String,
    pub name: String,
}

pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Body of `POST /members`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub email: String,
    pub name: String,
    pub password: String,
}

impl NewMember {
    /// A reason the registration is unacceptable, if any (lengths in characters).
    pub fn problem(&self) -> Option<&'static str> {
        if self.email.chars().count() > MAX_EMAIL_CHARS || !is_plausible_email(&self.email) {
            return Some("email is not valid");
        }
        if !text_ok(&self.name, 200) {
            return Some("name must be 1-200 characters, not all whitespace");
        }
        if !(8..=MAX_PASSWORD_CHARS).contains(&self.password.chars().count()) {
            return Some("password must be 8-256 characters");
        }
        None
    }
}

/// `local@domain` with no whitespace anywhere, a non-empty local part (up to the first
/// `@`), and a domain that holds a dot and does not start with one.
fn is_plausible_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// What login needs to check a password and issue a token.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Credentials {
    pub id: i64,
    pub password_hash: String,
    pub role: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Librarian,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Librarian => "librarian",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "member" => Some(Role::Member),
            "librarian" => Some(Role::Librarian),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Loan {
    pub id: i64,
    pub book_id: i64,
    pub member_id: i64,
    pub status: String,
    pub borrowed_at: String,
    pub returned_at: Option<String>,
}

/// An event waiting in the transactional outbox.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OutboxEvent {
    pub id: i64,
    pub event_type: String,
    pub payload: String,
}

/// A JSON integer, also when written with a zero fraction (`3.0`): JSON Schema's
/// `integer` is a number, not a spelling, and clients that keep numbers as doubles
/// (JavaScript, Python's json on floats) send `3.0`. A fraction or an i64 overflow is a 422.
pub fn integer<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) => Ok(f as i64),
        _ => Err(D::Error::custom(format!("expected an integer, got {n}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_may_be_written_with_a_zero_fraction() {
        let parse =
            |json: &str| serde_json::from_str::<BookInput>(json).map(|b| (b.year, b.copies));
        let book = |year: &str, copies: &str| {
            format!(r#"{{"isbn":"1","title":"t","author":"a","year":{year},"copies":{copies}}}"#)
        };
        assert_eq!(parse(&book("1999.0", "3")).unwrap(), (1999, 3));
        assert_eq!(parse(&book("-5", "2e1")).unwrap(), (-5, 20));
        assert!(parse(&book("1999.5", "3")).is_err());
        assert!(parse(&book("1999", "1e19")).is_err());
        assert!(parse(&book("1999", "99999999999999999999")).is_err());
        assert!(parse(&book("\"1999\"", "3")).is_err());
    }

    #[test]
    fn registrations_are_checked_as_the_openapi_document_says() {
        let member = |email: &str, name: &str, password: &str| NewMember {
            email: email.into(),
            name: name.into(),
            password: password.into(),
        };
        assert_eq!(member("a@b.c", " Ann ", "12345678").problem(), None);
        assert_eq!(member("a@b@c.d", "Ann", "12345678").problem(), None);
        for email in ["a@b", "@b.c", "a@.b", " a@b.c", "a b@c.d", "ab.c"] {
            assert!(
                member(email, "Ann", "12345678").problem().is_some(),
                "{email}"
            );
        }
        assert!(member("a@b.c", " ", "12345678").problem().is_some());
        assert!(member("a@b.c", "Ann", "1234567").problem().is_some());
        assert_eq!(
            member("a@b.c", "Ann", &"é".repeat(256)).problem(),
            None,
            "characters, not bytes"
        );
    }
}
