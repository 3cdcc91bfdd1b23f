-- Key drafts (issue 18): a key typed into the provider form whose save failed, sealed under
-- the master key like a secret so the admin need not type it again. Never a `secrets` row and
-- never audited. The envelope's AAD binds the draft id, the org, the form (`new` or the
-- provider id) and the session (see docs/DECISIONS.md "Key drafts"); `kind` and `base_url`
-- are what the key was typed for: any other is refused and drops the draft. Rows live 15
-- minutes and are dropped on use; expired rows are deleted whenever a draft is kept.
CREATE TABLE key_drafts (
    id           TEXT PRIMARY KEY CHECK (id ~ '^kdr_[0-9A-Z]{26}$'),
    org_id       BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- SHA-256 of the session's draft binding (a random value kept in the server-side session).
    session_hash BYTEA NOT NULL CHECK (length(session_hash) = 32),
    -- `new` (the add form) or the id of the provider being edited.
    form         TEXT NOT NULL CHECK (length(form) BETWEEN 1 AND 64),
    kind         TEXT NOT NULL,
    -- The effective base URL the key was typed for (NULL: the kind has none without a region).
    base_url     TEXT,
    key_id       TEXT NOT NULL,
    version      SMALLINT NOT NULL,
    envelope     BYTEA NOT NULL,
    -- The last four characters, for "Using the key you typed (…WXYZ)"; empty for short keys.
    last4        TEXT NOT NULL CHECK (length(last4) <= 4),
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    CHECK (expires_at > created_at)
);
-- One draft per (session, form): keeping a new one replaces the old.
CREATE UNIQUE INDEX key_drafts_session_form ON key_drafts (org_id, session_hash, form);
CREATE INDEX key_drafts_expiry ON key_drafts (expires_at);
