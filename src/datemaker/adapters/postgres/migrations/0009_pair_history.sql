-- The pair history behind the "never again" rules (README, Moderation):
-- whom each person had a date with at an event that is over, and each
-- person's latest reaction to each partner. Written in the same transaction
-- as the events that make it (the event's end, a rating), so it is never
-- behind the log; derived from the log alone, and filled here from what was
-- recorded before.

CREATE TABLE IF NOT EXISTS datemaker.pair_dates (
    user_id    BIGINT NOT NULL,
    event_id   BIGINT NOT NULL,
    partners   BIGINT[] NOT NULL,         -- everyone given a room with user_id there
    started_at TIMESTAMPTZ NOT NULL,      -- the event's start: the latest events first
    PRIMARY KEY (user_id, event_id)
);

CREATE TABLE IF NOT EXISTS datemaker.pair_reactions (
    user_id    BIGINT NOT NULL,
    partner_id BIGINT NOT NULL,
    event_id   BIGINT NOT NULL,
    reaction   TEXT NOT NULL,             -- like, dislike, report (the latest)
    at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, partner_id, event_id)
);
CREATE INDEX IF NOT EXISTS pair_reactions_partner_idx ON datemaker.pair_reactions (partner_id);

GRANT SELECT, INSERT, UPDATE ON datemaker.pair_dates, datemaker.pair_reactions TO service_datemaker;

-- What was recorded before these tables existed: dates from the rooms each
-- pair was given at a round's start (of events that are over), reactions from the ratings (the last
-- one per person, partner and event). Only while both are empty: once the
-- service writes them they are complete, and this step may run again.
DO $$
BEGIN
    IF to_regclass('datemaker.datingevents_events') IS NULL
       OR EXISTS (SELECT FROM datemaker.pair_dates) OR EXISTS (SELECT FROM datemaker.pair_reactions) THEN
        RETURN;
    END IF;
    WITH recorded AS (
        SELECT originator_id, substring(topic FROM '[^.]+$') AS kind, convert_from(state, 'UTF8')::jsonb AS body
          FROM datemaker.datingevents_events
         WHERE topic LIKE 'datemaker.domain.dating_event:DatingEvent.%'
           AND substring(topic FROM '[^.]+$') IN ('Scheduled', 'Started', 'RoundStarted', 'Finished', 'Cancelled')
    ), wire AS (
        SELECT originator_id, (body->>'wire_id')::bigint AS event_id,
               (body->'start'->>'_data_')::timestamptz AS started_at
          FROM recorded WHERE kind = 'Scheduled'
    ), over AS (
        SELECT DISTINCT originator_id FROM recorded WHERE kind IN ('Finished', 'Cancelled')
    ), dates AS (
        SELECT w.event_id, w.started_at, split_part(room.key, '-', 1)::bigint AS a,
               split_part(room.key, '-', 2)::bigint AS b
          FROM recorded r JOIN wire w USING (originator_id) JOIN over USING (originator_id),
               jsonb_each(CASE WHEN jsonb_typeof(r.body->'rooms') = 'object' THEN r.body->'rooms' ELSE '{}' END) AS room
         WHERE r.kind IN ('Started', 'RoundStarted')
    ), each_way AS (
        SELECT a AS user_id, event_id, b AS partner_id, started_at FROM dates
        UNION SELECT b, event_id, a, started_at FROM dates
    )
    INSERT INTO datemaker.pair_dates (user_id, event_id, partners, started_at)
    SELECT user_id, event_id, array_agg(partner_id ORDER BY partner_id), started_at
      FROM each_way GROUP BY user_id, event_id, started_at
    ON CONFLICT DO NOTHING;

    WITH recorded AS (
        SELECT originator_id, notification_id, substring(topic FROM '[^.]+$') AS kind,
               convert_from(state, 'UTF8')::jsonb AS body
          FROM datemaker.datingevents_events
         WHERE topic IN ('datemaker.domain.dating_event:DatingEvent.Scheduled',
                         'datemaker.domain.dating_event:DatingEvent.PartnerRated')
    ), wire AS (
        SELECT originator_id, (body->>'wire_id')::bigint AS event_id FROM recorded WHERE kind = 'Scheduled'
    )
    INSERT INTO datemaker.pair_reactions (user_id, partner_id, event_id, reaction, at)
    SELECT DISTINCT ON (1, 2, 3) (r.body->>'user_id')::bigint, (r.body->>'partner_id')::bigint, w.event_id,
           r.body->>'reaction', (r.body->'at'->>'_data_')::timestamptz
      FROM recorded r JOIN wire w USING (originator_id)
     WHERE r.kind = 'PartnerRated'
     ORDER BY 1, 2, 3, r.notification_id DESC
    ON CONFLICT DO NOTHING;
END;
$$;
