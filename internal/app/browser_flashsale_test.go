package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// waitInPage waits until a JavaScript condition holds in the page, failing
// (with a screenshot) if it does not within a few of the page's polls.
func waitInPage(t *testing.T, ctx context.Context, step, condition string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](condition, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		failWithScreenshot(t, ctx, step, err)
	}
}

// block makes a tab fail its requests for urls (none: all go through again).
func block(t *testing.T, ctx context.Context, urls ...string) {
	t.Helper()
	var patterns []*network.BlockPattern
	for _, u := range urls {
		patterns = append(patterns, &network.BlockPattern{URLPattern: u, Block: true})
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns}); err != nil {
		t.Fatal(err)
	}
}

// TestFlashSaleLiveInBrowser: a sale page left open follows the sale
// without a reload. The count falls as other shoppers buy; the item, the
// button and the page say sold out when the last unit goes; a canceled
// order's unit comes back to it. A coming sale's page shows the form with
// its button disabled, enables it when the sale starts without asking at
// the start, and the shopper buys; so does the product page's offer. The
// product page's offer follows its sale as the sale page does.
func TestFlashSaleLiveInBrowser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		sale := activeSale(t, sh, sh.Large.ID, 1999, 2, 1, false)
		buy := "/api/v1/storefront/acme/flash-sales/" + sale.ID + "/orders"
		ctx := browser(t)
		count := `document.querySelector('[data-left-of="` + sh.Large.ID + `"]').textContent`
		choice := `document.querySelector('input[value="` + sh.Large.ID + `"]')`
		button := `document.getElementById("buy-now")`
		soldOut := `document.querySelector('[data-when="sold-out"]')`
		c := s.client(t)

		// What the page reads: public, so a cache in front may answer a crowd.
		if r := c.do("GET", "/api/v1/storefront/acme/flash-sales/"+sale.ID, nil).must(t, http.StatusOK, nil); r.Header.Get("Cache-Control") != "public, max-age=1" {
			t.Fatalf("the sale's JSON is sent with Cache-Control %q", r.Header.Get("Cache-Control"))
		}
		do(t, ctx, "the sale page", chromedp.Navigate(s.URL+"/s/acme/flash-sales/"+sale.ID), chromedp.WaitVisible(chromedp.ID("buy-now")))
		waitInPage(t, ctx, "two left", count+` === "2 left" && !`+button+`.disabled && `+soldOut+`.hidden`)

		var first boughtJSON
		c.do("POST", buy, buyBody(sh, sh.Large.ID, "ada@example.com", 1)).must(t, http.StatusCreated, &first)
		waitInPage(t, ctx, "one left", count+` === "1 left"`)
		c.do("POST", buy, buyBody(sh, sh.Large.ID, "bo@example.com", 1)).must(t, http.StatusCreated, nil)
		waitInPage(t, ctx, "sold out", count+` === "Sold out" && `+choice+`.disabled && !`+choice+`.checked && `+
			button+`.disabled && !`+soldOut+`.hidden`)

		sh.Owner.do("POST", "/api/v1/orders/"+first.Order.ID+"/cancel", map[string]any{}).must(t, http.StatusOK, nil)
		waitInPage(t, ctx, "the unit back", count+` === "1 left" && !`+choice+`.disabled && !`+button+`.disabled && `+soldOut+`.hidden`)

		// A sale that starts in a few seconds.
		var coming flashSaleJSON
		starts := time.Now().Add(6 * time.Second)
		sh.Owner.do("POST", "/api/v1/flash-sales", map[string]any{"title": "Soon", "starts_at": starts, "ends_at": starts.Add(time.Hour),
			"items": []map[string]any{{"variant_id": sh.Small.ID, "sale_price": 1000, "allocation": 5}}}).must(t, http.StatusCreated, &coming)
		if page := string(c.do("GET", "/s/acme/flash-sales/"+coming.ID, nil).must(t, http.StatusOK, nil).Body); time.Now().Before(starts) &&
			!strings.Contains(page, `id="buy-now" data-buy disabled`) {
			t.Fatal("a coming sale's page lets the shopper buy before it starts")
		}
		// Both wait for the start without asking at it. The sale page says
		// when it starts: loaded with its asks blocked, it opens all the
		// same. The product page (kept a second, so not saying) asks once,
		// then opens the offer itself: its asks are blocked after the first.
		jsonURL := s.URL + "/api/v1/storefront/acme/flash-sales/" + coming.ID
		block(t, ctx, jsonURL)
		do(t, ctx, "the coming sale's page", chromedp.Navigate(s.URL+"/s/acme/flash-sales/"+coming.ID), chromedp.WaitVisible(chromedp.ID("buy-now")))
		waitFor(t, func() bool {
			return strings.Contains(string(c.do("GET", "/s/acme/products/"+sh.Product.Handle, nil).Body), "/s/acme/flash-sales/"+coming.ID)
		}, "the coming sale on the product page")
		other, closeOther := chromedp.NewContext(ctx) // a second tab
		defer closeOther()
		box := `document.querySelector('section[data-flash-sale$="` + coming.ID + `"]')`
		do(t, other, "the product page before the start", chromedp.Navigate(s.URL+"/s/acme/products/"+sh.Product.Handle),
			chromedp.WaitVisible(chromedp.CSS("section.flash-sale")))
		waitInPage(t, other, "the product page asks", box+`.dataset.asked === "1" && `+box+`.querySelector('[data-buy]').hidden`)
		block(t, other, jsonURL)

		waitInPage(t, ctx, "the sale starts", `!`+button+`.disabled && document.querySelector('[data-when="scheduled"]').hidden && `+
			`!document.querySelector('[data-when="active"]').hidden && document.querySelector('input[value="`+sh.Small.ID+`"]').checked && `+
			`document.querySelector('[data-flash-sale]').dataset.asked === undefined`)
		waitInPage(t, other, "the offer starts", `!`+box+`.querySelector('[data-buy]').hidden && `+box+`.querySelector('[data-when="scheduled"]').hidden`)
		block(t, ctx)
		do(t, ctx, "buy in the sale", append(typeAddress("cy@example.com", "Cy Young"),
			chromedp.Click(chromedp.ID("buy-now")), chromedp.WaitVisible(chromedp.ID("order-status")))...)
		var got flashSaleJSON
		sh.Owner.do("GET", "/api/v1/flash-sales/"+coming.ID, nil).must(t, http.StatusOK, &got)
		if got.Items[0].Sold != 1 {
			t.Fatalf("sold in the coming sale after the browser's buy = %d, want 1", got.Items[0].Sold)
		}

		// The product page's offer follows the sale too.
		offer := `document.querySelector('section [data-left-of="` + sh.Small.ID + `"]').textContent`
		do(t, ctx, "the product page", chromedp.Navigate(s.URL+"/s/acme/products/"+sh.Product.Handle), chromedp.WaitVisible(chromedp.CSS("section.flash-sale")))
		waitInPage(t, ctx, "four left on the product page", offer+` === "4 left"`)
		c.do("POST", "/api/v1/storefront/acme/flash-sales/"+coming.ID+"/orders", buyBody(sh, sh.Small.ID, "di@example.com", 1)).
			must(t, http.StatusCreated, nil)
		waitInPage(t, ctx, "three left on the product page", offer+` === "3 left"`)
	})
}
