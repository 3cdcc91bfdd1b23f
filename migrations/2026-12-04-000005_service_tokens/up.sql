-- Service tokens (DESIGN.md "Platform services" → Service tokens): a token of kind
-- `service` belongs to the org, not to the admin who made it. `user_id` stays its creator
-- (every use is attributable), but its scopes are not cut to the creator's access at use:
-- it keeps working when that admin leaves, is demoted or disabled. Existing tokens are
-- personal, as they were.
ALTER TABLE api_tokens
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'personal' CHECK (kind IN ('personal', 'service'));
