-- The platform made public.dating_event_groups.event_id INT2: event ids above
-- 32767 do not fit. Widen it to BIGINT (the type of dating_events.id), only
-- when it is smaller; a column already BIGINT is left as it is.

DO $$
BEGIN
    IF (SELECT a.atttypid FROM pg_attribute a
        WHERE a.attrelid = 'public.dating_event_groups'::regclass
          AND a.attname = 'event_id' AND NOT a.attisdropped)
       IN ('int2'::regtype, 'int4'::regtype) THEN
        ALTER TABLE public.dating_event_groups ALTER COLUMN event_id TYPE BIGINT;
    END IF;
END;
$$;
