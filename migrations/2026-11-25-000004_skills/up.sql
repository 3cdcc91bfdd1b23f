-- An org's own AI skills (DESIGN.md "Domain"): instructions in Markdown appended to the
-- system prompt of the org's AI features while enabled.
CREATE TABLE skills (
    -- 'skl_' + a 26-character Crockford-base32 ULID.
    id           TEXT PRIMARY KEY CHECK (id ~ '^skl_[0-9A-HJKMNP-TV-Z]{26}$'),
    org_id       BIGINT NOT NULL REFERENCES orgs (id),
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description  TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- Markdown, rendered sanitised; never HTML as stored.
    instructions TEXT NOT NULL CHECK (length(instructions) BETWEEN 1 AND 20000),
    enabled      BOOLEAN NOT NULL DEFAULT true,
    -- The list shows only the length: stored, so listing never reads (or detoasts) the text.
    instructions_chars INTEGER GENERATED ALWAYS AS (char_length(instructions)) STORED,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by   BIGINT REFERENCES users (id),
    updated_by   BIGINT REFERENCES users (id),
    lock_version INTEGER NOT NULL DEFAULT 0
);
-- Names are unique per org whatever their case; the tab lists by name.
CREATE UNIQUE INDEX skills_org_name ON skills (org_id, lower(name));
