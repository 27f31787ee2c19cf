package app_test

import (
	"net/http"
	"sync"
	"testing"
)

type paidOrder struct {
	ID    string
	Token string
	Total int64
	Lines []string
}

// buyAndPay checks out a ready cart and pays it with the test card.
func buyAndPay(t *testing.T, s *testServer, sh *shop, cartToken string) paidOrder {
	t.Helper()
	c := s.client(t)
	var placed struct {
		Order      orderJSON `json:"order"`
		OrderToken string    `json:"order_token"`
	}
	c.do("POST", "/api/v1/storefront/"+sh.Handle+"/carts/"+cartToken+"/checkout", map[string]any{"payment_provider": "test"}).must(t, 201, &placed)
	c.do("POST", "/api/v1/storefront/"+sh.Handle+"/orders/"+placed.Order.ID+"/payments",
		map[string]any{"order_token": placed.OrderToken, "provider": "test", "card": testCard}).must(t, 200, nil)
	p := paidOrder{ID: placed.Order.ID, Token: placed.OrderToken, Total: placed.Order.Total}
	for _, l := range placed.Order.Lines {
		p.Lines = append(p.Lines, l.ID)
	}
	return p
}

// TestConcurrentRefundsPayOutOnce: two full refunds at once; exactly one
// goes through, and the money refunded equals what was paid.
func TestConcurrentRefundsPayOutOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		o := buyAndPay(t, s, sh, readyCart(t, s, sh, sh.Small.ID, 1))
		var wg sync.WaitGroup
		results := make([]*response, 4)
		for i := range results {
			wg.Go(func() {
				results[i], _ = sh.Owner.send("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": o.Total})
			})
		}
		wg.Wait()
		ok := 0
		for _, r := range results {
			if r.Status == http.StatusCreated {
				ok++
			} else if r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusConflict {
				t.Fatalf("refund answered %d: %s", r.Status, r.Body)
			}
		}
		var got orderJSON
		sh.Owner.do("GET", "/api/v1/orders/"+o.ID, nil).must(t, 200, &got)
		var refunded int64
		for _, p := range got.Payments {
			if p.Kind == "refund" && p.Status == "succeeded" {
				refunded += p.Amount
			}
		}
		if ok != 1 || refunded != o.Total || got.RefundedTotal != o.Total {
			t.Fatalf("%d refunds went through, %d refunded at the provider, %d recorded, for an order of %d", ok, refunded, got.RefundedTotal, o.Total)
		}
	})
}

// TestRestockNeverExceedsWhatWasSold: refunds and cancellation together
// return each sold unit to stock at most once.
func TestRestockNeverExceedsWhatWasSold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		o := buyAndPay(t, s, sh, readyCart(t, s, sh, sh.Small.ID, 2)) // on hand 10 -> 8
		line := o.Lines[0]
		// The same line named twice, for more than was sold: refused, nothing changes.
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": 1,
			"restock": []map[string]any{{"line_id": line, "quantity": 2}, {"line_id": line, "quantity": 1}}}).mustProblem(t, 422, "invalid")
		if l := sh.level(t, sh.Small.ID); l.OnHand != 8 {
			t.Fatalf("on hand after a refused refund = %d, want 8", l.OnHand)
		}
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": 1,
			"restock": []map[string]any{{"line_id": line, "quantity": 1}}}).must(t, 201, nil)
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": 1,
			"restock": []map[string]any{{"line_id": line, "quantity": 2}}}).mustProblem(t, 422, "invalid")
		// Canceling returns only what was not returned yet.
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/cancel", map[string]any{}).must(t, 200, nil)
		if l := sh.level(t, sh.Small.ID); l.OnHand != 10 || l.Reserved != 0 {
			t.Fatalf("stock after refund and cancel = %+v, want 10 on hand", l)
		}
		assertLedgerBalanced(t, sh.merchant)
	})
}

// TestCanceledOrderGivesDiscountBack: a code with one use, used by an order
// that is then canceled unpaid, can be used again.
func TestCanceledOrderGivesDiscountBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		sh.Owner.do("POST", "/api/v1/discounts", map[string]any{"code": "ONCE", "kind": "fixed_amount", "amount": 100, "usage_limit": 1}).must(t, 201, nil)
		c := s.client(t)
		checkout := func() *response {
			tok := readyCart(t, s, sh, sh.Small.ID, 1)
			c.do("PATCH", "/api/v1/storefront/acme/carts/"+tok, map[string]any{"discount_code": "ONCE"}).must(t, 200, nil)
			return c.do("POST", "/api/v1/storefront/acme/carts/"+tok+"/checkout", map[string]any{"payment_provider": "test"})
		}
		var first struct {
			Order orderJSON `json:"order"`
		}
		checkout().must(t, 201, &first)
		tok := readyCart(t, s, sh, sh.Small.ID, 1)
		c.do("PATCH", "/api/v1/storefront/acme/carts/"+tok, map[string]any{"discount_code": "ONCE"}).mustProblem(t, 422, "invalid")
		sh.Owner.do("POST", "/api/v1/orders/"+first.Order.ID+"/cancel", map[string]any{}).must(t, 200, nil)
		checkout().must(t, 201, nil)
	})
}

// TestBadPaymentChangesNothing: a payment without a card, or with a bad
// one, is refused before anything is recorded.
func TestBadPaymentChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		c := s.client(t)
		var placed struct {
			Order      orderJSON `json:"order"`
			OrderToken string    `json:"order_token"`
		}
		c.do("POST", "/api/v1/storefront/acme/carts/"+readyCart(t, s, sh, sh.Small.ID, 1)+"/checkout",
			map[string]any{"payment_provider": "test"}).must(t, 201, &placed)
		pay := "/api/v1/storefront/acme/orders/" + placed.Order.ID + "/payments"
		c.do("POST", pay, map[string]any{"order_token": placed.OrderToken, "provider": "test"}).mustProblem(t, 422, "invalid")
		c.do("POST", pay, map[string]any{"order_token": placed.OrderToken, "provider": "test",
			"card": map[string]any{"number": "4242424242424241", "exp_month": 12, "exp_year": 2099, "cvc": "123"}}).mustProblem(t, 422, "invalid")
		c.do("POST", pay, map[string]any{"order_token": placed.OrderToken, "provider": "test",
			"card": map[string]any{"number": "4242424242424242", "exp_month": 1, "exp_year": 2001, "cvc": "123"}}).mustProblem(t, 422, "invalid")
		var o orderJSON
		sh.Owner.do("GET", "/api/v1/orders/"+placed.Order.ID, nil).must(t, 200, &o)
		if len(o.Payments) != 0 || len(o.History) != 1 || o.PaymentStatus != "unpaid" {
			t.Fatalf("bad payments left traces: %+v", o)
		}
	})
}

// TestPayingAndCheckingOutTogether pays two-line orders while other
// shoppers check out the same two variants: on PostgreSQL the stock rows
// are locked in one order everywhere, so nothing deadlocks or is left half-paid.
func TestPayingAndCheckingOutTogether(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		sh.Owner.do("POST", "/api/v1/variants/"+sh.Small.ID+"/inventory/adjustments", map[string]any{"kind": "received", "quantity": 100}).must(t, 201, nil)
		sh.Owner.do("POST", "/api/v1/variants/"+sh.Large.ID+"/inventory/adjustments", map[string]any{"kind": "received", "quantity": 100}).must(t, 201, nil)
		const n = 12
		type pending struct{ id, token string }
		var toPay []pending
		for range n {
			tok := readyCart(t, s, sh, sh.Large.ID, 1) // lines in the opposite order of variant ids, whichever that is
			s.client(t).do("POST", "/api/v1/storefront/acme/carts/"+tok+"/lines", map[string]any{"variant_id": sh.Small.ID, "quantity": 1}).must(t, 201, nil)
			var placed struct {
				Order      orderJSON `json:"order"`
				OrderToken string    `json:"order_token"`
			}
			s.client(t).do("POST", "/api/v1/storefront/acme/carts/"+tok+"/checkout", map[string]any{"payment_provider": "test"}).must(t, 201, &placed)
			toPay = append(toPay, pending{placed.Order.ID, placed.OrderToken})
		}
		carts := make([]string, n)
		for i := range carts {
			carts[i] = readyCart(t, s, sh, sh.Small.ID, 1)
			s.client(t).do("POST", "/api/v1/storefront/acme/carts/"+carts[i]+"/lines", map[string]any{"variant_id": sh.Large.ID, "quantity": 1}).must(t, 201, nil)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 2*n)
		for i := range n {
			wg.Go(func() {
				r, _ := s.client(t).send("POST", "/api/v1/storefront/acme/orders/"+toPay[i].id+"/payments",
					map[string]any{"order_token": toPay[i].token, "provider": "test", "card": testCard})
				if r.Status != 200 {
					errs <- string(r.Body)
				}
			})
			wg.Go(func() {
				r, _ := s.client(t).send("POST", "/api/v1/storefront/acme/carts/"+carts[i]+"/checkout", map[string]any{"payment_provider": "test"})
				if r.Status != 201 {
					errs <- string(r.Body)
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("request failed: %s", e)
		}
		var paid struct {
			Data []orderJSON `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/orders?status=paid&limit=100", nil).must(t, 200, &paid)
		if len(paid.Data) != n {
			t.Fatalf("%d orders paid, want %d", len(paid.Data), n)
		}
		assertLedgerBalanced(t, sh.merchant)
	})
}
