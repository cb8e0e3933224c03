-- Indexes for the terminal UI's reads, so no screen lists every ticket, drawer session or
-- print job ever recorded.

-- When an aggregate stopped being live (a ticket bumped, a drawer closed), as its HLC:
-- "recently bumped" and "recent shifts" read the newest few by index.
ALTER TABLE aggregates ADD COLUMN finished_wall INTEGER;
ALTER TABLE aggregates ADD COLUMN finished_counter INTEGER;
-- The aggregate this one belongs to (a ticket's order): expo reads an order's tickets.
ALTER TABLE aggregates ADD COLUMN owner BLOB;

-- Rows folded before this migration get their values when the agent rebuilds its
-- projections (projection version 5).

CREATE INDEX aggregates_finished ON aggregates (kind, finished_wall, finished_counter)
    WHERE finished_wall IS NOT NULL;
CREATE INDEX aggregates_owner ON aggregates (owner) WHERE owner IS NOT NULL;

-- A document's original job (not a copy), and a job's copies.
CREATE INDEX print_jobs_document ON print_jobs (document) WHERE copy_of IS NULL;
CREATE INDEX print_jobs_copy_of ON print_jobs (copy_of) WHERE copy_of IS NOT NULL;
