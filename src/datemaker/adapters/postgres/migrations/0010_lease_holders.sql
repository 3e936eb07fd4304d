-- A lease names its holder: a number whose session-level advisory lock the
-- instance that took the lease keeps while it lives (adapters/postgres/
-- lease_holder.py). When that instance dies (kill -9, a crash), its session
-- ends, the lock goes with it, and its leases are free at once; the time in
-- leased_until only matters while the holder still holds its lock (or for a
-- lease taken without one). NULL: a lease that names no holder.
ALTER TABLE datemaker.deadlines ADD COLUMN IF NOT EXISTS leased_by BIGINT;
ALTER TABLE datemaker.platform_inbox ADD COLUMN IF NOT EXISTS leased_by BIGINT;
