-- Login throttling shared by every Switchboard instance (DESIGN.md "Architecture": instances
-- are stateless). One row per throttled key — an account (`acct:<email>`) or a client
-- address (`ip:<IPv4>` or `ip:<IPv6 /64>`) — counting the attempts of the current window
-- that failed and those still being checked. An attempt is reserved by one
-- INSERT … ON CONFLICT … DO UPDATE … WHERE … RETURNING before any hashing (src/auth/throttle.rs).
--
-- UNLOGGED: its writes skip the WAL, so a reservation's commit does not wait for a disk
-- flush (measured in docs/PERFORMANCE.md: ~1 ms per statement logged). The price: after a
-- PostgreSQL crash (not a clean restart) the table comes back empty and it is not copied to
-- standbys — counts that live 15 minutes anyway start over; no other data depends on it.
CREATE UNLOGGED TABLE login_throttles (
    -- Capped, so an attacker cannot make it store big rows (keys are cut before this).
    key               TEXT PRIMARY KEY CHECK (octet_length(key) BETWEEN 1 AND 300),
    -- The window started with the first attempt; it ends WINDOW later (15 minutes).
    window_started_at TIMESTAMPTZ NOT NULL,
    -- Failed attempts in the window.
    failures          INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    -- Attempts reserved and not yet settled (being hashed).
    in_flight         INTEGER NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
    -- failures + in_flight may not pass this (5 per account, 30 per address).
    attempt_limit     INTEGER NOT NULL CHECK (attempt_limit > 0)
);
-- The purge (with expired sessions) deletes by window start.
CREATE INDEX login_throttles_window_started_at ON login_throttles (window_started_at);
