-- The durable print queue. A job is written in the same transaction as the sale or kitchen
-- send that caused it, so a crash can neither lose a ticket nor print one for a sale that
-- did not happen. Jobs are local to this terminal: they are not events and do not sync.
CREATE TABLE print_jobs (
    job_id     BLOB    PRIMARY KEY CHECK (length(job_id) = 16),
    -- The printer the job is routed to now (failover may move it to a backup).
    printer    TEXT    NOT NULL,
    -- The kitchen station of a kitchen ticket, for routing and stale holds.
    station    TEXT,
    kind       TEXT    NOT NULL CHECK (kind IN ('kitchen', 'receipt', 'report')),
    -- What to print, as JSON; rendered against the printer's profile when printed.
    document   TEXT    NOT NULL,
    -- Reprints point at the original and print a COPY banner.
    copy_of    BLOB,
    state      TEXT    NOT NULL CHECK (state IN
                   ('queued', 'sending', 'sent', 'printed', 'uncertain', 'held', 'discarded')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    -- How much of the job's bytes the printer accepted on the last attempt.
    bytes_sent INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- What each printer's writer looks at: its unfinished jobs, oldest first.
CREATE INDEX print_jobs_pending ON print_jobs (printer, job_id)
    WHERE state IN ('queued', 'sending', 'sent');
