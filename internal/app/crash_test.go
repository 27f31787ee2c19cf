package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/app"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

// crashServerEnv carries the arguments of a server that TestFlashSaleCrash
// runs as a child process of the test binary, to kill it.
const crashServerEnv = "NIMBUS_TEST_CRASH_SERVER"

// TestCrashServer is the child process: "nimbus serve" until killed.
func TestCrashServer(t *testing.T) {
	raw := os.Getenv(crashServerEnv)
	if raw == "" {
		t.Skip("the server process of TestFlashSaleCrash")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	os.Exit(app.Main(context.Background(), args, app.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
}

// startServerProcess runs "nimbus serve" as a process of its own (a child
// of the test binary) on the backend's database and returns what kills it
// (SIGKILL) and waits until it is gone.
func startServerProcess(t *testing.T, b dbtest.Backend, addr string) (kill func()) {
	t.Helper()
	args, _ := json.Marshal([]string{"serve", "--addr", addr, "--data-dir", b.Config.DataDir, "--log-level", "error",
		"--flash-sale-ip-rate", "0"})
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashServer$")
	cmd.Env = append(os.Environ(), crashServerEnv+"="+string(args), "NIMBUS_DATABASE_URL="+b.Config.URL)
	cmd.Stderr = testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	kill = func() {
		once.Do(func() {
			cmd.Process.Kill()
			<-exited
		})
	}
	t.Cleanup(kill)
	waitReady(t, "http://"+addr, exited)
	return kill
}

// TestFlashSaleCrash kills the server (SIGKILL, no shutdown) while 400
// buyers rush a sale of 300, starts it again and audits: every order a
// buyer was told of is there; a retry with the same key finds the order
// its first try made, even if the answer was lost in the crash, and never
// makes a second; the sale's count, the stock held and the ledger agree;
// and once the holds run out, the expiry job gives every unit back.
func TestFlashSaleCrash(t *testing.T) {
	for _, b := range dbtest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			addr := freeAddr(t)
			crash := startServerProcess(t, b, addr)
			s := &testServer{URL: "http://" + addr}
			sh := openShop(t, s, "acme")
			sh.Owner.do("POST", "/api/v1/variants/"+sh.Large.ID+"/inventory/adjustments", map[string]any{"kind": "received", "quantity": 400}).
				must(t, http.StatusCreated, nil)
			const buyers, allocation, killAfter = 400, 300, 40
			sale := activeSale(t, sh, sh.Large.ID, 1999, allocation, 1, false)
			buy := "/api/v1/storefront/acme/flash-sales/" + sale.ID + "/orders"
			body := func(i int) map[string]any { return buyBody(sh, sh.Large.ID, fmt.Sprintf("buyer%d@example.com", i), 1) }
			key := func(i int) string { return fmt.Sprintf("crash-key-%d", i) }

			c := s.client(t)
			acked := make([]string, buyers) // order id told to each buyer
			var (
				mu   sync.Mutex
				n    int
				kill = make(chan struct{})
			)
			var wg sync.WaitGroup
			for i := range buyers {
				wg.Go(func() {
					r := sendBuy(c, buy, body(i), "Idempotency-Key", key(i))
					if r.Status != http.StatusCreated {
						return // sold out, or cut off by the crash
					}
					var v boughtJSON
					if json.Unmarshal(r.Body, &v) != nil || v.Order.ID == "" {
						return
					}
					mu.Lock()
					defer mu.Unlock()
					acked[i] = v.Order.ID
					if n++; n == killAfter {
						close(kill)
					}
				})
			}
			<-kill
			crash()
			wg.Wait()

			stop := startServerProcess(t, b, addr)
			told := 0
			for i, id := range acked {
				if id == "" {
					continue
				}
				told++
				var o orderJSON
				sh.Owner.do("GET", "/api/v1/orders/"+id, nil).must(t, http.StatusOK, &o)
				var again boughtJSON
				c.do("POST", buy, body(i), "Idempotency-Key", key(i)).must(t, http.StatusCreated, &again)
				if again.Order.ID != id {
					t.Fatalf("buyer %d: retry got order %s, was told %s", i, again.Order.ID, id)
				}
			}
			if told < killAfter {
				t.Fatalf("only %d orders acknowledged before the crash", told)
			}
			// The buyers whose answer was lost try again with their keys.
			final := map[string]bool{}
			for i := range buyers {
				r := c.do("POST", buy, body(i), "Idempotency-Key", key(i))
				switch r.Status {
				case http.StatusCreated:
					var v boughtJSON
					r.must(t, http.StatusCreated, &v)
					if final[v.Order.ID] {
						t.Fatalf("order %s given to two buyers", v.Order.ID)
					}
					final[v.Order.ID] = true
				default:
					r.mustProblem(t, http.StatusConflict, "sold_out")
				}
			}
			t.Logf("%d orders acknowledged before the crash, %d after the retries", told, len(final))
			var stored []orderJSON
			for cursor := ""; ; {
				var page struct {
					Data       []orderJSON `json:"data"`
					HasMore    bool        `json:"has_more"`
					NextCursor string      `json:"next_cursor"`
				}
				sh.Owner.do("GET", "/api/v1/orders?limit=200&cursor="+cursor, nil).must(t, http.StatusOK, &page)
				stored = append(stored, page.Data...)
				if !page.HasMore {
					break
				}
				cursor = page.NextCursor
			}
			for _, o := range stored {
				if !final[o.ID] {
					t.Fatalf("order %s exists but no buyer's key leads to it", o.ID)
				}
			}
			var got flashSaleJSON
			sh.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, http.StatusOK, &got)
			l := sh.level(t, sh.Large.ID)
			if len(stored) != len(final) || got.Items[0].Sold != int64(len(stored)) || l.Reserved != int64(len(stored)) ||
				len(stored) != allocation {
				t.Fatalf("%d orders stored, %d held by buyers, sale sold %d, stock reserved %d; want all %d", len(stored), len(final),
					got.Items[0].Sold, l.Reserved, allocation)
			}
			var check struct {
				Balanced bool `json:"balanced"`
			}
			sh.Owner.do("GET", "/api/v1/inventory/check", nil).must(t, http.StatusOK, &check)
			if !check.Balanced {
				t.Fatal("the stock ledger does not balance after the crash")
			}

			// A day later no hold is stuck: the expiry job releases them all
			// and the sale has every unit again.
			stop()
			later := startServer(t, app.Config{DataDir: b.Config.DataDir, DatabaseURL: b.Config.URL, Addr: "127.0.0.1:0",
				Now: func() time.Time { return time.Now().Add(24 * time.Hour) }})
			if _, err := later.Orders.ReleaseDueReservations(t.Context()); err != nil {
				t.Fatal(err)
			}
			sale2, err := later.FlashSales.Find(t.Context(), sh.StoreID, sale.ID)
			if err != nil || sale2.Items[0].Sold != 0 {
				t.Fatalf("after expiry the sale has sold %+v (%v)", sale2.Items[0], err)
			}
			owner := later.client(t)
			owner.key = sh.Owner.key
			var level levelJSON
			owner.do("GET", "/api/v1/variants/"+sh.Large.ID+"/inventory", nil).must(t, http.StatusOK, &level)
			if level.Reserved != 0 {
				t.Fatalf("after expiry %d units are still held", level.Reserved)
			}
		})
	}
}
