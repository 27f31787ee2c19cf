// Package checkout runs a shopper's way from cart to order: carts addressed
// by an unguessable token, lines priced on the server every time, address,
// shipping rate and discount code, and checkout, which turns a cart into an
// order exactly once.
package checkout

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/secret"
)

// Cart statuses.
const (
	StatusOpen      = "open"
	StatusCompleted = "completed"
)

// Limits on carts.
const (
	MaxLines    = 100
	MaxQuantity = 10_000
)

// Cart is a shopper's cart.
type Cart struct {
	ID              string
	Status          string
	Currency        string
	Email           string
	CustomerID      string
	ShippingAddress *nimbus.Address
	ShippingRateID  string
	DiscountCode    string
	Note            string
	OrderID         string
	Lines           []*Line
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Line is a variant and how many of it.
type Line struct {
	ID        string
	VariantID string
	Quantity  int64
}

var errCartNotFound = nimbus.Errorkf(nimbus.ENOTFOUND, "error.cart_not_found", "cart not found")

func insertCart(ctx context.Context, tx *db.TenantTx, c *Cart, token string) error {
	c.CreatedAt, c.UpdatedAt = tx.Now, tx.Now
	_, err := tx.Exec(ctx, `INSERT INTO carts (id, tenant_id, token_hash, status, currency, email, customer_id, shipping_address,
		shipping_rate_id, discount_code, note, order_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, '', '', NULL, ?, ?)`,
		c.ID, tx.TenantID(), secret.Hash(token), c.Status, c.Currency, c.Email, nullable(c.CustomerID), c.CreatedAt, c.UpdatedAt)
	if err != nil {
		return fmt.Errorf("insert cart: %w", err)
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// findCart loads a cart by its token with its lines; lock holds it for the
// rest of the transaction on PostgreSQL.
func findCart(ctx context.Context, tx *db.TenantTx, token string, lock bool) (*Cart, error) {
	if !secret.Valid(token) {
		return nil, errCartNotFound
	}
	q := `SELECT id, status, currency, email, customer_id, shipping_address, shipping_rate_id, discount_code, note, order_id,
		created_at, updated_at FROM carts WHERE tenant_id = ? AND token_hash = ?`
	if lock {
		q += tx.ForUpdate()
	}
	var c Cart
	var customerID, addr, rateID, orderID sql.NullString
	err := tx.QueryRow(ctx, q, tx.TenantID(), secret.Hash(token)).Scan(&c.ID, &c.Status, &c.Currency, &c.Email, &customerID, &addr,
		&rateID, &c.DiscountCode, &c.Note, &orderID, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errCartNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find cart: %w", err)
	}
	c.CustomerID, c.ShippingRateID, c.OrderID = customerID.String, rateID.String, orderID.String
	if addr.Valid {
		c.ShippingAddress = &nimbus.Address{}
		if err := json.Unmarshal([]byte(addr.String), c.ShippingAddress); err != nil {
			return nil, fmt.Errorf("decode cart address: %w", err)
		}
	}
	rows, err := tx.Query(ctx, `SELECT id, variant_id, quantity FROM cart_lines WHERE tenant_id = ? AND cart_id = ? ORDER BY id`, tx.TenantID(), c.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	c.Lines = []*Line{}
	for rows.Next() {
		var l Line
		if err := rows.Scan(&l.ID, &l.VariantID, &l.Quantity); err != nil {
			return nil, err
		}
		c.Lines = append(c.Lines, &l)
	}
	return &c, rows.Err()
}

func updateCartRow(ctx context.Context, tx *db.TenantTx, c *Cart) error {
	var addr any
	if c.ShippingAddress != nil {
		b, err := json.Marshal(c.ShippingAddress)
		if err != nil {
			return err
		}
		addr = string(b)
	}
	c.UpdatedAt = tx.Now
	_, err := tx.Exec(ctx, `UPDATE carts SET email = ?, customer_id = ?, shipping_address = ?, shipping_rate_id = ?, discount_code = ?,
		note = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`, c.Email, nullable(c.CustomerID), addr, nullable(c.ShippingRateID),
		c.DiscountCode, c.Note, c.UpdatedAt, tx.TenantID(), c.ID)
	return err
}
