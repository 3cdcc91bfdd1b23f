-- Each org's epoch: a number the database itself raises, in the writing transaction, when
-- anything a route answer or a relayed call is decided on changes — the org (slug), its
-- tokens (revoked, expired, scopes, kind), their creators (disabled, email), memberships
-- (roles), the AI settings, feature routes, providers and secrets. Each instance keeps the
-- token and routing rows it last read for a (token, feature) together with the epoch read in
-- the same statement, and answers again from them after one primary-key read of the epoch
-- shows it unchanged (`ops::providers::route_cache`). Because the raise commits with the
-- change, an epoch read after a revocation (or any other change) committed differs from the
-- one cached before it: revocation still takes effect at once, on every instance; no
-- message between instances is needed, and none can be lost. Triggers, not the code, raise
-- it, so changes made by the CLI, by another version of the console or by hand count too.

CREATE TABLE org_epochs (
    org_id BIGINT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    epoch  BIGINT NOT NULL DEFAULT 0
);
INSERT INTO org_epochs (org_id) SELECT id FROM orgs;

-- A new org gets its row in the same transaction.
CREATE FUNCTION org_epochs_new_org() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO org_epochs (org_id) VALUES (NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER orgs_epoch_row AFTER INSERT ON orgs
    FOR EACH ROW EXECUTE FUNCTION org_epochs_new_org();

-- Raises the epoch of the org of the changed row. A plain UPDATE: the row of an org being
-- deleted is gone, and nothing is to be raised then.
CREATE FUNCTION org_epochs_raise() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE org_epochs SET epoch = epoch + 1 WHERE org_id = OLD.org_id;
    END IF;
    -- A row moved to another org (never done today) changes both.
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND OLD.org_id <> NEW.org_id) THEN
        UPDATE org_epochs SET epoch = epoch + 1 WHERE org_id = NEW.org_id;
    END IF;
    RETURN NULL;
END
$$;

-- The org itself (its slug is in the paths a token is checked against).
CREATE FUNCTION org_epochs_raise_org() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE org_epochs SET epoch = epoch + 1 WHERE org_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER orgs_epoch AFTER UPDATE ON orgs
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION org_epochs_raise_org();
-- A token's use stamps `last_used_at` (at most once a minute): that changes no answer.
CREATE TRIGGER api_tokens_epoch
    AFTER UPDATE OF org_id, user_id, name, scopes, token_hash, expires_at, revoked_at, kind
    ON api_tokens FOR EACH ROW EXECUTE FUNCTION org_epochs_raise();
CREATE TRIGGER api_tokens_epoch_delete AFTER DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION org_epochs_raise();
CREATE TRIGGER memberships_epoch AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION org_epochs_raise();
CREATE TRIGGER org_ai_settings_epoch AFTER INSERT OR UPDATE OR DELETE ON org_ai_settings
    FOR EACH ROW EXECUTE FUNCTION org_epochs_raise();
CREATE TRIGGER feature_routes_epoch AFTER INSERT OR UPDATE OR DELETE ON feature_routes
    FOR EACH ROW EXECUTE FUNCTION org_epochs_raise();
CREATE TRIGGER providers_epoch AFTER INSERT OR UPDATE OR DELETE ON providers
    FOR EACH ROW EXECUTE FUNCTION org_epochs_raise();
CREATE TRIGGER secrets_epoch AFTER INSERT OR UPDATE OR DELETE ON secrets
    FOR EACH ROW EXECUTE FUNCTION org_epochs_raise();

-- A user's change that tokens are judged on (disabled, email in the token's label, support,
-- sessions revoked) raises the epoch of every org the user holds a token in.
CREATE FUNCTION org_epochs_raise_for_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE org_epochs SET epoch = epoch + 1
    WHERE org_id IN (SELECT DISTINCT t.org_id FROM api_tokens t WHERE t.user_id = NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER users_epoch AFTER UPDATE OF email, disabled, support, session_epoch ON users
    FOR EACH ROW EXECUTE FUNCTION org_epochs_raise_for_user();
