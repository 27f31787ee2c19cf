package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/flashsale"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// The console's flash sale pages: the sales with what is left of them, a
// form to set one up, and ending one early (after confirmation).

func (c *Console) flashSaleRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/flash-sales", c.staff(c.flashSales))
	mux.HandleFunc("POST /admin/flash-sales", c.staff(c.admin(c.createFlashSale)))
	mux.HandleFunc("POST /admin/flash-sales/{id}/schedule", c.staff(c.admin(c.rescheduleFlashSale)))
	mux.HandleFunc("POST /admin/flash-sales/{id}/end", c.staff(c.admin(c.confirm("admin.confirm.end_sale", salesPage, c.endFlashSale))))
}

// localInput is the layout of a datetime-local input, in the store's zone.
const localInput = "2006-01-02T15:04"

// saleRows is how many variants the form offers; a sale of more is set up
// through the API.
const saleRows = 3

type flashSaleRow struct {
	flashsale.SaleView
	SKUs map[string]string // variant id -> SKU
}

type flashSalesPage struct {
	adminBase
	Sales []flashSaleRow
	Rows  []int
	Form  map[string]string
	Next  string
	// Cursor is the page's own, past the first page: a row's forms post
	// with it, so that an answer shows the same rows.
	Cursor string
	// CanEdit: the member may set up and end sales (an admin); staff see them.
	CanEdit bool
}

func (c *Console) flashSales(v *staffVisit) error {
	return c.renderFlashSales(v, http.StatusOK, map[string]string{"per_customer_limit": "1"}, nil)
}

func (c *Console) renderFlashSales(v *staffVisit, status int, form, fields map[string]string) error {
	p := flashSalesPage{adminBase: c.base(v, "flash-sales", c.messages.translate(v.lang, "admin.nav.flash_sales")), Form: form,
		CanEdit: v.principal.Role.AtLeast(nimbus.RoleAdmin)}
	for i := range saleRows {
		p.Rows = append(p.Rows, i)
	}
	p.Fields = fields
	if len(fields) > 0 {
		p.Error = c.messages.translate(v.lang, "error.fix")
	}
	now := c.FlashSales.DB.Now()
	p.Cursor = v.r.URL.Query().Get("cursor")
	list, err := httpx.List(httpx.PageParams{Limit: 50, Cursor: p.Cursor}, func(after string, n int) ([]*flashsale.Sale, error) {
		return c.FlashSales.FindAll(v.ctx(), v.store.ID, after, n)
	}, func(s *flashsale.Sale) flashsale.SaleView { return flashsale.ViewSale(s, now) }, func(s flashsale.SaleView) string { return s.ID })
	if err != nil {
		return err
	}
	var ids []string
	for _, s := range list.Data {
		for _, it := range s.Items {
			ids = append(ids, it.VariantID)
		}
	}
	variants, err := c.Catalog.FindVariants(v.ctx(), v.store.ID, ids)
	if err != nil {
		return err
	}
	for _, s := range list.Data {
		row := flashSaleRow{SaleView: s, SKUs: map[string]string{}}
		for _, it := range s.Items {
			if vr := variants[it.VariantID]; vr != nil {
				row.SKUs[it.VariantID] = vr.SKU
			}
		}
		p.Sales = append(p.Sales, row)
	}
	if list.HasMore {
		p.Next = "/admin/flash-sales?" + url(map[string]string{"cursor": list.NextCursor})
	}
	return c.render(v, status, "flash_sales", &p)
}

func (c *Console) createFlashSale(v *staffVisit) error {
	f := v.r.PostForm
	form := map[string]string{}
	for _, k := range []string{"title", "starts_at", "ends_at", "per_customer_limit", "accounts_only"} {
		form[k] = f.Get(k)
	}
	fields := map[string]string{}
	loc := v.store.Location()
	at := func(name string) time.Time {
		t, err := time.ParseInLocation(localInput, strings.TrimSpace(form[name]), loc)
		if err != nil {
			fields[name] = c.messages.translate(v.lang, "admin.flash_sales.bad_time")
		}
		return t
	}
	in := flashsale.NewSale{Title: form["title"], StartsAt: at("starts_at"), EndsAt: at("ends_at"), AccountsOnly: form["accounts_only"] == "on"}
	if n, err := strconv.ParseInt(strings.TrimSpace(form["per_customer_limit"]), 10, 64); err == nil {
		in.PerCustomerLimit = n
	} else {
		fields["per_customer_limit"] = c.messages.translate(v.lang, "admin.whole_number")
	}
	var rowOf []int // the form row of each item, to put the service's errors next to it
	for i := range saleRows {
		sku, price, alloc := fmt.Sprint("sku_", i), fmt.Sprint("price_", i), fmt.Sprint("allocation_", i)
		form[sku], form[price], form[alloc] = f.Get(sku), f.Get(price), f.Get(alloc)
		if strings.TrimSpace(form[sku]) == "" {
			continue
		}
		item := flashsale.NewItem{}
		if vr, err := c.Catalog.FindVariantBySKU(v.ctx(), v.store.ID, form[sku]); err == nil {
			item.VariantID = vr.ID
		} else if nimbus.ErrorCode(err) == nimbus.ENOTFOUND {
			fields[sku] = c.messages.translate(v.lang, "admin.flash_sales.no_sku")
		} else {
			return err
		}
		var err error
		if item.SalePrice, err = c.parseMoney(v, form[price]); err != nil {
			fields[price] = err.Error()
		}
		if item.Allocation, err = strconv.ParseInt(strings.TrimSpace(form[alloc]), 10, 64); err != nil {
			fields[alloc] = c.messages.translate(v.lang, "admin.whole_number")
		}
		in.Items = append(in.Items, item)
		rowOf = append(rowOf, i)
	}
	if len(in.Items) == 0 {
		fields["sku_0"] = c.messages.translate(v.lang, "admin.flash_sales.no_items")
	}
	if len(fields) == 0 {
		if _, err := c.FlashSales.Create(v.ctx(), v.store.ID, in); err != nil {
			if nimbus.ErrorCode(err) != nimbus.EINVALID {
				return err
			}
			for name, msg := range c.messages.fieldErrors(v.lang, err) {
				fields[saleFormField(name, rowOf)] = msg
			}
		}
	}
	if len(fields) > 0 {
		return c.renderFlashSales(v, http.StatusUnprocessableEntity, form, fields)
	}
	back(v, "/admin/flash-sales", "saved")
	return nil
}

// saleFormField names the form field of a service error: items[1].sale_price
// is price_<row of item 1>.
func saleFormField(name string, rowOf []int) string {
	var i int
	var rest string
	if n, _ := fmt.Sscanf(name, "items[%d].%s", &i, &rest); n == 2 && i >= 0 && i < len(rowOf) {
		switch rest {
		case "variant_id":
			return fmt.Sprint("sku_", rowOf[i])
		case "sale_price":
			return fmt.Sprint("price_", rowOf[i])
		case "allocation":
			return fmt.Sprint("allocation_", rowOf[i])
		}
	}
	if name == "items" {
		return "sku_0"
	}
	return name
}

func (c *Console) endFlashSale(v *staffVisit) error {
	if _, err := c.FlashSales.End(v.ctx(), v.store.ID, v.r.PathValue("id")); err != nil {
		return err
	}
	back(v, salesPage(v), "saved")
	return nil
}

// salesPage is the page of the sales list a row's form was on.
func salesPage(v *staffVisit) string {
	return listPage("/admin/flash-sales", url(map[string]string{"cursor": v.r.URL.Query().Get("cursor")}))
}

// rescheduleFlashSale changes when a sale runs (the row's form: both times
// for a scheduled sale, the end for a running one). A time left as the
// form showed it, to the minute, stays as it is to the second.
func (c *Console) rescheduleFlashSale(v *staffVisit) error {
	sale, err := c.FlashSales.Find(v.ctx(), v.store.ID, v.r.PathValue("id"))
	if err != nil {
		return err
	}
	loc := v.store.Location()
	var bad []string
	at := func(name, label string, now time.Time) time.Time {
		typed := strings.TrimSpace(v.r.PostFormValue(name))
		if typed == "" || typed == now.In(loc).Format(localInput) {
			return time.Time{}
		}
		t, err := time.ParseInLocation(localInput, typed, loc)
		if err != nil {
			bad = append(bad, c.messages.translate(v.lang, "admin.flash_sales.labeled", c.messages.translate(v.lang, label),
				c.messages.translate(v.lang, "admin.flash_sales.bad_time")))
		}
		return t
	}
	starts, ends := at("starts_at", "admin.flash_sales.starts", sale.StartsAt), at("ends_at", "admin.flash_sales.ends", sale.EndsAt)
	if len(bad) == 0 && starts.IsZero() && ends.IsZero() {
		back(v, salesPage(v), "saved") // nothing changed
		return nil
	}
	status := http.StatusUnprocessableEntity
	if len(bad) == 0 {
		_, err = c.FlashSales.Reschedule(v.ctx(), v.store.ID, sale.ID, starts, ends)
		switch nimbus.ErrorCode(err) {
		case "":
			back(v, salesPage(v), "saved")
			return nil
		case nimbus.ECONFLICT: // it ended meanwhile
			status, bad = http.StatusConflict, []string{c.messages.errorMessage(v.lang, err)}
		case nimbus.EINVALID:
		default:
			return err
		}
		labels := map[string]string{"starts_at": "admin.flash_sales.starts", "ends_at": "admin.flash_sales.ends"}
		for field, msg := range c.messages.fieldErrors(v.lang, err) {
			label, ok := labels[field]
			if !ok {
				label = "admin.flash_sales.items"
			}
			bad = append(bad, c.messages.translate(v.lang, "admin.flash_sales.labeled", c.messages.translate(v.lang, label), msg))
		}
		slices.Sort(bad)
	}
	// The row shows again what was typed, with why it was refused.
	form := map[string]string{"per_customer_limit": "1", "starts_at_" + sale.ID: v.r.PostFormValue("starts_at"),
		"ends_at_" + sale.ID: v.r.PostFormValue("ends_at")}
	return c.renderFlashSales(v, status, form, map[string]string{"schedule_" + sale.ID: strings.Join(bad, c.messages.translate(v.lang, "error.separator"))})
}
