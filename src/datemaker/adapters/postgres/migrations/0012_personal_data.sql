-- Personal data sealed per person (README, Privacy). Each person's key,
-- wrapped by the master key; erasing a person destroys it (wrapped = NULL)
-- and what it sealed can never be read again. Generations: an erased person
-- who comes back gets a new key, and is a new person.
CREATE TABLE IF NOT EXISTS datemaker.person_keys (
    subject    TEXT NOT NULL,             -- user:<id>, or room:<event> for names nobody was known by
    generation INTEGER NOT NULL,
    wrapped    BYTEA,                     -- NULL: erased
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    erased_at  TIMESTAMPTZ,
    PRIMARY KEY (subject, generation)
);
-- Each master key that has wrapped keys here, with a value it seals: a wrong
-- or lost master key is one clear error at start, not unreadable rows later.
CREATE TABLE IF NOT EXISTS datemaker.master_keys (
    kid       BYTEA PRIMARY KEY,
    key_check BYTEA NOT NULL,
    added_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Which events each person's data is in (written with the events): an erase
-- waits for them to be over, retention counts from the last one's end.
CREATE TABLE IF NOT EXISTS datemaker.person_events (
    user_id BIGINT NOT NULL,
    wire_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, wire_id)
);
CREATE INDEX IF NOT EXISTS person_events_wire_id_idx ON datemaker.person_events (wire_id);
-- Every erase request: who asked, under which reference, and when it was
-- carried out (NULL: waiting for the person's events to be over).
CREATE TABLE IF NOT EXISTS datemaker.erasures (
    user_id      BIGINT NOT NULL,
    request_ref  TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    erased_at    TIMESTAMPTZ,
    PRIMARY KEY (user_id, request_ref)
);
CREATE INDEX IF NOT EXISTS erasures_waiting_idx ON datemaker.erasures (requested_at) WHERE erased_at IS NULL;
-- When each event was over (finished, skipped or cancelled), for retention.
ALTER TABLE datemaker.event_summary ADD COLUMN IF NOT EXISTS over_at TIMESTAMPTZ;

-- History stays append-only; the one change allowed is `datemaker privacy
-- reseal` replacing a row's state by the same event with its personal fields
-- sealed, under its own setting, never the row's identity or topic.
CREATE OR REPLACE FUNCTION datemaker.refuse_history_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('datemaker.resealing', true) = 'on'
       AND NEW.originator_id = OLD.originator_id AND NEW.originator_version = OLD.originator_version
       AND NEW.topic IS NOT DISTINCT FROM OLD.topic AND NEW.notification_id = OLD.notification_id THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'datemaker history is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$;

GRANT SELECT, INSERT, UPDATE ON datemaker.person_keys, datemaker.master_keys, datemaker.person_events,
    datemaker.erasures TO service_datemaker;
