package app_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestIdempotencyKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		m := s.signup(t, "acme")
		body := map[string]any{"name": "warehouse"}

		first := m.Owner.do("POST", "/api/v1/api-keys", body, "Idempotency-Key", "k-1").must(t, http.StatusCreated, nil)
		again := m.Owner.do("POST", "/api/v1/api-keys", body, "Idempotency-Key", "k-1").must(t, http.StatusCreated, nil)
		if !bytes.Equal(first.Body, again.Body) {
			t.Fatalf("replay differs:\n%s\n%s", first.Body, again.Body)
		}
		if again.Header.Get("Idempotent-Replayed") != "true" || first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatal("Idempotent-Replayed header wrong")
		}
		var list struct {
			Data []struct{ Name string } `json:"data"`
		}
		m.Owner.do("GET", "/api/v1/api-keys", nil).must(t, http.StatusOK, &list)
		if n := countNamed(list.Data, "warehouse"); n != 1 {
			t.Fatalf("%d keys named warehouse after a replay, want 1", n)
		}

		// Same key, another request: refused, and nothing created.
		m.Owner.do("POST", "/api/v1/api-keys", map[string]any{"name": "other"}, "Idempotency-Key", "k-1").
			mustProblem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")

		// Keys are scoped per credential: another caller's identical key is its own.
		other := s.signup(t, "other")
		other.Owner.do("POST", "/api/v1/api-keys", body, "Idempotency-Key", "k-1").must(t, http.StatusCreated, nil)
		if other.Owner.do("POST", "/api/v1/api-keys", body, "Idempotency-Key", "k-1").Header.Get("Idempotent-Replayed") != "true" {
			t.Fatal("second tenant's retry was not replayed")
		}

		// Errors a client made are replayed too (Stripe's semantics), so a
		// retry does not half-succeed later.
		bad := map[string]any{"name": ""}
		m.Owner.do("POST", "/api/v1/api-keys", bad, "Idempotency-Key", "k-bad").mustProblem(t, 422, "invalid")
		r := m.Owner.do("POST", "/api/v1/api-keys", bad, "Idempotency-Key", "k-bad")
		r.mustProblem(t, 422, "invalid")
		if r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatal("error response not replayed")
		}

		// A malformed key is refused.
		m.Owner.do("POST", "/api/v1/api-keys", body, "Idempotency-Key", strings.Repeat("k", 300)).mustProblem(t, 422, "invalid")
	})
}

// TestIdempotencyUnderConcurrency fires the same keyed request from many
// goroutines at once: exactly one resource is created, and every answer is
// either that resource or "still in progress".
func TestIdempotencyUnderConcurrency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		m := s.signup(t, "acme")
		const n = 16
		var wg sync.WaitGroup
		results := make([]*response, n)
		for i := range n {
			wg.Go(func() {
				results[i] = m.Owner.do("POST", "/api/v1/api-keys", map[string]any{"name": "racer"}, "Idempotency-Key", "race-1")
			})
		}
		wg.Wait()
		var created []byte
		for _, r := range results {
			switch r.Status {
			case http.StatusCreated:
				if created != nil && !bytes.Equal(created, r.Body) {
					t.Fatalf("two different creations:\n%s\n%s", created, r.Body)
				}
				created = r.Body
			case http.StatusConflict:
				r.mustProblem(t, http.StatusConflict, "idempotency_key_in_use")
			default:
				t.Fatalf("unexpected answer %d: %s", r.Status, r.Body)
			}
		}
		var list struct {
			Data []struct{ Name string } `json:"data"`
		}
		m.Owner.do("GET", "/api/v1/api-keys", nil).must(t, http.StatusOK, &list)
		if got := countNamed(list.Data, "racer"); got != 1 {
			t.Fatalf("%d keys created by %d identical requests, want 1", got, n)
		}
	})
}

func countNamed(items []struct{ Name string }, name string) int {
	n := 0
	for _, it := range items {
		if it.Name == name {
			n++
		}
	}
	return n
}
