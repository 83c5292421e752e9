-- Library schema for the embedded SQLite backend (mirrors migrations/postgres).
CREATE TABLE IF NOT EXISTS books (
    id               INTEGER PRIMARY KEY,
    isbn             TEXT    NOT NULL,
    title            TEXT    NOT NULL,
    author           TEXT    NOT NULL,
    year             INTEGER NOT NULL,
    copies_total     INTEGER NOT NULL CHECK (copies_total >= 0),
    copies_available INTEGER NOT NULL CHECK (copies_available >= 0)
);

CREATE TABLE IF NOT EXISTS members (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL DEFAULT 'member',
    active_loans  INTEGER NOT NULL DEFAULT 0 CHECK (active_loans >= 0)
);

CREATE TABLE IF NOT EXISTS loans (
    id              INTEGER PRIMARY KEY,
    book_id         INTEGER NOT NULL REFERENCES books (id),
    member_id       INTEGER NOT NULL REFERENCES members (id),
    status          TEXT    NOT NULL,
    borrowed_at     TEXT    NOT NULL,
    returned_at     TEXT,
    idempotency_key TEXT,
    UNIQUE (member_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS loans_member ON loans (member_id, status);

CREATE TABLE IF NOT EXISTS outbox (
    id            INTEGER PRIMARY KEY,
    event_type    TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    claimed_until INTEGER,
    sent_at       TEXT
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (sent_at, id);
