-- Users, orgs, memberships, server-side sessions, org AI settings and the
-- append-only audit trail: the walking skeleton's data model (DESIGN.md "Domain").

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Stored lower-cased, so uniqueness is case-insensitive by construction.
    email         TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    name          TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    password_hash TEXT NOT NULL,
    support       BOOLEAN NOT NULL DEFAULT FALSE,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    -- Bumped to revoke every session of the user at once.
    session_epoch INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE orgs (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    org_id     BIGINT NOT NULL REFERENCES orgs (id),
    user_id    BIGINT NOT NULL REFERENCES users (id),
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_id ON memberships (user_id);

-- actix-session state, keyed by the SHA-256 of the cookie's session key.
CREATE TABLE sessions (
    key_hash            BYTEA PRIMARY KEY,
    state               TEXT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    idle_expires_at     TIMESTAMPTZ NOT NULL,
    absolute_expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);

CREATE TABLE org_ai_settings (
    org_id             BIGINT PRIMARY KEY REFERENCES orgs (id),
    -- NULL = the platform default; a single column, so "exactly one active" holds by construction.
    active_provider_id TEXT,
    routing_policy     TEXT NOT NULL DEFAULT 'fallback' CHECK (routing_policy IN ('fallback', 'strict')),
    insights_enabled   BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by         BIGINT REFERENCES users (id),
    lock_version       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE audit_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    org_id      BIGINT REFERENCES orgs (id),
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('user', 'token', 'system', 'anonymous')),
    actor_id    BIGINT,
    actor_label TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    before      JSONB,
    after       JSONB,
    request_id  TEXT,
    ip          TEXT
);
CREATE INDEX audit_events_org_id ON audit_events (org_id, id DESC);

-- The audit trail is append-only: the database itself refuses to change or remove it.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
