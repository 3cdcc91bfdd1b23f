-- Key releases in route answers (issue 21 item 3, DESIGN.md "Platform services"): a token
-- with `ai:release` that receives a provider's key is recorded once per (token, secret,
-- hour) — the row is inserted (ON CONFLICT DO NOTHING) in the same statement that appends
-- the chained `credential.released` event, and only when the row is new; the key leaves
-- only after that commit. `calls` counts the answers that carried the key in that hour:
-- kept in memory per instance and added here every few seconds (a crash may lose the last
-- seconds of counts, never the release event).
CREATE TABLE route_releases (
    token_id    BIGINT      NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    secret_id   TEXT        NOT NULL,
    hour        TIMESTAMPTZ NOT NULL,
    org_id      BIGINT      NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    provider_id TEXT        NOT NULL,
    calls       BIGINT      NOT NULL DEFAULT 0 CHECK (calls >= 0),
    first_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (token_id, secret_id, hour),
    CHECK (hour = date_trunc('hour', hour, 'UTC'))
);
CREATE INDEX route_releases_org_hour ON route_releases (org_id, hour);
