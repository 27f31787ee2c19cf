-- The purge job deletes each store's expired customer sessions, a chunk at
-- a time: this finds them without reading the store's live ones.
CREATE INDEX customer_sessions_expires ON customer_sessions (tenant_id, expires_at);
