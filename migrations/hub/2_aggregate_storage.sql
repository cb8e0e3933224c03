-- Aggregates are rewritten on every push that touches them and an order's document is a
-- couple of kilobytes of jsonb, just over the default 2 kB at which Postgres tries to
-- compress a row: pglz then ran on every write (a visible share of the database's CPU in
-- the ingest bench) to save space on rows that are replaced again soon. Keep documents up
-- to a page inline and uncompressed; larger ones are still TOASTed as before.
ALTER TABLE aggregates SET (toast_tuple_target = 8160);
