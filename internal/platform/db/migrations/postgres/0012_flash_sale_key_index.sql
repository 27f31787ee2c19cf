-- An order's idempotency key hash is of its sale's id, the buyer's scope
-- and the key; the order is written only for a sale found in its own
-- store, so a hash names one sale of one store, and the hash alone is
-- unique: an index of it alone is less than half the size of one led by
-- the store and the sale. Each order writes it at a random place, and in
-- a flash sale it was a quarter of the WAL, the most of any table or
-- index. Reading a sale item's keys (a sold-out note) gets an index of its
-- own, which orders only append to. It is led by the variant (an id unique
-- across stores), not by the store and the sale: a lookup of keys in a
-- sale would take such an index over the keys' own where the planner has
-- no statistics yet (PostgreSQL's generic plan on a new table read the
-- sale's every key for each one looked up).
--
-- The new indexes are built before the old one is dropped (see 0011).
SET LOCAL lock_timeout = '5s';
CREATE UNIQUE INDEX flash_sale_orders_key_hash ON flash_sale_orders (key_hash);
CREATE INDEX flash_sale_orders_item ON flash_sale_orders (variant_id, sale_id);
DROP INDEX flash_sale_orders_key;
