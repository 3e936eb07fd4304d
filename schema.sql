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

-- Analytics read models (src/datemaker/projections/, README "Analytics
-- tables"). A follower of the event log writes them, and nothing else does:
-- `datemaker projections rebuild` empties them and replays the log into them.
-- The platform's bot and dashboards already know these names in public; no
-- foreign keys, so a projection never fails on data the platform lacks.
CREATE TABLE IF NOT EXISTS public.dating_events (
    id          BIGINT PRIMARY KEY,       -- the event_id header (wire id)
    start_time  TIMESTAMPTZ NOT NULL,
    users_limit INT NOT NULL,             -- group size
    state       SMALLINT NOT NULL,        -- PROTOCOL.md "Event states" (0..6)
    timezone    TEXT NOT NULL,            -- IANA zone the event is shown in
    capacity    INT,                      -- most registrations; NULL: unlimited
    created_at  TIMESTAMPTZ NOT NULL      -- when it was scheduled
);
-- Live registrations: a withdrawn one is deleted (registering again makes a fresh row).
CREATE TABLE IF NOT EXISTS public.dating_registrations (
    event_id      BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    registered_at TIMESTAMPTZ NOT NULL,
    confirmed     BOOLEAN NOT NULL DEFAULT false,
    confirmed_at  TIMESTAMPTZ,
    ready         BOOLEAN NOT NULL DEFAULT false,  -- answered "are you here?"
    ready_at      TIMESTAMPTZ,
    no_show       BOOLEAN NOT NULL DEFAULT false,  -- had a place, was not there at the start
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX IF NOT EXISTS dating_registrations_user_id_idx ON public.dating_registrations (user_id);
-- Groups as fixed when confirmation closed, replaced by the re-paired groups at the start.
CREATE TABLE IF NOT EXISTS public.dating_event_groups (
    event_id BIGINT NOT NULL,
    group_no INT NOT NULL,
    user_id  BIGINT NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
-- A user's latest reaction to a partner is either a like or a dislike (or a report).
CREATE TABLE IF NOT EXISTS public.likes (
    event_id   BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,              -- who likes
    partner_id BIGINT NOT NULL,              -- whom
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, user_id, partner_id)
);
CREATE TABLE IF NOT EXISTS public.dislikes (
    event_id   BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,
    partner_id BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, user_id, partner_id)
);
-- Every report is kept; its id is the notification id of the event that recorded it.
CREATE TABLE IF NOT EXISTS public.reports (
    id         BIGINT PRIMARY KEY,
    event_id   BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,              -- who reports
    partner_id BIGINT NOT NULL,              -- whom
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_partner_id_idx ON public.reports (partner_id);
-- Mutual likes of finished events (the matches the event announced), one row
-- each way, so "my matches" is WHERE user_id = ?.
CREATE OR REPLACE VIEW public.matches AS
    SELECT l.event_id, l.user_id, l.partner_id, greatest(l.created_at, r.created_at) AS matched_at
    FROM public.likes l
    JOIN public.likes r ON r.event_id = l.event_id AND r.user_id = l.partner_id AND r.partner_id = l.user_id
    JOIN public.dating_events e ON e.id = l.event_id AND e.state = 4;
-- datemaker's own statistics: the funnel of each event.
CREATE TABLE IF NOT EXISTS datemaker.event_stats (
    event_id     BIGINT PRIMARY KEY,
    state        SMALLINT NOT NULL,
    start_time   TIMESTAMPTZ NOT NULL,
    registered   INT NOT NULL DEFAULT 0,   -- registrations held now
    withdrawn    INT NOT NULL DEFAULT 0,   -- registrations cancelled by their user
    confirmed    INT NOT NULL DEFAULT 0,   -- of those held now
    declined     INT NOT NULL DEFAULT 0,   -- registered but unconfirmed when confirmation closed
    placed       INT NOT NULL DEFAULT 0,   -- given a place when confirmation closed
    unplaced     INT NOT NULL DEFAULT 0,   -- confirmed, but no compatible partner left
    ready        INT NOT NULL DEFAULT 0,   -- answered "are you here?"
    no_shows     INT NOT NULL DEFAULT 0,   -- had a place, not there at the start
    participants INT NOT NULL DEFAULT 0,   -- placed in the plan that ran
    rounds       INT NOT NULL DEFAULT 0,
    likes        INT NOT NULL DEFAULT 0,
    dislikes     INT NOT NULL DEFAULT 0,
    reports      INT NOT NULL DEFAULT 0,
    matches      INT NOT NULL DEFAULT 0,   -- mutual-like pairs
    matched      INT NOT NULL DEFAULT 0,   -- people with at least one match
    end_reason   TEXT,                     -- why skipped or cancelled
    updated_at   TIMESTAMPTZ NOT NULL      -- when its last recorded change happened
);
-- Each date of each round of the plan that ran; a_* is about user_a.
CREATE TABLE IF NOT EXISTS datemaker.round_pairs (
    event_id         BIGINT NOT NULL,
    round_no         INT NOT NULL,
    user_a           BIGINT NOT NULL,     -- the smaller id
    user_b           BIGINT NOT NULL,
    group_no         INT,
    score            DOUBLE PRECISION NOT NULL,  -- how well they match (pairing)
    room_uri         TEXT,                -- given when the round starts
    started_at       TIMESTAMPTZ,         -- NULL: the round never started
    ended_at         TIMESTAMPTZ,
    a_attendance     TEXT,                -- present, late, left_early, no_show, unknown; NULL: not read
    a_seconds        INT,                 -- time in the call during the round
    b_attendance     TEXT,
    b_seconds        INT,
    attendance_final BOOLEAN,             -- read again after the event
    a_reaction       TEXT,                -- user_a about user_b: like, dislike, report
    b_reaction       TEXT,
    PRIMARY KEY (event_id, round_no, user_a, user_b)
);
CREATE TABLE IF NOT EXISTS datemaker.round_sit_outs (
    event_id BIGINT NOT NULL,
    round_no INT NOT NULL,
    user_id  BIGINT NOT NULL,
    reason   TEXT NOT NULL,
    PRIMARY KEY (event_id, round_no, user_id)
);
-- How far the follower has projected the log, written in the same
-- transaction as its rows: one row per upstream application, the key
-- refusing the same notification twice.
CREATE TABLE IF NOT EXISTS datemaker.projection_tracking (
    application_name TEXT NOT NULL,
    notification_id  BIGINT NOT NULL,
    PRIMARY KEY (application_name, notification_id)
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
GRANT SELECT, INSERT, UPDATE, DELETE ON public.dating_events, public.dating_registrations,
    public.dating_event_groups, public.likes, public.dislikes, public.reports,
    datemaker.event_stats, datemaker.round_pairs, datemaker.round_sit_outs,
    datemaker.projection_tracking TO datemaker_service;
GRANT SELECT ON public.matches TO datemaker_service;

COMMIT;
