package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

var errProductNotFound = nimbus.Errorkf(nimbus.ENOTFOUND, "error.product_not_found", "product not found")
var errVariantNotFound = nimbus.Errorkf(nimbus.ENOTFOUND, "error.variant_not_found", "variant not found")
var errCollectionNotFound = nimbus.Errorkf(nimbus.ENOTFOUND, "error.collection_not_found", "collection not found")

const productColumns = `id, tenant_id, handle, title, description, status, tags, images, seo_title, seo_description, options, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanProduct(row scanner) (*Product, error) {
	var p Product
	var tags, images, options string
	err := row.Scan(&p.ID, &p.TenantID, &p.Handle, &p.Title, &p.Description, &p.Status, &tags, &images,
		&p.SEOTitle, &p.SEODescription, &options, &p.CreatedAt, &p.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errProductNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("scan product: %w", err)
	}
	if err := errors.Join(json.Unmarshal([]byte(tags), &p.Tags), json.Unmarshal([]byte(images), &p.Images),
		json.Unmarshal([]byte(options), &p.Options)); err != nil {
		return nil, fmt.Errorf("decode product %s: %w", p.ID, err)
	}
	return &p, nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only slices of strings and options reach here
	}
	return string(b)
}

func insertProduct(ctx context.Context, tx *db.TenantTx, p *Product) error {
	p.TenantID = tx.TenantID()
	p.CreatedAt, p.UpdatedAt = tx.Now, tx.Now
	_, err := tx.Exec(ctx, `INSERT INTO products (`+productColumns+`, search_document)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.TenantID, p.Handle, p.Title, p.Description, p.Status, mustJSON(p.Tags), mustJSON(p.Images),
		p.SEOTitle, p.SEODescription, mustJSON(p.Options), p.CreatedAt, p.UpdatedAt, searchDocument(p))
	if db.IsUniqueViolation(err) {
		return errHandleTaken
	}
	if err != nil {
		return fmt.Errorf("insert product: %w", err)
	}
	return writeTags(ctx, tx, p)
}

var errHandleTaken = nimbus.Invalid(nimbus.Fieldf("handle", "field.product_handle_taken", "is already used by another product"))

func updateProductRow(ctx context.Context, tx *db.TenantTx, p *Product) error {
	p.UpdatedAt = tx.Now
	_, err := tx.Exec(ctx, `UPDATE products SET handle = ?, title = ?, description = ?, status = ?, tags = ?, images = ?,
		seo_title = ?, seo_description = ?, options = ?, search_document = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`,
		p.Handle, p.Title, p.Description, p.Status, mustJSON(p.Tags), mustJSON(p.Images), p.SEOTitle, p.SEODescription,
		mustJSON(p.Options), searchDocument(p), p.UpdatedAt, tx.TenantID(), p.ID)
	if db.IsUniqueViolation(err) {
		return errHandleTaken
	}
	if err != nil {
		return fmt.Errorf("update product: %w", err)
	}
	return writeTags(ctx, tx, p)
}

// writeTags replaces the product's rows in product_tags and its search entry.
func writeTags(ctx context.Context, tx *db.TenantTx, p *Product) error {
	if _, err := tx.Exec(ctx, `DELETE FROM product_tags WHERE tenant_id = ? AND product_id = ?`, tx.TenantID(), p.ID); err != nil {
		return fmt.Errorf("clear tags: %w", err)
	}
	for _, tag := range p.Tags {
		if _, err := tx.Exec(ctx, `INSERT INTO product_tags (tenant_id, product_id, tag) VALUES (?, ?, ?)`, tx.TenantID(), p.ID, tag); err != nil {
			return fmt.Errorf("insert tag: %w", err)
		}
	}
	if tx.Dialect() == db.SQLite {
		// PostgreSQL indexes products.search_document itself (a GIN index);
		// SQLite keeps a separate FTS5 table in step.
		if _, err := tx.Exec(ctx, `DELETE FROM product_search WHERE tenant_id = ? AND product_id = ?`, tx.TenantID(), p.ID); err != nil {
			return fmt.Errorf("clear search entry: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO product_search (document, product_id, tenant_id) VALUES (?, ?, ?)`,
			searchDocument(p), p.ID, tx.TenantID()); err != nil {
			return fmt.Errorf("index product: %w", err)
		}
	}
	return nil
}

const variantColumns = `id, tenant_id, product_id, sku, title, option1, option2, option3, price, compare_at_price, weight_grams, track_inventory, position, created_at, updated_at`

func scanVariant(row scanner) (*Variant, error) {
	var v Variant
	var o [3]sql.NullString
	var compareAt sql.NullInt64
	err := row.Scan(&v.ID, &v.TenantID, &v.ProductID, &v.SKU, &v.Title, &o[0], &o[1], &o[2], &v.Price, &compareAt,
		&v.WeightGrams, &v.TrackInventory, &v.Position, &v.CreatedAt, &v.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errVariantNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("scan variant: %w", err)
	}
	for _, s := range o {
		if s.Valid {
			v.Options = append(v.Options, s.String)
		}
	}
	if compareAt.Valid {
		v.CompareAtPrice = &compareAt.Int64
	}
	return &v, nil
}

func optionArgs(opts []string) [3]any {
	var a [3]any
	for i, o := range opts {
		a[i] = o
	}
	return a
}

func insertVariant(ctx context.Context, tx *db.TenantTx, v *Variant) error {
	v.TenantID = tx.TenantID()
	v.CreatedAt, v.UpdatedAt = tx.Now, tx.Now
	o := optionArgs(v.Options)
	_, err := tx.Exec(ctx, `INSERT INTO variants (`+variantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.TenantID, v.ProductID, v.SKU, v.Title, o[0], o[1], o[2], v.Price, v.CompareAtPrice, v.WeightGrams,
		v.TrackInventory, v.Position, v.CreatedAt, v.UpdatedAt)
	if db.IsUniqueViolation(err) {
		return nimbus.Invalid(nimbus.Fieldf("sku", "field.sku_taken", "SKU %s is already used in this store", v.SKU))
	}
	if err != nil {
		return fmt.Errorf("insert variant: %w", err)
	}
	return nil
}

func updateVariantRow(ctx context.Context, tx *db.TenantTx, v *Variant) error {
	v.UpdatedAt = tx.Now
	_, err := tx.Exec(ctx, `UPDATE variants SET sku = ?, price = ?, compare_at_price = ?, weight_grams = ?, track_inventory = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, v.SKU, v.Price, v.CompareAtPrice, v.WeightGrams, v.TrackInventory, v.UpdatedAt, tx.TenantID(), v.ID)
	if db.IsUniqueViolation(err) {
		return nimbus.Invalid(nimbus.Fieldf("sku", "field.sku_taken", "SKU %s is already used in this store", v.SKU))
	}
	if err != nil {
		return fmt.Errorf("update variant: %w", err)
	}
	return nil
}

func findProductByID(ctx context.Context, tx *db.TenantTx, id string) (*Product, error) {
	p, err := scanProduct(tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE tenant_id = ? AND id = ?`, tx.TenantID(), id))
	if err != nil {
		return nil, err
	}
	return p, attachVariants(ctx, tx, []*Product{p})
}

func findProductByHandle(ctx context.Context, tx *db.TenantTx, handle string) (*Product, error) {
	p, err := scanProduct(tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE tenant_id = ? AND handle = ?`, tx.TenantID(), handle))
	if err != nil {
		return nil, err
	}
	return p, attachVariants(ctx, tx, []*Product{p})
}

func findVariantByID(ctx context.Context, tx *db.TenantTx, id string) (*Variant, error) {
	return scanVariant(tx.QueryRow(ctx, `SELECT `+variantColumns+` FROM variants WHERE tenant_id = ? AND id = ?`, tx.TenantID(), id))
}

func findVariantBySKU(ctx context.Context, tx *db.TenantTx, sku string) (*Variant, error) {
	return scanVariant(tx.QueryRow(ctx, `SELECT `+variantColumns+` FROM variants WHERE tenant_id = ? AND sku = ?`, tx.TenantID(), sku))
}

// attachVariants loads the variants of products in one query.
func attachVariants(ctx context.Context, tx *db.TenantTx, products []*Product) error {
	if len(products) == 0 {
		return nil
	}
	byID := map[string]*Product{}
	args := []any{tx.TenantID()}
	for _, p := range products {
		byID[p.ID] = p
		p.Variants = []*Variant{}
		args = append(args, p.ID)
	}
	rows, err := tx.Query(ctx, `SELECT `+variantColumns+` FROM variants WHERE tenant_id = ? AND product_id IN (`+
		db.Placeholders(len(products))+`) ORDER BY product_id, position`, args...)
	if err != nil {
		return fmt.Errorf("find variants: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanVariant(rows)
		if err != nil {
			return err
		}
		byID[v.ProductID].Variants = append(byID[v.ProductID].Variants, v)
	}
	return rows.Err()
}

// FindVariants returns the variants with the given ids and their products,
// for pricing carts. Unknown ids (including other tenants') are left out.
func findVariantsWithProducts(ctx context.Context, tx *db.TenantTx, ids []string) (map[string]*Variant, map[string]*Product, error) {
	variants, products := map[string]*Variant{}, map[string]*Product{}
	if len(ids) == 0 {
		return variants, products, nil
	}
	args := []any{tx.TenantID()}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := tx.Query(ctx, `SELECT `+variantColumns+` FROM variants WHERE tenant_id = ? AND id IN (`+db.Placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("find variants: %w", err)
	}
	var productIDs []any
	for rows.Next() {
		v, err := scanVariant(rows)
		if err != nil {
			rows.Close()
			return nil, nil, err
		}
		variants[v.ID] = v
		productIDs = append(productIDs, v.ProductID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(productIDs) == 0 {
		return variants, products, nil
	}
	rows, err = tx.Query(ctx, `SELECT `+productColumns+` FROM products WHERE tenant_id = ? AND id IN (`+
		db.Placeholders(len(productIDs))+`)`, append([]any{tx.TenantID()}, productIDs...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("find products: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, nil, err
		}
		products[p.ID] = p
	}
	return variants, products, rows.Err()
}

func findProducts(ctx context.Context, tx *db.TenantTx, f ProductFilter) ([]*Product, error) {
	where, args := []string{"p.tenant_id = ?"}, []any{tx.TenantID()}
	if f.Status != nil {
		where, args = append(where, "p.status = ?"), append(args, *f.Status)
	}
	if f.Tag != nil {
		where = append(where, "EXISTS (SELECT 1 FROM product_tags t WHERE t.tenant_id = p.tenant_id AND t.product_id = p.id AND t.tag = ?)")
		args = append(args, *f.Tag)
	}
	if f.CollectionID != nil {
		where = append(where, "EXISTS (SELECT 1 FROM collection_products c WHERE c.tenant_id = p.tenant_id AND c.product_id = p.id AND c.collection_id = ?)")
		args = append(args, *f.CollectionID)
	}
	if f.Query != "" {
		w, a := searchCondition(tx.Dialect(), tx.TenantID(), f.Query)
		if w == "" {
			return []*Product{}, nil // nothing searchable in the query
		}
		where, args = append(where, w), append(args, a...)
	}
	if f.After != "" {
		where, args = append(where, "p.id > ?"), append(args, f.After)
	}
	args = append(args, f.Limit)
	rows, err := tx.Query(ctx, `SELECT `+prefixed("p.", productColumns)+` FROM products p WHERE `+strings.Join(where, " AND ")+
		` ORDER BY p.id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("find products: %w", err)
	}
	products := []*Product{}
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		products = append(products, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return products, attachVariants(ctx, tx, products)
}

func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ", ")
	for i, c := range cols {
		cols[i] = prefix + c
	}
	return strings.Join(cols, ", ")
}

// searchTerms splits a query into at most eight lower-case words of letters
// and digits; everything else separates words, so no search syntax of
// either engine can be injected.
func searchTerms(q string) []string {
	fields := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(fields) > 8 {
		fields = fields[:8]
	}
	return fields
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// searchCondition is the one dialect seam of search: every word must match
// as a prefix, through SQLite's FTS5 table or PostgreSQL's full-text index.
// Chinese has no spaces between words, which neither tokenizer splits, so
// words with Han characters match as substrings instead.
func searchCondition(dialect db.Dialect, tenantID, q string) (string, []any) {
	var fts, conds []string
	var args []any
	for _, t := range searchTerms(q) {
		if hasHan(t) {
			conds = append(conds, "p.search_document LIKE ?")
			args = append(args, "%"+t+"%")
			continue
		}
		fts = append(fts, t)
	}
	if len(fts) > 0 {
		if dialect == db.SQLite {
			parts := make([]string, len(fts))
			for i, t := range fts {
				parts[i] = `"` + t + `"*`
			}
			conds = append(conds, "p.id IN (SELECT product_id FROM product_search WHERE product_search MATCH ? AND tenant_id = ?)")
			args = append(args, strings.Join(parts, " AND "), tenantID)
		} else {
			parts := make([]string, len(fts))
			for i, t := range fts {
				parts[i] = t + ":*"
			}
			conds = append(conds, "to_tsvector('simple', p.search_document) @@ to_tsquery('simple', ?)")
			args = append(args, strings.Join(parts, " & "))
		}
	}
	return strings.Join(conds, " AND "), args
}

const collectionColumns = `id, tenant_id, handle, title, description, created_at, updated_at`

func scanCollection(row scanner) (*Collection, error) {
	var c Collection
	err := row.Scan(&c.ID, &c.TenantID, &c.Handle, &c.Title, &c.Description, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errCollectionNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("scan collection: %w", err)
	}
	return &c, nil
}

func attachProductIDs(ctx context.Context, tx *db.TenantTx, c *Collection) error {
	rows, err := tx.Query(ctx, `SELECT product_id FROM collection_products WHERE tenant_id = ? AND collection_id = ? ORDER BY position, product_id`,
		tx.TenantID(), c.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	c.ProductIDs = []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		c.ProductIDs = append(c.ProductIDs, id)
	}
	return rows.Err()
}

func findCollection(ctx context.Context, tx *db.TenantTx, column, value string) (*Collection, error) {
	c, err := scanCollection(tx.QueryRow(ctx, `SELECT `+collectionColumns+` FROM collections WHERE tenant_id = ? AND `+column+` = ?`,
		tx.TenantID(), value))
	if err != nil {
		return nil, err
	}
	return c, attachProductIDs(ctx, tx, c)
}

func findCollections(ctx context.Context, tx *db.TenantTx, query, after string, limit int) ([]*Collection, error) {
	where, args := "tenant_id = ?", []any{tx.TenantID()}
	if q := strings.ToLower(strings.TrimSpace(query)); q != "" {
		where, args = where+" AND LOWER(title) LIKE ?", append(args, "%"+q+"%")
	}
	if after != "" {
		where, args = where+" AND id > ?", append(args, after)
	}
	rows, err := tx.Query(ctx, `SELECT `+collectionColumns+` FROM collections WHERE `+where+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("find collections: %w", err)
	}
	cs := []*Collection{}
	for rows.Next() {
		c, err := scanCollection(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range cs {
		if err := attachProductIDs(ctx, tx, c); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

func writeCollectionProducts(ctx context.Context, tx *db.TenantTx, c *Collection) error {
	if _, err := tx.Exec(ctx, `DELETE FROM collection_products WHERE tenant_id = ? AND collection_id = ?`, tx.TenantID(), c.ID); err != nil {
		return err
	}
	for i, pid := range c.ProductIDs {
		// The product must be this tenant's: the lookup is scoped.
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM products WHERE tenant_id = ? AND id = ?`, tx.TenantID(), pid).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nimbus.Invalid(nimbus.Fieldf("product_ids", "field.product_not_found", "product %s not found", pid))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO collection_products (tenant_id, collection_id, product_id, position) VALUES (?, ?, ?, ?)`,
			tx.TenantID(), c.ID, pid, i); err != nil {
			return fmt.Errorf("add product to collection: %w", err)
		}
	}
	return nil
}
