-- The orders of a flash sale. Each row ties an order to the sale units it
-- took, so that canceling the order gives them back (returned marks that it
-- has), and carries the buyer's idempotency key: a retried buy finds its
-- order here, in the same transaction that created it, even after a crash.
CREATE TABLE flash_sale_orders (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    order_id     TEXT NOT NULL REFERENCES orders (id),
    sale_id      TEXT NOT NULL REFERENCES flash_sales (id) ON DELETE CASCADE,
    variant_id   TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity >= 1),
    key_hash     BLOB NOT NULL,      -- SHA-256 of the buyer's scope and Idempotency-Key
    request_hash BLOB NOT NULL,      -- SHA-256 of the request the key was first used with
    sealed_token BLOB NOT NULL,      -- the order token, sealed with a key derived from the Idempotency-Key
    returned     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
CREATE UNIQUE INDEX flash_sale_orders_key ON flash_sale_orders (tenant_id, sale_id, key_hash);

-- Units each customer holds of a sale, for the per-customer limit: one row
-- per buyer, moved with a guarded upsert, so concurrent buys of one customer
-- cannot both slip under the limit.
CREATE TABLE flash_sale_buyers (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    sale_id     TEXT NOT NULL REFERENCES flash_sales (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL,
    bought      INTEGER NOT NULL CHECK (bought >= 0),
    PRIMARY KEY (tenant_id, sale_id, customer_id)
);
