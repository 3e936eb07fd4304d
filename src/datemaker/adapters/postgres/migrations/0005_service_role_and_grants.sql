-- service_datemaker: the service's least-privilege role (the platform's
-- name for it). It cannot log in; a deployment grants it to the login user
-- the service runs as (GRANT service_datemaker TO <user>). Created only when
-- missing: on the platform's cluster it exists before datemaker arrives.
-- Grants are only ever added: what the platform granted stays as it is.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_datemaker') THEN
        CREATE ROLE service_datemaker NOLOGIN;
    END IF;
EXCEPTION
    -- another database of the cluster created it at the same moment
    WHEN duplicate_object OR unique_violation THEN NULL;
END;
$$;

GRANT USAGE ON SCHEMA datemaker TO service_datemaker;
GRANT USAGE ON TYPE datemaker.stored_event_uuid TO service_datemaker;
-- UPDATE only because the library serialises writers with LOCK TABLE ...
-- IN EXCLUSIVE MODE, which PostgreSQL allows to holders of UPDATE; the
-- trigger (step 0002) still refuses every actual update.
GRANT SELECT, INSERT, UPDATE ON datemaker.datingevents_events TO service_datemaker;
GRANT SELECT, INSERT ON datemaker.datingevents_snapshots TO service_datemaker;
GRANT USAGE ON SEQUENCE datemaker.datingevents_events_notification_id_seq TO service_datemaker;
GRANT SELECT, INSERT, UPDATE, DELETE ON datemaker.handled_commands TO service_datemaker;
GRANT SELECT, INSERT, UPDATE, DELETE ON datemaker.deadlines TO service_datemaker;
GRANT SELECT, INSERT, UPDATE ON datemaker.outbox_position TO service_datemaker;
GRANT SELECT, INSERT, UPDATE ON datemaker.meet_pace TO service_datemaker;
GRANT SELECT, INSERT, UPDATE ON datemaker.event_summary TO service_datemaker;
GRANT SELECT, INSERT, UPDATE, DELETE ON datemaker.event_stats, datemaker.round_pairs,
    datemaker.round_sit_outs, datemaker.projection_tracking TO service_datemaker;

-- `datemaker serve` checks at start that every step is recorded as applied
-- (adapters/postgres/migrate.py reads yoyo's record, kept in this schema).
DO $$
BEGIN
    IF to_regclass('datemaker._yoyo_migration') IS NOT NULL THEN
        GRANT SELECT ON datemaker._yoyo_migration TO service_datemaker;
    END IF;
END;
$$;

-- The platform's tables: what the service reads and writes, nothing more.
GRANT SELECT ON public.users, public.event_states TO service_datemaker;
GRANT SELECT, INSERT, UPDATE ON public.dating_events TO service_datemaker;
-- The id sequence (public.dating_events_id_seq, the platform's BIGSERIAL).
DO $$
BEGIN
    EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO service_datemaker',
                   pg_get_serial_sequence('public.dating_events', 'id'));
END;
$$;
-- DELETE: a withdrawn registration is deleted by the projection.
GRANT SELECT, INSERT, UPDATE, DELETE ON public.dating_registrations TO service_datemaker;
GRANT SELECT, INSERT, DELETE ON public.dating_event_groups, public.likes, public.dislikes,
    public.reports TO service_datemaker;
GRANT SELECT ON public.matches, public.mismatches TO service_datemaker;
