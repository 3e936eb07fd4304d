-- The platform's tables (../shared/PLATFORM.md), each created only where the
-- platform's own migrations have not made it yet, in exactly the shape they
-- leave: on an empty database datemaker stands in for them; on the
-- platform's database this step changes nothing. Nothing here alters an
-- existing table, column, row or view.

CREATE TABLE IF NOT EXISTS public.users (
    id INT8 PRIMARY KEY, username VARCHAR(16) NOT NULL, password_hash VARCHAR(128),
    bio VARCHAR(512), birthday DATE, sex VARCHAR(1), name VARCHAR(16), city VARCHAR(32),
    rating REAL DEFAULT 0.0, manual_score INT2 DEFAULT 2);
CREATE TABLE IF NOT EXISTS public.images (
    id BIGSERIAL PRIMARY KEY, owner INT8 NOT NULL, s3_bucket VARCHAR(64) NOT NULL,
    s3_path VARCHAR(1024) NOT NULL, url VARCHAR(1024), upload_dttm TIMESTAMP NOT NULL);

CREATE TABLE IF NOT EXISTS public.dating_events (
    id          BIGSERIAL PRIMARY KEY,
    start_dttm  TIMESTAMPTZ NOT NULL,
    users_limit INT2 NOT NULL DEFAULT 20,      -- group size
    state_id    INT2 NOT NULL DEFAULT 0);      -- public.event_states.id
CREATE TABLE IF NOT EXISTS public.event_states (id INT2, state_name VARCHAR(32));
INSERT INTO public.event_states (id, state_name)
    SELECT v.id, v.state_name
    FROM (VALUES (0::INT2, 'NOT_STARTED'), (1::INT2, 'REG_CONFIRM'), (2::INT2, 'READY'),
                 (3::INT2, 'RUNNING'), (4::INT2, 'FINISHED'), (5::INT2, 'SKIPPED')) AS v (id, state_name)
    WHERE NOT EXISTS (SELECT FROM public.event_states s WHERE s.id = v.id);
CREATE TABLE IF NOT EXISTS public.dating_registrations (
    user_id                 INT8,
    event_id                INT8,
    registered_on_dttm      TIMESTAMP NOT NULL DEFAULT NOW(),
    confirmed_on_dttm       TIMESTAMP,
    is_ready                BOOL DEFAULT FALSE,
    confirmation_event_sent BOOL DEFAULT FALSE);
CREATE TABLE IF NOT EXISTS public.dating_event_groups (
    event_id INT2, group_no INT2, pair_no INT2,
    turn_no  INT2,                             -- the round (0-based) in which the pair meets
    user_1_id BIGINT, user_2_id BIGINT);
CREATE TABLE IF NOT EXISTS public.likes (
    source_user_id BIGINT NOT NULL, target_user_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL, action_time TIMESTAMP DEFAULT NOW());
CREATE TABLE IF NOT EXISTS public.dislikes (
    source_user_id BIGINT NOT NULL, target_user_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL, action_time TIMESTAMP DEFAULT NOW());
CREATE TABLE IF NOT EXISTS public.reports (
    source_user_id BIGINT NOT NULL, target_user_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL, action_time TIMESTAMP DEFAULT NOW());

-- Mutual likes (dislikes), one row each way, as the platform defines them.
-- Created only when missing, never replaced: the bot reads public.matches.
DO $$
BEGIN
    IF to_regclass('public.matches') IS NULL THEN
        CREATE VIEW public.matches AS
            SELECT a.source_user_id AS user_1_id, b.source_user_id AS user_2_id, a.event_id
            FROM public.likes a JOIN public.likes b
              ON a.target_user_id = b.source_user_id AND a.source_user_id = b.target_user_id
             AND a.event_id = b.event_id;
    END IF;
    IF to_regclass('public.mismatches') IS NULL THEN
        CREATE VIEW public.mismatches AS
            SELECT a.source_user_id AS user_1_id, b.source_user_id AS user_2_id, a.event_id
            FROM public.dislikes a JOIN public.dislikes b
              ON a.target_user_id = b.source_user_id AND a.source_user_id = b.target_user_id
             AND a.event_id = b.event_id;
    END IF;
END;
$$;
