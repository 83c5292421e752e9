-- An ISBN names one book: a second book with the same ISBN is refused (the API
-- answers 409). Books already stored twice keep their lowest id's ISBN; every later
-- copy is renamed `<isbn>#<id>`, deterministically, so this migration cannot fail on
-- the data before it. The second pass settles the unlikely case where such a new
-- name was already some other book's ISBN.
UPDATE books SET isbn = isbn || '#' || id
WHERE id NOT IN (SELECT MIN(id) FROM books GROUP BY isbn);
UPDATE books SET isbn = isbn || '#' || id
WHERE id NOT IN (SELECT MIN(id) FROM books GROUP BY isbn);
CREATE UNIQUE INDEX IF NOT EXISTS books_isbn ON books (isbn);
