package order

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/inventory"
	"github.com/nimbuscommerce/nimbus/internal/payment"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/outbox"
	"github.com/nimbuscommerce/nimbus/internal/platform/secret"
)

// Service runs orders.
type Service struct {
	DB        *db.DB
	Providers payment.Providers
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
	Lines              []*Line
}

// Place creates an order from a draft inside the checkout transaction:
// it takes the next order number, holds stock for every tracked line
// (ESTOCK if any is short, and then nothing is kept), records history and
// the order.created event, and schedules the hold's expiry. It returns the
// order and its access token, which lets the shopper see and pay it.
func (s *Service) Place(ctx context.Context, tx *db.TenantTx, d Draft) (*Order, string, error) {
	if _, err := s.Providers.Get(d.PaymentProvider); err != nil {
		return nil, "", err
	}
	token := secret.New()
	o := &Order{
		ID: nimbus.NewID(nimbus.PrefixOrder), TenantID: tx.TenantID(), CartID: d.CartID, Status: StatusPendingPayment,
		PaymentStatus: PaymentUnpaid, Currency: d.Currency, Email: d.Email, CustomerID: d.CustomerID, SignedIn: d.SignedIn,
		ShippingAddress: d.ShippingAddress, ShippingMethod: d.ShippingMethod, DiscountCode: d.DiscountCode,
		PricesIncludeTax: d.PricesIncludeTax, Subtotal: d.Subtotal, DiscountTotal: d.DiscountTotal, ShippingTotal: d.ShippingTotal,
		TaxTotal: d.TaxTotal, Total: d.Total, PaymentProvider: d.PaymentProvider, Note: d.Note, Lines: d.Lines,
		CreatedAt: tx.Now, UpdatedAt: tx.Now, tokenHash: secret.Hash(token),
	}
	manual := d.PaymentProvider == (payment.ManualProvider{}).Name()
	if manual {
		// A bank transfer takes days: the stock stays held until staff mark
		// the order paid or cancel it.
		o.PaymentStatus = PaymentAwaiting
	} else {
		exp := tx.Now.Add(time.Duration(d.ReservationMinutes) * time.Minute)
		o.ReservationExpiresAt = &exp
	}
	for _, l := range o.Lines {
		l.ID = nimbus.NewID(nimbus.PrefixOrderLine)
	}
	if err := insertOrder(ctx, tx, o); err != nil {
		return nil, "", err
	}
	if o.ReservationExpiresAt != nil {
		if err := scheduleExpiry(ctx, tx, o.ID, *o.ReservationExpiresAt); err != nil {
			return nil, "", fmt.Errorf("schedule reservation expiry: %w", err)
		}
	}
	// Last, the rows every checkout of the store contends for: the stock of
	// popular variants and the order counter. On PostgreSQL their row locks
	// are held until commit, so taking them at the end keeps that time
	// short. Lines are reserved in variant order, so two orders of the same
	// variants always lock them in the same order and cannot deadlock.
	lines := slices.Clone(o.Lines)
	slices.SortFunc(lines, func(a, b *Line) int { return strings.Compare(a.VariantID, b.VariantID) })
	for _, l := range lines {
		if !l.TrackInventory {
			continue
		}
		if err := inventory.Reserve(ctx, tx, l.VariantID, l.Quantity, o.ID); err != nil {
			if nimbus.ErrorCode(err) == nimbus.ESTOCK {
				return nil, "", nimbus.Errorf(nimbus.ESTOCK, "not enough stock of %s (%s) for %d", l.Title, l.SKU, l.Quantity)
			}
			return nil, "", err
		}
	}
	var err error
	if o.Number, err = nextNumber(ctx, tx); err != nil {
		return nil, "", err
	}
	if _, err := tx.Exec(ctx, `UPDATE orders SET number = ? WHERE tenant_id = ? AND id = ?`, o.Number, tx.TenantID(), o.ID); err != nil {
		return nil, "", fmt.Errorf("number order: %w", err)
	}
	if err := insertEvent(ctx, tx, o.ID, "created", fmt.Sprintf("Order #%d placed by %s", o.Number, o.Email), "customer"); err != nil {
		return nil, "", err
	}
	if err := outbox.Write(ctx, tx, "order.created", o.ID, eventPayload(o)); err != nil {
		return nil, "", err
	}
	return o, token, nil
}

func eventPayload(o *Order) map[string]any {
	return map[string]any{"order_id": o.ID, "number": o.Number, "status": o.Status, "payment_status": o.PaymentStatus,
		"total": o.Total, "currency": o.Currency, "refunded_total": o.RefundedTotal}
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
		return nil, nimbus.Invalid(nimbus.FieldError{Field: "provider", Message: "manual payments are marked paid by staff"})
	}
	if _, err := s.FindOrderWithToken(ctx, tenantID, orderID, token); err != nil {
		return nil, err
	}
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
			return nimbus.Errorf(nimbus.ECONFLICT, "a payment of this order is already in progress")
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
		p.Status, p.ProviderRef, p.FailureCode = res.Status, res.ProviderRef, res.FailureCode
		if err := updatePayment(ctx, tx, p); err != nil {
			return err
		}
		if res.Status != payment.StatusSucceeded {
			o.PaymentStatus = PaymentUnpaid
			if err := updateOrderState(ctx, tx, o); err != nil {
				return err
			}
			if err := insertEvent(ctx, tx, o.ID, "payment_failed", "Payment failed: "+res.FailureCode, "customer"); err != nil {
				return err
			}
			return outbox.Write(ctx, tx, "payment.failed", o.ID, map[string]any{"order_id": o.ID, "payment_id": p.ID, "failure_code": res.FailureCode})
		}
		return s.markPaid(ctx, tx, o, "customer", "Paid "+formatAmount(p.Amount, p.Currency)+" with "+provider.Name())
	})
	if err != nil {
		return nil, err
	}
	if chargeErr != nil {
		return nil, chargeErr
	}
	if res.Status != payment.StatusSucceeded {
		return nil, &nimbus.Error{Code: nimbus.EPAYMENT, Message: "the payment was declined: " + res.FailureCode,
			Fields: []nimbus.FieldError{{Field: "card", Message: res.FailureMessage}}}
	}
	return o, nil
}

// markPaid moves a pending order to paid: its held stock becomes sold.
func (s *Service) markPaid(ctx context.Context, tx *db.TenantTx, o *Order, actor, message string) error {
	if err := can(o.Status, actionPay); err != nil {
		return err
	}
	for _, l := range o.Lines {
		if l.TrackInventory {
			if err := inventory.Sell(ctx, tx, l.VariantID, l.Quantity, o.ID); err != nil {
				return err
			}
		}
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
// Errors: ENOTFOUND, ETRANSITION.
func (s *Service) MarkPaid(ctx context.Context, tenantID, orderID, actor string) (*Order, error) {
	return s.change(ctx, tenantID, orderID, func(tx *db.TenantTx, o *Order) error {
		if o.PaymentStatus == PaymentProcessing {
			return nimbus.Errorf(nimbus.ECONFLICT, "a card payment of this order is in progress")
		}
		p := &Payment{ID: nimbus.NewID(nimbus.PrefixPayment), Kind: "charge", Provider: (payment.ManualProvider{}).Name(),
			Status: payment.StatusSucceeded, Amount: o.Total, Currency: o.Currency, ProviderRef: "manual"}
		if err := can(o.Status, actionPay); err != nil {
			return err
		}
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
		return nil, nimbus.Invalid(nimbus.FieldError{Field: "tracking_number", Message: "carrier and tracking number must be at most 100 characters"})
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
				return nimbus.Invalid(nimbus.FieldError{Field: field + ".line_id", Message: "is not a line of this order"})
			}
			if fl.Quantity <= 0 || fl.Quantity > l.Quantity-l.FulfilledQuantity {
				return nimbus.Invalid(nimbus.FieldError{Field: field + ".quantity", Message: fmt.Sprintf("must be between 1 and %d, the units not yet shipped", l.Quantity-l.FulfilledQuantity)})
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

// Cancel cancels an order that has not shipped: held stock is released, or
// sold stock returned, and a paid order is refunded in full.
// Errors: ENOTFOUND, ETRANSITION, ECONFLICT.
func (s *Service) Cancel(ctx context.Context, tenantID, orderID, actor, reason string) (*Order, error) {
	o, err := s.FindOrderByID(ctx, tenantID, orderID)
	if err != nil {
		return nil, err
	}
	if err := can(o.Status, actionCancel); err != nil {
		return nil, err
	}
	var refund *Payment
	if o.Status == StatusPaid {
		// Give the money back first; if the provider refuses, nothing changes.
		if refund, err = s.refundWithProvider(ctx, o, o.Total-o.RefundedTotal); err != nil {
			return nil, err
		}
	}
	return s.change(ctx, tenantID, orderID, func(tx *db.TenantTx, o *Order) error {
		return s.cancel(ctx, tx, o, actor, reason, refund)
	})
}

func (s *Service) cancel(ctx context.Context, tx *db.TenantTx, o *Order, actor, reason string, refund *Payment) error {
	if err := can(o.Status, actionCancel); err != nil {
		return err
	}
	if o.PaymentStatus == PaymentProcessing {
		return nimbus.Errorf(nimbus.ECONFLICT, "a payment of this order is in progress; try again in a moment")
	}
	wasPaid := o.Status == StatusPaid
	for _, l := range o.Lines {
		if !l.TrackInventory {
			continue
		}
		var err error
		if wasPaid {
			err = inventory.Return(ctx, tx, l.VariantID, l.Quantity, o.ID, "order canceled")
		} else {
			err = inventory.Release(ctx, tx, l.VariantID, l.Quantity, o.ID)
		}
		if err != nil {
			return err
		}
	}
	if o.ReservationExpiresAt != nil {
		if err := unscheduleExpiry(ctx, tx, o.ID); err != nil {
			return err
		}
	}
	o.Status, o.ReservationExpiresAt = StatusCanceled, nil
	if wasPaid {
		if refund == nil || o.RefundedTotal+refund.Amount != o.Total {
			return nimbus.Errorf(nimbus.ECONFLICT, "the order changed while it was being refunded; try again")
		}
		if err := insertPayment(ctx, tx, o.ID, refund); err != nil {
			return err
		}
		o.RefundedTotal, o.PaymentStatus = o.Total, PaymentRefunded
	} else {
		o.PaymentStatus = PaymentVoided
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

// RefundInput is a refund of some or all of an order's payment.
type RefundInput struct {
	Amount  int64
	Reason  string
	Restock []FulfillmentLine // units that come back to stock
}

// Refund gives money back. When everything is refunded the order becomes
// refunded. Errors: EINVALID, ENOTFOUND, ETRANSITION.
func (s *Service) Refund(ctx context.Context, tenantID, orderID, actor string, in RefundInput) (*Order, error) {
	o, err := s.FindOrderByID(ctx, tenantID, orderID)
	if err != nil {
		return nil, err
	}
	if err := can(o.Status, actionRefund); err != nil {
		return nil, err
	}
	if in.Amount <= 0 || in.Amount > o.Total-o.RefundedTotal {
		return nil, nimbus.Invalid(nimbus.FieldError{Field: "amount", Message: fmt.Sprintf("must be between 1 and %d, what is left to refund", o.Total-o.RefundedTotal)})
	}
	if len(in.Reason) > 500 {
		return nil, nimbus.Invalid(nimbus.FieldError{Field: "reason", Message: "must be at most 500 characters"})
	}
	byID := map[string]*Line{}
	for _, l := range o.Lines {
		byID[l.ID] = l
	}
	for i, r := range in.Restock {
		if l := byID[r.LineID]; l == nil || r.Quantity <= 0 || r.Quantity > l.Quantity {
			return nil, nimbus.Invalid(nimbus.FieldError{Field: fmt.Sprintf("restock[%d]", i), Message: "must name a line of this order and at most its quantity"})
		}
	}
	refund, err := s.refundWithProvider(ctx, o, in.Amount)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, tenantID, orderID, func(tx *db.TenantTx, o *Order) error {
		if err := can(o.Status, actionRefund); err != nil {
			return err
		}
		if o.RefundedTotal+refund.Amount > o.Total {
			return nimbus.Errorf(nimbus.ECONFLICT, "the order was refunded meanwhile; nothing was changed")
		}
		if err := insertPayment(ctx, tx, o.ID, refund); err != nil {
			return err
		}
		for _, r := range in.Restock {
			if l := byID[r.LineID]; l.TrackInventory {
				if err := inventory.Return(ctx, tx, l.VariantID, r.Quantity, o.ID, "refund restock"); err != nil {
					return err
				}
			}
		}
		o.RefundedTotal += refund.Amount
		o.PaymentStatus = PaymentPartiallyRefunded
		if o.RefundedTotal == o.Total {
			o.Status, o.PaymentStatus = StatusRefunded, PaymentRefunded
		}
		if err := updateOrderState(ctx, tx, o); err != nil {
			return err
		}
		msg := "Refunded " + formatAmount(refund.Amount, o.Currency)
		if in.Reason != "" {
			msg += ": " + in.Reason
		}
		if err := insertEvent(ctx, tx, o.ID, "refunded", msg, actor); err != nil {
			return err
		}
		return outbox.Write(ctx, tx, "order.refunded", o.ID, map[string]any{"order_id": o.ID, "amount": refund.Amount,
			"refunded_total": o.RefundedTotal, "status": o.Status})
	})
}

// refundWithProvider asks the provider of the order's charge for money back.
func (s *Service) refundWithProvider(ctx context.Context, o *Order, amount int64) (*Payment, error) {
	var charge *Payment
	for _, p := range o.Payments {
		if p.Kind == "charge" && p.Status == payment.StatusSucceeded {
			charge = p
		}
	}
	if charge == nil {
		return nil, nimbus.Errorf(nimbus.ECONFLICT, "the order has no successful payment to refund")
	}
	provider, err := s.Providers.Get(charge.Provider)
	if err != nil {
		return nil, err
	}
	refund := &Payment{ID: nimbus.NewID(nimbus.PrefixPayment), Kind: "refund", Provider: charge.Provider, Amount: amount, Currency: o.Currency}
	res, err := provider.Refund(ctx, payment.RefundRequest{PaymentID: refund.ID, ChargeRef: charge.ProviderRef, Amount: amount, Currency: o.Currency})
	if err != nil {
		return nil, err
	}
	if res.Status != payment.StatusSucceeded {
		return nil, nimbus.Errorf(nimbus.EPAYMENT, "the provider refused the refund: %s", res.FailureCode)
	}
	refund.Status, refund.ProviderRef = res.Status, res.ProviderRef
	return refund, nil
}

// ExpireReservation cancels an order whose stock hold ran out unpaid. It is
// a no-op for an order that was paid or canceled meanwhile, and reports
// retry=true while a payment of it is still with the provider.
func (s *Service) ExpireReservation(ctx context.Context, tenantID, orderID string) (retry bool, err error) {
	err = s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
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
		if o.PaymentStatus == PaymentProcessing {
			retry = true
			return nil
		}
		if tx.Now.Before(*o.ReservationExpiresAt) {
			retry = true // scheduled early (clock skew between nodes): try again later
			return nil
		}
		return s.cancel(ctx, tx, o, "system", "payment not received in time; stock released", nil)
	})
	return retry, err
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
