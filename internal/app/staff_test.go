package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

type userJSON struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	Status string `json:"status"`
}

func createStaff(t *testing.T, c *client, email, role string) userJSON {
	t.Helper()
	var u userJSON
	c.do("POST", "/api/v1/staff", map[string]any{"email": email, "name": "S", "role": role, "password": "staff password 1"}).
		must(t, http.StatusCreated, &u)
	return u
}

func TestStaffManagement(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		m := s.signup(t, "acme")
		admin := createStaff(t, m.Owner, "admin@acme.example.com", "admin")
		clerk := createStaff(t, m.Owner, "clerk@acme.example.com", "staff")
		if admin.Role != "admin" || clerk.Status != "active" {
			t.Fatalf("created %+v, %+v", admin, clerk)
		}
		// Emails are unique per store, whatever their case.
		m.Owner.do("POST", "/api/v1/staff", map[string]any{"email": "CLERK@acme.example.com", "role": "staff", "password": "another password"}).
			mustProblem(t, 422, "invalid")
		// Roles are checked.
		m.Owner.do("POST", "/api/v1/staff", map[string]any{"email": "x@acme.example.com", "role": "god", "password": "another password"}).
			mustProblem(t, 422, "invalid")

		adminC := s.login(t, "acme", "admin@acme.example.com", "staff password 1")
		clerkC := s.login(t, "acme", "clerk@acme.example.com", "staff password 1")

		// Staff cannot manage staff; admins cannot make or touch owners.
		clerkC.do("GET", "/api/v1/staff", nil).mustProblem(t, http.StatusForbidden, "forbidden")
		clerkC.do("POST", "/api/v1/staff", map[string]any{"email": "y@acme.example.com", "role": "staff", "password": "another password"}).
			mustProblem(t, http.StatusForbidden, "forbidden")
		adminC.do("POST", "/api/v1/staff", map[string]any{"email": "o2@acme.example.com", "role": "owner", "password": "another password"}).
			mustProblem(t, http.StatusForbidden, "forbidden")
		adminC.do("PATCH", "/api/v1/staff/"+m.OwnerID, map[string]any{"status": "disabled"}).mustProblem(t, http.StatusForbidden, "forbidden")
		// Staff may read their store, not change it.
		clerkC.do("GET", "/api/v1/store", nil).must(t, http.StatusOK, nil)
		clerkC.do("PATCH", "/api/v1/store", map[string]any{"name": "Hijacked"}).mustProblem(t, http.StatusForbidden, "forbidden")

		// An admin's API key cannot outrank them.
		adminC.do("POST", "/api/v1/api-keys", map[string]any{"name": "x", "role": "owner"}).mustProblem(t, http.StatusForbidden, "forbidden")

		// An admin cannot revoke an owner's key, only an owner can.
		var ownerKeys struct {
			Data []struct {
				ID     string `json:"id"`
				UserID string `json:"user_id"`
			} `json:"data"`
		}
		adminC.do("GET", "/api/v1/api-keys", nil).must(t, http.StatusOK, &ownerKeys)
		if len(ownerKeys.Data) != 1 || ownerKeys.Data[0].UserID != m.OwnerID {
			t.Fatalf("keys = %+v, want the owner's one", ownerKeys.Data)
		}
		adminC.do("DELETE", "/api/v1/api-keys/"+ownerKeys.Data[0].ID, nil).mustProblem(t, http.StatusForbidden, "forbidden")
		m.Owner.do("GET", "/api/v1/store", nil).must(t, http.StatusOK, nil)

		// A key cannot mint keys: only a signed-in session can.
		p := m.Owner.do("POST", "/api/v1/api-keys", map[string]any{"name": "minted"}).mustProblem(t, http.StatusForbidden, "forbidden")
		if !strings.Contains(p.Detail, "session") {
			t.Fatalf("detail = %q, want it to say a session is needed", p.Detail)
		}

		// Disabling ends the account's sessions at once and stops sign-in.
		var u userJSON
		adminC.do("PATCH", "/api/v1/staff/"+clerk.ID, map[string]any{"status": "disabled"}).must(t, http.StatusOK, &u)
		if u.Status != "disabled" {
			t.Fatalf("status = %q", u.Status)
		}
		clerkC.do("GET", "/api/v1/store", nil).mustProblem(t, http.StatusUnauthorized, "unauthorized")
		s.client(t).do("POST", "/api/v1/auth/login", map[string]any{"store": "acme", "email": "clerk@acme.example.com", "password": "staff password 1"}).
			mustProblem(t, http.StatusUnauthorized, "unauthorized")

		// Disabling an account stops the API keys it made.
		var key struct {
			Key string `json:"key"`
		}
		adminC.do("POST", "/api/v1/api-keys", map[string]any{"name": "admin bot"}).must(t, http.StatusCreated, &key)
		bot := s.client(t)
		bot.key = key.Key
		bot.do("GET", "/api/v1/store", nil).must(t, http.StatusOK, nil)
		m.Owner.do("PATCH", "/api/v1/staff/"+admin.ID, map[string]any{"status": "disabled"}).must(t, http.StatusOK, nil)
		bot.do("GET", "/api/v1/store", nil).mustProblem(t, http.StatusUnauthorized, "unauthorized")

		// A demoted admin's key loses the rights its user lost.
		m.Owner.do("PATCH", "/api/v1/staff/"+admin.ID, map[string]any{"status": "active", "role": "staff"}).must(t, http.StatusOK, nil)
		bot.do("GET", "/api/v1/store", nil).must(t, http.StatusOK, nil)
		bot.do("GET", "/api/v1/staff", nil).mustProblem(t, http.StatusForbidden, "forbidden")

		// The last owner cannot be demoted or disabled, even by themself.
		m.Owner.do("PATCH", "/api/v1/staff/"+m.OwnerID, map[string]any{"role": "admin"}).mustProblem(t, http.StatusConflict, "conflict")
		m.Owner.do("PATCH", "/api/v1/staff/"+m.OwnerID, map[string]any{"status": "disabled"}).mustProblem(t, http.StatusConflict, "conflict")
		// Bad updates name their field.
		p = m.Owner.do("PATCH", "/api/v1/staff/"+clerk.ID, map[string]any{"status": "sleeping"}).mustProblem(t, 422, "invalid")
		if !p.hasField("status") {
			t.Fatalf("problem %+v does not name status", p)
		}
	})
}

// TestPaginationIsStableUnderInserts walks a list page by page while rows
// are added: every row that existed at the start is seen exactly once.
func TestPaginationIsStableUnderInserts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		m := s.signup(t, "acme")
		for i := range 5 {
			createStaff(t, m.Owner, fmt.Sprintf("s%d@acme.example.com", i), "staff")
		}
		type page struct {
			Data       []userJSON `json:"data"`
			HasMore    bool       `json:"has_more"`
			NextCursor string     `json:"next_cursor"`
		}
		seen := map[string]int{}
		cursor := ""
		pages := 0
		for {
			var p page
			m.Owner.do("GET", "/api/v1/staff?limit=2&cursor="+cursor, nil).must(t, http.StatusOK, &p)
			pages++
			for _, u := range p.Data {
				seen[u.Email]++
			}
			if pages == 1 {
				createStaff(t, m.Owner, "late@acme.example.com", "staff")
			}
			if !p.HasMore {
				if p.NextCursor != "" {
					t.Fatal("last page has a cursor")
				}
				break
			}
			cursor = p.NextCursor
		}
		if len(seen) != 7 { // owner + 5 + the late one, which sorts last
			t.Fatalf("saw %d distinct staff, want 7: %v", len(seen), seen)
		}
		for email, n := range seen {
			if n != 1 {
				t.Fatalf("%s seen %d times", email, n)
			}
		}
		if pages != 4 {
			t.Fatalf("pages = %d, want 4", pages)
		}
		m.Owner.do("GET", "/api/v1/staff?cursor=bogus", nil).mustProblem(t, 422, "invalid")
		m.Owner.do("GET", "/api/v1/staff?limit=1000", nil).mustProblem(t, 422, "invalid")
		m.Owner.do("GET", "/api/v1/staff?role=owner", nil).must(t, http.StatusOK, nil)
		m.Owner.do("GET", "/api/v1/staff?sort=evil", nil).mustProblem(t, 422, "invalid")
	})
}
