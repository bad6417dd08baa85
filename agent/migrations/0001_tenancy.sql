-- Tenancy of the agent: companies (super-wallets) and their employees
-- (sub-wallets). One schema for SQLite and PostgreSQL: portable types only,
-- times as milliseconds since the Unix epoch.

CREATE TABLE companies (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    did         TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    status      TEXT NOT NULL,
    token_epoch BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    removed_at  BIGINT
);
CREATE UNIQUE INDEX companies_active_name ON companies (name) WHERE status = 'active';

CREATE TABLE employees (
    id          TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL REFERENCES companies (id),
    name        TEXT NOT NULL,
    did         TEXT NOT NULL,
    status      TEXT NOT NULL,
    token_epoch BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    removed_at  BIGINT
);
CREATE INDEX employees_by_company ON employees (company_id, id);

-- What happened, by whom; kept when companies and employees are removed.
CREATE TABLE audit (
    id      TEXT PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    tenant  TEXT,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_by_tenant ON audit (tenant, at);

-- Idempotency-Key: the first answer to a (scope, key) is replayed.
CREATE TABLE idempotency (
    scope        TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

-- Per-tenant event log, numbered per tenant, for SSE replay and webhooks.
CREATE TABLE events (
    tenant  TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    subject TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (tenant, seq)
);

CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhooks_by_tenant ON webhooks (tenant);

-- The operator's own settings, e.g. its endorser DID.
CREATE TABLE operator_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
