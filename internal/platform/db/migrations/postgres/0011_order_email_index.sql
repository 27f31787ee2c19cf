-- An index on a random key (an email, a customer) costs a page written per
-- order once the orders outgrow what one commit writes: in a flash sale of
-- guests this one was a seventh of the WAL. Only signed-in orders need it.
-- A guest order's customer is the one found or made by the order's email
-- (one customer per email in a store, and an email never changes), so the
-- guest orders of an email are its customer's, found through
-- orders_tenant_customer; a signed-in shopper may give another email than
-- the account's, and those orders are found here (see order.findOrders).
--
-- The new index is built before the old one is dropped: the build lets
-- orders be read (not written) meanwhile, and the drop's exclusive lock
-- lasts only until the migration commits. Waiting for a lock gives up
-- after 5 s rather than stall the store's checkouts behind it; the node
-- then does not start, and starting it again tries again (best outside a
-- sale).
SET LOCAL lock_timeout = '5s';
CREATE INDEX orders_signed_in_email ON orders (tenant_id, email) WHERE signed_in;
DROP INDEX orders_tenant_email;
