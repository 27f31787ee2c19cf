package app_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// readyCart fills a cart with qty units of a variant, an address and a
// shipping rate, ready to check out.
func readyCart(t *testing.T, s *testServer, sh *shop, variantID string, qty int64) string {
	t.Helper()
	c := s.client(t)
	base := "/api/v1/storefront/" + sh.Handle + "/carts"
	var cart cartJSON
	c.do("POST", base, nil).must(t, http.StatusCreated, &cart)
	c.do("POST", base+"/"+cart.Token+"/lines", map[string]any{"variant_id": variantID, "quantity": qty}).must(t, http.StatusCreated, nil)
	c.do("PATCH", base+"/"+cart.Token, map[string]any{"email": "buyer@example.com", "shipping_address": usAddress, "shipping_rate_id": sh.RateID}).
		must(t, http.StatusOK, nil)
	return cart.Token
}

// TestLastUnitGoesToExactlyOneBuyer lets many shoppers check out the last
// units at the same moment: exactly as many orders as units, the others told
// "insufficient stock", and the ledger balanced.
func TestLastUnitGoesToExactlyOneBuyer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		const buyers = 12
		stock := sh.level(t, sh.Large.ID).Available // 5
		tokens := make([]string, buyers)
		for i := range tokens {
			tokens[i] = readyCart(t, s, sh, sh.Large.ID, 1)
		}
		// Everyone but stock-1 units leave: the rest race for the last one... and
		// to make the race sharp, first sell all but one unit.
		for i := range stock - 1 {
			s.client(t).do("POST", "/api/v1/storefront/acme/carts/"+tokens[i]+"/checkout", map[string]any{"payment_provider": "test"}).
				must(t, http.StatusCreated, nil)
		}
		racers := tokens[stock-1:]
		results := make([]*response, len(racers))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, tok := range racers {
			wg.Go(func() {
				<-start
				results[i], _ = s.client(t).send("POST", "/api/v1/storefront/acme/carts/"+tok+"/checkout", map[string]any{"payment_provider": "test"})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, r := range results {
			switch r.Status {
			case http.StatusCreated:
				won++
			case http.StatusConflict:
				r.mustProblem(t, http.StatusConflict, "insufficient_stock")
			default:
				t.Fatalf("unexpected answer %d: %s", r.Status, r.Body)
			}
		}
		if won != 1 {
			t.Fatalf("%d buyers got the last unit, want exactly 1", won)
		}
		if l := sh.level(t, sh.Large.ID); l.Available != 0 || l.Reserved != stock {
			t.Fatalf("level after the race = %+v", l)
		}
		assertLedgerBalanced(t, sh.merchant)
	})
}

// TestUnpaidOrderReleasesItsStock lets an order's hold run out: the River
// job cancels it and gives the stock back; a paid order is left alone.
func TestUnpaidOrderReleasesItsStock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		sh := openShop(t, s, "acme")
		var unpaid, paid struct {
			Order      orderJSON `json:"order"`
			OrderToken string    `json:"order_token"`
		}
		shopper := s.client(t)
		shopper.do("POST", "/api/v1/storefront/acme/carts/"+readyCart(t, s, sh, sh.Small.ID, 3)+"/checkout",
			map[string]any{"payment_provider": "test"}).must(t, http.StatusCreated, &unpaid)
		shopper.do("POST", "/api/v1/storefront/acme/carts/"+readyCart(t, s, sh, sh.Small.ID, 2)+"/checkout",
			map[string]any{"payment_provider": "test"}).must(t, http.StatusCreated, &paid)
		shopper.do("POST", "/api/v1/storefront/acme/orders/"+paid.Order.ID+"/payments",
			map[string]any{"order_token": paid.OrderToken, "provider": "test", "card": testCard}).must(t, http.StatusOK, nil)
		if l := sh.level(t, sh.Small.ID); l.Reserved != 3 || l.OnHand != 8 {
			t.Fatalf("before expiry: %+v", l)
		}

		// Time passes: move both holds into the past rather than waiting.
		past := time.Now().Add(-time.Minute).UTC()
		err := s.DB.TenantUpdate(ctx, sh.StoreID, func(tx *db.TenantTx) error {
			_, err := tx.Exec(ctx, `UPDATE orders SET reservation_expires_at = ? WHERE tenant_id = ? AND id = ?`, past, tx.TenantID(), unpaid.Order.ID)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE reservation_expiries SET expires_at = ? WHERE order_id = ?`, past, unpaid.Order.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		events, cancel := s.Jobs.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
		defer cancel()
		res, err := s.Jobs.Insert(ctx, order.ExpireReservationsArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for ev := range events {
			if ev.Job.ID != res.Job.ID {
				continue // the run-on-start sweep, or another job
			}
			if ev.Kind != river.EventKindJobCompleted {
				t.Fatalf("expiry job failed: %v", ev.Job.Errors)
			}
			break
		}

		var o orderJSON
		sh.Owner.do("GET", "/api/v1/orders/"+unpaid.Order.ID, nil).must(t, http.StatusOK, &o)
		if o.Status != "canceled" || o.PaymentStatus != "voided" {
			t.Fatalf("expired order = %s / %s", o.Status, o.PaymentStatus)
		}
		sh.Owner.do("GET", "/api/v1/orders/"+paid.Order.ID, nil).must(t, http.StatusOK, &o)
		if o.Status != "paid" {
			t.Fatalf("paid order became %s", o.Status)
		}
		if l := sh.level(t, sh.Small.ID); l.Reserved != 0 || l.OnHand != 8 || l.Available != 8 {
			t.Fatalf("after expiry: %+v", l)
		}
		// The released order can no longer be paid.
		shopper.do("POST", "/api/v1/storefront/acme/orders/"+unpaid.Order.ID+"/payments",
			map[string]any{"order_token": unpaid.OrderToken, "provider": "test", "card": testCard}).mustProblem(t, http.StatusConflict, "invalid_transition")
		assertLedgerBalanced(t, sh.merchant)
	})
}

// TestBadCartInputChangesNothing sends every kind of bad cart and checkout
// input and checks each gets a clear 4xx and that stock and orders are as before.
func TestBadCartInputChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		other := openShop(t, s, "other")
		c := s.client(t)
		base := "/api/v1/storefront/acme/carts"
		var cart cartJSON
		c.do("POST", base, nil).must(t, http.StatusCreated, &cart)
		tok := cart.Token
		lines := base + "/" + tok + "/lines"
		before := sh.level(t, sh.Small.ID)

		c.do("POST", lines, map[string]any{"variant_id": sh.Small.ID, "quantity": -1}).mustProblem(t, 422, "invalid")
		c.do("POST", lines, map[string]any{"variant_id": sh.Small.ID, "quantity": 0}).mustProblem(t, 422, "invalid")
		c.do("POST", lines, map[string]any{"variant_id": sh.Small.ID, "quantity": 1e12}).mustProblem(t, 422, "invalid")
		c.do("POST", lines, map[string]any{"variant_id": sh.Small.ID, "quantity": "two"}).mustProblem(t, 422, "invalid")
		c.do("POST", lines, map[string]any{"variant_id": "var_00000000000000000000000000", "quantity": 1}).mustProblem(t, 422, "invalid")
		c.do("POST", lines, map[string]any{"variant_id": other.Small.ID, "quantity": 1}).mustProblem(t, 422, "invalid")
		c.do("POST", lines, map[string]any{"variant_id": sh.Small.ID, "quantity": 11}).mustProblem(t, http.StatusConflict, "insufficient_stock")
		c.do("PATCH", base+"/"+tok, map[string]any{"email": "not-an-email"}).mustProblem(t, 422, "invalid")
		p := c.do("PATCH", base+"/"+tok, map[string]any{"shipping_address": map[string]any{"name": "", "line1": "x", "city": "y", "country": "XX"}}).
			mustProblem(t, 422, "invalid")
		if !p.hasField("shipping_address.country") || !p.hasField("shipping_address.name") {
			t.Fatalf("address problem = %+v", p)
		}
		c.do("PATCH", base+"/"+tok, map[string]any{"discount_code": "NOPE"}).mustProblem(t, 422, "invalid")
		c.do("PATCH", base+"/"+tok, map[string]any{"shipping_rate_id": sh.RateID}).mustProblem(t, 422, "invalid")         // no address yet
		c.do("POST", base+"/"+tok+"/checkout", map[string]any{"payment_provider": "test"}).mustProblem(t, 422, "invalid") // empty

		// An expired code is refused by name.
		past := time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)
		end := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
		sh.Owner.do("POST", "/api/v1/discounts", map[string]any{"code": "OLD", "kind": "percentage", "percent_bp": 500, "starts_at": past, "ends_at": end}).
			must(t, http.StatusCreated, nil)
		c.do("POST", lines, map[string]any{"variant_id": sh.Small.ID, "quantity": 1}).must(t, http.StatusCreated, nil)
		p = c.do("PATCH", base+"/"+tok, map[string]any{"discount_code": "OLD"}).mustProblem(t, 422, "invalid")
		if !p.hasField("discount_code") || p.Errors[0].Message != "has expired" {
			t.Fatalf("expired code problem = %+v", p)
		}
		// A price so high that the cart's total would overflow is refused.
		var big productJSON
		sh.Owner.do("POST", "/api/v1/products", map[string]any{"title": "Gold bar", "status": "active",
			"variants": []map[string]any{{"sku": "GOLD", "price": 2_000_000_000_000, "track_inventory": false}}}).mustProblem(t, 422, "invalid")
		sh.Owner.do("POST", "/api/v1/products", map[string]any{"title": "Gold bar", "status": "active",
			"variants": []map[string]any{{"sku": "GOLD", "price": 1_000_000_000_000, "track_inventory": false}}}).must(t, http.StatusCreated, &big)
		c.do("POST", lines, map[string]any{"variant_id": big.Variants[0].ID, "quantity": 10000}).must(t, http.StatusCreated, nil)

		// The store changes currency: the old cart cannot check out.
		c.do("PATCH", base+"/"+tok, map[string]any{"email": "a@example.com", "shipping_address": usAddress, "shipping_rate_id": sh.RateID}).
			must(t, http.StatusOK, nil)
		sh.Owner.do("PATCH", "/api/v1/store", map[string]any{"currency": "EUR"}).must(t, http.StatusOK, nil)
		waitForCurrency(t, c, "acme", "EUR")
		c.do("POST", base+"/"+tok+"/checkout", map[string]any{"payment_provider": "test"}).mustProblem(t, http.StatusConflict, "conflict")
		c.do("POST", base+"/"+tok+"/checkout", map[string]any{"payment_provider": "bitcoin"}).mustProblem(t, 422, "invalid")

		if after := sh.level(t, sh.Small.ID); after != before {
			t.Fatalf("stock changed by bad input: %+v -> %+v", before, after)
		}
		var orders struct {
			Data []orderJSON `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/orders", nil).must(t, http.StatusOK, &orders)
		if len(orders.Data) != 0 {
			t.Fatalf("bad input created %d orders", len(orders.Data))
		}
		assertLedgerBalanced(t, sh.merchant)
	})
}

// waitForCurrency polls the storefront until a store's change shows: the
// storefront caches store settings for at most a second.
func waitForCurrency(t *testing.T, c *client, store, currency string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var cart struct {
			Currency string `json:"currency"`
		}
		c.do("POST", "/api/v1/storefront/"+store+"/carts", nil).must(t, http.StatusCreated, &cart)
		if cart.Currency == currency {
			return
		}
		time.Sleep(50 * time.Millisecond) // polling a cache with a 1 s lifetime
	}
	t.Fatalf("store %s never switched to %s", store, currency)
}
