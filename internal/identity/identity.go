// Package identity knows who is who: merchant signup, staff accounts,
// browser sessions and API keys, and the middleware that turns a request's
// credentials into a nimbus.Principal.
package identity

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nimbuscommerce/nimbus"
)

// User statuses.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// User is a staff account of one tenant.
type User struct {
	ID       string
	TenantID string
	Email    string // lower-cased
	Name     string
	Role     nimbus.Role
	Status   string
	// Language is the console language the member chose ("en", "zh-CN"),
	// or empty to follow the browser.
	Language  string
	CreatedAt time.Time
	UpdatedAt time.Time

	passwordHash string
}

// APIKey is a long-lived credential for programs. Its secret is shown once,
// at creation, and only its hash is kept.
type APIKey struct {
	ID         string
	TenantID   string
	UserID     string // the staff member it acts for; disabling them stops the key
	Name       string
	Role       nimbus.Role // capped by the user's role at each request
	Hint       string      // the last characters, to tell keys apart
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Session is a signed-in browser.
type Session struct {
	ID        string
	TenantID  string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Limits on identity fields.
const (
	MaxEmailLength    = 254
	MaxNameLength     = 100
	MinPasswordLength = 8
	MaxPasswordLength = 128
	SessionLifetime   = 12 * time.Hour
)

// normalizeEmail validates an email address and returns it lower-cased.
func normalizeEmail(field, email string) (string, *nimbus.FieldError) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", new(nimbus.Fieldf(field, "field.empty", "must not be empty"))
	}
	if len(email) > MaxEmailLength {
		return "", new(nimbus.Fieldf(field, "field.max_length", "must be at most %d characters", MaxEmailLength))
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || !strings.Contains(email[strings.LastIndex(email, "@"):], ".") {
		return "", new(nimbus.Fieldf(field, "field.email", "must be an email address such as name@example.com"))
	}
	return strings.ToLower(email), nil
}

func validatePassword(field, password string) *nimbus.FieldError {
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLength {
		return new(nimbus.Fieldf(field, "field.min_length", "must be at least %d characters", MinPasswordLength))
	}
	if n > MaxPasswordLength {
		return new(nimbus.Fieldf(field, "field.max_length", "must be at most %d characters", MaxPasswordLength))
	}
	if strings.TrimSpace(password) == "" {
		return new(nimbus.Fieldf(field, "field.only_spaces", "must not be only spaces"))
	}
	return nil
}

func validatePersonName(field, name string) *nimbus.FieldError {
	if utf8.RuneCountInString(name) > MaxNameLength {
		return new(nimbus.Fieldf(field, "field.max_length", "must be at most %d characters", MaxNameLength))
	}
	return nil
}

func validateRole(field string, r nimbus.Role) *nimbus.FieldError {
	if !r.Valid() {
		return new(nimbus.Fieldf(field, "field.role", "must be owner, admin or staff"))
	}
	return nil
}

// fieldErrors collects field errors and returns them as one EINVALID error.
type fieldErrors []nimbus.FieldError

func (fe *fieldErrors) add(e *nimbus.FieldError) {
	if e != nil {
		*fe = append(*fe, *e)
	}
}

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return nimbus.Invalid(fe...)
}

// lastUsedResolution is how stale an API key's last_used_at may be.
const lastUsedResolution = time.Minute
