-- An ISBN names one book (see the PostgreSQL migration of the same name): later
-- copies of a duplicated ISBN are renamed `<isbn>#<id>`, then the index refuses more.
UPDATE books SET isbn = isbn || '#' || id
WHERE id NOT IN (SELECT MIN(id) FROM books GROUP BY isbn);
UPDATE books SET isbn = isbn || '#' || id
WHERE id NOT IN (SELECT MIN(id) FROM books GROUP BY isbn);
CREATE UNIQUE INDEX IF NOT EXISTS books_isbn ON books (isbn);
