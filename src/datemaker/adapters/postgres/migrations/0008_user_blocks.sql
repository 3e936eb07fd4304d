-- Blocked users, one row each while a moderator's block is not lifted
-- (blocked_until NULL: until lifted; a past blocked_until: run out). Written
-- in the same transaction as the user's standing (an aggregate in the event
-- store, which holds the whole story), and read inside every save that
-- registers someone, so a blocked user's registration is never saved.
CREATE TABLE IF NOT EXISTS datemaker.user_blocks (
    user_id       BIGINT PRIMARY KEY,
    blocked_until TIMESTAMPTZ,
    reason        TEXT NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON datemaker.user_blocks TO service_datemaker;

-- The reports rule (DATEMAKER_AUTO_BLOCK_REPORTS) counts a user's reporters
-- of the last 30 days in the analytics follower's transaction.
CREATE INDEX IF NOT EXISTS reports_target_time_idx ON public.reports (target_user_id, action_time);
