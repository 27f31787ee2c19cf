package app_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/outbox"
)

// TestDiscountLimits: a code with a total limit of 2 and one use per
// customer serves exactly that, and its minimum subtotal is enforced.
func TestDiscountLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		sh.Owner.do("POST", "/api/v1/discounts", map[string]any{"code": "TWICE", "kind": "fixed_amount", "amount": 300,
			"usage_limit": 2, "per_customer_limit": 1, "min_subtotal": 2500}).must(t, http.StatusCreated, nil)
		c := s.client(t)
		base := "/api/v1/storefront/acme/carts/"
		buy := func(email string) *response {
			tok := readyCart(t, s, sh, sh.Small.ID, 1)
			c.do("PATCH", base+tok, map[string]any{"email": email}).must(t, http.StatusOK, nil)
			r := c.do("PATCH", base+tok, map[string]any{"discount_code": "twice"})
			if r.Status != http.StatusOK {
				return r
			}
			return c.do("POST", base+tok+"/checkout", map[string]any{"payment_provider": "manual"})
		}
		var o struct {
			Order orderJSON `json:"order"`
		}
		buy("a@example.com").must(t, http.StatusCreated, &o)
		if o.Order.DiscountTotal != 300 {
			t.Fatalf("discount = %d, want 300", o.Order.DiscountTotal)
		}
		p := buy("a@example.com").mustProblem(t, 422, "invalid") // once per customer
		if !p.hasField("discount_code") {
			t.Fatalf("problem = %+v", p)
		}
		buy("b@example.com").must(t, http.StatusCreated, nil)
		buy("c@example.com").mustProblem(t, 422, "invalid") // used up

		// Below the minimum subtotal (one small is 2500; add nothing else and take a cheaper... use a fresh code).
		sh.Owner.do("POST", "/api/v1/discounts", map[string]any{"code": "BIGSPEND", "kind": "percentage", "percent_bp": 2000, "min_subtotal": 100000}).
			must(t, http.StatusCreated, nil)
		tok := readyCart(t, s, sh, sh.Small.ID, 1)
		c.do("PATCH", base+tok, map[string]any{"discount_code": "BIGSPEND"}).mustProblem(t, 422, "invalid")

		var d struct {
			Data []struct {
				Code      string `json:"code"`
				TimesUsed int64  `json:"times_used"`
			} `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/discounts", nil).must(t, http.StatusOK, &d)
		for _, x := range d.Data {
			if x.Code == "TWICE" && x.TimesUsed != 2 {
				t.Fatalf("TWICE used %d times, want 2", x.TimesUsed)
			}
		}
	})
}

// TestOrderEventsInOutbox: every state change of an order left its event in
// the outbox, in order.
func TestOrderEventsInOutbox(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		c := s.client(t)
		var placed struct {
			Order      orderJSON `json:"order"`
			OrderToken string    `json:"order_token"`
		}
		c.do("POST", "/api/v1/storefront/acme/carts/"+readyCart(t, s, sh, sh.Small.ID, 1)+"/checkout",
			map[string]any{"payment_provider": "test"}).must(t, http.StatusCreated, &placed)
		id := placed.Order.ID
		c.do("POST", "/api/v1/storefront/acme/orders/"+id+"/payments", map[string]any{"order_token": placed.OrderToken, "provider": "test",
			"card": map[string]any{"number": "4000000000009995", "exp_month": 1, "exp_year": 2099, "cvc": "999"}}).mustProblem(t, 402, "payment_declined")
		c.do("POST", "/api/v1/storefront/acme/orders/"+id+"/payments", map[string]any{"order_token": placed.OrderToken, "provider": "test",
			"card": testCard}).must(t, http.StatusOK, nil)
		sh.Owner.do("POST", "/api/v1/orders/"+id+"/cancel", map[string]any{"reason": "customer asked"}).must(t, http.StatusOK, nil)

		var topics []string
		ctx := context.Background()
		err := s.DB.TenantView(ctx, sh.StoreID, func(tx *db.TenantTx) error {
			es, err := outbox.BySubject(ctx, tx, id)
			for _, e := range es {
				topics = append(topics, e.Topic)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"order.created", "payment.failed", "order.paid", "order.canceled"}
		if len(topics) != len(want) {
			t.Fatalf("outbox topics = %v, want %v", topics, want)
		}
		for i := range want {
			if topics[i] != want[i] {
				t.Fatalf("outbox topics = %v, want %v", topics, want)
			}
		}
		// Canceling a paid order refunded it in full and returned the stock.
		var o orderJSON
		sh.Owner.do("GET", "/api/v1/orders/"+id, nil).must(t, http.StatusOK, &o)
		if o.Status != "canceled" || o.PaymentStatus != "refunded" || o.RefundedTotal != o.Total {
			t.Fatalf("canceled order = %+v", o)
		}
		if l := sh.level(t, sh.Small.ID); l.OnHand != 10 || l.Reserved != 0 {
			t.Fatalf("stock after cancel = %+v", l)
		}
		assertLedgerBalanced(t, sh.merchant)
	})
}
