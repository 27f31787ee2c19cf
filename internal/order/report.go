package order

import (
	"context"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// DaySales is what a store sold on one day of its own calendar.
type DaySales struct {
	Day    time.Time // midnight in the store's time zone
	Orders int64
	Sales  int64 // totals of paid orders, less refunds
}

// TopProduct is a product by units sold.
type TopProduct struct {
	ProductID string
	Title     string
	Units     int64
	Sales     int64
}

// Report is a store's recent sales, for the console's dashboard.
type Report struct {
	Days []DaySales // the last 7 days, oldest first; the last is today
	Top  []TopProduct
}

// counted statuses: orders that were paid (and not canceled).
var soldStatuses = []any{StatusPaid, StatusPartiallyFulfilled, StatusFulfilled, StatusCompleted, StatusRefunded}

// SalesReport sums the last 7 days of sales in the store's time zone, and
// the week's best sellers. Days are cut in Go, so one query serves both
// databases.
func (s *Service) SalesReport(ctx context.Context, tenantID string, loc *time.Location, now time.Time) (*Report, error) {
	today := time.Date(now.In(loc).Year(), now.In(loc).Month(), now.In(loc).Day(), 0, 0, 0, 0, loc)
	since := today.AddDate(0, 0, -6)
	r := &Report{}
	for i := range 7 {
		r.Days = append(r.Days, DaySales{Day: since.AddDate(0, 0, i)})
	}
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		args := append([]any{tx.TenantID(), since.UTC()}, soldStatuses...)
		rows, err := tx.Query(ctx, `SELECT created_at, total - refunded_total FROM orders
			WHERE tenant_id = ? AND created_at >= ? AND status IN (`+db.Placeholders(len(soldStatuses))+`)`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var at time.Time
			var amount int64
			if err := rows.Scan(&at, &amount); err != nil {
				rows.Close()
				return err
			}
			d := int(at.In(loc).Sub(since).Hours() / 24)
			if d >= 0 && d < 7 {
				r.Days[d].Orders++
				r.Days[d].Sales += amount
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT l.product_id, MIN(l.title), SUM(l.quantity), SUM(l.total) FROM order_lines l
			JOIN orders o ON o.tenant_id = l.tenant_id AND o.id = l.order_id
			WHERE l.tenant_id = ? AND o.created_at >= ? AND o.status IN (`+db.Placeholders(len(soldStatuses))+`)
			GROUP BY l.product_id ORDER BY SUM(l.quantity) DESC, l.product_id LIMIT 5`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p TopProduct
			if err := rows.Scan(&p.ProductID, &p.Title, &p.Units, &p.Sales); err != nil {
				return err
			}
			r.Top = append(r.Top, p)
		}
		return rows.Err()
	})
	return r, err
}
