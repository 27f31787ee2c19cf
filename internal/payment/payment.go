// Package payment defines how Nimbus talks to payment providers, and the
// two built-in ones: "test", a card-gateway sandbox with documented test card
// numbers, and "manual", for bank transfer or cash on delivery, where staff
// mark the order paid. Real gateways (cards, Alipay, WeChat Pay) implement
// the same Provider interface.
package payment

import (
	"context"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus"
)

// Charge statuses.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusPending   = "pending" // the money arrives later (bank transfer, or an asynchronous gateway)
)

// Card is what a shopper types in. Real gateways never let it reach the
// server (they tokenize in the browser); the test provider takes it
// directly so that tests and benchmarks can drive every outcome.
type Card struct {
	Number   string
	ExpMonth int
	ExpYear  int
	CVC      string
}

// ChargeRequest asks a provider to take money for an order.
type ChargeRequest struct {
	PaymentID string // our id; providers use it as their idempotency key
	OrderID   string
	Amount    int64
	Currency  string
	Card      *Card
}

// Result is what a provider answered.
type Result struct {
	Status         string
	ProviderRef    string // the provider's id for the charge or refund
	FailureCode    string // for failed: card_declined, insufficient_funds, ...
	FailureMessage string
}

// declineKeys name, by failure code, the pages' messages for the reasons
// a card is declined that they know how to say.
var declineKeys = map[string]string{"card_declined": "field.card_declined", "insufficient_funds": "field.insufficient_funds"}

// CardError is the card's field error of a declined charge: the provider's
// message, which pages show in their language when they know the reason
// (another provider's own reasons they show as it wrote them).
func (r Result) CardError() nimbus.FieldError {
	return nimbus.FieldError{Field: "card", Message: r.FailureMessage, Key: declineKeys[r.FailureCode]}
}

// RefundRequest asks a provider to give money back.
type RefundRequest struct {
	PaymentID string // the refund's own id (idempotency key)
	ChargeRef string // the provider's id of the original charge
	Amount    int64
	Currency  string
}

// Provider is a payment gateway.
type Provider interface {
	Name() string
	Charge(ctx context.Context, r ChargeRequest) (Result, error)
	Refund(ctx context.Context, r RefundRequest) (Result, error)
}

// CardValidator is a provider that can check a card before anything is
// recorded, so that a typo is refused without leaving a failed payment.
type CardValidator interface {
	ValidateCard(c *Card) error
}

// Providers finds a provider by name.
type Providers map[string]Provider

// Get returns the named provider. Errors: EINVALID.
func (p Providers) Get(name string) (Provider, error) {
	if bad := p.Check(name); bad != nil {
		return nil, nimbus.Invalid(*bad)
	}
	return p[name], nil
}

// Check refuses a name that is none of the providers, as a field error.
func (p Providers) Check(name string) *nimbus.FieldError {
	if _, ok := p[name]; ok {
		return nil
	}
	return new(nimbus.Fieldf("payment_provider", "field.payment_provider", "must be one of the store's payment providers: test or manual"))
}

// Test card numbers of the test provider.
const (
	CardSuccess           = "4242424242424242"
	CardDeclined          = "4000000000000002"
	CardInsufficientFunds = "4000000000009995"
)

// TestProvider is a card-gateway sandbox. Any card that passes the Luhn
// check, is not expired and has a 3-4 digit CVC succeeds, except
// 4000000000000002 (card_declined) and 4000000000009995 (insufficient_funds).
type TestProvider struct {
	Now func() time.Time
}

// Name is "test".
func (TestProvider) Name() string { return "test" }

// ValidateCard checks a card like the gateway would: number, expiry, CVC.
// Errors: EINVALID.
func (p TestProvider) ValidateCard(c *Card) error {
	if c == nil {
		return nimbus.Invalid(nimbus.Fieldf("card", "field.card_required", "is required for the test provider"))
	}
	return p.validate(*c)
}

// Charge validates the card like a gateway would and answers at once.
func (p TestProvider) Charge(_ context.Context, r ChargeRequest) (Result, error) {
	if r.Card == nil {
		return Result{}, nimbus.Invalid(nimbus.Fieldf("card", "field.card_required", "is required for the test provider"))
	}
	if err := p.validate(*r.Card); err != nil {
		return Result{}, err
	}
	switch strings.ReplaceAll(r.Card.Number, " ", "") {
	case CardDeclined:
		return Result{Status: StatusFailed, ProviderRef: "test_ch_" + r.PaymentID, FailureCode: "card_declined", FailureMessage: "the card was declined"}, nil
	case CardInsufficientFunds:
		return Result{Status: StatusFailed, ProviderRef: "test_ch_" + r.PaymentID, FailureCode: "insufficient_funds", FailureMessage: "the card has insufficient funds"}, nil
	}
	return Result{Status: StatusSucceeded, ProviderRef: "test_ch_" + r.PaymentID}, nil
}

// Refund always succeeds in the sandbox.
func (TestProvider) Refund(_ context.Context, r RefundRequest) (Result, error) {
	return Result{Status: StatusSucceeded, ProviderRef: "test_re_" + r.PaymentID}, nil
}

func (p TestProvider) validate(c Card) error {
	var fe []nimbus.FieldError
	num := strings.ReplaceAll(c.Number, " ", "")
	if len(num) < 12 || len(num) > 19 || !luhn(num) {
		fe = append(fe, nimbus.Fieldf("card.number", "field.card_number", "is not a valid card number"))
	}
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	if c.ExpMonth < 1 || c.ExpMonth > 12 || c.ExpYear < 2000 || c.ExpYear > 2100 ||
		c.ExpYear < now.Year() || c.ExpYear == now.Year() && c.ExpMonth < int(now.Month()) {
		fe = append(fe, nimbus.Fieldf("card.exp_month", "field.card_expiry", "the card has expired or the expiry date is invalid"))
	}
	if len(c.CVC) < 3 || len(c.CVC) > 4 || strings.Trim(c.CVC, "0123456789") != "" {
		fe = append(fe, nimbus.Fieldf("card.cvc", "field.cvc", "must be 3 or 4 digits"))
	}
	if len(fe) > 0 {
		return nimbus.Invalid(fe...)
	}
	return nil
}

func luhn(num string) bool {
	sum := 0
	double := false
	for i := len(num) - 1; i >= 0; i-- {
		d := int(num[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ManualProvider is for bank transfers and cash on delivery: a charge stays
// pending until staff mark the order paid.
type ManualProvider struct{}

// Name is "manual".
func (ManualProvider) Name() string { return "manual" }

// Charge records nothing with anyone: the money comes outside Nimbus.
func (ManualProvider) Charge(_ context.Context, r ChargeRequest) (Result, error) {
	return Result{Status: StatusPending, ProviderRef: "manual_" + r.PaymentID}, nil
}

// Refund is done by staff outside Nimbus; it is recorded as succeeded.
func (ManualProvider) Refund(_ context.Context, r RefundRequest) (Result, error) {
	return Result{Status: StatusSucceeded, ProviderRef: "manual_re_" + r.PaymentID}, nil
}
