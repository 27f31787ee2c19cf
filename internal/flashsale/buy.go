package flashsale

// Buying in a sale: one request takes units from the sale's allocation,
// holds the stock and creates the order (pending payment), all in one
// transaction, or changes nothing.
//
// The allocation is one row per sale item, locked and moved once per batch
// of buys (batch.go) by a guarded UPDATE (sold + q <= allocation), so the
// database decides every sale and two nodes never oversell; CHECK (sold <=
// allocation) backs it up.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/catalog"
	"github.com/nimbuscommerce/nimbus/internal/identity"
	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/payment"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
	"github.com/nimbuscommerce/nimbus/internal/platform/secret"
	"github.com/nimbuscommerce/nimbus/internal/pricing"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

// BuyInput is a shopper's order in a sale: one variant at the sale price.
type BuyInput struct {
	SaleID          string
	VariantID       string
	Quantity        int64
	Email           string // a guest's; a signed-in customer's account email is used instead
	CustomerID      string // the signed-in customer, if any
	ShippingAddress nimbus.Address
	ShippingRateID  string // "" picks the cheapest rate to the address
	PaymentProvider string
	// IdempotencyKey makes a retry safe: the same key with the same request
	// returns the order the first request created. Optional.
	IdempotencyKey string
	// ClientIP is the address the request came from, for its rate limit.
	ClientIP string

	// requestHash identifies the buy (set by validate), so that a key
	// reused for another buy is refused rather than answered with the
	// wrong order.
	requestHash []byte
}

// Bought is the result of a buy.
type Bought struct {
	Order    *order.Order
	Token    string // the order's access token
	Replayed bool   // a retry: an earlier request with the same key created the order
}

var errSoldOut = nimbus.Errorkf(nimbus.ESOLDOUT, "error.sold_out", "sold out: nothing of this is left in the sale")

// tokenPurpose keeps the keys that seal order tokens apart from other uses.
const tokenPurpose = "nimbus flash sale order token v1"

// maxIDLength bounds the ids a buy names, and maxBuyQuantity the units of
// one buy (the API schema's maxLength and maximum).
const (
	maxIDLength    = 64
	maxBuyQuantity = 10_000
)

// validate checks what can be checked without the database: all of a
// buy's body, which the API does not validate against its schema first
// (see RegisterStorefrontAPI), its provider among the store's.
func (in *BuyInput) validate(providers payment.Providers) error {
	var fe []nimbus.FieldError
	if in.Quantity < 1 || in.Quantity > maxBuyQuantity {
		fe = append(fe, nimbus.Fieldf("quantity", "field.between", "must be between %d and %d", 1, maxBuyQuantity))
	}
	if in.VariantID == "" || len(in.VariantID) > maxIDLength {
		fe = append(fe, nimbus.Fieldf("variant_id", "field.variant_id", "must be a variant's id"))
	}
	if len(in.ShippingRateID) > maxIDLength {
		fe = append(fe, nimbus.Fieldf("shipping_rate_id", "field.rate_id", "must be a shipping rate's id"))
	}
	if bad := providers.Check(in.PaymentProvider); bad != nil {
		fe = append(fe, *bad)
	}
	if in.CustomerID == "" {
		email, bad := identity.NormalizeEmail("email", in.Email)
		if bad != nil {
			fe = append(fe, *bad)
		}
		in.Email = email
	}
	in.ShippingAddress.Normalize()
	fe = append(fe, in.ShippingAddress.Validate("shipping_address")...)
	if in.IdempotencyKey != "" {
		if bad := httpx.CheckIdempotencyKey(in.IdempotencyKey); bad != nil {
			fe = append(fe, *bad)
		}
	}
	if len(fe) > 0 {
		return nimbus.Invalid(fe...)
	}
	if in.IdempotencyKey == "" {
		in.IdempotencyKey = secret.New() // no retry can meet it
	}
	// What the buy asks for, as validated: spacing or field order in a
	// request does not make it another buy.
	asked, _ := json.Marshal([]any{in.SaleID, in.VariantID, in.Quantity, in.Email, in.CustomerID, in.ShippingAddress,
		in.ShippingRateID, in.PaymentProvider})
	h := sha256.Sum256(asked)
	in.requestHash = h[:]
	return nil
}

// scope is who a buy's idempotency key belongs to: a signed-in customer,
// or for a guest the request itself, so that only an identical request can
// meet a guest's stored key and no one can probe the keys of others.
func (in *BuyInput) scope() string {
	if in.CustomerID != "" {
		return "customer/" + in.CustomerID
	}
	return "guest/" + hex.EncodeToString(in.requestHash)
}

func (in *BuyInput) keyHash() []byte {
	h := sha256.Sum256([]byte(in.SaleID + "\x00" + in.scope() + "\x00" + in.IdempotencyKey))
	return h[:]
}

// bareKeyHash identifies a buy by its sale and Idempotency-Key alone, what
// a node can read before the body: stored with each order, so that a sold
// out sale refuses new buys unread and lets the retries of its orders in.
// It decides nothing else; the scoped keyHash decides replays.
func bareKeyHash(saleID, key string) [32]byte {
	return sha256.Sum256([]byte("bare\x00" + saleID + "\x00" + key))
}

// Buy creates an order in an active sale: it takes the units from the
// sale's allocation and from the buyer's limit, holds the stock and places
// the order, pending payment, in one transaction, shared with the other
// buys of the item waiting at that moment. A retry with the same
// Idempotency-Key returns the same order. Once the sale is known to be sold
// out, the answer comes from memory.
// Errors: EINVALID, ENOTFOUND, ECONFLICT (not active, over the customer's
// limit), EUNAUTHORIZED (accounts only), ESOLDOUT, ESTOCK, ETOOMANY,
// EIDEMPOTENCY, EIDEMPOTENCYBUSY.
func (s *Service) Buy(ctx context.Context, tenantID string, in BuyInput) (*Bought, error) {
	if err := in.validate(s.Orders.Providers); err != nil {
		return nil, s.asSoldOut(tenantID, in.SaleID, err)
	}
	keyHash := in.keyHash()
	refuse, probe := s.soldOut(tenantID, in.SaleID, in.VariantID, keyHash)
	if refuse || !probe && s.hintOf(itemKey{tenantID, in.SaleID, in.VariantID}) == nil && s.saleSoldOut(tenantID, in.SaleID) {
		// A sold-out sale says so to a buy of a variant it does not have
		// too: answered "not found", a buy let in by an order's key (those
		// alone are read once the sale is sold out) would tell that the
		// key is an order's.
		return nil, errSoldOut
	}
	who := in.Email
	if in.CustomerID != "" {
		who = in.CustomerID
	}
	// Let in by Admission, the buy holds its place and its address's rate
	// was applied there.
	letIn := ctx.Value(admittedKey{}) == admitted{tenantID, in.SaleID}
	ip := in.ClientIP
	if letIn {
		ip = ""
	}
	err := s.allow(ip, tenantID, who)
	leave := func() {}
	if err == nil && !letIn {
		leave, err = s.admit(ctx, tenantID, in.SaleID)
	}
	if err != nil {
		if probe { // turned away before it could ask: the next buy asks
			s.forgetChecked(tenantID, in.SaleID, in.VariantID)
		}
		return nil, err
	}
	defer leave()
	p := newPendingBuy(&in, keyHash, probe)
	s.enqueue(tenantID, p) // a sold-out answer from the database is noted by the batch
	// What the database said is left, refused or not: "more" clears a
	// sold-out note even when this buy was refused for its own reasons.
	s.noteRemaining(tenantID, in.SaleID, in.VariantID, p.remaining, p.asOf)
	switch {
	case p.err != nil:
		return nil, p.err
	case p.replayOf != "":
		o, err := s.Orders.FindOrderByID(ctx, tenantID, p.replayOf)
		if err != nil {
			return nil, err
		}
		return &Bought{Order: o, Token: p.bought.Token, Replayed: true}, nil
	}
	return &p.bought, nil
}

// newPendingBuy makes a validated buy ready for its batch.
func newPendingBuy(in *BuyInput, keyHash []byte, probe bool) *pendingBuy {
	p := &pendingBuy{in: in, keyHash: keyHash, bareKey: bareKeyHash(in.SaleID, in.IdempotencyKey), probe: probe, done: make(chan struct{}),
		token: secret.New()}
	p.sealedToken = secret.Seal(in.IdempotencyKey, in.scope(), tokenPurpose, []byte(p.token))
	return p
}

// findSaleItem returns a sale and one of its items. Errors: ENOTFOUND.
func findSaleItem(ctx context.Context, tx *db.TenantTx, saleID, variantID string) (*Sale, *Item, error) {
	var s Sale
	it := Item{VariantID: variantID}
	err := tx.QueryRow(ctx, `SELECT s.starts_at, s.ends_at, s.per_customer_limit, s.accounts_only, i.sale_price, i.allocation, i.sold
		FROM flash_sales s JOIN flash_sale_items i ON i.tenant_id = s.tenant_id AND i.sale_id = s.id
		WHERE s.tenant_id = ? AND s.id = ? AND i.variant_id = ?`, tx.TenantID(), saleID, variantID).
		Scan(&s.StartsAt, &s.EndsAt, &s.PerCustomerLimit, &s.AccountsOnly, &it.SalePrice, &it.Allocation, &it.Sold)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nimbus.Errorkf(nimbus.ENOTFOUND, "error.sale_no_variant", "no such variant in this flash sale")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find flash sale item: %w", err)
	}
	s.ID, s.TenantID = saleID, tx.TenantID()
	return &s, &it, nil
}

// pricer prices the orders of one batch: the sale price, the shipping
// rate chosen and the destination's tax, each destination's rules read
// once. No discount code applies on top of a sale price.
type pricer struct {
	tenant  *tenant.Tenant
	item    *Item
	variant *catalog.Variant
	product *catalog.Product
	taxes   map[[2]string]int64
	rates   map[string][]*pricing.ShippingRate
}

// newPricer reads the sale item's variant. Errors: ECONFLICT when its
// product is no longer for sale.
func newPricer(ctx context.Context, tx *db.TenantTx, t *tenant.Tenant, variantID string, it *Item) (*pricer, error) {
	variants, products, err := catalog.LookupVariants(ctx, tx, []string{variantID})
	if err != nil {
		return nil, err
	}
	v := variants[variantID]
	var p *catalog.Product
	if v != nil {
		p = products[v.ProductID]
	}
	if p == nil || p.Status != catalog.StatusActive {
		return nil, nimbus.Errorkf(nimbus.ECONFLICT, "error.no_longer_for_sale", "this product is no longer for sale")
	}
	return &pricer{tenant: t, item: it, variant: v, product: p, taxes: map[[2]string]int64{}, rates: map[string][]*pricing.ShippingRate{}}, nil
}

func (pr *pricer) draft(ctx context.Context, tx *db.TenantTx, in *BuyInput) (*order.Draft, error) {
	a := in.ShippingAddress
	t, v, p := pr.tenant, pr.variant, pr.product
	// A sale never charges more than the regular price: one lowered below
	// the sale's since the sale was set (which Create refuses) wins.
	unitPrice := min(pr.item.SalePrice, v.Price)
	calc := pricing.Input{Lines: []pricing.Line{{UnitPrice: unitPrice, Quantity: in.Quantity}},
		PricesIncludeTax: t.PricesIncludeTax, TaxShipping: t.TaxShipping}
	dest := [2]string{a.Country, strings.ToUpper(a.Region)}
	tax, ok := pr.taxes[dest]
	if !ok {
		var err error
		if tax, err = pricing.TaxRateFor(ctx, tx, a.Country, a.Region); err != nil {
			return nil, err
		}
		pr.taxes[dest] = tax
	}
	calc.TaxRateBP = tax
	rates, ok := pr.rates[a.Country]
	if !ok {
		var err error
		if rates, err = pricing.RatesFor(ctx, tx, a.Country); err != nil {
			return nil, err
		}
		pr.rates[a.Country] = rates
	}
	var rate *pricing.ShippingRate
	for _, r := range rates { // cheapest first
		if r.ID == in.ShippingRateID || (in.ShippingRateID == "" && rate == nil) {
			rate = r
		}
	}
	if rate == nil && in.ShippingRateID == "" {
		return nil, nimbus.Invalid(nimbus.Fieldf("shipping_address.country", "field.no_shipping", "the store does not ship there"))
	}
	if rate == nil {
		return nil, nimbus.Invalid(nimbus.Fieldf("shipping_rate_id", "field.rate_elsewhere", "is not a shipping rate to this address"))
	}
	calc.Shipping = rate.PriceFor(unitPrice * in.Quantity)
	totals, err := pricing.Compute(calc)
	if errors.Is(err, pricing.ErrTooLarge) {
		return nil, nimbus.Invalid(nimbus.Fieldf("quantity", "field.total_too_large", "the order's total is too large"))
	}
	if err != nil {
		return nil, err
	}
	lt := totals.Lines[0]
	return &order.Draft{Email: in.Email, CustomerID: in.CustomerID, SignedIn: in.CustomerID != "", ShippingAddress: a,
		ShippingMethod: rate.Name, PricesIncludeTax: t.PricesIncludeTax, Currency: t.Currency, Subtotal: totals.Subtotal,
		ShippingTotal: totals.Shipping, TaxTotal: totals.Tax, Total: totals.Total, PaymentProvider: in.PaymentProvider,
		ReservationMinutes: t.ReservationMinutes, ShortHold: true,
		Lines: []*order.Line{{VariantID: v.ID, ProductID: p.ID, Title: p.Title, VariantTitle: v.Title, SKU: v.SKU,
			TrackInventory: v.TrackInventory, Quantity: in.Quantity, UnitPrice: unitPrice, Subtotal: lt.Subtotal, Tax: lt.Tax, Total: lt.Total}},
	}, nil
}

// GiveBack returns to their sales the units an order took, once: it runs
// in the transaction that cancels the order (order.Service.OnCancel).
func (s *Service) GiveBack(ctx context.Context, tx *db.TenantTx, orderID string) error {
	var saleID, variantID, customerID string
	var q int64
	err := tx.QueryRow(ctx, `UPDATE flash_sale_orders SET returned = ? WHERE tenant_id = ? AND order_id = ? AND returned = ?
		RETURNING sale_id, variant_id, customer_id, quantity`, true, tx.TenantID(), orderID, false).Scan(&saleID, &variantID, &customerID, &q)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not a sale's order, or given back already
	}
	if err != nil {
		return fmt.Errorf("give back flash sale order: %w", err)
	}
	// The buyer's count, then the item: the order a batch takes them in.
	if _, err := tx.Exec(ctx, `UPDATE flash_sale_buyers SET bought = bought - ? WHERE tenant_id = ? AND sale_id = ? AND customer_id = ?`,
		q, tx.TenantID(), saleID, customerID); err != nil {
		return fmt.Errorf("give back flash sale limit: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE flash_sale_items SET sold = sold - ? WHERE tenant_id = ? AND sale_id = ? AND variant_id = ?`,
		q, tx.TenantID(), saleID, variantID); err != nil {
		return fmt.Errorf("give back flash sale units: %w", err)
	}
	// Forgotten once the cancel commits: forgotten before, the note could
	// be made again meanwhile from the rows before the cancel (a batch
	// selling the item's last units), and kept for hintTTL. The other
	// nodes hear of it when the cancel commits (FollowGiveBacks).
	tx.AfterCommit(func() { s.forgetRemaining(tx.TenantID(), saleID, variantID) })
	if tx.Dialect() == db.Postgres {
		if _, err := tx.Exec(ctx, `SELECT pg_notify(?, ?)`, givenBackChannel,
			itemKey{tx.TenantID(), saleID, variantID}.payload()); err != nil {
			return fmt.Errorf("tell the nodes of a flash sale give back: %w", err)
		}
	}
	return nil
}
