-- The platform's bot writes "I am ready" and reactions straight into its
-- tables, and operators insert events by hand. These triggers turn each such
-- write, in the writer's own transaction, into a row of datemaker's inbox,
-- which the service takes (FOR UPDATE SKIP LOCKED, under a lease) and applies
-- to the event as a command, deleting the row in the same transaction as the
-- events it records: nothing is lost, nothing taken twice. The bot's
-- statements keep succeeding; its reaction rows are diverted (the projection
-- writes the accepted reactions), its is_ready update is kept back (the
-- projection sets it once the event recorded it). datemaker's own writes
-- (the projection sets datemaker.writer for its transaction) pass through.

CREATE TABLE IF NOT EXISTS datemaker.platform_inbox (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT NOT NULL,           -- ready, like, dislike, report, adopt
    event_id     BIGINT NOT NULL,
    user_id      BIGINT,                  -- who pressed (source_user_id)
    partner_id   BIGINT,                  -- about whom (target_user_id)
    start_dttm   TIMESTAMPTZ,             -- adopt: the operator's row
    users_limit  INTEGER,
    written_at   TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    leased_until TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS platform_inbox_written_at_idx ON datemaker.platform_inbox (written_at);

-- What the inbox held that the event refused (not a partner, too late, ...):
-- kept for review, never applied.
CREATE TABLE IF NOT EXISTS datemaker.platform_refusals (
    id         BIGINT PRIMARY KEY,        -- the inbox row's id
    kind       TEXT NOT NULL,
    event_id   BIGINT NOT NULL,
    user_id    BIGINT,
    partner_id BIGINT,
    reason     TEXT NOT NULL,
    written_at TIMESTAMPTZ NOT NULL,
    refused_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION datemaker.written_by_datemaker() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT coalesce(current_setting('datemaker.writer', true), '') = 'projection' $$;

-- SECURITY DEFINER: the bot's role may write its tables but not datemaker's.
CREATE OR REPLACE FUNCTION datemaker.divert_reaction() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF datemaker.written_by_datemaker() THEN
        RETURN NEW;
    END IF;
    INSERT INTO datemaker.platform_inbox (kind, event_id, user_id, partner_id)
        VALUES (TG_ARGV[0], NEW.event_id, NEW.source_user_id, NEW.target_user_id);
    PERFORM pg_notify('datemaker_inbox', '');
    RETURN NULL;  -- the bot's row is not kept: the accepted reaction is projected
END;
$$;

DROP TRIGGER IF EXISTS bot_like_is_a_command ON public.likes;
CREATE TRIGGER bot_like_is_a_command BEFORE INSERT ON public.likes
    FOR EACH ROW EXECUTE FUNCTION datemaker.divert_reaction('like');
DROP TRIGGER IF EXISTS bot_dislike_is_a_command ON public.dislikes;
CREATE TRIGGER bot_dislike_is_a_command BEFORE INSERT ON public.dislikes
    FOR EACH ROW EXECUTE FUNCTION datemaker.divert_reaction('dislike');
DROP TRIGGER IF EXISTS bot_report_is_a_command ON public.reports;
CREATE TRIGGER bot_report_is_a_command BEFORE INSERT ON public.reports
    FOR EACH ROW EXECUTE FUNCTION datemaker.divert_reaction('report');

CREATE OR REPLACE FUNCTION datemaker.capture_ready() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF datemaker.written_by_datemaker() OR NOT coalesce(NEW.is_ready, false)
       OR coalesce(OLD.is_ready, false) THEN
        RETURN NEW;
    END IF;
    INSERT INTO datemaker.platform_inbox (kind, event_id, user_id) VALUES ('ready', NEW.event_id, NEW.user_id);
    PERFORM pg_notify('datemaker_inbox', '');
    NEW.is_ready := OLD.is_ready;  -- set by the projection once the event recorded it
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS bot_ready_is_a_command ON public.dating_registrations;
CREATE TRIGGER bot_ready_is_a_command BEFORE UPDATE OF is_ready ON public.dating_registrations
    FOR EACH ROW EXECUTE FUNCTION datemaker.capture_ready();

CREATE OR REPLACE FUNCTION datemaker.capture_operator_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF datemaker.written_by_datemaker() THEN
        RETURN NULL;
    END IF;
    INSERT INTO datemaker.platform_inbox (kind, event_id, start_dttm, users_limit)
        VALUES ('adopt', NEW.id, NEW.start_dttm, NEW.users_limit);
    PERFORM pg_notify('datemaker_inbox', '');
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS operator_event_is_adopted ON public.dating_events;
CREATE TRIGGER operator_event_is_adopted AFTER INSERT ON public.dating_events
    FOR EACH ROW EXECUTE FUNCTION datemaker.capture_operator_event();

-- Future events already there when datemaker arrives are adopted too (with
-- their registrations); past ones are left as they are. Once only: an event
-- already in the inbox or known to datemaker (its stats row) is not queued again.
INSERT INTO datemaker.platform_inbox (kind, event_id, start_dttm, users_limit)
    SELECT 'adopt', e.id, e.start_dttm, e.users_limit FROM public.dating_events e
    WHERE e.start_dttm > now() AND e.state_id = 0
      AND NOT EXISTS (SELECT FROM datemaker.platform_inbox i WHERE i.kind = 'adopt' AND i.event_id = e.id)
      AND NOT EXISTS (SELECT FROM datemaker.event_stats s WHERE s.event_id = e.id);

GRANT SELECT, UPDATE, DELETE ON datemaker.platform_inbox TO service_datemaker;
GRANT SELECT, INSERT ON datemaker.platform_refusals TO service_datemaker;
