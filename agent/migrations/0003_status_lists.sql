-- Revocation (issue 4 item 5): status lists per company, the credentials
-- each company issued with their positions in those lists, and status
-- changes waiting for publication on the ledger. Every row is scoped by
-- company_id. The ledger holds the published lists; these rows are the
-- allocator state and the queue of what is not yet published.

-- One status list: a Bitstring Status List (`revocation` or `suspension`)
-- or a Token Status List (`token`, 2 bits: 0 valid, 1 invalid, 2
-- suspended). `name` is the ledger object name ({did}/statusList/{name})
-- and the last path segment of its URL.
CREATE TABLE status_lists (
    company_id      TEXT NOT NULL REFERENCES companies (id),
    name            TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    allocator       TEXT NOT NULL,
    -- The list as last published (encodedList or lst); empty before the
    -- first publication, when every entry is 0.
    encoded         TEXT NOT NULL,
    -- Ledger version of the last publication; 0 before the first.
    version         BIGINT NOT NULL,
    leaf_index      BIGINT,
    published_at    BIGINT,
    -- The company's wallet key that signed the last publication: after a
    -- rotation the list is signed again with the new key.
    signed_key      TEXT,
    -- Numbers the status changes of this list (taken under the row lock).
    update_seq      BIGINT NOT NULL,
    -- Failed publication attempts since the last success, and why.
    attempts        BIGINT NOT NULL,
    last_error      TEXT,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (company_id, name)
);

-- A credential a company issued with a status: its lists and indexes.
-- Bitstring credentials have a revocation and a suspension entry; SD-JWT
-- VCs one token entry (the rev_* columns).
CREATE TABLE issued_credentials (
    company_id      TEXT NOT NULL REFERENCES companies (id),
    id              TEXT NOT NULL,
    credential_id   TEXT,
    holder_employee TEXT,
    format          TEXT NOT NULL,
    status          TEXT NOT NULL,
    rev_list        TEXT NOT NULL,
    rev_index       BIGINT NOT NULL,
    sus_list        TEXT,
    sus_index       BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (company_id, id)
);
CREATE INDEX issued_credentials_by_holder ON issued_credentials (company_id, holder_employee);

-- A status change: list entry `idx` := `value`. Unpublished while
-- published_at is NULL; `batch` is the publication attempt that carried it.
CREATE TABLE status_updates (
    company_id   TEXT NOT NULL,
    list_name    TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    idx          BIGINT NOT NULL,
    value        BIGINT NOT NULL,
    credential   TEXT NOT NULL,
    batch        BIGINT,
    created_at   BIGINT NOT NULL,
    published_at BIGINT,
    PRIMARY KEY (company_id, list_name, seq),
    FOREIGN KEY (company_id, list_name) REFERENCES status_lists (company_id, name)
);
CREATE INDEX status_updates_unpublished ON status_updates (published_at, company_id, list_name);
