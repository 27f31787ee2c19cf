// Package order keeps orders from checkout to completion: their lines and
// totals (fixed at checkout), payments, fulfillments, refunds and
// cancellation, as a state machine whose every change is recorded in the
// order's history and in the outbox in the same transaction.
package order

import (
	"time"

	"github.com/nimbuscommerce/nimbus"
)

// Order statuses.
const (
	StatusPendingPayment     = "pending_payment"
	StatusPaid               = "paid"
	StatusPartiallyFulfilled = "partially_fulfilled"
	StatusFulfilled          = "fulfilled"
	StatusCompleted          = "completed"
	StatusCanceled           = "canceled"
	StatusRefunded           = "refunded"
)

// Payment statuses of an order.
const (
	PaymentUnpaid            = "unpaid"
	PaymentProcessing        = "processing" // a charge is with the provider right now
	PaymentAwaiting          = "awaiting"   // manual payment: waiting for the transfer or cash
	PaymentPaid              = "paid"
	PaymentPartiallyRefunded = "partially_refunded"
	PaymentRefunded          = "refunded"
	PaymentVoided            = "voided" // canceled before any money moved
)

// Actions on an order, checked against its status by the state machine.
const (
	actionPay      = "pay"
	actionFulfill  = "fulfill"
	actionComplete = "complete"
	actionCancel   = "cancel"
	actionRefund   = "refund"
)

// allowed lists, for each action, the statuses it may start from. Anything
// else is an invalid transition (409).
var allowed = map[string][]string{
	actionPay:      {StatusPendingPayment},
	actionFulfill:  {StatusPaid, StatusPartiallyFulfilled},
	actionComplete: {StatusFulfilled},
	actionCancel:   {StatusPendingPayment, StatusPaid},
	actionRefund:   {StatusPaid, StatusPartiallyFulfilled, StatusFulfilled, StatusCompleted},
}

// can checks that action may be taken on an order with status.
func can(status, action string) error {
	for _, s := range allowed[action] {
		if s == status {
			return nil
		}
	}
	// Pages say the status and the action in their language.
	return nimbus.Errorkf(nimbus.ETRANSITION, "error.transition", "an order that is %s cannot be %s",
		nimbus.Term{Key: "error.order_status." + status, Text: status}, nimbus.Term{Key: "error.order_action." + action, Text: pastTense[action]})
}

var pastTense = map[string]string{
	actionPay: "paid", actionFulfill: "fulfilled", actionComplete: "completed", actionCancel: "canceled", actionRefund: "refunded",
}

// Order is a placed order.
type Order struct {
	ID                   string
	TenantID             string
	Number               int64
	CartID               string
	Status               string
	PaymentStatus        string
	Currency             string
	Email                string
	CustomerID           string
	SignedIn             bool // the customer was signed in to their account
	ShippingAddress      nimbus.Address
	ShippingMethod       string
	DiscountCode         string
	PricesIncludeTax     bool
	Subtotal             int64
	DiscountTotal        int64
	ShippingTotal        int64
	TaxTotal             int64
	Total                int64
	RefundedTotal        int64
	PaymentProvider      string
	Note                 string
	ReservationExpiresAt *time.Time
	CreatedAt            time.Time
	UpdatedAt            time.Time

	Lines        []*Line
	Events       []*Event
	Fulfillments []*Fulfillment
	Payments     []*Payment

	tokenHash []byte
}

// Line is an order line, with everything copied from the catalog at checkout.
type Line struct {
	ID                string
	VariantID         string
	ProductID         string
	Title             string
	VariantTitle      string
	SKU               string
	TrackInventory    bool
	Quantity          int64
	UnitPrice         int64
	Subtotal          int64
	Discount          int64
	Tax               int64
	Total             int64
	FulfilledQuantity int64
	RestockedQuantity int64 // units returned to stock by refunds or cancellation
}

// Event is one entry of an order's history.
type Event struct {
	ID        string
	Kind      string
	Message   string
	Actor     string
	CreatedAt time.Time
}

// Fulfillment is a shipment of some of an order's lines.
type Fulfillment struct {
	ID             string
	Carrier        string
	TrackingNumber string
	Lines          []FulfillmentLine
	CreatedAt      time.Time
}

// FulfillmentLine says how many units of a line a shipment carries.
type FulfillmentLine struct {
	LineID   string `json:"line_id"`
	Quantity int64  `json:"quantity"`
}

// Payment is a charge or a refund with a provider.
type Payment struct {
	ID          string
	Kind        string // charge or refund
	Provider    string
	Status      string
	Amount      int64
	Currency    string
	ProviderRef string
	FailureCode string
	CreatedAt   time.Time
}

// Filter selects orders for the admin list.
type Filter struct {
	Status     *string
	CustomerID *string
	SignedIn   *bool
	Email      *string
	Since      *time.Time
	Until      *time.Time
	Query      string // an order number (#1001 or 1001) or part of an email
	After      string
	Limit      int
}
