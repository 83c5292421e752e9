-- The relay's claim asks for the lowest unsent ids: an index of the unsent rows
-- only keeps its cost independent of the sent rows kept for retention (see the
-- PostgreSQL migration of the same name for what it cost without it).
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE sent_at IS NULL;
