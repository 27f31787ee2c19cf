// Package customer keeps a store's customers: guests known by the email
// they checked out with, and shoppers with an account (email and password),
// their saved addresses and their orders.
package customer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/identity"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/secret"
)

// Customer is a shopper of one store.
type Customer struct {
	ID         string
	Email      string
	Name       string
	Phone      string
	HasAccount bool // a password is set
	CreatedAt  time.Time
	UpdatedAt  time.Time

	passwordHash string
}

// Address is a saved address of a customer.
type Address struct {
	ID        string
	Address   nimbus.Address
	IsDefault bool
	CreatedAt time.Time
}

// Passwords hashes and checks passwords (the identity service).
type Passwords interface {
	HashPassword(ctx context.Context, password string) (string, error)
	CheckPassword(ctx context.Context, hash, password string) (bool, error)
}

// Service manages customers.
type Service struct {
	DB        *db.DB
	Passwords Passwords
}

// SessionLifetime is how long a customer stays signed in.
const SessionLifetime = 30 * 24 * time.Hour

var (
	errNotFound       = nimbus.Errorkf(nimbus.ENOTFOUND, "error.customer_not_found", "customer not found")
	errBadCredentials = nimbus.Errorkf(nimbus.EUNAUTHORIZED, "error.wrong_email_password", "wrong email or password")
)

// EnsureGuest returns the id of the customer with an email, creating a
// guest customer (no password) the first time, in the caller's transaction.
func EnsureGuest(ctx context.Context, tx *db.TenantTx, email, name string) (string, error) {
	ids, err := EnsureGuests(ctx, tx, map[string]string{email: name})
	if err != nil {
		return "", err
	}
	return ids[strings.ToLower(email)], nil
}

// EnsureGuests is EnsureGuest for many shoppers (email to name) in two
// statements. It returns the customer id of each email, lower-cased.
func EnsureGuests(ctx context.Context, tx *db.TenantTx, guests map[string]string) (map[string]string, error) {
	byEmail := map[string]string{}
	for email, name := range guests {
		byEmail[strings.ToLower(email)] = name
	}
	// In email order: two transactions creating some of the same guests
	// then lock their index entries in the same order.
	emails := slices.Sorted(maps.Keys(byEmail))
	args := make([]any, 0, 6*len(emails))
	for _, email := range emails {
		args = append(args, nimbus.NewID(nimbus.PrefixCustomer), tx.TenantID(), email, byEmail[email], tx.Now, tx.Now)
	}
	if _, err := tx.ExecRows(ctx, `INSERT INTO customers (id, tenant_id, email, name, phone, password_hash, created_at, updated_at)`,
		"(?, ?, ?, ?, '', NULL, ?, ?)", "ON CONFLICT (tenant_id, email) DO NOTHING", args); err != nil {
		return nil, fmt.Errorf("create guest customers: %w", err)
	}
	return FindIDsByEmail(ctx, tx, emails)
}

// FindIDsByEmail returns the ids of the customers with the given emails
// (lower-cased), in the caller's transaction; unknown emails are absent.
func FindIDsByEmail(ctx context.Context, tx *db.TenantTx, emails []string) (map[string]string, error) {
	ids := make(map[string]string, len(emails))
	if len(emails) == 0 {
		return ids, nil
	}
	lower := make([]string, len(emails))
	for i, e := range emails {
		lower[i] = strings.ToLower(e)
	}
	rows, err := db.QueryKeys(ctx, tx, `SELECT email, id FROM customers WHERE tenant_id = ?`, "email", lower, tx.TenantID())
	if err != nil {
		return nil, fmt.Errorf("find customers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var email, id string
		if err := rows.Scan(&email, &id); err != nil {
			return nil, err
		}
		ids[email] = id
	}
	return ids, rows.Err()
}

const customerColumns = `id, email, name, phone, password_hash, created_at, updated_at`

func scanCustomer(row interface{ Scan(...any) error }) (*Customer, error) {
	var c Customer
	var hash sql.NullString
	err := row.Scan(&c.ID, &c.Email, &c.Name, &c.Phone, &hash, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("scan customer: %w", err)
	}
	c.passwordHash, c.HasAccount = hash.String, hash.Valid
	return &c, nil
}

func findCustomer(ctx context.Context, tx *db.TenantTx, column, value string) (*Customer, error) {
	return scanCustomer(tx.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE tenant_id = ? AND `+column+` = ?`, tx.TenantID(), value))
}

// Registration is a new customer account.
type Registration struct {
	Email    string
	Password string
	Name     string
}

// Register creates a customer account and signs it in. An email that only
// checked out as a guest so far becomes an account; its guest orders stay
// out of the account's history, since nothing proves the same person placed
// them. Errors: EINVALID (including an email that already has an account).
func (s *Service) Register(ctx context.Context, tenantID string, r Registration) (*Customer, string, error) {
	var fe []nimbus.FieldError
	email, e := identity.NormalizeEmail("email", r.Email)
	if e != nil {
		fe = append(fe, *e)
	}
	if e := identity.ValidatePassword("password", r.Password); e != nil {
		fe = append(fe, *e)
	}
	r.Name = strings.TrimSpace(r.Name)
	if utf8.RuneCountInString(r.Name) > 100 {
		fe = append(fe, nimbus.Fieldf("name", "field.max_length", "must be at most %d characters", 100))
	}
	if len(fe) > 0 {
		return nil, "", nimbus.Invalid(fe...)
	}
	hash, err := s.Passwords.HashPassword(ctx, r.Password)
	if err != nil {
		return nil, "", err
	}
	var c *Customer
	var token string
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		existing, err := findCustomer(ctx, tx, "email", email)
		switch {
		case err == nil && existing.HasAccount:
			return nimbus.Invalid(nimbus.Fieldf("email", "field.has_account", "already has an account in this store; sign in instead"))
		case err == nil:
			c = existing
			if r.Name != "" {
				c.Name = r.Name
			}
			if _, err := tx.Exec(ctx, `UPDATE customers SET password_hash = ?, name = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
				hash, c.Name, tx.Now, tx.TenantID(), c.ID); err != nil {
				return err
			}
		case nimbus.ErrorCode(err) == nimbus.ENOTFOUND:
			c = &Customer{ID: nimbus.NewID(nimbus.PrefixCustomer), Email: email, Name: r.Name, CreatedAt: tx.Now}
			_, err := tx.Exec(ctx, `INSERT INTO customers (id, tenant_id, email, name, phone, password_hash, created_at, updated_at)
				VALUES (?, ?, ?, ?, '', ?, ?, ?)`, c.ID, tx.TenantID(), c.Email, c.Name, hash, tx.Now, tx.Now)
			if db.IsUniqueViolation(err) { // registered a moment ago by another request
				return nimbus.Invalid(nimbus.Fieldf("email", "field.has_account", "already has an account in this store; sign in instead"))
			}
			if err != nil {
				return err
			}
		default:
			return err
		}
		c.HasAccount, c.UpdatedAt = true, tx.Now
		token, err = newSession(ctx, tx, c.ID)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return c, token, nil
}

// SignIn checks a customer's password and opens a session; it returns the
// session token. Errors: EUNAUTHORIZED, EUNAVAILABLE.
func (s *Service) SignIn(ctx context.Context, tenantID, email, password string) (*Customer, string, error) {
	var c *Customer
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		c, err = findCustomer(ctx, tx, "email", strings.ToLower(strings.TrimSpace(email)))
		return err
	})
	hash := ""
	if err == nil {
		hash = c.passwordHash
	} else if nimbus.ErrorCode(err) != nimbus.ENOTFOUND {
		return nil, "", err
	}
	ok, err := s.Passwords.CheckPassword(ctx, hash, password)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", errBadCredentials
	}
	var token string
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		token, err = newSession(ctx, tx, c.ID)
		return err
	})
	return c, token, err
}

func newSession(ctx context.Context, tx *db.TenantTx, customerID string) (string, error) {
	token := secret.New()
	_, err := tx.Exec(ctx, `INSERT INTO customer_sessions (id, tenant_id, customer_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		nimbus.NewID(nimbus.PrefixSession), tx.TenantID(), customerID, secret.Hash(token), tx.Now, tx.Now.Add(SessionLifetime))
	return token, err
}

// PurgeExpiredSessions deletes a store's expired customer sessions,
// db.PurgeChunk to a transaction, and returns how many.
func (s *Service) PurgeExpiredSessions(ctx context.Context, tenantID string) (int64, error) {
	return s.DB.PurgeExpired(ctx, tenantID, "customer_sessions")
}

// Authenticate returns the signed-in customer of a session token.
// Errors: EUNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, tenantID, token string) (*Customer, error) {
	if !secret.Valid(token) {
		return nil, nimbus.Errorkf(nimbus.EUNAUTHORIZED, "error.sign_in", "sign in to your account")
	}
	var c *Customer
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		var customerID string
		err := tx.QueryRow(ctx, `SELECT customer_id FROM customer_sessions WHERE tenant_id = ? AND token_hash = ? AND expires_at > ?`,
			tx.TenantID(), secret.Hash(token), tx.Now).Scan(&customerID)
		if errors.Is(err, sql.ErrNoRows) {
			return nimbus.Errorkf(nimbus.EUNAUTHORIZED, "error.sign_in", "sign in to your account")
		}
		if err != nil {
			return err
		}
		c, err = findCustomer(ctx, tx, "id", customerID)
		return err
	})
	return c, err
}

// SignOut ends a customer session; an unknown token is ignored.
func (s *Service) SignOut(ctx context.Context, tenantID, token string) error {
	return s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		_, err := tx.Exec(ctx, `DELETE FROM customer_sessions WHERE tenant_id = ? AND token_hash = ?`, tx.TenantID(), secret.Hash(token))
		return err
	})
}

// CustomerUpdate changes a customer's details; nil fields stay as they are.
type CustomerUpdate struct {
	Name  *string
	Phone *string
}

// UpdateCustomer changes a customer. Errors: EINVALID, ENOTFOUND.
func (s *Service) UpdateCustomer(ctx context.Context, tenantID, id string, u CustomerUpdate) (*Customer, error) {
	if u.Name != nil && utf8.RuneCountInString(*u.Name) > 100 {
		return nil, nimbus.Invalid(nimbus.Fieldf("name", "field.max_length", "must be at most %d characters", 100))
	}
	if u.Phone != nil && utf8.RuneCountInString(*u.Phone) > 30 {
		return nil, nimbus.Invalid(nimbus.Fieldf("phone", "field.max_length", "must be at most %d characters", 30))
	}
	var c *Customer
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		if c, err = findCustomer(ctx, tx, "id", id); err != nil {
			return err
		}
		if u.Name != nil {
			c.Name = strings.TrimSpace(*u.Name)
		}
		if u.Phone != nil {
			c.Phone = strings.TrimSpace(*u.Phone)
		}
		c.UpdatedAt = tx.Now
		_, err = tx.Exec(ctx, `UPDATE customers SET name = ?, phone = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			c.Name, c.Phone, c.UpdatedAt, tx.TenantID(), c.ID)
		return err
	})
	return c, err
}

// FindCustomerByID returns a customer. Errors: ENOTFOUND.
func (s *Service) FindCustomerByID(ctx context.Context, tenantID, id string) (*Customer, error) {
	if !nimbus.ValidID(nimbus.PrefixCustomer, id) {
		return nil, errNotFound
	}
	var c *Customer
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		c, err = findCustomer(ctx, tx, "id", id)
		return err
	})
	return c, err
}

// Filter selects customers for the admin list.
type Filter struct {
	Query string // part of an email or name
	After string
	Limit int
}

// FindCustomers lists customers in id order, up to f.Limit+1.
func (s *Service) FindCustomers(ctx context.Context, tenantID string, f Filter) ([]*Customer, error) {
	var cs []*Customer
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		where, args := []string{"tenant_id = ?"}, []any{tx.TenantID()}
		if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
			where, args = append(where, "(email LIKE ? OR LOWER(name) LIKE ?)"), append(args, "%"+q+"%", "%"+q+"%")
		}
		if f.After != "" {
			where, args = append(where, "id > ?"), append(args, f.After)
		}
		rows, err := tx.Query(ctx, `SELECT `+customerColumns+` FROM customers WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`,
			append(args, f.Limit+1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cs = []*Customer{}
		for rows.Next() {
			c, err := scanCustomer(rows)
			if err != nil {
				return err
			}
			cs = append(cs, c)
		}
		return rows.Err()
	})
	return cs, err
}

// AddAddress saves an address for a customer. Errors: EINVALID, ENOTFOUND.
func (s *Service) AddAddress(ctx context.Context, tenantID, customerID string, a nimbus.Address, makeDefault bool) (*Address, error) {
	a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
	if fe := a.Validate("address"); len(fe) > 0 {
		return nil, nimbus.Invalid(fe...)
	}
	addr := &Address{ID: nimbus.NewID(nimbus.PrefixAddress), Address: a, IsDefault: makeDefault}
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		if _, err := findCustomer(ctx, tx, "id", customerID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM customer_addresses WHERE tenant_id = ? AND customer_id = ?`, tx.TenantID(), customerID).Scan(&n); err != nil {
			return err
		}
		if n >= 20 {
			return nimbus.Invalid(nimbus.Fieldf("address", "field.max_addresses", "a customer keeps at most %d addresses", 20))
		}
		if n == 0 {
			addr.IsDefault = true
		}
		if addr.IsDefault {
			if _, err := tx.Exec(ctx, `UPDATE customer_addresses SET is_default = ? WHERE tenant_id = ? AND customer_id = ?`, false, tx.TenantID(), customerID); err != nil {
				return err
			}
		}
		b, _ := json.Marshal(a)
		addr.CreatedAt = tx.Now
		_, err := tx.Exec(ctx, `INSERT INTO customer_addresses (id, tenant_id, customer_id, address, is_default, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			addr.ID, tx.TenantID(), customerID, string(b), addr.IsDefault, tx.Now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return addr, nil
}

// DeleteAddress removes a saved address. Errors: ENOTFOUND.
func (s *Service) DeleteAddress(ctx context.Context, tenantID, customerID, id string) error {
	return s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		res, err := tx.Exec(ctx, `DELETE FROM customer_addresses WHERE tenant_id = ? AND customer_id = ? AND id = ?`, tx.TenantID(), customerID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nimbus.Errorkf(nimbus.ENOTFOUND, "error.address_not_found", "address not found")
		}
		return nil
	})
}

// FindAddresses lists a customer's saved addresses, the default first.
func (s *Service) FindAddresses(ctx context.Context, tenantID, customerID string) ([]*Address, error) {
	var as []*Address
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		rows, err := tx.Query(ctx, `SELECT id, address, is_default, created_at FROM customer_addresses WHERE tenant_id = ? AND customer_id = ?
			ORDER BY is_default DESC, id`, tx.TenantID(), customerID)
		if err != nil {
			return err
		}
		defer rows.Close()
		as = []*Address{}
		for rows.Next() {
			var a Address
			var raw string
			if err := rows.Scan(&a.ID, &raw, &a.IsDefault, &a.CreatedAt); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(raw), &a.Address); err != nil {
				return err
			}
			as = append(as, &a)
		}
		return rows.Err()
	})
	return as, err
}
