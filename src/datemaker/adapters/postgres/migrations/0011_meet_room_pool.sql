-- The pool of Meet rooms made ahead (README, Google Meet): every room made,
-- with the host account that made it. A room is taken for one event at most
-- (taken_for, set once, never cleared), then settled once the event's
-- history records it; a taken room not settled yet (a crash in between)
-- goes to the same event again, never to another one.
CREATE TABLE IF NOT EXISTS datemaker.meet_rooms (
    space     TEXT PRIMARY KEY,          -- Meet's name for the room: spaces/...
    uri       TEXT NOT NULL,             -- the link people open
    account   TEXT NOT NULL,             -- the host account that made it
    made_at   TIMESTAMPTZ NOT NULL,
    taken_for BIGINT,                    -- the event's wire id; NULL: in the pool
    taken_at  TIMESTAMPTZ,
    settled   BOOLEAN NOT NULL DEFAULT FALSE
);
-- The oldest free rooms first; an event's rooms taken and not settled.
CREATE INDEX IF NOT EXISTS meet_rooms_free_idx ON datemaker.meet_rooms (made_at) WHERE taken_for IS NULL;
CREATE INDEX IF NOT EXISTS meet_rooms_unsettled_idx ON datemaker.meet_rooms (taken_for)
    WHERE taken_for IS NOT NULL AND NOT settled;

-- Each host account's last known state, for `datemaker meet capacity`.
CREATE TABLE IF NOT EXISTS datemaker.meet_accounts (
    name   TEXT PRIMARY KEY,
    usable BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    since  TIMESTAMPTZ NOT NULL
);
GRANT SELECT, INSERT, UPDATE ON datemaker.meet_rooms, datemaker.meet_accounts TO service_datemaker;
