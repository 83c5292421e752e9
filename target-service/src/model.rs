//! The API's data types: what handlers read from requests and write as JSON.

use serde::{Deserialize, Serialize};

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
    pub year: i64,
    pub copies: i64,
}

impl BookInput {
    /// A reason the input is unacceptable, if any.
    pub fn problem(&self) -> Option<&'static str> {
        let text_ok = |s: &str, max: usize| !s.trim().is_empty() && s.len() <= max;
        if !text_ok(&self.isbn, 32) {
            return Some("isbn must be 1-32 characters");
        }
        if !text_ok(&self.title, 500) || !text_ok(&self.author, 200) {
            return Some("title and author must be non-empty and reasonably short");
        }
        if !(-5000..=3000).contains(&self.year) {
            return Some("year is out of range");
        }
        if !(0..=1_000_000).contains(&self.copies) {
            return Some("copies must be between 0 and 1000000");
        }
        None
    }
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

/// Body of `POST /members`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub email: String,
    pub name: String,
    pub password: String,
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
