package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nimbuscommerce/nimbus/internal/app"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// countRows counts rows of a table that belongs to no tenant, or of every
// tenant (through each tenant's own transaction).
func countTenants(t *testing.T, s *testServer) int {
	t.Helper()
	var n int
	err := s.DB.View(context.Background(), func(tx *db.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT COUNT(*) FROM tenants`).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBadSignupInputChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		s.signup(t, "taken")
		c := s.client(t)
		before := countTenants(t, s)

		with := func(mut func(b map[string]any)) map[string]any {
			b := signupBody("fresh", "owner@fresh.example.com")
			mut(b)
			return b
		}
		owner := func(b map[string]any) map[string]any { return b["owner"].(map[string]any) }
		cases := []struct {
			name   string
			body   any
			status int
			code   string
			field  string
		}{
			{"malformed JSON", `{"store_name": "x",`, 400, "malformed_request", ""},
			{"not an object", `[1, 2]`, 422, "invalid", ""},
			{"wrong type", with(func(b map[string]any) { b["currency"] = 840 }), 422, "invalid", "currency"},
			{"unknown field", with(func(b map[string]any) { b["plan"] = "gold" }), 422, "invalid", "plan"},
			{"missing field", with(func(b map[string]any) { delete(b, "handle") }), 422, "invalid", "handle"},
			{"missing nested field", with(func(b map[string]any) { delete(owner(b), "email") }), 422, "invalid", "owner.email"},
			{"over-long name", with(func(b map[string]any) { b["store_name"] = strings.Repeat("x", 101) }), 422, "invalid", "store_name"},
			{"blank name", with(func(b map[string]any) { b["store_name"] = "   " }), 422, "invalid", "store_name"},
			{"bad handle", with(func(b map[string]any) { b["handle"] = "Not OK" }), 422, "invalid", "handle"},
			{"reserved handle", with(func(b map[string]any) { b["handle"] = "admin" }), 422, "invalid", "handle"},
			{"duplicate handle", with(func(b map[string]any) { b["handle"] = "taken" }), 422, "invalid", "handle"},
			{"lower-case currency", with(func(b map[string]any) { b["currency"] = "usd" }), 422, "invalid", "currency"},
			{"unknown currency", with(func(b map[string]any) { b["currency"] = "XYZ" }), 422, "invalid", "currency"},
			{"unknown time zone", with(func(b map[string]any) { b["time_zone"] = "Mars/Olympus" }), 422, "invalid", "time_zone"},
			{"invalid email", with(func(b map[string]any) { owner(b)["email"] = "not-an-email" }), 422, "invalid", "owner.email"},
			{"email with name", with(func(b map[string]any) { owner(b)["email"] = "Bob <bob@example.com>" }), 422, "invalid", "owner.email"},
			{"over-long email", with(func(b map[string]any) { owner(b)["email"] = strings.Repeat("a", 250) + "@example.com" }), 422, "invalid", "owner.email"},
			{"empty password", with(func(b map[string]any) { owner(b)["password"] = "" }), 422, "invalid", "owner.password"},
			{"short password", with(func(b map[string]any) { owner(b)["password"] = "1234567" }), 422, "invalid", "owner.password"},
			{"over-long password", with(func(b map[string]any) { owner(b)["password"] = strings.Repeat("p", 129) }), 422, "invalid", "owner.password"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := c.do("POST", "/api/v1/signup", tc.body).mustProblem(t, tc.status, tc.code)
				if tc.field != "" && !p.hasField(tc.field) {
					t.Fatalf("problem %+v does not name field %q", p, tc.field)
				}
				if strings.Contains(strings.ToLower(p.Detail), "sql") || strings.Contains(p.Detail, "goroutine") {
					t.Fatalf("problem leaks internals: %q", p.Detail)
				}
			})
		}
		if after := countTenants(t, s); after != before {
			t.Fatalf("tenants: %d before, %d after bad input", before, after)
		}
		// Nothing was half-written: the handle the failed requests named is still free.
		c.do("POST", "/api/v1/signup", signupBody("fresh", "owner@fresh.example.com")).must(t, http.StatusCreated, nil)
	})
}

func TestBodyLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		big := `{"store_name": "` + strings.Repeat("x", 2<<20) + `"}`
		s.client(t).do("POST", "/api/v1/signup", big).mustProblem(t, http.StatusRequestEntityTooLarge, "request_too_large")

		// Without a Content-Length (a body of unknown size is sent chunked)
		// the limit applies while the body is read.
		req, err := http.NewRequest("POST", s.URL+"/api/v1/signup", io.MultiReader(strings.NewReader(big)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		(&response{Status: res.StatusCode, Header: res.Header, Body: body}).mustProblem(t, http.StatusRequestEntityTooLarge, "request_too_large")
	})
}

// TestBodyLimitAboveOneMebibyte: a --max-body-bytes above huma's own default
// of 1 MiB takes effect: a 2 MiB body is read and validated, not refused.
func TestBodyLimitAboveOneMebibyte(t *testing.T) {
	s := startServer(t, app.Config{DataDir: t.TempDir(), MaxBodyBytes: 4 << 20})
	body := signupBody("big", "o@big.example.com")
	body["store_name"] = strings.Repeat("x", 2<<20)
	p := s.client(t).do("POST", "/api/v1/signup", body).mustProblem(t, http.StatusUnprocessableEntity, "invalid")
	if !p.hasField("store_name") {
		t.Fatalf("problem %+v does not name store_name", p)
	}
}

func TestUnknownAPIRouteIsProblem(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		s.client(t).do("GET", "/api/v1/nope", nil).mustProblem(t, http.StatusNotFound, "not_found")
	})
}
