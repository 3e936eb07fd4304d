"""Analytics read models: a follower of the event log keeps tables in
PostgreSQL (the platform's legacy names in `public`, datemaker's own
statistics in `datemaker`), with its position committed in the same
transaction as its writes, and rebuildable from the log at any time.
PostgreSQL read models by nature: they use psycopg, and are handed their
connections and their leadership by the runtime."""
