package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// CheckoutOptions configure the checkout benchmark.
type CheckoutOptions struct {
	BaseURL     string // the server, http://host:port
	Store       string // a store handle with shipping to the US
	Email       string // a staff sign-in of that store, to set up stock and audit
	Password    string
	Concurrency int
	Duration    time.Duration
	Out         io.Writer
}

// CheckoutResult is what the benchmark measured and verified.
type CheckoutResult struct {
	Checkouts          int64   `json:"checkouts"`
	Errors             int64   `json:"errors"`
	Requests           int64   `json:"requests"`
	Seconds            float64 `json:"seconds"`
	CheckoutsPerSecond float64 `json:"checkouts_per_second"`
	RequestsPerSecond  float64 `json:"requests_per_second"`
	P50ms              float64 `json:"p50_ms"`
	P95ms              float64 `json:"p95_ms"`
	P99ms              float64 `json:"p99_ms"`
	Concurrency        int     `json:"concurrency"`
	Verified           int64   `json:"verified"`
	Lost               int64   `json:"lost"`
	StockConsistent    bool    `json:"stock_consistent"`
	LedgerBalanced     bool    `json:"ledger_balanced"`
}

const benchStock = 100_000_000

// Checkout runs complete guest checkouts against a store for a while: open
// a cart, add a line, set email and address, pick the first shipping rate,
// check out, pay with the test provider. Then it checks that every order it
// was told about is stored and paid, and that the stock moved by exactly
// the units sold.
func Checkout(ctx context.Context, o CheckoutOptions) (*CheckoutResult, error) {
	admin := newClient(o.BaseURL, 4)
	if err := admin.signIn(ctx, o.Store, o.Email, o.Password); err != nil {
		return nil, fmt.Errorf("sign in to %s: %w", o.Store, err)
	}
	// A product of its own with stock for any run, so the run measures
	// checkout, not running out.
	var p struct {
		Variants []struct {
			ID string `json:"id"`
		} `json:"variants"`
	}
	sku := "BENCH-" + randomHex(4)
	if err := admin.call(ctx, "POST", "/api/v1/products", map[string]any{"title": "Benchmark Tea " + sku, "status": "active",
		"variants": []map[string]any{{"sku": sku, "price": 1999}}}, http.StatusCreated, &p); err != nil {
		return nil, fmt.Errorf("create benchmark product: %w", err)
	}
	variant := p.Variants[0].ID
	if err := admin.call(ctx, "POST", "/api/v1/variants/"+variant+"/inventory/adjustments",
		map[string]any{"kind": "received", "quantity": benchStock}, http.StatusCreated, nil); err != nil {
		return nil, fmt.Errorf("stock benchmark product: %w", err)
	}

	shop := newClient(o.BaseURL, o.Concurrency)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		orders    []string
		requests  atomic.Int64
		errs      atomic.Int64
		firstErr  atomic.Value
	)
	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			var mine []time.Duration
			var mineOrders []string
			for runCtx.Err() == nil {
				t0 := time.Now()
				id, n, err := guestCheckout(runCtx, shop, o.Store, variant)
				requests.Add(int64(n))
				if err != nil {
					if runCtx.Err() != nil {
						break // the run ended mid-checkout: not a failure of the server
					}
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mine = append(mine, time.Since(t0))
				mineOrders = append(mineOrders, id)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			orders = append(orders, mineOrders...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()

	res := &CheckoutResult{Checkouts: int64(len(orders)), Errors: errs.Load(), Requests: requests.Load(), Seconds: elapsed,
		Concurrency: o.Concurrency}
	res.CheckoutsPerSecond = float64(res.Checkouts) / elapsed
	res.RequestsPerSecond = float64(res.Requests) / elapsed
	slices.Sort(latencies)
	res.P50ms, res.P95ms, res.P99ms = pct(latencies, 50), pct(latencies, 95), pct(latencies, 99)
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(o.Out, "first error: %s\n", e)
	}

	// Audit: every acknowledged order is stored and paid; stock moved by
	// exactly the units sold; the ledger balances.
	verifyCtx := context.WithoutCancel(ctx)
	var verified, lost atomic.Int64
	sem := make(chan struct{}, 16)
	var vwg sync.WaitGroup
	for _, id := range orders {
		sem <- struct{}{}
		vwg.Go(func() {
			defer func() { <-sem }()
			var ord struct {
				Status string `json:"status"`
			}
			if err := admin.call(verifyCtx, "GET", "/api/v1/orders/"+id, nil, http.StatusOK, &ord); err != nil || ord.Status != "paid" {
				lost.Add(1)
				return
			}
			verified.Add(1)
		})
	}
	vwg.Wait()
	res.Verified, res.Lost = verified.Load(), lost.Load()
	var level struct {
		OnHand   int64 `json:"on_hand"`
		Reserved int64 `json:"reserved"`
	}
	if err := admin.call(verifyCtx, "GET", "/api/v1/variants/"+variant+"/inventory", nil, http.StatusOK, &level); err != nil {
		return nil, err
	}
	// Every acknowledged sale left stock. A payment cut off by the end of
	// the run may have been made without the client hearing of it, so up to
	// one more per shopper may have sold, never fewer than acknowledged.
	sold := benchStock - level.OnHand
	res.StockConsistent = sold >= res.Checkouts && sold <= res.Checkouts+int64(o.Concurrency)
	var check struct {
		Balanced bool `json:"balanced"`
	}
	if err := admin.call(verifyCtx, "GET", "/api/v1/inventory/check", nil, http.StatusOK, &check); err != nil {
		return nil, err
	}
	res.LedgerBalanced = check.Balanced
	return res, nil
}

// guestCheckout buys one unit as a guest and returns the paid order's id
// and how many requests it took.
func guestCheckout(ctx context.Context, c *client, store, variant string) (string, int, error) {
	base := "/api/v1/storefront/" + store
	var cart struct {
		Token         string `json:"token"`
		ShippingRates []struct {
			ID string `json:"id"`
		} `json:"shipping_rates"`
	}
	n := 0
	step := func(method, path string, body any, want int, out any, headers ...string) error {
		n++
		return c.call(ctx, method, base+path, body, want, out, headers...)
	}
	if err := step("POST", "/carts", nil, http.StatusCreated, &cart); err != nil {
		return "", n, err
	}
	tok := "/carts/" + cart.Token
	if err := step("POST", tok+"/lines", map[string]any{"variant_id": variant, "quantity": 1}, http.StatusCreated, nil); err != nil {
		return "", n, err
	}
	if err := step("PATCH", tok, map[string]any{"email": "shopper-" + randomHex(4) + "@example.com", "shipping_address": map[string]any{
		"name": "Bench Shopper", "line1": "1 Market St", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"}},
		http.StatusOK, &cart); err != nil {
		return "", n, err
	}
	if len(cart.ShippingRates) == 0 {
		return "", n, fmt.Errorf("no shipping rate to the US")
	}
	if err := step("PATCH", tok, map[string]any{"shipping_rate_id": cart.ShippingRates[0].ID}, http.StatusOK, nil); err != nil {
		return "", n, err
	}
	var placed struct {
		Order struct {
			ID string `json:"id"`
		} `json:"order"`
		OrderToken string `json:"order_token"`
	}
	if err := step("POST", tok+"/checkout", map[string]any{"payment_provider": "test"}, http.StatusCreated, &placed,
		"Idempotency-Key", randomHex(16)); err != nil {
		return "", n, err
	}
	if err := step("POST", "/orders/"+placed.Order.ID+"/payments", map[string]any{"order_token": placed.OrderToken, "provider": "test",
		"card": map[string]any{"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}}, http.StatusOK, nil); err != nil {
		return "", n, err
	}
	return placed.Order.ID, n, nil
}

func pct(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	i = min(max(i-1, 0), len(sorted)-1)
	return float64(sorted[i].Microseconds()) / 1000
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Print writes the result for people, then as one JSON line for programs.
func (r *CheckoutResult) Print(w io.Writer) {
	fmt.Fprintf(w, "checkouts:        %d in %.1fs (%d errors), concurrency %d\n", r.Checkouts, r.Seconds, r.Errors, r.Concurrency)
	fmt.Fprintf(w, "checkouts/second: %.1f\n", r.CheckoutsPerSecond)
	fmt.Fprintf(w, "requests/second:  %.1f\n", r.RequestsPerSecond)
	fmt.Fprintf(w, "checkout latency: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms\n", r.P50ms, r.P95ms, r.P99ms)
	fmt.Fprintf(w, "audit:            %d of %d orders stored and paid, %d lost; stock consistent %v; ledger balanced %v\n",
		r.Verified, r.Checkouts, r.Lost, r.StockConsistent, r.LedgerBalanced)
	b, _ := json.Marshal(r)
	fmt.Fprintln(w, string(b))
}
