-- Per-tenant event counters: the next sequence number is taken by updating
-- this row inside the transaction that inserts the event, so concurrent
-- writers (even several agents on one PostgreSQL) queue on the row lock
-- instead of colliding on the events primary key.
CREATE TABLE event_counters (
    tenant TEXT PRIMARY KEY,
    seq    BIGINT NOT NULL
);
INSERT INTO event_counters (tenant, seq) SELECT tenant, MAX(seq) FROM events GROUP BY tenant;
