-- Providers (an org's LLM endpoints) and the encrypted secrets they use, and the link from
-- org_ai_settings.active_provider_id to them (DESIGN.md "Domain").

-- One encrypted API key. The envelope is opaque here (src/crypto seals and opens it); the
-- preview and last4 are written at seal time so no page ever decrypts to render.
CREATE TABLE secrets (
    -- 'sec_' + a 26-character Crockford-base32 ULID (what ulid's Display writes).
    id         TEXT PRIMARY KEY CHECK (id ~ '^sec_[0-9A-HJKMNP-TV-Z]{26}$'),
    org_id     BIGINT NOT NULL REFERENCES orgs (id),
    -- The master key that wrapped the data key: never trial-decrypt, look it up by name.
    key_id     TEXT NOT NULL CHECK (length(key_id) BETWEEN 1 AND 64),
    -- Envelope format version (it is also bound into the AAD).
    version    SMALLINT NOT NULL CHECK (version > 0),
    envelope   BYTEA NOT NULL,
    -- Masked forms only, e.g. 'sk-ant-...WXYZ'.
    preview    TEXT NOT NULL CHECK (length(preview) <= 100),
    last4      TEXT NOT NULL CHECK (length(last4) <= 4),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by BIGINT REFERENCES users (id),
    rotated_at TIMESTAMPTZ,
    -- Target of the composite foreign keys: a provider can only link a secret of its own org.
    UNIQUE (org_id, id)
);
-- `keys rotate` and the start-up check look secrets up by master key.
CREATE INDEX secrets_key_id ON secrets (key_id);

-- One configured endpoint; an org may have many, at most one of them active.
CREATE TABLE providers (
    -- 'aip_' + a 26-character Crockford-base32 ULID.
    id             TEXT PRIMARY KEY CHECK (id ~ '^aip_[0-9A-HJKMNP-TV-Z]{26}$'),
    org_id         BIGINT NOT NULL REFERENCES orgs (id),
    name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The catalog's slugs (src/providers/catalog.rs).
    kind           TEXT NOT NULL CHECK (kind IN ('openai', 'anthropic', 'google', 'azure', 'xai',
                                                 'groq', 'ollama', 'bedrock', 'gateway', 'custom')),
    default_model  TEXT NOT NULL CHECK (length(default_model) BETWEEN 1 AND 256),
    -- NULL = the kind's default endpoint.
    base_url       TEXT CHECK (length(base_url) <= 2048),
    -- Kind-specific fields: deployment, api_version, region, extra header names, supports_tools.
    config         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
    -- NULL = no key (kinds where it is optional, or after "remove key").
    secret_id      TEXT,
    -- The last live check; a check result is not an edit, so it leaves lock_version alone.
    check_status   TEXT NOT NULL DEFAULT 'unverified' CHECK (check_status IN ('ok', 'failed', 'unverified')),
    check_code     TEXT,
    check_message  TEXT,
    checked_at     TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by     BIGINT REFERENCES users (id),
    updated_by     BIGINT REFERENCES users (id),
    -- Optimistic locking: two admins editing the same record => the second gets a conflict.
    lock_version   INTEGER NOT NULL DEFAULT 0,
    -- Composite, so the secret is always one of this provider's org (MATCH SIMPLE: a NULL
    -- secret_id links nothing). A linked secret cannot be deleted.
    FOREIGN KEY (org_id, secret_id) REFERENCES secrets (org_id, id),
    -- Target of org_ai_settings' composite foreign key below.
    UNIQUE (org_id, id)
);
-- Names are unique per org, case-insensitively.
CREATE UNIQUE INDEX providers_org_id_lower_name ON providers (org_id, lower(name));
-- Which providers use a secret (before deleting it, and for the foreign-key check).
CREATE INDEX providers_secret_id ON providers (secret_id);

-- The active provider always exists and belongs to the same org: deleting it is refused by
-- the database, so a delete racing an activation can never leave a dangling id.
ALTER TABLE org_ai_settings
    ADD CONSTRAINT org_ai_settings_active_provider_fk
    FOREIGN KEY (org_id, active_provider_id) REFERENCES providers (org_id, id);
