package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/catalog"
	"github.com/nimbuscommerce/nimbus/internal/checkout"
	"github.com/nimbuscommerce/nimbus/internal/customer"
	"github.com/nimbuscommerce/nimbus/internal/flashsale"
	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/payment"
	"github.com/nimbuscommerce/nimbus/internal/platform/secret"
)

// productCard is a product in a grid.
type productCard struct {
	Handle, Title      string
	PriceMin, PriceMax int64
	SoldOut            bool
}

type productsPage struct {
	base
	Heading     string
	Empty       string
	Collections []*catalog.Collection
	Products    []productCard
}

// cards renders products for a grid, with whether each is sold out.
func (s *Storefront) cards(v *visit, ps []*catalog.Product) ([]productCard, error) {
	var tracked []string
	for _, p := range ps {
		for _, vr := range p.Variants {
			if vr.TrackInventory {
				tracked = append(tracked, vr.ID)
			}
		}
	}
	avail, err := s.Inventory.Available(v.ctx(), v.store.ID, tracked)
	if err != nil {
		return nil, err
	}
	cards := make([]productCard, 0, len(ps))
	for _, p := range ps {
		c := productCard{Handle: p.Handle, Title: p.Title, SoldOut: true}
		for i, vr := range p.Variants {
			if i == 0 || vr.Price < c.PriceMin {
				c.PriceMin = vr.Price
			}
			c.PriceMax = max(c.PriceMax, vr.Price)
			if !vr.TrackInventory || avail[vr.ID] > 0 {
				c.SoldOut = false
			}
		}
		cards = append(cards, c)
	}
	return cards, nil
}

func (s *Storefront) listing(v *visit, heading, empty string, f catalog.ProductFilter, withCollections bool) error {
	return s.cached(v, v.r.URL.RequestURI(), func(v *visit, b base) (int, string, any, error) {
		active := catalog.StatusActive
		f.Status, f.Limit = &active, 60
		ps, err := s.Catalog.FindProducts(v.ctx(), v.store.ID, f)
		if err != nil {
			return 0, "", nil, err
		}
		if len(ps) > 60 {
			ps = ps[:60]
		}
		b.Title = heading
		if heading == v.store.Name {
			b.Title = ""
		}
		p := productsPage{base: b, Heading: heading, Empty: empty}
		if p.Products, err = s.cards(v, ps); err != nil {
			return 0, "", nil, err
		}
		if withCollections {
			if p.Collections, err = s.Catalog.FindCollections(v.ctx(), v.store.ID, "", 20); err != nil {
				return 0, "", nil, err
			}
			if len(p.Collections) > 20 {
				p.Collections = p.Collections[:20]
			}
		}
		return http.StatusOK, "products", &p, nil
	})
}

func (s *Storefront) home(v *visit) error {
	return s.listing(v, v.store.Name, s.messages.translate(v.lang, "home.empty"), catalog.ProductFilter{}, true)
}

func (s *Storefront) search(v *visit) error {
	q := strings.TrimSpace(v.r.URL.Query().Get("q"))
	if len(q) > 200 {
		q = q[:200]
	}
	if q == "" {
		http.Redirect(v.w, v.r, v.path("/"), http.StatusSeeOther)
		return nil
	}
	return s.listing(v, s.messages.translate(v.lang, "search.results", q), s.messages.translate(v.lang, "search.none"),
		catalog.ProductFilter{Query: q}, false)
}

func (s *Storefront) collection(v *visit) error {
	c, err := s.Catalog.FindCollectionByHandle(v.ctx(), v.store.ID, v.r.PathValue("handle"))
	if err != nil {
		return err
	}
	return s.listing(v, c.Title, s.messages.translate(v.lang, "home.empty"), catalog.ProductFilter{CollectionID: &c.ID}, false)
}

type variantChoice struct {
	ID, Title        string
	Price            int64
	CompareAt        int64
	Tracked, SoldOut bool
	Available        int64
	Offer            *flashsale.Offer // a flash sale running now or coming
	OfferActive      bool
}

type productPage struct {
	base
	Product  *catalog.Product
	Variants []variantChoice
	Selected string
	HasOffer bool // a variant is in a sale: static/flashsale.js keeps it live
}

func (s *Storefront) product(v *visit) error {
	handle := v.r.PathValue("handle")
	return s.cached(v, v.r.URL.Path, func(v *visit, b base) (int, string, any, error) {
		p, err := s.Catalog.FindActiveProductByHandle(v.ctx(), v.store.ID, handle)
		if err != nil {
			return 0, "", nil, err
		}
		page, err := s.productPage(v, b, p, nil, "")
		return http.StatusOK, "product", page, err
	})
}

func (s *Storefront) renderProduct(v *visit, p *catalog.Product, status int, fields map[string]string, alert string) error {
	page, err := s.productPage(v, s.base(v, p.Title), p, fields, alert)
	if err != nil {
		return err
	}
	return s.render(v, status, "product", page)
}

func (s *Storefront) productPage(v *visit, b base, p *catalog.Product, fields map[string]string, alert string) (*productPage, error) {
	var tracked []string
	for _, vr := range p.Variants {
		if vr.TrackInventory {
			tracked = append(tracked, vr.ID)
		}
	}
	avail, err := s.Inventory.Available(v.ctx(), v.store.ID, tracked)
	if err != nil {
		return nil, err
	}
	offers, err := s.FlashSales.Offers(v.ctx(), v.store.ID)
	if err != nil {
		return nil, err
	}
	b.Title = p.Title
	page := productPage{base: b, Product: p}
	page.Fields, page.Error = fields, alert
	for _, vr := range p.Variants {
		c := variantChoice{ID: vr.ID, Title: vr.Title, Price: vr.Price, Tracked: vr.TrackInventory, Available: avail[vr.ID]}
		if vr.CompareAtPrice != nil {
			c.CompareAt = *vr.CompareAtPrice
		}
		c.SoldOut = vr.TrackInventory && c.Available <= 0
		if o := offers[vr.ID]; o != nil {
			c.Offer, c.OfferActive = o, o.Active(s.FlashSales.DB.Now()) // the clock sales are stored by
			page.HasOffer = true
			if c.OfferActive && s.FlashSales.SoldOut(v.store.ID, o.SaleID, vr.ID) {
				c.Offer = &flashsale.Offer{SaleID: o.SaleID, Title: o.Title, StartsAt: o.StartsAt, EndsAt: o.EndsAt, SalePrice: o.SalePrice}
			}
		}
		if page.Selected == "" && !c.SoldOut {
			page.Selected = c.ID
		}
		page.Variants = append(page.Variants, c)
	}
	return &page, nil
}

// openCart returns the visitor's open cart in this store, opening one (and
// setting its cookie) when they have none.
func (s *Storefront) openCart(v *visit) (string, error) {
	if tok := cartToken(v); tok != "" {
		if p, err := s.Checkout.GetCart(v.ctx(), v.store.ID, tok); err == nil && p.Cart.Status == checkout.StatusOpen {
			return tok, nil
		}
	}
	var shopper *checkout.Shopper
	if ct := customerToken(v); ct != "" {
		if id, email, err := s.Customers.Shopper(v.ctx(), v.store.ID, ct); err == nil {
			shopper = &checkout.Shopper{CustomerID: id, Email: email}
		}
	}
	_, tok, err := s.Checkout.CreateCart(v.ctx(), v.store.ID, shopper)
	if err != nil {
		return "", err
	}
	s.setCookie(v, cartCookie+v.store.Handle, tok, 30*24*3600)
	return tok, nil
}

func (s *Storefront) addToCart(v *visit) error {
	variantID := v.r.PostFormValue("variant_id")
	qty, err := strconv.ParseInt(v.r.PostFormValue("quantity"), 10, 64)
	if err != nil {
		qty = 0 // the service says why
	}
	tok, err := s.openCart(v)
	if err != nil {
		return err
	}
	if _, err := s.Checkout.AddLine(v.ctx(), v.store.ID, tok, variantID, qty); err != nil {
		if nimbus.ErrorCode(err) == nimbus.EINTERNAL {
			return err
		}
		// Show the product again with the reason next to the field.
		variant, verr := s.Catalog.FindVariantByID(v.ctx(), v.store.ID, variantID)
		if verr != nil {
			return err
		}
		p, perr := s.Catalog.FindProductByID(v.ctx(), v.store.ID, variant.ProductID)
		if perr != nil || p.Status != catalog.StatusActive {
			return err
		}
		fields := s.messages.fieldErrors(v.lang, err)
		if len(fields) == 0 {
			fields = map[string]string{"quantity": s.messages.errorMessage(v.lang, err)}
		}
		return s.renderProduct(v, p, http.StatusUnprocessableEntity, fields, "")
	}
	http.Redirect(v.w, v.r, v.path("/cart?added=1"), http.StatusSeeOther)
	return nil
}

type cartPage struct {
	base
	Cart checkout.CartView
	Form map[string]string
	// for the checkout form
	AddressFields []addressField
}

func (s *Storefront) cartView(v *visit) (*checkout.Priced, error) {
	tok := cartToken(v)
	if tok == "" {
		return nil, nil
	}
	p, err := s.Checkout.GetCart(v.ctx(), v.store.ID, tok)
	if nimbus.ErrorCode(err) == nimbus.ENOTFOUND {
		return nil, nil
	}
	if err != nil || p.Cart.Status != checkout.StatusOpen {
		return nil, err
	}
	return p, nil
}

func (s *Storefront) cart(v *visit) error {
	p, err := s.cartView(v)
	if err != nil {
		return err
	}
	page := cartPage{base: s.base(v, s.messages.translate(v.lang, "cart.title"))}
	if p != nil {
		page.Cart = checkout.ViewCart(p)
		for i, pl := range p.Lines { // one view a line, in order
			if pl.Problem != nil {
				page.Cart.Lines[i].Problem = s.messages.errorMessage(v.lang, pl.Problem)
			}
		}
	}
	if v.r.URL.Query().Get("added") == "1" {
		page.Notice = s.messages.translate(v.lang, "cart.added")
	}
	return s.render(v, http.StatusOK, "cart", &page)
}

func (s *Storefront) updateCart(v *visit) error {
	tok := cartToken(v)
	p, err := s.cartView(v)
	if err != nil || p == nil {
		http.Redirect(v.w, v.r, v.path("/cart"), http.StatusSeeOther)
		return err
	}
	for _, l := range p.Lines {
		raw, ok := v.r.PostForm["qty_"+l.Line.ID]
		if !ok || len(raw) == 0 {
			continue
		}
		qty, err := strconv.ParseInt(strings.TrimSpace(raw[0]), 10, 64)
		if err != nil || qty == l.Line.Quantity {
			continue
		}
		if _, err := s.Checkout.SetLineQuantity(v.ctx(), v.store.ID, tok, l.Line.ID, max(qty, 0)); err != nil && nimbus.ErrorCode(err) == nimbus.EINTERNAL {
			return err
		}
	}
	http.Redirect(v.w, v.r, v.path("/cart"), http.StatusSeeOther)
	return nil
}

// addressField is one input of the address form.
type addressField struct {
	Name, Label, Autocomplete string
	Required                  bool
}

// Key is the field's name in the API's errors.
func (f addressField) Key() string { return "shipping_address." + f.Name }

var addressFields = []addressField{
	{"name", "checkout.name", "name", true},
	{"line1", "checkout.line1", "address-line1", true},
	{"line2", "checkout.line2", "address-line2", false},
	{"city", "checkout.city", "address-level2", true},
	{"region", "checkout.region", "address-level1", false},
	{"postal_code", "checkout.postal_code", "postal-code", false},
	{"country", "checkout.country", "country", true},
	{"phone", "checkout.phone", "tel", false},
}

func (s *Storefront) checkoutPage(v *visit) error {
	p, err := s.cartView(v)
	if err != nil {
		return err
	}
	if p == nil || len(p.Lines) == 0 {
		http.Redirect(v.w, v.r, v.path("/cart"), http.StatusSeeOther)
		return nil
	}
	form := map[string]string{"email": p.Cart.Email}
	if a := p.Cart.ShippingAddress; a != nil {
		form["name"], form["line1"], form["line2"], form["city"] = a.Name, a.Line1, a.Line2, a.City
		form["region"], form["postal_code"], form["country"], form["phone"] = a.Region, a.PostalCode, a.Country, a.Phone
	}
	return s.renderCheckout(v, p, form, nil, http.StatusOK)
}

func (s *Storefront) renderCheckout(v *visit, p *checkout.Priced, form, fields map[string]string, status int) error {
	page := cartPage{base: s.base(v, s.messages.translate(v.lang, "checkout.title")), Cart: checkout.ViewCart(p), Form: form,
		AddressFields: addressFields}
	page.Fields = fields
	return s.render(v, status, "checkout", &page)
}

func (s *Storefront) checkoutAddress(v *visit) error {
	p, err := s.cartView(v)
	if err != nil {
		return err
	}
	if p == nil {
		http.Redirect(v.w, v.r, v.path("/cart"), http.StatusSeeOther)
		return nil
	}
	form := map[string]string{"email": strings.TrimSpace(v.r.PostFormValue("email"))}
	for _, f := range addressFields {
		form[f.Name] = strings.TrimSpace(v.r.PostFormValue(f.Name))
	}
	addr := nimbus.Address{Name: form["name"], Line1: form["line1"], Line2: form["line2"], City: form["city"], Region: form["region"],
		PostalCode: form["postal_code"], Country: strings.ToUpper(form["country"]), Phone: form["phone"]}
	fields := map[string]string{}
	email := form["email"]
	if _, err := s.Checkout.UpdateCart(v.ctx(), v.store.ID, cartToken(v), checkout.CartUpdate{Email: &email}); err != nil {
		if nimbus.ErrorCode(err) != nimbus.EINVALID {
			return err
		}
		for k, m := range s.messages.fieldErrors(v.lang, err) {
			fields[k] = m
		}
	}
	if _, err := s.Checkout.UpdateCart(v.ctx(), v.store.ID, cartToken(v), checkout.CartUpdate{ShippingAddress: &addr}); err != nil {
		if nimbus.ErrorCode(err) != nimbus.EINVALID {
			return err
		}
		for k, m := range s.messages.fieldErrors(v.lang, err) {
			fields[k] = m
		}
	}
	if len(fields) > 0 {
		return s.renderCheckout(v, p, form, fields, http.StatusUnprocessableEntity)
	}
	http.Redirect(v.w, v.r, v.path("/checkout/shipping"), http.StatusSeeOther)
	return nil
}

func (s *Storefront) shippingPage(v *visit) error {
	p, err := s.cartView(v)
	if err != nil {
		return err
	}
	if p == nil || len(p.Lines) == 0 || p.Cart.ShippingAddress == nil || p.Cart.Email == "" {
		http.Redirect(v.w, v.r, v.path("/checkout"), http.StatusSeeOther)
		return nil
	}
	return s.renderShipping(v, p, map[string]string{}, nil, http.StatusOK)
}

func (s *Storefront) renderShipping(v *visit, p *checkout.Priced, form, fields map[string]string, status int) error {
	page := cartPage{base: s.base(v, s.messages.translate(v.lang, "checkout.title")), Cart: checkout.ViewCart(p), Form: form}
	page.Fields = fields
	if len(fields) > 0 {
		page.Error = s.messages.translate(v.lang, "error.fix")
	}
	return s.render(v, status, "shipping", &page)
}

// card reads the payment fields of a form.
func card(r *http.Request) (string, *payment.Card, map[string]string) {
	form := map[string]string{"card_number": r.PostFormValue("card_number"), "exp_month": r.PostFormValue("exp_month"),
		"exp_year": r.PostFormValue("exp_year")}
	provider := r.PostFormValue("provider")
	if provider != "manual" {
		provider = "test"
	}
	month, _ := strconv.Atoi(strings.TrimSpace(form["exp_month"]))
	year, _ := strconv.Atoi(strings.TrimSpace(form["exp_year"]))
	if year > 0 && year < 100 {
		year += 2000
	}
	return provider, &payment.Card{Number: strings.ReplaceAll(form["card_number"], " ", ""), ExpMonth: month, ExpYear: year,
		CVC: strings.TrimSpace(r.PostFormValue("cvc"))}, form
}

func (s *Storefront) pay(v *visit) error {
	tok := cartToken(v)
	p, err := s.cartView(v)
	if err != nil {
		return err
	}
	if p == nil {
		http.Redirect(v.w, v.r, v.path("/cart"), http.StatusSeeOther)
		return nil
	}
	provider, c, form := card(v.r)
	rate := v.r.PostFormValue("shipping_rate_id")
	code := strings.TrimSpace(v.r.PostFormValue("discount_code"))
	p, err = s.Checkout.UpdateCart(v.ctx(), v.store.ID, tok, checkout.CartUpdate{ShippingRateID: &rate, DiscountCode: &code})
	if err != nil {
		if nimbus.ErrorCode(err) != nimbus.EINVALID {
			return err
		}
		cur, cerr := s.cartView(v)
		if cerr != nil || cur == nil {
			return err
		}
		return s.renderShipping(v, cur, form, s.messages.fieldErrors(v.lang, err), http.StatusUnprocessableEntity)
	}
	if v.r.PostFormValue("action") == "apply" {
		return s.renderShipping(v, p, form, nil, http.StatusOK)
	}
	// Validate the card before placing the order, so a typo does not
	// leave an unpaid order holding stock.
	if provider == "test" {
		if _, err := (payment.TestProvider{}).Charge(v.ctx(), payment.ChargeRequest{PaymentID: "check", Card: c}); err != nil {
			return s.renderShipping(v, p, form, map[string]string{"card": s.messages.errorMessage(v.lang, err)}, http.StatusUnprocessableEntity)
		}
	}
	placed, err := s.Checkout.Checkout(v.ctx(), v.store.ID, tok, provider)
	if err != nil {
		if code := nimbus.ErrorCode(err); code == nimbus.EINVALID || code == nimbus.ESTOCK || code == nimbus.ECONFLICT {
			return s.renderShipping(v, p, form, map[string]string{"shipping_rate_id": s.messages.errorMessage(v.lang, err)}, http.StatusConflict)
		}
		return err
	}
	o := placed.Order
	s.setCookie(v, orderCookie+strings.TrimPrefix(o.ID, nimbus.PrefixOrder+"_"), placed.OrderToken, 90*24*3600)
	s.setCookie(v, cartCookie+v.store.Handle, "", -1)
	if provider == "test" {
		if _, err := s.Orders.Pay(v.ctx(), v.store.ID, o.ID, placed.OrderToken, provider, c); err != nil && nimbus.ErrorCode(err) == nimbus.EINTERNAL {
			return err
		}
	}
	http.Redirect(v.w, v.r, v.path("/orders/"+o.ID), http.StatusSeeOther)
	return nil
}

type orderPage struct {
	base
	Order order.OrderView
	Form  map[string]string
}

func (s *Storefront) findOrder(v *visit) (*order.Order, string, error) {
	id := v.r.PathValue("id")
	tok := orderToken(v, id)
	if !secret.Valid(tok) {
		return nil, "", nimbus.Errorkf(nimbus.ENOTFOUND, "error.order_not_found", "order not found")
	}
	o, err := s.Orders.FindOrderWithToken(v.ctx(), v.store.ID, id, tok)
	return o, tok, err
}

func (s *Storefront) orderPage(v *visit) error {
	o, _, err := s.findOrder(v)
	if err != nil {
		return err
	}
	page := orderPage{base: s.base(v, "#"+strconv.FormatInt(o.Number, 10)), Order: order.ViewOrder(o), Form: map[string]string{}}
	return s.render(v, http.StatusOK, "order", &page)
}

func (s *Storefront) payAgain(v *visit) error {
	o, tok, err := s.findOrder(v)
	if err != nil {
		return err
	}
	provider, c, form := card(v.r)
	if _, err := s.Orders.Pay(v.ctx(), v.store.ID, o.ID, tok, provider, c); err != nil {
		if nimbus.ErrorCode(err) == nimbus.EINTERNAL {
			return err
		}
		page := orderPage{base: s.base(v, "#"+strconv.FormatInt(o.Number, 10)), Order: order.ViewOrder(o), Form: form}
		page.Fields = map[string]string{"card": s.messages.errorMessage(v.lang, err)}
		return s.render(v, http.StatusUnprocessableEntity, "order", &page)
	}
	http.Redirect(v.w, v.r, v.path("/orders/"+o.ID), http.StatusSeeOther)
	return nil
}

type accountPage struct {
	base
	Email    string
	Name     string // as typed, on a registration shown again
	Orders   []order.OrderView
	Register bool
}

func (s *Storefront) account(v *visit) error {
	c, err := s.Customers.Authenticate(v.ctx(), v.store.ID, customerToken(v))
	if err != nil {
		http.Redirect(v.w, v.r, v.path("/account/login"), http.StatusSeeOther)
		return nil
	}
	signedIn := true
	os, err := s.Orders.FindOrders(v.ctx(), v.store.ID, order.Filter{CustomerID: &c.ID, SignedIn: &signedIn, Limit: 50})
	if err != nil {
		return err
	}
	page := accountPage{base: s.base(v, s.messages.translate(v.lang, "account.title")), Email: c.Email}
	for _, o := range os {
		page.Orders = append(page.Orders, order.ViewOrder(o))
	}
	return s.render(v, http.StatusOK, "account", &page)
}

func (s *Storefront) loginPage(v *visit) error {
	page := accountPage{base: s.base(v, s.messages.translate(v.lang, "account.signin"))}
	return s.render(v, http.StatusOK, "login", &page)
}

func (s *Storefront) registerPage(v *visit) error {
	page := accountPage{base: s.base(v, s.messages.translate(v.lang, "account.register")), Register: true}
	return s.render(v, http.StatusOK, "login", &page)
}

func (s *Storefront) signedIn(v *visit, token string) {
	s.setCookie(v, customerCookie+v.store.Handle, token, int(customer.SessionLifetime.Seconds()))
	s.setCookie(v, cartCookie+v.store.Handle, "", -1) // the next cart belongs to the account
	http.Redirect(v.w, v.r, v.path("/account"), http.StatusSeeOther)
}

func (s *Storefront) login(v *visit) error {
	email := v.r.PostFormValue("email")
	_, tok, err := s.Customers.SignIn(v.ctx(), v.store.ID, email, v.r.PostFormValue("password"))
	if err != nil {
		if nimbus.ErrorCode(err) == nimbus.EINTERNAL {
			return err
		}
		page := accountPage{base: s.base(v, s.messages.translate(v.lang, "account.signin")), Email: email}
		page.Error = s.messages.errorMessage(v.lang, err)
		return s.render(v, http.StatusUnauthorized, "login", &page)
	}
	s.signedIn(v, tok)
	return nil
}

func (s *Storefront) register(v *visit) error {
	email := v.r.PostFormValue("email")
	_, tok, err := s.Customers.Register(v.ctx(), v.store.ID, customer.Registration{Email: email,
		Password: v.r.PostFormValue("password"), Name: v.r.PostFormValue("name")})
	if err != nil {
		if nimbus.ErrorCode(err) == nimbus.EINTERNAL {
			return err
		}
		page := accountPage{base: s.base(v, s.messages.translate(v.lang, "account.register")), Email: email,
			Name: v.r.PostFormValue("name"), Register: true}
		// Each field's message shows next to it; the alert only says what no field does.
		if page.Fields = s.messages.fieldErrors(v.lang, err); len(page.Fields) == 0 {
			page.Error = s.messages.errorMessage(v.lang, err)
		}
		return s.render(v, http.StatusUnprocessableEntity, "login", &page)
	}
	s.signedIn(v, tok)
	return nil
}

func (s *Storefront) logout(v *visit) error {
	if tok := customerToken(v); tok != "" {
		if err := s.Customers.SignOut(v.ctx(), v.store.ID, tok); err != nil {
			return err
		}
	}
	s.setCookie(v, customerCookie+v.store.Handle, "", -1)
	http.Redirect(v.w, v.r, v.path("/"), http.StatusSeeOther)
	return nil
}
