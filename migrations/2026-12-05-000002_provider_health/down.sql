DROP INDEX providers_attention;
ALTER TABLE providers DROP COLUMN immediate_recheck_minute, DROP COLUMN attention_since;
DROP TABLE provider_usage;
