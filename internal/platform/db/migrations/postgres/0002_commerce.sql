-- Tenant settings the commerce core needs.
ALTER TABLE tenants ADD COLUMN prices_include_tax BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN tax_shipping BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN reservation_minutes INTEGER NOT NULL DEFAULT 15;

-- Catalog. A product's options (up to three) are JSON: [{"name":"Size","values":["S","M"]}].
CREATE TABLE products (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    handle          TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    tags            TEXT NOT NULL,
    images          TEXT NOT NULL,
    seo_title       TEXT NOT NULL,
    seo_description TEXT NOT NULL,
    options         TEXT NOT NULL,
    search_document TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, handle)
);
CREATE INDEX products_tenant_status ON products (tenant_id, status, id);

CREATE TABLE product_tags (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    PRIMARY KEY (product_id, tag)
);
CREATE INDEX product_tags_tag ON product_tags (tenant_id, tag, product_id);

CREATE TABLE variants (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    product_id       TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku              TEXT NOT NULL,
    title            TEXT NOT NULL,
    option1          TEXT,
    option2          TEXT,
    option3          TEXT,
    price            BIGINT NOT NULL CHECK (price >= 0),
    compare_at_price BIGINT CHECK (compare_at_price >= 0),
    weight_grams     BIGINT NOT NULL DEFAULT 0 CHECK (weight_grams >= 0),
    track_inventory  BOOLEAN NOT NULL,
    position         INTEGER NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, sku)
);
CREATE INDEX variants_product ON variants (tenant_id, product_id, position);

CREATE TABLE collections (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    handle      TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, handle)
);

CREATE TABLE collection_products (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    collection_id TEXT NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    product_id    TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    PRIMARY KEY (collection_id, product_id)
);
CREATE INDEX collection_products_product ON collection_products (tenant_id, product_id);

-- Inventory: a ledger of movements per variant, and the levels derived from
-- it in the same transaction. The CHECKs make overselling impossible even if
-- the code were wrong: available = on_hand - reserved never goes below zero.
CREATE TABLE inventory_levels (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    variant_id TEXT NOT NULL REFERENCES variants (id),
    on_hand    BIGINT NOT NULL,
    reserved   BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (variant_id),
    CHECK (reserved >= 0),
    CHECK (on_hand - reserved >= 0)
);
CREATE INDEX inventory_levels_tenant ON inventory_levels (tenant_id, variant_id);

CREATE TABLE inventory_movements (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    variant_id     TEXT NOT NULL REFERENCES variants (id),
    kind           TEXT NOT NULL CHECK (kind IN ('received', 'sold', 'returned', 'adjusted', 'reserved', 'released')),
    on_hand_delta  BIGINT NOT NULL,
    reserved_delta BIGINT NOT NULL,
    reference      TEXT NOT NULL,
    note           TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX inventory_movements_variant ON inventory_movements (tenant_id, variant_id, id);
CREATE INDEX inventory_movements_reference ON inventory_movements (tenant_id, reference);

-- Customers of a store: guests (no password) or accounts.
CREATE TABLE customers (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL,
    password_hash TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, email)
);
CREATE INDEX customers_tenant ON customers (tenant_id, id);

CREATE TABLE customer_addresses (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    address     TEXT NOT NULL,
    is_default  BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX customer_addresses_customer ON customer_addresses (tenant_id, customer_id, id);

CREATE TABLE customer_sessions (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

-- Pricing rules.
CREATE TABLE discount_codes (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    code               TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('percentage', 'fixed_amount')),
    percent_bp         INTEGER NOT NULL DEFAULT 0 CHECK (percent_bp BETWEEN 0 AND 10000),
    amount             BIGINT NOT NULL DEFAULT 0 CHECK (amount >= 0),
    min_subtotal       BIGINT NOT NULL DEFAULT 0 CHECK (min_subtotal >= 0),
    starts_at          TIMESTAMPTZ NOT NULL,
    ends_at            TIMESTAMPTZ,
    usage_limit        INTEGER,
    per_customer_limit INTEGER,
    times_used         INTEGER NOT NULL DEFAULT 0,
    active             BOOLEAN NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, code),
    CHECK (usage_limit IS NULL OR times_used <= usage_limit)
);

CREATE TABLE discount_redemptions (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    discount_id TEXT NOT NULL REFERENCES discount_codes (id),
    order_id    TEXT NOT NULL,
    email       TEXT NOT NULL,
    customer_id TEXT,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX discount_redemptions_email ON discount_redemptions (tenant_id, discount_id, email);
CREATE INDEX discount_redemptions_order ON discount_redemptions (tenant_id, order_id);

CREATE TABLE shipping_zones (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- A country ships through at most one zone of a store.
CREATE TABLE shipping_zone_countries (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    zone_id   TEXT NOT NULL REFERENCES shipping_zones (id) ON DELETE CASCADE,
    country   TEXT NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (zone_id, country),
    UNIQUE (tenant_id, country)
);

CREATE TABLE shipping_rates (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    zone_id     TEXT NOT NULL REFERENCES shipping_zones (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    price       BIGINT NOT NULL CHECK (price >= 0),
    free_above  BIGINT CHECK (free_above >= 0),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX shipping_rates_zone ON shipping_rates (tenant_id, zone_id);

CREATE TABLE tax_rates (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    country    TEXT NOT NULL,
    region     TEXT NOT NULL,
    name       TEXT NOT NULL,
    rate_bp    INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, country, region)
);

-- Carts, addressed by an unguessable token of which only the hash is kept.
CREATE TABLE carts (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    token_hash       BYTEA NOT NULL UNIQUE,
    status           TEXT NOT NULL CHECK (status IN ('open', 'completed')),
    currency         TEXT NOT NULL,
    email            TEXT NOT NULL,
    customer_id      TEXT,
    shipping_address TEXT,
    shipping_rate_id TEXT,
    discount_code    TEXT NOT NULL,
    note             TEXT NOT NULL,
    order_id         TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX carts_tenant ON carts (tenant_id, id);

CREATE TABLE cart_lines (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    cart_id    TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    variant_id TEXT NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity > 0 AND quantity <= 10000),
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (cart_id, variant_id)
);

-- Orders. cart_id is unique: a cart becomes an order exactly once.
CREATE TABLE order_numbers (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants (id),
    last_number BIGINT NOT NULL
);

CREATE TABLE orders (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    number                 BIGINT, -- set at the end of checkout, see order.Place
    cart_id                TEXT UNIQUE,
    token_hash             BYTEA NOT NULL,
    status                 TEXT NOT NULL,
    payment_status         TEXT NOT NULL,
    currency               TEXT NOT NULL,
    email                  TEXT NOT NULL,
    customer_id            TEXT,
    -- whether the customer was signed in to their account when ordering:
    -- only such orders show in the account's history (a guest order's email
    -- proves nothing about who placed it)
    signed_in              BOOLEAN NOT NULL DEFAULT FALSE,
    shipping_address       TEXT NOT NULL,
    shipping_method        TEXT NOT NULL,
    discount_code          TEXT NOT NULL,
    prices_include_tax     BOOLEAN NOT NULL,
    subtotal               BIGINT NOT NULL,
    discount_total         BIGINT NOT NULL,
    shipping_total         BIGINT NOT NULL,
    tax_total              BIGINT NOT NULL,
    total                  BIGINT NOT NULL,
    refunded_total         BIGINT NOT NULL DEFAULT 0,
    payment_provider       TEXT NOT NULL,
    note                   TEXT NOT NULL,
    reservation_expires_at TIMESTAMPTZ,
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, number),
    CHECK (refunded_total >= 0 AND refunded_total <= total)
);
CREATE INDEX orders_tenant ON orders (tenant_id, id);
CREATE INDEX orders_tenant_status ON orders (tenant_id, status, id);
CREATE INDEX orders_tenant_email ON orders (tenant_id, email);
CREATE INDEX orders_tenant_customer ON orders (tenant_id, customer_id, id);

CREATE TABLE order_lines (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    order_id           TEXT NOT NULL REFERENCES orders (id),
    variant_id         TEXT NOT NULL,
    product_id         TEXT NOT NULL,
    title              TEXT NOT NULL,
    variant_title      TEXT NOT NULL,
    sku                TEXT NOT NULL,
    track_inventory    BOOLEAN NOT NULL,
    quantity           BIGINT NOT NULL CHECK (quantity > 0),
    unit_price         BIGINT NOT NULL,
    subtotal           BIGINT NOT NULL,
    discount           BIGINT NOT NULL,
    tax                BIGINT NOT NULL,
    total              BIGINT NOT NULL,
    fulfilled_quantity BIGINT NOT NULL DEFAULT 0,
    -- units returned to stock by refunds or cancellation: never more than sold
    restocked_quantity BIGINT NOT NULL DEFAULT 0,
    position           INTEGER NOT NULL,
    CHECK (fulfilled_quantity >= 0 AND fulfilled_quantity <= quantity),
    CHECK (restocked_quantity >= 0 AND restocked_quantity <= quantity)
);
CREATE INDEX order_lines_order ON order_lines (tenant_id, order_id, position);

CREATE TABLE order_events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    order_id   TEXT NOT NULL REFERENCES orders (id),
    kind       TEXT NOT NULL,
    message    TEXT NOT NULL,
    actor      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX order_events_order ON order_events (tenant_id, order_id, id);

CREATE TABLE fulfillments (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    order_id        TEXT NOT NULL REFERENCES orders (id),
    carrier         TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    lines           TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX fulfillments_order ON fulfillments (tenant_id, order_id);

CREATE TABLE payments (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    order_id      TEXT NOT NULL REFERENCES orders (id),
    kind          TEXT NOT NULL CHECK (kind IN ('charge', 'refund')),
    provider      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    amount        BIGINT NOT NULL CHECK (amount >= 0),
    currency      TEXT NOT NULL,
    provider_ref  TEXT NOT NULL,
    failure_code  TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX payments_order ON payments (tenant_id, order_id);

-- When unpaid orders' stock holds run out: a schedule, not tenant data (it
-- holds ids and times only), read across tenants by the expiry job, like
-- River's own job table. One row per held order, deleted when it is paid,
-- canceled or released.
CREATE TABLE reservation_expiries (
    order_id   TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX reservation_expiries_due ON reservation_expiries (expires_at);

-- The transactional outbox: every state change writes its event here in the
-- same transaction; webhooks and other consumers read it later.
CREATE TABLE outbox_events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    topic        TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);
CREATE INDEX outbox_events_tenant ON outbox_events (tenant_id, id);
CREATE INDEX outbox_events_unpublished ON outbox_events (published_at, id);

-- Full-text search over products (title, tags, SKUs, description).
CREATE INDEX products_search ON products USING GIN (to_tsvector('simple', search_document));

-- Row-level security on every tenant-owned table (see 0001).
ALTER TABLE products ENABLE ROW LEVEL SECURITY;
ALTER TABLE products FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON products
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE product_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE product_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON product_tags
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE variants ENABLE ROW LEVEL SECURITY;
ALTER TABLE variants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON variants
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE collections ENABLE ROW LEVEL SECURITY;
ALTER TABLE collections FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON collections
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE collection_products ENABLE ROW LEVEL SECURITY;
ALTER TABLE collection_products FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON collection_products
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE inventory_levels ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory_levels FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON inventory_levels
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE inventory_movements ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory_movements FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON inventory_movements
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customers
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE customer_addresses ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_addresses FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_addresses
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE customer_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_sessions
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE discount_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE discount_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON discount_codes
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE discount_redemptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE discount_redemptions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON discount_redemptions
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE shipping_zones ENABLE ROW LEVEL SECURITY;
ALTER TABLE shipping_zones FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON shipping_zones
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE shipping_zone_countries ENABLE ROW LEVEL SECURITY;
ALTER TABLE shipping_zone_countries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON shipping_zone_countries
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE shipping_rates ENABLE ROW LEVEL SECURITY;
ALTER TABLE shipping_rates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON shipping_rates
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE tax_rates ENABLE ROW LEVEL SECURITY;
ALTER TABLE tax_rates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tax_rates
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE carts ENABLE ROW LEVEL SECURITY;
ALTER TABLE carts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON carts
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE cart_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE cart_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON cart_lines
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE order_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_numbers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON order_numbers
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON orders
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE order_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON order_lines
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE order_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON order_events
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE fulfillments ENABLE ROW LEVEL SECURITY;
ALTER TABLE fulfillments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON fulfillments
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON payments
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE outbox_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_events
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

