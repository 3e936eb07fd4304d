-- What datemaker adds to the platform's tables, never altering a column,
-- type or row the platform made: three nullable columns on dating_events,
-- the state the platform lacks, and indexes for datemaker's lookups.

ALTER TABLE public.dating_events
    ADD COLUMN IF NOT EXISTS timezone   TEXT,         -- IANA zone the event is shown in
    ADD COLUMN IF NOT EXISTS capacity   INTEGER,      -- most registrations; NULL: unlimited
    ADD COLUMN IF NOT EXISTS created_at TIMESTAMPTZ;  -- when it was scheduled

-- PROTOCOL.md's state 6; the platform's migrations stop at 5 (SKIPPED).
INSERT INTO public.event_states (id, state_name)
    SELECT 6, 'CANCELLED'
    WHERE NOT EXISTS (SELECT FROM public.event_states WHERE id = 6);

-- Not unique: the platform's bot inserts a reaction once per press.
CREATE INDEX IF NOT EXISTS dating_registrations_event_user_idx
    ON public.dating_registrations (event_id, user_id);
CREATE INDEX IF NOT EXISTS dating_event_groups_event_idx
    ON public.dating_event_groups (event_id);
CREATE INDEX IF NOT EXISTS likes_event_source_target_idx
    ON public.likes (event_id, source_user_id, target_user_id);
CREATE INDEX IF NOT EXISTS dislikes_event_source_target_idx
    ON public.dislikes (event_id, source_user_id, target_user_id);
CREATE INDEX IF NOT EXISTS reports_event_source_target_idx
    ON public.reports (event_id, source_user_id, target_user_id);
