// Package web serves the HTML pages of Nimbus: each store's storefront
// under /s/{store}/. Pages are rendered on the server from html/template
// files embedded in the binary and work without JavaScript; every string a
// person reads comes from the message catalogs (English and Simplified
// Chinese).
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/catalog"
	"github.com/nimbuscommerce/nimbus/internal/checkout"
	"github.com/nimbuscommerce/nimbus/internal/customer"
	"github.com/nimbuscommerce/nimbus/internal/flashsale"
	"github.com/nimbuscommerce/nimbus/internal/inventory"
	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

//go:embed templates/*.html templates/admin/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Storefront serves the shoppers' pages of every store.
type Storefront struct {
	Tenants    *tenant.Service
	Catalog    *catalog.Service
	Inventory  *inventory.Service
	Checkout   *checkout.Service
	Orders     *order.Service
	Customers  *customer.Service
	FlashSales *flashsale.Service
	// SecureCookies marks cookies Secure (the site is served over HTTPS).
	SecureCookies bool
	// ThemeDir, when set, holds templates and static files that replace
	// the built-in ones of the same name (see themeFS).
	ThemeDir string
	Logger   *slog.Logger

	files    fs.FS
	static   *staticFiles
	pages    map[string]*template.Template
	messages messageCatalog
	cache    *pageCache
}

// Init parses the templates and message catalogs once, at start-up.
func (s *Storefront) Init() error {
	s.cache = newPageCache()
	var err error
	if s.messages, err = loadCatalog(); err != nil {
		return err
	}
	if s.files, err = themeFS(s.ThemeDir); err != nil {
		return err
	}
	if s.static, err = readStatic(s.files); err != nil {
		return err
	}
	pageFuncs := template.FuncMap{"static": s.static.url}
	s.pages = map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	partials, err := fs.Glob(templateFS, "templates/_*.html")
	if err != nil {
		return err
	}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue // the frame and the partials (_name.html) every page shares
		}
		// Names are listed from the built-in theme and read through the
		// overlay, so a theme's file replaces its namesake.
		files := append([]string{"templates/layout.html"}, partials...)
		t, err := template.New("layout.html").Funcs(funcs).Funcs(pageFuncs).ParseFS(s.files, append(files, name)...)
		if err != nil {
			return fmt.Errorf("parse %s: %w", name, err)
		}
		s.pages[base] = t
	}
	return nil
}

var funcs = template.FuncMap{
	"add":   func(a, b int) int { return a + b },
	"roles": func() []string { return []string{"staff", "admin", "owner"} },
}

// Routes adds the storefront's routes to mux.
func (s *Storefront) Routes(mux *http.ServeMux) {
	mux.Handle("GET /static/", http.StripPrefix("/static/", s.static))
	mux.HandleFunc("GET /lang", setLanguage)
	mux.HandleFunc("GET /s/{store}/{$}", s.store(s.home))
	mux.HandleFunc("GET /s/{store}/theme.css", s.theme)
	mux.HandleFunc("GET /s/{store}/search", s.store(s.search))
	mux.HandleFunc("GET /s/{store}/collections/{handle}", s.store(s.collection))
	mux.HandleFunc("GET /s/{store}/products/{handle}", s.store(s.product))
	mux.HandleFunc("GET /s/{store}/flash-sales/{id}", s.store(s.salePage))
	mux.HandleFunc("POST /s/{store}/flash-sales/{id}", s.store(s.csrf(s.buyInSale)))
	mux.HandleFunc("GET /s/{store}/cart", s.store(s.cart))
	mux.HandleFunc("POST /s/{store}/cart/add", s.store(s.csrf(s.addToCart)))
	mux.HandleFunc("POST /s/{store}/cart/update", s.store(s.csrf(s.updateCart)))
	mux.HandleFunc("GET /s/{store}/checkout", s.store(s.checkoutPage))
	mux.HandleFunc("POST /s/{store}/checkout", s.store(s.csrf(s.checkoutAddress)))
	mux.HandleFunc("GET /s/{store}/checkout/shipping", s.store(s.shippingPage))
	mux.HandleFunc("POST /s/{store}/checkout/pay", s.store(s.csrf(s.pay)))
	mux.HandleFunc("GET /s/{store}/orders/{id}", s.store(s.orderPage))
	mux.HandleFunc("POST /s/{store}/orders/{id}/pay", s.store(s.csrf(s.payAgain)))
	mux.HandleFunc("GET /s/{store}/account", s.store(s.account))
	mux.HandleFunc("GET /s/{store}/account/login", s.store(s.loginPage))
	mux.HandleFunc("POST /s/{store}/account/login", s.store(s.csrf(s.login)))
	mux.HandleFunc("GET /s/{store}/account/register", s.store(s.registerPage))
	mux.HandleFunc("POST /s/{store}/account/register", s.store(s.csrf(s.register)))
	mux.HandleFunc("POST /s/{store}/account/logout", s.store(s.csrf(s.logout)))
}

// staticFiles are the static files as read at start-up, the theme's
// included, each with a digest of its content. Pages link a file as
// /static/NAME?v=DIGEST (url, the template function "static"), so a
// browser holding a file for its day of cache fetches a changed one at
// once; and it is served as it was read, so what is served always matches
// the digest it is linked by (a theme's edits show on restart, as its
// templates do).
type staticFiles struct {
	byName map[string]staticFile
	read   time.Time
}

type staticFile struct {
	content []byte
	digest  string
}

// readStatic reads the static files by name. The names are the built-in
// ones (a theme only replaces files), the content that of files, the
// theme's overlay included.
func readStatic(files fs.FS) (*staticFiles, error) {
	static := &staticFiles{byName: map[string]staticFile{}, read: time.Now()}
	err := fs.WalkDir(staticFS, "static", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		static.byName[strings.TrimPrefix(path, "static/")] = staticFile{content: b, digest: hex.EncodeToString(sum[:6])}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	return static, nil
}

// url gives a static file's URL with its digest; a name without one (a
// theme's template naming a file there is not, or no files read) gets the
// bare path.
func (f *staticFiles) url(name string) string {
	if f != nil {
		if file, ok := f.byName[name]; ok {
			return "/static/" + name + "?v=" + file.digest
		}
	}
	return "/static/" + name
}

// ServeHTTP serves a static file by name, as read, for browsers and caches
// to keep a day, unless the URL asks for another version than this node
// has: during a rolling upgrade an old node must not have a new URL cached
// with the old file.
func (f *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	file, ok := f.byName[name]
	if d := r.URL.Query().Get("v"); d != "" && d != file.digest {
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=86400")
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, name, f.read, bytes.NewReader(file.content))
}

// StaticURL gives a static file's URL as the storefront's pages link it
// (for the console's pages, whose static files the storefront serves too).
// Valid once Init has run.
func (s *Storefront) StaticURL(name string) string { return s.static.url(name) }

// visit is what every storefront handler gets: the store, the visitor's
// language and CSRF token, and the request.
type visit struct {
	w     http.ResponseWriter
	r     *http.Request
	store *tenant.Tenant
	lang  string
	csrf  string
}

func (v *visit) ctx() context.Context { return v.r.Context() }

// path builds a URL of this store.
func (v *visit) path(p string) string { return "/s/" + v.store.Handle + p }

type handler func(v *visit) error

// store resolves the store of a request (404 for an unknown handle) and
// runs h; an error from h becomes an error page.
func (s *Storefront) store(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := s.Tenants.Resolve(r.Context(), r.PathValue("store"))
		v := &visit{w: w, r: r, store: t, lang: pickLanguage(r)}
		if err != nil {
			s.fail(v, err)
			return
		}
		v.csrf = csrfToken(w, r, s.SecureCookies)
		if err := h(v); err != nil {
			s.fail(v, err)
		}
	}
}

// base is what every page shows: the store, the language, the cart count.
type base struct {
	Lang      string
	Store     *tenant.Tenant
	CSRF      string
	Path      string
	CartCount int64
	SignedIn  bool
	Search    string // the words searched for, kept in the search box
	Title     string
	Notice    string
	Error     string
	Fields    map[string]string
	tr        func(key string, args ...any) string
}

// T translates a message key into the page's language.
func (b *base) T(key string, args ...any) string { return b.tr(key, args...) }

// Money formats an amount of the store's currency.
func (b *base) Money(amount int64) string { return formatMoney(amount, b.Store.Currency, b.Lang) }

// SaleJSON is the URL of a flash sale of the store as shoppers see it
// (flashsale.RegisterStorefrontAPI), which static/flashsale.js reads.
func (b *base) SaleJSON(saleID string) string {
	return httpx.APIPrefix + "/storefront/" + b.Store.Handle + "/flash-sales/" + saleID
}

// Link builds a URL of the store.
func (b *base) Link(p string) string { return "/s/" + b.Store.Handle + p }

// Field returns the error message for a form field, if any.
func (b *base) Field(name string) string { return b.Fields[name] }

func (s *Storefront) base(v *visit, title string) base {
	b := base{Lang: v.lang, Store: v.store, CSRF: v.csrf, Path: v.r.URL.RequestURI(), Title: title,
		tr: func(key string, args ...any) string { return s.messages.translate(v.lang, key, args...) }}
	if tok := cartToken(v); tok != "" {
		if p, err := s.Checkout.GetCart(v.ctx(), v.store.ID, tok); err == nil && p.Cart.Status == checkout.StatusOpen {
			for _, l := range p.Lines {
				b.CartCount += l.Line.Quantity
			}
		}
	}
	b.SignedIn = customerToken(v) != ""
	if strings.HasSuffix(v.r.URL.Path, "/search") {
		b.Search = strings.TrimSpace(v.r.URL.Query().Get("q"))
	}
	return b
}

// render writes a page; nothing is sent unless the whole page rendered.
func (s *Storefront) render(v *visit, status int, name string, page any) error {
	html, err := s.renderBytes(name, page)
	if err != nil {
		return err
	}
	return s.write(v, status, html)
}

func (s *Storefront) renderBytes(name string, page any) ([]byte, error) {
	t, ok := s.pages[name]
	if !ok {
		return nil, fmt.Errorf("no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, page); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// renderTimeout bounds a cached page's render, which has no request to
// bound it.
const renderTimeout = 5 * time.Second

// cached serves a page from the page cache when the visitor sees the same
// page as any other anonymous visitor (no cart, not signed in), and renders
// it live otherwise. render builds the page for the visit and base it is
// given; the visit may outlive the request (a background render), so render
// must use no other.
func (s *Storefront) cached(v *visit, key string, render func(v *visit, b base) (int, string, any, error)) error {
	if cartToken(v) != "" || customerToken(v) != "" {
		b := s.base(v, "")
		status, name, page, err := render(v, b)
		if err != nil {
			return err
		}
		return s.render(v, status, name, page)
	}
	p, err := s.cache.get(v.r.Context(), v.store.ID+"|"+v.lang+"|"+key, func() (cachedPage, error) {
		// The render may run after this request is done (in the background,
		// for the next visitors): it has a context of its own.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(v.r.Context()), renderTimeout)
		defer cancel()
		bv := *v
		bv.r = v.r.WithContext(ctx)
		b := s.base(&bv, "")
		b.CSRF, b.Path = s.cache.marker, key
		status, name, page, err := render(&bv, b)
		if err != nil {
			return cachedPage{}, err
		}
		html, err := s.renderBytes(name, page)
		return cachedPage{html: html, status: status}, err
	})
	if err != nil {
		return err
	}
	return s.write(v, p.status, s.cache.personalize(p.html, v.csrf))
}

func (s *Storefront) write(v *visit, status int, html []byte) error {
	h := v.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", v.lang)
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'")
	v.w.WriteHeader(status)
	_, err := v.w.Write(html)
	return err
}

type errorPage struct {
	base
	Message string
}

// fail shows an error page: the domain error's safe message, or a generic
// one for internal errors (which are logged).
func (s *Storefront) fail(v *visit, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(v.ctx().Err(), context.Canceled) {
		// The visitor left (or the server is stopping): nobody reads the
		// page, and it is no fault of ours. Logs and metrics see 499.
		httpx.Logger(v.ctx()).Info("storefront visit canceled by the client", "err", err, "path", v.r.URL.Path)
		v.w.WriteHeader(httpx.StatusClientClosedRequest)
		return
	}
	status := http.StatusInternalServerError
	msg := s.messages.translate(v.lang, "error.title")
	switch nimbus.ErrorCode(err) {
	case nimbus.ENOTFOUND:
		status, msg = http.StatusNotFound, s.messages.translate(v.lang, "error.not_found")
	case nimbus.EINTERNAL:
		httpx.Logger(v.r.Context()).Error("storefront page failed", "err", err, "path", v.r.URL.Path)
	default:
		status, msg = httpx.StatusOf(nimbus.ErrorCode(err)), s.messages.errorMessage(v.lang, err)
	}
	if v.store == nil {
		http.Error(v.w, msg, status)
		return
	}
	p := errorPage{base: s.base(v, msg), Message: msg}
	if rerr := s.render(v, status, "error", &p); rerr != nil {
		httpx.Logger(v.r.Context()).Error("render error page", "err", rerr)
		http.Error(v.w, msg, status)
	}
}

// fieldErrors turns a validation error into messages by field name, in
// lang where the service named its message (FieldError.Key).
func (c messageCatalog) fieldErrors(lang string, err error) map[string]string {
	out := map[string]string{}
	e, ok := errors.AsType[*nimbus.Error](err)
	if !ok {
		return out
	}
	for _, f := range e.Fields {
		out[f.Field] = c.fieldMessage(lang, f)
	}
	return out
}

// fieldMessage is a field error's message in lang if the service named it
// (FieldError.Key), else as the service wrote it.
func (c messageCatalog) fieldMessage(lang string, f nimbus.FieldError) string {
	if f.Key != "" && c.has(f.Key) {
		return c.translate(lang, f.Key, c.terms(lang, f.Args)...)
	}
	return f.Message
}

// errorMessage is what a page says of a whole error, in lang: its own
// message, if the service named it (nimbus.Error.Key); else, for an error
// about fields some of which name theirs, the fields' messages (without the
// API's field names); else its English Message. An error that is not a
// *nimbus.Error is internal, and the page says only that something went
// wrong.
func (c messageCatalog) errorMessage(lang string, err error) string {
	if err == nil {
		return ""
	}
	e, ok := errors.AsType[*nimbus.Error](err)
	if !ok {
		return c.translate(lang, "error.title")
	}
	if e.Key != "" && c.has(e.Key) {
		return c.translate(lang, e.Key, c.terms(lang, e.Args)...)
	}
	var msgs []string
	named := false
	for _, f := range e.Fields {
		named = named || f.Key != "" && c.has(f.Key)
		msgs = append(msgs, c.fieldMessage(lang, f))
	}
	if named {
		return strings.Join(msgs, c.translate(lang, "error.separator"))
	}
	return e.Message
}

// terms puts a message's arguments in lang: a nimbus.Term as the catalog
// says it, when it does; anything else as it is.
func (c messageCatalog) terms(lang string, args []any) []any {
	var out []any
	for i, a := range args {
		t, ok := a.(nimbus.Term)
		if !ok || !c.has(t.Key) {
			continue
		}
		if out == nil {
			out = slices.Clone(args)
		}
		out[i] = c.translate(lang, t.Key)
	}
	if out == nil {
		return args
	}
	return out
}

func formatMoney(amount int64, currency, lang string) string {
	if _, ok := nimbus.LookupCurrency(currency); !ok {
		return fmt.Sprintf("%d %s", amount, currency)
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	symbol := map[string]string{"USD": "$", "CNY": "¥", "EUR": "€", "GBP": "£", "JPY": "¥"}[currency]
	num := nimbus.FormatMinor(amount, currency)
	if symbol == "" {
		return sign + num + " " + currency
	}
	return sign + symbol + num
}

// theme serves a store's colours as CSS, so pages keep a strict
// Content-Security-Policy (no inline styles). A developer replaces the look
// further with a theme directory (--theme-dir, see themeFS).
func (s *Storefront) theme(w http.ResponseWriter, r *http.Request) {
	t, err := s.Tenants.Resolve(r.Context(), r.PathValue("store"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=60")
	// ThemeColor is validated as #rrggbb when it is set, so it is safe here.
	fmt.Fprintf(w, ":root{--brand:%s}\n", t.ThemeColor)
}

// Domains routes requests for a store's own host name to its storefront:
// https://shop.example.com/products/tea shows /s/{handle}/products/tea.
func (s *Storefront) Domains(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(host)
		if !strings.Contains(host, ".") || net.ParseIP(host) != nil || hasReservedPrefix(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		t, err := s.Tenants.ResolveDomain(r.Context(), host)
		if err != nil || t == nil {
			next.ServeHTTP(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/s/" + t.Handle + r.URL.Path
		r2.URL.RawPath = ""
		next.ServeHTTP(w, r2)
	})
}

// hasReservedPrefix tells the paths every host serves as they are.
func hasReservedPrefix(path string) bool {
	for _, p := range []string{"/s/", "/static/", "/api/", "/admin/", "/lang", "/healthz", "/readyz", "/metrics"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
