-- The nodes serving this database, each as of its last heartbeat: how many
-- there are shares out between them what the database takes at once (a
-- flash sale's buys in flight). No store's data.
CREATE TABLE nodes (
    id      TEXT PRIMARY KEY,
    seen_at TIMESTAMPTZ NOT NULL
);
