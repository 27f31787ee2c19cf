package order

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

var errNotFound = nimbus.Errorkf(nimbus.ENOTFOUND, "error.order_not_found", "order not found")

const orderColumns = `id, tenant_id, number, cart_id, token_hash, status, payment_status, currency, email, customer_id, signed_in,
	shipping_address, shipping_method, discount_code, prices_include_tax, subtotal, discount_total, shipping_total,
	tax_total, total, refunded_total, payment_provider, note, reservation_expires_at, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanOrder(row scanner) (*Order, error) {
	var o Order
	var cartID, customerID sql.NullString
	var number sql.NullInt64
	var addr string
	var expires sql.Null[time.Time]
	err := row.Scan(&o.ID, &o.TenantID, &number, &cartID, &o.tokenHash, &o.Status, &o.PaymentStatus, &o.Currency, &o.Email,
		&customerID, &o.SignedIn, &addr, &o.ShippingMethod, &o.DiscountCode, &o.PricesIncludeTax, &o.Subtotal, &o.DiscountTotal,
		&o.ShippingTotal, &o.TaxTotal, &o.Total, &o.RefundedTotal, &o.PaymentProvider, &o.Note, &expires, &o.CreatedAt, &o.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("scan order: %w", err)
	}
	o.CartID, o.CustomerID, o.Number = cartID.String, customerID.String, number.Int64
	if expires.Valid {
		o.ReservationExpiresAt = &expires.V
	}
	if err := json.Unmarshal([]byte(addr), &o.ShippingAddress); err != nil {
		return nil, fmt.Errorf("decode address of order %s: %w", o.ID, err)
	}
	return &o, nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// takeNumbers gives orders the tenant's next order numbers (1001, 1002,
// ...), in their order, with one update of the counter.
func takeNumbers(ctx context.Context, tx *db.TenantTx, orders []*Order) error {
	numbers, err := nextNumbers(ctx, tx, len(orders))
	if err != nil {
		return err
	}
	for i, o := range orders {
		o.Number = numbers[i]
	}
	return nil
}

// nextNumbers moves the tenant's order counter on by n and returns the n
// numbers it passed, ascending.
func nextNumbers(ctx context.Context, tx *db.TenantTx, n int) ([]int64, error) {
	var last int64
	err := tx.QueryRow(ctx, `INSERT INTO order_numbers (tenant_id, last_number) VALUES (?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET last_number = order_numbers.last_number + ?
		RETURNING last_number`, tx.TenantID(), 1000+n, n).Scan(&last)
	if err != nil {
		return nil, fmt.Errorf("next order number: %w", err)
	}
	numbers := make([]int64, n)
	for i := range numbers {
		numbers[i] = last - int64(n) + 1 + int64(i)
	}
	return numbers, nil
}

// insertOrders writes new orders and their lines, a statement for each.
func insertOrders(ctx context.Context, tx *db.TenantTx, orders []*Order) error {
	args := make([]any, 0, 26*len(orders))
	var lineArgs []any
	lines := 0
	for _, o := range orders {
		addr, err := json.Marshal(o.ShippingAddress)
		if err != nil {
			return err
		}
		args = append(args, o.ID, o.TenantID, o.Number, nullIfEmpty(o.CartID), o.tokenHash, o.Status, o.PaymentStatus, o.Currency, o.Email,
			nullIfEmpty(o.CustomerID), o.SignedIn, string(addr), o.ShippingMethod, o.DiscountCode, o.PricesIncludeTax, o.Subtotal, o.DiscountTotal,
			o.ShippingTotal, o.TaxTotal, o.Total, o.RefundedTotal, o.PaymentProvider, o.Note, o.ReservationExpiresAt, o.CreatedAt, o.UpdatedAt)
		for i, l := range o.Lines {
			lineArgs = append(lineArgs, l.ID, o.TenantID, o.ID, l.VariantID, l.ProductID, l.Title, l.VariantTitle, l.SKU, l.TrackInventory,
				l.Quantity, l.UnitPrice, l.Subtotal, l.Discount, l.Tax, l.Total, 0, i+1)
			lines++
		}
	}
	_, err := tx.ExecRows(ctx, `INSERT INTO orders (`+orderColumns+`)`, "("+db.Placeholders(26)+")", "", args)
	if db.IsUniqueViolation(err) {
		return nimbus.Errorkf(nimbus.ECONFLICT, "error.cart_already_checked_out", "this cart has already been checked out")
	}
	if err != nil {
		return fmt.Errorf("insert order: %w", err)
	}
	if lines == 0 {
		return nil
	}
	_, err = tx.ExecRows(ctx, `INSERT INTO order_lines (id, tenant_id, order_id, variant_id, product_id, title, variant_title, sku,
		track_inventory, quantity, unit_price, subtotal, discount, tax, total, fulfilled_quantity, position)`, "("+db.Placeholders(17)+")", "", lineArgs)
	if err != nil {
		return fmt.Errorf("insert order line: %w", err)
	}
	return nil
}

// updateOrderState writes the fields that change after checkout.
func updateOrderState(ctx context.Context, tx *db.TenantTx, o *Order) error {
	o.UpdatedAt = tx.Now
	_, err := tx.Exec(ctx, `UPDATE orders SET status = ?, payment_status = ?, refunded_total = ?, reservation_expires_at = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, o.Status, o.PaymentStatus, o.RefundedTotal, o.ReservationExpiresAt, o.UpdatedAt, tx.TenantID(), o.ID)
	if err != nil {
		return fmt.Errorf("update order: %w", err)
	}
	return nil
}

// claimPayment moves an order from one payment status to another only if it
// is still in the first: the guard that keeps two payments of one order from
// running at once.
func claimPayment(ctx context.Context, tx *db.TenantTx, orderID, from, to string) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE orders SET payment_status = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND payment_status = ?`,
		to, tx.Now, tx.TenantID(), orderID, from)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// findOrder reads an order; with lock, it also locks it until the
// transaction ends (on PostgreSQL; SQLite has one writer anyway).
func findOrder(ctx context.Context, tx *db.TenantTx, id string, details, lock bool) (*Order, error) {
	q := `SELECT ` + orderColumns + ` FROM orders WHERE tenant_id = ? AND id = ?`
	if lock {
		q += tx.ForUpdate()
	}
	o, err := scanOrder(tx.QueryRow(ctx, q, tx.TenantID(), id))
	if err != nil {
		return nil, err
	}
	if err := attachLines(ctx, tx, []*Order{o}); err != nil {
		return nil, err
	}
	if details {
		if err := attachDetails(ctx, tx, o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func attachLines(ctx context.Context, tx *db.TenantTx, orders []*Order) error {
	if len(orders) == 0 {
		return nil
	}
	byID := map[string]*Order{}
	args := []any{tx.TenantID()}
	for _, o := range orders {
		byID[o.ID] = o
		o.Lines = []*Line{}
		args = append(args, o.ID)
	}
	rows, err := tx.Query(ctx, `SELECT id, order_id, variant_id, product_id, title, variant_title, sku, track_inventory, quantity,
		unit_price, subtotal, discount, tax, total, fulfilled_quantity, restocked_quantity FROM order_lines
		WHERE tenant_id = ? AND order_id IN (`+db.Placeholders(len(orders))+`) ORDER BY order_id, position`, args...)
	if err != nil {
		return fmt.Errorf("find order lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l Line
		var orderID string
		if err := rows.Scan(&l.ID, &orderID, &l.VariantID, &l.ProductID, &l.Title, &l.VariantTitle, &l.SKU, &l.TrackInventory,
			&l.Quantity, &l.UnitPrice, &l.Subtotal, &l.Discount, &l.Tax, &l.Total, &l.FulfilledQuantity, &l.RestockedQuantity); err != nil {
			return err
		}
		byID[orderID].Lines = append(byID[orderID].Lines, &l)
	}
	return rows.Err()
}

func attachDetails(ctx context.Context, tx *db.TenantTx, o *Order) error {
	rows, err := tx.Query(ctx, `SELECT id, kind, message, actor, created_at FROM order_events WHERE tenant_id = ? AND order_id = ? ORDER BY id`,
		tx.TenantID(), o.ID)
	if err != nil {
		return err
	}
	o.Events = []*Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.Kind, &e.Message, &e.Actor, &e.CreatedAt); err != nil {
			rows.Close()
			return err
		}
		o.Events = append(o.Events, &e)
	}
	rows.Close()
	rows, err = tx.Query(ctx, `SELECT id, carrier, tracking_number, lines, created_at FROM fulfillments WHERE tenant_id = ? AND order_id = ? ORDER BY id`,
		tx.TenantID(), o.ID)
	if err != nil {
		return err
	}
	o.Fulfillments = []*Fulfillment{}
	for rows.Next() {
		var f Fulfillment
		var lines string
		if err := rows.Scan(&f.ID, &f.Carrier, &f.TrackingNumber, &lines, &f.CreatedAt); err != nil {
			rows.Close()
			return err
		}
		if err := json.Unmarshal([]byte(lines), &f.Lines); err != nil {
			rows.Close()
			return err
		}
		o.Fulfillments = append(o.Fulfillments, &f)
	}
	rows.Close()
	payments, err := findPayments(ctx, tx, o.ID)
	o.Payments = payments
	return err
}

func findPayments(ctx context.Context, tx *db.TenantTx, orderID string) ([]*Payment, error) {
	rows, err := tx.Query(ctx, `SELECT id, kind, provider, status, amount, currency, provider_ref, failure_code, created_at
		FROM payments WHERE tenant_id = ? AND order_id = ? ORDER BY id`, tx.TenantID(), orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ps := []*Payment{}
	for rows.Next() {
		var p Payment
		if err := rows.Scan(&p.ID, &p.Kind, &p.Provider, &p.Status, &p.Amount, &p.Currency, &p.ProviderRef, &p.FailureCode, &p.CreatedAt); err != nil {
			return nil, err
		}
		ps = append(ps, &p)
	}
	return ps, rows.Err()
}

func insertPayment(ctx context.Context, tx *db.TenantTx, orderID string, p *Payment) error {
	p.CreatedAt = tx.Now
	_, err := tx.Exec(ctx, `INSERT INTO payments (id, tenant_id, order_id, kind, provider, status, amount, currency, provider_ref, failure_code, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, tx.TenantID(), orderID, p.Kind, p.Provider, p.Status, p.Amount, p.Currency,
		p.ProviderRef, p.FailureCode, tx.Now, tx.Now)
	return err
}

func updatePayment(ctx context.Context, tx *db.TenantTx, p *Payment) error {
	_, err := tx.Exec(ctx, `UPDATE payments SET status = ?, provider_ref = ?, failure_code = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		p.Status, p.ProviderRef, p.FailureCode, tx.Now, tx.TenantID(), p.ID)
	return err
}

func insertEvent(ctx context.Context, tx *db.TenantTx, orderID, kind, message, actor string) error {
	return insertEvents(ctx, tx, []event{{orderID: orderID, kind: kind, message: message, actor: actor}})
}

// event is an entry of an order's history to write.
type event struct{ orderID, kind, message, actor string }

func insertEvents(ctx context.Context, tx *db.TenantTx, events []event) error {
	args := make([]any, 0, 7*len(events))
	for _, e := range events {
		args = append(args, nimbus.NewID(nimbus.PrefixOrderEvent), tx.TenantID(), e.orderID, e.kind, e.message, e.actor, tx.Now)
	}
	_, err := tx.ExecRows(ctx, `INSERT INTO order_events (id, tenant_id, order_id, kind, message, actor, created_at)`, "(?, ?, ?, ?, ?, ?, ?)", "", args)
	return err
}

func findOrders(ctx context.Context, tx *db.TenantTx, f Filter) ([]*Order, error) {
	where, args := []string{"tenant_id = ?"}, []any{tx.TenantID()}
	if f.Status != nil {
		where, args = append(where, "status = ?"), append(args, *f.Status)
	}
	if f.CustomerID != nil {
		where, args = append(where, "customer_id = ?"), append(args, *f.CustomerID)
	}
	if f.SignedIn != nil {
		where, args = append(where, "signed_in = ?"), append(args, *f.SignedIn)
	}
	if f.Email != nil {
		// A guest order belongs to the customer its email names; a signed-in
		// one may carry another email than its account's, and only those
		// are indexed by email (migration 0010 on SQLite, 0011 on PostgreSQL).
		e := strings.ToLower(*f.Email)
		where = append(where, `id IN (SELECT id FROM orders WHERE tenant_id = ? AND signed_in AND email = ?
			UNION ALL SELECT id FROM orders WHERE tenant_id = ? AND email = ?
			AND customer_id = (SELECT id FROM customers WHERE tenant_id = ? AND email = ?))`)
		args = append(args, tx.TenantID(), e, tx.TenantID(), e, tx.TenantID(), e)
	}
	if f.Since != nil {
		where, args = append(where, "created_at >= ?"), append(args, f.Since.UTC())
	}
	if f.Until != nil {
		where, args = append(where, "created_at < ?"), append(args, f.Until.UTC())
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		if n, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64); err == nil {
			where, args = append(where, "number = ?"), append(args, n)
		} else {
			where, args = append(where, "email LIKE ?"), append(args, "%"+strings.ToLower(q)+"%")
		}
	}
	if f.After != "" {
		// Newest first: the cursor continues with older ids.
		where, args = append(where, "id < ?"), append(args, f.After)
	}
	rows, err := tx.Query(ctx, `SELECT `+orderColumns+` FROM orders WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`,
		append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("find orders: %w", err)
	}
	orders := []*Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		orders = append(orders, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return orders, attachLines(ctx, tx, orders)
}
