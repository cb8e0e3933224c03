-- Facts this terminal received and keeps (the author's chain stays whole, relayable and
-- auditable) but did not fold, because `domain::admit` refused them: who wrote what they
-- were not allowed to, bad values, back-dated claims. A reason that is not final (its
-- author, target or approver had not arrived yet) is retried as more facts arrive.
CREATE TABLE quarantined (
    device_id      BLOB    NOT NULL CHECK (length(device_id) = 16),
    seq            INTEGER NOT NULL,
    -- `Quarantine::code`: stable, for counting.
    code           TEXT    NOT NULL,
    -- `Quarantine`'s words, for the manager who reads them.
    reason         TEXT    NOT NULL,
    final          INTEGER NOT NULL CHECK (final IN (0, 1)),
    quarantined_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;

CREATE INDEX quarantined_pending ON quarantined (device_id, seq) WHERE final = 0;
