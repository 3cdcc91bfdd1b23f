-- Audit trail trust (issue 22, DESIGN.md "Audit trail trust", docs/DECISIONS.md "Audit trail
-- trust"): signed checkpoints, the recorded results of the scheduled verifications, and the
-- leases that keep those jobs to one instance at a time.

-- One signed checkpoint (kind 'checkpoint') or restore marker (kind 'restore'): chain
-- `chain_id` (org id, 0 = events without an org) stood at (`seq`, `head_hash`) at
-- `signed_at`. `prev_hash` is the `hash` of the checkpoint signed before it (any chain: the
-- checkpoints form one instance-wide chain of their own); 32 zero bytes for the first. `hash`
-- is SHA-256 of the canonical bytes (src/ops/trail/checkpoint.rs), which `signature` signs
-- with the key named `key_id`. The signing key itself never enters the database.
CREATE TABLE audit_signed_checkpoints (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('checkpoint', 'restore')),
    chain_id   BIGINT NOT NULL,
    seq        BIGINT NOT NULL CHECK (seq >= 0),
    head_hash  BYTEA NOT NULL CHECK (length(head_hash) = 32),
    signed_at  TIMESTAMPTZ NOT NULL,
    prev_hash  BYTEA NOT NULL CHECK (length(prev_hash) = 32),
    hash       BYTEA NOT NULL UNIQUE CHECK (length(hash) = 32),
    key_id     TEXT NOT NULL,
    signature  BYTEA NOT NULL CHECK (length(signature) = 64)
);
CREATE INDEX audit_signed_checkpoints_chain ON audit_signed_checkpoints (chain_id, id);

-- The latest result of each scheduled check of a chain: `check_kind` 'signing' (the
-- checkpoint job's verification before it signs) or 'full' (the daily whole-trail walk).
-- The Audit tab shows them; a failure stays until a later run of the same check passes.
CREATE TABLE audit_verifications (
    chain_id    BIGINT NOT NULL,
    check_kind  TEXT NOT NULL CHECK (check_kind IN ('signing', 'full')),
    checked_at  TIMESTAMPTZ NOT NULL,
    ok          BOOLEAN NOT NULL,
    through_seq BIGINT NOT NULL,
    -- When the check compared against the external checkpoint store: the newest external
    -- checkpoint it checked this chain against.
    external_at TIMESTAMPTZ,
    problem     TEXT,
    PRIMARY KEY (chain_id, check_kind)
);

-- Scheduled jobs that must run on one instance at a time: whoever moves `until` forward
-- holds the job until then.
CREATE TABLE job_leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TIMESTAMPTZ NOT NULL
);

-- The chain trigger runs with its owner's rights, so the application's role needs no
-- UPDATE on audit_chain_heads (the trail's tables belong to the migrating role; see
-- src/db/roles.rs).
ALTER FUNCTION audit_events_chain() SECURITY DEFINER SET search_path = public, pg_temp;
