package bench

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCPUClockMoves(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here: the benchmark reports no CPU")
	}
	a := readCPU()
	if !a.ok || a.machine <= 0 { // the process itself may not have used a tick yet
		t.Fatalf("CPU read as %+v", a)
	}
	// Burn CPU until the process clock moves by a tick or more.
	sum := sha256.Sum256(nil)
	for b := readCPU(); b.process == a.process; b = readCPU() {
		for range 10000 {
			sum = sha256.Sum256(sum[:])
		}
	}
	b := readCPU()
	if b.machine < a.machine || b.process <= a.process {
		t.Fatalf("CPU went from %+v to %+v", a, b)
	}
	if got := perOrder(0, 3*userTick, 2); got != 15 { // from a process clock still at zero
		t.Fatalf("3 ticks over 2 orders: %v ms each, want 15", got)
	}
}

func TestBusyUntilTheSellOut(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	at := func(ms int, machine time.Duration) cpuSample {
		return cpuSample{at: t0.Add(time.Duration(ms) * time.Millisecond), clock: cpuClock{machine: machine, ok: true}}
	}
	start := at(0, 10*time.Second)
	samples := []cpuSample{at(250, 10*time.Second+400*time.Millisecond), at(500, 10*time.Second+600*time.Millisecond), at(750, 11*time.Second)}
	// Sold out at 600 ms: read at 500 ms, 600 ms of CPU over 500 ms on 2 cores.
	if got := busyUntil(start, samples, t0.Add(600*time.Millisecond), 2); got != 0.6 {
		t.Fatalf("busy = %v, want 0.6", got)
	}
	if got := busyUntil(start, samples, t0.Add(100*time.Millisecond), 2); got != 0 {
		t.Fatalf("sold out before the first sample: busy = %v, want 0 (unknown)", got)
	}
	unread := []cpuSample{{at: t0.Add(250 * time.Millisecond)}}
	if got := busyUntil(start, unread, t0.Add(time.Second), 2); got != 0 {
		t.Fatalf("a clock unread: busy = %v, want 0 (unknown)", got)
	}
}

func TestTimelineCountsEachQuarterSecond(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var out strings.Builder
	cpu := func(atMS, ms int) cpuSample {
		return cpuSample{at: at(atMS), clock: cpuClock{process: time.Duration(ms) * time.Millisecond, ok: true}}
	}
	ms := func(ms ...int) (d []time.Duration) {
		for _, m := range ms {
			d = append(d, time.Duration(m)*time.Millisecond)
		}
		return d
	}
	// Orders sent at 10, 200 and 230 ms (step 0), 250 (step 1), 600 (step
	// 2); buys turned away sent at 15 and 0 ms (step 0), 300 (step 1) and
	// 790 (step 3); another store's page asked for at 20 and 240 ms (step
	// 0, answered in step 1) and 260 ms (step 1).
	pages := []pageSample{{at(20), 15 * time.Millisecond}, {at(240), 120 * time.Millisecond}, {at(260), 9 * time.Millisecond}}
	printTimeline(&out, t0, []*buyOutcome{
		{okAt: []time.Time{at(100), at(600)}, okLat: ms(90, 400), rejAt: []time.Time{at(20)}, rejLat: ms(5)},
		{okAt: []time.Time{at(300), at(310), at(620)}, okLat: ms(50, 80, 20), rejAt: []time.Time{at(30), at(400), at(800)}, rejLat: ms(30, 100, 10)}},
		pages,
		// read late at 260 ms; the reading due at 750 ms was missed
		[]cpuSample{cpu(0, 1000), cpu(260, 1300), cpu(500, 1720), cpu(1000, 2000)})
	want := "      0 ms:     1 orders (     4/s),     2 turned away,  300 ms CPU; sent now: orders p99 400 ms, turned away p99  30 ms, another store's page p99 120 ms\n" +
		"    250 ms:     2 orders (     8/s),     1 turned away,  420 ms CPU; sent now: orders p99  50 ms, turned away p99 100 ms, another store's page p99   9 ms\n" +
		"    500 ms:     2 orders (     8/s),     0 turned away; sent now: orders p99  20 ms\n" +
		"    750 ms:     0 orders (     0/s),     1 turned away; sent now: turned away p99  10 ms\n"
	if out.String() != want {
		t.Fatalf("timeline:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestWatchAsksUntilTheSaleEnds: a watcher waits for the sale's start, then
// asks for the sale again and again on one connection, timing each answer,
// until told to stop.
func TestWatchAsksUntilTheSaleEnds(t *testing.T) {
	var asked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sale" {
			http.NotFound(w, r)
			return
		}
		asked.Add(1)
		w.Write([]byte(`{"status":"active"}`))
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	start := make(chan struct{})
	got := make(chan []time.Duration)
	go func() {
		got <- watch(ctx, &conn{addr: srv.Listener.Addr().String()}, srv.URL+"/sale", start, 5*time.Millisecond)
	}()
	close(start)
	for asked.Load() < 4 {
		runtime.Gosched() // until the server has had four asks
	}
	cancel()
	lat := <-got
	// Every ask answered is timed; the one in flight when stopped may not be.
	if len(lat) < 3 || int64(len(lat)) > asked.Load() {
		t.Fatalf("%d answers timed, %d asked", len(lat), asked.Load())
	}
	for _, d := range lat {
		if d <= 0 {
			t.Fatalf("an answer timed at %v", d)
		}
	}
}

// TestMaxAge: a watcher waits as long as the answer's max-age says, and
// not for a shared cache's s-maxage.
func TestMaxAge(t *testing.T) {
	for header, want := range map[string]time.Duration{
		"public, max-age=5, s-maxage=1": 5 * time.Second,
		"public, max-age=1":             time.Second,
		"public, s-maxage=1":            0,
		"no-store":                      0,
		"":                              0,
	} {
		if got := maxAge(header); got != want {
			t.Errorf("maxAge(%q) = %v, want %v", header, got, want)
		}
	}
}

// TestFlashSaleRefusesBadOptions: options that cannot describe a sale are
// refused before anything is sent (no server is listening here).
func TestFlashSaleRefusesBadOptions(t *testing.T) {
	for _, o := range []FlashSaleOptions{
		{Buyers: 0, Stock: 10},
		{Buyers: 10, Stock: 0},
		{Buyers: 10, Stock: 10, Watchers: -1},
	} {
		o.BaseURL = "http://127.0.0.1:1"
		if _, err := FlashSale(context.Background(), o); err == nil || !strings.Contains(err.Error(), "must be positive") {
			t.Errorf("%+v: %v, want refused", o, err)
		}
	}
}

// TestMetricValue reads a metric without labels from an exposition, not a
// longer name that starts like it, and says when it is not there.
func TestMetricValue(t *testing.T) {
	const exposition = "# HELP nimbus_cluster_nodes Nodes.\n# TYPE nimbus_cluster_nodes gauge\n" +
		"nimbus_cluster_nodes_total 7\nnimbus_cluster_nodes 2\nnimbus_x{a=\"b\"} 3\n"
	if v, ok := MetricValue(exposition, "nimbus_cluster_nodes"); !ok || v != 2 {
		t.Fatalf("nimbus_cluster_nodes = %v, %v; want 2", v, ok)
	}
	if _, ok := MetricValue(exposition, "nimbus_y"); ok {
		t.Fatal("a metric that is not there was found")
	}
}
