package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// formClient signs in to the console and keeps its cookie; csrf is the
// session's token for forms.
func consoleSignIn(t *testing.T, s *testServer, m *merchant) (*client, string) {
	t.Helper()
	c := s.login(t, m.Handle, m.Email, m.Password) // the same session cookie serves the console
	csrf := c.csrf
	c.csrf = ""
	return c, csrf
}

func postForm(c *client, path string, form url.Values) *response {
	return c.do("POST", path, form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

// TestConsoleGuards: the console needs a session, checks the CSRF token of
// every form, asks before destructive actions, and shows another store's
// orders and products as not found.
func TestConsoleGuards(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		a := openShop(t, s, "alpha")
		b := openShop(t, s, "bravo")
		o, _ := placeOrder(t, s, a.merchant) // manual payment: awaiting

		anon := s.client(t)
		anon.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		if r := anon.do("GET", "/admin/orders", nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
			t.Fatalf("anonymous console: %d %s", r.Status, r.Header.Get("Location"))
		}

		ca, csrf := consoleSignIn(t, s, a.merchant)
		ca.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		if r := ca.do("GET", "/admin/orders/"+o.ID, nil); r.Status != 200 || !strings.Contains(string(r.Body), o.ID) {
			t.Fatalf("own order page: %d", r.Status)
		}
		// A forged form (no or wrong token) is refused and changes nothing.
		if r := postForm(ca, "/admin/orders/"+o.ID+"/mark-paid", url.Values{"csrf": {"forged"}}); r.Status != http.StatusForbidden {
			t.Fatalf("forged form: %d", r.Status)
		}
		// Asking to cancel only shows a confirmation.
		if r := ca.do("GET", "/admin/orders/"+o.ID+"/confirm/cancel", nil); r.Status != 200 || !strings.Contains(string(r.Body), "confirm-cancel") {
			t.Fatalf("confirm page: %d", r.Status)
		}
		var got orderJSON
		a.Owner.do("GET", "/api/v1/orders/"+o.ID, nil).must(t, 200, &got)
		if got.Status != "pending_payment" {
			t.Fatalf("order changed before confirmation: %s", got.Status)
		}
		if r := postForm(ca, "/admin/orders/"+o.ID+"/cancel", url.Values{"csrf": {csrf}}); r.Status != http.StatusSeeOther {
			t.Fatalf("confirmed cancel: %d %s", r.Status, r.Body)
		}
		a.Owner.do("GET", "/api/v1/orders/"+o.ID, nil).must(t, 200, &got)
		if got.Status != "canceled" {
			t.Fatalf("order after confirmed cancel: %s", got.Status)
		}
		// Bad input in a form shows next to its field, with nothing changed.
		r := postForm(ca, "/admin/variants/"+a.Small.ID+"/stock", url.Values{"csrf": {csrf}, "kind": {"adjusted"}, "quantity": {"-999"}})
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "cannot remove more units") {
			t.Fatalf("bad stock adjustment: %d", r.Status)
		}
		if l := a.level(t, a.Small.ID); l.OnHand != 10 {
			t.Fatalf("stock changed: %+v", l)
		}

		// Store B's staff cannot see or act on A's order or product.
		cb, csrfB := consoleSignIn(t, s, b.merchant)
		for _, path := range []string{"/admin/orders/" + o.ID, "/admin/products/" + a.Product.ID, "/admin/orders/" + o.ID + "/confirm/refund"} {
			if r := cb.do("GET", path, nil); r.Status != http.StatusNotFound {
				t.Fatalf("B GET %s: %d", path, r.Status)
			}
		}
		if r := postForm(cb, "/admin/variants/"+a.Small.ID+"/stock", url.Values{"csrf": {csrfB}, "kind": {"received"}, "quantity": {"5"}}); r.Status != http.StatusNotFound {
			t.Fatalf("B adjusts A's stock: %d", r.Status)
		}
		if l := a.level(t, a.Small.ID); l.OnHand != 10 {
			t.Fatalf("A's stock changed by B: %+v", l)
		}
	})
}
