package app_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/app"
	"github.com/nimbuscommerce/nimbus/internal/bench"
	"github.com/nimbuscommerce/nimbus/internal/flashsale"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

// activeSale opens a sale of variantID that started a minute ago.
// publicSaleJSON is a sale as shoppers see it.
type publicSaleJSON struct {
	EndsAt time.Time `json:"ends_at"`
	Items  []struct {
		Remaining int64 `json:"remaining"`
		SoldOut   bool  `json:"sold_out"`
		SalePrice int64 `json:"sale_price"`
	} `json:"items"`
}

// publicSale reads a sale as shoppers see it.
func publicSale(t *testing.T, c *client, store, id string) publicSaleJSON {
	t.Helper()
	var p publicSaleJSON
	c.do("GET", "/api/v1/storefront/"+store+"/flash-sales/"+id, nil).must(t, http.StatusOK, &p)
	return p
}

func activeSale(t *testing.T, sh *shop, variantID string, price, allocation, perCustomer int64, accountsOnly bool) flashSaleJSON {
	t.Helper()
	var sale flashSaleJSON
	sh.Owner.do("POST", "/api/v1/flash-sales", map[string]any{"title": "Flash", "starts_at": time.Now().Add(-time.Minute),
		"ends_at": time.Now().Add(time.Hour), "per_customer_limit": perCustomer, "accounts_only": accountsOnly,
		"items": []map[string]any{{"variant_id": variantID, "sale_price": price, "allocation": allocation}}}).must(t, http.StatusCreated, &sale)
	return sale
}

func buyBody(sh *shop, variantID, email string, qty int64) map[string]any {
	return map[string]any{"variant_id": variantID, "quantity": qty, "email": email, "shipping_address": usAddress,
		"shipping_rate_id": sh.RateID, "payment_provider": "test"}
}

type boughtJSON struct {
	Order      orderJSON `json:"order"`
	OrderToken string    `json:"order_token"`
}

// TestFlashSaleBuy: a shopper buys at the sale price and the order waits
// for payment; a retry with the same key gets the same order; the limit per
// customer, the window, accounts-only and the allocation are enforced; sold
// out is answered the moment nothing is left, and a canceled order gives
// its units back to the sale.
func TestFlashSaleBuy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		other := openShop(t, s, "other")
		sale := activeSale(t, sh, sh.Large.ID, 1999, 3, 2, false)
		c := s.client(t)
		buy := "/api/v1/storefront/acme/flash-sales/" + sale.ID + "/orders"

		var first boughtJSON
		r := c.do("POST", buy, buyBody(sh, sh.Large.ID, "ada@example.com", 1), "Idempotency-Key", "ada-1").must(t, http.StatusCreated, &first)
		o := first.Order
		if o.Status != "pending_payment" || o.Subtotal != 1999 || len(o.Lines) != 1 || o.Lines[0].Quantity != 1 || first.OrderToken == "" {
			t.Fatalf("order = %+v", o)
		}
		if r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatal("a first buy says it was replayed")
		}
		var again boughtJSON
		r = c.do("POST", buy, buyBody(sh, sh.Large.ID, "ada@example.com", 1), "Idempotency-Key", "ada-1").must(t, http.StatusCreated, &again)
		if again.Order.ID != o.ID || again.OrderToken != first.OrderToken || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry = %s / %s, want the first order %s", again.Order.ID, r.Header.Get("Idempotent-Replayed"), o.ID)
		}
		// The same request in another store, naming this store's sale, finds
		// neither the sale nor the order its key placed here.
		c.do("POST", "/api/v1/storefront/other/flash-sales/"+sale.ID+"/orders", buyBody(sh, sh.Large.ID, "ada@example.com", 1),
			"Idempotency-Key", "ada-1").mustProblem(t, http.StatusNotFound, "not_found")
		// The key lives with the order, not in the generic idempotency store,
		// whose record could outlive a crash between the order and its own write.
		var generic int
		if err := s.DB.View(t.Context(), func(tx *db.Tx) error {
			return tx.QueryRow(t.Context(), `SELECT COUNT(*) FROM idempotency_keys`).Scan(&generic)
		}); err != nil || generic != 0 {
			t.Fatalf("generic idempotency records: %d, %v", generic, err)
		}
		// The order token works: the shopper sees the order.
		c.do("GET", "/api/v1/storefront/acme/orders/"+o.ID, nil, "X-Order-Token", first.OrderToken).must(t, http.StatusOK, nil)

		// Bad requests change nothing.
		bad := buyBody(sh, sh.Large.ID, "not an email", 1)
		if p := c.do("POST", buy, bad).mustProblem(t, 422, "invalid"); !p.hasField("email") {
			t.Fatalf("bad email: %+v", p)
		}
		if p := c.do("POST", buy, buyBody(sh, sh.Large.ID, "bo@example.com", 3)).mustProblem(t, 422, "invalid"); !p.hasField("quantity") {
			t.Fatalf("over the per-customer limit in one buy: %+v", p)
		}
		if p := c.do("POST", buy, buyBody(sh, sh.Large.ID, "bo@example.com", 1), "Idempotency-Key", "tab\tkey").mustProblem(t, 422, "invalid"); !p.hasField("header.Idempotency-Key") {
			t.Fatalf("a key with a control character: %+v", p)
		}
		// The body is checked by the buy itself, not by the API's schema.
		badProvider := buyBody(sh, sh.Large.ID, "bo@example.com", 1)
		badProvider["payment_provider"] = "iou"
		if p := c.do("POST", buy, badProvider).mustProblem(t, 422, "invalid"); !p.hasField("payment_provider") {
			t.Fatalf("an unknown payment provider: %+v", p)
		}
		noAddress := buyBody(sh, sh.Large.ID, "bo@example.com", 1)
		delete(noAddress, "shipping_address")
		if p := c.do("POST", buy, noAddress).mustProblem(t, 422, "invalid"); !p.hasField("shipping_address.line1") {
			t.Fatalf("no address: %+v", p)
		}
		unknown := buyBody(sh, sh.Large.ID, "bo@example.com", 1)
		unknown["coupon"] = "FREE"
		if r := c.do("POST", buy, unknown); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "coupon") {
			t.Fatalf("an unknown field: %d %s", r.Status, r.Body)
		}
		wrongType := buyBody(sh, sh.Large.ID, "bo@example.com", 1)
		wrongType["quantity"] = "one"
		if r := c.do("POST", buy, wrongType); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "quantity: expected an integer") {
			t.Fatalf("a quantity that is not a number: %d %s", r.Status, r.Body)
		}
		// As the rest of the API answers: a body that is not JSON is 400,
		// one that says it is something else 415.
		c.do("POST", buy, `{"variant_id":`).mustProblem(t, http.StatusBadRequest, "malformed_request")
		c.do("POST", buy, buyBody(sh, sh.Large.ID, "bo@example.com", 1), "Content-Type", "text/plain").
			mustProblem(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
		c.do("POST", buy, buyBody(sh, sh.Small.ID, "bo@example.com", 1)).mustProblem(t, 404, "not_found")
		c.do("POST", "/api/v1/storefront/other/flash-sales/"+sale.ID+"/orders", buyBody(other, sh.Large.ID, "bo@example.com", 1)).
			mustProblem(t, 404, "not_found")
		// Ada has 1 of her 2.
		c.do("POST", buy, buyBody(sh, sh.Large.ID, "ADA@example.com", 2)).mustProblem(t, 409, "conflict")

		var got flashSaleJSON
		sh.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, 200, &got)
		if got.Items[0].Sold != 1 {
			t.Fatalf("after refusals sold = %d, want 1", got.Items[0].Sold)
		}

		// Bo takes the last 2; then the sale is sold out, for Cy too. The
		// node knows it by the time Bo hears, so that the next buy is
		// answered from memory.
		var last boughtJSON
		c.do("POST", buy, buyBody(sh, sh.Large.ID, "bo@example.com", 2), "Idempotency-Key", "bo-last-two").must(t, http.StatusCreated, &last)
		if !s.FlashSales.SoldOut(sh.StoreID, sale.ID, sh.Large.ID) {
			t.Fatal("the node does not know the sale sold out when the buyer of the last units is answered")
		}
		c.do("POST", buy, buyBody(sh, sh.Large.ID, "cy@example.com", 1)).mustProblem(t, 409, "sold_out")
		c.do("POST", buy, buyBody(sh, sh.Large.ID, "cy@example.com", 1)).mustProblem(t, 409, "sold_out")
		// Sold out, a buy with a key no order has is answered before its
		// body is read (this one is not even JSON); without a key it is
		// read, and refused for what it is; a retry of Bo's buy still finds
		// his order.
		c.do("POST", buy, "{not json", "Idempotency-Key", "cy-new-key").mustProblem(t, 409, "sold_out")
		// Bo's key is read on, but a buy it does not serve is told sold out
		// too, not "invalid": the answer does not tell whose keys are used.
		c.do("POST", buy, "{}", "Idempotency-Key", "bo-last-two").mustProblem(t, 409, "sold_out")
		c.do("POST", buy, "{not json", "Idempotency-Key", "bo-last-two").mustProblem(t, 409, "sold_out")
		c.do("POST", buy, "{not json").mustProblem(t, http.StatusBadRequest, "malformed_request")
		// Nor does naming a variant the sale does not have: "not found"
		// would tell that the key is an order's.
		c.do("POST", buy, buyBody(sh, sh.Small.ID, "bo@example.com", 2), "Idempotency-Key", "bo-last-two").mustProblem(t, 409, "sold_out")
		// Nor a customer token too long, or not a customer's.
		for _, token := range []string{strings.Repeat("t", 101), "forged-token"} {
			c.do("POST", buy, buyBody(sh, sh.Large.ID, "bo@example.com", 2), "Idempotency-Key", "bo-last-two", "X-Customer-Token", token).mustProblem(t, 409, "sold_out")
		}
		var retried boughtJSON
		rr := c.do("POST", buy, buyBody(sh, sh.Large.ID, "bo@example.com", 2), "Idempotency-Key", "bo-last-two").must(t, http.StatusCreated, &retried)
		if retried.Order.ID != last.Order.ID || rr.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("Bo's retry after the sell-out: order %s (replayed %q), want %s", retried.Order.ID, rr.Header.Get("Idempotent-Replayed"), last.Order.ID)
		}
		public := publicSale(t, c, "acme", sale.ID)
		if len(public.Items) != 1 || public.Items[0].Remaining != 0 || !public.Items[0].SoldOut || public.Items[0].SalePrice != 1999 {
			t.Fatalf("shoppers see %+v", public)
		}
		if l := sh.level(t, sh.Large.ID); l.Reserved != 3 {
			t.Fatalf("reserved = %d, want the sale's 3", l.Reserved)
		}

		// Ada's order is canceled: her unit goes back to the sale (and to
		// her limit), and Cy gets it at once.
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/cancel", map[string]any{}).must(t, http.StatusOK, nil)
		sh.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, 200, &got)
		if got.Items[0].Sold != 2 {
			t.Fatalf("after the cancel sold = %d, want 2", got.Items[0].Sold)
		}
		c.do("POST", buy, buyBody(sh, sh.Large.ID, "cy@example.com", 1)).must(t, http.StatusCreated, nil)
		if l := sh.level(t, sh.Large.ID); l.Reserved != 3 {
			t.Fatalf("reserved = %d, want 3", l.Reserved)
		}
		// Canceling twice gives back once.
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/cancel", map[string]any{}).mustProblem(t, 409, "invalid_transition")
		sh.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, 200, &got)
		if got.Items[0].Sold != 3 {
			t.Fatalf("sold = %d, want 3", got.Items[0].Sold)
		}
	})
}

// TestFlashSaleShowsWhatCanBeBought: shoppers are shown, and charged, what
// the catalog allows: never more than the regular price (lowered below the
// sale's since it was set), never more left than the variant's stock or
// once its product is archived; and a bank transfer's order holds a sale's
// units only for the store's reservation time.
func TestFlashSaleShowsWhatCanBeBought(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		c := s.client(t)
		public := func(id string) publicSaleJSON { return publicSale(t, c, "acme", id) }

		onHand := sh.level(t, sh.Large.ID).OnHand
		sale := activeSale(t, sh, sh.Large.ID, sh.Large.Price-100, onHand+5, 5, false)
		lower := sh.Large.Price - 500
		sh.Owner.do("PATCH", "/api/v1/variants/"+sh.Large.ID, map[string]any{"price": lower}).must(t, http.StatusOK, nil)
		waitFor(t, func() bool { return public(sale.ID).Items[0].SalePrice == lower }, "the lowered regular price shown as the sale's")
		manual := buyBody(sh, sh.Large.ID, "ada@example.com", 1)
		manual["payment_provider"] = "manual"
		var b boughtJSON
		c.do("POST", "/api/v1/storefront/acme/flash-sales/"+sale.ID+"/orders", manual).must(t, http.StatusCreated, &b)
		if b.Order.Subtotal != lower {
			t.Fatalf("charged %d for one unit, want the regular price %d", b.Order.Subtotal, lower)
		}
		if b.Order.PaymentStatus != "awaiting" || b.Order.ReservationExpiresAt == nil {
			t.Fatalf("a bank transfer's order: %+v", b.Order)
		}
		if until, err := time.Parse(time.RFC3339, *b.Order.ReservationExpiresAt); err != nil || until.After(time.Now().Add(time.Hour)) {
			t.Fatalf("a bank transfer in a sale holds its unit until %s (%v), want the store's reservation time", *b.Order.ReservationExpiresAt, err)
		}

		// The allocation outlasts the stock: what is left is the stock.
		var shown publicSaleJSON
		waitFor(t, func() bool { shown = public(sale.ID); return shown.Items[0].Remaining == onHand-1 }, "the stock left shown")
		if shown.Items[0].SoldOut {
			t.Fatalf("shoppers see %+v", shown)
		}
		left, price := fmt.Sprintf("%d left", onHand-1), fmt.Sprintf("$%d.%02d", lower/100, lower%100)
		waitFor(t, func() bool {
			page := string(c.do("GET", "/s/acme/products/"+sh.Product.Handle, nil).must(t, http.StatusOK, nil).Body)
			return strings.Contains(page, left) && strings.Contains(page, "Flash sale: "+price)
		}, "the product page showing the stock left and the regular price")

		// A variant whose stock is tracked and was never received has none
		// to sell, as a buy finds.
		var unstocked productJSON
		sh.Owner.do("POST", "/api/v1/products", map[string]any{"title": "Oolong", "status": "active",
			"variants": []map[string]any{{"sku": "OOLONG", "price": 1000}}}).must(t, http.StatusCreated, &unstocked)
		none := activeSale(t, sh, unstocked.Variants[0].ID, 900, 10, 1, false)
		if p := public(none.ID); p.Items[0].Remaining != 0 || !p.Items[0].SoldOut {
			t.Fatalf("a sale of a variant never stocked shows %+v", p.Items[0])
		}

		// Archived, the product is sold out to shoppers at once (the page
		// cache aside), as buys would be.
		small := activeSale(t, sh, sh.Small.ID, 100, 3, 1, false)
		sh.Owner.do("PATCH", "/api/v1/products/"+sh.Product.ID, map[string]any{"status": "archived"}).must(t, http.StatusOK, nil)
		waitFor(t, func() bool { p := public(small.ID); return p.Items[0].Remaining == 0 && p.Items[0].SoldOut }, "an archived product shown sold out")
		c.do("POST", "/api/v1/storefront/acme/flash-sales/"+small.ID+"/orders", buyBody(sh, sh.Small.ID, "bo@example.com", 1)).
			mustProblem(t, http.StatusConflict, "conflict")
	})
}

// TestFlashSaleWindowAndAccounts: a sale sells only while it runs, and an
// accounts-only sale only to signed-in customers.
func TestFlashSaleWindowAndAccounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		c := s.client(t)
		var later flashSaleJSON
		sh.Owner.do("POST", "/api/v1/flash-sales", map[string]any{"title": "Later", "starts_at": time.Now().Add(time.Hour),
			"ends_at": time.Now().Add(2 * time.Hour), "items": []map[string]any{{"variant_id": sh.Large.ID, "sale_price": 1000, "allocation": 5}}}).
			must(t, http.StatusCreated, &later)
		c.do("POST", "/api/v1/storefront/acme/flash-sales/"+later.ID+"/orders", buyBody(sh, sh.Large.ID, "ada@example.com", 1)).
			mustProblem(t, 409, "conflict")

		members := activeSale(t, sh, sh.Small.ID, 1000, 5, 1, true)
		buy := "/api/v1/storefront/acme/flash-sales/" + members.ID + "/orders"
		c.do("POST", buy, buyBody(sh, sh.Small.ID, "ada@example.com", 1)).mustProblem(t, 401, "unauthorized")
		var reg customerSession
		c.do("POST", "/api/v1/storefront/acme/customers", map[string]any{"email": "ada@example.com", "password": "analytical engine"}).
			must(t, http.StatusCreated, &reg)
		body := buyBody(sh, sh.Small.ID, "", 1)
		if p := c.do("POST", buy, body, "X-Customer-Token", strings.Repeat("t", 101)).mustProblem(t, 422, "invalid"); !p.hasField("header.X-Customer-Token") {
			t.Fatalf("a customer token too long: %+v", p)
		}
		var b boughtJSON
		c.do("POST", buy, body, "X-Customer-Token", reg.Token, "Idempotency-Key", "k").must(t, http.StatusCreated, &b)
		if b.Order.Subtotal != 1000 {
			t.Fatalf("member order = %+v", b.Order)
		}
		// The same key for another request of the same customer is refused.
		body["quantity"] = 2
		c.do("POST", buy, body, "X-Customer-Token", reg.Token, "Idempotency-Key", "k").mustProblem(t, 422, "idempotency_key_reused")

		sh.Owner.do("POST", "/api/v1/flash-sales/"+members.ID+"/end", nil).must(t, 200, nil)
		body["quantity"] = 1
		c.do("POST", buy, body, "X-Customer-Token", reg.Token).mustProblem(t, 409, "conflict")
	})
}

// TestFlashSaleBurst: 200 shoppers buy one unit each of a sale of 50 at the
// same moment. Exactly 50 get an order, the rest hear sold out; every
// acknowledged order is in the database with its stock hold, none twice,
// and retries with the same keys change nothing.
func TestFlashSaleBurst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		c := s.client(t)
		burst(t, sh, []*client{c})
		// The node's metrics: the 50 orders were placed by committed
		// batches (one to fifty of them, each timed), and no buy is left
		// in flight.
		metrics := string(c.do("GET", "/metrics", nil).must(t, http.StatusOK, nil).Body)
		orders, batches := metricValue(t, metrics, "nimbus_flash_sale_batch_orders_sum"), metricValue(t, metrics, "nimbus_flash_sale_batch_orders_count")
		if orders != 50 || batches < 1 || batches > 50 || metricValue(t, metrics, "nimbus_flash_sale_batch_seconds_count") != batches {
			t.Errorf("batch metrics: %v orders in %v batches, %v timed", orders, batches, metricValue(t, metrics, "nimbus_flash_sale_batch_seconds_count"))
		}
		if n := metricValue(t, metrics, "nimbus_flash_sale_buys_in_flight"); n != 0 {
			t.Errorf("%v buys in flight after the burst", n)
		}
		// Every buy that got an order waited in flight, and was timed.
		if n := metricValue(t, metrics, "nimbus_flash_sale_buy_wait_seconds_count"); n < 50 || metricValue(t, metrics, "nimbus_flash_sale_buy_wait_seconds_sum") <= 0 {
			t.Errorf("%v buys timed from admission to answer, want at least the 50 ordered", n)
		}
		if n := metricValue(t, metrics, "nimbus_flash_sale_in_flight_limit"); n != 0 {
			t.Errorf("a bound of %v with no buy in flight, want 0", n)
		}
		metricValue(t, metrics, "nimbus_flash_sale_batch_replans_total") // exported
		// The line's outcomes, exported whether or not the burst needed them.
		for _, outcome := range []string{"admitted", "turned_away"} {
			metricValue(t, metrics, `nimbus_flash_sale_line_total{outcome="`+outcome+`"}`)
		}
	})
}

// metricValue reads a metric without labels from a Prometheus exposition,
// failing the test if it is not there.
func metricValue(t *testing.T, exposition, name string) float64 {
	t.Helper()
	v, ok := bench.MetricValue(exposition, name)
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	return v
}

// forEachNodePair runs f with two servers on one fresh database of each
// backend: two nodes on PostgreSQL; on SQLite, one process by design, the
// same server as both.
func forEachNodePair(t *testing.T, f func(t *testing.T, one, two *testServer)) {
	t.Helper()
	for _, b := range dbtest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			one := startServer(t, app.Config{DatabaseURL: b.Config.URL, DataDir: b.Config.DataDir})
			two := one
			if b.Config.URL != "" {
				two = startServer(t, app.Config{DatabaseURL: b.Config.URL})
			}
			f(t, one, two)
		})
	}
}

// TestFlashSaleTwoNodes: two Nimbus processes on one PostgreSQL database
// sell the same sale, buyers spread over both, with the same guarantees.
func TestFlashSaleTwoNodes(t *testing.T) {
	forEachNodePair(t, func(t *testing.T, one, two *testServer) {
		sh := openShop(t, one, "acme")
		burst(t, sh, []*client{one.client(t), two.client(t)})
	})
}

// sendBuy sends a buy as a shopper's page does in a burst: turned away
// for overload (429 with Retry-After, before any work: a sale's burst
// starts with a few places and grows as buys are answered), it tries
// again, sooner than it is told to, as places free up within a batch or
// two. The answer is the first other one, or the overload itself if it
// lasts 10 s (places that are never given back), for the test to report.
func sendBuy(c *client, path string, body any, headers ...string) *response {
	for deadline := time.Now().Add(10 * time.Second); ; {
		r, _ := c.send("POST", path, body, headers...)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || time.Now().After(deadline) {
			return r
		}
		time.Sleep(20 * time.Millisecond) // a client's backoff, not a wait for the server
	}
}

// burst sends 200 buyers of one unit at a sale of 50, spread over the
// nodes, and audits the result.
func burst(t *testing.T, sh *shop, nodes []*client) {
	t.Helper()
	sh.Owner.do("POST", "/api/v1/variants/"+sh.Large.ID+"/inventory/adjustments", map[string]any{"kind": "received", "quantity": 100}).
		must(t, http.StatusCreated, nil)
	const buyers, allocation = 200, 50
	sale := activeSale(t, sh, sh.Large.ID, 1999, allocation, 1, false)
	buy := "/api/v1/storefront/acme/flash-sales/" + sale.ID + "/orders"

	type answer struct {
		status  int
		code    string
		orderID string
	}
	answers := make([]answer, buyers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range buyers {
		wg.Go(func() {
			<-start
			r := sendBuy(nodes[i%len(nodes)], buy, buyBody(sh, sh.Large.ID, fmt.Sprintf("buyer%d@example.com", i), 1),
				"Idempotency-Key", fmt.Sprintf("key-%d", i))
			var v struct {
				Code  string    `json:"code"`
				Order orderJSON `json:"order"`
			}
			json.Unmarshal(r.Body, &v) // a transport error leaves status 0, reported below
			answers[i] = answer{status: r.Status, code: v.Code, orderID: v.Order.ID}
		})
	}
	close(start)
	wg.Wait()

	orders := map[string]int{}
	soldOut := 0
	for i, a := range answers {
		switch {
		case a.status == http.StatusCreated && a.orderID != "":
			if _, twice := orders[a.orderID]; twice {
				t.Fatalf("order %s given to two buyers", a.orderID)
			}
			orders[a.orderID] = i
		case a.status == http.StatusConflict && a.code == "sold_out":
			soldOut++
		default:
			t.Errorf("buyer %d: %d %s", i, a.status, a.code)
		}
	}
	if len(orders) != allocation || soldOut != buyers-allocation {
		t.Fatalf("%d orders and %d sold out, want %d and %d", len(orders), soldOut, allocation, buyers-allocation)
	}
	var all struct{ Data []orderJSON }
	sh.Owner.do("GET", "/api/v1/orders?limit=200", nil).must(t, 200, &all)
	if len(all.Data) != allocation {
		t.Fatalf("the store has %d orders, %d acknowledged", len(all.Data), allocation)
	}
	for _, o := range all.Data {
		if _, ok := orders[o.ID]; !ok || o.Status != "pending_payment" || o.Subtotal != 1999 {
			t.Fatalf("stored order %+v: acknowledged %v", o, ok)
		}
	}
	if l := sh.level(t, sh.Large.ID); l.Reserved != allocation || l.OnHand != 105 {
		t.Fatalf("stock = %+v, want %d reserved of 105", l, allocation)
	}
	// Retried with the same keys, on any node, every buyer gets its order.
	for id, i := range orders {
		var b boughtJSON
		nodes[(i+1)%len(nodes)].do("POST", buy, buyBody(sh, sh.Large.ID, fmt.Sprintf("buyer%d@example.com", i), 1), "Idempotency-Key", fmt.Sprintf("key-%d", i)).
			must(t, http.StatusCreated, &b)
		if b.Order.ID != id {
			t.Fatalf("buyer %d's retry got order %s, want %s", i, b.Order.ID, id)
		}
	}
	var got flashSaleJSON
	sh.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, 200, &got)
	if got.Items[0].Sold != allocation {
		t.Fatalf("sold = %d, want %d", got.Items[0].Sold, allocation)
	}
	if l := sh.level(t, sh.Large.ID); l.Reserved != allocation {
		t.Fatalf("after retries reserved = %d", l.Reserved)
	}
}

// TestFlashSaleRateLimits: one customer, or one address, hammering a sale
// is told to slow down (429 with Retry-After) once its burst is spent, and
// gets no more than its rate allows. The buckets refill with time, so the
// counts allow for the seconds the test took.
func TestFlashSaleRateLimits(t *testing.T) {
	hammer := func(t *testing.T, s *testServer, email func(i int) string) (created, limited int) {
		t.Helper()
		sh := openShop(t, s, "acme")
		sale := activeSale(t, sh, sh.Small.ID, 1000, 10, 10, false)
		buy := "/api/v1/storefront/acme/flash-sales/" + sale.ID + "/orders"
		c := s.client(t)
		start := time.Now()
		for i := range 8 {
			r := c.do("POST", buy, buyBody(sh, sh.Small.ID, email(i), 1))
			switch r.Status {
			case http.StatusCreated:
				created++
			case http.StatusTooManyRequests:
				limited++
				if r.Header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
				r.mustProblem(t, http.StatusTooManyRequests, "too_many")
			default:
				t.Fatalf("buy %d: %d %s", i, r.Status, r.Body)
			}
		}
		// A rate of 1/s with a burst of 3: at most 3, plus one a second.
		if most := 3 + int(time.Since(start).Seconds()); created > most || limited == 0 {
			t.Fatalf("%d created, %d limited in %s; want at most %d created", created, limited, time.Since(start), most)
		}
		var got flashSaleJSON
		sh.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, 200, &got)
		if got.Items[0].Sold != int64(created) {
			t.Fatalf("sold = %d, %d created", got.Items[0].Sold, created)
		}
		return created, limited
	}
	t.Run("customer", func(t *testing.T) {
		forEachBackendWith(t, app.Config{FlashSale: flashsale.Burst{PerCustomer: 1}}, func(t *testing.T, s *testServer) {
			hammer(t, s, func(int) string { return "ada@example.com" })
		})
	})
	t.Run("address", func(t *testing.T) {
		forEachBackendWith(t, app.Config{FlashSale: flashsale.Burst{PerIP: 1}}, func(t *testing.T, s *testServer) {
			hammer(t, s, func(i int) string { return fmt.Sprintf("c%d@example.com", i) })
		})
	})
}

// TestFlashSaleUnitsComeBackOnAnotherNode: a node that saw an item sell
// out sells it again soon after another node's cancel gives a unit back.
func TestFlashSaleUnitsComeBackOnAnotherNode(t *testing.T) {
	forEachNodePair(t, func(t *testing.T, one, two *testServer) {
		sh := openShop(t, one, "acme")
		sale := activeSale(t, sh, sh.Large.ID, 1999, 2, 1, false)
		buy := "/api/v1/storefront/acme/flash-sales/" + sale.ID + "/orders"
		a, b := one.client(t), two.client(t)
		var got boughtJSON
		a.do("POST", buy, buyBody(sh, sh.Large.ID, "ada@example.com", 1)).must(t, http.StatusCreated, &got)
		b.do("POST", buy, buyBody(sh, sh.Large.ID, "bo@example.com", 1)).must(t, http.StatusCreated, nil)
		b.do("POST", buy, buyBody(sh, sh.Large.ID, "cy@example.com", 1)).mustProblem(t, http.StatusConflict, "sold_out")
		sh.Owner.do("POST", "/api/v1/orders/"+got.Order.ID+"/cancel", map[string]any{}).must(t, http.StatusOK, nil)
		// Bo, already at the limit, keeps trying first: when the node asks
		// the database with Bo's buy, the refusal still tells it a unit is back.
		i := 0
		waitFor(t, func() bool {
			i++
			b.do("POST", buy, buyBody(sh, sh.Large.ID, "bo@example.com", 1))
			return b.do("POST", buy, buyBody(sh, sh.Large.ID, fmt.Sprintf("cy%d@example.com", i), 1)).Status == http.StatusCreated
		}, "the unit given back sold on the other node")
		// Three orders were placed, one gave its unit back: placed counts
		// orders ever (the nodes reread their notes' keys when it moves),
		// sold the units held.
		var sold, placed int
		if err := one.DB.TenantView(t.Context(), sh.StoreID, func(tx *db.TenantTx) error {
			return tx.QueryRow(t.Context(), `SELECT sold, placed FROM flash_sale_items WHERE tenant_id = ? AND sale_id = ?`,
				tx.TenantID(), sale.ID).Scan(&sold, &placed)
		}); err != nil || sold != 2 || placed != 3 {
			t.Fatalf("sold %d, placed %d: %v", sold, placed, err)
		}
	})
}

// TestFlashSaleRetryAfterResaleElsewhere: a node notes a sale sold out;
// a cancel on another node gives the unit back, and a buyer takes it there.
// The buyer's retry, sent to the first node at once, gets the order: the
// cancel told every node when it committed, so none still answers "sold
// out" from its note.
func TestFlashSaleRetryAfterResaleElsewhere(t *testing.T) {
	forEachNodePair(t, func(t *testing.T, one, two *testServer) {
		sh := openShop(t, one, "acme")
		sale := activeSale(t, sh, sh.Large.ID, 1999, 1, 1, false)
		buy := "/api/v1/storefront/acme/flash-sales/" + sale.ID + "/orders"
		a, b := one.client(t), two.client(t)
		var ada boughtJSON
		a.do("POST", buy, buyBody(sh, sh.Large.ID, "ada@example.com", 1), "Idempotency-Key", "ada").must(t, http.StatusCreated, &ada)
		b.do("POST", buy, buyBody(sh, sh.Large.ID, "cy@example.com", 1), "Idempotency-Key", "cy").mustProblem(t, http.StatusConflict, "sold_out")
		heard := two.FlashSales.GiveBackNotices()
		sh.Owner.do("POST", "/api/v1/orders/"+ada.Order.ID+"/cancel", map[string]any{}).must(t, http.StatusOK, nil)
		if one != two { // told through PostgreSQL; on SQLite the one node forgets as it cancels
			waitFor(t, func() bool { return two.FlashSales.GiveBackNotices() > heard }, "the other node told of the cancel")
		}
		var bo, again boughtJSON
		a.do("POST", buy, buyBody(sh, sh.Large.ID, "bo@example.com", 1), "Idempotency-Key", "bo").must(t, http.StatusCreated, &bo)
		b.do("POST", buy, buyBody(sh, sh.Large.ID, "bo@example.com", 1), "Idempotency-Key", "bo").must(t, http.StatusCreated, &again)
		if again.Order.ID != bo.Order.ID || again.OrderToken != bo.OrderToken {
			t.Fatalf("the retry on the other node got %s, want %s", again.Order.ID, bo.Order.ID)
		}
		b.do("POST", buy, buyBody(sh, sh.Large.ID, "dee@example.com", 1), "Idempotency-Key", "dee").mustProblem(t, http.StatusConflict, "sold_out")
	})
}

// TestFlashSaleCancelsDuringBurst: staff cancel orders while buyers rush
// the sale. Every cancel and every buy gets a clear answer, and in the end
// the sale's count, the stock held and the orders agree.
func TestFlashSaleCancelsDuringBurst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		sh.Owner.do("POST", "/api/v1/variants/"+sh.Large.ID+"/inventory/adjustments", map[string]any{"kind": "received", "quantity": 200}).
			must(t, http.StatusCreated, nil)
		sale := activeSale(t, sh, sh.Large.ID, 1999, 60, 1, false)
		buy := "/api/v1/storefront/acme/flash-sales/" + sale.ID + "/orders"
		c := s.client(t)
		placed := make(chan string, 150)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var bad []string
		fail := func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			bad = append(bad, fmt.Sprintf(format, args...))
		}
		for i := range 150 {
			wg.Go(func() {
				r := sendBuy(c, buy, buyBody(sh, sh.Large.ID, fmt.Sprintf("b%d@example.com", i), 1))
				var v struct {
					Code  string    `json:"code"`
					Order orderJSON `json:"order"`
				}
				json.Unmarshal(r.Body, &v)
				switch {
				case r.Status == http.StatusCreated:
					placed <- v.Order.ID
				case r.Status == http.StatusConflict && v.Code == "sold_out":
				default:
					fail("buy: %d %s", r.Status, r.Body)
				}
			})
		}
		canceled := map[string]bool{}
		var cwg sync.WaitGroup
		go func() { wg.Wait(); close(placed) }()
		for id := range placed {
			if len(canceled) >= 30 {
				continue
			}
			canceled[id] = true
			cwg.Go(func() {
				if r, _ := sh.Owner.send("POST", "/api/v1/orders/"+id+"/cancel", map[string]any{}); r.Status != http.StatusOK {
					fail("cancel %s: %d %s", id, r.Status, r.Body)
				}
			})
		}
		cwg.Wait()
		if len(bad) > 0 {
			t.Fatalf("%d unclear answers, first: %s", len(bad), bad[0])
		}
		var all struct{ Data []orderJSON }
		sh.Owner.do("GET", "/api/v1/orders?limit=200&status=pending_payment", nil).must(t, http.StatusOK, &all)
		var got flashSaleJSON
		sh.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, http.StatusOK, &got)
		if l := sh.level(t, sh.Large.ID); got.Items[0].Sold != int64(len(all.Data)) || l.Reserved != int64(len(all.Data)) || len(canceled) != 30 {
			t.Fatalf("%d orders pending, sale sold %d, stock held %d (%d canceled)", len(all.Data), got.Items[0].Sold, l.Reserved, len(canceled))
		}
	})
}

// TestFlashSaleSameKeyAtOnce: a double submit (the same key twice at the
// same moment, on one node or two) makes one order, and both answers are
// clear; one customer buying with many keys at once gets exactly the limit.
func TestFlashSaleSameKeyAtOnce(t *testing.T) {
	forEachNodePair(t, func(t *testing.T, one, two *testServer) {
		sh := openShop(t, one, "acme")
		sh.Owner.do("POST", "/api/v1/variants/"+sh.Large.ID+"/inventory/adjustments", map[string]any{"kind": "received", "quantity": 500}).
			must(t, http.StatusCreated, nil)
		sale := activeSale(t, sh, sh.Large.ID, 1999, 500, 5, false)
		buy := "/api/v1/storefront/acme/flash-sales/" + sale.ID + "/orders"
		nodes := []*client{one.client(t), two.client(t)}
		type answer struct {
			status  int
			code    string
			orderID string
		}
		send := func(node int, email, key string) answer {
			r, _ := nodes[node].send("POST", buy, buyBody(sh, sh.Large.ID, email, 1), "Idempotency-Key", key)
			var v struct {
				Code  string    `json:"code"`
				Order orderJSON `json:"order"`
			}
			json.Unmarshal(r.Body, &v)
			return answer{r.Status, v.Code, v.Order.ID}
		}
		orders := map[string]bool{}
		for i := range 30 {
			var pair [2]answer
			var wg sync.WaitGroup
			for j := range 2 {
				wg.Go(func() { pair[j] = send(j, fmt.Sprintf("k%d@example.com", i), fmt.Sprintf("key-%d", i)) })
			}
			wg.Wait()
			for _, a := range pair {
				switch {
				case a.status == http.StatusCreated:
					orders[a.orderID] = true
				case a.status == http.StatusConflict && a.code == "idempotency_key_in_use",
					a.status == http.StatusServiceUnavailable && a.code == "unavailable":
				default:
					t.Fatalf("pair %d: %+v", i, pair)
				}
			}
			if pair[0].status == http.StatusCreated && pair[1].status == http.StatusCreated && pair[0].orderID != pair[1].orderID {
				t.Fatalf("one key made two orders: %+v", pair)
			}
		}
		if len(orders) != 30 {
			t.Fatalf("30 keys made %d orders", len(orders))
		}
		created := 0
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				a := send(i%2, "same@example.com", fmt.Sprintf("same-%d", i))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case a.status == http.StatusCreated:
					created++
				case a.status == http.StatusConflict && a.code == "conflict", a.status == http.StatusServiceUnavailable:
				default:
					t.Errorf("same customer, key %d: %+v", i, a)
				}
			})
		}
		wg.Wait()
		if created == 0 || created > 5 {
			t.Fatalf("one customer got %d units past a limit of 5", created)
		}
	})
}

// TestFlashSaleStockShort: a sale allocated more than the stock on hand,
// with checkouts of the same variant at the same moment: the burst's
// batches plan on stock that the checkouts take from under them, and must
// be planned again rather than oversell. Every unit sold is one order,
// the stock never goes below zero, and the sale counts only its own.
func TestFlashSaleStockShort(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		onHand := sh.level(t, sh.Small.ID).OnHand // 10
		sale := activeSale(t, sh, sh.Small.ID, 999, 2*onHand, 1, false)
		buy := "/api/v1/storefront/acme/flash-sales/" + sale.ID + "/orders"
		const buyers, checkouts = 24, 6
		carts := make([]string, checkouts)
		for i := range carts {
			carts[i] = readyCart(t, s, sh, sh.Small.ID, 1)
		}
		answers := make([]*response, buyers+checkouts)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range answers {
			c := s.client(t)
			wg.Go(func() {
				<-start
				if i < buyers {
					answers[i], _ = c.send("POST", buy, buyBody(sh, sh.Small.ID, fmt.Sprintf("short%d@example.com", i), 1))
				} else {
					answers[i], _ = c.send("POST", "/api/v1/storefront/acme/carts/"+carts[i-buyers]+"/checkout", map[string]any{"payment_provider": "test"})
				}
			})
		}
		close(start)
		wg.Wait()

		flash, checkedOut, busy := 0, 0, 0
		for i, r := range answers {
			switch {
			case r == nil:
				t.Fatalf("request %d got no answer", i)
			case r.Status == http.StatusCreated && i < buyers:
				flash++
			case r.Status == http.StatusCreated:
				checkedOut++
			case r.Status == http.StatusServiceUnavailable && i < buyers:
				busy++ // lost every race for the rows: safe to send again
			case r.Status == http.StatusConflict && i < buyers && r.code() == "sold_out",
				r.Status == http.StatusConflict && r.code() == "insufficient_stock":
			default:
				t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
			}
		}
		l := sh.level(t, sh.Small.ID)
		if l.OnHand != onHand || l.Reserved != int64(flash+checkedOut) || l.Available < 0 {
			t.Fatalf("stock %+v after %d sale orders and %d checkouts", l, flash, checkedOut)
		}
		if busy == 0 && l.Available != 0 {
			t.Fatalf("%d units left unsold with %d buyers turned away", l.Available, buyers+checkouts-flash-checkedOut)
		}
		var got flashSaleJSON
		sh.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, 200, &got)
		if got.Items[0].Sold != int64(flash) {
			t.Fatalf("the sale counts %d sold, %d acknowledged", got.Items[0].Sold, flash)
		}
		assertLedgerBalanced(t, sh.merchant)
		// Shoppers are shown what is left of the stock, not of the
		// allocation it cannot fill.
		want := min(got.Items[0].Allocation-got.Items[0].Sold, l.Available)
		waitFor(t, func() bool {
			shown := publicSale(t, s.client(t), "acme", sale.ID)
			return shown.Items[0].Remaining == want && shown.Items[0].SoldOut == (want == 0)
		}, "the stock left shown as the sale's")
	})
}

// TestFlashSaleStalledBodyGivesUp: a client that sends a buy's headers
// and stalls holds none of the sale's places meanwhile (with one place per
// sale, other buys buy), and is answered once its body has had its time.
func TestFlashSaleStalledBodyGivesUp(t *testing.T) {
	cfg := app.Config{}
	cfg.FlashSale.InFlightPerSale, cfg.FlashSale.TargetWait = 1, -1 // one place, not paced
	forEachBackendWith(t, cfg, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		sale := activeSale(t, sh, sh.Large.ID, 1999, 2, 1, false)
		buy := "/api/v1/storefront/acme/flash-sales/" + sale.ID + "/orders"
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{", buy)
		c := s.client(t)
		for _, email := range []string{"one@example.com", "two@example.com"} {
			c.do("POST", buy, buyBody(sh, sh.Large.ID, email, 1)).must(t, http.StatusCreated, nil)
		}
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("the stalled buy was never answered: %v", err)
		}
		res.Body.Close()
		// Given up after the body's wait (400), or refused at once if a
		// buy held the sale's one place when its headers came (429):
		// either way answered, closed, and never holding the place.
		if (res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusTooManyRequests) || !res.Close {
			t.Fatalf("the stalled buy was answered %d, close %v", res.StatusCode, res.Close)
		}
	})
}

// TestFlashSaleRefusesAStalledBodyAtOnce: a buy refused before its body is
// read (its address over its rate, or the sale full) is answered at once
// and its connection closed, not held while the server waits for a body
// it will not use.
func TestFlashSaleRefusesAStalledBodyAtOnce(t *testing.T) {
	cfg := app.Config{}
	cfg.FlashSale.PerIP = 0.001 // a burst of 1, then nothing for the test's life
	forEachBackendWith(t, cfg, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		sale := activeSale(t, sh, sh.Large.ID, 1999, 5, 1, false)
		buy := "/api/v1/storefront/acme/flash-sales/" + sale.ID + "/orders"
		s.client(t).do("POST", buy, buyBody(sh, sh.Large.ID, "one@example.com", 1)).must(t, http.StatusCreated, nil)
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{", buy)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // the server would wait 30 s for the body
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("the refused buy was not answered: %v", err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests || !res.Close {
			t.Fatalf("the refused buy was answered %d, close %v; want 429 and the connection closed", res.StatusCode, res.Close)
		}
		// A refused buy whose body came whole keeps its connection.
		whole, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer whole.Close()
		whole.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(whole)
		body := `{"variant_id":"` + sh.Large.ID + `","quantity":1,"email":"two@example.com"}`
		fmt.Fprintf(whole, "POST %s HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", buy, len(body), body)
		res, err = http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests || res.Close {
			t.Fatalf("a whole refused buy was answered %d, close %v; want 429 on a kept connection", res.StatusCode, res.Close)
		}
		fmt.Fprintf(whole, "GET /healthz HTTP/1.1\r\nHost: shop\r\n\r\n")
		if res, err = http.ReadResponse(r, nil); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("the kept connection's next request: %v, %v", res, err)
		}
		res.Body.Close()
	})
}

// TestOrderNumbersGivenBack: numbers a flash sale batch took and could not
// use go back to the store while no later number was taken; otherwise they
// stay a gap, and no number is ever handed out twice.
func TestOrderNumbersGivenBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		ctx := t.Context()
		take := func(n int) []int64 {
			t.Helper()
			nums, err := s.Orders.TakeNumbers(ctx, sh.StoreID, n)
			if err != nil || len(nums) != n {
				t.Fatalf("take %d: %v, %v", n, nums, err)
			}
			return nums
		}
		unused := take(3)
		if err := s.Orders.ReturnNumbers(ctx, sh.StoreID, unused); err != nil {
			t.Fatal(err)
		}
		if again := take(1); again[0] != unused[0] {
			t.Fatalf("after giving back %v the next number is %d", unused, again[0])
		}
		late := take(2)
		after := take(1)
		if err := s.Orders.ReturnNumbers(ctx, sh.StoreID, late); err != nil {
			t.Fatal(err)
		}
		if next := take(1); next[0] != after[0]+1 {
			t.Fatalf("numbers %v given back after %d was taken: the next is %d, want %d", late, after[0], next[0], after[0]+1)
		}
		// Another store's counter is its own: numbers given back for it
		// never move this store's, even when they are its last ones too.
		other := openShop(t, s, "other")
		mine := take(1)
		theirs, err := s.Orders.TakeNumbers(ctx, other.StoreID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Orders.ReturnNumbers(ctx, other.StoreID, mine); err != nil {
			t.Fatal(err)
		}
		if next := take(1); next[0] != mine[0]+1 {
			t.Fatalf("another store gave back %v: this store's next number is %d, want %d", mine, next[0], mine[0]+1)
		}
		if again, err := s.Orders.TakeNumbers(ctx, other.StoreID, 1); err != nil || again[0] != theirs[0]+1 {
			t.Fatalf("the other store's next number is %v (%v), want %d", again, err, theirs[0]+1)
		}
	})
}
