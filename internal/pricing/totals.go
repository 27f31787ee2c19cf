// Package pricing computes what a cart costs: line subtotals, a discount
// code, shipping and tax, in integer minor units. It also keeps the rules
// a store prices with: discount codes, shipping zones and rates, tax rates.
//
// The rounding rule, used everywhere and only here: an amount that must be
// divided (a percentage, a tax, a share of a discount) is rounded half up to
// the minor unit, once per line; a discount is shared between lines in
// proportion to their subtotals by the largest-remainder method, so the
// shares always add up to the discount exactly. Nothing is ever a float.
package pricing

import (
	"errors"
	"math/bits"
	"sort"
)

// Discount kinds.
const (
	Percentage  = "percentage"
	FixedAmount = "fixed_amount"
)

// Line is one cart line to price.
type Line struct {
	UnitPrice int64
	Quantity  int64
}

// DiscountRule is the discount to apply: a percentage in basis points
// (1250 = 12.5%) or a fixed amount off the subtotal.
type DiscountRule struct {
	Kind      string
	PercentBP int64
	Amount    int64
}

// Input is everything that decides a cart's totals.
type Input struct {
	Lines            []Line
	Discount         *DiscountRule
	Shipping         int64
	TaxRateBP        int64 // the destination's rate in basis points: 825 = 8.25%
	PricesIncludeTax bool  // prices (and shipping) already contain tax
	TaxShipping      bool
}

// LineTotals are one line's amounts.
type LineTotals struct {
	Subtotal int64 // unit price × quantity
	Discount int64 // its share of the order discount
	Tax      int64 // tax on subtotal - discount (contained in it when prices include tax)
	Total    int64 // subtotal - discount, plus tax when prices exclude it
}

// Totals are a cart's amounts. Total = Subtotal - Discount + Shipping, plus
// Tax when prices exclude it.
type Totals struct {
	Lines       []LineTotals
	Subtotal    int64
	Discount    int64
	Shipping    int64
	ShippingTax int64
	Tax         int64 // lines' tax + shipping tax
	Total       int64
}

// ErrTooLarge is returned when an amount would not fit in int64.
var ErrTooLarge = errors.New("pricing: amount too large")

// Compute prices a cart. Amounts must not be negative.
func Compute(in Input) (Totals, error) {
	if in.Shipping < 0 || in.TaxRateBP < 0 || in.TaxRateBP > 10000 {
		return Totals{}, errors.New("pricing: negative shipping or tax rate out of range")
	}
	t := Totals{Lines: make([]LineTotals, len(in.Lines)), Shipping: in.Shipping}
	var ok bool
	for i, l := range in.Lines {
		if l.UnitPrice < 0 || l.Quantity <= 0 {
			return Totals{}, errors.New("pricing: negative price or non-positive quantity")
		}
		hi, lo := bits.Mul64(uint64(l.UnitPrice), uint64(l.Quantity))
		if hi != 0 || lo > 1<<62 {
			return Totals{}, ErrTooLarge
		}
		t.Lines[i].Subtotal = int64(lo)
		if t.Subtotal, ok = add(t.Subtotal, t.Lines[i].Subtotal); !ok {
			return Totals{}, ErrTooLarge
		}
	}

	t.Discount = discountAmount(in.Discount, t.Subtotal)
	shares := allocate(t.Discount, t.Lines)
	for i := range t.Lines {
		l := &t.Lines[i]
		l.Discount = shares[i]
		base := l.Subtotal - l.Discount
		l.Tax = taxOn(base, in.TaxRateBP, in.PricesIncludeTax)
		l.Total = base
		if !in.PricesIncludeTax {
			l.Total += l.Tax
		}
		t.Tax += l.Tax
	}
	if in.TaxShipping {
		t.ShippingTax = taxOn(in.Shipping, in.TaxRateBP, in.PricesIncludeTax)
		t.Tax += t.ShippingTax
	}
	t.Total = t.Subtotal - t.Discount + t.Shipping
	if !in.PricesIncludeTax {
		t.Total += t.Tax
	}
	if t.Total < 0 || t.Tax < 0 {
		return Totals{}, ErrTooLarge
	}
	return t, nil
}

func add(a, b int64) (int64, bool) {
	s := a + b
	return s, s >= a && s <= 1<<62
}

// discountAmount is what a rule takes off a subtotal, never more than it.
// DiscountAmount is what a rule takes off a subtotal, never more than it.
func DiscountAmount(d *DiscountRule, subtotal int64) int64 { return discountAmount(d, subtotal) }

func discountAmount(d *DiscountRule, subtotal int64) int64 {
	if d == nil {
		return 0
	}
	switch d.Kind {
	case Percentage:
		return min(mulDivRound(subtotal, d.PercentBP, 10000), subtotal)
	case FixedAmount:
		return min(max(d.Amount, 0), subtotal)
	}
	return 0
}

// taxOn returns the tax on an amount: added on top (exclusive), or the part
// of it that is tax (inclusive).
func taxOn(amount, rateBP int64, inclusive bool) int64 {
	if rateBP == 0 || amount == 0 {
		return 0
	}
	if inclusive {
		// The tax inside amount is amount × rate / (1 + rate), rounded half up.
		return mulDivRound(amount, rateBP, 10000+rateBP)
	}
	return mulDivRound(amount, rateBP, 10000)
}

// mulDivRound returns a*b/c rounded half up, for non-negative a, b and
// positive c, without overflow in the product.
func mulDivRound(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, r := bits.Div64(hi, lo, uint64(c)) // hi < c holds for our inputs (a < 2^62, b <= c)
	if 2*r >= uint64(c) {
		q++
	}
	return int64(q)
}

// allocate shares amount between lines in proportion to their subtotals by
// the largest-remainder method: floors first, then one unit each to the
// lines with the largest remainders (earlier lines win ties). The shares add
// up to amount exactly and no share exceeds its line's subtotal.
func allocate(amount int64, lines []LineTotals) []int64 {
	shares := make([]int64, len(lines))
	var total int64
	for _, l := range lines {
		total += l.Subtotal
	}
	if amount == 0 || total == 0 {
		return shares
	}
	type rem struct {
		i int
		r uint64
	}
	rems := make([]rem, len(lines))
	var given int64
	for i, l := range lines {
		hi, lo := bits.Mul64(uint64(amount), uint64(l.Subtotal))
		q, r := bits.Div64(hi, lo, uint64(total))
		shares[i] = int64(q)
		given += int64(q)
		rems[i] = rem{i, r}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; given < amount; k++ {
		shares[rems[k].i]++
		given++
	}
	return shares
}
