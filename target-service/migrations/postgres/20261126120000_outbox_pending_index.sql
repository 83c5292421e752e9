-- The relay's claim (`claim_outbox_sql`) asks for the lowest unsent ids. Without
-- this index PostgreSQL walked the primary key from id 1 through every sent row
-- kept for retention: in the 30-minute, 10,000-user soak of 2026-11-26 a claim
-- read 237,259 buffers and took 210 ms once 250,000 sent rows had piled up, and
-- from minute 25 the two relays' claims took the database's CPU and the APIs shed
-- with "database bulkhead is full". This index holds only the unsent rows, so a
-- claim reads a few pages however long the outbox's history is (0.2 ms on the
-- same table). `outbox_unsent (sent_at, id)` stays for the retention prune.
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE sent_at IS NULL;
