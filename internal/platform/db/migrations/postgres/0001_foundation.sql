-- Tenants: the directory of stores. Not tenant-owned: it is how a tenant is found.
CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    handle     TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    currency   TEXT NOT NULL,
    time_zone  TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Staff accounts. Emails are stored lower-cased and are unique per tenant.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'staff')),
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, email)
);
CREATE INDEX users_tenant_id ON users (tenant_id, id);

-- Browser sessions; only a hash of the token is kept.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    token_hash BYTEA NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- API keys act with the rights of the user who made them, capped by role.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'staff')),
    key_hash     BYTEA NOT NULL UNIQUE,
    hint         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id, id);

-- Idempotency records. The scope is a tenant and credential (or "public"),
-- the key is stored only as a hash, and the response body is sealed with a
-- key derived from the client's Idempotency-Key, which we do not keep.
CREATE TABLE idempotency_keys (
    scope           TEXT NOT NULL,
    key_hash        BYTEA NOT NULL,
    request_hash    BYTEA NOT NULL,
    status          INTEGER NOT NULL DEFAULT 0,
    sealed_response BYTEA,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key_hash)
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);

-- Row-level security: the second wall behind "WHERE tenant_id = ?". A
-- transaction sees only the rows of the tenant it set with
-- set_config('nimbus.tenant_id', ..., true); with no tenant set it sees none.
-- FORCE makes the policies apply to the table owner too.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sessions
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));
