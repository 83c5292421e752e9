//! The deterministic seed: books, members and librarians the load tests rely on.

use crate::model::Book;

/// The one password of every seeded account.
pub const SEED_PASSWORD: &str = "loadgen-password";
/// Librarians are `librarian1..=LIBRARIANS@library.test`.
pub const LIBRARIANS: i64 = 10;

const ADJECTIVES: &[&str] = &[
    "Silent",
    "Hidden",
    "Lost",
    "Golden",
    "Broken",
    "Forgotten",
    "Ancient",
    "Crimson",
    "Distant",
    "Secret",
    "Northern",
    "Last",
    "Wild",
    "Endless",
    "Quiet",
    "Burning",
];
const NOUNS: &[&str] = &[
    "River", "King", "History", "Garden", "Mountain", "Empire", "Ocean", "Forest", "City", "Queen",
    "Winter", "Bridge", "Island", "Storm", "Harbor", "Library", "Road", "Tower", "Night", "War",
];
const FIRST: &[&str] = &[
    "Ada", "Brian", "Clara", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Noah", "Olga", "Pavel",
];
const LAST: &[&str] = &[
    "Rivers",
    "King",
    "Morgan",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Santos",
    "Turner",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Young",
    "Zhang",
    "Historian",
];

/// How much to seed.
#[derive(Clone, Copy, Debug)]
pub struct SeedPlan {
    pub books: i64,
    pub members: i64,
}

impl SeedPlan {
    pub fn librarian_id(&self, n: i64) -> i64 {
        self.members + n
    }
}

/// Book `id` of the seed; a pure function of `id` so every instance agrees.
pub fn seed_book(id: i64) -> Book {
    let pick =
        |list: &[&'static str], salt: i64| list[((id * salt + id / 7) as usize) % list.len()];
    let copies = 1 + (id * 7 + id / 10) % 10;
    Book {
        id,
        isbn: format!("978{id:010}"),
        title: format!(
            "The {} {} of the {}",
            pick(ADJECTIVES, 3),
            pick(NOUNS, 5),
            pick(NOUNS, 11)
        ),
        author: format!("{} {}", pick(FIRST, 13), pick(LAST, 17)),
        year: 1850 + (id * 37) % 175,
        copies_total: copies,
        copies_available: copies,
    }
}

pub fn member_email(n: i64) -> String {
    format!("member{n}@library.test")
}

pub fn librarian_email(n: i64) -> String {
    format!("librarian{n}@library.test")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_is_deterministic_and_searchable() {
        assert_eq!(seed_book(42), seed_book(42));
        let books: Vec<Book> = (1..=200).map(seed_book).collect();
        for word in [
            "history", "river", "king", "night", "garden", "war", "city", "secret",
        ] {
            assert!(
                books.iter().any(|b| b.title.to_lowercase().contains(word)),
                "{word}"
            );
        }
        assert!(books.iter().all(|b| (1..=10).contains(&b.copies_total)));
        let distinct: std::collections::HashSet<i64> =
            books.iter().map(|b| b.copies_total).collect();
        assert_eq!(distinct.len(), 10);
    }
}
