-- Least privilege on the platform's users: the platform grants
-- service_datemaker SELECT on the whole of public.users, password_hash and
-- bio included. A table grant covers every column and a column grant cannot
-- narrow it, so this step replaces it with SELECT on just the columns
-- datemaker reads (platform_shape.REQUIRED_COLUMNS["users"]: the pairing's
-- profile fields and the names rooms are matched by). The only grant datemaker
-- ever takes away, and only from its own role; the bot's rights are untouched.
-- Revoking the platform's grant takes its owner (or a superuser): a step run
-- by anyone else would leave it in place, so it checks and fails instead.

REVOKE SELECT ON public.users FROM service_datemaker;  -- its column grants go with it
GRANT SELECT (id, username, name, sex, city, birthday, rating, manual_score) ON public.users TO service_datemaker;

DO $$
DECLARE
    extra text;
BEGIN
    SELECT string_agg(attname, ', ' ORDER BY attnum) INTO extra
      FROM pg_attribute
     WHERE attrelid = 'public.users'::regclass AND attnum > 0 AND NOT attisdropped
       AND attname NOT IN ('id', 'username', 'name', 'sex', 'city', 'birthday', 'rating', 'manual_score')
       AND has_column_privilege('service_datemaker', attrelid, attnum, 'SELECT');
    IF extra IS NOT NULL THEN
        RAISE EXCEPTION 'service_datemaker can still read public.users columns %', extra
            USING HINT = 'run datemaker db migrate as the owner of public.users, and grant SELECT on it to no role'
                         ' service_datemaker belongs to (nor to PUBLIC)';
    END IF;
END;
$$;
