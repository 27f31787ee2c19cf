package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// TestProbeApartProcess is the probe's own process when
// TestProbeApartAsksFromItsOwnProcess starts this test binary again.
func TestProbeApartProcess(t *testing.T) {
	if os.Getenv("NIMBUS_PAGE_PROBE") == "" {
		t.Skip("the page probe's process, started by TestProbeApartAsksFromItsOwnProcess")
	}
	if err := ProbePage(context.Background(), os.Args[len(os.Args)-1], os.Stdin, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

// TestProbeApartAsksFromItsOwnProcess: a page asked for by a process of
// its own comes back as the pages it asked for once the sale began, each
// timed, and the process ends when told.
func TestProbeApartAsksFromItsOwnProcess(t *testing.T) {
	var asked atomic.Int64
	three, enough := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch asked.Add(1) {
		case 3:
			close(three)
		case 6:
			close(enough)
		}
		w.Write([]byte("a product page"))
	}))
	defer srv.Close()
	t.Setenv("NIMBUS_PAGE_PROBE", "1")
	ctx, cancel := context.WithCancel(context.Background())
	start := make(chan struct{})
	got := make(chan []pageSample, 1)
	go func() {
		got <- probeApart(ctx, []string{os.Args[0], "-test.run=^TestProbeApartProcess$", "--"}, srv.URL+"/s/other/products/tea", start)
	}()
	<-three // the process asks before the sale too; those pages are left out
	began := time.Now()
	close(start)
	<-enough
	cancel()
	pages := <-got
	if len(pages) == 0 {
		t.Fatalf("no page came back of the %d asked for", asked.Load())
	}
	for _, p := range pages {
		if p.sent.Before(began) || p.took <= 0 {
			t.Fatalf("a page sent at %v (the sale began at %v) took %v", p.sent, began, p.took)
		}
	}
	if int64(len(pages)) > asked.Load()-3 {
		t.Fatalf("%d pages kept of %d asked for: those before the sale were kept too", len(pages), asked.Load())
	}
}
