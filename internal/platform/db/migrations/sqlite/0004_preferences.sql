-- A staff member's language for the console, kept with the account so that
-- it follows them to every browser. Empty means "as the browser asks".
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
