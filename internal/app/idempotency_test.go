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

		first := m.Session.do("POST", "/api/v1/api-keys", body, "Idempotency-Key", "k-1").must(t, http.StatusCreated, nil)
		again := m.Session.do("POST", "/api/v1/api-keys", body, "Idempotency-Key", "k-1").must(t, http.StatusCreated, nil)
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
		m.Session.do("POST", "/api/v1/api-keys", map[string]any{"name": "other"}, "Idempotency-Key", "k-1").
			mustProblem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")

		// Keys are scoped per credential: another caller's identical key is its own.
		other := s.signup(t, "other")
		other.Session.do("POST", "/api/v1/api-keys", body, "Idempotency-Key", "k-1").must(t, http.StatusCreated, nil)
		if other.Session.do("POST", "/api/v1/api-keys", body, "Idempotency-Key", "k-1").Header.Get("Idempotent-Replayed") != "true" {
			t.Fatal("second tenant's retry was not replayed")
		}

		// A rejected request changed nothing, so it is not kept: the client
		// may correct it and retry with the same key.
		bad := map[string]any{"name": ""}
		r := m.Session.do("POST", "/api/v1/api-keys", bad, "Idempotency-Key", "k-bad")
		r.mustProblem(t, 422, "invalid")
		r = m.Session.do("POST", "/api/v1/api-keys", bad, "Idempotency-Key", "k-bad")
		r.mustProblem(t, 422, "invalid")
		if r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatal("a 4xx response was replayed")
		}
		fixed := m.Session.do("POST", "/api/v1/api-keys", map[string]any{"name": "fixed"}, "Idempotency-Key", "k-bad").
			must(t, http.StatusCreated, nil)
		if fixed.Header.Get("Idempotent-Replayed") != "" {
			t.Fatal("the corrected request was answered from a stored response")
		}
		if m.Session.do("POST", "/api/v1/api-keys", map[string]any{"name": "fixed"}, "Idempotency-Key", "k-bad").
			Header.Get("Idempotent-Replayed") != "true" {
			t.Fatal("the corrected request's success was not kept")
		}

		// A malformed key is refused.
		m.Session.do("POST", "/api/v1/api-keys", body, "Idempotency-Key", strings.Repeat("k", 300)).mustProblem(t, 422, "invalid")
	})
}

// TestAnonymousIdempotencyKeysDoNotCollide: anonymous callers share no
// credential, so a key is scoped to the request itself. An identical retry
// is replayed; another anonymous request with the same key is unaffected,
// so nobody can block or probe the keys of others.
func TestAnonymousIdempotencyKeysDoNotCollide(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		anon := s.client(t)
		first := anon.do("POST", "/api/v1/signup", signupBody("first", "o@first.example.com"), "Idempotency-Key", "shared").
			must(t, http.StatusCreated, nil)
		retry := s.client(t).do("POST", "/api/v1/signup", signupBody("first", "o@first.example.com"), "Idempotency-Key", "shared").
			must(t, http.StatusCreated, nil)
		if retry.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(first.Body, retry.Body) {
			t.Fatalf("identical anonymous retry not replayed: %s", retry.Body)
		}
		other := s.client(t).do("POST", "/api/v1/signup", signupBody("second", "o@second.example.com"), "Idempotency-Key", "shared")
		other.must(t, http.StatusCreated, nil)
		if other.Header.Get("Idempotent-Replayed") != "" {
			t.Fatal("another anonymous request was answered from a stored response")
		}
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
				results[i], _ = m.Session.send("POST", "/api/v1/api-keys", map[string]any{"name": "racer"}, "Idempotency-Key", "race-1")
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
