-- Who settled a held or uncertain print job, how and when: the audit of the decisions a
-- manager makes on the terminal's printing screen. Append-only; local like the queue.
CREATE TABLE print_decisions (
    job_id     BLOB    PRIMARY KEY CHECK (length(job_id) = 16),
    decision   TEXT    NOT NULL CHECK (decision IN ('print', 'discard')),
    -- The job's state when decided: a held job prints as itself, an uncertain one as a copy.
    was        TEXT    NOT NULL CHECK (was IN ('held', 'uncertain')),
    staff_id   BLOB    NOT NULL CHECK (length(staff_id) = 16),
    decided_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX print_decisions_recent ON print_decisions (decided_ms);

-- The printing screen lists the jobs waiting for a person without reading the others.
CREATE INDEX print_jobs_waiting ON print_jobs (job_id) WHERE state IN ('held', 'uncertain');
