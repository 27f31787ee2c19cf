package app_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium for a test, or skips the test when
// Chromium is not installed, except in CI (CI=true), where that fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("CHROME_PATH")
	if path == "" {
		for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		if _, err := exec.LookPath("chromium"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("Chromium is not installed (apt-get install -y chromium); CI must run the browser tests")
			}
			t.Skip("Chromium is not installed: apt-get install -y chromium (or set CHROME_PATH) to run the browser tests")
		}
		path = "chromium"
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// do runs browser steps; on failure it saves a screenshot and fails.
func do(t *testing.T, ctx context.Context, step string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		failWithScreenshot(t, ctx, step, err)
	}
}

// text reads the text of an element, failing (with a screenshot) if it cannot.
func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		failWithScreenshot(t, ctx, "read #"+id, err)
	}
	return strings.TrimSpace(s)
}

func failWithScreenshot(t *testing.T, ctx context.Context, step string, err error) {
	t.Helper()
	{
		shotCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if png, serr := chromedp.Run(shotCtx, chromedp.FullScreenshot(80)); serr == nil {
			dir := filepath.Join(os.TempDir(), "nimbus-screenshots")
			os.MkdirAll(dir, 0o755)
			name := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()+"-"+step)+".jpg")
			if os.WriteFile(name, png, 0o644) == nil {
				t.Logf("screenshot: %s", name)
			}
		}
		t.Fatalf("%s: %v", step, err)
	}
}

// TestShopperBuysInBrowser: a shopper finds a product in the storefront,
// picks a variant, adds two to the cart, checks out with an address and the
// discount code, pays with the test card and sees the paid order. Then the
// stock and the order are checked through the API.
func TestShopperBuysInBrowser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		if err := s.SeedDemo(context.Background(), io.Discard); err != nil {
			t.Fatal(err)
		}
		demo := &merchant{Handle: "demo", Email: "owner@demo.nimbus.test", Password: "nimbus-demo"}
		owner := s.login(t, demo.Handle, demo.Email, demo.Password)
		var found struct {
			Data []productJSON `json:"data"`
		}
		owner.do("GET", "/api/v1/products?q=longjing", nil).must(t, 200, &found)
		large := found.Data[0].Variants[1] // 250 g, $55.00, 15 in stock

		ctx := browser(t)
		do(t, ctx, "home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`a[href="/s/demo/"]`)),
			chromedp.Click(chromedp.CSS(`a[href="/s/demo/"]`)), chromedp.WaitVisible(chromedp.CSS("h1")))
		if h := strings.TrimSpace(must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))))); h != "Nimbus Demo Tea House" {
			t.Fatalf("home heading = %q", h)
		}
		product := chromedp.CSS(`a[href="/s/demo/products/longjing-green-tea"]`)
		do(t, ctx, "search",
			chromedp.SendKeys(chromedp.ID("q"), "longjing\n"),
			// The home page links the product too: wait for the results page,
			// which keeps the words in its search box, or the click may land
			// on a page that is going away.
			chromedp.WaitVisible(chromedp.CSS(`#q[value="longjing"]`)),
			chromedp.WaitVisible(product),
			chromedp.Click(product),
			chromedp.WaitVisible(chromedp.ID("add-to-cart")))
		do(t, ctx, "add to cart",
			chromedp.Click(chromedp.CSS(`input[value="`+large.ID+`"]`)),
			chromedp.SetValue(chromedp.ID("quantity"), "2"),
			chromedp.Click(chromedp.ID("add-to-cart")),
			chromedp.WaitVisible(chromedp.ID("checkout")))
		if link := text(t, ctx, "cart-link"); link != "Cart (2)" {
			t.Fatalf("cart link = %q", link)
		}
		do(t, ctx, "address", slices.Concat(
			[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.ID("checkout")), chromedp.WaitVisible(chromedp.ID("email"))},
			typeAddress("ada@example.com", "Ada Lovelace"),
			[]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.ID("continue")), chromedp.WaitVisible(chromedp.ID("pay"))})...)
		// 2 x 5500 = 11000; WELCOME10 -1100; standard shipping free from 7500
		// (9900 paid for the goods); CA tax 7.25% of 9900 = 717.75 -> 718.
		do(t, ctx, "discount",
			chromedp.SendKeys(chromedp.ID("discount_code"), "welcome10"),
			chromedp.Click(chromedp.CSS(`button[value="apply"]`)),
			chromedp.WaitVisible(chromedp.ID("discount-total")))
		if total := text(t, ctx, "grand-total"); total != "$106.18" {
			t.Fatalf("total with discount = %q, want $106.18", total)
		}
		do(t, ctx, "pay",
			chromedp.SendKeys(chromedp.ID("card_number"), "4242 4242 4242 4242"),
			chromedp.SendKeys(chromedp.ID("exp_month"), "12"),
			chromedp.SendKeys(chromedp.ID("exp_year"), "2099"),
			chromedp.SendKeys(chromedp.ID("cvc"), "123"),
			chromedp.Click(chromedp.ID("pay")),
			chromedp.WaitVisible(chromedp.ID("order-status")))
		if status := text(t, ctx, "order-status"); status != "Paid" {
			t.Fatalf("order status = %q, want Paid", status)
		}
		var level levelJSON
		owner.do("GET", "/api/v1/variants/"+large.ID+"/inventory", nil).must(t, 200, &level)
		if level.OnHand != 13 || level.Reserved != 0 {
			t.Fatalf("stock after the browser purchase = %+v", level)
		}
		var orders struct {
			Data []orderJSON `json:"data"`
		}
		owner.do("GET", "/api/v1/orders?status=paid", nil).must(t, 200, &orders)
		if len(orders.Data) != 1 || orders.Data[0].Total != 10618 || orders.Data[0].DiscountCode != "WELCOME10" {
			t.Fatalf("orders = %+v", orders.Data)
		}

		// The same store in Chinese.
		do(t, ctx, "chinese", chromedp.Navigate(s.URL+"/lang?to=zh-CN&back=/s/demo/cart"), chromedp.WaitVisible(chromedp.CSS("h1")))
		if zh := strings.TrimSpace(must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))))); zh != "购物车" {
			t.Fatalf("cart heading in Chinese = %q", zh)
		}
	})
}

// typeAddress types a shopper's email and a Cupertino address into the
// form on the page (checkout's, or a flash sale's).
func typeAddress(email, name string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("line1"), "1 Infinite Loop"),
		chromedp.SendKeys(chromedp.ID("city"), "Cupertino"),
		chromedp.SendKeys(chromedp.ID("region"), "CA"),
		chromedp.SendKeys(chromedp.ID("country"), "US"),
	}
}

// must returns v, or "" when err is set (the assertion after it fails then).
func must(v string, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return v
}

// TestMerchantInBrowser: a merchant signs in to the console, creates a
// product with two variants and stock, sees it in the storefront, and ships
// the order a shopper placed for it.
func TestMerchantInBrowser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		ctx := browser(t)
		do(t, ctx, "sign in",
			chromedp.Navigate(s.URL+"/admin/"),
			chromedp.WaitVisible(chromedp.ID("signin")),
			chromedp.SendKeys(chromedp.ID("store"), "acme"),
			chromedp.SendKeys(chromedp.ID("email"), sh.Email),
			chromedp.SendKeys(chromedp.ID("password"), sh.Password),
			chromedp.Click(chromedp.ID("signin")),
			chromedp.WaitVisible(chromedp.ID("today-sales")))
		do(t, ctx, "new product",
			chromedp.Navigate(s.URL+"/admin/products/new"),
			chromedp.WaitVisible(chromedp.ID("save-product")),
			chromedp.SendKeys(chromedp.ID("title"), "Oolong Sampler"),
			chromedp.SendKeys(chromedp.ID("option"), "Size"),
			chromedp.SendKeys(chromedp.ID("sku_0"), "OOL-S"), chromedp.SendKeys(chromedp.ID("option_0"), "Small"),
			chromedp.SendKeys(chromedp.ID("price_0"), "12.50"), chromedp.SendKeys(chromedp.ID("stock_0"), "7"),
			chromedp.SendKeys(chromedp.ID("sku_1"), "OOL-L"), chromedp.SendKeys(chromedp.ID("option_1"), "Large"),
			chromedp.SendKeys(chromedp.ID("price_1"), "20"), chromedp.SendKeys(chromedp.ID("stock_1"), "3"),
			chromedp.Click(chromedp.ID("save-product")),
			chromedp.WaitVisible(chromedp.ID("notice")))

		// The API sees what the console made.
		var found struct {
			Data []productJSON `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/products?q=oolong", nil).must(t, 200, &found)
		if len(found.Data) != 1 || len(found.Data[0].Variants) != 2 || found.Data[0].Variants[0].Price != 1250 ||
			*found.Data[0].Variants[0].Available != 7 || *found.Data[0].Variants[1].Available != 3 {
			t.Fatalf("created product = %+v", found.Data)
		}
		p := found.Data[0]

		// It is in the storefront at once.
		do(t, ctx, "storefront", chromedp.Navigate(s.URL+"/s/acme/products/"+p.Handle), chromedp.WaitVisible(chromedp.ID("add-to-cart")))
		if h := strings.TrimSpace(must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))))); h != "Oolong Sampler" {
			t.Fatalf("storefront product heading = %q", h)
		}

		// A shopper buys a large one; the merchant ships it from the console.
		tok := readyCart(t, s, sh, p.Variants[1].ID, 1)
		shopper := s.client(t)
		var placed struct {
			Order      orderJSON `json:"order"`
			OrderToken string    `json:"order_token"`
		}
		shopper.do("POST", "/api/v1/storefront/acme/carts/"+tok+"/checkout", map[string]any{"payment_provider": "test"}).must(t, 201, &placed)
		shopper.do("POST", "/api/v1/storefront/acme/orders/"+placed.Order.ID+"/payments",
			map[string]any{"order_token": placed.OrderToken, "provider": "test", "card": testCard}).must(t, 200, nil)
		do(t, ctx, "ship",
			chromedp.Navigate(s.URL+"/admin/orders?status=paid"),
			chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/orders/`+placed.Order.ID+`"]`)),
			chromedp.Click(chromedp.CSS(`a[href="/admin/orders/`+placed.Order.ID+`"]`)),
			chromedp.WaitVisible(chromedp.ID("fulfill")),
			chromedp.SendKeys(chromedp.ID("carrier"), "SF Express"),
			chromedp.SendKeys(chromedp.ID("tracking_number"), "SF1234567890"),
			chromedp.Click(chromedp.ID("fulfill")),
			chromedp.WaitVisible(chromedp.ID("notice")))
		if st := text(t, ctx, "order-status"); st != "Shipped" {
			t.Fatalf("order status in the console = %q", st)
		}
		if tl := text(t, ctx, "timeline"); !strings.Contains(tl, "SF1234567890") {
			t.Fatalf("timeline = %q", tl)
		}
		var o orderJSON
		sh.Owner.do("GET", "/api/v1/orders/"+placed.Order.ID, nil).must(t, 200, &o)
		if o.Status != "fulfilled" || o.Lines[0].FulfilledQuantity != 1 {
			t.Fatalf("order after shipping = %+v", o)
		}
	})
}
