package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/app"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

func TestHealthReadinessMetrics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		c := s.client(t)
		var st map[string]string
		c.do("GET", "/healthz", nil).must(t, http.StatusOK, &st)
		if st["status"] != "ok" {
			t.Fatalf("healthz = %v", st)
		}
		res := c.do("GET", "/readyz", nil).must(t, http.StatusOK, &st)
		if st["status"] != "ready" {
			t.Fatalf("readyz = %v", st)
		}
		if res.Header.Get("X-Request-Id") == "" {
			t.Fatal("no request id on response")
		}
		// A sane incoming request id is kept; a hostile one is replaced.
		if got := c.do("GET", "/healthz", nil, "X-Request-Id", "trace-abc-123").Header.Get("X-Request-Id"); got != "trace-abc-123" {
			t.Fatalf("request id = %q", got)
		}
		if got := c.do("GET", "/healthz", nil, "X-Request-Id", "bad id with spaces").Header.Get("X-Request-Id"); strings.Contains(got, " ") {
			t.Fatalf("request id = %q", got)
		}

		c.do("GET", "/api/v1/me", nil) // a 401, to see it counted
		c.do("BREW", "/healthz", nil)  // any token is a method: it must not become a label value
		c.do("PROPFIND", "/", nil)
		metrics := string(c.do("GET", "/metrics", nil).must(t, http.StatusOK, nil).Body)
		for _, unwanted := range []string{`method="BREW"`, `method="PROPFIND"`} {
			if strings.Contains(metrics, unwanted) {
				t.Errorf("metrics have a label %s", unwanted)
			}
		}
		for _, want := range []string{
			`nimbus_http_requests_total{method="GET",route="GET /healthz",status="200"}`,
			`nimbus_http_requests_total{method="GET",route="GET /api/v1/me",status="401"}`,
			`nimbus_http_request_duration_seconds_bucket{method="GET",route="GET /readyz",status="200"`,
			`nimbus_http_requests_in_flight{route="GET /metrics"} 1`,
			`method="other"`,
			`go_goroutines`,
			`go_sql_open_connections`,
		} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

func TestReadinessFailsWhenDatabaseIsGone(t *testing.T) {
	cfg := defaultConfig(t)
	cfg.ShutdownTimeout = 200 * time.Millisecond // the job queue cannot stop cleanly without its database
	s := startServer(t, cfg)
	if err := s.DB.Close(); err != nil {
		t.Fatal(err)
	}
	var st map[string]string
	s.client(t).do("GET", "/readyz", nil).must(t, http.StatusServiceUnavailable, &st)
	if st["status"] != "unavailable" {
		t.Fatalf("readyz = %v", st)
	}
}

// TestOpenAPIDocument checks the document is OpenAPI 3.1, generated from the
// very operations the server serves, with problem responses and the
// Idempotency conventions described.
func TestOpenAPIDocument(t *testing.T) {
	s := startServer(t, defaultConfig(t))
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
		Comps   struct{ Schemas map[string]any }     `json:"components"`
	}
	s.client(t).do("GET", "/api/v1/openapi.json", nil).must(t, http.StatusOK, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	// Every operation in the document answers on the server (not 404 from
	// the mux), and every route the server has is in the document.
	ops := 0
	for path, methods := range doc.Paths {
		for method := range methods {
			ops++
			p := strings.NewReplacer("{id}", "usr_00000000000000000000000000").Replace(path)
			res := s.client(t).do(strings.ToUpper(method), p, nil)
			if res.Status == http.StatusNotFound && !strings.Contains(path, "{") {
				t.Errorf("%s %s is documented but not served", method, path)
			}
		}
	}
	for _, route := range []string{"/api/v1/signup", "/api/v1/auth/login", "/api/v1/staff", "/api/v1/api-keys", "/api/v1/store", "/api/v1/me"} {
		if doc.Paths[route] == nil {
			t.Errorf("%s missing from the document", route)
		}
	}
	if ops < 12 {
		t.Fatalf("only %d operations documented", ops)
	}
	if _, ok := doc.Comps.Schemas["Problem"]; !ok {
		t.Error("the Problem schema is not documented")
	}
	// Headers handled by middleware are documented too: Idempotency-Key on
	// every POST, X-CSRF-Token on unsafe operations that need a role.
	headers := func(op map[string]any) []string {
		var names []string
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			if p, ok := p.(map[string]any); ok && p["in"] == "header" {
				names = append(names, p["name"].(string))
			}
		}
		return names
	}
	for path, methods := range doc.Paths {
		for method, op := range methods {
			names := headers(op)
			if method == "post" && !slices.Contains(names, "Idempotency-Key") {
				t.Errorf("POST %s does not document Idempotency-Key", path)
			}
			_, secured := op["security"]
			unsafe := method == "post" || method == "put" || method == "patch" || method == "delete"
			if unsafe && secured != slices.Contains(names, "X-CSRF-Token") {
				t.Errorf("%s %s: secured %v, documents X-CSRF-Token %v", method, path, secured, !secured)
			}
		}
	}
}

func TestConfigFromEnvironmentAndFlags(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "url")
	os.WriteFile(secret, []byte("  \n"), 0o600)
	var out, errOut bytes.Buffer
	env := map[string]string{"NIMBUS_LOG_FORMAT": "yaml"}
	code := app.Main(context.Background(), []string{"migrate", "--data-dir", dir}, app.Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }})
	if code != 1 || !strings.Contains(errOut.String(), "--log-format") {
		t.Fatalf("bad env value: code %d, stderr %q", code, errOut.String())
	}
	// A flag wins over its environment twin.
	errOut.Reset()
	code = app.Main(context.Background(), []string{"migrate", "--data-dir", dir, "--log-format", "json"}, app.Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }})
	if code != 0 {
		t.Fatalf("migrate: code %d, stderr %s", code, errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "nimbus.db")); err != nil {
		t.Fatalf("migrate made no database: %v", err)
	}
	// The environment alone configures a command; _FILE twins are read.
	env = map[string]string{"NIMBUS_DATA_DIR": filepath.Join(dir, "from-env"), "NIMBUS_DATABASE_URL_FILE": secret}
	code = app.Main(context.Background(), []string{"migrate"}, app.Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }})
	if code != 0 {
		t.Fatalf("migrate from env: code %d, stderr %s", code, errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "from-env", "nimbus.db")); err != nil {
		t.Fatalf("NIMBUS_DATA_DIR ignored: %v", err)
	}
	// Values that would be silently misread are refused.
	for _, args := range [][]string{
		{"migrate", "--data-dir", filepath.Join(dir, "what?")},
		{"migrate", "--data-dir", filepath.Join(dir, "a#b")},
		{"migrate", "--data-dir", dir, "--log-level", "verbose"},
		{"serve", "--data-dir", dir, "--flash-sale-in-flight", "0"},
		{"serve", "--data-dir", dir, "--flash-sale-ip-rate", "-1"},
		{"serve", "--data-dir", dir, "--flash-sale-wait", "-1s"},
		{"bench", "flashsale", "--wait", "-1s"},
		{"bench", "flashsale", "--in-flight", "-5"},
		{"bench", "flashsale", "--nodes", "0"},
		{"bench", "flashsale", "--nodes", "2"}, // SQLite: one process
		{"bench", "flashsale", "--target", " , "},
	} {
		errOut.Reset()
		code := app.Main(context.Background(), args, app.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
		if code != 1 || !strings.Contains(errOut.String(), "must") {
			t.Fatalf("%v: code %d, stderr %q; want a clear refusal", args, code, errOut.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "what")); err == nil {
		t.Fatal("a data dir with '?' was cut short and used")
	}
	errOut.Reset()
	if code := app.Main(context.Background(), []string{"migrate", "--data-dir", dir, "--log-level", "WARN"},
		app.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}); code != 0 {
		t.Fatalf("--log-level WARN: code %d, stderr %s", code, errOut.String())
	}
	out.Reset()
	if app.Main(context.Background(), []string{"version"}, app.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}) != 0 ||
		!strings.HasPrefix(out.String(), "nimbus ") {
		t.Fatalf("version printed %q", out.String())
	}
	if app.Main(context.Background(), []string{"frobnicate"}, app.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}) != 2 {
		t.Fatal("unknown command did not exit 2")
	}
}

// TestGracefulShutdown runs "nimbus serve" whole, starts a slow request,
// cancels the process's context (what SIGTERM does) and checks that the
// request finishes, the command exits 0 promptly, and the database reopens.
func TestGracefulShutdown(t *testing.T) {
	for _, b := range dbtest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			addr := freeAddr(t)
			var stdout, stderr syncBuffer
			env := map[string]string{"NIMBUS_DATABASE_URL": b.Config.URL}
			done := make(chan int, 1)
			go func() {
				done <- app.Main(ctx, []string{"serve", "--addr", addr, "--data-dir", b.Config.DataDir, "--demo"},
					app.Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }})
			}()
			base := "http://" + addr
			waitReady(t, base, done)
			if !strings.Contains(stdout.String(), "owner@demo.nimbus.test") {
				t.Fatalf("--demo printed %q", stdout.String())
			}

			// A sign-in (argon2id) is in flight when shutdown begins.
			inflight := make(chan int, 1)
			go func() {
				body := `{"store":"demo","email":"owner@demo.nimbus.test","password":"nimbus-demo"}`
				res, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(body))
				if err != nil {
					inflight <- -1
					return
				}
				res.Body.Close()
				inflight <- res.StatusCode
			}()
			time.Sleep(5 * time.Millisecond) // not synchronization: either order is correct below
			start := time.Now()
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("serve exited %d: %s", code, stderr.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatal("serve did not stop within 15s of SIGTERM")
			}
			if st := <-inflight; st != http.StatusOK && st != -1 {
				t.Fatalf("in-flight request got %d", st)
			}
			t.Logf("stopped in %v", time.Since(start))
			if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
				t.Fatalf("no clean stop logged: %s", stderr.String())
			}
		})
	}
}

// waitReady polls /readyz until it answers 200, or fails the test if the
// server's done channel yields first.
func waitReady[T any](t *testing.T, base string, done chan T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case v := <-done:
			done <- v // leave it for the cleanup that waits on it
			t.Fatalf("server stopped before it was ready: %v", v)
		default:
		}
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond) // polling a process we do not control
	}
	t.Fatal("server never became ready")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ = json.Marshal
