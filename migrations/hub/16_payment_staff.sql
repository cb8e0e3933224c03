-- Who took each payment (the staff member signed in at the till), for the console's sales
-- by staff. NULL where the payment names nobody, or for rows written before this.

DO $$
BEGIN
    EXECUTE 'ALTER TABLE payments ADD COLUMN taken_by uuid';
END
$$;
