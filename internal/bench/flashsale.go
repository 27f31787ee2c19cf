package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// FlashSaleOptions configure the flash sale benchmark.
type FlashSaleOptions struct {
	BaseURL string // the server, http://host:port
	Buyers  int    // concurrent buyers, each a distinct customer
	Stock   int64  // the sale's allocation, and the product's whole stock
	// PerCustomer is the sale's limit per customer; 0 picks one that asks
	// for twice the stock in all, so the sale sells out with buyers to spare.
	PerCustomer int64
	// OtherStore is a store whose product page is fetched while the sale
	// runs, to see that the rest of the platform stays responsive ("" skips).
	OtherStore string
	// PageProbe is the command of a process that asks for that page (see
	// ProbePage), given its URL as a last argument; empty, this process
	// asks.
	PageProbe []string
	// Watchers are shoppers with the sale's page open, each asking for the
	// sale's JSON every 2 s (±25 %) as the page's script does while a sale
	// runs, on a connection of its own, from the sale's start to its end.
	Watchers int
	// Nodes are further servers of the same store on the same database
	// (PostgreSQL), each its own node: buyers and watchers are spread over
	// BaseURL and these, one in turn each. The store is set up and audited
	// through BaseURL, so a buyer's last order, placed on another node, is
	// retried there.
	Nodes []string
	Out   io.Writer
	// Timeline prints, for each quarter second of the sale, the orders
	// acknowledged, the buys turned away, the CPU this process used and the
	// p99 latency of the buys sent in it that got an order and of those
	// turned away: where a slow start or a lull in the retries costs
	// throughput, whether a slow quarter lacked buys or spent more CPU on
	// each, and when the slowest buys were sent.
	Timeline bool
	// DuringSale, if set, is called as the buyers start and the function it
	// returns when the last one is done (to profile the sale alone).
	DuringSale func() (done func())
}

// FlashSaleResult is what the benchmark measured and verified.
type FlashSaleResult struct {
	Buyers           int     `json:"buyers"`
	Nodes            int     `json:"nodes"`
	Stock            int64   `json:"stock"`
	Attempts         int64   `json:"attempts"`
	Orders           int64   `json:"orders"`
	SoldOut          int64   `json:"sold_out"`
	Rejected         int64   `json:"rejected"`
	Errors           int64   `json:"errors"`
	SecondsToSellOut float64 `json:"seconds_to_sell_out"`
	OrdersPerSecond  float64 `json:"orders_per_second"`
	P50ms            float64 `json:"p50_ms"`
	P95ms            float64 `json:"p95_ms"`
	P99ms            float64 `json:"p99_ms"`
	Maxms            float64 `json:"max_ms"`
	SoldOutP50ms     float64 `json:"sold_out_p50_ms"`
	SoldOutP99ms     float64 `json:"sold_out_p99_ms"`
	// AfterSoldOutP99ms counts only buys sent once the last unit was sold:
	// the ones that find the sale gone, not the ones already queued for it.
	AfterSoldOutP99ms float64 `json:"after_sold_out_p99_ms"`
	RejectedP50ms     float64 `json:"rejected_p50_ms"`
	RejectedP99ms     float64 `json:"rejected_p99_ms"`
	OtherStoreP99ms   float64 `json:"other_store_p99_ms"`
	Watchers          int     `json:"watchers"`
	WatchRequests     int     `json:"watch_requests"`
	WatchP99ms        float64 `json:"watch_p99_ms"`
	// CPU milliseconds per order while the buyers ran: of this process
	// (server and buyers, or the buyers alone with --target) and of the
	// whole machine (a local database included); 0 where unknown.
	CPUmsPerOrder        float64 `json:"cpu_ms_per_order"`
	MachineCPUmsPerOrder float64 `json:"machine_cpu_ms_per_order"`
	// MachineBusy is the share (0 to 1) of the machine's cores busy from
	// the sale's start until it sold out, read at the last quarter second
	// before; 0 where unknown.
	MachineBusy      float64 `json:"machine_busy"`
	OtherStorePages  int     `json:"other_store_pages"`
	Oversold         int64   `json:"oversold"`
	Lost             int64   `json:"lost"`
	Duplicates       int64   `json:"duplicates"`
	LedgerConsistent bool    `json:"ledger_consistent"`
}

// Passed reports whether the audit found nothing wrong.
func (r *FlashSaleResult) Passed() bool {
	return r.Oversold == 0 && r.Lost == 0 && r.Duplicates == 0 && r.LedgerConsistent
}

// buyOutcome is one buyer's answers.
type buyOutcome struct {
	orders   []string // acknowledged order ids, in order
	lastBody []byte   // every buy of a buyer sends the same body, with its own key
	lastKey  string
	lastID   string
	okLat    []time.Duration
	soldLat  []time.Duration
	soldAt   []time.Time // when each sold-out buy was sent
	rejLat   []time.Duration
	rejAt    []time.Time // when each overload answer came
	okAt     []time.Time // when each order was acknowledged
	attempts int64
	rejected int64
	errors   int64
	soldOut  bool
}

// FlashSale sets up a new store with one product whose whole stock is in a
// sale, then lets Buyers customers buy one unit at a time, all at once,
// until each hears "sold out" or reaches its limit. A request that fails
// without a clear answer, or is turned away for overload, is retried with
// the same Idempotency-Key. Then it audits the store: no unit sold twice,
// every acknowledged order stored, no order nobody was told of, and the
// stock ledger consistent.
func FlashSale(ctx context.Context, o FlashSaleOptions) (*FlashSaleResult, error) {
	if o.Buyers < 1 || o.Stock < 1 || o.Watchers < 0 {
		return nil, errors.New("buyers and stock must be positive, watchers not negative")
	}
	if o.PerCustomer == 0 {
		o.PerCustomer = max(1, (2*o.Stock+int64(o.Buyers)-1)/int64(o.Buyers))
	}
	if err := awaitNodes(ctx, append([]string{o.BaseURL}, o.Nodes...), 10*time.Second); err != nil {
		fmt.Fprintln(o.Out, "warning:", err)
	}
	run := randomHex(4)
	handle := "flash-" + run
	admin := newClient(o.BaseURL, 4)
	email, password := "owner@"+handle+".example.com", "flash sale benchmark "+run
	if err := admin.call(ctx, "POST", "/api/v1/signup", map[string]any{"store_name": "Flash " + run, "handle": handle, "currency": "USD",
		"time_zone": "UTC", "owner": map[string]any{"email": email, "name": "Bench", "password": password}}, http.StatusCreated, nil); err != nil {
		return nil, fmt.Errorf("sign up the benchmark store: %w", err)
	}
	if err := admin.signIn(ctx, handle, email, password); err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	var p struct {
		Variants []struct {
			ID string `json:"id"`
		} `json:"variants"`
	}
	if err := admin.call(ctx, "POST", "/api/v1/products", map[string]any{"title": "Flash Tea", "status": "active",
		"variants": []map[string]any{{"sku": "FLASH-" + run, "price": 9900}}}, http.StatusCreated, &p); err != nil {
		return nil, fmt.Errorf("create product: %w", err)
	}
	variant := p.Variants[0].ID
	if err := admin.call(ctx, "POST", "/api/v1/variants/"+variant+"/inventory/adjustments",
		map[string]any{"kind": "received", "quantity": o.Stock}, http.StatusCreated, nil); err != nil {
		return nil, fmt.Errorf("stock product: %w", err)
	}
	var zone struct {
		Rates []struct {
			ID string `json:"id"`
		} `json:"rates"`
	}
	if err := admin.call(ctx, "POST", "/api/v1/shipping-zones", map[string]any{"name": "US", "countries": []string{"US"},
		"rates": []map[string]any{{"name": "Standard", "price": 500}}}, http.StatusCreated, &zone); err != nil {
		return nil, fmt.Errorf("create shipping zone: %w", err)
	}
	var sale struct {
		ID string `json:"id"`
	}
	if err := admin.call(ctx, "POST", "/api/v1/flash-sales", map[string]any{"title": "Flash " + run,
		"starts_at": time.Now().Add(-time.Minute), "ends_at": time.Now().Add(time.Hour), "per_customer_limit": o.PerCustomer,
		"items": []map[string]any{{"variant_id": variant, "sale_price": 990, "allocation": o.Stock}}}, http.StatusCreated, &sale); err != nil {
		return nil, fmt.Errorf("create sale: %w", err)
	}
	fmt.Fprintf(o.Out, "sale %s: %d units, %d per customer, %d buyers\n", sale.ID, o.Stock, o.PerCustomer, o.Buyers)

	shop := newClient(o.BaseURL, 16)
	nodes := append([]string{o.BaseURL}, o.Nodes...)
	hosts := make([]string, len(nodes))
	for i, n := range nodes {
		u, err := url.Parse(n)
		if err != nil {
			return nil, err
		}
		hosts[i] = u.Host
	}
	salePath := "/api/v1/storefront/" + handle + "/flash-sales/" + sale.ID
	path := salePath + "/orders"
	outcomes := make([]*buyOutcome, o.Buyers)
	probeCtx, stopProbe := context.WithCancel(ctx)
	probe := make(chan []pageSample, 1)
	start := make(chan struct{})
	go func() { probe <- probeStore(probeCtx, o.BaseURL, o.OtherStore, o.PageProbe, start) }()
	watched := make(chan []time.Duration, o.Watchers)
	var watching sync.WaitGroup
	for i := range o.Watchers {
		n := i % len(nodes)
		c := &conn{addr: hosts[n]}
		watching.Go(func() {
			watched <- watch(probeCtx, c, nodes[n]+salePath, start, watchEvery)
		})
	}
	var wg, ready sync.WaitGroup
	conns := make([]*conn, o.Buyers)
	for i := range o.Buyers {
		n := i % len(nodes)
		c := &conn{addr: hosts[n]}
		conns[i] = c
		ready.Add(1)
		wg.Go(func() {
			// Connected before the sale opens, as a shopper waiting on its
			// page is; one that fails dials again for its first buy.
			_ = c.dial(ctx)
			ready.Done()
			<-start
			outcomes[i] = buyUntilDone(ctx, c, nodes[n]+path, map[string]any{"variant_id": variant, "quantity": 1,
				"email": fmt.Sprintf("buyer%d-%s@example.com", i, run), "payment_provider": "test", "shipping_rate_id": zone.Rates[0].ID,
				"shipping_address": map[string]any{"name": "Buyer " + strconv.Itoa(i), "line1": "1 Market St", "city": "San Francisco",
					"region": "CA", "postal_code": "94105", "country": "US"}})
		})
	}
	ready.Wait()
	stopSale := func() {}
	if o.DuringSale != nil {
		stopSale = o.DuringSale()
	}
	cpu0, t0 := readCPU(), time.Now()
	close(start)
	stopSampling := make(chan struct{})
	sampled := make(chan []cpuSample) // at each step, for the timeline
	go func() { sampled <- sampleCPU(stopSampling, timelineStep) }()
	wg.Wait()
	close(stopSampling)
	cpuSteps := <-sampled
	cpu1 := readCPU()
	for _, c := range conns {
		c.close()
	}
	stopSale()
	stopProbe()
	pages := <-probe
	other := make([]time.Duration, len(pages))
	for i, p := range pages {
		other[i] = p.took
	}
	watching.Wait()
	close(watched)
	var watchLat []time.Duration
	for w := range watched {
		watchLat = append(watchLat, w...)
	}
	slices.Sort(watchLat)

	res := &FlashSaleResult{Buyers: o.Buyers, Nodes: len(nodes), Stock: o.Stock, OtherStorePages: len(other)}
	var okLat, soldLat, rejLat []time.Duration
	acked := map[string]bool{}
	var last time.Time
	for _, b := range outcomes {
		res.Attempts += b.attempts
		res.Rejected += b.rejected
		res.Errors += b.errors
		if b.soldOut {
			res.SoldOut++
		}
		for _, id := range b.orders {
			if acked[id] {
				res.Duplicates++ // two buys answered with one order
			}
			acked[id] = true
		}
		okLat, soldLat, rejLat = append(okLat, b.okLat...), append(soldLat, b.soldLat...), append(rejLat, b.rejLat...)
		if n := len(b.okAt); n > 0 && b.okAt[n-1].After(last) {
			last = b.okAt[n-1]
		}
	}
	if o.Timeline {
		printTimeline(o.Out, t0, outcomes, pages, append([]cpuSample{{at: t0, clock: cpu0}}, cpuSteps...))
	}
	var after []time.Duration
	for _, b := range outcomes {
		for i, at := range b.soldAt {
			if at.After(last) {
				after = append(after, b.soldLat[i])
			}
		}
	}
	slices.Sort(after)
	res.AfterSoldOutP99ms = pct(after, 99)
	res.Orders = int64(len(acked))
	if cpu0.ok && cpu1.ok {
		res.CPUmsPerOrder = perOrder(cpu0.process, cpu1.process, res.Orders)
		res.MachineCPUmsPerOrder = perOrder(cpu0.machine, cpu1.machine, res.Orders)
	}
	if res.Orders > 0 {
		res.MachineBusy = busyUntil(cpuSample{at: t0, clock: cpu0}, cpuSteps, last, runtime.NumCPU())
		res.SecondsToSellOut = last.Sub(t0).Seconds()
		res.OrdersPerSecond = float64(res.Orders) / res.SecondsToSellOut
	}
	for _, l := range [][]time.Duration{okLat, soldLat, rejLat, other} {
		slices.Sort(l)
	}
	res.P50ms, res.P95ms, res.P99ms, res.Maxms = pct(okLat, 50), pct(okLat, 95), pct(okLat, 99), pct(okLat, 100)
	res.SoldOutP50ms, res.SoldOutP99ms = pct(soldLat, 50), pct(soldLat, 99)
	res.RejectedP50ms, res.RejectedP99ms = pct(rejLat, 50), pct(rejLat, 99)
	res.OtherStoreP99ms = pct(other, 99)
	res.Watchers, res.WatchRequests, res.WatchP99ms = o.Watchers, len(watchLat), pct(watchLat, 99)

	if err := auditFlashSale(context.WithoutCancel(ctx), admin, shop, path, sale.ID, variant, o.Stock, outcomes, acked, res); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return res, nil
}

// awaitNodes waits, up to within, until every node counts all of them
// (its nimbus_cluster_nodes metric): each admits its share of the sale's
// buys only once it knows the others, which nodes that just started learn
// at their next heartbeat. A deployment's nodes have known each other for
// long when a sale starts.
func awaitNodes(ctx context.Context, nodes []string, within time.Duration) error {
	slices.Sort(nodes)
	if nodes = slices.Compact(nodes); len(nodes) < 2 { // one server given twice is one node
		return nil
	}
	deadline := time.Now().Add(within)
	for {
		counts := make([]int, len(nodes))
		all := true
		for i, n := range nodes {
			counts[i] = nodesCounted(ctx, n)
			all = all && counts[i] == len(nodes)
		}
		if all {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s the nodes count %v nodes, not %d each: their shares of the sale may not add up", within, counts, len(nodes))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// metricsClient reads the nodes' metrics; a node that does not answer in
// time is asked again.
var metricsClient = &http.Client{Timeout: 2 * time.Second}

// nodesCounted reads a node's count of the nodes on its database from its
// metrics; 0 if it cannot.
func nodesCounted(ctx context.Context, node string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, node+"/metrics", nil)
	if err != nil {
		return 0
	}
	res, err := metricsClient.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0
	}
	n, _ := MetricValue(string(body), "nimbus_cluster_nodes")
	return int(n)
}

// MetricValue reads a metric without labels from a Prometheus text
// exposition (a node's /metrics), and reports whether it was there.
func MetricValue(exposition, name string) (float64, bool) {
	for line := range strings.SplitSeq(exposition, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// timelineStep is the time a line of the timeline covers.
const timelineStep = 250 * time.Millisecond

// printTimeline writes how many orders were acknowledged, how many buys
// were turned away for overload, the p99 latency of the buys sent in the
// step that got an order, of those turned away and of another store's
// pages asked for in it and, where the CPU clock
// was read at both ends of a step (within half a step of them), the CPU the
// process used, in each step from t0 to the last answer.
func printTimeline(w io.Writer, t0 time.Time, outcomes []*buyOutcome, pages []pageSample, cpu []cpuSample) {
	const step = timelineStep
	var orders, refused []int
	var sent [][]time.Duration      // by the step a buy that got an order was sent in
	var refusedAt [][]time.Duration // by the step a buy turned away was sent in
	bySend := func(by *[][]time.Duration, answered time.Time, took time.Duration) {
		i := max(0, int(answered.Add(-took).Sub(t0)/step))
		for len(*by) <= i {
			*by = append(*by, nil)
		}
		(*by)[i] = append((*by)[i], took)
	}
	count := func(counts *[]int, at time.Time) {
		i := int(at.Sub(t0) / step)
		for len(*counts) <= i {
			*counts = append(*counts, 0)
		}
		(*counts)[i]++
	}
	var pageBy [][]time.Duration // another store's pages, by the step they were asked in
	for _, p := range pages {
		bySend(&pageBy, p.sent.Add(p.took), p.took)
	}
	for _, b := range outcomes {
		for j, at := range b.okAt {
			count(&orders, at)
			bySend(&sent, at, b.okLat[j])
		}
		for j, at := range b.rejAt {
			bySend(&refusedAt, at, b.rejLat[j])
			count(&refused, at)
		}
	}
	steps := max(len(orders), len(refused))
	orders = append(orders, make([]int, steps-len(orders))...)
	refused = append(refused, make([]int, steps-len(refused))...)
	clockAt := map[int]cpuClock{} // step boundary -> the clock read there
	for _, c := range cpu {
		k := int((c.at.Sub(t0) + step/2) / step)
		if _, seen := clockAt[k]; !seen && c.clock.ok {
			clockAt[k] = c.clock
		}
	}
	for i := range steps {
		fmt.Fprintf(w, "  %5d ms: %5d orders (%6.0f/s), %5d turned away", i*int(step/time.Millisecond), orders[i],
			float64(orders[i])*float64(time.Second/step), refused[i])
		from, ok1 := clockAt[i]
		to, ok2 := clockAt[i+1]
		if ok1 && ok2 {
			fmt.Fprintf(w, ", %4d ms CPU", (to.process - from.process).Milliseconds())
		}
		var latencies []string // of the buys sent in the step
		for _, l := range []struct {
			what string
			by   [][]time.Duration
		}{{"orders", sent}, {"turned away", refusedAt}, {"another store's page", pageBy}} {
			if i < len(l.by) && len(l.by[i]) > 0 {
				slices.Sort(l.by[i])
				latencies = append(latencies, fmt.Sprintf("%s p99 %3.0f ms", l.what, pct(l.by[i], 99)))
			}
		}
		if len(latencies) > 0 {
			fmt.Fprintf(w, "; sent now: %s", strings.Join(latencies, ", "))
		}
		fmt.Fprintln(w)
	}
}

// buyUntilDone buys one unit at a time until the sale is sold out or the
// buyer's limit is reached. The connection stays open, as a shopper's
// browser keeps it after the answer: the caller closes it once the sale
// is over. Overload answers are retried after Retry-After,
// unclear failures at once, both with the same key.
func buyUntilDone(ctx context.Context, c *conn, url string, fields map[string]any) *buyOutcome {
	body, _ := json.Marshal(fields) // a map of strings and numbers always marshals
	b := &buyOutcome{lastBody: body}
	key := randomHex(16)
	failures := 0
	for ctx.Err() == nil {
		b.attempts++
		t := time.Now()
		status, retryAfter, code, id, err := buyOnce(ctx, c, url, body, key)
		d := time.Since(t)
		switch {
		case err == nil && status == http.StatusCreated:
			b.orders, b.okLat, b.okAt, b.lastKey, b.lastID = append(b.orders, id), append(b.okLat, d), append(b.okAt, time.Now()), key, id
			key, failures = randomHex(16), 0
		case err == nil && status == http.StatusConflict && code == "sold_out":
			b.soldLat, b.soldAt, b.soldOut = append(b.soldLat, d), append(b.soldAt, t), true
			return b
		case err == nil && status == http.StatusConflict && code == "conflict":
			return b // the limit per customer is reached
		case err == nil && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable):
			b.rejected++
			b.rejLat, b.rejAt = append(b.rejLat, d), append(b.rejAt, time.Now())
			wait := time.Duration(retryAfter) * time.Second
			if wait <= 0 {
				wait = time.Second
			}
			// Spread the retries over the window, as real clients would.
			select {
			case <-time.After(wait/2 + time.Duration(randomInt(int64(wait)))):
			case <-ctx.Done():
			}
		default:
			b.errors++
			if failures++; failures > 20 {
				return b
			}
		}
	}
	return b
}

func buyOnce(ctx context.Context, c doer, url string, body []byte, key string) (status, retryAfter int, code, orderID string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	res, err := c.Do(req)
	if err != nil {
		return 0, 0, "", "", err
	}
	defer res.Body.Close()
	// Of the answer (an order, or a problem) only two fields are read: a
	// scan that skips the rest costs the load generator a fifth of a full
	// decode, and the load generator shares the cores being measured.
	answer, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, 0, "", "", err
	}
	if !gjson.ValidBytes(answer) {
		return res.StatusCode, 0, "", "", fmt.Errorf("status %d: not JSON: %.200s", res.StatusCode, answer)
	}
	fields := gjson.GetManyBytes(answer, "code", "order.id")
	retryAfter, _ = strconv.Atoi(res.Header.Get("Retry-After"))
	return res.StatusCode, retryAfter, fields[0].String(), fields[1].String(), nil
}

// watchEvery is how often a sale's page left open asks for the sale while
// it runs (web/static/flashsale.js).
const watchEvery = 2 * time.Second

// watch asks for a sale's JSON every (±25 %), or after the answer's
// max-age if longer, as a page left open on it does, from the sale's start
// until ctx ends, and returns how long each answer took. The first ask
// comes at a random moment of the first interval: the pages were opened at
// different moments.
func watch(ctx context.Context, c *conn, url string, start <-chan struct{}, every time.Duration) []time.Duration {
	defer c.close()
	var out []time.Duration
	select {
	case <-start:
	case <-ctx.Done():
		return nil
	}
	wait := time.Duration(randomInt(int64(every)))
	for {
		select {
		case <-ctx.Done():
			return out
		case <-time.After(wait):
		}
		t := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		res, err := c.Do(req)
		if err != nil {
			wait = every
			continue
		}
		res.Body.Close() // reads it to its end
		// No sooner than the answer's max-age, as the page does.
		wait = max(every*3/4+time.Duration(randomInt(int64(every)/2)), maxAge(res.Header.Get("Cache-Control")))
		if res.StatusCode == http.StatusOK {
			out = append(out, time.Since(t))
		}
	}
}

// maxAge reads max-age from a Cache-Control header; 0 without one.
func maxAge(cacheControl string) time.Duration {
	for d := range strings.SplitSeq(cacheControl, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), "max-age="); ok {
			if s, err := strconv.Atoi(v); err == nil && s > 0 {
				return time.Duration(s) * time.Second
			}
		}
	}
	return 0
}

// pageSample is one page asked for at sent, answered after took.
type pageSample struct {
	sent time.Time
	took time.Duration
}

// probeStore fetches a product page of another store every 20 ms from the
// sale's start until ctx ends and returns when each was asked for and how
// long it took: from a process of its own if cmd names one (probeApart).
// (While the buyers connect, before the sale, a page waits behind their
// handshakes.)
func probeStore(ctx context.Context, base, store string, cmd []string, start <-chan struct{}) []pageSample {
	if store == "" {
		return nil
	}
	c := newClient(base, 2)
	var list struct {
		Data []struct {
			Handle string `json:"handle"`
		} `json:"data"`
	}
	if err := c.call(ctx, "GET", "/api/v1/storefront/"+store+"/products?limit=1", nil, http.StatusOK, &list); err != nil || len(list.Data) == 0 {
		return nil
	}
	page := base + "/s/" + store + "/products/" + list.Data[0].Handle
	if len(cmd) > 0 {
		return probeApart(ctx, cmd, page, start)
	}
	select {
	case <-start:
	case <-ctx.Done():
		return nil
	}
	var out []pageSample
	askPage(ctx, c.http, page, func(p pageSample) { out = append(out, p) }) // a page built from the store's own answer
	return out
}

// auditFlashSale checks the store after the sale: the allocation and the
// stock were never exceeded; every acknowledged order is stored and no
// other order exists; the stock held equals the units sold; the inventory
// ledger balances; and a retry of each buyer's last order with its key
// returns that order.
func auditFlashSale(ctx context.Context, admin, shop *client, path, saleID, variant string, stock int64,
	outcomes []*buyOutcome, acked map[string]bool, res *FlashSaleResult) error {
	var sale struct {
		Items []struct {
			Sold       int64 `json:"sold"`
			Allocation int64 `json:"allocation"`
		} `json:"items"`
	}
	if err := admin.call(ctx, "GET", "/api/v1/flash-sales/"+saleID, nil, http.StatusOK, &sale); err != nil {
		return err
	}
	sold := sale.Items[0].Sold
	var level struct {
		OnHand   int64 `json:"on_hand"`
		Reserved int64 `json:"reserved"`
	}
	if err := admin.call(ctx, "GET", "/api/v1/variants/"+variant+"/inventory", nil, http.StatusOK, &level); err != nil {
		return err
	}
	res.Oversold = max(0, sold-stock) + max(0, level.Reserved-level.OnHand)

	// Every order of the store (it has no other) against what was acknowledged.
	stored := map[string]bool{}
	var units int64
	cursor := ""
	for {
		var page struct {
			Data []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
				Lines  []struct {
					Quantity int64 `json:"quantity"`
				} `json:"lines"`
			} `json:"data"`
			HasMore    bool   `json:"has_more"`
			NextCursor string `json:"next_cursor"`
		}
		if err := admin.call(ctx, "GET", "/api/v1/orders?limit=200&cursor="+cursor, nil, http.StatusOK, &page); err != nil {
			return err
		}
		for _, o := range page.Data {
			stored[o.ID] = true
			if o.Status == "pending_payment" {
				for _, l := range o.Lines {
					units += l.Quantity
				}
			}
		}
		if !page.HasMore {
			break
		}
		cursor = page.NextCursor
	}
	for id := range acked {
		if !stored[id] {
			res.Lost++
		}
	}
	for id := range stored {
		if !acked[id] {
			res.Duplicates++ // an order no buyer was told of: a retry made a second one
		}
	}
	for _, b := range outcomes {
		if b.lastKey == "" {
			continue
		}
		status, _, _, id, err := buyOnce(ctx, shop.http, shop.base+path, b.lastBody, b.lastKey)
		if err != nil || status != http.StatusCreated || id != b.lastID {
			res.Duplicates++
		}
	}
	var check struct {
		Balanced bool `json:"balanced"`
	}
	if err := admin.call(ctx, "GET", "/api/v1/inventory/check", nil, http.StatusOK, &check); err != nil {
		return err
	}
	res.LedgerConsistent = check.Balanced && level.OnHand == stock && level.Reserved == sold && units == sold
	return nil
}

// Print writes the result for people, then as one JSON line for programs.
func (r *FlashSaleResult) Print(w io.Writer) {
	if r.Nodes > 1 {
		fmt.Fprintf(w, "buyers spread over %d nodes of one database\n", r.Nodes)
	}
	fmt.Fprintf(w, "buyers %d, stock %d: %d attempts, %d orders, %d sold out, %d rejected (overload), %d errors\n",
		r.Buyers, r.Stock, r.Attempts, r.Orders, r.SoldOut, r.Rejected, r.Errors)
	fmt.Fprintf(w, "orders/second until sold out: %.0f (%.2fs)\n", r.OrdersPerSecond, r.SecondsToSellOut)
	fmt.Fprintf(w, "buy latency: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.P50ms, r.P95ms, r.P99ms, r.Maxms)
	fmt.Fprintf(w, "sold out answers: p50 %.2f ms, p99 %.2f ms (p99 %.2f ms for buys sent after the last unit sold); overload answers p50 %.2f ms, p99 %.2f ms\n",
		r.SoldOutP50ms, r.SoldOutP99ms, r.AfterSoldOutP99ms, r.RejectedP50ms, r.RejectedP99ms)
	if r.Watchers > 0 {
		fmt.Fprintf(w, "%d shoppers watching the sale's page: %d asks, p99 %.1f ms\n", r.Watchers, r.WatchRequests, r.WatchP99ms)
	}
	if r.OtherStorePages > 0 {
		fmt.Fprintf(w, "another store's product page during the sale: p99 %.1f ms (%d pages)\n", r.OtherStoreP99ms, r.OtherStorePages)
	}
	if r.CPUmsPerOrder > 0 {
		fmt.Fprintf(w, "CPU per order: %.3f ms in this process, %.3f ms on the machine", r.CPUmsPerOrder, r.MachineCPUmsPerOrder)
		if r.MachineBusy > 0 {
			fmt.Fprintf(w, "; the machine's cores %.0f%% busy until sold out", 100*r.MachineBusy)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "audit: oversold %d, lost %d, duplicates %d, ledger consistent %v\n", r.Oversold, r.Lost, r.Duplicates, r.LedgerConsistent)
	b, _ := json.Marshal(r)
	fmt.Fprintln(w, string(b))
}
