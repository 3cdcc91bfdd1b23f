-- The first-run setup token (DESIGN.md "First run"), in the database rather than in one
-- process's memory, so the URL one instance prints works on every instance behind the
-- balancer. At most one per database (the single-row key), stored as the SHA-256 of the
-- token, used once (the row is deleted by the setup that uses it) and valid until
-- expires_at (24 h after created_at, written from the application's clock).
CREATE TABLE setup_tokens (
    singleton  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    token_hash BYTEA NOT NULL CHECK (length(token_hash) = 32),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    CHECK (expires_at > created_at)
);
