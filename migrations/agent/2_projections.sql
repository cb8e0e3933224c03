-- Projections: the state folded from the event log by `thorbis-domain`, one JSON document
-- per aggregate (an order, a kitchen ticket, a drawer session, an item's stock...). They
-- are rebuilt from the event log whenever the fold's version changes.
CREATE TABLE aggregates (
    kind   TEXT    NOT NULL,
    id     BLOB    NOT NULL CHECK (length(id) = 16),
    -- 1 while the aggregate is live (open order, unbumped ticket, open drawer), so the
    -- screens' queries read only the few rows they show.
    active INTEGER NOT NULL,
    state  TEXT    NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

CREATE INDEX aggregates_active ON aggregates (kind, id) WHERE active = 1;

-- Relations between aggregates (a drawer session to the orders paid in it), so a Z report
-- finds its orders without scanning every order ever taken.
CREATE TABLE links (
    relation TEXT NOT NULL,
    from_id  BLOB NOT NULL,
    to_id    BLOB NOT NULL,
    PRIMARY KEY (relation, from_id, to_id)
) WITHOUT ROWID;
