package app_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var hiddenInput = regexp.MustCompile(`name="(csrf|key|once)" value="([^"]*)"`)

// pageFields reads the hidden fields of a page's forms (csrf, key, once),
// to post as the page would.
func pageFields(t *testing.T, c *client, path string) url.Values {
	t.Helper()
	fields := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(c.do("GET", path, nil).must(t, http.StatusOK, nil).Body), -1) {
		fields.Set(m[1], m[2])
	}
	return fields
}

// saleForm reads a sale page's form, filled in for a shopper.
func saleForm(t *testing.T, c *client, path, variantID, email string) url.Values {
	t.Helper()
	form := pageFields(t, c, path)
	if form.Get("csrf") == "" || form.Get("key") == "" {
		t.Fatalf("the sale page %s has no form", path)
	}
	for k, v := range map[string]string{"variant_id": variantID, "quantity": "1", "email": email, "name": "Ada Lovelace",
		"line1": "1 Infinite Loop", "city": "Cupertino", "region": "CA", "country": "US"} {
		form.Set(k, v)
	}
	return form
}

// TestStorefrontFlashSale: the product page shows a running sale with its
// price and what is left; the sale page takes a shopper's order (once,
// however often the form is sent) and sends them to pay; when nothing is
// left the page says so.
func TestStorefrontFlashSale(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		sale := activeSale(t, sh, sh.Large.ID, 1999, 2, 1, false)
		salePath := "/s/acme/flash-sales/" + sale.ID
		c := s.client(t)
		c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

		product := string(c.do("GET", "/s/acme/products/"+sh.Product.Handle, nil).must(t, http.StatusOK, nil).Body)
		for _, want := range []string{salePath, "$19.99", "2 left"} {
			if !strings.Contains(product, want) {
				t.Fatalf("the product page does not show %q of the sale", want)
			}
		}

		// Another store's storefront does not know the sale: not shown, not sold.
		openShop(t, s, "other")
		if r := c.do("GET", "/s/other/flash-sales/"+sale.ID, nil); r.Status != http.StatusNotFound {
			t.Fatalf("the sale under another store: %d", r.Status)
		}
		stray := saleForm(t, c, salePath, sh.Large.ID, "stray@example.com")
		if r := postForm(c, "/s/other/flash-sales/"+sale.ID, stray); r.Status != http.StatusNotFound {
			t.Fatalf("a buy under another store: %d", r.Status)
		}

		form := saleForm(t, c, salePath, sh.Large.ID, "")
		r := postForm(c, salePath, form)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "email") {
			t.Fatalf("no email: %d", r.Status)
		}
		// A choice the sale does not have, or a form whose hidden key was
		// altered, is shown again with why, and a new key for the latter.
		wrong := saleForm(t, c, salePath, sh.Small.ID, "ada@example.com")
		if r := postForm(c, salePath, wrong); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "Choose one of the sale") {
			t.Fatalf("a variant the sale does not have: %d", r.Status)
		}
		tampered := saleForm(t, c, salePath, sh.Large.ID, "ada@example.com")
		tampered.Set("key", "ключ")
		r = postForm(c, salePath, tampered)
		newKey := hiddenInput.FindAllStringSubmatch(string(r.Body), -1)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "press Buy again") ||
			len(newKey) != 2 || newKey[1][1] != "key" || newKey[1][2] == "" || newKey[1][2] == "ключ" {
			t.Fatalf("an altered key: %d, hidden inputs %q", r.Status, newKey)
		}
		form.Set("email", "ada@example.com")
		r = postForm(c, salePath, form)
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/s/acme/orders/ord_") {
			t.Fatalf("buy: %d %s", r.Status, r.Header.Get("Location"))
		}
		orderPage := r.Header.Get("Location")
		if again := postForm(c, salePath, form); again.Header.Get("Location") != orderPage {
			t.Fatalf("the form sent twice made another order: %s", again.Header.Get("Location"))
		}
		if body := string(c.do("GET", orderPage, nil).must(t, http.StatusOK, nil).Body); !strings.Contains(body, "$19.99") {
			t.Fatal("the order page does not show the sale price")
		}

		bo := s.client(t)
		bo.http.CheckRedirect = c.http.CheckRedirect
		if r := postForm(bo, salePath, saleForm(t, bo, salePath, sh.Large.ID, "bo@example.com")); r.Status != http.StatusSeeOther {
			t.Fatalf("the last unit: %d", r.Status)
		}
		cy := s.client(t)
		r = postForm(cy, salePath, saleForm(t, cy, salePath, sh.Large.ID, "cy@example.com"))
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "sold out") {
			t.Fatalf("after the last unit: %d", r.Status)
		}
		var got flashSaleJSON
		sh.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, http.StatusOK, &got)
		if got.Items[0].Sold != 2 {
			t.Fatalf("sold = %d, want 2", got.Items[0].Sold)
		}

		// A sale that starts later is announced, without a way to buy yet.
		var coming flashSaleJSON
		sh.Owner.do("POST", "/api/v1/flash-sales", map[string]any{"title": "Tomorrow", "starts_at": time.Now().Add(2 * time.Hour),
			"ends_at": time.Now().Add(3 * time.Hour), "items": []map[string]any{{"variant_id": sh.Small.ID, "sale_price": 1000, "allocation": 5}}}).
			must(t, http.StatusCreated, &coming)
		// Its link is there for static/flashsale.js to show at the start,
		// hidden until then.
		anon := s.client(t)
		hiddenLink := regexp.MustCompile(`<p data-when="active" hidden><a [^>]*href="/s/acme/flash-sales/` + coming.ID + `"`)
		waitFor(t, func() bool {
			body := string(anon.do("GET", "/s/acme/products/"+sh.Product.Handle, nil).must(t, http.StatusOK, nil).Body)
			return strings.Contains(body, "The sale starts") && strings.Contains(body, "$10.00") &&
				strings.Count(body, "/s/acme/flash-sales/"+coming.ID) == 1 && hiddenLink.MatchString(body)
		}, "the coming sale announced on the product page")
	})
}

// TestStorefrontFlashSaleFormSentAgain: a signed-in shopper's sale form
// sent again with other values after it made an order (back, edit, Buy)
// is told so in words, not the Idempotency-Key's jargon, and given a new
// key, with which a deliberate second buy goes through. (Registering
// first, a name too long is said next to the name, once.)
func TestStorefrontFlashSaleFormSentAgain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		sale := activeSale(t, sh, sh.Large.ID, 1999, 5, 3, false)
		salePath := "/s/acme/flash-sales/" + sale.ID
		c := s.client(t)
		c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		register := pageFields(t, c, "/s/acme/account/register")
		register.Set("email", "ada@example.com")
		register.Set("password", "analytical engine")
		register.Set("name", strings.Repeat("A", 101))
		// A name too long is said next to it, once, and kept as typed.
		r := postForm(c, "/s/acme/account/register", register)
		if page := string(r.Body); r.Status != http.StatusUnprocessableEntity || !strings.Contains(page, `id="name-error">must be at most 100 characters`) ||
			strings.Count(page, "must be at most 100 characters") != 1 || !strings.Contains(page, `value="`+register.Get("name")+`"`) {
			t.Fatalf("a name too long: %d", r.Status)
		}
		register.Set("name", "Ada")
		if r := postForm(c, "/s/acme/account/register", register); r.Status != http.StatusSeeOther {
			t.Fatalf("register: %d", r.Status)
		}

		form := saleForm(t, c, salePath, sh.Large.ID, "")
		if r := postForm(c, salePath, form); r.Status != http.StatusSeeOther {
			t.Fatalf("buy: %d %s", r.Status, r.Body)
		}
		form.Set("quantity", "2")
		r = postForm(c, salePath, form)
		fresh := hiddenInput.FindAllStringSubmatch(string(r.Body), -1)
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "already sent with other values") ||
			strings.Contains(string(r.Body), "Idempotency-Key") || len(fresh) != 2 || fresh[1][1] != "key" || fresh[1][2] == form.Get("key") {
			t.Fatalf("the form sent again with other values: %d, hidden inputs %q", r.Status, fresh)
		}
		form.Set("key", fresh[1][2])
		if r := postForm(c, salePath, form); r.Status != http.StatusSeeOther {
			t.Fatalf("the second buy, with the new key: %d", r.Status)
		}
		var got flashSaleJSON
		sh.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, http.StatusOK, &got)
		if got.Items[0].Sold != 3 {
			t.Fatalf("sold = %d, want 1 + 2", got.Items[0].Sold)
		}
	})
}
