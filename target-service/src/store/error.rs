//! What a store call can fail with, and which failures are the data's fault, not the database's.

/// The business outcomes are distinct variants; so is data the database refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("no copies available")]
    NoCopies,
    #[error("loan limit reached")]
    LoanLimit,
    #[error("already exists")]
    Duplicate,
    /// Another book has this ISBN (the unique index `books_isbn`).
    #[error("a book with this isbn already exists")]
    IsbnTaken,
    #[error("loan already returned")]
    AlreadyReturned,
    #[error("copies on loan exceed the new total")]
    CopiesOnLoan,
    #[error("idempotency key already used for another book")]
    KeyReused,
    /// A value the database cannot hold (SQLSTATE class 22: a NUL byte, a number out of range).
    #[error("database refused the value: {0}")]
    BadValue(sqlx::Error),
    /// A constraint the row breaks (SQLSTATE class 23: unique, foreign key, check, not null).
    #[error("database refused the row: {0}")]
    Constraint(sqlx::Error),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl StoreError {
    /// A book insert's or update's error: a unique violation can only be the ISBN's.
    pub fn isbn_taken(e: sqlx::Error) -> StoreError {
        match e.as_database_error() {
            Some(db) if db.is_unique_violation() => StoreError::IsbnTaken,
            _ => e.into(),
        }
    }

    /// Infrastructure failures (count against the breaker; reads may retry them). Refused
    /// data is the database working: counting it let two requests with a NUL byte open
    /// the breaker for every user.
    pub fn is_infra(&self) -> bool {
        matches!(self, StoreError::Database(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match refusal(&e) {
            Some(Refusal::Value) => StoreError::BadValue(e),
            Some(Refusal::Constraint) => StoreError::Constraint(e),
            None => StoreError::Database(e),
        }
    }
}

enum Refusal {
    Value,
    Constraint,
}

/// PostgreSQL's SQLSTATE classes 22 and 23; SQLite's TOOBIG (18), CONSTRAINT (19) and
/// MISMATCH (20) primary result codes, which its extended codes carry in the low byte.
fn refusal(e: &sqlx::Error) -> Option<Refusal> {
    let db = e.as_database_error()?;
    let code = db.code()?;
    if code.len() == 5 {
        return match &code[..2] {
            "22" => Some(Refusal::Value),
            "23" => Some(Refusal::Constraint),
            _ => None,
        };
    }
    match code.parse::<u32>().ok()? & 0xff {
        19 => Some(Refusal::Constraint),
        18 | 20 => Some(Refusal::Value),
        _ => None,
    }
}
