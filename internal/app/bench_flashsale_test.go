package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nimbuscommerce/nimbus/internal/app"
	"github.com/nimbuscommerce/nimbus/internal/bench"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

// TestBenchFlashSale runs the flash sale benchmark small, on each backend:
// its load generator and its audit are what BENCHMARKS.md rests on, so
// they must see a clean sale as clean and count what happened.
func TestBenchFlashSale(t *testing.T) {
	cfg := app.Config{}
	cfg.FlashSale.InFlightPerSale = 64 // fewer than the buyers: some are turned away and come back
	forEachBackendWith(t, cfg, func(t *testing.T, s *testServer) {
		res, err := bench.FlashSale(context.Background(), bench.FlashSaleOptions{BaseURL: s.URL, Buyers: 100, Stock: 150, Out: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		if res.Orders != 150 || res.Oversold != 0 || res.Lost != 0 || res.Duplicates != 0 || !res.LedgerConsistent {
			t.Fatalf("audit: %+v", res)
		}
		if res.SoldOut == 0 || res.Attempts < res.Orders+res.SoldOut+res.Rejected || res.Errors != 0 {
			t.Fatalf("counts: %+v", res)
		}
	})
}

// TestBenchFlashSaleTwoNodes runs the benchmark with its buyers spread over
// two nodes of one PostgreSQL database (on SQLite the one server is both),
// and audits it through the first: each buyer's last order is retried on
// a node that may not have placed it.
func TestBenchFlashSaleTwoNodes(t *testing.T) {
	forEachNodePair(t, func(t *testing.T, one, two *testServer) {
		res, err := bench.FlashSale(context.Background(), bench.FlashSaleOptions{BaseURL: one.URL, Nodes: []string{two.URL},
			Buyers: 60, Stock: 90, Out: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		if res.Nodes != 2 || res.Orders != 90 || res.Oversold != 0 || res.Lost != 0 || res.Duplicates != 0 || !res.LedgerConsistent {
			t.Fatalf("audit: %+v", res)
		}
	})
}

// TestFlashSaleTwoProcesses runs the benchmark against two "nimbus serve"
// processes on one PostgreSQL database (on SQLite, one process by design,
// against the one): the buyers spread over both, each process places
// orders, and the audit, through the first, finds every guarantee kept.
// The processes count each other by their heartbeats before the sale
// starts (the benchmark warns otherwise), so each admits its share.
func TestFlashSaleTwoProcesses(t *testing.T) {
	for _, b := range dbtest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			one := "http://" + freeAddr(t)
			startServerProcess(t, b, strings.TrimPrefix(one, "http://"))
			var nodes []string
			if b.Config.URL != "" {
				two := "http://" + freeAddr(t)
				startServerProcess(t, b, strings.TrimPrefix(two, "http://"))
				nodes = append(nodes, two)
			}
			var out strings.Builder
			res, err := bench.FlashSale(context.Background(), bench.FlashSaleOptions{BaseURL: one, Nodes: nodes,
				Buyers: 60, Stock: 90, Out: &out})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "warning") {
				t.Fatalf("the benchmark warned:\n%s", out.String())
			}
			if res.Orders != 90 || res.Oversold != 0 || res.Lost != 0 || res.Duplicates != 0 || !res.LedgerConsistent {
				t.Fatalf("audit: %+v", res)
			}
			var placed float64
			for _, node := range append([]string{one}, nodes...) {
				r, err := http.Get(node + "/metrics")
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(r.Body)
				r.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				n := metricValue(t, string(body), "nimbus_flash_sale_batch_orders_sum")
				if n == 0 {
					t.Errorf("%s placed no order", node)
				}
				placed += n
			}
			if placed != 90 {
				t.Fatalf("the processes placed %v orders together, want 90", placed)
			}
		})
	}
}
