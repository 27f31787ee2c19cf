package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/catalog"
	"github.com/nimbuscommerce/nimbus/internal/customer"
	"github.com/nimbuscommerce/nimbus/internal/flashsale"
	"github.com/nimbuscommerce/nimbus/internal/identity"
	"github.com/nimbuscommerce/nimbus/internal/inventory"
	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
	"github.com/nimbuscommerce/nimbus/internal/pricing"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

// Console serves the merchants' admin console under /admin/. Staff sign in
// with their store, email and password; the session cookie is the API's, and
// every form carries the session's CSRF token.
type Console struct {
	Identity   *identity.Service
	Tenants    *tenant.Service
	Catalog    *catalog.Service
	Inventory  *inventory.Service
	Orders     *order.Service
	Customers  *customer.Service
	Pricing    *pricing.Service
	FlashSales *flashsale.Service
	// Once keeps each form post's answer under the form's own key (its
	// hidden field "once"), so a second click replays the first click's
	// answer instead of doing the work twice: a second order refund, a
	// second stock adjustment, a second identical sale.
	Once *httpx.Idempotency
	// SecureCookies marks cookies Secure (the site is served over HTTPS).
	SecureCookies bool
	Logger        *slog.Logger
	// StaticURL gives a static file's URL with its version (the storefront
	// serves them: Storefront.StaticURL); nil links them bare.
	StaticURL func(name string) string

	pages    map[string]*template.Template
	messages messageCatalog
}

func (c *Console) staticURL(name string) string {
	if c.StaticURL == nil {
		return (*staticFiles)(nil).url(name) // bare
	}
	return c.StaticURL(name)
}

// Init parses the console's templates and messages once, at start-up.
func (c *Console) Init() error {
	var err error
	if c.messages, err = loadCatalog(); err != nil {
		return err
	}
	c.pages = map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/admin/*.html")
	if err != nil {
		return err
	}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/admin/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).Funcs(template.FuncMap{"static": c.staticURL}).
			ParseFS(templateFS, "templates/admin/layout.html", name)
		if err != nil {
			return fmt.Errorf("parse %s: %w", name, err)
		}
		c.pages[base] = t
	}
	return nil
}

// Routes adds the console's routes to mux.
func (c *Console) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/login", c.public(c.loginPage))
	mux.HandleFunc("POST /admin/login", c.public(c.login))
	mux.HandleFunc("POST /admin/logout", c.staff(c.logout))
	mux.HandleFunc("POST /admin/language", c.staff(c.chooseLanguage))
	mux.HandleFunc("GET /admin/{$}", c.staff(c.dashboard))
	mux.HandleFunc("GET /admin/orders", c.staff(c.orders))
	mux.HandleFunc("GET /admin/orders/{id}", c.staff(c.orderDetail))
	mux.HandleFunc("POST /admin/orders/{id}/{action}", c.staff(c.orderAction))
	mux.HandleFunc("GET /admin/orders/{id}/confirm/{action}", c.staff(c.confirmOrderAction))
	mux.HandleFunc("GET /admin/products", c.staff(c.products))
	mux.HandleFunc("GET /admin/products/new", c.staff(c.newProduct))
	mux.HandleFunc("POST /admin/products", c.staff(c.createProduct))
	mux.HandleFunc("GET /admin/products/{id}", c.staff(c.productDetail))
	mux.HandleFunc("POST /admin/products/{id}", c.staff(c.updateProduct))
	mux.HandleFunc("POST /admin/variants/{id}", c.staff(c.updateVariant))
	mux.HandleFunc("POST /admin/variants/{id}/stock", c.staff(c.adjustStock))
	mux.HandleFunc("GET /admin/collections", c.staff(c.collections))
	mux.HandleFunc("POST /admin/collections", c.staff(c.saveCollection))
	mux.HandleFunc("GET /admin/collections/{id}", c.staff(c.editCollection))
	mux.HandleFunc("POST /admin/collections/{id}", c.staff(c.saveCollection))
	mux.HandleFunc("POST /admin/collections/{id}/delete", c.staff(c.confirm("admin.confirm.delete_collection", backTo("/admin/collections"), c.deleteCollection)))
	c.settingsRoutes(mux)
	c.flashSaleRoutes(mux)
}

// staffVisit is a request of a signed-in staff member.
type staffVisit struct {
	w         http.ResponseWriter
	r         *http.Request
	principal *nimbus.Principal
	store     *tenant.Tenant
	lang      string
}

func (v *staffVisit) ctx() context.Context { return v.r.Context() }

type staffHandler func(v *staffVisit) error

// staff runs h for a signed-in staff member with a browser session, and
// checks the CSRF token of every form post; anyone else goes to sign in.
func (c *Console) staff(h staffHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &staffVisit{w: w, r: r, principal: nimbus.PrincipalFromContext(r.Context()), lang: pickLanguage(r)}
		if v.principal == nil || !v.principal.Session {
			http.Redirect(w, r, "/admin/login?next="+neturl.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if v.principal.Language != "" { // the member's own choice follows them to every browser
			v.lang = v.principal.Language
		}
		if r.Method == http.MethodPost {
			field := r.PostFormValue("csrf")
			if subtle.ConstantTimeCompare([]byte(field), []byte(v.principal.CSRFToken)) != 1 {
				c.fail(v, nimbus.Errorkf(nimbus.EFORBIDDEN, "form.expired", "This form has expired: go back, reload the page and try again."))
				return
			}
		}
		var err error
		if v.store, err = c.Tenants.Cached(r.Context(), v.principal.TenantID); err != nil {
			c.fail(v, err)
			return
		}
		if key := r.PostFormValue("once"); key != "" && c.Once != nil {
			err = c.Once.Form(w, r, key, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				v.w = w // the answer is kept for a replay
				if err := h(v); err != nil {
					c.fail(v, err)
				}
			}))
			err = onceError(err)
		} else {
			err = h(v)
		}
		if err != nil {
			c.fail(v, err)
		}
	}
}

// onceError is what the console says when a form's key stopped its post
// before the work ran (httpx.Idempotency.Form), in the page's language as
// every other refusal is; other errors are as they are.
func onceError(err error) error {
	switch nimbus.ErrorCode(err) {
	case nimbus.EIDEMPOTENCY, nimbus.EINVALID: // sent once with other fields, or its key altered
		return nimbus.Errorkf(nimbus.ECONFLICT, "form.sent", "This form was already sent with other values: go back, reload the page and try again.")
	case nimbus.EIDEMPOTENCYBUSY: // the first post with the key still runs after the wait for it
		return nimbus.Errorkf(nimbus.EIDEMPOTENCYBUSY, "form.still_running", "This form is still being sent: wait a moment, then reload the page to see whether it went through.")
	case nimbus.EMALFORMED:
		return nimbus.Errorkf(nimbus.EMALFORMED, "form.unreadable", "The form could not be read: go back, reload the page and try again.")
	}
	return err
}

// public runs h for anyone (the sign-in page).
func (c *Console) public(h staffHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &staffVisit{w: w, r: r, lang: pickLanguage(r)}
		if err := h(v); err != nil {
			c.fail(v, err)
		}
	}
}

// adminBase is what every console page shows.
type adminBase struct {
	Lang   string
	Store  *tenant.Tenant
	CSRF   string
	Path   string
	Title  string
	Nav    string
	Notice string
	Error  string
	Fields map[string]string
	tr     func(key string, args ...any) string
}

// T translates a message key into the page's language.
func (b *adminBase) T(key string, args ...any) string { return b.tr(key, args...) }

// Money formats an amount of the store's currency.
func (b *adminBase) Money(amount int64) string {
	if b.Store == nil {
		return strconv.FormatInt(amount, 10)
	}
	return formatMoney(amount, b.Store.Currency, b.Lang)
}

// Once returns a new key for a form's hidden field "once" (Console.Once).
func (b *adminBase) Once() string { return rand.Text() }

// LocalInput formats a time for a datetime-local input in the store's zone.
func (b *adminBase) LocalInput(t time.Time) string {
	loc := time.UTC
	if b.Store != nil {
		loc = b.Store.Location()
	}
	return t.In(loc).Format(localInput)
}

// Field returns the error message for a form field, if any.
func (b *adminBase) Field(name string) string { return b.Fields[name] }

// Date formats a time in the store's time zone.
func (b *adminBase) Date(t time.Time) string {
	loc := time.UTC
	if b.Store != nil {
		loc = b.Store.Location()
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

func (c *Console) base(v *staffVisit, nav, title string) adminBase {
	b := adminBase{Lang: v.lang, Store: v.store, Path: v.r.URL.RequestURI(), Title: title, Nav: nav,
		tr: func(key string, args ...any) string { return c.messages.translate(v.lang, key, args...) }}
	if v.principal != nil {
		b.CSRF = v.principal.CSRFToken
	}
	// Only a notice the console has: a link cannot put its own words in
	// the console.
	if done := v.r.URL.Query().Get("done"); done != "" && c.messages.has("admin.done."+done) {
		b.Notice = c.messages.translate(v.lang, "admin.done."+done)
	}
	return b
}

func (c *Console) render(v *staffVisit, status int, name string, page any) error {
	t, ok := c.pages[name]
	if !ok {
		return fmt.Errorf("no admin template %q", name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, page); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := v.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", v.lang)
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'")
	v.w.WriteHeader(status)
	_, err := v.w.Write(buf.Bytes())
	return err
}

func (c *Console) fail(v *staffVisit, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(v.ctx().Err(), context.Canceled) {
		// The member left (or the server is stopping), as on the storefront.
		httpx.Logger(v.ctx()).Info("console visit canceled by the client", "err", err, "path", v.r.URL.Path)
		v.w.WriteHeader(httpx.StatusClientClosedRequest)
		return
	}
	status := httpx.StatusOf(nimbus.ErrorCode(err))
	msg := c.messages.errorMessage(v.lang, err)
	if nimbus.ErrorCode(err) == nimbus.EINTERNAL {
		httpx.Logger(v.r.Context()).Error("console page failed", "err", err, "path", v.r.URL.Path)
		msg = c.messages.translate(v.lang, "error.title")
	}
	page := struct {
		adminBase
		Message string
	}{adminBase: c.base(v, "", msg), Message: msg}
	if rerr := c.render(v, status, "error", &page); rerr != nil {
		http.Error(v.w, msg, status)
	}
}

// back redirects to a console page with a notice ("done" names the message).
func back(v *staffVisit, path, done string) {
	if done != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "done=" + done
	}
	http.Redirect(v.w, v.r, path, http.StatusSeeOther)
}

// parseMoney reads an amount typed by a person ("12.50", "12") in the minor
// unit of the store's currency; its error is a message for the member.
func (c *Console) parseMoney(v *staffVisit, s string) (int64, error) {
	cur, ok := nimbus.LookupCurrency(v.store.Currency)
	if !ok {
		return 0, errors.New("unknown currency")
	}
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > cur.Exponent {
		return 0, errors.New(c.messages.translate(v.lang, "field.money_decimals", cur.Exponent))
	}
	for len(frac) < cur.Exponent {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n < 0 || strings.HasPrefix(whole, "-") {
		return 0, errors.New(c.messages.translate(v.lang, "field.money"))
	}
	return n, nil
}

type loginPage struct {
	adminBase
	Store string
	Email string
	Next  string
}

func (c *Console) loginPage(v *staffVisit) error {
	return c.render(v, http.StatusOK, "login", &loginPage{adminBase: c.base(v, "", c.messages.translate(v.lang, "admin.signin")),
		Next: safeNext(v.r.URL.Query().Get("next"))})
}

func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") {
		return "/admin/"
	}
	return next
}

func (c *Console) login(v *staffVisit) error {
	store, email := strings.TrimSpace(v.r.PostFormValue("store")), strings.TrimSpace(v.r.PostFormValue("email"))
	res, err := c.Identity.SignIn(v.ctx(), identity.Login{Store: store, Email: email, Password: v.r.PostFormValue("password")})
	if err != nil {
		if nimbus.ErrorCode(err) == nimbus.EINTERNAL {
			return err
		}
		page := &loginPage{adminBase: c.base(v, "", c.messages.translate(v.lang, "admin.signin")), Store: store, Email: email,
			Next: safeNext(v.r.PostFormValue("next"))}
		page.Error = c.messages.errorMessage(v.lang, err)
		return c.render(v, http.StatusUnauthorized, "login", page)
	}
	http.SetCookie(v.w, &http.Cookie{Name: identity.CookieName, Value: res.Token, Path: "/", HttpOnly: true, Secure: c.SecureCookies,
		SameSite: http.SameSiteLaxMode, Expires: res.Session.ExpiresAt})
	http.Redirect(v.w, v.r, safeNext(v.r.PostFormValue("next")), http.StatusSeeOther)
	return nil
}

func (c *Console) logout(v *staffVisit) error {
	if ck, err := v.r.Cookie(identity.CookieName); err == nil {
		if err := c.Identity.SignOut(v.ctx(), ck.Value); err != nil {
			return err
		}
	}
	http.SetCookie(v.w, &http.Cookie{Name: identity.CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.SecureCookies,
		SameSite: http.SameSiteLaxMode})
	http.Redirect(v.w, v.r, "/admin/login", http.StatusSeeOther)
	return nil
}

// chooseLanguage keeps the member's language with their account, and in the
// browser's cookie so that the storefront and sign-in page follow it too.
func (c *Console) chooseLanguage(v *staffVisit) error {
	lang := v.r.PostFormValue("language")
	if err := c.Identity.SetLanguage(v.ctx(), v.principal, lang); err != nil {
		return err
	}
	rememberLanguage(v.w, lang)
	http.Redirect(v.w, v.r, safeNext(v.r.PostFormValue("back")), http.StatusSeeOther)
	return nil
}

func queryEscape(s string) string { return neturl.QueryEscape(s) }
