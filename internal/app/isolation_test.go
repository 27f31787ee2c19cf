package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// tenantResource is one kind of tenant-owned resource, with how to make one
// and every route that takes its id. Each new resource adds an entry here;
// TestEveryIDRouteIsCoveredByIsolation fails until it does.
type tenantResource struct {
	name   string
	list   string                                                // list route, "" if none
	read   string                                                // a GET route that shows the resource ({id} replaced)
	create func(t *testing.T, s *testServer, m *merchant) string // returns the new resource's id
	routes []isolationRoute                                      // routes with {id}
}

type isolationRoute struct {
	method string
	path   string // with {id}
	body   any
}

func createProduct(t *testing.T, m *merchant, sku string) productJSON {
	t.Helper()
	var p productJSON
	m.Owner.do("POST", "/api/v1/products", map[string]any{"title": "Victim " + sku, "status": "active",
		"variants": []map[string]any{{"sku": sku, "price": 1000}}}).must(t, http.StatusCreated, &p)
	return p
}

// placeOrder sells one unit through the storefront and returns the order
// and its token, unpaid.
func placeOrder(t *testing.T, s *testServer, m *merchant) (orderJSON, string) {
	t.Helper()
	p := createProduct(t, m, "ORD-"+m.Handle+"-"+fmt.Sprint(len(m.Handle)))
	m.Owner.do("POST", "/api/v1/variants/"+p.Variants[0].ID+"/inventory/adjustments", map[string]any{"kind": "received", "quantity": 5}).
		must(t, http.StatusCreated, nil)
	var zone struct {
		Rates []struct{ ID string } `json:"rates"`
	}
	m.Owner.do("POST", "/api/v1/shipping-zones", map[string]any{"name": "Z", "countries": []string{"FR"},
		"rates": []map[string]any{{"name": "Post", "price": 100}}}).must(t, http.StatusCreated, &zone)
	shopper := s.client(t)
	base := "/api/v1/storefront/" + m.Handle + "/carts"
	var cart cartJSON
	shopper.do("POST", base, nil).must(t, http.StatusCreated, &cart)
	shopper.do("POST", base+"/"+cart.Token+"/lines", map[string]any{"variant_id": p.Variants[0].ID, "quantity": 1}).must(t, http.StatusCreated, nil)
	shopper.do("PATCH", base+"/"+cart.Token, map[string]any{"email": "victim@example.com", "shipping_rate_id": zone.Rates[0].ID,
		"shipping_address": map[string]any{"name": "V", "line1": "1 rue", "city": "Paris", "country": "FR"}}).must(t, http.StatusOK, nil)
	var placed struct {
		Order      orderJSON `json:"order"`
		OrderToken string    `json:"order_token"`
	}
	shopper.do("POST", base+"/"+cart.Token+"/checkout", map[string]any{"payment_provider": "manual"}).must(t, http.StatusCreated, &placed)
	return placed.Order, placed.OrderToken
}

var tenantResources = []tenantResource{
	{
		name: "staff",
		list: "/api/v1/staff",
		read: "/api/v1/staff/{id}",
		create: func(t *testing.T, s *testServer, m *merchant) string {
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
		read: "/api/v1/api-keys/{id}",
		create: func(t *testing.T, s *testServer, m *merchant) string {
			var k struct {
				ID string `json:"id"`
			}
			s.login(t, m.Handle, m.Email, m.Password).do("POST", "/api/v1/api-keys", map[string]any{"name": "victim key"}).must(t, http.StatusCreated, &k)
			return k.ID
		},
		routes: []isolationRoute{
			{"GET", "/api/v1/api-keys/{id}", nil},
			{"DELETE", "/api/v1/api-keys/{id}", nil},
		},
	},
	{
		name: "product",
		list: "/api/v1/products",
		read: "/api/v1/products/{id}",
		create: func(t *testing.T, s *testServer, m *merchant) string {
			return createProduct(t, m, "VICTIM-P").ID
		},
		routes: []isolationRoute{
			{"GET", "/api/v1/products/{id}", nil},
			{"PATCH", "/api/v1/products/{id}", map[string]any{"title": "Stolen"}},
			{"POST", "/api/v1/products/{id}/variants", map[string]any{"sku": "STOLEN", "price": 1}},
		},
	},
	{
		name: "variant",
		read: "/api/v1/variants/{id}",
		create: func(t *testing.T, s *testServer, m *merchant) string {
			return createProduct(t, m, "VICTIM-V").Variants[0].ID
		},
		routes: []isolationRoute{
			{"GET", "/api/v1/variants/{id}", nil},
			{"PATCH", "/api/v1/variants/{id}", map[string]any{"price": 1}},
			{"GET", "/api/v1/variants/{id}/inventory", nil},
			{"POST", "/api/v1/variants/{id}/inventory/adjustments", map[string]any{"kind": "received", "quantity": 1}},
			{"GET", "/api/v1/variants/{id}/inventory/movements", nil},
		},
	},
	{
		name: "collection",
		list: "/api/v1/collections",
		read: "/api/v1/collections/{id}",
		create: func(t *testing.T, s *testServer, m *merchant) string {
			var c struct{ ID string }
			m.Owner.do("POST", "/api/v1/collections", map[string]any{"title": "Victims"}).must(t, http.StatusCreated, &c)
			return c.ID
		},
		routes: []isolationRoute{
			{"GET", "/api/v1/collections/{id}", nil},
			{"PATCH", "/api/v1/collections/{id}", map[string]any{"title": "Stolen"}},
			{"DELETE", "/api/v1/collections/{id}", nil},
		},
	},
	{
		name: "discount",
		list: "/api/v1/discounts",
		read: "/api/v1/discounts/{id}",
		create: func(t *testing.T, s *testServer, m *merchant) string {
			var d struct{ ID string }
			m.Owner.do("POST", "/api/v1/discounts", map[string]any{"code": "VICTIM", "kind": "fixed_amount", "amount": 100}).must(t, http.StatusCreated, &d)
			return d.ID
		},
		routes: []isolationRoute{
			{"GET", "/api/v1/discounts/{id}", nil},
			{"PATCH", "/api/v1/discounts/{id}", map[string]any{"active": false}},
		},
	},
	{
		name: "flash sale",
		list: "/api/v1/flash-sales",
		read: "/api/v1/flash-sales/{id}",
		create: func(t *testing.T, s *testServer, m *merchant) string {
			v := createProduct(t, m, "VICTIM-FS").Variants[0]
			var fs struct{ ID string }
			m.Owner.do("POST", "/api/v1/flash-sales", map[string]any{"title": "Victim sale",
				"starts_at": time.Now().Add(time.Hour), "ends_at": time.Now().Add(2 * time.Hour),
				"items": []map[string]any{{"variant_id": v.ID, "sale_price": 500, "allocation": 3}}}).must(t, http.StatusCreated, &fs)
			return fs.ID
		},
		routes: []isolationRoute{
			{"GET", "/api/v1/flash-sales/{id}", nil},
			{"PATCH", "/api/v1/flash-sales/{id}", map[string]any{"ends_at": time.Now().Add(3 * time.Hour)}},
			{"POST", "/api/v1/flash-sales/{id}/end", nil},
		},
	},
	{
		name: "shipping zone",
		list: "/api/v1/shipping-zones",
		read: "/api/v1/shipping-zones/{id}",
		create: func(t *testing.T, s *testServer, m *merchant) string {
			var z struct{ ID string }
			m.Owner.do("POST", "/api/v1/shipping-zones", map[string]any{"name": "Victim", "countries": []string{"DE"}}).must(t, http.StatusCreated, &z)
			return z.ID
		},
		routes: []isolationRoute{
			{"GET", "/api/v1/shipping-zones/{id}", nil},
			{"POST", "/api/v1/shipping-zones/{id}/rates", map[string]any{"name": "Stolen", "price": 1}},
			{"DELETE", "/api/v1/shipping-zones/{id}", nil},
		},
	},
	{
		name: "shipping rate",
		list: "/api/v1/shipping-zones",
		read: "/api/v1/shipping-zones",
		create: func(t *testing.T, s *testServer, m *merchant) string {
			var z struct {
				Rates []struct{ ID string } `json:"rates"`
			}
			m.Owner.do("POST", "/api/v1/shipping-zones", map[string]any{"name": "Victim", "countries": []string{"IT"},
				"rates": []map[string]any{{"name": "Slow", "price": 1}}}).must(t, http.StatusCreated, &z)
			return z.Rates[0].ID
		},
		routes: []isolationRoute{{"DELETE", "/api/v1/shipping-rates/{id}", nil}},
	},
	{
		name: "tax rate",
		list: "/api/v1/tax-rates",
		read: "/api/v1/tax-rates",
		create: func(t *testing.T, s *testServer, m *merchant) string {
			var r struct{ ID string }
			m.Owner.do("POST", "/api/v1/tax-rates", map[string]any{"country": "JP", "rate_bp": 1000}).must(t, http.StatusCreated, &r)
			return r.ID
		},
		routes: []isolationRoute{{"DELETE", "/api/v1/tax-rates/{id}", nil}},
	},
	{
		name: "customer",
		list: "/api/v1/customers",
		read: "/api/v1/customers/{id}",
		create: func(t *testing.T, s *testServer, m *merchant) string {
			var reg customerSession
			s.client(t).do("POST", "/api/v1/storefront/"+m.Handle+"/customers", map[string]any{"email": "victim@example.com",
				"password": "victim password"}).must(t, http.StatusCreated, &reg)
			return reg.Customer.ID
		},
		routes: []isolationRoute{{"GET", "/api/v1/customers/{id}", nil}},
	},
	{
		name: "order",
		list: "/api/v1/orders",
		read: "/api/v1/orders/{id}",
		create: func(t *testing.T, s *testServer, m *merchant) string {
			o, _ := placeOrder(t, s, m)
			return o.ID
		},
		routes: []isolationRoute{
			{"GET", "/api/v1/orders/{id}", nil},
			{"POST", "/api/v1/orders/{id}/mark-paid", nil},
			{"POST", "/api/v1/orders/{id}/fulfillments", map[string]any{}},
			{"POST", "/api/v1/orders/{id}/complete", nil},
			{"POST", "/api/v1/orders/{id}/cancel", map[string]any{}},
			{"POST", "/api/v1/orders/{id}/refunds", map[string]any{"amount": 1}},
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
				id := res.create(t, s, a)
				before := a.Owner.do("GET", strings.ReplaceAll(res.read, "{id}", id), nil).must(t, http.StatusOK, nil)
				if !strings.Contains(string(before.Body), id) {
					t.Fatalf("%s does not show %s", res.read, id)
				}

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
				after := a.Owner.do("GET", strings.ReplaceAll(res.read, "{id}", id), nil).must(t, http.StatusOK, nil)
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
	covered = append(covered, storefrontRoutes...)
	for path, ops := range doc.Paths {
		if !strings.Contains(path, "{") {
			continue
		}
		for method := range ops {
			m := strings.ToUpper(method)
			if !slices.Contains(covered, m+" "+path) {
				t.Errorf("%s %s takes an id but is not in tenantResources or storefrontRoutes", m, path)
			}
		}
	}
}

// storefrontRoutes are the public routes, all under a store's handle; each
// is walked by TestStorefrontIsolation with another store's handle.
var storefrontRoutes = []string{
	"GET /api/v1/storefront/{store}/products",
	"GET /api/v1/storefront/{store}/products/{handle}",
	"GET /api/v1/storefront/{store}/collections",
	"POST /api/v1/storefront/{store}/carts",
	"GET /api/v1/storefront/{store}/carts/{token}",
	"PATCH /api/v1/storefront/{store}/carts/{token}",
	"POST /api/v1/storefront/{store}/carts/{token}/lines",
	"PATCH /api/v1/storefront/{store}/carts/{token}/lines/{line}",
	"DELETE /api/v1/storefront/{store}/carts/{token}/lines/{line}",
	"POST /api/v1/storefront/{store}/carts/{token}/checkout",
	"GET /api/v1/storefront/{store}/orders/{id}",
	"POST /api/v1/storefront/{store}/orders/{id}/payments",
	"POST /api/v1/storefront/{store}/customers",
	"POST /api/v1/storefront/{store}/customers/login",
	"POST /api/v1/storefront/{store}/customers/logout",
	"GET /api/v1/storefront/{store}/customers/me",
	"PATCH /api/v1/storefront/{store}/customers/me",
	"GET /api/v1/storefront/{store}/customers/me/orders",
	"POST /api/v1/storefront/{store}/customers/me/addresses",
	"DELETE /api/v1/storefront/{store}/customers/me/addresses/{id}",
	"GET /api/v1/storefront/{store}/flash-sales/{id}",
	"POST /api/v1/storefront/{store}/flash-sales/{id}/orders",
}

// TestStorefrontIsolation uses store A's product handle, cart token, cart
// line, variant and order under store B's handle: everything is "not found"
// (or, for a variant put in B's cart, "not for sale in this store").
func TestStorefrontIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		a := s.signup(t, "alpha")
		b := s.signup(t, "bravo")
		createProduct(t, b, "B-ONLY")
		order, orderToken := placeOrder(t, s, a)
		p := createProduct(t, a, "A-SECRET")
		shopper := s.client(t)
		var cart cartJSON
		shopper.do("POST", "/api/v1/storefront/alpha/carts", nil).must(t, http.StatusCreated, &cart)
		shopper.do("POST", "/api/v1/storefront/alpha/carts/"+cart.Token+"/lines", map[string]any{"variant_id": p.Variants[0].ID, "quantity": 1}).
			mustProblem(t, http.StatusConflict, "insufficient_stock") // A's product exists for A (no stock yet)
		var listA struct {
			Data []productJSON `json:"data"`
		}
		shopper.do("GET", "/api/v1/storefront/alpha/products", nil).must(t, http.StatusOK, &listA)

		bStore := "/api/v1/storefront/bravo"
		shopper.do("GET", bStore+"/products/"+p.Handle, nil).mustProblem(t, http.StatusNotFound, "not_found")
		body := string(shopper.do("GET", bStore+"/products?q=secret", nil).must(t, http.StatusOK, nil).Body)
		if strings.Contains(body, p.ID) {
			t.Fatal("B's storefront search shows A's product")
		}
		body = string(shopper.do("GET", bStore+"/products", nil).must(t, http.StatusOK, nil).Body)
		for _, ap := range listA.Data {
			if strings.Contains(body, ap.ID) {
				t.Fatal("B's storefront lists A's product")
			}
		}
		shopper.do("GET", bStore+"/collections", nil).must(t, http.StatusOK, nil)
		tok := cart.Token
		shopper.do("GET", bStore+"/carts/"+tok, nil).mustProblem(t, http.StatusNotFound, "not_found")
		shopper.do("PATCH", bStore+"/carts/"+tok, map[string]any{"note": "x"}).mustProblem(t, http.StatusNotFound, "not_found")
		shopper.do("POST", bStore+"/carts/"+tok+"/lines", map[string]any{"variant_id": p.Variants[0].ID, "quantity": 1}).mustProblem(t, http.StatusNotFound, "not_found")
		shopper.do("PATCH", bStore+"/carts/"+tok+"/lines/cli_x", map[string]any{"quantity": 2}).mustProblem(t, http.StatusNotFound, "not_found")
		shopper.do("DELETE", bStore+"/carts/"+tok+"/lines/cli_x", nil).mustProblem(t, http.StatusNotFound, "not_found")
		shopper.do("POST", bStore+"/carts/"+tok+"/checkout", map[string]any{"payment_provider": "test"}).mustProblem(t, http.StatusNotFound, "not_found")
		shopper.do("GET", bStore+"/orders/"+order.ID, nil, "X-Order-Token", orderToken).mustProblem(t, http.StatusNotFound, "not_found")
		shopper.do("POST", bStore+"/orders/"+order.ID+"/payments", map[string]any{"order_token": orderToken, "provider": "test", "card": testCard}).
			mustProblem(t, http.StatusNotFound, "not_found")

		// A's customer account does not exist in B: signing in or using A's
		// token there fails, and B's registration of the same email is B's own.
		var acct customerSession
		shopper.do("POST", "/api/v1/storefront/alpha/customers", map[string]any{"email": "ada@example.com", "password": "alpha password"}).
			must(t, http.StatusCreated, &acct)
		shopper.do("POST", bStore+"/customers/login", map[string]any{"email": "ada@example.com", "password": "alpha password"}).
			mustProblem(t, http.StatusUnauthorized, "unauthorized")
		for _, r := range []struct{ method, path string }{{"GET", "/customers/me"}, {"PATCH", "/customers/me"}, {"GET", "/customers/me/orders"},
			{"POST", "/customers/me/addresses"}, {"DELETE", "/customers/me/addresses/adr_x"}} {
			var body any
			if r.method == "PATCH" {
				body = map[string]any{"name": "Stolen"}
			}
			if r.method == "POST" {
				body = map[string]any{"address": usAddress}
			}
			shopper.do(r.method, bStore+r.path, body, "X-Customer-Token", acct.Token).mustProblem(t, http.StatusUnauthorized, "unauthorized")
		}
		shopper.do("POST", bStore+"/customers/logout", nil, "X-Customer-Token", acct.Token).must(t, http.StatusNoContent, nil)
		shopper.do("GET", "/api/v1/storefront/alpha/customers/me", nil, "X-Customer-Token", acct.Token).must(t, http.StatusOK, nil) // B's logout did not end A's session
		shopper.do("POST", bStore+"/customers", map[string]any{"email": "ada@example.com", "password": "bravo password"}).must(t, http.StatusCreated, nil)

		// A's flash sale is not B's: not seen, not bought, not sold.
		var sale flashSaleJSON
		a.Owner.do("POST", "/api/v1/flash-sales", map[string]any{"title": "A only", "starts_at": time.Now().Add(-time.Minute),
			"ends_at": time.Now().Add(time.Hour), "items": []map[string]any{{"variant_id": p.Variants[0].ID, "sale_price": 1, "allocation": 5}}}).
			must(t, http.StatusCreated, &sale)
		shopper.do("GET", "/api/v1/storefront/alpha/flash-sales/"+sale.ID, nil).must(t, http.StatusOK, nil)
		shopper.do("GET", bStore+"/flash-sales/"+sale.ID, nil).mustProblem(t, http.StatusNotFound, "not_found")
		shopper.do("POST", bStore+"/flash-sales/"+sale.ID+"/orders", map[string]any{"variant_id": p.Variants[0].ID, "quantity": 1,
			"email": "ada@example.com", "shipping_address": usAddress, "shipping_rate_id": "shr_x", "payment_provider": "test"}).
			mustProblem(t, http.StatusNotFound, "not_found")
		a.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, http.StatusOK, &sale)
		if sale.Items[0].Sold != 0 {
			t.Fatalf("a buy in B sold %d of A's sale", sale.Items[0].Sold)
		}

		// A's variant in B's cart is not for sale there.
		var bCart cartJSON
		shopper.do("POST", bStore+"/carts", nil).must(t, http.StatusCreated, &bCart)
		pr := shopper.do("POST", bStore+"/carts/"+bCart.Token+"/lines", map[string]any{"variant_id": p.Variants[0].ID, "quantity": 1}).
			mustProblem(t, 422, "invalid")
		if !pr.hasField("variant_id") {
			t.Fatalf("problem %+v does not name variant_id", pr)
		}
		// And A's order is untouched.
		var o orderJSON
		a.Owner.do("GET", "/api/v1/orders/"+order.ID, nil).must(t, http.StatusOK, &o)
		if o.Status != "pending_payment" || len(o.Payments) != 0 {
			t.Fatalf("A's order changed: %+v", o)
		}
	})
}
