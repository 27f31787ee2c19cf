package nimbus

import "testing"

func TestFormatMinor(t *testing.T) {
	for _, c := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{2500, "USD", "25.00"},
		{5, "CNY", "0.05"},
		{-1999, "EUR", "-19.99"},
		{2500, "JPY", "2500"},
		{1234567, "KWD", "1234.567"},
		{42, "XXX", "42"}, // not a currency Nimbus takes: as it is
	} {
		if got := FormatMinor(c.amount, c.currency); got != c.want {
			t.Errorf("FormatMinor(%d, %s) = %q, want %q", c.amount, c.currency, got, c.want)
		}
	}
}
