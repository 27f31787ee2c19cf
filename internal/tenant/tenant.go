// Package tenant is the directory of merchants: each tenant is one store
// with its handle, currency and time zone. Everything else a merchant owns
// carries its tenant id.
package tenant

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nimbuscommerce/nimbus"
)

// Tenant is a merchant's store.
type Tenant struct {
	ID       string
	Handle   string // unique, URL-safe: the store lives at /s/{handle}/
	Name     string
	Currency string // ISO 4217, the currency prices are set in
	TimeZone string // IANA name, for display and for "today" in reports
	// PricesIncludeTax says whether catalog prices already contain tax
	// (common in the EU and China) or have it added at checkout (the US).
	PricesIncludeTax bool
	// TaxShipping says whether shipping is taxed at the destination's rate.
	TaxShipping bool
	// ReservationMinutes is how long checkout holds stock for an unpaid order.
	ReservationMinutes int
	// Appearance of the storefront.
	ThemeColor string // #rrggbb
	LogoURL    string
	Layout     string // grid or list
	// Domain is the store's own host name, or "".
	Domain    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// DefaultReservationMinutes is how long checkout holds stock unless the store says otherwise.
const DefaultReservationMinutes = 15

// Limits on tenant fields.
const (
	MaxNameLength   = 100
	MaxHandleLength = 40
)

var handlePattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)

var colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// ValidDomain reports whether d is a lower-case host name with at least two labels.
func ValidDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") || d != strings.ToLower(d) {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if len(label) == 0 || len(label) > 63 || !handlePattern.MatchString(label) {
			return false
		}
	}
	return true
}

// reservedHandles would collide with Nimbus's own paths and host names.
var reservedHandles = []string{"admin", "api", "app", "assets", "auth", "healthz", "metrics", "nimbus", "readyz", "s", "static", "status", "www"}

// ValidateHandle checks a store handle.
func ValidateHandle(field, h string) *nimbus.FieldError {
	switch {
	case len(h) < 2 || len(h) > MaxHandleLength:
		return new(nimbus.Fieldf(field, "field.length_between", "must be %d to %d characters", 2, MaxHandleLength))
	case !handlePattern.MatchString(h):
		return new(nimbus.Fieldf(field, "field.store_handle", "may contain only lower-case letters, digits and inner hyphens"))
	case slices.Contains(reservedHandles, h):
		return new(nimbus.Fieldf(field, "field.reserved", "is reserved"))
	}
	return nil
}

// ValidateName checks a store name.
func ValidateName(field, name string) *nimbus.FieldError {
	name = strings.TrimSpace(name)
	if name == "" {
		return new(nimbus.Fieldf(field, "field.empty", "must not be empty"))
	}
	if utf8.RuneCountInString(name) > MaxNameLength {
		return new(nimbus.Fieldf(field, "field.max_length", "must be at most %d characters", MaxNameLength))
	}
	return nil
}

// ValidateCurrency checks an ISO 4217 code.
func ValidateCurrency(field, code string) *nimbus.FieldError {
	if !nimbus.ValidCurrency(code) {
		return new(nimbus.Fieldf(field, "field.currency", "must be an ISO 4217 currency code such as USD or CNY"))
	}
	return nil
}

// Location is the store's time zone, in which its staff read and type
// times. The zone was validated when it was saved; UTC stands in should the
// machine's zone database lack it.
func (t *Tenant) Location() *time.Location {
	if loc, err := time.LoadLocation(t.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// ValidateTimeZone checks an IANA time zone name.
func ValidateTimeZone(field, tz string) *nimbus.FieldError {
	if tz == "" || tz == "Local" {
		return new(nimbus.Fieldf(field, "field.time_zone", "must be an IANA time zone such as Asia/Shanghai or UTC"))
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return new(nimbus.Fieldf(field, "field.time_zone", "must be an IANA time zone such as Asia/Shanghai or UTC"))
	}
	return nil
}

// Update changes some fields of a tenant; nil fields stay as they are.
type Update struct {
	ThemeColor         *string
	LogoURL            *string
	Layout             *string
	Domain             *string // "" removes it
	Name               *string
	Currency           *string
	TimeZone           *string
	PricesIncludeTax   *bool
	TaxShipping        *bool
	ReservationMinutes *int
}

func (u Update) validate() error {
	var errs []nimbus.FieldError
	add := func(fe *nimbus.FieldError) {
		if fe != nil {
			errs = append(errs, *fe)
		}
	}
	if u.Name != nil {
		add(ValidateName("name", *u.Name))
	}
	if u.Currency != nil {
		add(ValidateCurrency("currency", *u.Currency))
	}
	if u.TimeZone != nil {
		add(ValidateTimeZone("time_zone", *u.TimeZone))
	}
	if u.ThemeColor != nil && !colorPattern.MatchString(*u.ThemeColor) {
		add(new(nimbus.Fieldf("theme_color", "field.colour", "must be a colour such as #1f5f4a")))
	}
	if u.LogoURL != nil && *u.LogoURL != "" {
		if l, err := url.Parse(*u.LogoURL); err != nil || (l.Scheme != "https" && l.Scheme != "http") || l.Host == "" || len(*u.LogoURL) > 2048 {
			add(new(nimbus.Fieldf("logo_url", "field.url", "must be an http or https URL")))
		}
	}
	if u.Layout != nil && *u.Layout != "grid" && *u.Layout != "list" {
		add(new(nimbus.Fieldf("layout", "field.layout", "must be grid or list")))
	}
	if u.Domain != nil && *u.Domain != "" && !ValidDomain(*u.Domain) {
		add(new(nimbus.Fieldf("domain", "field.domain", "must be a host name such as shop.example.com")))
	}
	if u.ReservationMinutes != nil && (*u.ReservationMinutes < 1 || *u.ReservationMinutes > 7*24*60) {
		add(new(nimbus.Fieldf("reservation_minutes", "field.reservation_minutes", "must be between %d and %d (a week)", 1, 7*24*60)))
	}
	if len(errs) > 0 {
		return nimbus.Invalid(errs...)
	}
	return nil
}
