-- Quarantined facts that may still heal: refused only because what they refer to (an
-- order, a drawer, a ticket, an approver, their author's record) had not reached the hub
-- yet. The hub admits them again after each push that stores something new, and forgets
-- them here once they fold or are refused for good. A tenant table like the others
-- (`hub_tenant_table`, migration 9).

CREATE TABLE quarantine_waiting (
    tenant_id uuid   NOT NULL,
    device_id uuid   NOT NULL,
    seq       bigint NOT NULL,
    PRIMARY KEY (tenant_id, device_id, seq)
);
SELECT hub_tenant_table('quarantine_waiting', 'SELECT, INSERT, DELETE');
