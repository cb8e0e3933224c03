-- A closed order's aggregate document is no longer kept in `aggregates`: it was the
-- largest row the hub wrote per sale (about 2 kB), rewritten once and then read only if a
-- late event (a refund, a relayed line) reaches the order. Instead each `orders` row lists
-- the events that make up its order, and a late event rebuilds the order from the event
-- log by folding those events again (the fold is commutative, so this gives the same
-- state as the stored document would have).
--
-- `event_refs` is the concatenation, one per event folded into the order, of its device
-- id (16 bytes) and seq (8 bytes, big-endian): 24 bytes an event, appended by every push
-- that touches the order, under the order's advisory lock. NULL means the list is not
-- known (rows written before this migration): such an order keeps its document.
ALTER TABLE orders ADD COLUMN event_refs bytea
    CHECK (event_refs IS NULL OR length(event_refs) % 24 = 0);
