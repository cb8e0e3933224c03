-- Aggregate documents are rewritten by every push that touches them and read back only
-- whole, by the hub, to fold further events: nothing queries inside them. As jsonb, each
-- write parsed the document into Postgres's binary form and sorted its keys (the largest
-- single cost of the database's share of ingest, above storing the events themselves).
-- As json, Postgres checks that the text is valid JSON and stores it as sent. Reading
-- `state` or `state::text` still gives a JSON document; key order is now the domain's.
ALTER TABLE aggregates ALTER COLUMN state TYPE json USING state::json;
