package checkout

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/catalog"
	"github.com/nimbuscommerce/nimbus/internal/customer"
	"github.com/nimbuscommerce/nimbus/internal/identity"
	"github.com/nimbuscommerce/nimbus/internal/inventory"
	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/secret"
	"github.com/nimbuscommerce/nimbus/internal/pricing"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

// Tenants gives a store's settings.
type Tenants interface {
	Cached(ctx context.Context, id string) (*tenant.Tenant, error)
}

// Service runs carts and checkout.
type Service struct {
	DB      *db.DB
	Tenants Tenants
	Orders  *order.Service
}

// Priced is a cart with everything recomputed from the catalog and the
// store's rules at this moment.
type Priced struct {
	Cart             *Cart
	Lines            []PricedLine
	Totals           pricing.Totals
	PricesIncludeTax bool
	ShippingRates    []RateOption // rates to the cart's address
	ShippingRate     *RateOption  // the chosen one, if still available
	DiscountError    string       // why the cart's code does not apply now, if it does not
	discountErr      error        // the same, as pricing.CheckDiscount answered it: with its catalog key, for pages
}

// PricedLine is a cart line with its variant, product and amounts.
type PricedLine struct {
	Line      *Line
	Variant   *catalog.Variant
	Product   *catalog.Product
	Available *int64 // for tracked variants
	Amounts   pricing.LineTotals
	// Problem says why the line cannot be bought as it is (the product
	// gone, too few in stock); pages show it in the visitor's language.
	Problem error
}

// RateOption is a shipping rate priced for the cart.
type RateOption struct {
	ID    string
	Name  string
	Price int64
}

// price recomputes a cart. strict makes every problem an error (checkout);
// otherwise problems are reported on the result (showing a cart).
func price(ctx context.Context, tx *db.TenantTx, t *tenant.Tenant, c *Cart, strict bool) (*Priced, error) {
	p := &Priced{Cart: c, PricesIncludeTax: t.PricesIncludeTax, ShippingRates: []RateOption{}}
	ids := make([]string, len(c.Lines))
	for i, l := range c.Lines {
		ids[i] = l.VariantID
	}
	variants, products, err := catalog.LookupVariants(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	avail, err := inventory.AvailableIn(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	var in pricing.Input
	var subtotal int64
	for _, l := range c.Lines {
		pl := PricedLine{Line: l, Variant: variants[l.VariantID]}
		if pl.Variant != nil {
			pl.Product = products[pl.Variant.ProductID]
		}
		switch {
		case pl.Variant == nil || pl.Product == nil || pl.Product.Status != catalog.StatusActive:
			pl.Problem = nimbus.Errorkf(nimbus.ECONFLICT, "error.no_longer_for_sale", "this product is no longer for sale")
		case pl.Variant.TrackInventory:
			n := avail[l.VariantID]
			pl.Available = &n
			if n < l.Quantity {
				pl.Problem = nimbus.Errorkf(nimbus.ESTOCK, "error.only_left", "only %d left in stock", max(n, 0))
			}
		}
		if pl.Problem != nil && strict {
			if pl.Available != nil {
				return nil, nimbus.Errorkf(nimbus.ESTOCK, "error.stock_of_left", "not enough stock of %s (%s): only %d left in stock", pl.Product.Title, pl.Variant.SKU, max(*pl.Available, 0))
			}
			return nil, nimbus.Invalid(nimbus.Fieldf("lines", "field.cart_not_for_sale", "a product in the cart is no longer for sale"))
		}
		p.Lines = append(p.Lines, pl)
		if pl.Variant != nil && pl.Product != nil && pl.Product.Status == catalog.StatusActive {
			in.Lines = append(in.Lines, pricing.Line{UnitPrice: pl.Variant.Price, Quantity: l.Quantity})
			subtotal += pl.Variant.Price * l.Quantity
		} else {
			in.Lines = append(in.Lines, pricing.Line{UnitPrice: 0, Quantity: l.Quantity})
		}
	}
	if c.DiscountCode != "" {
		d, err := pricing.CheckDiscount(ctx, tx, c.DiscountCode, c.Email, c.CustomerID, subtotal, t.Currency)
		switch {
		case err == nil:
			in.Discount = d.Rule()
		case strict || nimbus.ErrorCode(err) != nimbus.EINVALID:
			return nil, err
		default:
			p.discountErr = err
			p.DiscountError = nimbus.ErrorMessage(err)
			if e, ok := errors.AsType[*nimbus.Error](err); ok && len(e.Fields) == 1 {
				p.DiscountError = e.Fields[0].Message
			}
		}
	}
	if a := c.ShippingAddress; a != nil {
		if in.TaxRateBP, err = pricing.TaxRateFor(ctx, tx, a.Country, a.Region); err != nil {
			return nil, err
		}
		rates, err := pricing.RatesFor(ctx, tx, a.Country)
		if err != nil {
			return nil, err
		}
		// Free shipping counts what the shopper pays for the goods, after
		// the discount.
		paid := subtotal - pricing.DiscountAmount(in.Discount, subtotal)
		for _, r := range rates {
			opt := RateOption{ID: r.ID, Name: r.Name, Price: r.PriceFor(paid)}
			p.ShippingRates = append(p.ShippingRates, opt)
			if r.ID == c.ShippingRateID {
				p.ShippingRate = &opt
				in.Shipping = opt.Price
			}
		}
	}
	in.PricesIncludeTax, in.TaxShipping = t.PricesIncludeTax, t.TaxShipping
	if p.Totals, err = pricing.Compute(in); err != nil {
		if errors.Is(err, pricing.ErrTooLarge) {
			return nil, nimbus.Invalid(nimbus.Fieldf("lines", "field.cart_total_too_large", "the cart's total is too large"))
		}
		return nil, err
	}
	for i := range p.Lines {
		p.Lines[i].Amounts = p.Totals.Lines[i]
	}
	return p, nil
}

// Shopper is a customer signed in to their account, for whom a cart is opened.
type Shopper struct {
	CustomerID string
	Email      string
}

// CreateCart opens an empty cart in the store's currency, for a signed-in
// customer when shopper is not nil, and returns it with its token, the
// cart's only key.
func (s *Service) CreateCart(ctx context.Context, tenantID string, shopper *Shopper) (*Priced, string, error) {
	t, err := s.Tenants.Cached(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	token := secret.New()
	c := &Cart{ID: nimbus.NewID(nimbus.PrefixCart), Status: StatusOpen, Currency: t.Currency, Lines: []*Line{}}
	if shopper != nil {
		c.CustomerID, c.Email = shopper.CustomerID, shopper.Email
	}
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		return insertCart(ctx, tx, c, token)
	})
	if err != nil {
		return nil, "", err
	}
	// An empty cart costs nothing: no need to ask the database.
	return &Priced{Cart: c, PricesIncludeTax: t.PricesIncludeTax, ShippingRates: []RateOption{}, Totals: pricing.Totals{Lines: []pricing.LineTotals{}}}, token, nil
}

// GetCart returns a cart priced now. Errors: ENOTFOUND.
func (s *Service) GetCart(ctx context.Context, tenantID, token string) (*Priced, error) {
	t, err := s.Tenants.Cached(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var p *Priced
	err = s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		c, err := findCart(ctx, tx, token, false)
		if err != nil {
			return err
		}
		p, err = price(ctx, tx, t, c, false)
		return err
	})
	return p, err
}

// prepare reads an open cart and lets fn check and apply a change to it in
// memory, on the read pool, and returns the changed cart priced. The write
// that follows is then a single statement or two: on SQLite every write
// transaction takes turns with all others, so reading and pricing stay out
// of it. A concurrent change to the same cart can make the answer a moment
// stale; checkout prices the cart again, strictly, inside its transaction.
func (s *Service) prepare(ctx context.Context, tenantID, token string, fn func(tx *db.TenantTx, t *tenant.Tenant, c *Cart) (*Priced, error)) (*Priced, error) {
	t, err := s.Tenants.Cached(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var p *Priced
	err = s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		c, err := findCart(ctx, tx, token, false)
		if err != nil {
			return err
		}
		if c.Status != StatusOpen {
			return errCheckedOut
		}
		if p, err = fn(tx, t, c); err != nil || p != nil {
			return err // fn priced the changed cart itself
		}
		p, err = price(ctx, tx, t, c, false)
		return err
	})
	return p, err
}

var errCheckedOut = nimbus.Errorkf(nimbus.ECONFLICT, "error.cart_checked_out", "this cart has been checked out; start a new one")

// openCartID returns the id of the open cart with a token, in a write transaction.
func openCartID(ctx context.Context, tx *db.TenantTx, token string) (string, error) {
	var id, status string
	err := tx.QueryRow(ctx, `SELECT id, status FROM carts WHERE tenant_id = ? AND token_hash = ?`+tx.ForUpdate(),
		tx.TenantID(), secret.Hash(token)).Scan(&id, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errCartNotFound
	}
	if err != nil {
		return "", err
	}
	if status != StatusOpen {
		return "", errCheckedOut
	}
	return id, nil
}

func validQuantity(q int64) error {
	if q < 1 || q > MaxQuantity {
		return nimbus.Invalid(nimbus.Fieldf("quantity", "field.between", "must be between %d and %d", 1, MaxQuantity))
	}
	return nil
}

// priceChecked prices a changed cart and makes sure its line of a variant
// can be bought: the variant is for sale in this store, and qty units are in
// stock. Pricing reads the variant and its stock anyway, so the check costs
// no query of its own.
func priceChecked(ctx context.Context, tx *db.TenantTx, t *tenant.Tenant, c *Cart, variantID string, qty int64) (*Priced, error) {
	p, err := price(ctx, tx, t, c, false)
	if err != nil {
		return nil, err
	}
	for _, pl := range p.Lines {
		if pl.Line.VariantID != variantID {
			continue
		}
		if pl.Variant == nil || pl.Product == nil || pl.Product.Status != catalog.StatusActive {
			// Another tenant's variant is as unknown here as one that never existed.
			return nil, nimbus.Invalid(nimbus.Fieldf("variant_id", "field.variant_not_for_sale", "is not a product variant for sale in this store"))
		}
		if pl.Available != nil && *pl.Available < qty {
			return nil, nimbus.Errorkf(nimbus.ESTOCK, "error.only_left_of", "only %d of %s left in stock", max(*pl.Available, 0), pl.Variant.SKU)
		}
	}
	return p, nil
}

// AddLine puts units of a variant in the cart (adding to a line of the same
// variant). Errors: EINVALID, ENOTFOUND, ESTOCK, ECONFLICT.
func (s *Service) AddLine(ctx context.Context, tenantID, token, variantID string, qty int64) (*Priced, error) {
	if err := validQuantity(qty); err != nil {
		return nil, err
	}
	lineID := nimbus.NewID(nimbus.PrefixCartLine)
	p, err := s.prepare(ctx, tenantID, token, func(tx *db.TenantTx, t *tenant.Tenant, c *Cart) (*Priced, error) {
		var line *Line
		for _, l := range c.Lines {
			if l.VariantID == variantID {
				line = l
			}
		}
		if line == nil {
			if len(c.Lines) >= MaxLines {
				return nil, nimbus.Invalid(nimbus.Fieldf("variant_id", "field.max_lines", "a cart has at most %d lines", MaxLines))
			}
			line = &Line{ID: lineID, VariantID: variantID}
			c.Lines = append(c.Lines, line)
		}
		if line.Quantity+qty > MaxQuantity {
			return nil, nimbus.Invalid(nimbus.Fieldf("quantity", "field.max_units", "a cart holds at most %d units of a variant", MaxQuantity))
		}
		line.Quantity += qty
		return priceChecked(ctx, tx, t, c, variantID, line.Quantity)
	})
	if err != nil {
		return nil, err
	}
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		cartID, err := openCartID(ctx, tx, token)
		if err != nil {
			return err
		}
		// Added, not set: two additions at once both count. The CHECK on
		// cart_lines keeps the total within bounds even then.
		_, err = tx.Exec(ctx, `INSERT INTO cart_lines (id, tenant_id, cart_id, variant_id, quantity, created_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = cart_lines.quantity + excluded.quantity`,
			lineID, tx.TenantID(), cartID, variantID, qty, tx.Now)
		if db.IsCheckViolation(err) {
			return nimbus.Invalid(nimbus.Fieldf("quantity", "field.max_units", "a cart holds at most %d units of a variant", MaxQuantity))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// SetLineQuantity changes a line's quantity; 0 removes it.
// Errors: EINVALID, ENOTFOUND, ESTOCK, ECONFLICT.
func (s *Service) SetLineQuantity(ctx context.Context, tenantID, token, lineID string, qty int64) (*Priced, error) {
	if qty != 0 {
		if err := validQuantity(qty); err != nil {
			return nil, err
		}
	}
	p, err := s.prepare(ctx, tenantID, token, func(tx *db.TenantTx, t *tenant.Tenant, c *Cart) (*Priced, error) {
		i := slices.IndexFunc(c.Lines, func(l *Line) bool { return l.ID == lineID })
		if i < 0 {
			return nil, nimbus.Errorkf(nimbus.ENOTFOUND, "error.cart_line_not_found", "cart line not found")
		}
		line := c.Lines[i]
		if qty == 0 {
			c.Lines = slices.Delete(c.Lines, i, i+1)
			return nil, nil
		}
		grow := qty > line.Quantity
		line.Quantity = qty
		if grow {
			return priceChecked(ctx, tx, t, c, line.VariantID, qty)
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		cartID, err := openCartID(ctx, tx, token)
		if err != nil {
			return err
		}
		if qty == 0 {
			_, err = tx.Exec(ctx, `DELETE FROM cart_lines WHERE tenant_id = ? AND cart_id = ? AND id = ?`, tx.TenantID(), cartID, lineID)
		} else {
			_, err = tx.Exec(ctx, `UPDATE cart_lines SET quantity = ? WHERE tenant_id = ? AND cart_id = ? AND id = ?`, qty, tx.TenantID(), cartID, lineID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// CartUpdate changes a cart's details; nil fields stay as they are. An
// empty DiscountCode removes the code.
type CartUpdate struct {
	Email           *string
	ShippingAddress *nimbus.Address
	ShippingRateID  *string
	DiscountCode    *string
	Note            *string
}

// UpdateCart sets the cart's email, address, shipping rate, discount code
// or note, checking each against the store's rules now.
// Errors: EINVALID, ENOTFOUND, ECONFLICT.
func (s *Service) UpdateCart(ctx context.Context, tenantID, token string, u CartUpdate) (*Priced, error) {
	var fe []nimbus.FieldError
	if u.Email != nil {
		e, bad := identity.NormalizeEmail("email", *u.Email)
		if bad != nil {
			return nil, nimbus.Invalid(*bad)
		}
		u.Email = &e
	}
	if u.ShippingAddress != nil {
		u.ShippingAddress.Country = strings.ToUpper(strings.TrimSpace(u.ShippingAddress.Country))
		fe = append(fe, u.ShippingAddress.Validate("shipping_address")...)
	}
	if u.Note != nil && utf8.RuneCountInString(*u.Note) > 1000 {
		fe = append(fe, nimbus.Fieldf("note", "field.max_length", "must be at most %d characters", 1000))
	}
	if len(fe) > 0 {
		return nil, nimbus.Invalid(fe...)
	}
	var changed *Cart
	p, err := s.prepare(ctx, tenantID, token, func(tx *db.TenantTx, t *tenant.Tenant, c *Cart) (*Priced, error) {
		if u.Email != nil {
			c.Email = *u.Email
		}
		if u.ShippingAddress != nil {
			c.ShippingAddress = u.ShippingAddress
		}
		if u.Note != nil {
			c.Note = *u.Note
		}
		if u.DiscountCode != nil {
			c.DiscountCode = strings.ToUpper(strings.TrimSpace(*u.DiscountCode))
		}
		if u.ShippingRateID != nil {
			c.ShippingRateID = *u.ShippingRateID
		}
		p, err := price(ctx, tx, t, c, false)
		if err != nil {
			return nil, err
		}
		if u.DiscountCode != nil && p.discountErr != nil {
			return nil, p.discountErr
		}
		if u.ShippingRateID != nil && *u.ShippingRateID != "" && p.ShippingRate == nil {
			return nil, nimbus.Invalid(nimbus.Fieldf("shipping_rate_id", "field.rate_not_to_cart", "is not a shipping rate to the cart's address"))
		}
		if u.ShippingAddress != nil && c.ShippingRateID != "" && p.ShippingRate == nil {
			c.ShippingRateID = "" // the new address is outside the chosen rate's zone
		}
		changed = c
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		if _, err := openCartID(ctx, tx, token); err != nil {
			return err
		}
		return updateCartRow(ctx, tx, changed)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Placed is the result of a checkout.
type Placed struct {
	Order      *order.Order
	OrderToken string
}

// Checkout turns an open cart into an order, exactly once: the order, its
// stock holds, the discount's use and the completed cart are one
// transaction, and a cart that was already checked out answers ECONFLICT.
// Errors: EINVALID, ENOTFOUND, ESTOCK, ECONFLICT.
func (s *Service) Checkout(ctx context.Context, tenantID, token, provider string) (*Placed, error) {
	t, err := s.Tenants.Cached(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var placed Placed
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		c, err := findCart(ctx, tx, token, true)
		if err != nil {
			return err
		}
		if c.Status != StatusOpen {
			return nimbus.Errorkf(nimbus.ECONFLICT, "error.cart_checked_out_as", "this cart has already been checked out as order %s", c.OrderID)
		}
		var fe []nimbus.FieldError
		if len(c.Lines) == 0 {
			fe = append(fe, nimbus.Fieldf("lines", "field.cart_empty", "the cart is empty"))
		}
		if c.Email == "" {
			fe = append(fe, nimbus.Fieldf("email", "field.needed_to_check_out", "is needed to check out"))
		}
		if c.ShippingAddress == nil {
			fe = append(fe, nimbus.Fieldf("shipping_address", "field.needed_to_check_out", "is needed to check out"))
		}
		if c.ShippingRateID == "" {
			fe = append(fe, nimbus.Fieldf("shipping_rate_id", "field.choose_rate", "choose a shipping rate to check out"))
		}
		if len(fe) > 0 {
			return nimbus.Invalid(fe...)
		}
		if c.Currency != t.Currency {
			return nimbus.Errorkf(nimbus.ECONFLICT, "error.cart_currency", "the cart is in %s but the store now sells in %s; start a new cart", c.Currency, t.Currency)
		}
		p, err := price(ctx, tx, t, c, true)
		if err != nil {
			return err
		}
		if p.ShippingRate == nil {
			return nimbus.Invalid(nimbus.Fieldf("shipping_rate_id", "field.rate_gone", "is no longer available for the cart's address"))
		}
		customerID := c.CustomerID
		if customerID == "" {
			if customerID, err = customer.EnsureGuest(ctx, tx, c.Email, c.ShippingAddress.Name); err != nil {
				return err
			}
		}
		d := order.Draft{CartID: c.ID, Email: c.Email, CustomerID: customerID, SignedIn: c.CustomerID != "", ShippingAddress: *c.ShippingAddress,
			ShippingMethod: p.ShippingRate.Name, DiscountCode: c.DiscountCode, PricesIncludeTax: t.PricesIncludeTax,
			Currency: t.Currency, Subtotal: p.Totals.Subtotal, DiscountTotal: p.Totals.Discount, ShippingTotal: p.Totals.Shipping,
			TaxTotal: p.Totals.Tax, Total: p.Totals.Total, PaymentProvider: provider, Note: c.Note, ReservationMinutes: t.ReservationMinutes}
		for _, pl := range p.Lines {
			d.Lines = append(d.Lines, &order.Line{VariantID: pl.Variant.ID, ProductID: pl.Product.ID, Title: pl.Product.Title,
				VariantTitle: pl.Variant.Title, SKU: pl.Variant.SKU, TrackInventory: pl.Variant.TrackInventory, Quantity: pl.Line.Quantity,
				UnitPrice: pl.Variant.Price, Subtotal: pl.Amounts.Subtotal, Discount: pl.Amounts.Discount, Tax: pl.Amounts.Tax, Total: pl.Amounts.Total})
		}
		o, orderToken, err := s.Orders.Place(ctx, tx, d)
		if err != nil {
			return err
		}
		if c.DiscountCode != "" {
			disc, err := pricing.CheckDiscount(ctx, tx, c.DiscountCode, c.Email, c.CustomerID, p.Totals.Subtotal, t.Currency)
			if err != nil {
				return err
			}
			if err := pricing.Redeem(ctx, tx, disc, o.ID, c.Email, c.CustomerID); err != nil {
				return err
			}
		}
		res, err := tx.Exec(ctx, `UPDATE carts SET status = ?, order_id = ?, customer_id = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
			StatusCompleted, o.ID, customerID, tx.Now, tx.TenantID(), c.ID, StatusOpen)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nimbus.Errorkf(nimbus.ECONFLICT, "error.cart_already_checked_out", "this cart has already been checked out")
		}
		placed = Placed{Order: o, OrderToken: orderToken}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &placed, nil
}
