package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// newTestAPI serves one operation that fails with err, behind the request
// id middleware, and returns the handler and the log it writes.
func newTestAPI(t *testing.T, err error) (http.Handler, *syncBuffer) {
	t.Helper()
	mux := http.NewServeMux()
	api := httpx.NewAPI(mux, "test", 1<<20)
	huma.Register(api, huma.Operation{OperationID: "fail", Method: http.MethodGet, Path: "/api/v1/fail"},
		func(ctx context.Context, _ *struct{}) (*struct{}, error) { return nil, err })
	var log syncBuffer
	logger := slog.New(slog.NewJSONHandler(&log, nil))
	return httpx.Chain(mux, httpx.RequestID(logger), httpx.Log, httpx.NoStore), &log
}

func get(t *testing.T, h http.Handler, path string) (*httptest.ResponseRecorder, httpx.Problem) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var p httpx.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return rec, p
}

// TestCanceledRequestIsNotAnInternalError: work that fails because the
// client went away answers 499 "canceled" and is logged at info, not as an
// internal error.
func TestCanceledRequestIsNotAnInternalError(t *testing.T) {
	h, log := newTestAPI(t, fmt.Errorf("begin: %w", context.Canceled))
	rec, p := get(t, h, "/api/v1/fail")
	if rec.Code != httpx.StatusClientClosedRequest || p.Code != nimbus.ECANCELED {
		t.Fatalf("status %d code %q, want 499 %q", rec.Code, p.Code, nimbus.ECANCELED)
	}
	if strings.Contains(log.String(), `"level":"ERROR"`) || !strings.Contains(log.String(), "canceled") {
		t.Fatalf("log: %s", log.String())
	}
}

// TestUnavailableSaysWhenToRetry: a 503 carries Retry-After, whether written
// by huma or by plain middleware.
func TestUnavailableSaysWhenToRetry(t *testing.T) {
	busy := nimbus.Errorf(nimbus.EUNAVAILABLE, "busy")
	h, _ := newTestAPI(t, busy)
	rec, p := get(t, h, "/api/v1/fail")
	if rec.Code != http.StatusServiceUnavailable || p.Code != nimbus.EUNAVAILABLE || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d code %q Retry-After %q", rec.Code, p.Code, rec.Header().Get("Retry-After"))
	}
	rec = httptest.NewRecorder()
	httpx.WriteProblem(rec, httptest.NewRequest(http.MethodGet, "/", nil), busy)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("WriteProblem: status %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestNoStoreOnAPIResponsesOnly(t *testing.T) {
	h, _ := newTestAPI(t, nimbus.Errorf(nimbus.ENOTFOUND, "no"))
	if rec, _ := get(t, h, "/api/v1/fail"); rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("API response Cache-Control = %q", rec.Header().Get("Cache-Control"))
	}
	rec := httptest.NewRecorder()
	httpx.NoStore(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if cc := rec.Header().Get("Cache-Control"); cc != "" {
		t.Fatalf("non-API response Cache-Control = %q", cc)
	}
}

// TestInFlightWaitsForHandlers: Wait returns only once every handler has
// returned, and gives up when its context ends first.
func TestInFlightWaitsForHandlers(t *testing.T) {
	var f httpx.InFlight
	if err := f.Wait(context.Background()); err != nil {
		t.Fatalf("Wait with nothing running: %v", err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	var returned atomic.Int32
	h := f.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		entered <- struct{}{}
		<-release
		returned.Add(1)
	}))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil)) })
	}
	<-entered
	<-entered
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Wait(ended); err == nil {
		t.Fatal("Wait returned nil while handlers were running")
	}
	close(release)
	if err := f.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if returned.Load() != 2 {
		t.Fatal("Wait returned before the handlers did")
	}
	wg.Wait()
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

// TestRequestLogCarriesItsID: what a request logs carries its request id,
// and a logger set above a level writes nothing below it.
func TestRequestLogCarriesItsID(t *testing.T) {
	var log syncBuffer
	logger := slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := httpx.Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			httpx.Logger(r.Context()).Error("it broke")
			w.WriteHeader(http.StatusInternalServerError)
		}
	}), httpx.RequestID(logger), httpx.Log)
	for _, path := range []string{"/fine", "/fail"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set(httpx.RequestIDHeader, "req"+strings.TrimPrefix(path, "/")+"12345")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want the failure and its request line, got %q", lines)
	}
	for _, l := range lines {
		var entry struct {
			RequestID string `json:"request_id"`
			Level     string `json:"level"`
		}
		if err := json.Unmarshal([]byte(l), &entry); err != nil || entry.RequestID != "reqfail12345" || entry.Level != "ERROR" {
			t.Fatalf("log line %s: %+v %v", l, entry, err)
		}
	}
}

// TestRouteFoundOnce: Route finds a request's pattern once, before the
// handlers that need it; without Route a request has none.
func TestRouteFoundOnce(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(http.ResponseWriter, *http.Request) {})
	var finds atomic.Int32
	var seen []string
	h := httpx.Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = append(seen, httpx.Pattern(r)) }),
		httpx.Route(func(r *http.Request) string {
			finds.Add(1)
			_, p := mux.Handler(r)
			return p
		}))
	for _, path := range []string{"/things/7", "/nothing"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	if finds.Load() != 2 || len(seen) != 2 || seen[0] != "GET /things/{id}" || seen[1] != "" {
		t.Fatalf("%d finds, patterns %q", finds.Load(), seen)
	}
	if p := httpx.Pattern(httptest.NewRequest(http.MethodGet, "/things/7", nil)); p != "" {
		t.Fatalf("a request Route did not see has pattern %q", p)
	}
}
