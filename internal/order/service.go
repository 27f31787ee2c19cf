package order

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/inventory"
	"github.com/nimbuscommerce/nimbus/internal/payment"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/outbox"
	"github.com/nimbuscommerce/nimbus/internal/platform/secret"
	"github.com/nimbuscommerce/nimbus/internal/pricing"
)

// Service runs orders.
type Service struct {
	DB        *db.DB
	Providers payment.Providers
	// OnCancel runs in the transaction that cancels an order, so that
	// what other domains set aside for it (a flash sale's units) is given
	// back exactly when its stock is.
	OnCancel []func(ctx context.Context, tx *db.TenantTx, orderID string) error
}

// Draft is an order as checkout assembled it, priced and ready to place.
type Draft struct {
	CartID             string
	Email              string
	CustomerID         string
	SignedIn           bool
	ShippingAddress    nimbus.Address
	ShippingMethod     string
	DiscountCode       string
	PricesIncludeTax   bool
	Currency           string
	Subtotal           int64
	DiscountTotal      int64
	ShippingTotal      int64
	TaxTotal           int64
	Total              int64
	PaymentProvider    string
	Note               string
	ReservationMinutes int
	// ShortHold keeps the stock for ReservationMinutes whatever the
	// payment, not a bank transfer's ManualHold: for a flash sale's units,
	// which a few unpaid transfers would otherwise keep from every other
	// buyer for days.
	ShortHold bool
	Lines     []*Line
	// Token, if set, is the order's access token (secret.New), made by a
	// caller that needs it before the order is written; else one is made.
	Token string
}

// Place creates an order from a draft inside the checkout transaction:
// it takes the next order number, holds stock for every tracked line
// (ESTOCK if any is short, and then nothing is kept), records history and
// the order.created event, and schedules the hold's expiry. It returns the
// order and its access token, which lets the shopper see and pay it.
func (s *Service) Place(ctx context.Context, tx *db.TenantTx, d Draft) (*Order, string, error) {
	orders, tokens, err := s.newOrders(tx, []Draft{d})
	if err != nil {
		return nil, "", err
	}
	// First the rows every checkout of the store contends for: the stock of
	// its variants, in id order, then the order counter. Every path takes
	// them in that order, so two transactions cannot deadlock on them.
	if err := holdStock(ctx, tx, orders); err != nil {
		return nil, "", err
	}
	if err := takeNumbers(ctx, tx, orders); err != nil {
		return nil, "", err
	}
	if err := insertPlaced(ctx, tx, orders); err != nil {
		return nil, "", err
	}
	return orders[0], tokens[0], nil
}

// Staged is orders written but for the stock they hold, which HoldStock
// takes: see Stage.
type Staged struct {
	Orders []*Order
	Tokens []string // each order's access token, shown once
}

// Stage writes orders numbered beforehand (TakeNumbers) with their lines,
// events and expiries, but does not hold their stock: the caller does,
// with HoldStock, as the last of its statements. Nothing it writes is a
// row other transactions wait for, so a batch of a flash sale holds the
// rows every buyer shares (the allocation, the stock) only for its last
// statements and its commit, not while it writes hundreds of orders.
//
// With numbers nil, Stage takes the next numbers itself, in the caller's
// transaction: right on SQLite, whose one writer holds the whole database
// anyway (a transaction of their own would wait for the writer a second
// time), wrong on PostgreSQL, where it would hold the store's counter
// through the inserts.
func (s *Service) Stage(ctx context.Context, tx *db.TenantTx, drafts []Draft, numbers []int64) (*Staged, error) {
	if numbers != nil && len(numbers) != len(drafts) {
		return nil, fmt.Errorf("stage orders: %d numbers for %d orders", len(numbers), len(drafts))
	}
	orders, tokens, err := s.newOrders(tx, drafts)
	if err != nil {
		return nil, err
	}
	if numbers == nil {
		if err := takeNumbers(ctx, tx, orders); err != nil {
			return nil, err
		}
	} else {
		for i, o := range orders {
			o.Number = numbers[i]
		}
	}
	if err := insertPlaced(ctx, tx, orders); err != nil {
		return nil, err
	}
	return &Staged{Orders: orders, Tokens: tokens}, nil
}

// HoldStock holds the stock of staged orders, each variant in one guarded
// update, in id order. Errors: ESTOCK.
func (st *Staged) HoldStock(ctx context.Context, tx *db.TenantTx) error {
	return holdStock(ctx, tx, st.Orders)
}

// TakeNumbers takes the store's next n order numbers in a transaction of
// its own, which holds the store's counter for a moment only; Stage places
// orders with them. A number a failed write did not use is a gap in the
// store's numbering unless ReturnNumbers gives it back.
func (s *Service) TakeNumbers(ctx context.Context, tenantID string, n int) ([]int64, error) {
	if n <= 0 {
		return nil, nil
	}
	var numbers []int64
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		numbers, err = nextNumbers(ctx, tx, n)
		return err
	})
	return numbers, err
}

// ReturnNumbers gives back numbers TakeNumbers took and no order used, so
// that they do not become a gap: the last of them, from the highest down
// while they follow one another, if none was taken after them. Others stay
// a gap.
func (s *Service) ReturnNumbers(ctx context.Context, tenantID string, numbers []int64) error {
	if len(numbers) == 0 {
		return nil
	}
	top := slices.Max(numbers)
	low := top
	for slices.Contains(numbers, low-1) {
		low--
	}
	return s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		_, err := tx.Exec(ctx, `UPDATE order_numbers SET last_number = ? WHERE tenant_id = ? AND last_number = ?`, low-1, tx.TenantID(), top)
		return err
	})
}

// newOrders makes the orders of drafts, pending payment, with their ids
// and access tokens.
func (s *Service) newOrders(tx *db.TenantTx, drafts []Draft) ([]*Order, []string, error) {
	orders, tokens := make([]*Order, len(drafts)), make([]string, len(drafts))
	for i, d := range drafts {
		if _, err := s.Providers.Get(d.PaymentProvider); err != nil {
			return nil, nil, err
		}
		tokens[i] = d.Token
		if tokens[i] == "" {
			tokens[i] = secret.New()
		}
		o := &Order{
			ID: nimbus.NewID(nimbus.PrefixOrder), TenantID: tx.TenantID(), CartID: d.CartID, Status: StatusPendingPayment,
			PaymentStatus: PaymentUnpaid, Currency: d.Currency, Email: d.Email, CustomerID: d.CustomerID, SignedIn: d.SignedIn,
			ShippingAddress: d.ShippingAddress, ShippingMethod: d.ShippingMethod, DiscountCode: d.DiscountCode,
			PricesIncludeTax: d.PricesIncludeTax, Subtotal: d.Subtotal, DiscountTotal: d.DiscountTotal, ShippingTotal: d.ShippingTotal,
			TaxTotal: d.TaxTotal, Total: d.Total, PaymentProvider: d.PaymentProvider, Note: d.Note, Lines: d.Lines,
			CreatedAt: tx.Now, UpdatedAt: tx.Now, tokenHash: secret.Hash(tokens[i]),
		}
		hold := time.Duration(d.ReservationMinutes) * time.Minute
		if d.PaymentProvider == (payment.ManualProvider{}).Name() {
			// A bank transfer takes days: the stock stays held longer, until
			// staff mark the order paid or cancel it, or the hold runs out.
			o.PaymentStatus = PaymentAwaiting
			if !d.ShortHold {
				hold = ManualHold
			}
		}
		exp := tx.Now.Add(hold)
		o.ReservationExpiresAt = &exp
		for _, l := range o.Lines {
			l.ID = nimbus.NewID(nimbus.PrefixOrderLine)
		}
		orders[i] = o
	}
	return orders, tokens, nil
}

// holdStock holds the units of orders' tracked lines, each variant in one
// guarded update, in id order. Errors: ESTOCK.
func holdStock(ctx context.Context, tx *db.TenantTx, orders []*Order) error {
	holds := map[string][]inventory.Hold{}
	lineOf := map[string]*Line{}
	for _, o := range orders {
		for _, l := range o.Lines {
			if l.TrackInventory {
				holds[l.VariantID] = append(holds[l.VariantID], inventory.Hold{Quantity: l.Quantity, Ref: o.ID})
				lineOf[l.VariantID] = l
			}
		}
	}
	for _, v := range slices.Sorted(maps.Keys(holds)) {
		if err := inventory.ReserveMany(ctx, tx, v, holds[v]); err != nil {
			if l := lineOf[v]; nimbus.ErrorCode(err) == nimbus.ESTOCK && len(orders) == 1 {
				return nimbus.Errorkf(nimbus.ESTOCK, "error.stock_of_for", "not enough stock of %s (%s) for %d", l.Title, l.SKU, l.Quantity)
			}
			return err
		}
	}
	return nil
}

// insertPlaced writes numbered orders, their lines, expiries, events and
// outbox messages.
func insertPlaced(ctx context.Context, tx *db.TenantTx, orders []*Order) error {
	if err := insertOrders(ctx, tx, orders); err != nil {
		return err
	}
	if err := scheduleExpiries(ctx, tx, orders); err != nil {
		return fmt.Errorf("schedule reservation expiry: %w", err)
	}
	events := make([]event, len(orders))
	msgs := make([]outbox.Message, len(orders))
	for i, o := range orders {
		events[i] = event{orderID: o.ID, kind: "created", message: fmt.Sprintf("Order #%d placed by %s", o.Number, o.Email), actor: "customer"}
		msgs[i] = outbox.Message{Topic: "order.created", SubjectID: o.ID, Payload: eventPayload(o)}
	}
	if err := insertEvents(ctx, tx, events); err != nil {
		return err
	}
	return outbox.WriteMany(ctx, tx, msgs)
}

// orderEvent is the payload of an order's outbox events. Its fields are in
// the order of their names, as a map's would be: the JSON is the same, made
// without sorting keys (a flash sale writes hundreds in one transaction).
type orderEvent struct {
	Currency      string `json:"currency"`
	Number        int64  `json:"number"`
	OrderID       string `json:"order_id"`
	PaymentStatus string `json:"payment_status"`
	RefundedTotal int64  `json:"refunded_total"`
	Status        string `json:"status"`
	Total         int64  `json:"total"`
}

func eventPayload(o *Order) orderEvent {
	return orderEvent{OrderID: o.ID, Number: o.Number, Status: o.Status, PaymentStatus: o.PaymentStatus,
		Total: o.Total, Currency: o.Currency, RefundedTotal: o.RefundedTotal}
}

// FindOrderByID returns an order with its lines, history, fulfillments and
// payments. Errors: ENOTFOUND.
func (s *Service) FindOrderByID(ctx context.Context, tenantID, id string) (*Order, error) {
	if !nimbus.ValidID(nimbus.PrefixOrder, id) {
		return nil, errNotFound
	}
	var o *Order
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		o, err = findOrder(ctx, tx, id, true, false)
		return err
	})
	return o, err
}

// FindOrderWithToken returns an order for the shopper holding its access
// token; a wrong token is "not found". Errors: ENOTFOUND.
func (s *Service) FindOrderWithToken(ctx context.Context, tenantID, id, token string) (*Order, error) {
	o, err := s.FindOrderByID(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(o.tokenHash, secret.Hash(token)) != 1 {
		return nil, errNotFound
	}
	return o, nil
}

// checkToken makes sure the caller holds the order's access token, reading
// no more than the order row. Errors: ENOTFOUND.
func (s *Service) checkToken(ctx context.Context, tenantID, id, token string) error {
	if !nimbus.ValidID(nimbus.PrefixOrder, id) {
		return errNotFound
	}
	return s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		var hash []byte
		err := tx.QueryRow(ctx, `SELECT token_hash FROM orders WHERE tenant_id = ? AND id = ?`, tx.TenantID(), id).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare(hash, secret.Hash(token)) != 1) {
			return errNotFound
		}
		return err
	})
}

// FindOrders lists orders newest first, up to f.Limit+1.
func (s *Service) FindOrders(ctx context.Context, tenantID string, f Filter) ([]*Order, error) {
	var os []*Order
	f.Limit++
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		os, err = findOrders(ctx, tx, f)
		return err
	})
	return os, err
}

// StaleCharge is how long a charge may stay with the provider before the
// expiry job takes it for lost (the process died between asking the provider
// and recording its answer). The built-in providers answer at once; a real
// gateway's reconciliation asks it instead.
const StaleCharge = 10 * time.Minute

// ManualHold is how long a bank transfer or cash-on-delivery order holds its
// stock before it is released unpaid.
const ManualHold = 72 * time.Hour

// Pay charges an unpaid order with a provider, for the shopper holding the
// order's token. Only one payment of an order runs at a time (ECONFLICT for
// a second). A declined card answers EPAYMENT and leaves the order unpaid, to
// try again. Errors: ENOTFOUND, EINVALID, ETRANSITION, ECONFLICT, EPAYMENT.
func (s *Service) Pay(ctx context.Context, tenantID, orderID, token, providerName string, card *payment.Card) (*Order, error) {
	provider, err := s.Providers.Get(providerName)
	if err != nil {
		return nil, err
	}
	if providerName == (payment.ManualProvider{}).Name() {
		return nil, nimbus.Invalid(nimbus.Fieldf("provider", "field.manual_payment", "manual payments are marked paid by staff"))
	}
	if v, ok := provider.(payment.CardValidator); ok {
		if err := v.ValidateCard(card); err != nil {
			return nil, err // refused before anything is recorded
		}
	}
	if err := s.checkToken(ctx, tenantID, orderID, token); err != nil {
		return nil, err
	}
	// From here on the outcome must be recorded even if the shopper goes
	// away: once the provider is asked, money may move.
	ctx = context.WithoutCancel(ctx)

	// Step 1: claim the order for this payment and record the attempt.
	var o *Order
	p := &Payment{ID: nimbus.NewID(nimbus.PrefixPayment), Kind: "charge", Provider: provider.Name(), Status: payment.StatusPending}
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		if o, err = findOrder(ctx, tx, orderID, false, true); err != nil {
			return err
		}
		if err := can(o.Status, actionPay); err != nil {
			return err
		}
		ok, err := claimPayment(ctx, tx, o.ID, PaymentUnpaid, PaymentProcessing)
		if err != nil {
			return err
		}
		if !ok {
			return nimbus.Errorkf(nimbus.ECONFLICT, "error.payment_in_progress", "a payment of this order is already in progress")
		}
		p.Amount, p.Currency = o.Total, o.Currency
		return insertPayment(ctx, tx, o.ID, p)
	})
	if err != nil {
		return nil, err
	}
	// Step 2: ask the provider, holding no transaction (it may be slow).
	res, chargeErr := provider.Charge(ctx, payment.ChargeRequest{PaymentID: p.ID, OrderID: o.ID, Amount: p.Amount, Currency: p.Currency, Card: card})
	if chargeErr != nil {
		res = payment.Result{Status: payment.StatusFailed, FailureCode: "invalid_request"}
	}
	// Step 3: record the outcome.
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		if o, err = findOrder(ctx, tx, orderID, false, true); err != nil {
			return err
		}
		return s.recordCharge(ctx, tx, o, p, res, "customer")
	})
	if err != nil {
		return nil, err
	}
	if chargeErr != nil {
		return nil, chargeErr
	}
	if res.Status != payment.StatusSucceeded {
		// Pages show the card's field error: the provider's reason, in their
		// language when they know it.
		return nil, &nimbus.Error{Code: nimbus.EPAYMENT, Message: "the payment was declined: " + res.FailureCode,
			Fields: []nimbus.FieldError{res.CardError()}}
	}
	return o, nil
}

// recordCharge writes a provider's answer to a charge of a processing order.
func (s *Service) recordCharge(ctx context.Context, tx *db.TenantTx, o *Order, p *Payment, res payment.Result, actor string) error {
	p.Status, p.ProviderRef, p.FailureCode = res.Status, res.ProviderRef, res.FailureCode
	if err := updatePayment(ctx, tx, p); err != nil {
		return err
	}
	if res.Status != payment.StatusSucceeded {
		o.PaymentStatus = PaymentUnpaid
		if err := updateOrderState(ctx, tx, o); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, o.ID, "payment_failed", "Payment failed: "+res.FailureCode, actor); err != nil {
			return err
		}
		return outbox.Write(ctx, tx, "payment.failed", o.ID, map[string]any{"order_id": o.ID, "payment_id": p.ID, "failure_code": res.FailureCode})
	}
	return s.markPaid(ctx, tx, o, actor, "Paid "+formatAmount(p.Amount, p.Currency)+" with "+p.Provider)
}

// moveStock applies a stock movement to the tracked lines of an order, in
// variant order: every path that locks stock rows locks them in the same
// order as checkout, so two transactions cannot deadlock on them.
func moveStock(ctx context.Context, tx *db.TenantTx, lines []*Line, qty func(*Line) int64,
	move func(ctx context.Context, tx *db.TenantTx, variantID string, qty int64) error) error {
	sorted := slices.Clone(lines)
	slices.SortFunc(sorted, func(a, b *Line) int { return strings.Compare(a.VariantID, b.VariantID) })
	for _, l := range sorted {
		if n := qty(l); l.TrackInventory && n > 0 {
			if err := move(ctx, tx, l.VariantID, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// markPaid moves a pending order to paid: its held stock becomes sold.
func (s *Service) markPaid(ctx context.Context, tx *db.TenantTx, o *Order, actor, message string) error {
	if err := can(o.Status, actionPay); err != nil {
		return err
	}
	err := moveStock(ctx, tx, o.Lines, func(l *Line) int64 { return l.Quantity },
		func(ctx context.Context, tx *db.TenantTx, v string, n int64) error {
			return inventory.Sell(ctx, tx, v, n, o.ID)
		})
	if err != nil {
		return err
	}
	hadHold := o.ReservationExpiresAt != nil
	o.Status, o.PaymentStatus, o.ReservationExpiresAt = StatusPaid, PaymentPaid, nil
	if err := updateOrderState(ctx, tx, o); err != nil {
		return err
	}
	if hadHold {
		if err := unscheduleExpiry(ctx, tx, o.ID); err != nil {
			return err
		}
	}
	if err := insertEvent(ctx, tx, o.ID, "paid", message, actor); err != nil {
		return err
	}
	return outbox.Write(ctx, tx, "order.paid", o.ID, eventPayload(o))
}

// MarkPaid records that a manual payment (bank transfer, cash) arrived.
// Errors: ENOTFOUND, ETRANSITION, ECONFLICT.
func (s *Service) MarkPaid(ctx context.Context, tenantID, orderID, actor string) (*Order, error) {
	return s.change(ctx, tenantID, orderID, func(tx *db.TenantTx, o *Order) error {
		if err := can(o.Status, actionPay); err != nil {
			return err
		}
		if o.PaymentStatus == PaymentProcessing {
			return nimbus.Errorkf(nimbus.ECONFLICT, "error.card_payment_in_progress", "a card payment of this order is in progress")
		}
		p := &Payment{ID: nimbus.NewID(nimbus.PrefixPayment), Kind: "charge", Provider: (payment.ManualProvider{}).Name(),
			Status: payment.StatusSucceeded, Amount: o.Total, Currency: o.Currency, ProviderRef: "manual"}
		if err := insertPayment(ctx, tx, o.ID, p); err != nil {
			return err
		}
		return s.markPaid(ctx, tx, o, actor, "Marked paid by staff")
	})
}

// change runs fn on a locked order in one transaction and returns the order
// as it is afterwards.
func (s *Service) change(ctx context.Context, tenantID, orderID string, fn func(*db.TenantTx, *Order) error) (*Order, error) {
	if !nimbus.ValidID(nimbus.PrefixOrder, orderID) {
		return nil, errNotFound
	}
	var o *Order
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		if o, err = findOrder(ctx, tx, orderID, false, true); err != nil {
			return err
		}
		if err := fn(tx, o); err != nil {
			return err
		}
		o, err = findOrder(ctx, tx, orderID, true, false)
		return err
	})
	return o, err
}

// FulfillmentInput is a shipment. Without lines it ships everything not yet shipped.
type FulfillmentInput struct {
	Carrier        string
	TrackingNumber string
	Lines          []FulfillmentLine
}

// Fulfill records a shipment. Errors: EINVALID, ENOTFOUND, ETRANSITION.
func (s *Service) Fulfill(ctx context.Context, tenantID, orderID, actor string, in FulfillmentInput) (*Order, error) {
	if len(in.Carrier) > 100 || len(in.TrackingNumber) > 100 {
		return nil, nimbus.Invalid(nimbus.Fieldf("tracking_number", "field.tracking_length", "carrier and tracking number must be at most %d characters", 100))
	}
	return s.change(ctx, tenantID, orderID, func(tx *db.TenantTx, o *Order) error {
		if err := can(o.Status, actionFulfill); err != nil {
			return err
		}
		ship := in.Lines
		if len(ship) == 0 {
			for _, l := range o.Lines {
				if rest := l.Quantity - l.FulfilledQuantity; rest > 0 {
					ship = append(ship, FulfillmentLine{LineID: l.ID, Quantity: rest})
				}
			}
		}
		byID := map[string]*Line{}
		for _, l := range o.Lines {
			byID[l.ID] = l
		}
		for i, fl := range ship {
			l := byID[fl.LineID]
			field := fmt.Sprintf("lines[%d]", i)
			if l == nil {
				return nimbus.Invalid(nimbus.Fieldf(field+".line_id", "field.not_order_line", "is not a line of this order"))
			}
			if fl.Quantity <= 0 || fl.Quantity > l.Quantity-l.FulfilledQuantity {
				return nimbus.Invalid(nimbus.Fieldf(field+".quantity", "field.unshipped", "must be between %d and %d, the units not yet shipped", 1, l.Quantity-l.FulfilledQuantity))
			}
			l.FulfilledQuantity += fl.Quantity
			if _, err := tx.Exec(ctx, `UPDATE order_lines SET fulfilled_quantity = ? WHERE tenant_id = ? AND id = ?`, l.FulfilledQuantity, tx.TenantID(), l.ID); err != nil {
				return err
			}
		}
		f := &Fulfillment{ID: nimbus.NewID(nimbus.PrefixFulfillment), Carrier: in.Carrier, TrackingNumber: in.TrackingNumber, Lines: ship}
		linesJSON, _ := jsonMarshal(ship)
		if _, err := tx.Exec(ctx, `INSERT INTO fulfillments (id, tenant_id, order_id, carrier, tracking_number, lines, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			f.ID, tx.TenantID(), o.ID, f.Carrier, f.TrackingNumber, linesJSON, tx.Now); err != nil {
			return err
		}
		o.Status = StatusFulfilled
		for _, l := range o.Lines {
			if l.FulfilledQuantity < l.Quantity {
				o.Status = StatusPartiallyFulfilled
			}
		}
		if err := updateOrderState(ctx, tx, o); err != nil {
			return err
		}
		msg := "Shipped"
		if f.Carrier != "" || f.TrackingNumber != "" {
			msg += " with " + f.Carrier + " " + f.TrackingNumber
		}
		if err := insertEvent(ctx, tx, o.ID, "fulfilled", msg, actor); err != nil {
			return err
		}
		return outbox.Write(ctx, tx, "order.fulfilled", o.ID, map[string]any{"order_id": o.ID, "fulfillment_id": f.ID,
			"status": o.Status, "carrier": f.Carrier, "tracking_number": f.TrackingNumber})
	})
}

// Complete closes a fulfilled order. Errors: ENOTFOUND, ETRANSITION.
func (s *Service) Complete(ctx context.Context, tenantID, orderID, actor string) (*Order, error) {
	return s.change(ctx, tenantID, orderID, func(tx *db.TenantTx, o *Order) error {
		if err := can(o.Status, actionComplete); err != nil {
			return err
		}
		o.Status = StatusCompleted
		if err := updateOrderState(ctx, tx, o); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, o.ID, "completed", "Order completed", actor); err != nil {
			return err
		}
		return outbox.Write(ctx, tx, "order.completed", o.ID, eventPayload(o))
	})
}

// RefundInput is a refund of some or all of an order's payment.
type RefundInput struct {
	Amount  int64
	Reason  string
	Restock []FulfillmentLine // units that come back to stock
}

// pendingRefunds sums the refunds of an order that are with the provider now.
func pendingRefunds(ctx context.Context, tx *db.TenantTx, orderID string) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM payments WHERE tenant_id = ? AND order_id = ? AND kind = 'refund' AND status = 'pending'`,
		tx.TenantID(), orderID).Scan(&n)
	return n, err
}

// Refund gives money back, and optionally puts units back in stock. It is
// three steps, like a payment: with the order locked, reserve the amount
// (and the restock) against what is left, as a pending refund; ask the
// provider; record the answer. Two refunds at once can therefore never pay
// out more than was paid. When everything is refunded the order becomes
// refunded. Errors: EINVALID, ENOTFOUND, ETRANSITION, ECONFLICT, EPAYMENT.
func (s *Service) Refund(ctx context.Context, tenantID, orderID, actor string, in RefundInput) (*Order, error) {
	if len(in.Reason) > 500 {
		return nil, nimbus.Invalid(nimbus.Fieldf("reason", "field.max_length", "must be at most %d characters", 500))
	}
	restock := map[string]int64{} // by line id; the same line named twice counts once per unit
	for i, r := range in.Restock {
		if r.Quantity <= 0 {
			return nil, nimbus.Invalid(nimbus.Fieldf(fmt.Sprintf("restock[%d].quantity", i), "field.at_least", "must be at least %d", 1))
		}
		restock[r.LineID] += r.Quantity
	}
	if !nimbus.ValidID(nimbus.PrefixOrder, orderID) {
		return nil, errNotFound
	}
	ctx = context.WithoutCancel(ctx)
	refund := &Payment{ID: nimbus.NewID(nimbus.PrefixPayment), Kind: "refund", Status: payment.StatusPending, Amount: in.Amount}
	var chargeRef string
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		o, err := findOrder(ctx, tx, orderID, true, true)
		if err != nil {
			return err
		}
		if err := can(o.Status, actionRefund); err != nil {
			return err
		}
		charge := succeededCharge(o)
		if charge == nil {
			return nimbus.Errorkf(nimbus.ECONFLICT, "error.nothing_to_refund", "the order has no successful payment to refund")
		}
		pending, err := pendingRefunds(ctx, tx, o.ID)
		if err != nil {
			return err
		}
		if left := o.Total - o.RefundedTotal - pending; in.Amount <= 0 || in.Amount > left {
			// The API answers minor units; pages, the currency's major ones.
			return nimbus.Invalid(nimbus.FieldError{Field: "amount", Message: fmt.Sprintf("must be between 1 and %d, what is left to refund", left),
				Key: "field.refund_left", Args: []any{nimbus.FormatMinor(1, o.Currency), nimbus.FormatMinor(left, o.Currency)}})
		}
		if err := reserveRestock(ctx, tx, o, restock, 1); err != nil {
			return err
		}
		refund.Provider, refund.Currency, chargeRef = charge.Provider, o.Currency, charge.ProviderRef
		return insertPayment(ctx, tx, o.ID, refund)
	})
	if err != nil {
		return nil, err
	}
	res, err := s.askRefund(ctx, refund, chargeRef)
	var o *Order
	txErr := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		var err2 error
		if o, err2 = findOrder(ctx, tx, orderID, false, true); err2 != nil {
			return err2
		}
		refund.Status, refund.ProviderRef, refund.FailureCode = res.Status, res.ProviderRef, res.FailureCode
		if err2 := updatePayment(ctx, tx, refund); err2 != nil {
			return err2
		}
		if res.Status != payment.StatusSucceeded {
			return reserveRestock(ctx, tx, o, restock, -1) // nothing came back after all
		}
		err2 = moveStock(ctx, tx, o.Lines, func(l *Line) int64 { return restock[l.ID] },
			func(ctx context.Context, tx *db.TenantTx, v string, n int64) error {
				return inventory.Return(ctx, tx, v, n, o.ID, "refund restock")
			})
		if err2 != nil {
			return err2
		}
		o.RefundedTotal += refund.Amount
		o.PaymentStatus = PaymentPartiallyRefunded
		if o.RefundedTotal == o.Total {
			o.Status, o.PaymentStatus = StatusRefunded, PaymentRefunded
		}
		if err2 := updateOrderState(ctx, tx, o); err2 != nil {
			return err2
		}
		msg := "Refunded " + formatAmount(refund.Amount, o.Currency)
		if in.Reason != "" {
			msg += ": " + in.Reason
		}
		if err2 := insertEvent(ctx, tx, o.ID, "refunded", msg, actor); err2 != nil {
			return err2
		}
		return outbox.Write(ctx, tx, "order.refunded", o.ID, map[string]any{"order_id": o.ID, "amount": refund.Amount,
			"refunded_total": o.RefundedTotal, "status": o.Status})
	})
	if txErr != nil {
		return nil, txErr
	}
	if err != nil {
		return nil, err
	}
	if res.Status != payment.StatusSucceeded {
		return nil, nimbus.Errorkf(nimbus.EPAYMENT, "error.refund_refused", "the provider refused the refund: %s", res.FailureCode)
	}
	return s.FindOrderByID(ctx, tenantID, orderID)
}

// reserveRestock counts units as restocked (sign 1) or gives them back
// (sign -1). A line never comes back more often than it was sold: the
// update checks it, and the table's CHECK too.
func reserveRestock(ctx context.Context, tx *db.TenantTx, o *Order, restock map[string]int64, sign int64) error {
	byID := map[string]*Line{}
	for _, l := range o.Lines {
		byID[l.ID] = l
	}
	for lineID, n := range restock {
		l := byID[lineID]
		if l == nil {
			return nimbus.Invalid(nimbus.Fieldf("restock", "field.restock_line", "names a line that is not in this order"))
		}
		res, err := tx.Exec(ctx, `UPDATE order_lines SET restocked_quantity = restocked_quantity + ?
			WHERE tenant_id = ? AND id = ? AND restocked_quantity + ? <= quantity AND restocked_quantity + ? >= 0`,
			sign*n, tx.TenantID(), l.ID, sign*n, sign*n)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nimbus.Invalid(nimbus.Fieldf("restock", "field.restock_max", "%s: at most the units sold and not yet returned to stock", l.SKU))
		}
	}
	return nil
}

func succeededCharge(o *Order) *Payment {
	var charge *Payment
	for _, p := range o.Payments {
		if p.Kind == "charge" && p.Status == payment.StatusSucceeded {
			charge = p
		}
	}
	return charge
}

// askRefund asks the refund's provider for the money back. An error of the
// provider is a failed refund (and is returned too).
func (s *Service) askRefund(ctx context.Context, refund *Payment, chargeRef string) (payment.Result, error) {
	provider, err := s.Providers.Get(refund.Provider)
	if err != nil {
		return payment.Result{Status: payment.StatusFailed, FailureCode: "unknown_provider"}, err
	}
	res, err := provider.Refund(ctx, payment.RefundRequest{PaymentID: refund.ID, ChargeRef: chargeRef, Amount: refund.Amount, Currency: refund.Currency})
	if err != nil {
		return payment.Result{Status: payment.StatusFailed, FailureCode: "provider_error"}, err
	}
	return res, nil
}

// Cancel cancels an order that has not shipped. An unpaid one releases its
// held stock; a paid one is refunded in full first (the same three steps as
// a refund) and its stock returned. A canceled order gives its discount
// code's use back. Errors: ENOTFOUND, ETRANSITION, ECONFLICT, EPAYMENT.
func (s *Service) Cancel(ctx context.Context, tenantID, orderID, actor, reason string) (*Order, error) {
	if !nimbus.ValidID(nimbus.PrefixOrder, orderID) {
		return nil, errNotFound
	}
	ctx = context.WithoutCancel(ctx)
	var refund *Payment
	var chargeRef string
	// Step 1: an unpaid order is canceled right here; a paid one reserves
	// its refund.
	var o *Order
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		refund = nil
		if o, err = findOrder(ctx, tx, orderID, true, true); err != nil {
			return err
		}
		if err := can(o.Status, actionCancel); err != nil {
			return err
		}
		if o.Status == StatusPendingPayment {
			return s.cancelUnpaid(ctx, tx, o, actor, reason)
		}
		charge := succeededCharge(o)
		pending, err := pendingRefunds(ctx, tx, o.ID)
		if err != nil {
			return err
		}
		if charge == nil || pending > 0 {
			return nimbus.Errorkf(nimbus.ECONFLICT, "error.refund_in_progress", "a refund of this order is in progress; try again in a moment")
		}
		refund = &Payment{ID: nimbus.NewID(nimbus.PrefixPayment), Kind: "refund", Provider: charge.Provider, Status: payment.StatusPending,
			Amount: o.Total - o.RefundedTotal, Currency: o.Currency}
		chargeRef = charge.ProviderRef
		return insertPayment(ctx, tx, o.ID, refund)
	})
	if err != nil || refund == nil {
		if err != nil {
			return nil, err
		}
		return s.FindOrderByID(ctx, tenantID, orderID)
	}
	res, perr := s.askRefund(ctx, refund, chargeRef)
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		if o, err = findOrder(ctx, tx, orderID, false, true); err != nil {
			return err
		}
		refund.Status, refund.ProviderRef, refund.FailureCode = res.Status, res.ProviderRef, res.FailureCode
		if err := updatePayment(ctx, tx, refund); err != nil {
			return err
		}
		if res.Status != payment.StatusSucceeded {
			return nil
		}
		if err := can(o.Status, actionCancel); err != nil {
			return err
		}
		if err := s.giveBack(ctx, tx, o); err != nil {
			return err
		}
		err = moveStock(ctx, tx, o.Lines, func(l *Line) int64 { return l.Quantity - l.RestockedQuantity },
			func(ctx context.Context, tx *db.TenantTx, v string, n int64) error {
				return inventory.Return(ctx, tx, v, n, o.ID, "order canceled")
			})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE order_lines SET restocked_quantity = quantity WHERE tenant_id = ? AND order_id = ?`, tx.TenantID(), o.ID); err != nil {
			return err
		}
		o.Status, o.RefundedTotal, o.PaymentStatus = StatusCanceled, o.Total, PaymentRefunded
		return s.finishCancel(ctx, tx, o, actor, reason)
	})
	if err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	if res.Status != payment.StatusSucceeded {
		return nil, nimbus.Errorkf(nimbus.EPAYMENT, "error.refund_refused", "the provider refused the refund: %s", res.FailureCode)
	}
	return s.FindOrderByID(ctx, tenantID, orderID)
}

// cancelUnpaid cancels a pending order in the caller's transaction: its
// stock holds are released.
func (s *Service) cancelUnpaid(ctx context.Context, tx *db.TenantTx, o *Order, actor, reason string) error {
	if o.PaymentStatus == PaymentProcessing {
		return nimbus.Errorkf(nimbus.ECONFLICT, "error.payment_in_progress_retry", "a payment of this order is in progress; try again in a moment")
	}
	if err := s.giveBack(ctx, tx, o); err != nil {
		return err
	}
	err := moveStock(ctx, tx, o.Lines, func(l *Line) int64 { return l.Quantity },
		func(ctx context.Context, tx *db.TenantTx, v string, n int64) error {
			return inventory.Release(ctx, tx, v, n, o.ID)
		})
	if err != nil {
		return err
	}
	if o.ReservationExpiresAt != nil {
		if err := unscheduleExpiry(ctx, tx, o.ID); err != nil {
			return err
		}
	}
	o.Status, o.PaymentStatus, o.ReservationExpiresAt = StatusCanceled, PaymentVoided, nil
	return s.finishCancel(ctx, tx, o, actor, reason)
}

// giveBack runs the OnCancel hooks of an order being canceled. It comes
// before the stock is moved: a flash sale batch locks its sale item and
// then the stock, so a cancel takes them in the same order and the two
// cannot deadlock.
func (s *Service) giveBack(ctx context.Context, tx *db.TenantTx, o *Order) error {
	for _, hook := range s.OnCancel {
		if err := hook(ctx, tx, o.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) finishCancel(ctx context.Context, tx *db.TenantTx, o *Order, actor, reason string) error {
	if err := pricing.Unredeem(ctx, tx, o.ID); err != nil {
		return err
	}
	if err := updateOrderState(ctx, tx, o); err != nil {
		return err
	}
	msg := "Order canceled"
	if reason != "" {
		msg += ": " + reason
	}
	if err := insertEvent(ctx, tx, o.ID, "canceled", msg, actor); err != nil {
		return err
	}
	return outbox.Write(ctx, tx, "order.canceled", o.ID, eventPayload(o))
}

// ExpireReservation cancels an order whose stock hold ran out unpaid. It is
// a no-op for an order that was paid or canceled meanwhile, and reports
// retry=true while a payment of it is still with the provider. A payment
// stuck with the provider for longer than StaleCharge is taken for failed.
func (s *Service) ExpireReservation(ctx context.Context, tenantID, orderID string) (retry bool, err error) {
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		retry = false
		o, err := findOrder(ctx, tx, orderID, false, true)
		if nimbus.ErrorCode(err) == nimbus.ENOTFOUND {
			return unscheduleExpiry(ctx, tx, orderID)
		}
		if err != nil {
			return err
		}
		if o.Status != StatusPendingPayment || o.ReservationExpiresAt == nil {
			return unscheduleExpiry(ctx, tx, o.ID) // paid or canceled meanwhile
		}
		if tx.Now.Before(*o.ReservationExpiresAt) {
			retry = true // scheduled early (clock skew between nodes): try again later
			return nil
		}
		if o.PaymentStatus == PaymentProcessing {
			stale, err := abandonStaleCharges(ctx, tx, o, tx.Now.Add(-StaleCharge))
			if err != nil || !stale {
				retry = err == nil
				return err
			}
			o.PaymentStatus = PaymentUnpaid
		}
		return s.cancelUnpaid(ctx, tx, o, "system", "payment not received in time; stock released")
	})
	return retry, err
}

// abandonStaleCharges marks charges pending since before cutoff as failed
// and reports whether the order's payment is therefore over.
func abandonStaleCharges(ctx context.Context, tx *db.TenantTx, o *Order, cutoff time.Time) (bool, error) {
	ps, err := findPayments(ctx, tx, o.ID)
	if err != nil {
		return false, err
	}
	for _, p := range ps {
		if p.Kind == "charge" && p.Status == payment.StatusPending {
			if p.CreatedAt.After(cutoff) {
				return false, nil
			}
			p.Status, p.FailureCode = payment.StatusFailed, "abandoned"
			if err := updatePayment(ctx, tx, p); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

func formatAmount(amount int64, currency string) string {
	c, ok := nimbus.LookupCurrency(currency)
	if !ok || c.Exponent == 0 {
		return fmt.Sprintf("%d %s", amount, currency)
	}
	div := int64(1)
	for range c.Exponent {
		div *= 10
	}
	return fmt.Sprintf("%d.%0*d %s", amount/div, c.Exponent, amount%div, currency)
}
