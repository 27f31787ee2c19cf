package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/flashsale"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
	"github.com/nimbuscommerce/nimbus/internal/platform/secret"
)

// Date formats a time in the store's time zone.
func (b *base) Date(t time.Time) string {
	return t.In(b.Store.Location()).Format("2006-01-02 15:04 MST")
}

type saleItemChoice struct {
	VariantID, Title string
	Price, SalePrice int64
	Remaining        int64
}

type salePage struct {
	base
	Sale          *flashsale.Sale
	Status        string
	Items         []saleItemChoice
	Selected      string
	AllSoldOut    bool  // while the sale runs: nothing of it is left
	StartsInMs    int64 // before the sale: milliseconds to its start, by the server's clock as the page is made
	Form          map[string]string
	AddressFields []addressField
}

// salePage shows a flash sale with a form to buy in it. What is left is
// at most a moment old (flashsale.Service.Public), and static/flashsale.js
// keeps it so while the page stays open: the counts, the choices sold out
// and the button, which a coming sale's page shows disabled until it
// starts. The buy itself is decided by the database.
func (s *Storefront) salePage(v *visit) error {
	// The form carries an idempotency key: sending it twice (a double
	// click, a reload) gives the one order.
	form := map[string]string{"quantity": "1", "variant_id": v.r.URL.Query().Get("variant"), "key": secret.New()}
	if ct := customerToken(v); ct != "" {
		if _, email, err := s.Customers.Shopper(v.ctx(), v.store.ID, ct); err == nil {
			form["email"] = email
		}
	}
	return s.renderSale(v, http.StatusOK, form, nil, "")
}

func (s *Storefront) renderSale(v *visit, status int, form, fields map[string]string, alert string) error {
	sale, err := s.FlashSales.Public(v.ctx(), v.store.ID, v.r.PathValue("id"))
	if err != nil {
		return err
	}
	page := salePage{base: s.base(v, sale.Title), Sale: sale, Status: sale.Status(s.FlashSales.DB.Now()), Form: form, AddressFields: addressFields}
	page.Fields, page.Error = fields, alert
	ids := make([]string, len(sale.Items))
	for i, it := range sale.Items {
		ids[i] = it.VariantID
	}
	variants, err := s.Catalog.FindVariants(v.ctx(), v.store.ID, ids)
	if err != nil {
		return err
	}
	for _, it := range sale.Items {
		c := saleItemChoice{VariantID: it.VariantID, SalePrice: it.SalePrice, Remaining: max(it.ForSale(), 0)}
		if vr := variants[it.VariantID]; vr != nil {
			c.Title, c.Price = vr.SKU+" "+vr.Title, vr.Price
		}
		if s.FlashSales.SoldOut(v.store.ID, sale.ID, it.VariantID) {
			c.Remaining = 0 // this node has just seen it go
		}
		page.Items = append(page.Items, c)
		if page.Selected == "" && (form["variant_id"] == it.VariantID || form["variant_id"] == "") && c.Remaining > 0 {
			page.Selected = it.VariantID
		}
	}
	page.AllSoldOut = page.Status == "active" && !slices.ContainsFunc(page.Items, func(c saleItemChoice) bool { return c.Remaining > 0 })
	if page.Status == "scheduled" {
		page.StartsInMs = sale.StartsAt.Sub(s.FlashSales.DB.Now()).Milliseconds()
	}
	return s.render(v, status, "flashsale", &page)
}

// idempotencyKeyField is the field a bad Idempotency-Key is reported on
// (httpx.CheckIdempotencyKey): on the sale's form, its hidden key.
const idempotencyKeyField = "header." + httpx.IdempotencyHeader

// buyInSale places a shopper's order in a sale and shows it, ready to pay.
func (s *Storefront) buyInSale(v *visit) error {
	form := map[string]string{}
	for _, k := range []string{"variant_id", "quantity", "email", "key"} {
		form[k] = strings.TrimSpace(v.r.PostFormValue(k))
	}
	for _, f := range addressFields {
		form[f.Name] = strings.TrimSpace(v.r.PostFormValue(f.Name))
	}
	qty, err := strconv.ParseInt(form["quantity"], 10, 64)
	if err != nil {
		return s.renderSale(v, http.StatusUnprocessableEntity, form, map[string]string{"quantity": s.messages.translate(v.lang, "sale.bad_quantity")}, "")
	}
	in := flashsale.BuyInput{SaleID: v.r.PathValue("id"), VariantID: form["variant_id"], Quantity: qty, Email: form["email"],
		ShippingAddress: nimbus.Address{Name: form["name"], Line1: form["line1"], Line2: form["line2"], City: form["city"],
			Region: form["region"], PostalCode: form["postal_code"], Country: form["country"], Phone: form["phone"]},
		PaymentProvider: "test", IdempotencyKey: form["key"], ClientIP: httpx.ClientIP(v.r.RemoteAddr)}
	if ct := customerToken(v); ct != "" {
		if id, email, err := s.Customers.Shopper(v.ctx(), v.store.ID, ct); err == nil { // an expired sign-in buys as a guest
			in.CustomerID, in.Email = id, email
		}
	}
	bought, err := s.FlashSales.Buy(v.ctx(), v.store.ID, in)
	switch nimbus.ErrorCode(err) {
	case "":
	case nimbus.EINVALID:
		fields := s.messages.fieldErrors(v.lang, err)
		if _, ok := fields[idempotencyKeyField]; ok {
			// The form's own hidden key, altered: a new one, so that
			// pressing Buy again can work.
			form["key"] = secret.New()
			return s.renderSale(v, http.StatusUnprocessableEntity, form, fields, s.messages.translate(v.lang, "sale.try_again"))
		}
		return s.renderSale(v, http.StatusUnprocessableEntity, form, fields, "")
	case nimbus.EUNAVAILABLE: // the buy met others for the same rows: the same key may be sent again
		v.w.Header().Set("Retry-After", "1")
		return s.renderSale(v, http.StatusServiceUnavailable, form, nil, s.messages.translate(v.lang, "sale.busy"))
	case nimbus.EIDEMPOTENCY: // the form sent again with other values after it made an order
		form["key"] = secret.New()
		return s.renderSale(v, http.StatusConflict, form, nil, s.messages.translate(v.lang, "form.sent"))
	case nimbus.ENOTFOUND: // a variant the sale does not have (a sale that is not there is "not found" again)
		return s.renderSale(v, http.StatusUnprocessableEntity, form, map[string]string{"variant_id": s.messages.translate(v.lang, "sale.choose_item")}, "")
	case nimbus.ESOLDOUT, nimbus.ESTOCK, nimbus.ECONFLICT, nimbus.EUNAUTHORIZED, nimbus.ETOOMANY:
		status := http.StatusConflict
		if nimbus.ErrorCode(err) == nimbus.ETOOMANY {
			status = http.StatusTooManyRequests
			v.w.Header().Set("Retry-After", "1")
		}
		return s.renderSale(v, status, form, nil, s.messages.errorMessage(v.lang, err))
	default:
		return err
	}
	o := bought.Order
	s.setCookie(v, orderCookie+strings.TrimPrefix(o.ID, nimbus.PrefixOrder+"_"), bought.Token, 90*24*3600)
	http.Redirect(v.w, v.r, v.path("/orders/"+o.ID), http.StatusSeeOther)
	return nil
}
