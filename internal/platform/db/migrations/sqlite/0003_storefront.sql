-- Storefront appearance and custom domains.
ALTER TABLE tenants ADD COLUMN theme_color TEXT NOT NULL DEFAULT '#1f5f4a';
ALTER TABLE tenants ADD COLUMN logo_url TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN layout TEXT NOT NULL DEFAULT 'grid';
-- A store's own host name (shop.example.com); requests for it show the store.
ALTER TABLE tenants ADD COLUMN domain TEXT;
CREATE UNIQUE INDEX tenants_domain ON tenants (domain);
