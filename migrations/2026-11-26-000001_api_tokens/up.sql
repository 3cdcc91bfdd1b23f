-- API tokens (DESIGN.md "Domain"): `swb_` + 256 random bits, shown once; only the SHA-256
-- is stored. A token acts for one org, in the name of the user who created it, with its own
-- scopes cut at use time to what that user's current access allows.
CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       BIGINT NOT NULL REFERENCES orgs (id),
    user_id      BIGINT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Scope strings (`aiProviders:list`, …); the application admits only known ones.
    scopes       TEXT[] NOT NULL CHECK (cardinality(scopes) BETWEEN 1 AND 32),
    token_hash   BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- The first characters of the token (`swb_AbCd`), so a list can be matched to a token
    -- someone holds without storing anything that authenticates.
    prefix       TEXT NOT NULL CHECK (length(prefix) BETWEEN 4 AND 12),
    created_at   TIMESTAMPTZ NOT NULL,
    -- NULL = never expires.
    expires_at   TIMESTAMPTZ,
    -- Written at most once a minute per token (see docs/DECISIONS.md "API tokens").
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    revoked_by   BIGINT REFERENCES users (id),
    CHECK (expires_at IS NULL OR expires_at > created_at)
);
-- The Tokens page lists an org's tokens, newest first.
CREATE INDEX api_tokens_org ON api_tokens (org_id, created_at DESC);
