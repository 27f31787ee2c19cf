package pricing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// Discount is a discount code.
type Discount struct {
	ID               string
	Code             string // stored upper-case; matched case-insensitively
	Kind             string
	PercentBP        int64
	Amount           int64
	MinSubtotal      int64
	StartsAt         time.Time
	EndsAt           *time.Time
	UsageLimit       *int64
	PerCustomerLimit *int64
	TimesUsed        int64
	Active           bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Rule returns the pricing rule of d.
func (d *Discount) Rule() *DiscountRule {
	return &DiscountRule{Kind: d.Kind, PercentBP: d.PercentBP, Amount: d.Amount}
}

// ShippingZone is a set of countries with their shipping rates.
type ShippingZone struct {
	ID        string
	Name      string
	Countries []string
	Rates     []*ShippingRate
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ShippingRate is a flat price to ship an order to a zone, free above a
// subtotal when FreeAbove is set.
type ShippingRate struct {
	ID        string
	ZoneID    string
	Name      string
	Price     int64
	FreeAbove *int64
	CreatedAt time.Time
}

// PriceFor returns the rate's price for an order with the given subtotal.
func (r *ShippingRate) PriceFor(subtotal int64) int64 {
	if r.FreeAbove != nil && subtotal >= *r.FreeAbove {
		return 0
	}
	return r.Price
}

// TaxRate is the tax rate of a country, or of one region of it.
type TaxRate struct {
	ID        string
	Country   string
	Region    string // "" for the whole country
	Name      string
	RateBP    int64
	CreatedAt time.Time
}

// Service manages a store's pricing rules.
type Service struct {
	DB *db.DB
}

type scanner interface{ Scan(...any) error }

const discountColumns = `id, code, kind, percent_bp, amount, min_subtotal, starts_at, ends_at, usage_limit, per_customer_limit, times_used, active, created_at, updated_at`

var errDiscountNotFound = nimbus.Errorkf(nimbus.ENOTFOUND, "error.discount_not_found", "discount code not found")

func scanDiscount(row scanner) (*Discount, error) {
	var d Discount
	var ends sql.Null[time.Time]
	var usage, perCustomer sql.NullInt64
	err := row.Scan(&d.ID, &d.Code, &d.Kind, &d.PercentBP, &d.Amount, &d.MinSubtotal, &d.StartsAt, &ends, &usage, &perCustomer,
		&d.TimesUsed, &d.Active, &d.CreatedAt, &d.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errDiscountNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("scan discount: %w", err)
	}
	if ends.Valid {
		d.EndsAt = &ends.V
	}
	if usage.Valid {
		d.UsageLimit = &usage.Int64
	}
	if perCustomer.Valid {
		d.PerCustomerLimit = &perCustomer.Int64
	}
	return &d, nil
}

// DiscountInput describes a new discount code.
type DiscountInput struct {
	Code             string
	Kind             string
	PercentBP        int64
	Amount           int64
	MinSubtotal      int64
	StartsAt         *time.Time // defaults to now
	EndsAt           *time.Time
	UsageLimit       *int64
	PerCustomerLimit *int64
	Active           *bool // defaults to true
}

// DiscountUpdate changes a discount code; nil fields stay as they are.
type DiscountUpdate struct {
	Active           *bool
	EndsAt           *time.Time
	UsageLimit       *int64
	PerCustomerLimit *int64
}

func validCode(code string) bool {
	if code == "" || len(code) > 64 {
		return false
	}
	for _, r := range code {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// CreateDiscount adds a discount code. Errors: EINVALID.
func (s *Service) CreateDiscount(ctx context.Context, tenantID string, in DiscountInput) (*Discount, error) {
	in.Code = strings.ToUpper(strings.TrimSpace(in.Code))
	var fe []nimbus.FieldError
	bad := func(field, key, format string, args ...any) {
		fe = append(fe, nimbus.Fieldf(field, key, format, args...))
	}
	if !validCode(in.Code) {
		bad("code", "field.discount_code", "must be 1 to %d letters, digits, hyphens or underscores", 64)
	}
	switch in.Kind {
	case Percentage:
		if in.PercentBP < 1 || in.PercentBP > 10000 {
			bad("percent_bp", "field.percent_bp", "must be between %d and %d basis points (0.01%% to 100%%)", 1, 10000)
		}
		in.Amount = 0
	case FixedAmount:
		if in.Amount < 1 || in.Amount > 1_000_000_000_000 {
			bad("amount", "field.between_minor", "must be between %d and %d minor units", 1, int64(1_000_000_000_000))
		}
		in.PercentBP = 0
	default:
		bad("kind", "field.discount_kind", "must be percentage or fixed_amount")
	}
	if in.MinSubtotal < 0 || in.MinSubtotal > 1_000_000_000_000 {
		bad("min_subtotal", "field.between", "must be between %d and %d", 0, int64(1_000_000_000_000))
	}
	if in.StartsAt != nil && in.EndsAt != nil && !in.EndsAt.After(*in.StartsAt) {
		bad("ends_at", "field.after_start", "must be after starts_at")
	}
	if in.UsageLimit != nil && *in.UsageLimit < 1 {
		bad("usage_limit", "field.at_least", "must be at least %d", 1)
	}
	if in.PerCustomerLimit != nil && *in.PerCustomerLimit < 1 {
		bad("per_customer_limit", "field.at_least", "must be at least %d", 1)
	}
	if len(fe) > 0 {
		return nil, nimbus.Invalid(fe...)
	}
	d := &Discount{ID: nimbus.NewID(nimbus.PrefixDiscount), Code: in.Code, Kind: in.Kind, PercentBP: in.PercentBP, Amount: in.Amount,
		MinSubtotal: in.MinSubtotal, EndsAt: in.EndsAt, UsageLimit: in.UsageLimit, PerCustomerLimit: in.PerCustomerLimit,
		Active: in.Active == nil || *in.Active}
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		d.StartsAt = tx.Now
		if in.StartsAt != nil {
			d.StartsAt = in.StartsAt.UTC()
		}
		d.CreatedAt, d.UpdatedAt = tx.Now, tx.Now
		_, err := tx.Exec(ctx, `INSERT INTO discount_codes (id, tenant_id, code, kind, percent_bp, amount, min_subtotal, starts_at, ends_at,
			usage_limit, per_customer_limit, times_used, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
			d.ID, tx.TenantID(), d.Code, d.Kind, d.PercentBP, d.Amount, d.MinSubtotal, d.StartsAt, d.EndsAt, d.UsageLimit,
			d.PerCustomerLimit, d.Active, d.CreatedAt, d.UpdatedAt)
		if db.IsUniqueViolation(err) {
			return nimbus.Invalid(nimbus.Fieldf("code", "field.discount_code_taken", "is already a discount code of this store"))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func findDiscount(ctx context.Context, tx *db.TenantTx, column, value string) (*Discount, error) {
	return scanDiscount(tx.QueryRow(ctx, `SELECT `+discountColumns+` FROM discount_codes WHERE tenant_id = ? AND `+column+` = ?`,
		tx.TenantID(), value))
}

// FindDiscountByID returns a discount code. Errors: ENOTFOUND.
func (s *Service) FindDiscountByID(ctx context.Context, tenantID, id string) (*Discount, error) {
	if !nimbus.ValidID(nimbus.PrefixDiscount, id) {
		return nil, errDiscountNotFound
	}
	var d *Discount
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		d, err = findDiscount(ctx, tx, "id", id)
		return err
	})
	return d, err
}

// FindDiscounts lists discount codes in id order, up to limit+1.
func (s *Service) FindDiscounts(ctx context.Context, tenantID, after string, limit int) ([]*Discount, error) {
	return s.FindDiscountsMatching(ctx, tenantID, "", after, limit)
}

// FindDiscountsMatching lists the discount codes that contain query, in id
// order, up to limit+1.
func (s *Service) FindDiscountsMatching(ctx context.Context, tenantID, query, after string, limit int) ([]*Discount, error) {
	var ds []*Discount
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		where, args := "tenant_id = ?", []any{tx.TenantID()}
		if q := strings.ToUpper(strings.TrimSpace(query)); q != "" {
			where, args = where+" AND code LIKE ?", append(args, "%"+q+"%")
		}
		if after != "" {
			where, args = where+" AND id > ?", append(args, after)
		}
		rows, err := tx.Query(ctx, `SELECT `+discountColumns+` FROM discount_codes WHERE `+where+` ORDER BY id LIMIT ?`, append(args, limit+1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		ds = []*Discount{}
		for rows.Next() {
			d, err := scanDiscount(rows)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		return rows.Err()
	})
	return ds, err
}

// UpdateDiscount changes a discount code. Errors: EINVALID, ENOTFOUND.
func (s *Service) UpdateDiscount(ctx context.Context, tenantID, id string, u DiscountUpdate) (*Discount, error) {
	if u.UsageLimit != nil && *u.UsageLimit < 1 {
		return nil, nimbus.Invalid(nimbus.Fieldf("usage_limit", "field.at_least", "must be at least %d", 1))
	}
	if u.PerCustomerLimit != nil && *u.PerCustomerLimit < 1 {
		return nil, nimbus.Invalid(nimbus.Fieldf("per_customer_limit", "field.at_least", "must be at least %d", 1))
	}
	if !nimbus.ValidID(nimbus.PrefixDiscount, id) {
		return nil, errDiscountNotFound
	}
	var d *Discount
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		if d, err = findDiscount(ctx, tx, "id", id); err != nil {
			return err
		}
		if u.Active != nil {
			d.Active = *u.Active
		}
		if u.EndsAt != nil {
			if !u.EndsAt.After(d.StartsAt) {
				return nimbus.Invalid(nimbus.Fieldf("ends_at", "field.after_start", "must be after starts_at"))
			}
			e := u.EndsAt.UTC()
			d.EndsAt = &e
		}
		if u.UsageLimit != nil {
			if *u.UsageLimit < d.TimesUsed {
				return nimbus.Invalid(nimbus.Fieldf("usage_limit", "field.below_used", "is below the times the code was already used"))
			}
			d.UsageLimit = u.UsageLimit
		}
		if u.PerCustomerLimit != nil {
			d.PerCustomerLimit = u.PerCustomerLimit
		}
		d.UpdatedAt = tx.Now
		_, err = tx.Exec(ctx, `UPDATE discount_codes SET active = ?, ends_at = ?, usage_limit = ?, per_customer_limit = ?, updated_at = ?
			WHERE tenant_id = ? AND id = ?`, d.Active, d.EndsAt, d.UsageLimit, d.PerCustomerLimit, d.UpdatedAt, tx.TenantID(), d.ID)
		return err
	})
	return d, err
}

// CheckDiscount finds a code for a cart inside the caller's transaction and
// says whether it applies now; subtotal is in currency, the store's.
// Errors: EINVALID naming discount_code, with the reason (unknown, not
// active yet, expired, minimum not met, used up).
func CheckDiscount(ctx context.Context, tx *db.TenantTx, code, email, customerID string, subtotal int64, currency string) (*Discount, error) {
	invalid := func(key, msg string) error {
		return nimbus.Invalid(nimbus.FieldError{Field: "discount_code", Message: msg, Key: key})
	}
	d, err := findDiscount(ctx, tx, "code", strings.ToUpper(strings.TrimSpace(code)))
	if nimbus.ErrorCode(err) == nimbus.ENOTFOUND {
		return nil, invalid("field.not_discount_code", "is not a discount code of this store")
	}
	if err != nil {
		return nil, err
	}
	switch {
	case !d.Active:
		return nil, invalid("field.discount_inactive", "is not active")
	case tx.Now.Before(d.StartsAt):
		return nil, invalid("field.discount_not_yet", "is not valid yet")
	case d.EndsAt != nil && !tx.Now.Before(*d.EndsAt):
		return nil, invalid("field.discount_expired", "has expired")
	case subtotal < d.MinSubtotal:
		// The API answers minor units; pages, the currency's major ones.
		return nil, nimbus.Invalid(nimbus.FieldError{Field: "discount_code", Message: fmt.Sprintf("needs a subtotal of at least %d", d.MinSubtotal),
			Key: "field.min_subtotal", Args: []any{nimbus.FormatMinor(d.MinSubtotal, currency)}})
	case d.UsageLimit != nil && d.TimesUsed >= *d.UsageLimit:
		return nil, invalid("field.discount_used_up", "has been used up")
	}
	if d.PerCustomerLimit != nil && (email != "" || customerID != "") {
		// A signed-in customer is known by their account too, so changing
		// the cart's email does not get round the limit.
		var n int64
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM discount_redemptions WHERE tenant_id = ? AND discount_id = ? AND (email = ? OR customer_id = ?)`,
			tx.TenantID(), d.ID, strings.ToLower(email), customerID).Scan(&n); err != nil {
			return nil, err
		}
		if n >= *d.PerCustomerLimit {
			return nil, invalid("field.discount_customer_limit", "has already been used by this customer as often as allowed")
		}
	}
	return d, nil
}

// Redeem counts one use of a discount for an order, in the caller's
// transaction. The usage limit is enforced by the update itself, so two
// checkouts racing for the last use cannot both get it.
func Redeem(ctx context.Context, tx *db.TenantTx, d *Discount, orderID, email, customerID string) error {
	res, err := tx.Exec(ctx, `UPDATE discount_codes SET times_used = times_used + 1
		WHERE tenant_id = ? AND id = ? AND (usage_limit IS NULL OR times_used < usage_limit)`, tx.TenantID(), d.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nimbus.Invalid(nimbus.Fieldf("discount_code", "field.discount_used_up", "has been used up"))
	}
	var customer any
	if customerID != "" {
		customer = customerID
	}
	_, err = tx.Exec(ctx, `INSERT INTO discount_redemptions (id, tenant_id, discount_id, order_id, email, customer_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		nimbus.NewID(nimbus.PrefixRedemption), tx.TenantID(), d.ID, orderID, strings.ToLower(email), customer, tx.Now)
	return err
}

// Unredeem gives back the discount use of a canceled order, in the
// caller's transaction, so that unpaid or canceled orders do not use up a
// limited code. An order without a discount is left alone.
func Unredeem(ctx context.Context, tx *db.TenantTx, orderID string) error {
	var discountID string
	err := tx.QueryRow(ctx, `SELECT discount_id FROM discount_redemptions WHERE tenant_id = ? AND order_id = ?`, tx.TenantID(), orderID).Scan(&discountID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM discount_redemptions WHERE tenant_id = ? AND order_id = ?`, tx.TenantID(), orderID); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE discount_codes SET times_used = times_used - 1 WHERE tenant_id = ? AND id = ? AND times_used > 0`,
		tx.TenantID(), discountID)
	return err
}

// ShippingInput describes a new zone with its rates.
type ShippingInput struct {
	Name      string
	Countries []string
	Rates     []RateInput
}

// RateInput describes a shipping rate.
type RateInput struct {
	Name      string
	Price     int64
	FreeAbove *int64
}

func validateRate(fe *[]nimbus.FieldError, field string, r RateInput) {
	if strings.TrimSpace(r.Name) == "" || utf8.RuneCountInString(r.Name) > 100 {
		*fe = append(*fe, nimbus.Fieldf(field+".name", "field.length", "must be 1 to %d characters", 100))
	}
	if r.Price < 0 || r.Price > 1_000_000_000_000 {
		*fe = append(*fe, nimbus.Fieldf(field+".price", "field.between", "must be between %d and %d", 0, int64(1_000_000_000_000)))
	}
	if r.FreeAbove != nil && (*r.FreeAbove < 0 || *r.FreeAbove > 1_000_000_000_000) {
		*fe = append(*fe, nimbus.Fieldf(field+".free_above", "field.between", "must be between %d and %d", 0, int64(1_000_000_000_000)))
	}
}

func validateCountries(fe *[]nimbus.FieldError, cs []string) {
	if len(cs) == 0 || len(cs) > 250 {
		*fe = append(*fe, nimbus.Fieldf("countries", "field.countries", "must list 1 to %d ISO 3166-1 alpha-2 codes", 250))
		return
	}
	for _, c := range cs {
		if !nimbus.ValidCountry(c) {
			*fe = append(*fe, nimbus.Fieldf("countries", "field.not_country", "%s is not an ISO 3166-1 alpha-2 country code such as US or CN", c))
			return
		}
	}
}

// CreateShippingZone adds a zone with its rates. A country belongs to at
// most one zone. Errors: EINVALID.
func (s *Service) CreateShippingZone(ctx context.Context, tenantID string, in ShippingInput) (*ShippingZone, error) {
	var fe []nimbus.FieldError
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 100 {
		fe = append(fe, nimbus.Fieldf("name", "field.length", "must be 1 to %d characters", 100))
	}
	validateCountries(&fe, in.Countries)
	if len(in.Rates) > 20 {
		fe = append(fe, nimbus.Fieldf("rates", "field.max_rates", "a zone has at most %d rates", 20))
	}
	for i, r := range in.Rates {
		validateRate(&fe, fmt.Sprintf("rates[%d]", i), r)
	}
	if len(fe) > 0 {
		return nil, nimbus.Invalid(fe...)
	}
	z := &ShippingZone{ID: nimbus.NewID(nimbus.PrefixZone), Name: in.Name, Countries: in.Countries}
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		z.CreatedAt, z.UpdatedAt = tx.Now, tx.Now
		if _, err := tx.Exec(ctx, `INSERT INTO shipping_zones (id, tenant_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			z.ID, tx.TenantID(), z.Name, tx.Now, tx.Now); err != nil {
			return err
		}
		for i, c := range z.Countries {
			_, err := tx.Exec(ctx, `INSERT INTO shipping_zone_countries (tenant_id, zone_id, country, position) VALUES (?, ?, ?, ?)`,
				tx.TenantID(), z.ID, c, i)
			if db.IsUniqueViolation(err) {
				return nimbus.Invalid(nimbus.Fieldf("countries", "field.country_zoned", "%s is already in another shipping zone, or listed twice", c))
			}
			if err != nil {
				return err
			}
		}
		for _, ri := range in.Rates {
			r, err := insertRate(ctx, tx, z.ID, ri)
			if err != nil {
				return err
			}
			z.Rates = append(z.Rates, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return z, nil
}

func insertRate(ctx context.Context, tx *db.TenantTx, zoneID string, in RateInput) (*ShippingRate, error) {
	r := &ShippingRate{ID: nimbus.NewID(nimbus.PrefixRate), ZoneID: zoneID, Name: strings.TrimSpace(in.Name), Price: in.Price,
		FreeAbove: in.FreeAbove, CreatedAt: tx.Now}
	_, err := tx.Exec(ctx, `INSERT INTO shipping_rates (id, tenant_id, zone_id, name, price, free_above, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.ID, tx.TenantID(), r.ZoneID, r.Name, r.Price, r.FreeAbove, r.CreatedAt)
	return r, err
}

// AddShippingRate adds a rate to a zone. Errors: EINVALID, ENOTFOUND.
func (s *Service) AddShippingRate(ctx context.Context, tenantID, zoneID string, in RateInput) (*ShippingRate, error) {
	var fe []nimbus.FieldError
	validateRate(&fe, "rate", in)
	if len(fe) > 0 {
		return nil, nimbus.Invalid(fe...)
	}
	var r *ShippingRate
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		if _, err := findZone(ctx, tx, zoneID); err != nil {
			return err
		}
		var err error
		r, err = insertRate(ctx, tx, zoneID, in)
		return err
	})
	return r, err
}

// DeleteShippingRate removes a rate. Errors: ENOTFOUND.
func (s *Service) DeleteShippingRate(ctx context.Context, tenantID, id string) error {
	return s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		res, err := tx.Exec(ctx, `DELETE FROM shipping_rates WHERE tenant_id = ? AND id = ?`, tx.TenantID(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nimbus.Errorkf(nimbus.ENOTFOUND, "error.rate_not_found", "shipping rate not found")
		}
		return nil
	})
}

// DeleteShippingZone removes a zone and its rates. Errors: ENOTFOUND.
func (s *Service) DeleteShippingZone(ctx context.Context, tenantID, id string) error {
	return s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		if _, err := findZone(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM shipping_rates WHERE tenant_id = ? AND zone_id = ?`, tx.TenantID(), id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM shipping_zone_countries WHERE tenant_id = ? AND zone_id = ?`, tx.TenantID(), id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM shipping_zones WHERE tenant_id = ? AND id = ?`, tx.TenantID(), id)
		return err
	})
}

var errZoneNotFound = nimbus.Errorkf(nimbus.ENOTFOUND, "error.zone_not_found", "shipping zone not found")

func findZones(ctx context.Context, tx *db.TenantTx) ([]*ShippingZone, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, created_at, updated_at FROM shipping_zones WHERE tenant_id = ? ORDER BY id`, tx.TenantID())
	if err != nil {
		return nil, err
	}
	zones := []*ShippingZone{}
	byID := map[string]*ShippingZone{}
	for rows.Next() {
		var z ShippingZone
		if err := rows.Scan(&z.ID, &z.Name, &z.CreatedAt, &z.UpdatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		z.Countries, z.Rates = []string{}, []*ShippingRate{}
		zones = append(zones, &z)
		byID[z.ID] = &z
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT zone_id, country FROM shipping_zone_countries WHERE tenant_id = ? ORDER BY zone_id, position`, tx.TenantID())
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var zoneID, country string
		if err := rows.Scan(&zoneID, &country); err != nil {
			rows.Close()
			return nil, err
		}
		if z := byID[zoneID]; z != nil {
			z.Countries = append(z.Countries, country)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT id, zone_id, name, price, free_above, created_at FROM shipping_rates WHERE tenant_id = ? ORDER BY price, id`, tx.TenantID())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRate(rows)
		if err != nil {
			return nil, err
		}
		if z := byID[r.ZoneID]; z != nil {
			z.Rates = append(z.Rates, r)
		}
	}
	return zones, rows.Err()
}

func scanRate(row scanner) (*ShippingRate, error) {
	var r ShippingRate
	var free sql.NullInt64
	if err := row.Scan(&r.ID, &r.ZoneID, &r.Name, &r.Price, &free, &r.CreatedAt); err != nil {
		return nil, err
	}
	if free.Valid {
		r.FreeAbove = &free.Int64
	}
	return &r, nil
}

func findZone(ctx context.Context, tx *db.TenantTx, id string) (*ShippingZone, error) {
	zones, err := findZones(ctx, tx)
	if err != nil {
		return nil, err
	}
	for _, z := range zones {
		if z.ID == id {
			return z, nil
		}
	}
	return nil, errZoneNotFound
}

// FindShippingZones lists every zone with its rates.
func (s *Service) FindShippingZones(ctx context.Context, tenantID string) ([]*ShippingZone, error) {
	var zs []*ShippingZone
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		zs, err = findZones(ctx, tx)
		return err
	})
	return zs, err
}

// FindShippingZoneByID returns a zone. Errors: ENOTFOUND.
func (s *Service) FindShippingZoneByID(ctx context.Context, tenantID, id string) (*ShippingZone, error) {
	var z *ShippingZone
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		z, err = findZone(ctx, tx, id)
		return err
	})
	return z, err
}

// RatesFor returns the shipping rates to a country, in the caller's transaction.
func RatesFor(ctx context.Context, tx *db.TenantTx, country string) ([]*ShippingRate, error) {
	rows, err := tx.Query(ctx, `SELECT r.id, r.zone_id, r.name, r.price, r.free_above, r.created_at
		FROM shipping_rates r JOIN shipping_zone_countries c ON c.tenant_id = r.tenant_id AND c.zone_id = r.zone_id
		WHERE r.tenant_id = ? AND c.country = ? ORDER BY r.price, r.id`, tx.TenantID(), country)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rates := []*ShippingRate{}
	for rows.Next() {
		r, err := scanRate(rows)
		if err != nil {
			return nil, err
		}
		rates = append(rates, r)
	}
	return rates, rows.Err()
}

// TaxRateInput describes a tax rate.
type TaxRateInput struct {
	Country string
	Region  string
	Name    string
	RateBP  int64
}

// SetTaxRate creates or replaces the rate of a country (or region).
// Errors: EINVALID.
func (s *Service) SetTaxRate(ctx context.Context, tenantID string, in TaxRateInput) (*TaxRate, error) {
	var fe []nimbus.FieldError
	if !nimbus.ValidCountry(in.Country) {
		fe = append(fe, nimbus.Fieldf("country", "field.country", "must be an ISO 3166-1 alpha-2 country code such as US or CN"))
	}
	in.Region = strings.ToUpper(strings.TrimSpace(in.Region))
	if len(in.Region) > 10 {
		fe = append(fe, nimbus.Fieldf("region", "field.region", "must be at most %d characters (an ISO 3166-2 subdivision such as CA or ZJ)", 10))
	}
	if in.RateBP < 0 || in.RateBP > 10000 {
		fe = append(fe, nimbus.Fieldf("rate_bp", "field.basis_points", "must be between %d and %d basis points", 0, 10000))
	}
	if utf8.RuneCountInString(in.Name) > 100 {
		fe = append(fe, nimbus.Fieldf("name", "field.max_length", "must be at most %d characters", 100))
	}
	if len(fe) > 0 {
		return nil, nimbus.Invalid(fe...)
	}
	t := &TaxRate{ID: nimbus.NewID(nimbus.PrefixTaxRate), Country: in.Country, Region: in.Region, Name: in.Name, RateBP: in.RateBP}
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		t.CreatedAt = tx.Now
		// One statement, so that two staff setting the same rate at once
		// both succeed (the last wins) instead of one hitting the unique key.
		if _, err := tx.Exec(ctx, `INSERT INTO tax_rates (id, tenant_id, country, region, name, rate_bp, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, country, region) DO UPDATE SET name = excluded.name, rate_bp = excluded.rate_bp`,
			t.ID, tx.TenantID(), t.Country, t.Region, t.Name, t.RateBP, t.CreatedAt); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT id, created_at FROM tax_rates WHERE tenant_id = ? AND country = ? AND region = ?`,
			tx.TenantID(), t.Country, t.Region).Scan(&t.ID, &t.CreatedAt)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteTaxRate removes a tax rate. Errors: ENOTFOUND.
func (s *Service) DeleteTaxRate(ctx context.Context, tenantID, id string) error {
	return s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		res, err := tx.Exec(ctx, `DELETE FROM tax_rates WHERE tenant_id = ? AND id = ?`, tx.TenantID(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nimbus.Errorkf(nimbus.ENOTFOUND, "error.tax_rate_not_found", "tax rate not found")
		}
		return nil
	})
}

// FindTaxRates lists every tax rate of the store.
func (s *Service) FindTaxRates(ctx context.Context, tenantID string) ([]*TaxRate, error) {
	var ts []*TaxRate
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		rows, err := tx.Query(ctx, `SELECT id, country, region, name, rate_bp, created_at FROM tax_rates WHERE tenant_id = ? ORDER BY country, region`, tx.TenantID())
		if err != nil {
			return err
		}
		defer rows.Close()
		ts = []*TaxRate{}
		for rows.Next() {
			var t TaxRate
			if err := rows.Scan(&t.ID, &t.Country, &t.Region, &t.Name, &t.RateBP, &t.CreatedAt); err != nil {
				return err
			}
			ts = append(ts, &t)
		}
		return rows.Err()
	})
	return ts, err
}

// TaxRateFor returns the rate in basis points for a destination, in the
// caller's transaction: the region's own rate if there is one, else the
// country's, else zero.
func TaxRateFor(ctx context.Context, tx *db.TenantTx, country, region string) (int64, error) {
	var rate int64
	err := tx.QueryRow(ctx, `SELECT rate_bp FROM tax_rates WHERE tenant_id = ? AND country = ? AND region IN (?, '')
		ORDER BY region DESC LIMIT 1`, tx.TenantID(), country, strings.ToUpper(region)).Scan(&rate)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return rate, err
}
