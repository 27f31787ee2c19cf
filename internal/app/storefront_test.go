package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestStorefrontPages checks what a browser test does not: forms without
// their CSRF token are refused, unknown stores and unpublished products are
// "not found", pages speak the visitor's language, and the CSS is small.
func TestStorefrontPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		c := s.client(t)
		page := func(path string, headers ...string) *response { return c.do("GET", path, nil, headers...) }

		if r := page("/s/acme/"); r.Status != 200 || !strings.Contains(string(r.Body), "Longjing Green Tea") {
			t.Fatalf("home: %d", r.Status)
		}
		if r := page("/s/nope/"); r.Status != http.StatusNotFound {
			t.Fatalf("unknown store: %d", r.Status)
		}
		var draft productJSON
		sh.Owner.do("POST", "/api/v1/products", map[string]any{"title": "Secret Blend", "variants": []map[string]any{{"sku": "SECRET", "price": 1}}}).
			must(t, http.StatusCreated, &draft)
		if r := page("/s/acme/products/" + draft.Handle); r.Status != http.StatusNotFound {
			t.Fatalf("draft product page: %d", r.Status)
		}
		if r := page("/s/acme/search?q=secret"); strings.Contains(string(r.Body), "Secret Blend") {
			t.Fatal("a draft product shows in storefront search")
		}
		if r := page("/s/acme/", "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.5"); !strings.Contains(string(r.Body), "购物车") ||
			r.Header.Get("Content-Language") != "zh-CN" {
			t.Fatalf("Chinese page: %s", r.Header.Get("Content-Language"))
		}

		// A form posted without the visitor's CSRF token changes nothing.
		form := url.Values{"variant_id": {sh.Small.ID}, "quantity": {"1"}, "csrf": {"forged"}}
		r := c.do("POST", "/s/acme/cart/add", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		if r.Status != http.StatusForbidden {
			t.Fatalf("forged form: %d", r.Status)
		}
		if l := sh.level(t, sh.Small.ID); l.Reserved != 0 {
			t.Fatalf("level changed: %+v", l)
		}
		if r := page("/s/acme/cart"); strings.Contains(string(r.Body), "Longjing") {
			t.Fatal("the forged form put something in the cart")
		}

		css := page("/static/store.css")
		if css.Status != 200 || len(css.Body) > 50_000 || css.Header.Get("Cache-Control") == "" {
			t.Fatalf("store.css: status %d, %d bytes, cache %q", css.Status, len(css.Body), css.Header.Get("Cache-Control"))
		}
		home := page("/s/acme/")
		if !strings.Contains(home.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Fatalf("CSP = %q", home.Header.Get("Content-Security-Policy"))
		}
	})
}

// TestStoreAppearanceAndDomain: colours, logo and layout from the store's
// settings reach its pages, and its own host name shows its storefront.
func TestStoreAppearanceAndDomain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		sh.Owner.do("PATCH", "/api/v1/store", map[string]any{"theme_color": "#AA3300", "logo_url": "https://cdn.example.com/acme.png",
			"layout": "list", "domain": "shop.acme.example"}).must(t, 200, nil)
		other := openShop(t, s, "other")
		other.Owner.do("PATCH", "/api/v1/store", map[string]any{"domain": "shop.acme.example"}).mustProblem(t, 422, "invalid")
		other.Owner.do("PATCH", "/api/v1/store", map[string]any{"theme_color": "red; } body { display:none"}).mustProblem(t, 422, "invalid")

		c := s.client(t)
		waitFor(t, func() bool {
			return strings.Contains(string(c.do("GET", "/s/acme/theme.css", nil).must(t, 200, nil).Body), "--brand:#aa3300")
		}, "the new colour in theme.css")
		waitFor(t, func() bool {
			body := string(c.do("GET", "/s/acme/", nil).Body)
			return strings.Contains(body, `src="https://cdn.example.com/acme.png"`) && strings.Contains(body, "layout-list")
		}, "the new logo and layout on the home page")

		// The store's own domain serves its pages at the root.
		req, _ := http.NewRequest("GET", s.URL+"/products/"+sh.Product.Handle, nil)
		req.Host = "shop.acme.example"
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("product on the custom domain: %d", res.StatusCode)
		}
		req, _ = http.NewRequest("GET", s.URL+"/products/"+sh.Product.Handle, nil)
		req.Host = "unknown.example"
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Fatalf("an unknown host name: %d", res.StatusCode)
		}
	})
}

// waitFor polls until cond holds (the storefront caches for a second).
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond) // polling a one-second cache
	}
	t.Fatalf("never saw %s", what)
}
