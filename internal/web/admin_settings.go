package web

import (
	"html/template"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/customer"
	"github.com/nimbuscommerce/nimbus/internal/identity"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
	"github.com/nimbuscommerce/nimbus/internal/pricing"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

// The console's pages for the rest of a store: customers, discount codes,
// settings with shipping and taxes, staff and API keys.

func (c *Console) settingsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/customers", c.staff(c.customers))
	mux.HandleFunc("GET /admin/customers/{id}", c.staff(c.customerDetail))
	mux.HandleFunc("GET /admin/discounts", c.staff(c.discounts))
	mux.HandleFunc("POST /admin/discounts", c.staff(c.admin(c.createDiscount)))
	mux.HandleFunc("POST /admin/discounts/{id}/active", c.staff(c.admin(c.toggleDiscount)))
	mux.HandleFunc("GET /admin/settings", c.staff(c.settings))
	mux.HandleFunc("POST /admin/settings", c.staff(c.admin(c.saveSettings)))
	mux.HandleFunc("POST /admin/settings/zones", c.staff(c.admin(c.createZone)))
	mux.HandleFunc("POST /admin/settings/zones/{id}/delete", c.staff(c.admin(c.confirm("admin.confirm.delete_zone", backTo("/admin/settings"), c.deleteZone))))
	mux.HandleFunc("POST /admin/settings/taxes", c.staff(c.admin(c.setTax)))
	mux.HandleFunc("POST /admin/settings/taxes/{id}/delete", c.staff(c.admin(c.confirm("admin.confirm.delete_tax", backTo("/admin/settings"), c.deleteTax))))
	mux.HandleFunc("GET /admin/staff", c.staff(c.admin(c.staffPage)))
	mux.HandleFunc("POST /admin/staff", c.staff(c.admin(c.createStaff)))
	mux.HandleFunc("POST /admin/staff/{id}/status", c.staff(c.admin(c.confirmIf(func(v *staffVisit) bool {
		return v.r.PostFormValue("status") == "disabled"
	}, "admin.confirm.disable_staff", staffListPage, c.staffStatus))))
	mux.HandleFunc("POST /admin/api-keys", c.staff(c.admin(c.createKey)))
	mux.HandleFunc("POST /admin/api-keys/{id}/revoke", c.staff(c.admin(c.confirm("admin.confirm.revoke_key", backTo("/admin/staff"), c.revokeKey))))
}

type confirmPage struct {
	adminBase
	Question string
	Action   string
	Back     string
	Values   map[string]string
}

// confirm asks before a destructive action: a post without confirmed=yes
// shows the question and a form that posts the same values again,
// confirmed, to the same address (its query too: a list's page), and a
// way back to the page back names for the post (backTo: always one page).
func (c *Console) confirm(question string, back func(*staffVisit) string, h staffHandler) staffHandler {
	return c.confirmIf(func(*staffVisit) bool { return true }, question, back, h)
}

// backTo is a way back that is always the page at path.
func backTo(path string) func(*staffVisit) string { return func(*staffVisit) string { return path } }

// confirmIf asks only when destructive(v) says the post would destroy something.
func (c *Console) confirmIf(destructive func(*staffVisit) bool, question string, back func(*staffVisit) string, h staffHandler) staffHandler {
	return func(v *staffVisit) error {
		if v.r.PostFormValue("confirmed") == "yes" || !destructive(v) {
			return h(v)
		}
		values := map[string]string{}
		for k, vs := range v.r.PostForm {
			if k != "confirmed" && len(vs) > 0 {
				values[k] = vs[0]
			}
		}
		p := confirmPage{adminBase: c.base(v, "", c.messages.translate(v.lang, "admin.confirm.title")),
			Question: c.messages.translate(v.lang, question), Action: v.r.URL.RequestURI(), Back: back(v), Values: values}
		return c.render(v, http.StatusOK, "confirm", &p)
	}
}

// admin lets only owners and admins through.
func (c *Console) admin(h staffHandler) staffHandler {
	return func(v *staffVisit) error {
		if !v.principal.Role.AtLeast(nimbus.RoleAdmin) {
			return nimbus.Errorkf(nimbus.EFORBIDDEN, "error.needs_admin", "this needs the admin role")
		}
		return h(v)
	}
}

type customersPage struct {
	adminBase
	Customers []customer.CustomerView
	Query     string
	Next      string
}

func (c *Console) customers(v *staffVisit) error {
	q := v.r.URL.Query()
	p := customersPage{adminBase: c.base(v, "customers", c.messages.translate(v.lang, "admin.nav.customers")), Query: strings.TrimSpace(q.Get("q"))}
	list, err := httpx.List(httpx.PageParams{Limit: 25, Cursor: q.Get("cursor")}, func(after string, n int) ([]*customer.Customer, error) {
		return c.Customers.FindCustomers(v.ctx(), v.store.ID, customer.Filter{Query: p.Query, After: after, Limit: n})
	}, func(x *customer.Customer) customer.CustomerView { return customer.View(x, nil) }, func(x customer.CustomerView) string { return x.ID })
	if err != nil {
		return err
	}
	p.Customers = list.Data
	if list.HasMore {
		p.Next = "/admin/customers?" + url(map[string]string{"q": p.Query, "cursor": list.NextCursor})
	}
	return c.render(v, http.StatusOK, "customers", &p)
}

type customerPage struct {
	adminBase
	Customer customer.CustomerView
}

func (c *Console) customerDetail(v *staffVisit) error {
	cu, err := c.Customers.FindCustomerByID(v.ctx(), v.store.ID, v.r.PathValue("id"))
	if err != nil {
		return err
	}
	addrs, err := c.Customers.FindAddresses(v.ctx(), v.store.ID, cu.ID)
	if err != nil {
		return err
	}
	return c.render(v, http.StatusOK, "customer", &customerPage{adminBase: c.base(v, "customers", cu.Email), Customer: customer.View(cu, addrs)})
}

type discountsPage struct {
	adminBase
	Discounts []pricing.DiscountView
	Form      map[string]string
	Next      string
	Query     string
}

func (c *Console) discounts(v *staffVisit) error {
	return c.renderDiscounts(v, http.StatusOK, map[string]string{"kind": pricing.Percentage}, nil)
}

func (c *Console) renderDiscounts(v *staffVisit, status int, form, fields map[string]string) error {
	q := v.r.URL.Query()
	p := discountsPage{adminBase: c.base(v, "discounts", c.messages.translate(v.lang, "admin.nav.discounts")), Form: form, Query: strings.TrimSpace(q.Get("q"))}
	p.Fields = fields
	if len(fields) > 0 {
		p.Error = c.messages.translate(v.lang, "error.fix")
	}
	list, err := httpx.List(httpx.PageParams{Limit: 50, Cursor: q.Get("cursor")}, func(after string, n int) ([]*pricing.Discount, error) {
		return c.Pricing.FindDiscountsMatching(v.ctx(), v.store.ID, p.Query, after, n)
	}, pricing.ViewDiscount, func(d pricing.DiscountView) string { return d.ID })
	if err != nil {
		return err
	}
	p.Discounts = list.Data
	if list.HasMore {
		p.Next = "/admin/discounts?" + url(map[string]string{"q": p.Query, "cursor": list.NextCursor})
	}
	return c.render(v, status, "discounts", &p)
}

func (c *Console) createDiscount(v *staffVisit) error {
	f := v.r.PostForm
	form := map[string]string{"code": f.Get("code"), "kind": f.Get("kind"), "value": f.Get("value"), "min_subtotal": f.Get("min_subtotal"),
		"usage_limit": f.Get("usage_limit")}
	in := pricing.DiscountInput{Code: form["code"], Kind: form["kind"]}
	fields := map[string]string{}
	switch in.Kind {
	case pricing.Percentage:
		pct, err := strconv.ParseFloat(strings.TrimSpace(form["value"]), 64)
		if err != nil || pct <= 0 || pct > 100 {
			fields["value"] = c.messages.translate(v.lang, "admin.discounts.bad_percent")
		}
		in.PercentBP = int64(pct*100 + 0.5)
	default:
		amount, err := c.parseMoney(v, form["value"])
		if err != nil {
			fields["value"] = err.Error()
		}
		in.Amount = amount
	}
	if strings.TrimSpace(form["min_subtotal"]) != "" {
		m, err := c.parseMoney(v, form["min_subtotal"])
		if err != nil {
			fields["min_subtotal"] = err.Error()
		}
		in.MinSubtotal = m
	}
	if strings.TrimSpace(form["usage_limit"]) != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(form["usage_limit"]), 10, 64)
		if err != nil {
			fields["usage_limit"] = c.messages.translate(v.lang, "admin.whole_number")
		}
		in.UsageLimit = &n
	}
	if len(fields) == 0 {
		if _, err := c.Pricing.CreateDiscount(v.ctx(), v.store.ID, in); err != nil {
			if nimbus.ErrorCode(err) != nimbus.EINVALID {
				return err
			}
			fields = c.messages.fieldErrors(v.lang, err)
		}
	}
	if len(fields) > 0 {
		return c.renderDiscounts(v, http.StatusUnprocessableEntity, form, fields)
	}
	back(v, "/admin/discounts", "saved")
	return nil
}

func (c *Console) toggleDiscount(v *staffVisit) error {
	active := v.r.PostFormValue("active") == "true"
	if _, err := c.Pricing.UpdateDiscount(v.ctx(), v.store.ID, v.r.PathValue("id"), pricing.DiscountUpdate{Active: &active}); err != nil {
		return err
	}
	back(v, "/admin/discounts", "saved")
	return nil
}

type settingsPage struct {
	adminBase
	Form    map[string]string
	Zones   []pricing.ZoneView
	Taxes   []pricing.TaxRateView
	CanEdit bool
}

func (c *Console) settings(v *staffVisit) error {
	return c.renderSettings(v, http.StatusOK, nil, nil)
}

func (c *Console) renderSettings(v *staffVisit, status int, form, fields map[string]string) error {
	t := v.store
	if form == nil {
		form = map[string]string{"name": t.Name, "currency": t.Currency, "time_zone": t.TimeZone,
			"reservation_minutes": strconv.Itoa(t.ReservationMinutes), "theme_color": t.ThemeColor, "logo_url": t.LogoURL,
			"layout": t.Layout, "domain": t.Domain}
		if t.PricesIncludeTax {
			form["prices_include_tax"] = "on"
		}
		if t.TaxShipping {
			form["tax_shipping"] = "on"
		}
	}
	zones, err := c.Pricing.FindShippingZones(v.ctx(), t.ID)
	if err != nil {
		return err
	}
	taxes, err := c.Pricing.FindTaxRates(v.ctx(), t.ID)
	if err != nil {
		return err
	}
	p := settingsPage{adminBase: c.base(v, "settings", c.messages.translate(v.lang, "admin.nav.settings")), Form: form,
		CanEdit: v.principal.Role.AtLeast(nimbus.RoleAdmin)}
	p.Fields = fields
	if len(fields) > 0 {
		p.Error = c.messages.translate(v.lang, "error.fix")
	}
	for _, z := range zones {
		p.Zones = append(p.Zones, pricing.ViewZone(z))
	}
	for _, r := range taxes {
		p.Taxes = append(p.Taxes, pricing.ViewTaxRate(r))
	}
	return c.render(v, status, "settings", &p)
}

func (c *Console) saveSettings(v *staffVisit) error {
	f := v.r.PostForm
	form := map[string]string{"name": f.Get("name"), "currency": strings.ToUpper(strings.TrimSpace(f.Get("currency"))),
		"time_zone": strings.TrimSpace(f.Get("time_zone")), "reservation_minutes": f.Get("reservation_minutes"),
		"prices_include_tax": f.Get("prices_include_tax"), "tax_shipping": f.Get("tax_shipping"),
		"theme_color": strings.TrimSpace(f.Get("theme_color")), "logo_url": strings.TrimSpace(f.Get("logo_url")),
		"layout": f.Get("layout"), "domain": strings.ToLower(strings.TrimSpace(f.Get("domain")))}
	minutes, err := strconv.Atoi(strings.TrimSpace(form["reservation_minutes"]))
	if err != nil {
		return c.renderSettings(v, http.StatusUnprocessableEntity, form, map[string]string{"reservation_minutes": c.messages.translate(v.lang, "admin.whole_number")})
	}
	incl, taxShip := form["prices_include_tax"] == "on", form["tax_shipping"] == "on"
	name, cur, tz := form["name"], form["currency"], form["time_zone"]
	color, logo, layout, domain := form["theme_color"], form["logo_url"], form["layout"], form["domain"]
	u := tenant.Update{Name: &name, Currency: &cur, TimeZone: &tz, PricesIncludeTax: &incl, TaxShipping: &taxShip,
		ReservationMinutes: &minutes, LogoURL: &logo, Domain: &domain}
	if color != "" {
		u.ThemeColor = &color
	}
	if layout != "" {
		u.Layout = &layout
	}
	if _, err := c.Tenants.UpdateTenant(v.ctx(), v.store.ID, u); err != nil {
		if nimbus.ErrorCode(err) == nimbus.EINVALID {
			return c.renderSettings(v, http.StatusUnprocessableEntity, form, c.messages.fieldErrors(v.lang, err))
		}
		return err
	}
	back(v, "/admin/settings", "saved")
	return nil
}

func (c *Console) createZone(v *staffVisit) error {
	f := v.r.PostForm
	var countries []string
	for _, cc := range strings.FieldsFunc(strings.ToUpper(f.Get("countries")), func(r rune) bool { return r == ',' || r == ' ' }) {
		countries = append(countries, cc)
	}
	in := pricing.ShippingInput{Name: f.Get("zone_name"), Countries: countries}
	fields := map[string]string{}
	if strings.TrimSpace(f.Get("rate_price")) != "" {
		price, err := c.parseMoney(v, f.Get("rate_price"))
		if err != nil {
			fields["rates[0].price"] = err.Error()
		}
		r := pricing.RateInput{Name: f.Get("rate_name"), Price: price}
		if strings.TrimSpace(f.Get("free_above")) != "" {
			free, err := c.parseMoney(v, f.Get("free_above"))
			if err != nil {
				fields["rates[0].free_above"] = err.Error()
			}
			r.FreeAbove = &free
		}
		in.Rates = []pricing.RateInput{r}
	}
	if len(fields) == 0 {
		if _, err := c.Pricing.CreateShippingZone(v.ctx(), v.store.ID, in); err != nil {
			if nimbus.ErrorCode(err) != nimbus.EINVALID {
				return err
			}
			fields = c.messages.fieldErrors(v.lang, err)
		}
	}
	if len(fields) > 0 {
		return c.renderSettings(v, http.StatusUnprocessableEntity, nil, fields)
	}
	back(v, "/admin/settings", "saved")
	return nil
}

func (c *Console) deleteZone(v *staffVisit) error {
	if err := c.Pricing.DeleteShippingZone(v.ctx(), v.store.ID, v.r.PathValue("id")); err != nil {
		return err
	}
	back(v, "/admin/settings", "saved")
	return nil
}

func (c *Console) setTax(v *staffVisit) error {
	f := v.r.PostForm
	pct, err := strconv.ParseFloat(strings.TrimSpace(f.Get("rate")), 64)
	if err != nil || pct < 0 || pct > 100 {
		return c.renderSettings(v, http.StatusUnprocessableEntity, nil, map[string]string{"rate_bp": c.messages.translate(v.lang, "admin.discounts.bad_percent")})
	}
	_, err = c.Pricing.SetTaxRate(v.ctx(), v.store.ID, pricing.TaxRateInput{Country: strings.ToUpper(strings.TrimSpace(f.Get("country"))),
		Region: f.Get("region"), Name: f.Get("tax_name"), RateBP: int64(pct*100 + 0.5)})
	if err != nil {
		if nimbus.ErrorCode(err) == nimbus.EINVALID {
			return c.renderSettings(v, http.StatusUnprocessableEntity, nil, c.messages.fieldErrors(v.lang, err))
		}
		return err
	}
	back(v, "/admin/settings", "saved")
	return nil
}

func (c *Console) deleteTax(v *staffVisit) error {
	if err := c.Pricing.DeleteTaxRate(v.ctx(), v.store.ID, v.r.PathValue("id")); err != nil {
		return err
	}
	back(v, "/admin/settings", "saved")
	return nil
}

type staffPage struct {
	adminBase
	Role   string
	Status string
	Here   template.URL // the page's filters and cursor (each escaped), for the rows' forms
	Next   string
	Staff  []identity.UserView
	Keys   []identity.APIKeyView
	NewKey string
	Form   map[string]string
	Me     string
}

func (c *Console) staffPage(v *staffVisit) error {
	return c.renderStaff(v, http.StatusOK, "", map[string]string{"role": "staff"}, nil)
}

func (c *Console) renderStaff(v *staffVisit, status int, newKey string, form, fields map[string]string) error {
	q := v.r.URL.Query()
	roleFilter, statusFilter := q.Get("role"), q.Get("status")
	users, err := httpx.List(httpx.PageParams{Limit: 50, Cursor: q.Get("cursor")}, func(after string, n int) ([]*identity.User, error) {
		f := identity.UserFilter{After: after, Limit: n}
		if roleFilter != "" {
			r := nimbus.Role(roleFilter)
			f.Role = &r
		}
		if statusFilter != "" {
			f.Status = &statusFilter
		}
		return c.Identity.FindStaff(v.ctx(), v.store.ID, f)
	}, identity.ViewUser, func(u identity.UserView) string { return u.ID })
	if err != nil {
		return err
	}
	keys, err := c.Identity.FindAPIKeys(v.ctx(), v.store.ID, identity.APIKeyFilter{Limit: 200})
	if err != nil {
		return err
	}
	p := staffPage{adminBase: c.base(v, "staff", c.messages.translate(v.lang, "admin.nav.staff")), NewKey: newKey, Form: form, Me: v.principal.UserID,
		Role: roleFilter, Status: statusFilter, Staff: users.Data, Here: template.URL(staffQuery(q, q.Get("cursor")))}
	if users.HasMore {
		p.Next = "/admin/staff?" + staffQuery(q, users.NextCursor)
	}
	p.Fields = fields
	if len(fields) > 0 {
		p.Error = c.messages.translate(v.lang, "error.fix")
	}
	for _, k := range keys {
		p.Keys = append(p.Keys, identity.ViewAPIKey(k))
	}
	return c.render(v, status, "staff", &p)
}

func (c *Console) createStaff(v *staffVisit) error {
	f := v.r.PostForm
	form := map[string]string{"email": f.Get("email"), "name": f.Get("name"), "role": f.Get("role")}
	_, err := c.Identity.CreateStaff(v.ctx(), v.principal, identity.NewStaff{Email: form["email"], Name: form["name"],
		Role: nimbus.Role(form["role"]), Password: f.Get("password")})
	if err != nil {
		if code := nimbus.ErrorCode(err); code == nimbus.EINVALID || code == nimbus.EFORBIDDEN {
			fields := c.messages.fieldErrors(v.lang, err)
			if len(fields) == 0 {
				fields = map[string]string{"role": c.messages.errorMessage(v.lang, err)}
			}
			return c.renderStaff(v, httpx.StatusOf(code), "", form, fields)
		}
		return err
	}
	back(v, "/admin/staff", "saved")
	return nil
}

func (c *Console) staffStatus(v *staffVisit) error {
	status := v.r.PostFormValue("status")
	if _, err := c.Identity.UpdateStaff(v.ctx(), v.principal, v.r.PathValue("id"), identity.StaffUpdate{Status: &status}); err != nil {
		if code := nimbus.ErrorCode(err); code == nimbus.ECONFLICT || code == nimbus.EFORBIDDEN || code == nimbus.EINVALID {
			return c.renderStaff(v, httpx.StatusOf(code), "", map[string]string{"role": "staff"}, map[string]string{"staff": c.messages.errorMessage(v.lang, err)})
		}
		return err
	}
	back(v, staffListPage(v), "saved")
	return nil
}

// staffListPage is the page of the staff list, as filtered, a row's form
// was on.
func staffListPage(v *staffVisit) string {
	q := v.r.URL.Query()
	return listPage("/admin/staff", staffQuery(q, q.Get("cursor")))
}

// staffQuery is the query of a page of the staff list: q's filters, at
// cursor.
func staffQuery(q neturl.Values, cursor string) string {
	return url(map[string]string{"status": q.Get("status"), "role": q.Get("role"), "cursor": cursor})
}

func (c *Console) createKey(v *staffVisit) error {
	_, key, err := c.Identity.CreateAPIKey(v.ctx(), v.principal, identity.NewAPIKey{Name: v.r.PostFormValue("key_name")})
	if err != nil {
		if code := nimbus.ErrorCode(err); code == nimbus.EINVALID || code == nimbus.EFORBIDDEN {
			return c.renderStaff(v, httpx.StatusOf(code), "", map[string]string{"role": "staff"}, map[string]string{"key_name": c.messages.errorMessage(v.lang, err)})
		}
		return err
	}
	// The key is shown on this page only. Nimbus keeps no copy it can read:
	// the page kept for a second click of the form (Console.Once) is sealed
	// with the form's own key, which only that page had.
	return c.renderStaff(v, http.StatusCreated, key, map[string]string{"role": "staff"}, nil)
}

func (c *Console) revokeKey(v *staffVisit) error {
	if err := c.Identity.RevokeAPIKey(v.ctx(), v.principal, v.r.PathValue("id")); err != nil {
		return err
	}
	back(v, "/admin/staff", "saved")
	return nil
}
