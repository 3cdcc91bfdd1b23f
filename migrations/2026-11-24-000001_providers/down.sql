ALTER TABLE org_ai_settings DROP CONSTRAINT org_ai_settings_active_provider_fk;
DROP TABLE providers;
DROP TABLE secrets;
