-- Flash sales: a window of time in which some variants sell at a sale price,
-- each from its own allocation. sold counts the units taken by orders of the
-- sale (pending or paid); the CHECK makes overselling impossible whatever
-- the code above does.
CREATE TABLE flash_sales (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    title              TEXT NOT NULL,
    starts_at          TIMESTAMPTZ NOT NULL,
    ends_at            TIMESTAMPTZ NOT NULL,
    per_customer_limit INTEGER NOT NULL CHECK (per_customer_limit >= 1),
    accounts_only      BOOLEAN NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX flash_sales_tenant_id ON flash_sales (tenant_id, id);

CREATE TABLE flash_sale_items (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    sale_id    TEXT NOT NULL REFERENCES flash_sales (id) ON DELETE CASCADE,
    variant_id TEXT NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    sale_price BIGINT NOT NULL CHECK (sale_price >= 0),
    allocation INTEGER NOT NULL CHECK (allocation >= 1),
    sold       INTEGER NOT NULL DEFAULT 0 CHECK (sold >= 0 AND sold <= allocation),
    PRIMARY KEY (tenant_id, sale_id, variant_id)
);

ALTER TABLE flash_sales ENABLE ROW LEVEL SECURITY;
ALTER TABLE flash_sales FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON flash_sales
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));

ALTER TABLE flash_sale_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE flash_sale_items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON flash_sale_items
    USING (tenant_id = current_setting('nimbus.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('nimbus.tenant_id', true));
