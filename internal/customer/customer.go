// Package customer keeps a store's customers: guests known by the email
// they checked out with, and shoppers with an account (email and password),
// their saved addresses and their orders.
package customer

import (
	"context"
	"fmt"
	"strings"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// EnsureGuest returns the id of the customer with an email, creating a
// guest customer (no password) the first time, in the caller's transaction.
func EnsureGuest(ctx context.Context, tx *db.TenantTx, email, name string) (string, error) {
	email = strings.ToLower(email)
	if _, err := tx.Exec(ctx, `INSERT INTO customers (id, tenant_id, email, name, phone, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, '', NULL, ?, ?) ON CONFLICT (tenant_id, email) DO NOTHING`,
		nimbus.NewID(nimbus.PrefixCustomer), tx.TenantID(), email, name, tx.Now, tx.Now); err != nil {
		return "", fmt.Errorf("create guest customer: %w", err)
	}
	var id string
	if err := tx.QueryRow(ctx, `SELECT id FROM customers WHERE tenant_id = ? AND email = ?`, tx.TenantID(), email).Scan(&id); err != nil {
		return "", fmt.Errorf("find customer: %w", err)
	}
	return id, nil
}
