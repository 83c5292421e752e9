//! The seeded data the scenarios draw from (see docs/SERVICE.md): id ranges,
//! accounts, and search words, so requests hit rows that exist.

use rand::Rng;

pub const BOOKS: u64 = 10_000;
pub const MEMBERS: u64 = 10_000;
pub const LIBRARIANS: u64 = 10;
pub const PASSWORD: &str = "loadgen-password";
/// Words the seeded titles and authors are built from.
pub const SEARCH_WORDS: [&str; 8] = [
    "history", "river", "king", "night", "garden", "war", "city", "secret",
];

pub fn book_id() -> u64 {
    rand::rng().random_range(1..=BOOKS)
}

pub fn member_email() -> String {
    format!(
        "member{}@library.test",
        rand::rng().random_range(1..=MEMBERS)
    )
}

pub fn librarian_email() -> String {
    format!(
        "librarian{}@library.test",
        rand::rng().random_range(1..=LIBRARIANS)
    )
}

pub fn search_word() -> &'static str {
    SEARCH_WORDS[rand::rng().random_range(0..SEARCH_WORDS.len())]
}

pub fn page() -> u32 {
    rand::rng().random_range(1..=3)
}

/// A fresh idempotency key for one borrow attempt (retries reuse it).
pub fn idempotency_key() -> String {
    format!(
        "lg-{:016x}{:016x}",
        rand::rng().random::<u64>(),
        rand::rng().random::<u64>()
    )
}
