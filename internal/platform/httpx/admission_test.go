package httpx_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// TestAdmissionRefusesWritesPastTheBound: with every slot taken by a write
// that is still running, the next write is refused at once with 503 and
// Retry-After, a read still goes through, and a freed slot admits again.
func TestAdmissionRefusesWritesPastTheBound(t *testing.T) {
	const limit = 3
	entered := make(chan struct{})
	release := make(chan struct{})
	h := httpx.NewAdmission(limit).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	serve := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}

	var held sync.WaitGroup
	for range limit {
		held.Add(1)
		go func() {
			defer held.Done()
			if rec := serve("POST", "/hold"); rec.Code != http.StatusNoContent {
				t.Errorf("admitted write: %d", rec.Code)
			}
		}()
		<-entered
	}

	rec := serve("POST", "/api/v1/orders")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("write past the bound: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	var p struct{ Code string }
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != nimbus.EUNAVAILABLE {
		t.Fatalf("refusal body %s: %v", rec.Body, err)
	}
	if rec := serve("POST", "/s/acme/cart/add"); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("form post past the bound: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if rec := serve("GET", "/products"); rec.Code != http.StatusNoContent {
		t.Fatalf("read while writes are full: %d", rec.Code)
	}

	release <- struct{}{} // one held write finishes and frees its slot
	admitted := false
	for !admitted { // the slot is freed when that handler returns, just after
		rec := serve("POST", "/orders")
		admitted = rec.Code == http.StatusNoContent
		if !admitted && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("write after a slot freed: %d", rec.Code)
		}
	}
	close(release)
	held.Wait()
}

// TestAdmissionWithoutBound: a limit below one admits everything.
func TestAdmissionWithoutBound(t *testing.T) {
	h := httpx.NewAdmission(0).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/orders", nil))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("unbounded write: %d", rec.Code)
	}
}

// TestAdmissionSlowUploadHoldsNoSlot: a write whose body is still arriving
// has not taken a slot yet, so with a bound of one another write still gets
// through; the slow one is served, body intact, once its upload ends.
func TestAdmissionSlowUploadHoldsNoSlot(t *testing.T) {
	h := httpx.NewAdmission(1).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
		w.Write(b)
	}))
	pr, pw := io.Pipe()
	slow := make(chan *httptest.ResponseRecorder)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/orders", pr))
		slow <- rec
	}()
	pw.Write([]byte("first half, ")) // the upload has begun and stalls here

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/orders", strings.NewReader("quick")))
	if rec.Code != http.StatusCreated || rec.Body.String() != "quick" {
		t.Fatalf("write beside a slow upload: %d %q", rec.Code, rec.Body)
	}
	pw.Write([]byte("second half"))
	pw.Close()
	if r := <-slow; r.Code != http.StatusCreated || r.Body.String() != "first half, second half" {
		t.Fatalf("slow upload: %d %q", r.Code, r.Body)
	}
}
