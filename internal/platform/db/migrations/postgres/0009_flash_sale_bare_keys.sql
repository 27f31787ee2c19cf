-- SHA-256 of the sale and the buyer's Idempotency-Key alone, without the
-- buyer's scope (which for a guest is the request's body). Once a sale is
-- sold out, a node answers a buy "sold out" from its path and this header
-- before reading the body, unless the key is one of these (a retry, which
-- must still find its order). NULL for orders placed before this column:
-- an item with any such order is answered after the body, as before.
ALTER TABLE flash_sale_orders ADD COLUMN bare_key_hash BYTEA;
