-- datemaker's own schema: the event store, the service's working tables and
-- its analytics tables, all in the schema `datemaker` (the platform's tables
-- in public are steps 0001 and 0003). Idempotent: every object is created
-- only when missing.

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
-- every instance (adapters/meet/pace.py).
CREATE TABLE IF NOT EXISTS datemaker.meet_pace (
    name      TEXT PRIMARY KEY,
    next_free TIMESTAMPTZ NOT NULL
);

-- Analytics read models of datemaker's own (src/datemaker/projections/); the
-- platform's tables the follower also writes are in public (step 0001).
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

