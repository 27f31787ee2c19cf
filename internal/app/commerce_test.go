package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

type variantJSON struct {
	ID        string `json:"id"`
	SKU       string `json:"sku"`
	Price     int64  `json:"price"`
	Available *int64 `json:"available"`
}

type productJSON struct {
	ID       string        `json:"id"`
	Handle   string        `json:"handle"`
	Title    string        `json:"title"`
	Status   string        `json:"status"`
	Variants []variantJSON `json:"variants"`
}

type cartJSON struct {
	Token         string `json:"token"`
	ID            string `json:"id"`
	Status        string `json:"status"`
	DiscountError string `json:"discount_error"`
	ShippingRates []struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Price int64  `json:"price"`
	} `json:"shipping_rates"`
	Lines []struct {
		ID       string `json:"id"`
		Quantity int64  `json:"quantity"`
		Subtotal int64  `json:"subtotal"`
		Discount int64  `json:"discount"`
		Tax      int64  `json:"tax"`
		Total    int64  `json:"total"`
	} `json:"lines"`
	Subtotal      int64 `json:"subtotal"`
	DiscountTotal int64 `json:"discount_total"`
	ShippingTotal int64 `json:"shipping_total"`
	TaxTotal      int64 `json:"tax_total"`
	Total         int64 `json:"total"`
}

type orderJSON struct {
	ID                   string  `json:"id"`
	DiscountCode         string  `json:"discount_code"`
	Number               int64   `json:"number"`
	Status               string  `json:"status"`
	PaymentStatus        string  `json:"payment_status"`
	Subtotal             int64   `json:"subtotal"`
	DiscountTotal        int64   `json:"discount_total"`
	ShippingTotal        int64   `json:"shipping_total"`
	TaxTotal             int64   `json:"tax_total"`
	Total                int64   `json:"total"`
	RefundedTotal        int64   `json:"refunded_total"`
	ReservationExpiresAt *string `json:"reservation_expires_at"`
	Lines                []struct {
		ID                string `json:"id"`
		SKU               string `json:"sku"`
		Quantity          int64  `json:"quantity"`
		FulfilledQuantity int64  `json:"fulfilled_quantity"`
	} `json:"lines"`
	History []struct {
		Kind string `json:"kind"`
	} `json:"history"`
	Payments []struct {
		Kind   string `json:"kind"`
		Status string `json:"status"`
		Amount int64  `json:"amount"`
	} `json:"payments"`
}

type levelJSON struct {
	OnHand    int64 `json:"on_hand"`
	Reserved  int64 `json:"reserved"`
	Available int64 `json:"available"`
}

// shop is a store set up for selling: a product with two variants in
// stock, shipping to the US and China, US tax and a discount code.
type shop struct {
	*merchant
	Product productJSON
	Small   variantJSON // $25.00, 10 in stock
	Large   variantJSON // $40.00, 5 in stock
	RateID  string      // US standard shipping $5.00, free from $100
}

func openShop(t *testing.T, s *testServer, handle string) *shop {
	t.Helper()
	m := s.signup(t, handle)
	sh := &shop{merchant: m}
	m.Owner.do("POST", "/api/v1/products", map[string]any{
		"title": "Longjing Green Tea", "status": "active", "tags": []string{"tea", "green"},
		"description": "Spring harvest from Hangzhou.",
		"options":     []map[string]any{{"name": "Size", "values": []string{"100g", "250g"}}},
		"variants": []map[string]any{
			{"sku": handle + "-LJ-100", "options": []string{"100g"}, "price": 2500, "weight_grams": 120},
			{"sku": handle + "-LJ-250", "options": []string{"250g"}, "price": 4000, "compare_at_price": 5000},
		},
	}).must(t, http.StatusCreated, &sh.Product)
	sh.Small, sh.Large = sh.Product.Variants[0], sh.Product.Variants[1]
	for _, v := range []struct {
		id  string
		qty int64
	}{{sh.Small.ID, 10}, {sh.Large.ID, 5}} {
		m.Owner.do("POST", "/api/v1/variants/"+v.id+"/inventory/adjustments", map[string]any{"kind": "received", "quantity": v.qty}).
			must(t, http.StatusCreated, nil)
	}
	var zone struct {
		Rates []struct{ ID string } `json:"rates"`
	}
	m.Owner.do("POST", "/api/v1/shipping-zones", map[string]any{"name": "Domestic", "countries": []string{"US", "CN"},
		"rates": []map[string]any{{"name": "Standard", "price": 500, "free_above": 10000}}}).must(t, http.StatusCreated, &zone)
	sh.RateID = zone.Rates[0].ID
	m.Owner.do("POST", "/api/v1/tax-rates", map[string]any{"country": "US", "region": "CA", "name": "California", "rate_bp": 825}).
		must(t, http.StatusCreated, nil)
	m.Owner.do("POST", "/api/v1/discounts", map[string]any{"code": "WELCOME10", "kind": "percentage", "percent_bp": 1000, "usage_limit": 100}).
		must(t, http.StatusCreated, nil)
	return sh
}

func (sh *shop) level(t *testing.T, variantID string) levelJSON {
	t.Helper()
	var l levelJSON
	sh.Owner.do("GET", "/api/v1/variants/"+variantID+"/inventory", nil).must(t, http.StatusOK, &l)
	return l
}

var usAddress = map[string]any{"name": "Ada Lovelace", "line1": "1 Infinite Loop", "city": "Cupertino", "region": "CA",
	"postal_code": "95014", "country": "US"}

var testCard = map[string]any{"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}

// TestPurchaseEndToEnd walks a whole sale over HTTP: products, storefront
// search, cart, discount, checkout, test payment, fulfillment and refund,
// checking totals, the stock ledger and the order's state at each step.
func TestPurchaseEndToEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		shopper := s.client(t)
		base := "/api/v1/storefront/acme"

		// The storefront finds the product by words of its title, tag and SKU.
		for _, q := range []string{"longjing", "green+tea", "acme-LJ-250", "gre"} {
			var page struct {
				Data []productJSON `json:"data"`
			}
			shopper.do("GET", base+"/products?q="+q, nil).must(t, http.StatusOK, &page)
			if len(page.Data) != 1 || page.Data[0].ID != sh.Product.ID {
				t.Fatalf("search %q found %+v", q, page.Data)
			}
			if a := page.Data[0].Variants[0].Available; a == nil || *a != 10 {
				t.Fatalf("available = %v, want 10", a)
			}
		}
		var none struct {
			Data []productJSON `json:"data"`
		}
		shopper.do("GET", base+"/products?q=coffee", nil).must(t, http.StatusOK, &none)
		if len(none.Data) != 0 {
			t.Fatalf("search for coffee found %d products", len(none.Data))
		}
		shopper.do("GET", base+"/products/"+sh.Product.Handle, nil).must(t, http.StatusOK, nil)

		// Cart: 2 small + 1 large = 9000; WELCOME10 takes 900; shipping 500
		// (below the 10000 free threshold); CA tax 8.25% on each line's
		// discounted amount: (5000-500)*0.0825 = 371.25 -> 371, (4000-400)*0.0825 = 297.
		var cart cartJSON
		shopper.do("POST", base+"/carts", nil).must(t, http.StatusCreated, &cart)
		token := cart.Token
		shopper.do("POST", base+"/carts/"+token+"/lines", map[string]any{"variant_id": sh.Small.ID, "quantity": 2}).must(t, http.StatusCreated, nil)
		shopper.do("POST", base+"/carts/"+token+"/lines", map[string]any{"variant_id": sh.Large.ID, "quantity": 1}).must(t, http.StatusCreated, &cart)
		shopper.do("PATCH", base+"/carts/"+token, map[string]any{"email": "Ada@Example.com", "shipping_address": usAddress}).
			must(t, http.StatusOK, &cart)
		if len(cart.ShippingRates) != 1 || cart.ShippingRates[0].Price != 500 {
			t.Fatalf("shipping rates = %+v", cart.ShippingRates)
		}
		shopper.do("PATCH", base+"/carts/"+token, map[string]any{"shipping_rate_id": cart.ShippingRates[0].ID, "discount_code": "welcome10"}).
			must(t, http.StatusOK, &cart)
		want := cartJSON{Subtotal: 9000, DiscountTotal: 900, ShippingTotal: 500, TaxTotal: 371 + 297, Total: 9000 - 900 + 500 + 668}
		if cart.Subtotal != want.Subtotal || cart.DiscountTotal != want.DiscountTotal || cart.ShippingTotal != want.ShippingTotal ||
			cart.TaxTotal != want.TaxTotal || cart.Total != want.Total {
			t.Fatalf("cart totals = %+v, want %+v", cart, want)
		}

		var placed struct {
			Order      orderJSON `json:"order"`
			OrderToken string    `json:"order_token"`
		}
		shopper.do("POST", base+"/carts/"+token+"/checkout", map[string]any{"payment_provider": "test"}, "Idempotency-Key", "co-1").
			must(t, http.StatusCreated, &placed)
		o := placed.Order
		if o.Status != "pending_payment" || o.Number != 1001 || o.Total != want.Total {
			t.Fatalf("order = %+v", o)
		}
		// The same checkout retried with its key gets the same order; without it, a conflict.
		var again struct {
			Order orderJSON `json:"order"`
		}
		shopper.do("POST", base+"/carts/"+token+"/checkout", map[string]any{"payment_provider": "test"}, "Idempotency-Key", "co-1").
			must(t, http.StatusCreated, &again)
		if again.Order.ID != o.ID {
			t.Fatalf("retried checkout made order %s, first was %s", again.Order.ID, o.ID)
		}
		shopper.do("POST", base+"/carts/"+token+"/checkout", map[string]any{"payment_provider": "test"}).mustProblem(t, http.StatusConflict, "conflict")

		// Stock is held, not sold.
		if l := sh.level(t, sh.Small.ID); l.OnHand != 10 || l.Reserved != 2 || l.Available != 8 {
			t.Fatalf("small after checkout = %+v", l)
		}

		// A declined card leaves the order unpaid; a good one pays it.
		pay := func(card map[string]any) *response {
			return shopper.do("POST", base+"/orders/"+o.ID+"/payments", map[string]any{"order_token": placed.OrderToken, "provider": "test", "card": card})
		}
		declined := map[string]any{"number": "4000000000000002", "exp_month": 12, "exp_year": 2099, "cvc": "123"}
		pay(declined).mustProblem(t, http.StatusPaymentRequired, "payment_declined")
		pay(testCard).must(t, http.StatusOK, &o)
		if o.Status != "paid" || o.PaymentStatus != "paid" {
			t.Fatalf("after payment: %s / %s", o.Status, o.PaymentStatus)
		}
		pay(testCard).mustProblem(t, http.StatusConflict, "invalid_transition")
		if l := sh.level(t, sh.Small.ID); l.OnHand != 8 || l.Reserved != 0 || l.Available != 8 {
			t.Fatalf("small after payment = %+v", l)
		}
		// Without its token the order cannot be seen.
		shopper.do("GET", base+"/orders/"+o.ID, nil, "X-Order-Token", "wrong").mustProblem(t, http.StatusNotFound, "not_found")
		shopper.do("GET", base+"/orders/"+o.ID, nil, "X-Order-Token", placed.OrderToken).must(t, http.StatusOK, nil)

		// Staff find it, ship part of it, then the rest.
		var list struct {
			Data []orderJSON `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/orders?status=paid&q=%231001", nil).must(t, http.StatusOK, &list)
		if len(list.Data) != 1 || list.Data[0].ID != o.ID {
			t.Fatalf("order list = %+v", list.Data)
		}
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/complete", nil).mustProblem(t, http.StatusConflict, "invalid_transition")
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/fulfillments", map[string]any{"carrier": "UPS", "tracking_number": "1Z999",
			"lines": []map[string]any{{"line_id": o.Lines[0].ID, "quantity": 1}}}).must(t, http.StatusCreated, &o)
		if o.Status != "partially_fulfilled" {
			t.Fatalf("status = %s, want partially_fulfilled", o.Status)
		}
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/fulfillments", map[string]any{"carrier": "UPS", "tracking_number": "1Z998"}).
			must(t, http.StatusCreated, &o)
		if o.Status != "fulfilled" {
			t.Fatalf("status = %s, want fulfilled", o.Status)
		}
		// Cancel is not allowed once shipped; a partial refund is, with restock.
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/cancel", map[string]any{}).mustProblem(t, http.StatusConflict, "invalid_transition")
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": o.Total + 1}).mustProblem(t, 422, "invalid")
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": 1000, "reason": "damaged box",
			"restock": []map[string]any{{"line_id": o.Lines[0].ID, "quantity": 1}}}).must(t, http.StatusCreated, &o)
		if o.Status != "fulfilled" || o.PaymentStatus != "partially_refunded" || o.RefundedTotal != 1000 {
			t.Fatalf("after partial refund: %+v", o)
		}
		sh.Owner.do("POST", "/api/v1/orders/"+o.ID+"/refunds", map[string]any{"amount": o.Total - 1000}).must(t, http.StatusCreated, &o)
		if o.Status != "refunded" || o.PaymentStatus != "refunded" || o.RefundedTotal != o.Total {
			t.Fatalf("after full refund: %+v", o)
		}
		if l := sh.level(t, sh.Small.ID); l.OnHand != 9 || l.Reserved != 0 {
			t.Fatalf("small after restock = %+v", l)
		}

		// The history explains every step, and the ledger balances.
		kinds := map[string]int{}
		for _, h := range o.History {
			kinds[h.Kind]++
		}
		for kind, n := range map[string]int{"created": 1, "payment_failed": 1, "paid": 1, "fulfilled": 2, "refunded": 2} {
			if kinds[kind] != n {
				t.Errorf("history has %d %s events, want %d: %v", kinds[kind], kind, n, kinds)
			}
		}
		var movements struct {
			Data []struct {
				Kind          string `json:"kind"`
				OnHandDelta   int64  `json:"on_hand_delta"`
				ReservedDelta int64  `json:"reserved_delta"`
			} `json:"data"`
		}
		sh.Owner.do("GET", "/api/v1/variants/"+sh.Small.ID+"/inventory/movements", nil).must(t, http.StatusOK, &movements)
		var seq []string
		for _, m := range movements.Data {
			seq = append(seq, m.Kind)
		}
		if fmt.Sprint(seq) != "[received reserved sold returned]" {
			t.Fatalf("ledger = %v", seq)
		}
		assertLedgerBalanced(t, sh.merchant)
	})
}

func assertLedgerBalanced(t *testing.T, m *merchant) {
	t.Helper()
	var check struct {
		Balanced      bool            `json:"balanced"`
		Discrepancies json.RawMessage `json:"discrepancies"`
	}
	m.Owner.do("GET", "/api/v1/inventory/check", nil).must(t, http.StatusOK, &check)
	if !check.Balanced {
		t.Fatalf("stock ledger does not balance: %s", check.Discrepancies)
	}
}
