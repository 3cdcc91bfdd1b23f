DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE org_ai_settings;
DROP TABLE sessions;
DROP TABLE memberships;
DROP TABLE orgs;
DROP TABLE users;
