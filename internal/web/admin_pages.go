package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/catalog"
	"github.com/nimbuscommerce/nimbus/internal/inventory"
	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// bar is one column of the dashboard's sales chart, laid out for SVG.
type bar struct {
	Label          string
	Value          int64
	X, Y, W, H     int
	LabelX, LabelY int
}

type dashboardPage struct {
	adminBase
	TodaySales, WeekSales   int64
	TodayOrders, WeekOrders int64
	AverageOrder            int64
	Bars                    []bar
	ChartW, ChartH          int
	Top                     []order.TopProduct
	LowStock                []inventory.LowStock
}

func (c *Console) dashboard(v *staffVisit) error {
	r, err := c.Orders.SalesReport(v.ctx(), v.store.ID, v.store.Location(), time.Now())
	if err != nil {
		return err
	}
	low, err := c.Inventory.FindLowStock(v.ctx(), v.store.ID, 5, 10)
	if err != nil {
		return err
	}
	p := dashboardPage{adminBase: c.base(v, "dashboard", c.messages.translate(v.lang, "admin.nav.dashboard")), Top: r.Top, LowStock: low,
		ChartW: 560, ChartH: 200}
	var peak int64 = 1
	for _, d := range r.Days {
		p.WeekSales += d.Sales
		p.WeekOrders += d.Orders
		peak = max(peak, d.Sales)
	}
	today := r.Days[len(r.Days)-1]
	p.TodaySales, p.TodayOrders = today.Sales, today.Orders
	if p.WeekOrders > 0 {
		p.AverageOrder = p.WeekSales / p.WeekOrders
	}
	// Seven bars, scaled to the best day; labels under them.
	const top, bottom = 10, 30
	slot := p.ChartW / len(r.Days)
	for i, d := range r.Days {
		h := int(d.Sales * int64(p.ChartH-top-bottom) / peak)
		p.Bars = append(p.Bars, bar{Label: d.Day.Format("01-02"), Value: d.Sales, X: i*slot + 10, W: slot - 20,
			Y: p.ChartH - bottom - h, H: h, LabelX: i*slot + slot/2, LabelY: p.ChartH - 10})
	}
	return c.render(v, http.StatusOK, "dashboard", &p)
}

type ordersPage struct {
	adminBase
	Orders   []order.OrderView
	Status   string
	Query    string
	Next     string
	Statuses []string
}

func (c *Console) orders(v *staffVisit) error {
	q := v.r.URL.Query()
	p := ordersPage{adminBase: c.base(v, "orders", c.messages.translate(v.lang, "admin.nav.orders")), Status: q.Get("status"),
		Query: strings.TrimSpace(q.Get("q")), Statuses: []string{order.StatusPendingPayment, order.StatusPaid, order.StatusPartiallyFulfilled,
			order.StatusFulfilled, order.StatusCompleted, order.StatusCanceled, order.StatusRefunded}}
	page := httpx.PageParams{Limit: 25, Cursor: q.Get("cursor")}
	list, err := httpx.List(page, func(after string, n int) ([]*order.Order, error) {
		f := order.Filter{After: after, Limit: n, Query: p.Query}
		if p.Status != "" {
			f.Status = &p.Status
		}
		return c.Orders.FindOrders(v.ctx(), v.store.ID, f)
	}, order.ViewOrder, func(o order.OrderView) string { return o.ID })
	if err != nil {
		return err
	}
	p.Orders = list.Data
	if list.HasMore {
		p.Next = "/admin/orders?" + url(map[string]string{"status": p.Status, "q": p.Query, "cursor": list.NextCursor})
	}
	return c.render(v, http.StatusOK, "orders", &p)
}

type orderDetailPage struct {
	adminBase
	Order   order.OrderView
	Confirm string // an action waiting for confirmation: cancel or refund
	Refund  string
}

// Can tells whether the order allows an action, to show only its buttons.
func (p *orderDetailPage) Can(action string) bool {
	switch action {
	case "mark-paid":
		return p.Order.Status == order.StatusPendingPayment && p.Order.PaymentStatus == order.PaymentAwaiting
	case "fulfill":
		return p.Order.Status == order.StatusPaid || p.Order.Status == order.StatusPartiallyFulfilled
	case "complete":
		return p.Order.Status == order.StatusFulfilled
	case "cancel":
		return p.Order.Status == order.StatusPendingPayment || p.Order.Status == order.StatusPaid
	case "refund":
		return p.Order.RefundedTotal < p.Order.Total && (p.Order.Status == order.StatusPaid || p.Order.Status == order.StatusPartiallyFulfilled ||
			p.Order.Status == order.StatusFulfilled || p.Order.Status == order.StatusCompleted)
	}
	return false
}

func (c *Console) orderDetail(v *staffVisit) error {
	return c.renderOrder(v, "", http.StatusOK, nil)
}

func (c *Console) renderOrder(v *staffVisit, confirm string, status int, fields map[string]string) error {
	o, err := c.Orders.FindOrderByID(v.ctx(), v.store.ID, v.r.PathValue("id"))
	if err != nil {
		return err
	}
	view := order.ViewOrder(o)
	p := orderDetailPage{adminBase: c.base(v, "orders", view.Name), Order: view, Confirm: confirm,
		Refund: nimbus.FormatMinor(o.Total-o.RefundedTotal, o.Currency)}
	p.Fields = fields
	if len(fields) > 0 {
		p.Error = c.messages.translate(v.lang, "error.fix")
	}
	return c.render(v, status, "order", &p)
}

// confirmOrderAction shows the order with a confirmation form for a
// destructive action (cancel, refund): nothing happens until it is posted.
func (c *Console) confirmOrderAction(v *staffVisit) error {
	action := v.r.PathValue("action")
	if action != "cancel" && action != "refund" {
		return nimbus.Errorkf(nimbus.ENOTFOUND, "error.no_action", "no such action")
	}
	return c.renderOrder(v, action, http.StatusOK, nil)
}

func (c *Console) orderAction(v *staffVisit) error {
	id, action, actor := v.r.PathValue("id"), v.r.PathValue("action"), v.principal.UserID
	var err error
	switch action {
	case "mark-paid":
		_, err = c.Orders.MarkPaid(v.ctx(), v.store.ID, id, actor)
	case "fulfill":
		_, err = c.Orders.Fulfill(v.ctx(), v.store.ID, id, actor, order.FulfillmentInput{Carrier: v.r.PostFormValue("carrier"),
			TrackingNumber: v.r.PostFormValue("tracking_number")})
	case "complete":
		_, err = c.Orders.Complete(v.ctx(), v.store.ID, id, actor)
	case "cancel":
		_, err = c.Orders.Cancel(v.ctx(), v.store.ID, id, actor, v.r.PostFormValue("reason"))
	case "refund":
		amount, perr := c.parseMoney(v, v.r.PostFormValue("amount"))
		if perr != nil {
			return c.renderOrder(v, "refund", http.StatusUnprocessableEntity, map[string]string{"amount": perr.Error()})
		}
		_, err = c.Orders.Refund(v.ctx(), v.store.ID, id, actor, order.RefundInput{Amount: amount, Reason: v.r.PostFormValue("reason")})
	default:
		return nimbus.Errorkf(nimbus.ENOTFOUND, "error.no_action", "no such action")
	}
	if err != nil {
		if code := nimbus.ErrorCode(err); code == nimbus.EINVALID || code == nimbus.ETRANSITION || code == nimbus.ECONFLICT || code == nimbus.EPAYMENT {
			fields := c.messages.fieldErrors(v.lang, err)
			if len(fields) == 0 {
				fields = map[string]string{"action": c.messages.errorMessage(v.lang, err)}
			}
			confirm := ""
			if action == "refund" || action == "cancel" {
				confirm = action
			}
			return c.renderOrder(v, confirm, httpx.StatusOf(code), fields)
		}
		return err
	}
	back(v, "/admin/orders/"+id, strings.ReplaceAll(action, "-", "_"))
	return nil
}

type productListPage struct {
	adminBase
	Products []catalog.ProductView
	Query    string
	Status   string
	Next     string
	Statuses []string
}

func (c *Console) products(v *staffVisit) error {
	q := v.r.URL.Query()
	p := productListPage{adminBase: c.base(v, "products", c.messages.translate(v.lang, "admin.nav.products")), Query: strings.TrimSpace(q.Get("q")),
		Status: q.Get("status"), Statuses: []string{catalog.StatusDraft, catalog.StatusActive, catalog.StatusArchived}}
	list, err := httpx.List(httpx.PageParams{Limit: 25, Cursor: q.Get("cursor")}, func(after string, n int) ([]*catalog.Product, error) {
		f := catalog.ProductFilter{After: after, Limit: n, Query: p.Query}
		if p.Status != "" {
			f.Status = &p.Status
		}
		return c.Catalog.FindProducts(v.ctx(), v.store.ID, f)
	}, func(pr *catalog.Product) catalog.ProductView { return catalog.ViewProduct(pr, v.store.Currency) },
		func(pv catalog.ProductView) string { return pv.ID })
	if err != nil {
		return err
	}
	p.Products = list.Data
	if list.HasMore {
		p.Next = "/admin/products?" + url(map[string]string{"q": p.Query, "status": p.Status, "cursor": list.NextCursor})
	}
	return c.render(v, http.StatusOK, "products", &p)
}

// variantRow is one row of the new-product form.
type variantRow struct {
	Index                     int
	SKU, Option, Price, Stock string
}

type productFormPage struct {
	adminBase
	Form     map[string]string
	Rows     []variantRow
	Product  *catalog.ProductView
	Stock    map[string]inventory.LevelView
	Prices   map[string]string
	Statuses []string
	Ledger   []ledgerLine
}

// ledgerLine is a stock movement as the product page shows it.
type ledgerLine struct {
	SKU       string
	Kind      string
	OnHand    int64
	Reserved  int64
	Reference string
	Note      string
	At        time.Time
}

const variantRows = 5

func (c *Console) newProduct(v *staffVisit) error {
	p := productFormPage{adminBase: c.base(v, "products", c.messages.translate(v.lang, "admin.products.new")),
		Form: map[string]string{"status": catalog.StatusActive, "option": ""}, Statuses: []string{catalog.StatusDraft, catalog.StatusActive, catalog.StatusArchived}}
	for i := range variantRows {
		p.Rows = append(p.Rows, variantRow{Index: i})
	}
	return c.render(v, http.StatusOK, "product_new", &p)
}

func (c *Console) createProduct(v *staffVisit) error {
	f := v.r.PostForm
	form := map[string]string{"title": f.Get("title"), "description": f.Get("description"), "status": f.Get("status"),
		"tags": f.Get("tags"), "option": strings.TrimSpace(f.Get("option"))}
	form["images"] = f.Get("images")
	in := catalog.ProductInput{Title: form["title"], Description: form["description"], Status: form["status"], Images: lines(form["images"])}
	for _, t := range strings.Split(form["tags"], ",") {
		if t = strings.TrimSpace(t); t != "" {
			in.Tags = append(in.Tags, t)
		}
	}
	fields := map[string]string{}
	var rows []variantRow
	var values []string
	var stock []int64
	for i := range variantRows {
		row := variantRow{Index: i, SKU: strings.TrimSpace(f.Get(fmt.Sprintf("sku_%d", i))), Option: strings.TrimSpace(f.Get(fmt.Sprintf("option_%d", i))),
			Price: f.Get(fmt.Sprintf("price_%d", i)), Stock: f.Get(fmt.Sprintf("stock_%d", i))}
		rows = append(rows, row)
		if row.SKU == "" && row.Price == "" {
			continue
		}
		price, err := c.parseMoney(v, row.Price)
		if err != nil {
			fields[fmt.Sprintf("variants[%d].price", len(in.Variants))] = err.Error()
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(row.Stock), 10, 64)
		stock = append(stock, max(n, 0))
		vi := catalog.VariantInput{SKU: row.SKU, Price: price}
		if form["option"] != "" {
			vi.Options = []string{row.Option}
			values = append(values, row.Option)
		}
		in.Variants = append(in.Variants, vi)
	}
	if form["option"] != "" {
		in.Options = []catalog.Option{{Name: form["option"], Values: values}}
	}
	var p *catalog.Product
	var err error
	if len(fields) == 0 {
		p, err = c.Catalog.CreateProduct(v.ctx(), v.store.ID, in)
	}
	if err != nil && nimbus.ErrorCode(err) != nimbus.EINVALID {
		return err
	}
	for k, m := range c.messages.fieldErrors(v.lang, err) {
		fields[k] = m
	}
	if len(fields) > 0 {
		page := productFormPage{adminBase: c.base(v, "products", c.messages.translate(v.lang, "admin.products.new")), Form: form, Rows: rows,
			Statuses: []string{catalog.StatusDraft, catalog.StatusActive, catalog.StatusArchived}}
		page.Fields, page.Error = fields, c.messages.translate(v.lang, "error.fix")
		return c.render(v, http.StatusUnprocessableEntity, "product_new", &page)
	}
	for i, pv := range p.Variants {
		if i < len(stock) && stock[i] > 0 {
			if _, err := c.Inventory.Adjust(v.ctx(), v.store.ID, pv.ID, v.principal.UserID,
				inventory.Adjustment{Kind: inventory.Received, Quantity: stock[i], Note: "initial stock"}); err != nil {
				return err
			}
		}
	}
	back(v, "/admin/products/"+p.ID, "product_created")
	return nil
}

func (c *Console) productDetail(v *staffVisit) error {
	return c.renderProductDetail(v, http.StatusOK, nil)
}

func (c *Console) renderProductDetail(v *staffVisit, status int, fields map[string]string) error {
	pr, err := c.Catalog.FindProductByID(v.ctx(), v.store.ID, v.r.PathValue("id"))
	if err != nil {
		return err
	}
	view := catalog.ViewProduct(pr, v.store.Currency)
	p := productFormPage{adminBase: c.base(v, "products", pr.Title), Product: &view, Stock: map[string]inventory.LevelView{},
		Prices: map[string]string{}, Statuses: []string{catalog.StatusDraft, catalog.StatusActive, catalog.StatusArchived},
		Form: map[string]string{"title": pr.Title, "description": pr.Description, "status": pr.Status, "tags": strings.Join(pr.Tags, ", "),
			"images": strings.Join(pr.Images, "\n")}}
	for _, pv := range pr.Variants {
		p.Prices[pv.ID] = nimbus.FormatMinor(pv.Price, v.store.Currency)
		if pv.TrackInventory {
			l, err := c.Inventory.FindLevel(v.ctx(), v.store.ID, pv.ID)
			if err != nil {
				return err
			}
			p.Stock[pv.ID] = inventory.LevelView{VariantID: pv.ID, OnHand: l.OnHand, Reserved: l.Reserved, Available: l.Available()}
			ms, err := c.Inventory.RecentMovements(v.ctx(), v.store.ID, pv.ID, 10)
			if err != nil {
				return err
			}
			for _, m := range ms {
				p.Ledger = append(p.Ledger, ledgerLine{SKU: pv.SKU, Kind: m.Kind, OnHand: m.OnHandDelta, Reserved: m.ReservedDelta,
					Reference: m.Reference, Note: m.Note, At: m.CreatedAt})
			}
		}
	}
	p.Fields = fields
	if len(fields) > 0 {
		p.Error = c.messages.translate(v.lang, "error.fix")
	}
	return c.render(v, status, "product", &p)
}

func (c *Console) updateProduct(v *staffVisit) error {
	f := v.r.PostForm
	title, desc, status := f.Get("title"), f.Get("description"), f.Get("status")
	var tags []string
	for _, t := range strings.Split(f.Get("tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	images := lines(f.Get("images"))
	id := v.r.PathValue("id")
	if _, err := c.Catalog.UpdateProduct(v.ctx(), v.store.ID, id, catalog.ProductUpdate{Title: &title, Description: &desc, Status: &status,
		Tags: &tags, Images: &images}); err != nil {
		if nimbus.ErrorCode(err) == nimbus.EINVALID {
			return c.renderProductDetail(v, http.StatusUnprocessableEntity, c.messages.fieldErrors(v.lang, err))
		}
		return err
	}
	back(v, "/admin/products/"+id, "saved")
	return nil
}

func (c *Console) updateVariant(v *staffVisit) error {
	vr, err := c.Catalog.FindVariantByID(v.ctx(), v.store.ID, v.r.PathValue("id"))
	if err != nil {
		return err
	}
	price, perr := c.parseMoney(v, v.r.PostFormValue("price"))
	if perr != nil {
		v.r.SetPathValue("id", vr.ProductID)
		return c.renderProductDetail(v, http.StatusUnprocessableEntity, map[string]string{"price_" + vr.ID: perr.Error()})
	}
	if _, err := c.Catalog.UpdateVariant(v.ctx(), v.store.ID, vr.ID, catalog.VariantUpdate{Price: &price}); err != nil {
		if nimbus.ErrorCode(err) == nimbus.EINVALID {
			v.r.SetPathValue("id", vr.ProductID)
			return c.renderProductDetail(v, http.StatusUnprocessableEntity, map[string]string{"price_" + vr.ID: c.messages.errorMessage(v.lang, err)})
		}
		return err
	}
	back(v, "/admin/products/"+vr.ProductID, "saved")
	return nil
}

func (c *Console) adjustStock(v *staffVisit) error {
	vr, err := c.Catalog.FindVariantByID(v.ctx(), v.store.ID, v.r.PathValue("id"))
	if err != nil {
		return err
	}
	qty, _ := strconv.ParseInt(strings.TrimSpace(v.r.PostFormValue("quantity")), 10, 64)
	kind := v.r.PostFormValue("kind")
	if _, err := c.Inventory.Adjust(v.ctx(), v.store.ID, vr.ID, v.principal.UserID,
		inventory.Adjustment{Kind: kind, Quantity: qty, Note: v.r.PostFormValue("note")}); err != nil {
		if code := nimbus.ErrorCode(err); code == nimbus.EINVALID || code == nimbus.ESTOCK {
			v.r.SetPathValue("id", vr.ProductID)
			return c.renderProductDetail(v, httpx.StatusOf(code), map[string]string{"stock_" + vr.ID: c.messages.errorMessage(v.lang, err)})
		}
		return err
	}
	back(v, "/admin/products/"+vr.ProductID, "stock")
	return nil
}

// listPage is the page at path with query, if any.
func listPage(path, query string) string {
	if query == "" {
		return path
	}
	return path + "?" + query
}

// url encodes non-empty query parameters.
func url(params map[string]string) string {
	var parts []string
	for _, k := range []string{"status", "role", "q", "cursor"} { // a fixed order keeps URLs stable
		if v := params[k]; v != "" {
			parts = append(parts, k+"="+queryEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

type collectionsPage struct {
	adminBase
	Query       string
	Next        string
	Collections []catalog.CollectionView
	Products    []catalog.ProductView
	Selected    map[string]bool
	Editing     *catalog.CollectionView
	Form        map[string]string
}

func (c *Console) collections(v *staffVisit) error {
	return c.renderCollections(v, http.StatusOK, nil, nil, nil)
}

func (c *Console) renderCollections(v *staffVisit, status int, editing *catalog.CollectionView, form, fields map[string]string) error {
	q := v.r.URL.Query()
	query := strings.TrimSpace(q.Get("q"))
	cs, err := httpx.List(httpx.PageParams{Limit: 50, Cursor: q.Get("cursor")}, func(after string, n int) ([]*catalog.Collection, error) {
		return c.Catalog.FindCollectionsMatching(v.ctx(), v.store.ID, query, after, n)
	}, catalog.ViewCollection, func(x catalog.CollectionView) string { return x.ID })
	if err != nil {
		return err
	}
	ps, err := c.Catalog.FindProducts(v.ctx(), v.store.ID, catalog.ProductFilter{Limit: 500})
	if err != nil {
		return err
	}
	p := collectionsPage{adminBase: c.base(v, "collections", c.messages.translate(v.lang, "admin.nav.collections")), Editing: editing,
		Selected: map[string]bool{}, Form: form, Query: query, Collections: cs.Data}
	if cs.HasMore {
		p.Next = "/admin/collections?" + url(map[string]string{"q": query, "cursor": cs.NextCursor})
	}
	if p.Form == nil {
		p.Form = map[string]string{}
	}
	p.Fields = fields
	if len(fields) > 0 {
		p.Error = c.messages.translate(v.lang, "error.fix")
	}
	for _, pr := range ps {
		p.Products = append(p.Products, catalog.ViewProduct(pr, v.store.Currency))
	}
	if editing != nil {
		for _, id := range editing.ProductIDs {
			p.Selected[id] = true
		}
		p.Form["title"], p.Form["description"] = editing.Title, editing.Description
	}
	return c.render(v, status, "collections", &p)
}

func (c *Console) editCollection(v *staffVisit) error {
	col, err := c.Catalog.FindCollectionByID(v.ctx(), v.store.ID, v.r.PathValue("id"))
	if err != nil {
		return err
	}
	view := catalog.ViewCollection(col)
	return c.renderCollections(v, http.StatusOK, &view, nil, nil)
}

func (c *Console) saveCollection(v *staffVisit) error {
	f := v.r.PostForm
	title, desc, ids := f.Get("title"), f.Get("description"), f["product_ids"]
	var err error
	id := v.r.PathValue("id")
	if id == "" {
		_, err = c.Catalog.CreateCollection(v.ctx(), v.store.ID, catalog.CollectionInput{Title: title, Description: desc, ProductIDs: ids})
	} else {
		if ids == nil {
			ids = []string{}
		}
		_, err = c.Catalog.UpdateCollection(v.ctx(), v.store.ID, id, catalog.CollectionUpdate{Title: &title, Description: &desc, ProductIDs: &ids})
	}
	if err != nil {
		if nimbus.ErrorCode(err) != nimbus.EINVALID {
			return err
		}
		return c.renderCollections(v, http.StatusUnprocessableEntity, nil, map[string]string{"title": title, "description": desc}, c.messages.fieldErrors(v.lang, err))
	}
	back(v, "/admin/collections", "saved")
	return nil
}

func (c *Console) deleteCollection(v *staffVisit) error {
	if err := c.Catalog.DeleteCollection(v.ctx(), v.store.ID, v.r.PathValue("id")); err != nil {
		return err
	}
	back(v, "/admin/collections", "saved")
	return nil
}

// lines splits a textarea into its non-empty trimmed lines.
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
