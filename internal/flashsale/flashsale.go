// Package flashsale runs flash sales: a window of time in which chosen
// variants sell at a sale price, each from its own allocation, with a limit
// per customer. This file holds the sales themselves (what a merchant sets
// up); buying in a sale builds on it.
package flashsale

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/catalog"
	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

// Sale states, derived from the clock: a sale is never "switched on".
const (
	Scheduled = "scheduled"
	Active    = "active"
	Ended     = "ended"
)

// Sale is a flash sale and its items.
type Sale struct {
	ID               string
	TenantID         string
	Title            string
	StartsAt         time.Time
	EndsAt           time.Time
	PerCustomerLimit int64
	AccountsOnly     bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Items            []*Item
}

// Status is the sale's state at now.
func (s *Sale) Status(now time.Time) string {
	switch {
	case now.Before(s.StartsAt):
		return Scheduled
	case now.Before(s.EndsAt):
		return Active
	default:
		return Ended
	}
}

// Item is one variant of a sale.
type Item struct {
	VariantID  string
	SalePrice  int64
	Allocation int64
	Sold       int64

	// shelf, for shoppers (Service.Public), is what the variant's own
	// stock still lets buyers take: its units not held by other orders,
	// 0 once it is off sale. Read only when shelved is set.
	shelf   int64
	shelved bool
}

// Remaining is how many units of the allocation are still for sale.
func (i *Item) Remaining() int64 { return i.Allocation - i.Sold }

// ForSale is what a shopper can still buy: the allocation's remaining,
// and, on a sale read for shoppers (Service.Public), no more than the
// variant's stock left, nothing once its product is off sale. A buy
// asks the database.
func (i *Item) ForSale() int64 {
	if i.shelved {
		return min(i.Remaining(), i.shelf)
	}
	return i.Remaining()
}

// Service manages flash sales and buying in them.
type Service struct {
	DB      *db.DB
	Tenants Tenants
	Orders  *order.Service
	Burst   Burst
	// Nodes says how many nodes serve the database, this one included
	// (cluster.Presence.Nodes): each admits its share of a sale's buys in
	// flight. Nil means one.
	Nodes func() int
	// Metrics, if set, is told of the batches placed.
	Metrics *Metrics

	burst burstState
}

// Tenants gives a store's settings.
type Tenants interface {
	Cached(ctx context.Context, id string) (*tenant.Tenant, error)
}

// NewSale is what a merchant sets up.
type NewSale struct {
	Title            string
	StartsAt         time.Time
	EndsAt           time.Time
	PerCustomerLimit int64 // 0 means 1
	AccountsOnly     bool
	Items            []NewItem
}

// NewItem is one variant of a new sale.
type NewItem struct {
	VariantID  string
	SalePrice  int64
	Allocation int64
}

// Limits of a sale.
const (
	maxItems      = 50
	maxAllocation = 10_000_000
	maxTitle      = 200
)

// Create sets up a sale. Every variant must be the store's, at most once,
// with a sale price not above its regular price. Errors: EINVALID.
func (s *Service) Create(ctx context.Context, tenantID string, in NewSale) (*Sale, error) {
	in.Title = strings.TrimSpace(in.Title)
	// PostgreSQL keeps microseconds: compare what will be stored.
	in.StartsAt, in.EndsAt = in.StartsAt.Truncate(time.Microsecond), in.EndsAt.Truncate(time.Microsecond)
	if in.PerCustomerLimit == 0 {
		in.PerCustomerLimit = 1
	}
	var fe []nimbus.FieldError
	bad := func(field, key, format string, args ...any) {
		fe = append(fe, nimbus.Fieldf(field, key, format, args...))
	}
	if in.Title == "" || utf8.RuneCountInString(in.Title) > maxTitle {
		bad("title", "field.length", "must be 1 to %d characters", maxTitle)
	}
	if in.StartsAt.IsZero() {
		bad("starts_at", "field.required", "is required")
	}
	if in.EndsAt.IsZero() {
		bad("ends_at", "field.required", "is required")
	} else if !in.StartsAt.IsZero() && !in.EndsAt.After(in.StartsAt) {
		bad("ends_at", "field.after_start", "must be after starts_at")
	}
	if in.PerCustomerLimit < 1 || in.PerCustomerLimit > maxAllocation {
		bad("per_customer_limit", "field.between", "must be between %d and %d", 1, maxAllocation)
	}
	if len(in.Items) == 0 || len(in.Items) > maxItems {
		bad("items", "field.items", "must list 1 to %d variants", maxItems)
	}
	seen := map[string]bool{}
	for i, it := range in.Items {
		field := fmt.Sprintf("items[%d]", i)
		if seen[it.VariantID] {
			bad(field+".variant_id", "field.twice", "is listed twice")
		}
		seen[it.VariantID] = true
		if it.SalePrice < 0 {
			bad(field+".sale_price", "field.negative", "must not be negative")
		}
		if it.Allocation < 1 || it.Allocation > maxAllocation {
			bad(field+".allocation", "field.between", "must be between %d and %d", 1, maxAllocation)
		}
	}
	if len(fe) > 0 {
		return nil, nimbus.Invalid(fe...)
	}

	t, err := s.Tenants.Cached(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	currency := t.Currency // for the regular price, in a message
	sale := &Sale{ID: nimbus.NewID(nimbus.PrefixFlashSale), TenantID: tenantID, Title: in.Title, StartsAt: in.StartsAt.UTC(),
		EndsAt: in.EndsAt.UTC(), PerCustomerLimit: in.PerCustomerLimit, AccountsOnly: in.AccountsOnly}
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		if !sale.EndsAt.After(tx.Now) {
			return nimbus.Invalid(nimbus.Fieldf("ends_at", "field.past", "is already past"))
		}
		sale.CreatedAt, sale.UpdatedAt = tx.Now, tx.Now
		ids := make([]string, len(in.Items))
		for i, it := range in.Items {
			ids[i] = it.VariantID
		}
		variants, _, err := catalog.LookupVariants(ctx, tx, ids) // another store's are absent
		if err != nil {
			return err
		}
		var fe []nimbus.FieldError
		for i, it := range in.Items {
			field := fmt.Sprintf("items[%d]", i)
			v := variants[it.VariantID]
			switch {
			case v == nil:
				fe = append(fe, nimbus.Fieldf(field+".variant_id", "field.not_variant", "is not a variant of this store"))
				continue
			case it.SalePrice > v.Price:
				fe = append(fe, nimbus.FieldError{Field: field + ".sale_price", Message: fmt.Sprintf("must not be above the regular price (%d)", v.Price),
					Key: "field.above_price", Args: []any{nimbus.FormatMinor(v.Price, currency)}})
			}
			sale.Items = append(sale.Items, &Item{VariantID: it.VariantID, SalePrice: it.SalePrice, Allocation: it.Allocation})
		}
		if len(fe) > 0 {
			return nimbus.Invalid(fe...)
		}
		if err := notInAnotherSale(ctx, tx, sale); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO flash_sales (id, tenant_id, title, starts_at, ends_at, per_customer_limit, accounts_only,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, sale.ID, tx.TenantID(), sale.Title, sale.StartsAt, sale.EndsAt,
			sale.PerCustomerLimit, sale.AccountsOnly, sale.CreatedAt, sale.UpdatedAt); err != nil {
			return fmt.Errorf("insert flash sale: %w", err)
		}
		args := make([]any, 0, 6*len(sale.Items))
		for i, it := range sale.Items {
			args = append(args, tx.TenantID(), sale.ID, it.VariantID, i, it.SalePrice, it.Allocation)
		}
		if _, err := tx.ExecRows(ctx, `INSERT INTO flash_sale_items (tenant_id, sale_id, variant_id, position, sale_price, allocation, sold)`,
			"(?, ?, ?, ?, ?, ?, 0)", "", args); err != nil {
			return fmt.Errorf("insert flash sale items: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sale, nil
}

// notInAnotherSale fails (EINVALID) if a variant of a sale is in
// another sale for part of its window, as it runs from now on: two would
// each give a customer its limit and offer their allocations together (a
// console form sent twice made two). The variants' rows are locked first,
// so that two sales set up at once cannot both pass. Item i's error is on
// items[i].
func notInAnotherSale(ctx context.Context, tx *db.TenantTx, sale *Sale) error {
	args := []any{tx.TenantID()}
	for _, it := range sale.Items {
		args = append(args, it.VariantID)
	}
	in := `(` + db.Placeholders(len(sale.Items)) + `)`
	if tx.Dialect() == db.Postgres { // SQLite's write transactions run one at a time
		// NO KEY: the rows that refer to a variant (order lines, stock
		// moves) still go in meanwhile; a second sale's check waits.
		if _, err := tx.Exec(ctx, `SELECT id FROM variants WHERE tenant_id = ? AND id IN `+in+` FOR NO KEY UPDATE`, args...); err != nil {
			return fmt.Errorf("lock variants: %w", err)
		}
	}
	from := sale.StartsAt
	if from.Before(tx.Now) {
		from = tx.Now // a sale ended before now, or ending now, is no longer in the way
	}
	rows, err := tx.Query(ctx, `SELECT i.variant_id, s.id FROM flash_sale_items i JOIN flash_sales s ON s.tenant_id = i.tenant_id AND s.id = i.sale_id
		WHERE i.tenant_id = ? AND i.variant_id IN `+in+` AND s.starts_at < ? AND s.ends_at > ? AND s.id <> ?`, append(args, sale.EndsAt, from, sale.ID)...)
	if err != nil {
		return fmt.Errorf("find overlapping sales: %w", err)
	}
	defer rows.Close()
	taken := map[string]string{}
	for rows.Next() {
		var variantID, saleID string
		if err := rows.Scan(&variantID, &saleID); err != nil {
			return err
		}
		taken[variantID] = saleID
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var fe []nimbus.FieldError
	for i, it := range sale.Items {
		if other, ok := taken[it.VariantID]; ok {
			fe = append(fe, nimbus.Fieldf(fmt.Sprintf("items[%d].variant_id", i), "field.other_sale", "is in another sale at that time (%s)", other))
		}
	}
	if len(fe) > 0 {
		return nimbus.Invalid(fe...)
	}
	return nil
}

// End closes a sale now (or leaves it as it is when it has already ended):
// a scheduled sale then never opens. Errors: ENOTFOUND.
func (s *Service) End(ctx context.Context, tenantID, id string) (*Sale, error) {
	var sale *Sale
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		var err error
		if sale, err = findSale(ctx, tx, id); err != nil {
			return err
		}
		if sale.Status(tx.Now) == Ended {
			return nil
		}
		sale.EndsAt, sale.UpdatedAt = tx.Now, tx.Now // tx.Now is already to the microsecond
		if !sale.StartsAt.Before(tx.Now) {
			sale.StartsAt = tx.Now.Add(-time.Microsecond) // keeps ends_at > starts_at
		}
		return writeTimes(ctx, tx, sale)
	})
	if err != nil {
		return nil, err
	}
	return sale, nil
}

// writeTimes stores a sale's window and when it was changed.
func writeTimes(ctx context.Context, tx *db.TenantTx, sale *Sale) error {
	_, err := tx.Exec(ctx, `UPDATE flash_sales SET starts_at = ?, ends_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		sale.StartsAt, sale.EndsAt, sale.UpdatedAt, tx.TenantID(), sale.ID)
	return err
}

// Reschedule changes when a sale runs; a zero time leaves its own as it
// is. A scheduled sale may move, to start no earlier than now; a running
// one keeps its start and may end later or sooner, though not before now
// (End ends it now); an ended one stays ended. Its variants must be in no
// other sale in the new window. Errors: ENOTFOUND, EINVALID, ECONFLICT (an
// ended sale).
func (s *Service) Reschedule(ctx context.Context, tenantID, id string, startsAt, endsAt time.Time) (*Sale, error) {
	if startsAt.IsZero() && endsAt.IsZero() {
		return nil, nimbus.Invalid(nimbus.Fieldf("ends_at", "field.required", "is required"))
	}
	// PostgreSQL keeps microseconds: compare what will be stored.
	startsAt, endsAt = startsAt.Truncate(time.Microsecond).UTC(), endsAt.Truncate(time.Microsecond).UTC()
	var sale *Sale
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		if tx.Dialect() == db.Postgres { // SQLite's write transactions run one at a time
			// The sale's row is locked before it is read: an End committed
			// meanwhile would otherwise be overwritten by the times read
			// before it, reopening the ended sale. NO KEY, as the UPDATE.
			if _, err := tx.Exec(ctx, `SELECT id FROM flash_sales WHERE tenant_id = ? AND id = ? FOR NO KEY UPDATE`, tx.TenantID(), id); err != nil {
				return fmt.Errorf("lock flash sale: %w", err)
			}
		}
		var err error
		if sale, err = findSale(ctx, tx, id); err != nil {
			return err
		}
		var fe []nimbus.FieldError
		switch sale.Status(tx.Now) {
		case Ended:
			return nimbus.Errorkf(nimbus.ECONFLICT, "error.sale_ended_change", "the sale has ended; set up a new one")
		case Active:
			if !startsAt.IsZero() && !startsAt.Equal(sale.StartsAt) {
				fe = append(fe, nimbus.Fieldf("starts_at", "field.sale_started", "cannot change once the sale has started"))
			}
		default:
			if !startsAt.IsZero() && startsAt.Before(tx.Now) {
				fe = append(fe, nimbus.Fieldf("starts_at", "field.past", "is already past"))
			}
		}
		if !startsAt.IsZero() {
			sale.StartsAt = startsAt
		}
		if !endsAt.IsZero() {
			sale.EndsAt = endsAt
		}
		switch {
		case !sale.EndsAt.After(sale.StartsAt):
			fe = append(fe, nimbus.Fieldf("ends_at", "field.after_start", "must be after starts_at"))
		case !sale.EndsAt.After(tx.Now):
			fe = append(fe, nimbus.Fieldf("ends_at", "field.past", "is already past"))
		}
		if len(fe) > 0 {
			return nimbus.Invalid(fe...)
		}
		if err := notInAnotherSale(ctx, tx, sale); err != nil {
			return err
		}
		sale.UpdatedAt = tx.Now
		return writeTimes(ctx, tx, sale)
	})
	if err != nil {
		return nil, err
	}
	return sale, nil
}

// Find returns a sale with its items. Errors: ENOTFOUND.
func (s *Service) Find(ctx context.Context, tenantID, id string) (*Sale, error) {
	var sale *Sale
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		var err error
		sale, err = findSale(ctx, tx, id)
		return err
	})
	return sale, err
}

// FindAll lists sales in id order (newest last), up to limit+1, with items.
func (s *Service) FindAll(ctx context.Context, tenantID, after string, limit int) ([]*Sale, error) {
	var sales []*Sale
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		rows, err := tx.Query(ctx, `SELECT `+saleColumns+` FROM flash_sales WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`,
			tx.TenantID(), after, limit+1)
		if err != nil {
			return err
		}
		sales = []*Sale{}
		for rows.Next() {
			sale, err := scanSale(rows)
			if err != nil {
				rows.Close()
				return err
			}
			sales = append(sales, sale)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return attachItems(ctx, tx, sales)
	})
	return sales, err
}

// attachItems loads the items of sales in one query.
func attachItems(ctx context.Context, tx *db.TenantTx, sales []*Sale) error {
	if len(sales) == 0 {
		return nil
	}
	byID := map[string]*Sale{}
	args := []any{tx.TenantID()}
	for _, s := range sales {
		byID[s.ID] = s
		s.Items = []*Item{}
		args = append(args, s.ID)
	}
	rows, err := tx.Query(ctx, `SELECT sale_id, variant_id, sale_price, allocation, sold FROM flash_sale_items
		WHERE tenant_id = ? AND sale_id IN (`+db.Placeholders(len(sales))+`) ORDER BY sale_id, position`, args...)
	if err != nil {
		return fmt.Errorf("find flash sale items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var saleID string
		var it Item
		if err := rows.Scan(&saleID, &it.VariantID, &it.SalePrice, &it.Allocation, &it.Sold); err != nil {
			return err
		}
		byID[saleID].Items = append(byID[saleID].Items, &it)
	}
	return rows.Err()
}

const saleColumns = `id, tenant_id, title, starts_at, ends_at, per_customer_limit, accounts_only, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanSale(row scanner) (*Sale, error) {
	var s Sale
	err := row.Scan(&s.ID, &s.TenantID, &s.Title, &s.StartsAt, &s.EndsAt, &s.PerCustomerLimit, &s.AccountsOnly, &s.CreatedAt, &s.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nimbus.Errorkf(nimbus.ENOTFOUND, "error.sale_not_found", "flash sale not found")
	}
	if err != nil {
		return nil, fmt.Errorf("scan flash sale: %w", err)
	}
	return &s, nil
}

func findSale(ctx context.Context, tx *db.TenantTx, id string) (*Sale, error) {
	sale, err := scanSale(tx.QueryRow(ctx, `SELECT `+saleColumns+` FROM flash_sales WHERE tenant_id = ? AND id = ?`, tx.TenantID(), id))
	if err != nil {
		return nil, err
	}
	if err := attachItems(ctx, tx, []*Sale{sale}); err != nil {
		return nil, err
	}
	return sale, nil
}
