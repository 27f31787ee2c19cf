-- Orders ever placed in a sale item; unlike sold, never given back. A node
-- that noted an item sold out, with the idempotency keys of its orders,
-- rereads the keys only when this has moved since: a sold-out item is
-- asked about every moment while buyers keep coming, and the keys are as
-- many as the orders.
ALTER TABLE flash_sale_items ADD COLUMN placed BIGINT NOT NULL DEFAULT 0;
UPDATE flash_sale_items SET placed = (SELECT COUNT(*) FROM flash_sale_orders o
    WHERE o.tenant_id = flash_sale_items.tenant_id AND o.sale_id = flash_sale_items.sale_id
      AND o.variant_id = flash_sale_items.variant_id);
