-- Presentation requests a company made as a verifier (OpenID4VP 1.0 with a
-- DCQL query): the query, the nonce (challenge) and domain a response must
-- be bound to, when the request expires, and when it was answered: a
-- request takes one response, so a replayed one is refused. Every query is
-- scoped by company_id.
CREATE TABLE presentation_requests (
    company_id  TEXT NOT NULL REFERENCES companies (id),
    id          TEXT NOT NULL,
    dcql_query  TEXT NOT NULL,
    nonce       TEXT NOT NULL UNIQUE,
    domain      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    answered_at BIGINT,
    PRIMARY KEY (company_id, id)
);
