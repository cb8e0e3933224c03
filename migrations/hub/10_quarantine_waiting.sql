-- Quarantined facts that may still heal: refused only because what they refer to (an
-- order, a drawer, a ticket another terminal had not pushed yet) had not reached the hub.
-- `awaits` is that thing's id; a push that folds something with that id admits the facts
-- waiting for it again, with the time the hub first stored them. A tenant table like the
-- others (`hub_tenant_table`, migration 9).

CREATE TABLE quarantine_waiting (
    tenant_id      uuid   NOT NULL,
    device_id      uuid   NOT NULL,
    seq            bigint NOT NULL,
    awaits         uuid   NOT NULL,
    received_at_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, device_id, seq)
);
CREATE INDEX quarantine_waiting_by_target ON quarantine_waiting (tenant_id, awaits);
-- UPDATE for the row locks that claim waiting facts (`SELECT ... FOR UPDATE`).
SELECT hub_tenant_table('quarantine_waiting', 'SELECT, INSERT, UPDATE, DELETE');
