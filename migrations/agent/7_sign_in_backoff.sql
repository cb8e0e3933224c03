-- Lockouts back off: each lockout of a staff id since its last correct PIN lasts twice as
-- long as the one before, up to a cap, and a correct PIN starts over.
ALTER TABLE sign_in_failures ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;
