-- Loyalty marketplace (issue 5). The ledger holds tokens, balances,
-- benefits and who owns which unit; these rows are only what the agent
-- needs beside it: which wallet key a benefit DID has, and which ownership
-- credential it issued for a unit held by one of its employees (with the
-- retry state of a credential that could not be issued yet). One schema
-- for SQLite and PostgreSQL: portable types only, times in milliseconds.

-- A benefit listed by one of this agent's companies: its DID's key stays in
-- the company's wallet (key_id), and removing the company delists it.
CREATE TABLE loyalty_benefits (
    benefit_did TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL REFERENCES companies (id),
    key_id      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    removed_at  BIGINT
);
CREATE INDEX loyalty_benefits_by_company ON loyalty_benefits (company_id, removed_at);

-- A unit of a benefit held by an employee of this agent, and the
-- BenefitOwnershipCredential issued for it (issuer_id: the benefit's
-- company, credential_id: its issued_credentials row). state `pending`:
-- the ledger accepted the change of owner but the credential is not in the
-- owner's sub-wallet yet; a background task retries it (attempts,
-- last_error, next_attempt_at). A unit whose owner is no employee here
-- (a company treasury, another agent's DID) has no row.
CREATE TABLE loyalty_units (
    benefit_did     TEXT NOT NULL,
    unit            BIGINT NOT NULL,
    company_id      TEXT NOT NULL,
    employee_id     TEXT NOT NULL,
    issuer_id       TEXT NOT NULL,
    leaf_index      BIGINT NOT NULL,
    acquired_at     BIGINT NOT NULL,
    credential_id   TEXT,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    last_error      TEXT,
    next_attempt_at BIGINT NOT NULL,
    PRIMARY KEY (benefit_did, unit)
);
CREATE INDEX loyalty_units_by_owner ON loyalty_units (company_id, employee_id);
CREATE INDEX loyalty_units_pending ON loyalty_units (state, next_attempt_at);

-- Accounts on the ledger are DIDs: finding the employee behind a did:key
-- and the company behind a treasury (or a benefit's seller).
CREATE INDEX employees_by_did ON employees (did);
CREATE INDEX companies_by_did ON companies (did);
