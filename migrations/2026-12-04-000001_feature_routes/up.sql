-- Per-feature routes (DESIGN.md rule 6, issue 20): one row per (org, feature) that is not
-- `inherit`. No row = `inherit` (the active provider and the routing policy decide).

-- Route versions come from one sequence, never from a per-row counter: a route cleared
-- (row deleted) and set again never reuses a version someone may still hold, so a stale
-- If-Match can't succeed by coincidence. "v0" always means "no row".
CREATE SEQUENCE feature_route_versions AS INTEGER MINVALUE 1;

CREATE TABLE feature_routes (
    org_id       BIGINT NOT NULL REFERENCES orgs (id),
    -- The feature ids of src/routing.rs.
    feature      TEXT NOT NULL CHECK (feature IN ('assistant', 'insights', 'cicd_generation',
                     'incident_analysis', 'summaries', 'stack_descriptions', 'triage',
                     'severity_grading', 'fix_proposals')),
    mode         TEXT NOT NULL CHECK (mode IN ('provider', 'platform', 'off')),
    -- The org's provider serving it (mode 'provider' only).
    provider_id  TEXT,
    -- The model to use on that provider; NULL = the provider's default model.
    model        TEXT CHECK (length(model) BETWEEN 1 AND 256),
    lock_version INTEGER NOT NULL DEFAULT nextval('feature_route_versions'),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by   BIGINT REFERENCES users (id),
    PRIMARY KEY (org_id, feature),
    CHECK ((mode = 'provider') = (provider_id IS NOT NULL)),
    CHECK (mode = 'provider' OR model IS NULL),
    -- The routed provider always exists and belongs to the same org: deleting it is refused
    -- by the database too, so a delete racing a route can never leave a dangling id.
    FOREIGN KEY (org_id, provider_id) REFERENCES providers (org_id, id)
);
-- Which routes name a provider (before deleting it or removing its key).
CREATE INDEX feature_routes_provider ON feature_routes (org_id, provider_id)
    WHERE provider_id IS NOT NULL;
