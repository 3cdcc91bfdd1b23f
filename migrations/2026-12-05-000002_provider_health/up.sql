-- The health loop (issue 21 item 4, DESIGN.md "Platform services: route, relay, health").
--
-- Per-minute usage counters per (org, provider, feature, minute, outcome class, code): each
-- instance sums calls in memory and adds its sums here every few seconds (one upsert per
-- flush). Never a body, a header or a key: codes and numbers only. `code` is the failure's
-- taxonomy code (`auth_rejected`, …), `http_NNN` for a failed answer without one, '' for a
-- success. Rows go with their provider.
CREATE TABLE provider_usage (
    org_id         BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    provider_id    TEXT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    feature        TEXT NOT NULL CHECK (length(feature) BETWEEN 1 AND 64),
    minute         TIMESTAMPTZ NOT NULL CHECK (date_trunc('minute', minute) = minute),
    outcome        TEXT NOT NULL CHECK (outcome IN ('ok', 'client_error', 'provider_error')),
    code           TEXT NOT NULL DEFAULT '' CHECK (code ~ '^[a-z0-9_]{0,32}$'),
    calls          BIGINT NOT NULL CHECK (calls > 0),
    latency_ms_sum BIGINT NOT NULL CHECK (latency_ms_sum >= 0),
    latency_ms_max BIGINT NOT NULL CHECK (latency_ms_max >= 0),
    input_tokens   BIGINT NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens  BIGINT NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    -- The latest call counted in this row (the tab's "last error" time).
    last_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, provider_id, minute, feature, outcome, code)
);
CREATE INDEX provider_usage_minute ON provider_usage (minute);

-- A provider whose calls failed and whose immediate re-check failed too "needs attention"
-- from `attention_since` until a check passes (audited once per change of state).
-- `immediate_recheck_minute` is the lease of immediate re-checks: the minute of the last
-- one claimed, so the instances between them re-check a failing provider once per minute.
ALTER TABLE providers
    ADD COLUMN attention_since TIMESTAMPTZ,
    ADD COLUMN immediate_recheck_minute TIMESTAMPTZ;
CREATE INDEX providers_attention ON providers (org_id) WHERE attention_since IS NOT NULL;
