package app_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// tenantResource is one kind of tenant-owned resource, with how to make one
// and every route that takes its id. Each new resource adds an entry here;
// TestEveryIDRouteIsCoveredByIsolation fails until it does.
type tenantResource struct {
	name   string
	list   string                                 // list route, "" if none
	create func(t *testing.T, m *merchant) string // returns the new resource's id
	routes []isolationRoute                       // routes with {id}
}

type isolationRoute struct {
	method string
	path   string // with {id}
	body   any
}

var tenantResources = []tenantResource{
	{
		name: "staff",
		list: "/api/v1/staff",
		create: func(t *testing.T, m *merchant) string {
			return createStaff(t, m.Owner, "victim@"+m.Handle+".example.com", "staff").ID
		},
		routes: []isolationRoute{
			{"GET", "/api/v1/staff/{id}", nil},
			{"PATCH", "/api/v1/staff/{id}", map[string]any{"status": "disabled"}},
		},
	},
	{
		name: "api key",
		list: "/api/v1/api-keys",
		create: func(t *testing.T, m *merchant) string {
			var k struct {
				ID string `json:"id"`
			}
			m.Owner.do("POST", "/api/v1/api-keys", map[string]any{"name": "victim key"}).must(t, http.StatusCreated, &k)
			return k.ID
		},
		routes: []isolationRoute{
			{"GET", "/api/v1/api-keys/{id}", nil},
			{"DELETE", "/api/v1/api-keys/{id}", nil},
		},
	},
}

// TestTenantIsolation walks every tenant-owned route as tenant B against
// tenant A's ids: each answers 404 exactly as for an id that does not exist,
// no list of B shows A's data, and A's resources are unchanged afterwards.
func TestTenantIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		a := s.signup(t, "alpha")
		b := s.signup(t, "bravo")
		for _, res := range tenantResources {
			t.Run(res.name, func(t *testing.T) {
				id := res.create(t, a)
				before := a.Owner.do("GET", strings.ReplaceAll(res.routes[0].path, "{id}", id), nil).must(t, http.StatusOK, nil)

				for _, r := range res.routes {
					path := strings.ReplaceAll(r.path, "{id}", id)
					got := b.Owner.do(r.method, path, r.body)
					got.mustProblem(t, http.StatusNotFound, "not_found")
					// The same answer as for an id that never existed.
					missing := b.Owner.do(r.method, strings.ReplaceAll(r.path, "{id}", mutateID(id)), r.body)
					missing.mustProblem(t, http.StatusNotFound, "not_found")
					var p1, p2 problem
					json.Unmarshal(got.Body, &p1)
					json.Unmarshal(missing.Body, &p2)
					if p1.Detail != p2.Detail {
						t.Fatalf("%s %s: another tenant's id answers %q, a missing id %q", r.method, r.path, p1.Detail, p2.Detail)
					}
				}
				if res.list != "" {
					body := b.Owner.do("GET", res.list, nil).must(t, http.StatusOK, nil).Body
					if strings.Contains(string(body), id) {
						t.Fatalf("%s list of tenant B shows A's %s", res.list, id)
					}
				}
				after := a.Owner.do("GET", strings.ReplaceAll(res.routes[0].path, "{id}", id), nil).must(t, http.StatusOK, nil)
				if string(before.Body) != string(after.Body) {
					t.Fatalf("A's %s changed by B's calls:\n%s\n%s", res.name, before.Body, after.Body)
				}
			})
		}
		// The store itself: B's calls only ever see and change B.
		var store struct {
			ID string `json:"id"`
		}
		b.Owner.do("GET", "/api/v1/store", nil).must(t, http.StatusOK, &store)
		if store.ID != b.StoreID {
			t.Fatalf("B sees store %s", store.ID)
		}
	})
}

// mutateID returns a well-formed id of the same type that does not exist.
func mutateID(id string) string {
	last := id[len(id)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return id[:len(id)-1] + string(repl)
}

// TestEveryIDRouteIsCoveredByIsolation reads the OpenAPI document and fails
// for any route with a path parameter that TestTenantIsolation does not walk.
func TestEveryIDRouteIsCoveredByIsolation(t *testing.T) {
	s := startServer(t, defaultConfig(t))
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	s.client(t).do("GET", "/api/v1/openapi.json", nil).must(t, http.StatusOK, &doc)
	var covered []string
	for _, res := range tenantResources {
		for _, r := range res.routes {
			covered = append(covered, r.method+" "+r.path)
		}
	}
	for path, ops := range doc.Paths {
		if !strings.Contains(path, "{") {
			continue
		}
		for method := range ops {
			m := strings.ToUpper(method)
			if !slices.Contains(covered, m+" "+path) {
				t.Errorf("%s %s takes an id but is not in tenantResources", m, path)
			}
		}
	}
}
