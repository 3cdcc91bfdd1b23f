-- Invitations to join an org (DESIGN.md "Domain"): an admin invites an email with a role and
-- passes the one-time link on. Only the SHA-256 of the link's token is stored; the link is
-- shown once, at creation. An invitation is used once (accepted_at), can be revoked
-- (revoked_at) and expires (expires_at, written from the application's clock).
CREATE TABLE invitations (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id           BIGINT NOT NULL REFERENCES orgs (id),
    -- Normalised like users.email; not a reference: the email may have no account.
    email            TEXT NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    role             TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    token_hash       BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    invited_by       BIGINT REFERENCES users (id),
    -- Who invited, as shown in the pending list (an operator has no user row).
    invited_by_label TEXT NOT NULL CHECK (length(invited_by_label) <= 254),
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    accepted_at      TIMESTAMPTZ,
    accepted_by      BIGINT REFERENCES users (id),
    revoked_at       TIMESTAMPTZ,
    CHECK (expires_at > created_at),
    -- Claimed first (accepted_at), then the joining user is written (a new one is created
    -- after the claim, in the same transaction).
    CHECK (accepted_by IS NULL OR accepted_at IS NOT NULL),
    CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
-- The members page lists an org's open invitations.
CREATE INDEX invitations_org_open ON invitations (org_id, created_at)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
