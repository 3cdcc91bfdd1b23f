-- Scheduled re-checks (issue 9): a provider is claimed by one Switchboard instance for a
-- short lease while its live check runs, so several instances on one database check each
-- provider once per interval. The claim is `FOR UPDATE SKIP LOCKED` over due rows; the lease
-- outlives the claim's transaction so the network call holds no row lock.
ALTER TABLE providers ADD COLUMN recheck_lease_until TIMESTAMPTZ;
CREATE INDEX providers_checked_at ON providers (checked_at NULLS FIRST);
