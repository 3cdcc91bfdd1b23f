-- Tamper evidence for the audit trail (issue 10, docs/DECISIONS.md "Audit trail").
--
-- Every event gets a per-chain sequence number `seq` (1, 2, 3… within its org; events
-- without an org form chain 0) and `hash` = SHA-256(canonical event bytes || previous hash
-- of the same chain), where the first event of a chain uses 32 zero bytes as its previous
-- hash. The canonical bytes are `audit_event_canonical` below; `switchboard audit verify`
-- recomputes them independently in Rust.
--
-- Writers are serialised per chain inside the writing transaction: the BEFORE INSERT
-- trigger locks the chain's row in `audit_chain_heads` (SELECT … FOR UPDATE; held until
-- commit), so concurrent writers of one org queue and the chain never forks. Because the
-- trigger does it, no writer can insert an event outside the chain.

ALTER TABLE audit_events ADD COLUMN seq BIGINT, ADD COLUMN hash BYTEA;

-- The newest link of each chain (chain_id = org id, 0 for events without an org).
CREATE TABLE audit_chain_heads (
    chain_id BIGINT PRIMARY KEY,
    seq      BIGINT NOT NULL,
    hash     BYTEA NOT NULL CHECK (length(hash) = 32)
);

-- How far each chain was last verified (the Audit tab verifies incrementally from here).
CREATE TABLE audit_chain_checkpoints (
    chain_id    BIGINT PRIMARY KEY,
    seq         BIGINT NOT NULL,
    event_id    BIGINT NOT NULL,
    hash        BYTEA NOT NULL,
    verified_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Support staff's last recorded view of an org per session: one `support.viewed` per org
-- per session-hour (docs/DECISIONS.md).
CREATE TABLE support_views (
    session_id       TEXT NOT NULL,
    org_id           BIGINT NOT NULL REFERENCES orgs (id),
    last_recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id, org_id)
);

-- One field of the canonical form: 4-byte big-endian length + UTF-8 bytes, or ff ff ff ff
-- for NULL.
CREATE FUNCTION audit_field(t TEXT) RETURNS BYTEA LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t IS NULL THEN '\xffffffff'::bytea
                ELSE int4send(octet_length(convert_to(t, 'UTF8'))) || convert_to(t, 'UTF8') END
$$;

-- The canonical bytes of an event (version tag, then the fields in this order). Numbers are
-- decimal text; the time is microseconds since the Unix epoch; before/after are
-- PostgreSQL's text rendering of the jsonb value (deterministic: keys sorted, no duplicates).
CREATE FUNCTION audit_event_canonical(e audit_events) RETURNS BYTEA LANGUAGE sql STABLE AS $$
    SELECT audit_field('switchboard-audit-v1')
        || audit_field(e.org_id::text)
        || audit_field(e.seq::text)
        || audit_field(((extract(epoch FROM e.occurred_at) * 1000000)::bigint)::text)
        || audit_field(e.actor_kind)
        || audit_field(e.actor_id::text)
        || audit_field(e.actor_label)
        || audit_field(e.action)
        || audit_field(e.target)
        || audit_field(e.before::text)
        || audit_field(e.after::text)
        || audit_field(e.request_id)
        || audit_field(e.ip)
$$;

CREATE FUNCTION audit_events_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k         BIGINT := coalesce(NEW.org_id, 0);
    prev_seq  BIGINT;
    prev_hash BYTEA;
BEGIN
    -- The lock that serialises this chain's writers until our transaction ends.
    SELECT seq, hash INTO prev_seq, prev_hash FROM audit_chain_heads WHERE chain_id = k FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_chain_heads (chain_id, seq, hash)
            VALUES (k, 0, '\x0000000000000000000000000000000000000000000000000000000000000000')
            ON CONFLICT (chain_id) DO NOTHING;
        SELECT seq, hash INTO prev_seq, prev_hash FROM audit_chain_heads WHERE chain_id = k FOR UPDATE;
    END IF;
    NEW.seq := prev_seq + 1;
    NEW.hash := sha256(audit_event_canonical(NEW) || prev_hash);
    UPDATE audit_chain_heads SET seq = NEW.seq, hash = NEW.hash WHERE chain_id = k;
    RETURN NEW;
END;
$$;

-- Backfill: chain the events written before this migration, oldest first per chain. The
-- append-only trigger is lifted for this one transaction only.
ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete;
DO $$
DECLARE
    r audit_events;
    k BIGINT;
    s BIGINT;
    h BYTEA;
BEGIN
    FOR r IN SELECT * FROM audit_events ORDER BY coalesce(org_id, 0), id LOOP
        k := coalesce(r.org_id, 0);
        SELECT seq, hash INTO s, h FROM audit_chain_heads WHERE chain_id = k;
        IF NOT FOUND THEN
            s := 0;
            h := '\x0000000000000000000000000000000000000000000000000000000000000000';
            INSERT INTO audit_chain_heads (chain_id, seq, hash) VALUES (k, s, h);
        END IF;
        r.seq := s + 1;
        r.hash := sha256(audit_event_canonical(r) || h);
        UPDATE audit_events SET seq = r.seq, hash = r.hash WHERE id = r.id;
        UPDATE audit_chain_heads SET seq = r.seq, hash = r.hash WHERE chain_id = k;
    END LOOP;
END;
$$;
ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete;

ALTER TABLE audit_events ALTER COLUMN seq SET NOT NULL, ALTER COLUMN hash SET NOT NULL;

CREATE TRIGGER audit_events_chain
    BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_chain();

-- Keyset pages walk (org_id, seq) backwards; the unique indexes also refuse a forked chain.
DROP INDEX audit_events_org_id;
CREATE UNIQUE INDEX audit_events_org_seq ON audit_events (org_id, seq);
CREATE UNIQUE INDEX audit_events_global_seq ON audit_events (seq) WHERE org_id IS NULL;
