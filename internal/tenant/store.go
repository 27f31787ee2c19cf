package tenant

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

const tenantColumns = `id, handle, name, currency, time_zone, prices_include_tax, tax_shipping, reservation_minutes, created_at, updated_at,
	theme_color, logo_url, layout, domain`

const tenantInsertColumns = `id, handle, name, currency, time_zone, prices_include_tax, tax_shipping, reservation_minutes, created_at, updated_at`

func scanTenant(row interface{ Scan(...any) error }) (*Tenant, error) {
	var t Tenant
	var domain sql.NullString
	err := row.Scan(&t.ID, &t.Handle, &t.Name, &t.Currency, &t.TimeZone, &t.PricesIncludeTax, &t.TaxShipping,
		&t.ReservationMinutes, &t.CreatedAt, &t.UpdatedAt, &t.ThemeColor, &t.LogoURL, &t.Layout, &domain)
	t.Domain = domain.String
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nimbus.Errorkf(nimbus.ENOTFOUND, "error.store_not_found", "store not found")
	}
	if err != nil {
		return nil, fmt.Errorf("scan tenant: %w", err)
	}
	return &t, nil
}

// Insert creates the tenant of tx. It is called inside the signup
// transaction, which also creates the owner.
func Insert(ctx context.Context, tx *db.TenantTx, t *Tenant) error {
	t.ID = tx.TenantID()
	t.CreatedAt, t.UpdatedAt = tx.Now, tx.Now
	if t.ReservationMinutes == 0 {
		t.ReservationMinutes = DefaultReservationMinutes
	}
	t.ThemeColor, t.Layout = "#1f5f4a", "grid"
	_, err := tx.Exec(ctx, `INSERT INTO tenants (`+tenantInsertColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Handle, t.Name, t.Currency, t.TimeZone, t.PricesIncludeTax, t.TaxShipping, t.ReservationMinutes, t.CreatedAt, t.UpdatedAt)
	if db.IsUniqueViolation(err) {
		return nimbus.Invalid(nimbus.Fieldf("handle", "field.store_handle_taken", "is already taken"))
	}
	if err != nil {
		return fmt.Errorf("insert tenant: %w", err)
	}
	return nil
}

// FindByID returns the tenant of tx.
func FindByID(ctx context.Context, tx *db.TenantTx) (*Tenant, error) {
	return scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = ?`, tx.TenantID()))
}

// FindByDomain returns the tenant whose own host name is domain.
func FindByDomain(ctx context.Context, tx *db.Tx, domain string) (*Tenant, error) {
	return scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE domain = ?`, domain))
}

// FindByHandle returns the tenant with the given handle.
func FindByHandle(ctx context.Context, tx *db.Tx, handle string) (*Tenant, error) {
	return scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE handle = ?`, handle))
}

// ListIDs returns every tenant id, for maintenance jobs that visit each
// tenant in its own scoped transaction.
func ListIDs(ctx context.Context, tx *db.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM tenants ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func update(ctx context.Context, tx *db.TenantTx, u Update) (*Tenant, error) {
	t, err := FindByID(ctx, tx)
	if err != nil {
		return nil, err
	}
	if u.Name != nil {
		t.Name = *u.Name
	}
	if u.Currency != nil {
		t.Currency = *u.Currency
	}
	if u.TimeZone != nil {
		t.TimeZone = *u.TimeZone
	}
	if u.PricesIncludeTax != nil {
		t.PricesIncludeTax = *u.PricesIncludeTax
	}
	if u.TaxShipping != nil {
		t.TaxShipping = *u.TaxShipping
	}
	if u.ReservationMinutes != nil {
		t.ReservationMinutes = *u.ReservationMinutes
	}
	if u.ThemeColor != nil {
		t.ThemeColor = strings.ToLower(*u.ThemeColor)
	}
	if u.LogoURL != nil {
		t.LogoURL = *u.LogoURL
	}
	if u.Layout != nil {
		t.Layout = *u.Layout
	}
	if u.Domain != nil {
		t.Domain = *u.Domain
	}
	var domain any
	if t.Domain != "" {
		domain = t.Domain
	}
	t.UpdatedAt = tx.Now
	_, err = tx.Exec(ctx, `UPDATE tenants SET name = ?, currency = ?, time_zone = ?, prices_include_tax = ?, tax_shipping = ?,
		reservation_minutes = ?, theme_color = ?, logo_url = ?, layout = ?, domain = ?, updated_at = ? WHERE id = ?`,
		t.Name, t.Currency, t.TimeZone, t.PricesIncludeTax, t.TaxShipping, t.ReservationMinutes, t.ThemeColor, t.LogoURL, t.Layout,
		domain, t.UpdatedAt, tx.TenantID())
	if db.IsUniqueViolation(err) {
		return nil, nimbus.Invalid(nimbus.Fieldf("domain", "field.domain_taken", "is used by another store"))
	}
	if err != nil {
		return nil, fmt.Errorf("update tenant: %w", err)
	}
	return t, nil
}
