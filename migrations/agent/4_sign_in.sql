-- Failed PIN attempts per staff id, for lockout. This is local security state, not a
-- business fact: it is not an event, does not sync, and a reinstalled terminal starts clean.
-- Rows are keyed by the id that was tried, known or not, so an unknown id locks out exactly
-- like a real one and the lockout reveals nothing about who exists.
CREATE TABLE sign_in_failures (
    staff_id        BLOB    PRIMARY KEY CHECK (length(staff_id) = 16),
    -- Consecutive failures since the last success or the last lockout.
    failures        INTEGER NOT NULL,
    -- While the clock is before this, the id is refused without checking the PIN.
    locked_until_ms INTEGER NOT NULL DEFAULT 0,
    last_failure_ms INTEGER NOT NULL
) WITHOUT ROWID;
