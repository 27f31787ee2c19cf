-- The purge job deletes each store's expired staff and customer sessions,
-- a chunk at a time: these find them without reading the store's live
-- ones, or other stores' expired ones. The index on expiry alone served
-- nothing else.
CREATE INDEX sessions_tenant_expires ON sessions (tenant_id, expires_at);
DROP INDEX sessions_expires_at;
CREATE INDEX customer_sessions_expires ON customer_sessions (tenant_id, expires_at);
