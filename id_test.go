package nimbus_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nimbuscommerce/nimbus"
)

func TestNewIDSortsByCreation(t *testing.T) {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = nimbus.NewID(nimbus.PrefixUser)
	}
	if !slices.IsSorted(ids) {
		t.Fatal("ids made in sequence do not sort in sequence")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		if !nimbus.ValidID(nimbus.PrefixUser, id) {
			t.Fatalf("ValidID(%q) = false", id)
		}
		if len(id) != len("usr_")+26 {
			t.Fatalf("id %q has length %d", id, len(id))
		}
	}
}

func TestValidID(t *testing.T) {
	good := nimbus.NewID(nimbus.PrefixTenant)
	for _, tc := range []struct {
		prefix, id string
		want       bool
	}{
		{nimbus.PrefixTenant, good, true},
		{nimbus.PrefixUser, good, false},                                     // wrong type
		{nimbus.PrefixTenant, good[:len(good)-1], false},                     // too short
		{nimbus.PrefixTenant, good + "0", false},                             // too long
		{nimbus.PrefixTenant, strings.ToUpper(good), false},                  // wrong case
		{nimbus.PrefixTenant, "ten_" + strings.Repeat("u", 26), false},       // u is not Crockford
		{nimbus.PrefixTenant, "ten_" + "8" + strings.Repeat("0", 25), false}, // over 128 bits
		{nimbus.PrefixTenant, "", false},
	} {
		if got := nimbus.ValidID(tc.prefix, tc.id); got != tc.want {
			t.Errorf("ValidID(%q, %q) = %v, want %v", tc.prefix, tc.id, got, tc.want)
		}
	}
}

func TestCurrencies(t *testing.T) {
	for code, want := range map[string]bool{"USD": true, "CNY": true, "JPY": true, "usd": false, "XYZ": false, "": false, "US": false} {
		if got := nimbus.ValidCurrency(code); got != want {
			t.Errorf("ValidCurrency(%q) = %v, want %v", code, got, want)
		}
	}
	if c, _ := nimbus.LookupCurrency("JPY"); c.Exponent != 0 {
		t.Errorf("JPY exponent = %d, want 0", c.Exponent)
	}
	if c, _ := nimbus.LookupCurrency("KWD"); c.Exponent != 3 {
		t.Errorf("KWD exponent = %d, want 3", c.Exponent)
	}
}

func TestRoles(t *testing.T) {
	if !nimbus.RoleOwner.AtLeast(nimbus.RoleAdmin) || nimbus.RoleStaff.AtLeast(nimbus.RoleAdmin) || nimbus.Role("root").AtLeast(nimbus.RoleStaff) {
		t.Fatal("role order is wrong")
	}
	if nimbus.RoleOwner.AtLeast(nimbus.Role("")) {
		t.Fatal("the empty role must not be satisfiable")
	}
}

func TestErrorCode(t *testing.T) {
	if got := nimbus.ErrorCode(nimbus.Errorf(nimbus.ENOTFOUND, "x")); got != nimbus.ENOTFOUND {
		t.Fatalf("ErrorCode = %q", got)
	}
	if got := nimbus.ErrorMessage(errString("secret sql text")); got != "internal error" {
		t.Fatalf("ErrorMessage of an internal error = %q", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
