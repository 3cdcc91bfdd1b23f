DROP INDEX providers_checked_at;
ALTER TABLE providers DROP COLUMN recheck_lease_until;
