package app_test

import (
	"net/http"
	"slices"
	"testing"
)

type customerSession struct {
	Customer struct {
		ID         string `json:"id"`
		Email      string `json:"email"`
		HasAccount bool   `json:"has_account"`
	} `json:"customer"`
	Token string `json:"token"`
}

// TestCustomerAccount: a guest buys, then the same email registers; the
// account's history shows only what it bought while signed in, its saved
// addresses come and go, and its token works only in its own store.
func TestCustomerAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		openShop(t, s, "other")
		c := s.client(t)
		base := "/api/v1/storefront/acme"

		// A guest order by ada@example.com (readyCart uses buyer@example.com; set ours).
		guest := readyCart(t, s, sh, sh.Small.ID, 1)
		c.do("PATCH", base+"/carts/"+guest, map[string]any{"email": "ada@example.com"}).must(t, http.StatusOK, nil)
		c.do("POST", base+"/carts/"+guest+"/checkout", map[string]any{"payment_provider": "manual"}).must(t, http.StatusCreated, nil)

		var reg customerSession
		c.do("POST", base+"/customers", map[string]any{"email": "Ada@Example.com", "password": "short"}).mustProblem(t, 422, "invalid")
		c.do("POST", base+"/customers", map[string]any{"email": "Ada@Example.com", "password": "analytical engine", "name": "Ada"}).
			must(t, http.StatusCreated, &reg)
		if !reg.Customer.HasAccount || reg.Customer.Email != "ada@example.com" || len(reg.Token) == 0 {
			t.Fatalf("registration = %+v", reg)
		}
		c.do("POST", base+"/customers", map[string]any{"email": "ada@example.com", "password": "another password"}).mustProblem(t, 422, "invalid")
		c.do("POST", base+"/customers/login", map[string]any{"email": "ada@example.com", "password": "wrong password"}).mustProblem(t, 401, "unauthorized")
		c.do("POST", base+"/customers/login", map[string]any{"email": "nobody@example.com", "password": "wrong password"}).mustProblem(t, 401, "unauthorized")
		var login customerSession
		c.do("POST", base+"/customers/login", map[string]any{"email": "ada@example.com", "password": "analytical engine"}).must(t, http.StatusOK, &login)
		tok := login.Token

		// Signed in: a cart for the account, prefilled with its email.
		var cart cartJSON
		c.do("POST", base+"/carts", nil, "X-Customer-Token", tok).must(t, http.StatusCreated, &cart)
		c.do("POST", base+"/carts/"+cart.Token+"/lines", map[string]any{"variant_id": sh.Large.ID, "quantity": 1}).must(t, http.StatusCreated, nil)
		c.do("PATCH", base+"/carts/"+cart.Token, map[string]any{"shipping_address": usAddress, "shipping_rate_id": sh.RateID}).must(t, http.StatusOK, nil)
		var placed struct {
			Order orderJSON `json:"order"`
		}
		c.do("POST", base+"/carts/"+cart.Token+"/checkout", map[string]any{"payment_provider": "manual"}).must(t, http.StatusCreated, &placed)

		var history struct {
			Data []orderJSON `json:"data"`
		}
		c.do("GET", base+"/customers/me/orders", nil, "X-Customer-Token", tok).must(t, http.StatusOK, &history)
		if len(history.Data) != 1 || history.Data[0].ID != placed.Order.ID {
			t.Fatalf("history = %+v, want only the signed-in order %s", history.Data, placed.Order.ID)
		}

		// Addresses.
		var addr struct {
			ID        string `json:"id"`
			IsDefault bool   `json:"is_default"`
		}
		c.do("POST", base+"/customers/me/addresses", map[string]any{"address": usAddress}, "X-Customer-Token", tok).must(t, http.StatusCreated, &addr)
		if !addr.IsDefault {
			t.Fatal("the first address is not the default")
		}
		c.do("POST", base+"/customers/me/addresses", map[string]any{"address": map[string]any{"name": "x", "line1": "y", "city": "z", "country": "ZZ"}},
			"X-Customer-Token", tok).mustProblem(t, 422, "invalid")
		var me struct {
			Addresses []struct{ ID string } `json:"addresses"`
		}
		c.do("GET", base+"/customers/me", nil, "X-Customer-Token", tok).must(t, http.StatusOK, &me)
		if len(me.Addresses) != 1 {
			t.Fatalf("addresses = %+v", me.Addresses)
		}
		c.do("DELETE", base+"/customers/me/addresses/"+addr.ID, nil, "X-Customer-Token", tok).must(t, http.StatusNoContent, nil)

		// The token is worth nothing elsewhere or after signing out.
		c.do("GET", "/api/v1/storefront/other/customers/me", nil, "X-Customer-Token", tok).mustProblem(t, 401, "unauthorized")
		c.do("POST", "/api/v1/storefront/other/carts", nil, "X-Customer-Token", tok).mustProblem(t, 401, "unauthorized")
		forged := "a" + tok[1:]
		if forged == tok {
			forged = "b" + tok[1:]
		}
		c.do("GET", base+"/customers/me", nil, "X-Customer-Token", forged).mustProblem(t, 401, "unauthorized")
		c.do("POST", base+"/customers/logout", nil, "X-Customer-Token", tok).must(t, http.StatusNoContent, nil)
		c.do("GET", base+"/customers/me", nil, "X-Customer-Token", tok).mustProblem(t, 401, "unauthorized")

		// Staff see the customer, and their orders by customer id.
		var list struct {
			Data []struct {
				ID         string `json:"id"`
				HasAccount bool   `json:"has_account"`
			} `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/customers?q=ada", nil).must(t, http.StatusOK, &list)
		if len(list.Data) != 1 || !list.Data[0].HasAccount || list.Data[0].ID != reg.Customer.ID {
			t.Fatalf("customers = %+v", list.Data)
		}
		sh.Owner.do("GET", "/api/v1/customers/"+reg.Customer.ID, nil).must(t, http.StatusOK, nil)
		var orders struct {
			Data []orderJSON `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/orders?customer_id="+reg.Customer.ID, nil).must(t, http.StatusOK, &orders)
		if len(orders.Data) != 2 {
			t.Fatalf("staff see %d orders of the customer, want 2 (guest and signed in)", len(orders.Data))
		}
	})
}

// TestOrdersByEmail: staff find a store's orders by email, the guest ones
// (through the customer the email names) and the signed-in ones, including
// one placed with another email than its account's; newest first, and none
// of another store's.
func TestOrdersByEmail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		other := openShop(t, s, "other")
		c := s.client(t)
		place := func(sh *shop, email, customerToken string) string {
			t.Helper()
			base := "/api/v1/storefront/" + sh.Handle + "/carts"
			var cart cartJSON
			var headers []string
			if customerToken != "" {
				headers = []string{"X-Customer-Token", customerToken}
			}
			c.do("POST", base, nil, headers...).must(t, http.StatusCreated, &cart)
			c.do("POST", base+"/"+cart.Token+"/lines", map[string]any{"variant_id": sh.Small.ID, "quantity": 1}).must(t, http.StatusCreated, nil)
			update := map[string]any{"shipping_address": usAddress, "shipping_rate_id": sh.RateID}
			if email != "" {
				update["email"] = email
			}
			c.do("PATCH", base+"/"+cart.Token, update).must(t, http.StatusOK, nil)
			var placed struct {
				Order orderJSON `json:"order"`
			}
			c.do("POST", base+"/"+cart.Token+"/checkout", map[string]any{"payment_provider": "manual"}).must(t, http.StatusCreated, &placed)
			return placed.Order.ID
		}
		var reg customerSession
		c.do("POST", "/api/v1/storefront/acme/customers", map[string]any{"email": "ada@example.com", "password": "analytical engine"}).
			must(t, http.StatusCreated, &reg)

		signedInOther := place(sh, "ada.work@example.com", reg.Token) // signed in, another email
		signedIn := place(sh, "", reg.Token)                          // signed in, the account's email
		guest := place(sh, "ada@example.com", "")                     // a guest, the account's email
		guestOther := place(sh, "ada.work@example.com", "")           // a guest, a customer of its own
		buyer := place(sh, "buyer@example.com", "")
		elsewhere := place(other, "ada@example.com", "")

		ids := func(m *merchant, query string) []string {
			t.Helper()
			var list struct {
				Data []orderJSON `json:"data"`
			}
			m.Owner.do("GET", "/api/v1/orders?"+query, nil).must(t, http.StatusOK, &list)
			var out []string
			for _, o := range list.Data {
				out = append(out, o.ID)
			}
			return out
		}
		for _, tc := range []struct {
			m     *merchant
			query string
			want  []string
		}{
			{sh.merchant, "email=ada@example.com", []string{guest, signedIn}},
			{sh.merchant, "email=ADA.Work@example.com", []string{guestOther, signedInOther}},
			{sh.merchant, "email=buyer@example.com", []string{buyer}},
			{sh.merchant, "email=nobody@example.com", nil},
			{sh.merchant, "email=ada@example.com&limit=1", []string{guest}},
			{sh.merchant, "email=ada@example.com&customer_id=" + reg.Customer.ID, []string{guest, signedIn}},
			{other.merchant, "email=ada@example.com", []string{elsewhere}},
		} {
			if got := ids(tc.m, tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("%s: %s = %v, want %v", tc.m.Handle, tc.query, got, tc.want)
			}
		}
	})
}
