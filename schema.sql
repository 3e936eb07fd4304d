-- Everything datemaker needs in PostgreSQL. Idempotent: `datemaker db init`
-- (or `psql -v ON_ERROR_STOP=1 -f schema.sql`) may run it any number of times.

BEGIN;

-- The platform's user profiles (PROTOCOL.md). The bot owns and writes them;
-- datemaker only reads. Created here only where the platform has not yet.
CREATE TABLE IF NOT EXISTS public.users (
    id            INT8 PRIMARY KEY,
    username      VARCHAR(16) NOT NULL,
    password_hash VARCHAR(128),
    bio           VARCHAR(512),
    birthday      DATE,
    sex           VARCHAR(1),
    name          VARCHAR(16),
    city          VARCHAR(32),
    rating        REAL DEFAULT 0.0,
    manual_score  INT2 DEFAULT 2
);

-- The service's least-privilege role. It cannot log in; a deployment grants
-- it to the login user it runs as (GRANT datemaker_service TO <user>).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datemaker_service') THEN
        CREATE ROLE datemaker_service NOLOGIN;
    END IF;
END;
$$;

CREATE SCHEMA IF NOT EXISTS datemaker;

-- The event store, in the layout the eventsourcing library reads and writes
-- for the application named DatingEvents. Rows are never changed or removed.
CREATE TABLE IF NOT EXISTS datemaker.datingevents_events (
    originator_id      UUID   NOT NULL,
    originator_version BIGINT NOT NULL,
    topic              TEXT,
    state              BYTEA,
    notification_id    BIGSERIAL,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,  -- append-only: nothing to vacuum
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);
CREATE UNIQUE INDEX IF NOT EXISTS datingevents_events_notification_id_idx
    ON datemaker.datingevents_events (notification_id ASC);

CREATE TABLE IF NOT EXISTS datemaker.datingevents_snapshots (
    originator_id      UUID   NOT NULL,
    originator_version BIGINT NOT NULL,
    topic              TEXT,
    state              BYTEA,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);

-- The row type the library passes its inserts in.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'datemaker' AND t.typname = 'stored_event_uuid'
    ) THEN
        CREATE TYPE datemaker.stored_event_uuid AS (
            originator_id      UUID,
            originator_version BIGINT,
            topic              TEXT,
            state              BYTEA
        );
    END IF;
END;
$$;
GRANT USAGE ON TYPE datemaker.stored_event_uuid TO datemaker_service;

-- Replies already given to bot commands, written in the same transaction as
-- the command's events, so a redelivered command gets the same reply and
-- changes nothing twice. Rows older than a week are deleted by the service.
CREATE TABLE IF NOT EXISTS datemaker.handled_commands (
    dedupe_key TEXT PRIMARY KEY,
    reply      TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    handled_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS handled_commands_handled_at_idx
    ON datemaker.handled_commands (handled_at);

-- The round clock: each event's next deadline, written in the same
-- transaction as the events that set it, so it can be neither lost nor stale.
-- A clock claims due rows with a lease (FOR UPDATE SKIP LOCKED); a lease that
-- runs out (its instance died) lets another instance fire the deadline.
CREATE TABLE IF NOT EXISTS datemaker.deadlines (
    wire_id      BIGINT PRIMARY KEY,
    due_at       TIMESTAMPTZ NOT NULL,
    action       TEXT NOT NULL,
    leased_until TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS deadlines_due_at_idx ON datemaker.deadlines (due_at);

-- Each event's state and how many of its dates have a call running, kept with
-- every save, so gauges about all events are right whichever instance is asked.
CREATE TABLE IF NOT EXISTS datemaker.event_summary (
    wire_id      BIGINT PRIMARY KEY,
    state        SMALLINT NOT NULL,
    active_dates INTEGER NOT NULL DEFAULT 0
);

-- How far the outbox relay has published the event log to the bot.
CREATE TABLE IF NOT EXISTS datemaker.outbox_position (
    name     TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);

-- Google Meet quotas belong to the account, not to one instance: the next
-- free slot of each kind of call (create, write, read), claimed atomically by
-- every instance (adapters/meet_pace.py).
CREATE TABLE IF NOT EXISTS datemaker.meet_pace (
    name      TEXT PRIMARY KEY,
    next_free TIMESTAMPTZ NOT NULL
);

-- History is evidence (complaint review): refuse any change to it.
CREATE OR REPLACE FUNCTION datemaker.refuse_history_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'datemaker history is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$;

DROP TRIGGER IF EXISTS history_is_append_only ON datemaker.datingevents_events;
CREATE TRIGGER history_is_append_only
    BEFORE UPDATE OR DELETE ON datemaker.datingevents_events
    FOR EACH ROW EXECUTE FUNCTION datemaker.refuse_history_change();
DROP TRIGGER IF EXISTS history_is_never_truncated ON datemaker.datingevents_events;
CREATE TRIGGER history_is_never_truncated
    BEFORE TRUNCATE ON datemaker.datingevents_events
    FOR EACH STATEMENT EXECUTE FUNCTION datemaker.refuse_history_change();

GRANT USAGE ON SCHEMA datemaker TO datemaker_service;
GRANT SELECT ON public.users TO datemaker_service;
-- UPDATE only because the library serialises writers with LOCK TABLE ...
-- IN EXCLUSIVE MODE, which PostgreSQL allows to holders of UPDATE; the
-- trigger above still refuses every actual update.
GRANT SELECT, INSERT, UPDATE ON datemaker.datingevents_events TO datemaker_service;
GRANT SELECT, INSERT ON datemaker.datingevents_snapshots TO datemaker_service;
GRANT USAGE ON SEQUENCE datemaker.datingevents_events_notification_id_seq TO datemaker_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON datemaker.handled_commands TO datemaker_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON datemaker.deadlines TO datemaker_service;
GRANT SELECT, INSERT, UPDATE ON datemaker.outbox_position TO datemaker_service;
GRANT SELECT, INSERT, UPDATE ON datemaker.meet_pace TO datemaker_service;
GRANT SELECT, INSERT, UPDATE ON datemaker.event_summary TO datemaker_service;

COMMIT;
