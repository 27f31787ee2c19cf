package app_test

import (
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/app"
	"github.com/nimbuscommerce/nimbus/internal/flashsale"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

type flashSaleJSON struct {
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	StartsAt         time.Time `json:"starts_at"`
	EndsAt           time.Time `json:"ends_at"`
	PerCustomerLimit int64     `json:"per_customer_limit"`
	Items            []struct {
		VariantID  string `json:"variant_id"`
		SalePrice  int64  `json:"sale_price"`
		Allocation int64  `json:"allocation"`
		Sold       int64  `json:"sold"`
		Remaining  int64  `json:"remaining"`
	} `json:"items"`
}

// TestFlashSaleSetup: a merchant sets up a sale of their own variants at
// or below the regular price; it is scheduled until it starts, and ending it
// early closes it. Bad sales are refused field by field and leave nothing.
func TestFlashSaleSetup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		other := openShop(t, s, "other")
		start, end := time.Now().Add(time.Hour).UTC().Truncate(time.Second), time.Now().Add(3*time.Hour).UTC().Truncate(time.Second)
		good := map[string]any{"title": "Singles' Day", "starts_at": start, "ends_at": end, "per_customer_limit": 2,
			"items": []map[string]any{{"variant_id": sh.Large.ID, "sale_price": 1999, "allocation": 100}}}

		for name, c := range map[string]struct {
			change map[string]any
			field  string
		}{
			"window backwards":    {map[string]any{"ends_at": start.Add(-time.Minute)}, "ends_at"},
			"over regular price":  {map[string]any{"items": []map[string]any{{"variant_id": sh.Large.ID, "sale_price": 4001, "allocation": 1}}}, "items[0].sale_price"},
			"another store's":     {map[string]any{"items": []map[string]any{{"variant_id": other.Large.ID, "sale_price": 1, "allocation": 1}}}, "items[0].variant_id"},
			"twice the variant":   {map[string]any{"items": []map[string]any{{"variant_id": sh.Large.ID, "sale_price": 1, "allocation": 1}, {"variant_id": sh.Large.ID, "sale_price": 1, "allocation": 1}}}, "items[1].variant_id"},
			"no allocation":       {map[string]any{"items": []map[string]any{{"variant_id": sh.Large.ID, "sale_price": 1, "allocation": 0}}}, "items[0].allocation"},
			"already over":        {map[string]any{"starts_at": time.Now().Add(-2 * time.Hour), "ends_at": time.Now().Add(-time.Hour)}, "ends_at"},
			"no items":            {map[string]any{"items": []map[string]any{}}, "items"},
			"a limit past int64":  {map[string]any{"per_customer_limit": 1e20}, "per_customer_limit"},
			"a negative price":    {map[string]any{"items": []map[string]any{{"variant_id": sh.Large.ID, "sale_price": -1, "allocation": 1}}}, "items[0].sale_price"},
			"a price past bounds": {map[string]any{"items": []map[string]any{{"variant_id": sh.Large.ID, "sale_price": 1e13, "allocation": 1}}}, "items[0].sale_price"},
			"too much allocated":  {map[string]any{"items": []map[string]any{{"variant_id": sh.Large.ID, "sale_price": 1, "allocation": 10_000_001}}}, "items[0].allocation"},
		} {
			body := map[string]any{}
			for k, v := range good {
				body[k] = v
			}
			for k, v := range c.change {
				body[k] = v
			}
			p := sh.Owner.do("POST", "/api/v1/flash-sales", body).mustProblem(t, http.StatusUnprocessableEntity, "invalid")
			if !p.hasField(c.field) {
				t.Errorf("%s: problem %+v does not name %s", name, p.Errors, c.field)
			}
		}
		var none struct{ Data []flashSaleJSON }
		sh.Owner.do("GET", "/api/v1/flash-sales", nil).must(t, 200, &none)
		if len(none.Data) != 0 {
			t.Fatalf("refused sales left %d behind", len(none.Data))
		}

		var sale flashSaleJSON
		sh.Owner.do("POST", "/api/v1/flash-sales", good).must(t, http.StatusCreated, &sale)
		if sale.Status != "scheduled" || !sale.StartsAt.Equal(start) || sale.PerCustomerLimit != 2 || len(sale.Items) != 1 ||
			sale.Items[0].Remaining != 100 || sale.Items[0].SalePrice != 1999 {
			t.Fatalf("new sale = %+v", sale)
		}
		var got flashSaleJSON
		sh.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, 200, &got)
		if got.ID != sale.ID || got.Items[0].VariantID != sh.Large.ID || got.Items[0].Allocation != 100 {
			t.Fatalf("read back = %+v", got)
		}
		// A variant is in one sale at a time (the same form sent twice
		// would otherwise make two sales, each with its limit); after the
		// sale, it may be in another.
		overlap := map[string]any{"title": "Again", "starts_at": start.Add(-30 * time.Minute), "ends_at": start.Add(time.Minute),
			"items": []map[string]any{{"variant_id": sh.Small.ID, "sale_price": 1, "allocation": 1}, {"variant_id": sh.Large.ID, "sale_price": 1, "allocation": 1}}}
		if p := sh.Owner.do("POST", "/api/v1/flash-sales", overlap).mustProblem(t, http.StatusUnprocessableEntity, "invalid"); !p.hasField("items[1].variant_id") || p.hasField("items[0].variant_id") {
			t.Fatalf("a variant in two sales at once: %+v", p.Errors)
		}
		overlap["starts_at"], overlap["ends_at"] = end, end.Add(time.Hour)
		var after flashSaleJSON
		sh.Owner.do("POST", "/api/v1/flash-sales", overlap).must(t, http.StatusCreated, &after)
		sh.Owner.do("POST", "/api/v1/flash-sales/"+after.ID+"/end", nil).must(t, 200, nil) // out of the way of the list below
		var ended flashSaleJSON
		sh.Owner.do("POST", "/api/v1/flash-sales/"+sale.ID+"/end", nil).must(t, 200, &ended)
		if ended.Status != "ended" || ended.EndsAt.After(time.Now()) {
			t.Fatalf("ended sale = %+v", ended)
		}
		sh.Owner.do("GET", "/api/v1/flash-sales/"+sale.ID, nil).must(t, 200, &got)
		if got.Status != "ended" {
			t.Fatalf("after ending, the sale is %q", got.Status)
		}

		// The list carries each sale's own items.
		second := map[string]any{"title": "Tea time", "starts_at": start, "ends_at": end,
			"items": []map[string]any{{"variant_id": sh.Small.ID, "sale_price": 1000, "allocation": 7}, {"variant_id": sh.Large.ID, "sale_price": 2000, "allocation": 8}}}
		sh.Owner.do("POST", "/api/v1/flash-sales", second).must(t, http.StatusCreated, nil)
		var all struct{ Data []flashSaleJSON }
		sh.Owner.do("GET", "/api/v1/flash-sales", nil).must(t, 200, &all)
		if len(all.Data) != 3 || len(all.Data[0].Items) != 1 || len(all.Data[2].Items) != 2 ||
			all.Data[2].Items[0].VariantID != sh.Small.ID || all.Data[2].Items[1].Allocation != 8 {
			t.Fatalf("sales listed = %+v", all.Data)
		}
	})
}

// TestConsoleFlashSales: a merchant sets up a sale in the console by SKU, in
// the store's time zone (the test stores are in Asia/Shanghai); mistakes
// show next to their field; ending it asks first.
func TestConsoleFlashSales(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		c, csrf := consoleSignIn(t, s, sh.merchant)
		c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		shanghai, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now().Add(24 * time.Hour).In(shanghai)
		form := url.Values{"csrf": {csrf}, "title": {"Midnight madness"}, "per_customer_limit": {"2"},
			"starts_at": {start.Format("2006-01-02T15:04")}, "ends_at": {start.Add(time.Hour).Format("2006-01-02T15:04")},
			"sku_0": {"acme-LJ-250"}, "price_0": {"45.00"}, "allocation_0": {"20"}}

		r := postForm(c, "/admin/flash-sales", form)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "regular price (40.00)") {
			t.Fatalf("sale above the regular price: %d", r.Status)
		}
		// In the member's language, the services' messages too.
		language := func(lang string) {
			t.Helper()
			if r := postForm(c, "/admin/language", url.Values{"csrf": {csrf}, "language": {lang}}); r.Status != http.StatusSeeOther {
				t.Fatalf("choose %s: %d", lang, r.Status)
			}
		}
		language("zh-CN")
		backwards := maps.Clone(form)
		backwards.Set("ends_at", start.Add(-time.Hour).Format("2006-01-02T15:04"))
		if r := postForm(c, "/admin/flash-sales", backwards); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "须晚于开始时间") {
			t.Fatalf("a sale ending before it starts: the console in Chinese does not say so in Chinese (%d)", r.Status)
		}
		if r := postForm(c, "/admin/flash-sales", form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "不能高于原价（40.00）") {
			t.Fatalf("a sale above the regular price: the console in Chinese does not say so in Chinese (%d)", r.Status)
		}
		language("en")
		form.Set("price_0", "29.90")
		form.Set("sku_1", "NO-SUCH-SKU")
		form.Set("price_1", "1")
		form.Set("allocation_1", "1")
		if r := postForm(c, "/admin/flash-sales", form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "not a SKU") {
			t.Fatalf("unknown SKU: %d", r.Status)
		}
		var list struct{ Data []flashSaleJSON }
		sh.Owner.do("GET", "/api/v1/flash-sales", nil).must(t, 200, &list)
		if len(list.Data) != 0 {
			t.Fatalf("refused forms made %d sales", len(list.Data))
		}

		form.Del("sku_1")
		if r := postForm(c, "/admin/flash-sales", form); r.Status != http.StatusSeeOther {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		sh.Owner.do("GET", "/api/v1/flash-sales", nil).must(t, 200, &list)
		if len(list.Data) != 1 || list.Data[0].Items[0].VariantID != sh.Large.ID || list.Data[0].Items[0].SalePrice != 2990 ||
			list.Data[0].PerCustomerLimit != 2 || !list.Data[0].StartsAt.Equal(start.Truncate(time.Minute)) {
			t.Fatalf("sale from the console = %+v (typed %s in Shanghai)", list.Data, start)
		}
		page := string(c.do("GET", "/admin/flash-sales", nil).Body)
		if !strings.Contains(page, "Midnight madness") || !strings.Contains(page, "acme-LJ-250") || !strings.Contains(page, "20 of 20 left") {
			t.Fatal("the list does not show the sale and what is left")
		}

		id := list.Data[0].ID
		// Its times change from its row, in the store's time zone; a bad
		// change says why next to the row and changes nothing.
		schedule := "/admin/flash-sales/" + id + "/schedule"
		if page := string(c.do("GET", "/admin/flash-sales", nil).Body); !strings.Contains(page, `action="`+schedule+`"`) ||
			!strings.Contains(page, `value="`+start.Format("2006-01-02T15:04")+`"`) {
			t.Fatal("the sale's row has no form to change its times, shown in the store's time")
		}
		moved := start.Add(24 * time.Hour)
		r = postForm(c, schedule, url.Values{"csrf": {csrf}, "starts_at": {moved.Format("2006-01-02T15:04")},
			"ends_at": {moved.Add(time.Hour).Format("2006-01-02T15:04")}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("reschedule: %d %s", r.Status, r.Body)
		}
		r = postForm(c, schedule, url.Values{"csrf": {csrf}, "starts_at": {moved.Format("2006-01-02T15:04")},
			"ends_at": {moved.Add(-time.Hour).Format("2006-01-02T15:04")}})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "Ends (store time): must be after the start") ||
			!strings.Contains(string(r.Body), `value="`+moved.Add(-time.Hour).Format("2006-01-02T15:04")+`"`) {
			t.Fatalf("an end before the start, shown again as typed: %d", r.Status)
		}
		sh.Owner.do("GET", "/api/v1/flash-sales", nil).must(t, 200, &list)
		if !list.Data[0].StartsAt.Equal(moved.Truncate(time.Minute)) || !list.Data[0].EndsAt.Equal(moved.Add(time.Hour).Truncate(time.Minute)) {
			t.Fatalf("rescheduled from the console: %s – %s, typed %s in Shanghai", list.Data[0].StartsAt, list.Data[0].EndsAt, moved)
		}
		// A member of the staff role sees the sales, without the forms
		// that would only answer "this needs the admin role".
		createStaff(t, sh.Owner, "clerk@acme.example.com", "staff")
		clerk, clerkCSRF := consoleSignIn(t, s, &merchant{Handle: sh.Handle, Email: "clerk@acme.example.com", Password: "staff password 1"})
		if page := string(clerk.do("GET", "/admin/flash-sales", nil).must(t, http.StatusOK, nil).Body); !strings.Contains(page, "Midnight madness") ||
			strings.Contains(page, `action="/admin/flash-sales"`) || strings.Contains(page, "/end\"") || strings.Contains(page, "/schedule\"") {
			t.Fatal("a staff member's sales page: want the sale listed, without the new-sale and end forms")
		}
		// ... nor may they change its times, in the console or the API.
		if r := postForm(clerk, schedule, url.Values{"csrf": {clerkCSRF}, "ends_at": {moved.Add(2 * time.Hour).Format("2006-01-02T15:04")}}); r.Status != http.StatusForbidden {
			t.Fatalf("a staff member reschedules in the console: %d", r.Status)
		}
		clerkAPI := s.login(t, sh.Handle, "clerk@acme.example.com", "staff password 1")
		clerkAPI.do("PATCH", "/api/v1/flash-sales/"+id, map[string]any{"ends_at": moved.Add(2 * time.Hour)}).mustProblem(t, http.StatusForbidden, "forbidden")
		sh.Owner.do("GET", "/api/v1/flash-sales", nil).must(t, 200, &list)
		if !list.Data[0].EndsAt.Equal(moved.Add(time.Hour).Truncate(time.Minute)) {
			t.Fatalf("a staff member's change was kept: ends %s", list.Data[0].EndsAt)
		}
		if page := string(c.do("GET", "/admin/flash-sales", nil).Body); !strings.Contains(page, `action="/admin/flash-sales"`) || !strings.Contains(page, "/end\"") {
			t.Fatal("the owner's sales page lacks its forms")
		}
		r = postForm(c, "/admin/flash-sales/"+id+"/end", url.Values{"csrf": {csrf}})
		if r.Status != 200 || !strings.Contains(string(r.Body), `name="confirmed" value="yes"`) {
			t.Fatalf("end without confirmation: %d", r.Status)
		}
		var got flashSaleJSON
		sh.Owner.do("GET", "/api/v1/flash-sales/"+id, nil).must(t, 200, &got)
		if got.Status != "scheduled" {
			t.Fatalf("before confirmation the sale is %q", got.Status)
		}
		if r := postForm(c, "/admin/flash-sales/"+id+"/end", url.Values{"csrf": {csrf}, "confirmed": {"yes"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("end: %d", r.Status)
		}
		sh.Owner.do("GET", "/api/v1/flash-sales/"+id, nil).must(t, 200, &got)
		if got.Status != "ended" {
			t.Fatalf("after ending, the sale is %q", got.Status)
		}
		// A change sent from a page shown before the sale ended says so on the sales page.
		r = postForm(c, schedule, url.Values{"csrf": {csrf}, "ends_at": {moved.Add(2 * time.Hour).Format("2006-01-02T15:04")}})
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "the sale has ended; set up a new one") || !strings.Contains(string(r.Body), `action="/admin/flash-sales"`) {
			t.Fatalf("changing an ended sale: %d", r.Status)
		}
	})
}

// TestConsoleSalesPastTheFirstPage: a row's forms on a later page of the
// sales list post with that page's cursor, so that a refused change shows
// on its row again (not only as the page's general alert), and a kept one,
// an end or the end's "No" goes back to the page it was made on.
func TestConsoleSalesPastTheFirstPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		c, csrf := consoleSignIn(t, s, sh.merchant)
		c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		day := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
		for i := range 51 { // a page holds 50
			at := day.Add(time.Duration(i) * time.Hour)
			sh.Owner.do("POST", "/api/v1/flash-sales", map[string]any{"title": fmt.Sprint("Hour ", i), "starts_at": at, "ends_at": at.Add(time.Hour),
				"items": []map[string]any{{"variant_id": sh.Small.ID, "sale_price": 1000, "allocation": 1}}}).must(t, http.StatusCreated, nil)
		}
		first := string(c.do("GET", "/admin/flash-sales", nil).must(t, http.StatusOK, nil).Body)
		next := regexp.MustCompile(`href="(/admin/flash-sales\?cursor=[^"]+)"`).FindStringSubmatch(first)
		if next == nil {
			t.Fatal("51 sales: the list has no next page")
		}
		later := html.UnescapeString(next[1])
		page := string(c.do("GET", later, nil).must(t, http.StatusOK, nil).Body)
		row := regexp.MustCompile(`action="(/admin/flash-sales/(\w+)/schedule\?cursor=[^"]+)"`).FindStringSubmatch(page)
		if row == nil {
			t.Fatal("the later page's row posts without its page's cursor")
		}
		schedule, id := html.UnescapeString(row[1]), row[2]
		if strings.Contains(first, "/admin/flash-sales/"+id+"/") {
			t.Fatal("the later page's sale is on the first page too")
		}
		var sale flashSaleJSON
		sh.Owner.do("GET", "/api/v1/flash-sales/"+id, nil).must(t, http.StatusOK, &sale)
		shanghai, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			t.Fatal(err)
		}
		typed := sale.StartsAt.In(shanghai).Add(-time.Hour).Format("2006-01-02T15:04")
		r := postForm(c, schedule, url.Values{"csrf": {csrf}, "once": {pageFields(t, c, later).Get("once")}, "ends_at": {typed}})
		body := string(r.Body)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(body, "Ends (store time): must be after the start") ||
			!strings.Contains(body, `value="`+typed+`"`) || !strings.Contains(body, "/admin/flash-sales/"+id+"/schedule") {
			t.Fatalf("a refused change on the later page: %d, want its row with why and what was typed", r.Status)
		}
		var got flashSaleJSON
		if sh.Owner.do("GET", "/api/v1/flash-sales/"+id, nil).must(t, http.StatusOK, &got); !got.EndsAt.Equal(sale.EndsAt) {
			t.Fatalf("the refused change moved the end to %s", got.EndsAt)
		}
		kept := sale.EndsAt.In(shanghai).Add(30 * time.Minute).Format("2006-01-02T15:04")
		r = postForm(c, schedule, url.Values{"csrf": {csrf}, "once": {pageFields(t, c, later).Get("once")}, "ends_at": {kept}})
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), later+"&done=") {
			t.Fatalf("a kept change: %d to %q, want back to %q", r.Status, r.Header.Get("Location"), later)
		}
		if sh.Owner.do("GET", "/api/v1/flash-sales/"+id, nil).must(t, http.StatusOK, &got); !got.EndsAt.Equal(sale.EndsAt.Add(30 * time.Minute)) {
			t.Fatalf("the kept change: ends %s, want %s", got.EndsAt, sale.EndsAt.Add(30*time.Minute))
		}
		end := strings.Replace(schedule, "/schedule?", "/end?", 1)
		if !strings.Contains(page, `action="`+html.EscapeString(end)+`"`) {
			t.Fatalf("the later page's end form does not post with its page (%s)", end)
		}
		// Ending asks first; the question's form posts to the page's address too.
		question := string(postForm(c, end, url.Values{"csrf": {csrf}}).must(t, http.StatusOK, nil).Body)
		confirmed := regexp.MustCompile(`<form method="post" action="([^"]+)" class="confirm">`).FindStringSubmatch(question)
		if confirmed == nil || html.UnescapeString(confirmed[1]) != end {
			t.Fatalf("the question posts to %v, want %s", confirmed, end)
		}
		no := regexp.MustCompile(`<a href="([^"]+)">No, go back</a>`).FindStringSubmatch(question)
		if no == nil || html.UnescapeString(no[1]) != later {
			t.Fatalf("the question's way back leads to %v, want the page it was asked from, %s", no, later)
		}
		if r := postForm(c, html.UnescapeString(confirmed[1]), url.Values{"csrf": {csrf}, "confirmed": {"yes"}}); r.Status != http.StatusSeeOther ||
			!strings.HasPrefix(r.Header.Get("Location"), later+"&done=") {
			t.Fatalf("end on the later page: %d to %q", r.Status, r.Header.Get("Location"))
		}
	})
}

// TestFlashSaleReschedule: a scheduled sale moves, not into the past nor
// onto another sale of its variants; a running one keeps its start and
// ends later or sooner, and shoppers see it; an ended one stays ended;
// another store cannot touch it.
func TestFlashSaleReschedule(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		day := time.Now().Add(24 * time.Hour).Truncate(time.Minute)
		sale := func(starts, ends time.Time) flashSaleJSON {
			var got flashSaleJSON
			sh.Owner.do("POST", "/api/v1/flash-sales", map[string]any{"title": "Later", "starts_at": starts, "ends_at": ends,
				"items": []map[string]any{{"variant_id": sh.Small.ID, "sale_price": 1000, "allocation": 5}}}).must(t, http.StatusCreated, &got)
			return got
		}
		first := sale(day, day.Add(time.Hour))
		second := sale(day.Add(3*time.Hour), day.Add(4*time.Hour))
		path := "/api/v1/flash-sales/" + first.ID

		var got flashSaleJSON
		sh.Owner.do("PATCH", path, map[string]any{"starts_at": day.Add(-time.Hour), "ends_at": day.Add(30 * time.Minute)}).must(t, http.StatusOK, &got)
		if !got.StartsAt.Equal(day.Add(-time.Hour)) || !got.EndsAt.Equal(day.Add(30*time.Minute)) || got.Status != "scheduled" {
			t.Fatalf("moved: %+v", got)
		}
		for name, c := range map[string]struct {
			body  map[string]any
			field string
		}{
			"a start already past":           {map[string]any{"starts_at": time.Now().Add(-time.Minute)}, "starts_at"},
			"an end before the start":        {map[string]any{"ends_at": day.Add(-2 * time.Hour)}, "ends_at"},
			"onto the next sale of its item": {map[string]any{"ends_at": day.Add(3*time.Hour + time.Minute)}, "items[0].variant_id"},
			"nothing to change":              {map[string]any{}, "ends_at"},
		} {
			if p := sh.Owner.do("PATCH", path, c.body).mustProblem(t, http.StatusUnprocessableEntity, "invalid"); !p.hasField(c.field) {
				t.Fatalf("%s: %+v", name, p)
			}
		}
		sh.Owner.do("GET", path, nil).must(t, http.StatusOK, &got)
		if !got.StartsAt.Equal(day.Add(-time.Hour)) || !got.EndsAt.Equal(day.Add(30*time.Minute)) {
			t.Fatalf("refused changes changed the sale: %+v", got)
		}
		// Right up to the next sale is not onto it.
		sh.Owner.do("PATCH", path, map[string]any{"ends_at": day.Add(3 * time.Hour)}).must(t, http.StatusOK, &got)
		other := openShop(t, s, "other")
		other.Owner.do("PATCH", path, map[string]any{"ends_at": day.Add(2 * time.Hour)}).mustProblem(t, http.StatusNotFound, "not_found")

		// A running sale: its end moves, its start does not.
		running := activeSale(t, sh, sh.Large.ID, 1999, 5, 1, false)
		path = "/api/v1/flash-sales/" + running.ID
		later := running.EndsAt.Add(time.Hour)
		sh.Owner.do("PATCH", path, map[string]any{"ends_at": later}).must(t, http.StatusOK, &got)
		if !got.EndsAt.Equal(later) || got.Status != "active" {
			t.Fatalf("a running sale made longer: %+v", got)
		}
		if p := sh.Owner.do("PATCH", path, map[string]any{"starts_at": running.StartsAt.Add(time.Second)}).mustProblem(t, http.StatusUnprocessableEntity, "invalid"); !p.hasField("starts_at") {
			t.Fatalf("a running sale's start moved: %+v", p)
		}
		if p := sh.Owner.do("PATCH", path, map[string]any{"ends_at": time.Now().Add(-time.Second)}).mustProblem(t, http.StatusUnprocessableEntity, "invalid"); !p.hasField("ends_at") {
			t.Fatalf("a running sale ended in the past: %+v", p)
		}
		anon := s.client(t)
		waitFor(t, func() bool {
			return publicSale(t, anon, "acme", running.ID).EndsAt.Equal(later)
		}, "shoppers see the sale's new end")

		sh.Owner.do("POST", path+"/end", nil).must(t, http.StatusOK, nil)
		sh.Owner.do("PATCH", path, map[string]any{"ends_at": later}).mustProblem(t, http.StatusConflict, "conflict")
		sh.Owner.do("GET", "/api/v1/flash-sales/"+second.ID, nil).must(t, http.StatusOK, &got)
		if !got.StartsAt.Equal(day.Add(3 * time.Hour)) {
			t.Fatalf("the other sale moved: %+v", got)
		}
	})
}

// TestFlashSaleRampFollowsTheBackend: a server's sales start their bursts
// from its database's ramp (PostgreSQL's round trips make the first
// batches slow), unless the config says otherwise.
func TestFlashSaleRampFollowsTheBackend(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		d := s.FlashSales.DB.Dialect()
		if got, want := s.FlashSales.Burst.Ramp, flashsale.DefaultRamp(d); got != want || (d == db.Postgres) != (got > 0) {
			t.Fatalf("ramp %d on %v, want %d, and one only on PostgreSQL", got, d, want)
		}
	})
	forEachBackendWith(t, app.Config{FlashSale: flashsale.Burst{Ramp: -1}}, func(t *testing.T, s *testServer) {
		if got := s.FlashSales.Burst.Ramp; got != -1 {
			t.Fatalf("a configured ramp (none) became %d", got)
		}
	})
}
