-- The lowercased title and author searches match (PostgreSQL stores it; SQLite can
-- only add a virtual generated column, computed as the row is read, as before).
-- char(1) keeps a needle from matching across the two: search text never holds a
-- control character (the API refuses them with a 400).
ALTER TABLE books
    ADD COLUMN search_text TEXT GENERATED ALWAYS AS (lower(title) || char(1) || lower(author)) VIRTUAL;
