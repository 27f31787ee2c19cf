package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/nimbuscommerce/nimbus/internal/app"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

// TestDemoSeedsOnce starts "nimbus serve --demo" twice on one database: the
// demo store is there with a dozen products in stock and stays a dozen.
func TestDemoSeedsOnce(t *testing.T) {
	for _, b := range dbtest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for run := range 2 {
				ctx, cancel := context.WithCancel(context.Background())
				addr := freeAddr(t)
				var stdout, stderr syncBuffer
				env := map[string]string{"NIMBUS_DATABASE_URL": b.Config.URL, "NIMBUS_DATA_DIR": b.Config.DataDir}
				done := make(chan int, 1)
				go func() {
					done <- app.Main(ctx, []string{"serve", "--addr", addr, "--demo"},
						app.Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }})
				}()
				waitReady(t, "http://"+addr, done)
				if !strings.Contains(stdout.String(), "WELCOME10") {
					t.Fatalf("run %d printed %q", run, stdout.String())
				}
				res, err := http.Get("http://" + addr + "/api/v1/storefront/demo/products?limit=100")
				if err != nil {
					t.Fatal(err)
				}
				var page struct {
					Data []productJSON `json:"data"`
				}
				json.NewDecoder(res.Body).Decode(&page)
				res.Body.Close()
				if len(page.Data) != 12 {
					t.Fatalf("run %d: %d demo products, want 12", run, len(page.Data))
				}
				inStock := 0
				for _, p := range page.Data {
					if a := p.Variants[0].Available; a != nil && *a > 0 {
						inStock++
					}
				}
				if inStock < 10 {
					t.Fatalf("run %d: only %d demo products in stock", run, inStock)
				}
				cancel()
				if code := <-done; code != 0 {
					t.Fatalf("run %d exited %d: %s", run, code, stderr.String())
				}
			}
		})
	}
}
