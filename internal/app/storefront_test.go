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

// TestStorefrontErrorsInChinese: a whole error a service answers (not one
// about a form's fields) is shown in the shopper's language: too many of a
// variant for its stock, a second buy over a flash sale's limit, a declined
// card. The API keeps answering in English.
func TestStorefrontErrorsInChinese(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		c := s.client(t)
		c.do("GET", "/lang?to=zh-CN&back=/s/acme/", nil).must(t, http.StatusOK, nil)
		c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		csrf := func(path string) string { return pageFields(t, c, path).Get("csrf") }

		// More than is in stock (10).
		r := postForm(c, "/s/acme/cart/add", url.Values{"csrf": {csrf("/s/acme/products/" + sh.Product.Handle)}, "variant_id": {sh.Small.ID}, "quantity": {"11"}})
		if page := string(r.Body); r.Status != http.StatusUnprocessableEntity || !strings.Contains(page, "库存仅剩 10 件（acme-LJ-100）") || strings.Contains(page, "left in stock") {
			t.Fatalf("too many for the stock, in Chinese: %d", r.Status)
		}
		var cart cartJSON
		api := s.client(t)
		api.do("POST", "/api/v1/storefront/acme/carts", nil).must(t, http.StatusCreated, &cart)
		if p := api.do("POST", "/api/v1/storefront/acme/carts/"+cart.Token+"/lines", map[string]any{"variant_id": sh.Small.ID, "quantity": 11}).
			mustProblem(t, http.StatusConflict, "insufficient_stock"); p.Detail != "only 10 of acme-LJ-100 left in stock" {
			t.Fatalf("the API's message = %q", p.Detail)
		}
		// A cart line with more than is left since it was added.
		if r := postForm(c, "/s/acme/cart/add", url.Values{"csrf": {csrf("/s/acme/products/" + sh.Product.Handle)}, "variant_id": {sh.Small.ID}, "quantity": {"4"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("add 4: %d", r.Status)
		}
		api.do("POST", "/api/v1/storefront/acme/carts/"+cart.Token+"/lines", map[string]any{"variant_id": sh.Small.ID, "quantity": 3}).must(t, http.StatusCreated, nil)
		sh.Owner.do("POST", "/api/v1/variants/"+sh.Small.ID+"/inventory/adjustments", map[string]any{"kind": "adjusted", "quantity": -8}).must(t, http.StatusCreated, nil)
		if page := string(c.do("GET", "/s/acme/cart", nil).must(t, http.StatusOK, nil).Body); !strings.Contains(page, "库存仅剩 2 件") || strings.Contains(page, "left in stock") {
			t.Fatal("a cart line over the stock left: its note is not in Chinese")
		}
		var priced struct {
			Lines []struct{ Problem string }
		}
		api.do("GET", "/api/v1/storefront/acme/carts/"+cart.Token, nil).must(t, http.StatusOK, &priced)
		if len(priced.Lines) != 1 || priced.Lines[0].Problem != "only 2 left in stock" {
			t.Fatalf("the API's cart lines = %+v", priced.Lines)
		}

		// A second buy over the sale's limit of one per customer.
		sale := activeSale(t, sh, sh.Large.ID, 1999, 3, 1, false)
		salePath := "/s/acme/flash-sales/" + sale.ID
		r = postForm(c, salePath, saleForm(t, c, salePath, sh.Large.ID, "ada@example.com"))
		orderPath := r.Header.Get("Location")
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(orderPath, "/s/acme/orders/ord_") {
			t.Fatalf("buy: %d %s", r.Status, orderPath)
		}
		r = postForm(c, salePath, saleForm(t, c, salePath, sh.Large.ID, "ada@example.com"))
		if page := string(r.Body); r.Status != http.StatusConflict || !strings.Contains(page, "本次抢购每位顾客最多购买 1 件") || strings.Contains(page, "each customer") {
			t.Fatalf("over the sale's limit, in Chinese: %d", r.Status)
		}

		// The test provider's declining card, on the order's page.
		r = postForm(c, orderPath+"/pay", url.Values{"csrf": {csrf(orderPath)}, "provider": {"test"}, "card_number": {"4000 0000 0000 0002"},
			"exp_month": {"12"}, "exp_year": {"2099"}, "cvc": {"123"}})
		if page := string(r.Body); r.Status != http.StatusUnprocessableEntity || !strings.Contains(page, "银行卡被拒绝") || strings.Contains(page, "declined") {
			t.Fatalf("a declined card, in Chinese: %d", r.Status)
		}
	})
}
