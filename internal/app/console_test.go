package app_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// formClient signs in to the console and keeps its cookie; csrf is the
// session's token for forms.
func consoleSignIn(t *testing.T, s *testServer, m *merchant) (*client, string) {
	t.Helper()
	c := s.login(t, m.Handle, m.Email, m.Password) // the same session cookie serves the console
	csrf := c.csrf
	c.csrf = ""
	return c, csrf
}

func postForm(c *client, path string, form url.Values) *response {
	return c.do("POST", path, form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

// TestConsoleGuards: the console needs a session, checks the CSRF token of
// every form, asks before destructive actions, and shows another store's
// orders and products as not found.
func TestConsoleGuards(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		a := openShop(t, s, "alpha")
		b := openShop(t, s, "bravo")
		o, _ := placeOrder(t, s, a.merchant) // manual payment: awaiting

		anon := s.client(t)
		anon.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		if r := anon.do("GET", "/admin/orders", nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
			t.Fatalf("anonymous console: %d %s", r.Status, r.Header.Get("Location"))
		}

		ca, csrf := consoleSignIn(t, s, a.merchant)
		ca.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		if r := ca.do("GET", "/admin/orders/"+o.ID, nil); r.Status != 200 || !strings.Contains(string(r.Body), o.ID) {
			t.Fatalf("own order page: %d", r.Status)
		}
		// A notice is one the console has, never words from the link.
		if body := string(ca.do("GET", "/admin/orders?done=saved", nil).Body); !strings.Contains(body, `id="notice">Saved.</p>`) {
			t.Fatal("the console's own notice is not shown")
		}
		if body := string(ca.do("GET", "/admin/orders?done=Call+0800-SCAM+now", nil).Body); strings.Contains(body, `id="notice"`) {
			t.Fatal("a link put its own words in the console's notice")
		}
		// A forged form (no or wrong token) is refused and changes nothing.
		if r := postForm(ca, "/admin/orders/"+o.ID+"/mark-paid", url.Values{"csrf": {"forged"}}); r.Status != http.StatusForbidden {
			t.Fatalf("forged form: %d", r.Status)
		}
		// Asking to cancel only shows a confirmation.
		if r := ca.do("GET", "/admin/orders/"+o.ID+"/confirm/cancel", nil); r.Status != 200 || !strings.Contains(string(r.Body), "confirm-cancel") {
			t.Fatalf("confirm page: %d", r.Status)
		}
		var got orderJSON
		a.Owner.do("GET", "/api/v1/orders/"+o.ID, nil).must(t, 200, &got)
		if got.Status != "pending_payment" {
			t.Fatalf("order changed before confirmation: %s", got.Status)
		}
		if r := postForm(ca, "/admin/orders/"+o.ID+"/cancel", url.Values{"csrf": {csrf}}); r.Status != http.StatusSeeOther {
			t.Fatalf("confirmed cancel: %d %s", r.Status, r.Body)
		}
		a.Owner.do("GET", "/api/v1/orders/"+o.ID, nil).must(t, 200, &got)
		if got.Status != "canceled" {
			t.Fatalf("order after confirmed cancel: %s", got.Status)
		}
		// Bad input in a form shows next to its field, with nothing changed.
		r := postForm(ca, "/admin/variants/"+a.Small.ID+"/stock", url.Values{"csrf": {csrf}, "kind": {"adjusted"}, "quantity": {"-999"}})
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "cannot remove more units") {
			t.Fatalf("bad stock adjustment: %d", r.Status)
		}
		if l := a.level(t, a.Small.ID); l.OnHand != 10 {
			t.Fatalf("stock changed: %+v", l)
		}

		// Store B's staff cannot see or act on A's order or product.
		cb, csrfB := consoleSignIn(t, s, b.merchant)
		for _, path := range []string{"/admin/orders/" + o.ID, "/admin/products/" + a.Product.ID, "/admin/orders/" + o.ID + "/confirm/refund"} {
			if r := cb.do("GET", path, nil); r.Status != http.StatusNotFound {
				t.Fatalf("B GET %s: %d", path, r.Status)
			}
		}
		if r := postForm(cb, "/admin/variants/"+a.Small.ID+"/stock", url.Values{"csrf": {csrfB}, "kind": {"received"}, "quantity": {"5"}}); r.Status != http.StatusNotFound {
			t.Fatalf("B adjusts A's stock: %d", r.Status)
		}
		if l := a.level(t, a.Small.ID); l.OnHand != 10 {
			t.Fatalf("A's stock changed by B: %+v", l)
		}
		sale := activeSale(t, a, a.Large.ID, 1999, 5, 1, false)
		for path, form := range map[string]url.Values{
			"/admin/flash-sales/" + sale.ID + "/schedule": {"csrf": {csrfB}, "ends_at": {time.Now().Add(48 * time.Hour).Format("2006-01-02T15:04")}},
			"/admin/flash-sales/" + sale.ID + "/end":      {"csrf": {csrfB}, "confirmed": {"yes"}},
		} {
			if r := postForm(cb, path, form); r.Status != http.StatusNotFound {
				t.Fatalf("B posts to %s: %d", path, r.Status)
			}
		}
		var saleNow flashSaleJSON
		a.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, http.StatusOK, &saleNow)
		if saleNow.Status != "active" || !saleNow.EndsAt.Equal(sale.EndsAt) {
			t.Fatalf("A's sale changed by B: %+v", saleNow)
		}
	})
}

// TestConsolePages signs in as the owner, opens every page of the console
// and uses its forms: a discount code, a shipping zone, a tax rate, a staff
// member, an API key (shown once) and the store settings.
func TestConsolePages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		placeOrder(t, s, sh.merchant)
		c, csrf := consoleSignIn(t, s, sh.merchant)
		c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		for _, path := range []string{"/admin/", "/admin/orders", "/admin/products", "/admin/products/new", "/admin/products/" + sh.Product.ID,
			"/admin/customers", "/admin/discounts", "/admin/settings", "/admin/staff", "/admin/collections", "/admin/flash-sales"} {
			for _, lang := range []string{"en", "zh-CN"} {
				r := c.do("GET", path, nil, "Accept-Language", lang)
				if r.Status != 200 || r.Header.Get("Content-Language") != lang {
					t.Fatalf("GET %s (%s): %d %s", path, lang, r.Status, r.Header.Get("Content-Language"))
				}
			}
		}
		var customers struct {
			Data []struct{ ID string } `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/customers", nil).must(t, 200, &customers)
		if r := c.do("GET", "/admin/customers/"+customers.Data[0].ID, nil); r.Status != 200 {
			t.Fatalf("customer page: %d", r.Status)
		}

		ok := func(path string, form url.Values) {
			t.Helper()
			form.Set("csrf", csrf)
			if r := postForm(c, path, form); r.Status != http.StatusSeeOther && r.Status != http.StatusCreated {
				t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
			}
		}
		ok("/admin/collections", url.Values{"title": {"Green teas"}, "product_ids": {sh.Product.ID}})
		var cols struct {
			Data []struct {
				Title      string   `json:"title"`
				ProductIDs []string `json:"product_ids"`
			} `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/collections", nil).must(t, 200, &cols)
		if len(cols.Data) != 1 || cols.Data[0].Title != "Green teas" || len(cols.Data[0].ProductIDs) != 1 {
			t.Fatalf("collection from the console = %+v", cols.Data)
		}
		if page := string(c.do("GET", "/admin/products/"+sh.Product.ID, nil).Body); !strings.Contains(page, "Received") {
			t.Fatal("the product page shows no stock history")
		}
		ok("/admin/discounts", url.Values{"code": {"SPRING"}, "kind": {"percentage"}, "value": {"12.5"}, "usage_limit": {"50"}})
		ok("/admin/settings/zones", url.Values{"zone_name": {"Europe"}, "countries": {"DE, IT"}, "rate_name": {"Post"}, "rate_price": {"9.90"}, "free_above": {"150"}})
		ok("/admin/settings/taxes", url.Values{"country": {"DE"}, "tax_name": {"MwSt"}, "rate": {"19"}})
		ok("/admin/staff", url.Values{"email": {"new@acme.example.com"}, "role": {"staff"}, "password": {"a long password"}})
		ok("/admin/settings", url.Values{"name": {"Acme Tea House"}, "currency": {"USD"}, "time_zone": {"Europe/Berlin"}, "reservation_minutes": {"20"}})

		var d struct {
			Data []struct {
				Code       string `json:"code"`
				PercentBP  int64  `json:"percent_bp"`
				UsageLimit *int64 `json:"usage_limit"`
			} `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/discounts", nil).must(t, 200, &d)
		found := false
		for _, x := range d.Data {
			if x.Code == "SPRING" && x.PercentBP == 1250 && x.UsageLimit != nil && *x.UsageLimit == 50 {
				found = true
			}
		}
		if !found {
			t.Fatalf("discount from the console = %+v", d.Data)
		}
		// Lists filter: each search shows what matches and hides the rest.
		for _, f := range []struct{ path, shows, hides string }{
			{"/admin/discounts?q=SPR", "SPRING", "Green teas"},
			{"/admin/discounts?q=NOPE", "", "SPRING"},
			{"/admin/collections?q=green", "Green teas", "SPRING"},
			{"/admin/collections?q=black", "", "Green teas"},
			{"/admin/staff?role=staff", "new@acme.example.com", ""},
			{"/admin/staff?role=admin", "", "new@acme.example.com"},
		} {
			page := string(c.do("GET", f.path, nil).Body)
			if (f.shows != "" && !strings.Contains(page, f.shows)) || (f.hides != "" && strings.Contains(page, f.hides)) {
				t.Fatalf("GET %s: shows %q=%v hides %q=%v", f.path, f.shows, strings.Contains(page, f.shows), f.hides, !strings.Contains(page, f.hides))
			}
		}
		var store struct {
			Name               string `json:"name"`
			TimeZone           string `json:"time_zone"`
			ReservationMinutes int    `json:"reservation_minutes"`
		}
		sh.Owner.do("GET", "/api/v1/store", nil).must(t, 200, &store)
		if store.Name != "Acme Tea House" || store.TimeZone != "Europe/Berlin" || store.ReservationMinutes != 20 {
			t.Fatalf("store after settings = %+v", store)
		}
		// Bad settings are refused next to their field and change nothing.
		r := postForm(c, "/admin/settings", url.Values{"csrf": {csrf}, "name": {"X"}, "currency": {"XYZ"}, "time_zone": {"Nowhere/City"}, "reservation_minutes": {"20"}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "ISO 4217") {
			t.Fatalf("bad settings: %d", r.Status)
		}
		// A new API key is shown once, on the page that made it.
		r = postForm(c, "/admin/api-keys", url.Values{"csrf": {csrf}, "key_name": {"erp"}})
		if r.Status != http.StatusCreated || !strings.Contains(string(r.Body), "nmbk_") {
			t.Fatalf("new key page: %d", r.Status)
		}
		if page := c.do("GET", "/admin/staff", nil); strings.Contains(string(page.Body), "nmbk_") {
			t.Fatal("the key shows again after its page")
		}

		// Destructive actions ask first: revoking a key without confirmation
		// only shows the question.
		var keys struct {
			Data []struct{ ID string } `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/api-keys", nil).must(t, 200, &keys)
		victim := keys.Data[len(keys.Data)-1].ID
		r = postForm(c, "/admin/api-keys/"+victim+"/revoke", url.Values{"csrf": {csrf}})
		if r.Status != 200 || !strings.Contains(string(r.Body), `name="confirmed" value="yes"`) {
			t.Fatalf("revoke without confirmation: %d", r.Status)
		}
		var k struct {
			RevokedAt *string `json:"revoked_at"`
		}
		sh.Owner.do("GET", "/api/v1/api-keys/"+victim, nil).must(t, 200, &k)
		if k.RevokedAt != nil {
			t.Fatal("the key was revoked before confirmation")
		}
		ok("/admin/api-keys/"+victim+"/revoke", url.Values{"confirmed": {"yes"}})
		sh.Owner.do("GET", "/api/v1/api-keys/"+victim, nil).must(t, 200, &k)
		if k.RevokedAt == nil {
			t.Fatal("the confirmed revocation did not happen")
		}
	})
}

// TestConsoleLanguageFollowsTheMember: a member's choice of language is kept
// with their account, so a new sign-in from another browser shows the console
// in it whatever that browser asks for; a language we do not have is refused.
// The services' field errors are shown in it too.
func TestConsoleLanguageFollowsTheMember(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		c, csrf := consoleSignIn(t, s, sh.merchant)
		c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		r := postForm(c, "/admin/language", url.Values{"csrf": {csrf}, "language": {"fr"}, "back": {"/admin/orders"}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("unknown language: %d", r.Status)
		}
		if r := postForm(c, "/admin/language", url.Values{"language": {"zh-CN"}}); r.Status != http.StatusForbidden {
			t.Fatalf("language without CSRF token: %d", r.Status)
		}
		elsewhere, _ := consoleSignIn(t, s, sh.merchant)
		if got := elsewhere.do("GET", "/admin/orders", nil, "Accept-Language", "en").Header.Get("Content-Language"); got != "en" {
			t.Fatalf("before choosing, the console is in %q", got)
		}
		r = postForm(c, "/admin/language", url.Values{"csrf": {csrf}, "language": {"zh-CN"}, "back": {"/admin/orders"}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/admin/orders" {
			t.Fatalf("choose language: %d %s", r.Status, r.Header.Get("Location"))
		}
		elsewhere, _ = consoleSignIn(t, s, sh.merchant)
		if got := elsewhere.do("GET", "/admin/orders", nil, "Accept-Language", "en").Header.Get("Content-Language"); got != "zh-CN" {
			t.Fatalf("after choosing Chinese, another browser's console is in %q", got)
		}
		// A form refused for its stale token says so in the member's language too.
		stale := postForm(elsewhere, "/admin/language", url.Values{"csrf": {"stale"}, "language": {"en"}})
		if stale.Status != http.StatusForbidden || !strings.Contains(string(stale.Body), "此表单已过期") {
			t.Fatalf("a stale form in the console of a Chinese-speaking member: %d", stale.Status)
		}
		var me struct {
			Data []struct {
				Email    string `json:"email"`
				Language string `json:"language"`
			} `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/staff", nil).must(t, 200, &me)
		if len(me.Data) != 1 || me.Data[0].Language != "zh-CN" {
			t.Fatalf("staff list = %+v", me.Data)
		}

		// The store's, the staff's and the catalog's rules speak Chinese
		// to a member who chose it, and the API keeps answering in English.
		r = postForm(c, "/admin/settings", url.Values{"csrf": {csrf}, "name": {"Acme"}, "currency": {"XYZ"}, "time_zone": {"Nowhere/City"}, "reservation_minutes": {"20"}})
		if page := string(r.Body); r.Status != http.StatusUnprocessableEntity || !strings.Contains(page, "须为 ISO 4217 币种代码，如 USD 或 CNY") ||
			!strings.Contains(page, "须为 IANA 时区，如 Asia/Shanghai 或 UTC") || strings.Contains(page, "must be an ISO 4217") {
			t.Fatalf("bad settings in the console of a Chinese-speaking member: %d", r.Status)
		}
		r = postForm(c, "/admin/staff", url.Values{"csrf": {csrf}, "email": {"not-an-email"}, "role": {"staff"}, "password": {"a long password"}})
		if page := string(r.Body); r.Status != http.StatusUnprocessableEntity || !strings.Contains(page, "须为电子邮箱地址，如 name@example.com") {
			t.Fatalf("a bad staff email in the console of a Chinese-speaking member: %d", r.Status)
		}
		r = postForm(c, "/admin/products/"+sh.Product.ID, url.Values{"csrf": {csrf}, "title": {strings.Repeat("茶", 256)}, "status": {"active"}})
		if page := string(r.Body); r.Status != http.StatusUnprocessableEntity || !strings.Contains(page, "最多 255 个字符") {
			t.Fatalf("a product title too long in the console of a Chinese-speaking member: %d", r.Status)
		}
		if p := sh.Owner.do("PATCH", "/api/v1/store", map[string]any{"currency": "XYZ"}).mustProblem(t, http.StatusUnprocessableEntity, "invalid"); !strings.Contains(p.Detail, "currency: must be an ISO 4217 currency code such as USD or CNY") {
			t.Fatalf("the API's message = %q", p.Detail)
		}

		// So do the services' whole errors: a stock movement the stock
		// cannot cover, a product that is not there, an order's action its
		// status forbids; the API's stay English.
		r = postForm(c, "/admin/variants/"+sh.Small.ID+"/stock", url.Values{"csrf": {csrf}, "kind": {"adjusted"}, "quantity": {"-999"}})
		if page := string(r.Body); r.Status != http.StatusConflict || !strings.Contains(page, "移除的件数不能多于可用库存") || strings.Contains(page, "cannot remove") {
			t.Fatalf("a stock adjustment over what is on hand in the console of a Chinese-speaking member: %d", r.Status)
		}
		if p := sh.Owner.do("POST", "/api/v1/variants/"+sh.Small.ID+"/inventory/adjustments", map[string]any{"kind": "adjusted", "quantity": -999}).
			mustProblem(t, http.StatusConflict, "insufficient_stock"); p.Detail != "cannot remove more units than are available" {
			t.Fatalf("the API's message = %q", p.Detail)
		}
		if r := c.do("GET", "/admin/products/prd_missing", nil); r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "找不到该商品") {
			t.Fatalf("a missing product in the console of a Chinese-speaking member: %d", r.Status)
		}
		o, _ := placeOrder(t, s, sh.merchant) // manual payment: awaiting, so it cannot be marked shipped
		r = postForm(c, "/admin/orders/"+o.ID+"/fulfill", url.Values{"csrf": {csrf}, "carrier": {"SF"}, "tracking_number": {"SF1"}})
		if page := string(r.Body); r.Status != http.StatusConflict || !strings.Contains(page, "状态为“待付款”的订单不能发货") {
			t.Fatalf("an order's action its status forbids in the console of a Chinese-speaking member: %d", r.Status)
		}
	})
}

// TestConsoleFormsRunOnce: a form sent twice (a double click, a resend
// after a dropped connection) does its work once, and both clicks get the
// first one's answer; other values under the same form's key are refused;
// another session's form is its own.
func TestConsoleFormsRunOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		c, csrf := consoleSignIn(t, s, sh.merchant)
		c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		onceOf := func(c *client, path string) string { return pageFields(t, c, path).Get("once") }

		// Two clicks of "Create" at once: one sale, the same answer twice.
		start := time.Now().Add(24 * time.Hour)
		sale := url.Values{"csrf": {csrf}, "once": {onceOf(c, "/admin/flash-sales")}, "title": {"Double click"},
			"starts_at": {start.Format("2006-01-02T15:04")}, "ends_at": {start.Add(time.Hour).Format("2006-01-02T15:04")},
			"per_customer_limit": {"1"}, "sku_0": {"acme-LJ-250"}, "price_0": {"29.90"}, "allocation_0": {"5"}}
		var wg sync.WaitGroup
		answers := make([]*response, 2)
		for i := range answers {
			wg.Go(func() {
				answers[i], _ = c.send("POST", "/admin/flash-sales", sale.Encode(), "Content-Type", "application/x-www-form-urlencoded")
			})
		}
		wg.Wait()
		for i, r := range answers {
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != answers[0].Header.Get("Location") {
				t.Fatalf("click %d: %d %s %s", i, r.Status, r.Header.Get("Location"), r.Body)
			}
		}
		var list struct{ Data []flashSaleJSON }
		sh.Owner.do("GET", "/api/v1/flash-sales", nil).must(t, 200, &list)
		if len(list.Data) != 1 {
			t.Fatalf("two clicks made %d sales", len(list.Data))
		}

		// A stock adjustment sent again is replayed, not applied twice.
		receive := url.Values{"csrf": {csrf}, "once": {onceOf(c, "/admin/products/"+sh.Product.ID)}, "kind": {"received"}, "quantity": {"5"}}
		path := "/admin/variants/" + sh.Small.ID + "/stock"
		first := postForm(c, path, receive)
		again := postForm(c, path, receive)
		if first.Status != http.StatusSeeOther || again.Status != http.StatusSeeOther || again.Header.Get("Idempotent-Replayed") != "true" ||
			again.Header.Get("Location") != first.Header.Get("Location") {
			t.Fatalf("resent adjustment: %d, then %d replayed %q", first.Status, again.Status, again.Header.Get("Idempotent-Replayed"))
		}
		if l := sh.level(t, sh.Small.ID); l.OnHand != 15 {
			t.Fatalf("on hand after one adjustment sent twice = %d, want 15", l.OnHand)
		}
		// The same form with other values, its key sent to another form, or
		// an altered key: refused, changing nothing.
		receive.Set("quantity", "7")
		altered := url.Values{"csrf": {csrf}, "once": {"ключ"}, "kind": {"received"}, "quantity": {"5"}}
		for name, post := range map[string]struct {
			path string
			form url.Values
		}{
			"other values":   {path, receive},
			"another form":   {"/admin/variants/" + sh.Large.ID + "/stock", receive},
			"an altered key": {path, altered},
		} {
			if r := postForm(c, post.path, post.form); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "already sent") {
				t.Fatalf("%s: %d", name, r.Status)
			}
		}
		if small, large := sh.level(t, sh.Small.ID), sh.level(t, sh.Large.ID); small.OnHand != 15 || large.OnHand != 5 {
			t.Fatalf("on hand after refused sends = %d and %d, want 15 and 5", small.OnHand, large.OnHand)
		}
		// A form that failed can be corrected and sent with its key.
		bad := url.Values{"csrf": {csrf}, "once": {onceOf(c, "/admin/products/"+sh.Product.ID)}, "kind": {"adjusted"}, "quantity": {"-999"}}
		if r := postForm(c, path, bad); r.Status != http.StatusConflict {
			t.Fatalf("removing more than on hand: %d", r.Status)
		}
		bad.Set("quantity", "-1")
		if r := postForm(c, path, bad); r.Status != http.StatusSeeOther {
			t.Fatalf("the corrected form: %d %s", r.Status, r.Body)
		}
		// Another session's post is its own, even with the same key.
		other, csrf2 := consoleSignIn(t, s, sh.merchant)
		other.http.CheckRedirect = c.http.CheckRedirect
		mine := url.Values{"csrf": {csrf2}, "once": receive["once"], "kind": {"received"}, "quantity": {"5"}}
		if r := postForm(other, path, mine); r.Status != http.StatusSeeOther || r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("another session's form with the same key: %d replayed %q", r.Status, r.Header.Get("Idempotent-Replayed"))
		}
		if l := sh.level(t, sh.Small.ID); l.OnHand != 19 {
			t.Fatalf("on hand = %d, want 19", l.OnHand)
		}
	})
}

// TestConsoleStaffFilteredPage: disabling a member from a filtered staff
// list asks first, and the question's answers (yes or no) lead back to the
// list as it was filtered.
func TestConsoleStaffFilteredPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		c, csrf := consoleSignIn(t, s, sh.merchant)
		c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		if r := postForm(c, "/admin/staff", url.Values{"csrf": {csrf}, "email": {"clerk@acme.example.com"}, "role": {"staff"}, "password": {"a long password"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("new member: %d", r.Status)
		}
		const list = "/admin/staff?status=active&role=staff"
		page := string(c.do("GET", list, nil).must(t, http.StatusOK, nil).Body)
		row := regexp.MustCompile(`action="(/admin/staff/(\w+)/status\?[^"]+)"`).FindStringSubmatch(page)
		if row == nil {
			t.Fatal("the filtered list's row posts without the list's filters")
		}
		action, id := html.UnescapeString(row[1]), row[2]
		if action != "/admin/staff/"+id+"/status?status=active&role=staff" {
			t.Fatalf("the row posts to %s", action)
		}
		question := string(postForm(c, action, url.Values{"csrf": {csrf}, "status": {"disabled"}}).must(t, http.StatusOK, nil).Body)
		no := regexp.MustCompile(`<a href="([^"]+)">No, go back</a>`).FindStringSubmatch(question)
		if no == nil || html.UnescapeString(no[1]) != list {
			t.Fatalf("the question's way back leads to %v, want the filtered list, %s", no, list)
		}
		r := postForm(c, action, url.Values{"csrf": {csrf}, "status": {"disabled"}, "confirmed": {"yes"}})
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), list+"&done=") {
			t.Fatalf("disable from the filtered list: %d to %q, want back to %s", r.Status, r.Header.Get("Location"), list)
		}
		if page := string(c.do("GET", list, nil).must(t, http.StatusOK, nil).Body); strings.Contains(page, "clerk@acme.example.com") {
			t.Fatal("the disabled member is still listed as active")
		}
	})
}
