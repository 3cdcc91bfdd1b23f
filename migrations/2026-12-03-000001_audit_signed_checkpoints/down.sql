ALTER FUNCTION audit_events_chain() SECURITY INVOKER RESET search_path;
DROP TABLE job_leases;
DROP TABLE audit_verifications;
DROP TABLE audit_signed_checkpoints;
