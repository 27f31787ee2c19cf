package pricing

import (
	"math/rand/v2"
	"testing"
)

func TestComputeTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Input
		want Totals
	}{
		{
			name: "exclusive tax, percentage discount, shipping",
			in: Input{Lines: []Line{{1000, 2}, {333, 3}}, Discount: &DiscountRule{Kind: Percentage, PercentBP: 1000},
				Shipping: 500, TaxRateBP: 825},
			// subtotal 2999; discount 299.9 -> 300; shares 2000/2999*300=200.06 -> 200, 999/2999*300=99.93 -> 100
			// tax (2000-200)*8.25% = 148.5 -> 149; (999-100)*8.25% = 74.17 -> 74
			want: Totals{Lines: []LineTotals{{2000, 200, 149, 1949}, {999, 100, 74, 973}}, Subtotal: 2999, Discount: 300,
				Shipping: 500, Tax: 223, Total: 2999 - 300 + 500 + 223},
		},
		{
			name: "inclusive tax, fixed discount larger than subtotal",
			in:   Input{Lines: []Line{{500, 1}}, Discount: &DiscountRule{Kind: FixedAmount, Amount: 800}, TaxRateBP: 1300, PricesIncludeTax: true},
			want: Totals{Lines: []LineTotals{{500, 500, 0, 0}}, Subtotal: 500, Discount: 500, Total: 0},
		},
		{
			name: "inclusive tax with taxed shipping",
			in:   Input{Lines: []Line{{11300, 1}}, Shipping: 1130, TaxRateBP: 1300, PricesIncludeTax: true, TaxShipping: true},
			// 11300 contains 1300 tax; 1130 contains 130
			want: Totals{Lines: []LineTotals{{11300, 0, 1300, 11300}}, Subtotal: 11300, Shipping: 1130, ShippingTax: 130, Tax: 1430, Total: 12430},
		},
		{
			name: "inclusive tax rounds half up too",
			in:   Input{Lines: []Line{{15, 1}, {3, 1}}, TaxRateBP: 2000, PricesIncludeTax: true},
			// 15 contains 2.5 of tax -> 3; 3 contains 0.5 -> 1
			want: Totals{Lines: []LineTotals{{15, 0, 3, 15}, {3, 0, 1, 3}}, Subtotal: 18, Tax: 4, Total: 18},
		},
		{
			name: "half rounds up",
			in:   Input{Lines: []Line{{50, 1}}, TaxRateBP: 1000}, // 5.0 exactly
			want: Totals{Lines: []LineTotals{{50, 0, 5, 55}}, Subtotal: 50, Tax: 5, Total: 55},
		},
		{
			name: "zero-decimal currency amounts",
			in:   Input{Lines: []Line{{1999, 1}, {1, 1}}, Discount: &DiscountRule{Kind: FixedAmount, Amount: 1}},
			// shares of 1 unit: 1999/2000 -> 0 r1999, 1/2000 -> 0 r1: first line gets it
			want: Totals{Lines: []LineTotals{{1999, 1, 0, 1998}, {1, 0, 0, 1}}, Subtotal: 2000, Discount: 1, Total: 1999},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Compute(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !equalTotals(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func equalTotals(a, b Totals) bool {
	if len(a.Lines) != len(b.Lines) {
		return false
	}
	for i := range a.Lines {
		if a.Lines[i] != b.Lines[i] {
			return false
		}
	}
	return a.Subtotal == b.Subtotal && a.Discount == b.Discount && a.Shipping == b.Shipping &&
		a.ShippingTax == b.ShippingTax && a.Tax == b.Tax && a.Total == b.Total
}

// TestTotalsNeverDrift checks the invariants on many random carts: the lines
// add up to the order, discount shares add up to the discount, taxes add up,
// and nothing is negative or more than it should be.
func TestTotalsNeverDrift(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 20000 {
		in := Input{Shipping: r.Int64N(5000), TaxRateBP: r.Int64N(3000), PricesIncludeTax: r.IntN(2) == 0, TaxShipping: r.IntN(2) == 0}
		for range 1 + r.IntN(8) {
			in.Lines = append(in.Lines, Line{UnitPrice: r.Int64N(1_000_000), Quantity: 1 + r.Int64N(20)})
		}
		switch r.IntN(3) {
		case 1:
			in.Discount = &DiscountRule{Kind: Percentage, PercentBP: r.Int64N(10001)}
		case 2:
			in.Discount = &DiscountRule{Kind: FixedAmount, Amount: r.Int64N(3_000_000)}
		}
		got, err := Compute(in)
		if err != nil {
			t.Fatalf("case %d: %v", n, err)
		}
		var sub, disc, tax, lineTotals int64
		for i, l := range got.Lines {
			if l.Subtotal != in.Lines[i].UnitPrice*in.Lines[i].Quantity {
				t.Fatalf("case %d line %d: subtotal %d", n, i, l.Subtotal)
			}
			if l.Discount < 0 || l.Discount > l.Subtotal || l.Tax < 0 || l.Total < 0 {
				t.Fatalf("case %d line %d out of range: %+v", n, i, l)
			}
			sub += l.Subtotal
			disc += l.Discount
			tax += l.Tax
			lineTotals += l.Total
		}
		if sub != got.Subtotal || disc != got.Discount || tax+got.ShippingTax != got.Tax {
			t.Fatalf("case %d: lines do not add up: %+v", n, got)
		}
		if got.Discount > got.Subtotal {
			t.Fatalf("case %d: discount %d over subtotal %d", n, got.Discount, got.Subtotal)
		}
		want := lineTotals + got.Shipping
		if !in.PricesIncludeTax {
			want += got.ShippingTax
		}
		if got.Total != want {
			t.Fatalf("case %d: total %d, lines+shipping %d: %+v", n, got.Total, want, got)
		}
		if in.PricesIncludeTax && got.Tax > got.Total {
			t.Fatalf("case %d: included tax %d over total %d", n, got.Tax, got.Total)
		}
	}
}

func TestComputeRejectsOverflowAndNegatives(t *testing.T) {
	if _, err := Compute(Input{Lines: []Line{{1 << 40, 1 << 30}}}); err != ErrTooLarge {
		t.Fatalf("overflow: err = %v", err)
	}
	if _, err := Compute(Input{Lines: []Line{{-1, 1}}}); err == nil {
		t.Fatal("negative price accepted")
	}
	if _, err := Compute(Input{Lines: []Line{{1, 0}}}); err == nil {
		t.Fatal("zero quantity accepted")
	}
}
