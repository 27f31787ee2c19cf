-- The rows written for every order (orders, their lines and events, outbox
-- rows, stock movements, a flash sale's keys and buyers' counts, guest
-- customers) no longer check their tenant_id against tenants. Each such
-- check locks the store's one tenants row FOR KEY SHARE; the transactions
-- of one busy store then share that lock, which PostgreSQL keeps as a
-- MultiXact, on every row they insert: flash sale batches placed 20-25 %
-- more orders a second without these checks (BENCHMARKS.md, 2026-11-26).
--
-- The tenant of these rows is still held: row-level security's WITH CHECK
-- refuses any row whose tenant_id is not the transaction's tenant, which
-- the stores set only for a tenant they have found, and tenants are never
-- deleted. Checks against parent rows (an order's lines against the order,
-- a movement against its variant) stay. Low-volume tables keep their
-- tenant check. SQLite keeps all of them: it has one writer and its checks
-- take no locks.
--
-- Each ALTER locks its table (and tenants) exclusively, for a moment once
-- it has the lock, but waiting for it would stall a store's checkouts
-- behind a long transaction: the migration gives up after 5 s instead, and
-- the node does not start, and starting it again tries again (best
-- outside a sale).
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_tenant_id_fkey;
ALTER TABLE order_lines DROP CONSTRAINT IF EXISTS order_lines_tenant_id_fkey;
ALTER TABLE order_events DROP CONSTRAINT IF EXISTS order_events_tenant_id_fkey;
ALTER TABLE outbox_events DROP CONSTRAINT IF EXISTS outbox_events_tenant_id_fkey;
ALTER TABLE inventory_movements DROP CONSTRAINT IF EXISTS inventory_movements_tenant_id_fkey;
ALTER TABLE flash_sale_orders DROP CONSTRAINT IF EXISTS flash_sale_orders_tenant_id_fkey;
ALTER TABLE flash_sale_buyers DROP CONSTRAINT IF EXISTS flash_sale_buyers_tenant_id_fkey;
ALTER TABLE customers DROP CONSTRAINT IF EXISTS customers_tenant_id_fkey;
