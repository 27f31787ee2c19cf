package web

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/identity"
)

// TestCatalogsAreComplete: both languages have exactly the same keys, with
// the same number of %-verbs, and every key a template uses exists.
func TestCatalogsAreComplete(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`%[dsv]`)
	// A key twice in a file: JSON keeps the last, and the first is lost.
	keyLine := regexp.MustCompile(`(?m)^\s*"([^"]+)":`)
	for _, lang := range []string{"en", "zh-CN"} {
		b, err := fs.ReadFile(messageFS, "messages/"+lang+".json")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, m := range keyLine.FindAllSubmatch(b, -1) {
			if seen[string(m[1])] {
				t.Errorf("%s.json has %q twice", lang, m[1])
			}
			seen[string(m[1])] = true
		}
	}
	for key, en := range c["en"] {
		zh, ok := c["zh-CN"][key]
		if !ok {
			t.Errorf("zh-CN lacks %q", key)
			continue
		}
		if len(verbs.FindAllString(en, -1)) != len(verbs.FindAllString(zh, -1)) {
			t.Errorf("%q: en %q and zh-CN %q take different arguments", key, en, zh)
		}
	}
	for key := range c["zh-CN"] {
		if _, ok := c["en"][key]; !ok {
			t.Errorf("en lacks %q", key)
		}
	}
	used := regexp.MustCompile(`\.T "([a-z_.0-9]+)"`)
	names, _ := fs.Glob(templateFS, "templates/*.html")
	admin, _ := fs.Glob(templateFS, "templates/admin/*.html")
	names = append(names, admin...)
	for _, name := range names {
		b, _ := fs.ReadFile(templateFS, name)
		for _, m := range used.FindAllSubmatch(b, -1) {
			if _, ok := c["en"][string(m[1])]; !ok {
				t.Errorf("%s uses %q, which no catalog has", name, m[1])
			}
		}
	}
	for _, key := range []string{"admin.confirm.delete_zone", "admin.confirm.delete_tax", "admin.confirm.disable_staff", "admin.confirm.revoke_key", "admin.confirm.delete_collection", "admin.confirm.end_sale"} {
		if _, ok := c["en"][key]; !ok {
			t.Errorf("no message %q", key)
		}
	}
	for _, k := range []string{"received", "sold", "returned", "adjusted", "reserved", "released"} {
		if _, ok := c["en"]["admin.movement."+k]; !ok {
			t.Errorf("no message for movement %s", k)
		}
	}
	for _, st := range []string{"scheduled", "active", "ended"} {
		if _, ok := c["en"]["admin.flash_sales."+st]; !ok {
			t.Errorf("no message for flash sale status %s", st)
		}
	}
	for _, st := range []string{"pending_payment", "paid", "partially_fulfilled", "fulfilled", "completed", "canceled", "refunded"} {
		if _, ok := c["en"]["order.status."+st]; !ok {
			t.Errorf("no message for order status %s", st)
		}
		// An order's status in "error.transition" (a nimbus.Term).
		if _, ok := c["en"]["error.order_status."+st]; !ok {
			t.Errorf("no term for order status %s", st)
		}
	}
	for _, action := range []string{"pay", "fulfill", "complete", "cancel", "refund"} {
		if _, ok := c["en"]["error.order_action."+action]; !ok {
			t.Errorf("no term for order action %s", action)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	for _, tc := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{123456, "USD", "$1234.56"}, {5, "CNY", "¥0.05"}, {1200, "JPY", "¥1200"}, {-250, "EUR", "-€2.50"}, {1000, "KWD", "1.000 KWD"},
	} {
		if got := formatMoney(tc.amount, tc.currency, "en"); got != tc.want {
			t.Errorf("formatMoney(%d, %s) = %q, want %q", tc.amount, tc.currency, got, tc.want)
		}
	}
}

// TestLanguagesStaffCanChooseAreTheOnesWeSpeak: a language staff may keep on
// their account has a catalog, and a catalog is a language they may choose.
func TestLanguagesStaffCanChooseAreTheOnesWeSpeak(t *testing.T) {
	var spoken []string
	for _, tag := range languages {
		spoken = append(spoken, langCode(tag))
	}
	if !slices.Equal(spoken, identity.Languages) {
		t.Fatalf("web speaks %v, staff choose from %v", spoken, identity.Languages)
	}
}

// TestFieldErrorsInTheVisitorsLanguage: a service's field error that names
// its message in the catalog is shown in the page's language, with its
// arguments; one that does not, or names a message the catalog lacks, as
// the service wrote it.
func TestFieldErrorsInTheVisitorsLanguage(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	err = nimbus.Invalid(
		nimbus.Fieldf("quantity", "field.sale_limit", "must be at most %d in this sale", 2),
		nimbus.FieldError{Field: "email", Message: "is not an email address"},
		nimbus.Fieldf("note", "field.no_such_message", "is odd"),
	)
	zh := c.fieldErrors("zh-CN", err)
	if zh["quantity"] != "本次抢购每人最多 2 件" || zh["email"] != "is not an email address" || zh["note"] != "is odd" {
		t.Fatalf("zh-CN: %q", zh)
	}
	if en := c.fieldErrors("en", err); en["quantity"] != "must be at most 2 in this sale" {
		t.Fatalf("en: %q", en)
	}
	if got := c.fieldErrors("en", errors.New("not a domain error")); len(got) != 0 {
		t.Fatalf("an internal error's fields: %q", got)
	}
}

// TestWholeErrorsInTheVisitorsLanguage: a page shows a whole error in its
// language when the service named its message (nimbus.Errorkf), with its
// arguments and terms; an error about fields as its fields' messages; an
// error that names nothing as the service wrote it; and anything that is
// not a domain error only as something gone wrong.
func TestWholeErrorsInTheVisitorsLanguage(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	stock := fmt.Errorf("adjust: %w", nimbus.Errorkf(nimbus.ESTOCK, "error.only_left_of", "only %d of %s left in stock", 3, "TEA-100"))
	transition := nimbus.Errorkf(nimbus.ETRANSITION, "error.transition", "an order that is %s cannot be %s",
		nimbus.Term{Key: "error.order_status.canceled", Text: "canceled"}, nimbus.Term{Key: "error.order_action.pay", Text: "paid"})
	fields := nimbus.Invalid(nimbus.Fieldf("card.number", "field.card_number", "is not a valid card number"),
		nimbus.Fieldf("card.cvc", "field.cvc", "must be 3 or 4 digits"))
	for _, tc := range []struct {
		err      error
		lang     string
		want     string
		unkeyed  bool
		internal bool
	}{
		{err: stock, lang: "zh-CN", want: "库存仅剩 3 件（TEA-100）"},
		{err: stock, lang: "en", want: "only 3 of TEA-100 left in stock"},
		{err: transition, lang: "zh-CN", want: "状态为“已取消”的订单不能付款"},
		{err: transition, lang: "en", want: "an order that is canceled cannot be paid"},
		{err: fields, lang: "zh-CN", want: "不是有效的卡号；须为 3 或 4 位数字"},
		{err: nimbus.Invalid(nimbus.Fieldf("quantity", "field.sale_limit", "must be at most %d in this sale", 2)), lang: "en", want: "must be at most 2 in this sale"},
		{err: nimbus.Errorf(nimbus.EMALFORMED, "the request body is not valid JSON"), lang: "zh-CN", want: "the request body is not valid JSON"},
		{err: nimbus.Errorkf(nimbus.ECONFLICT, "error.no_such_message", "odd"), lang: "zh-CN", want: "odd"},
		{err: errors.New("disk full"), lang: "zh-CN", want: "出错了"},
		{err: nil, lang: "zh-CN", want: ""},
	} {
		if got := c.errorMessage(tc.lang, tc.err); got != tc.want {
			t.Errorf("%s: errorMessage(%v) = %q, want %q", tc.lang, tc.err, got, tc.want)
		}
	}
	// The API's English is what it was: a term prints as its text.
	if transition.Message != "an order that is canceled cannot be paid" || nimbus.ErrorMessage(stock) != "only 3 of TEA-100 left in stock" {
		t.Fatalf("Message = %q, %q", transition.Message, nimbus.ErrorMessage(stock))
	}
}

// TestFormRefusalsInTheMembersLanguage: what httpx.Idempotency.Form
// refuses a console post with (in its API's English) reaches the page in
// the member's language, with a status that says the same; an error of the
// work itself is left as it is.
func TestFormRefusalsInTheMembersLanguage(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err  error
		code string
		key  string
	}{
		{nimbus.Errorf(nimbus.EIDEMPOTENCY, "this Idempotency-Key was used for a different request"), nimbus.ECONFLICT, "form.sent"},
		{nimbus.Invalid(nimbus.FieldError{Field: "Idempotency-Key", Message: "at most 255 printable ASCII characters"}), nimbus.ECONFLICT, "form.sent"},
		{nimbus.Errorf(nimbus.EIDEMPOTENCYBUSY, "a request with this Idempotency-Key is still being processed; retry later"), nimbus.EIDEMPOTENCYBUSY, "form.still_running"},
		{nimbus.Errorf(nimbus.EMALFORMED, "could not read the form"), nimbus.EMALFORMED, "form.unreadable"},
	} {
		got := onceError(tc.err)
		if nimbus.ErrorCode(got) != tc.code {
			t.Errorf("%v: code %s, want %s", tc.err, nimbus.ErrorCode(got), tc.code)
		}
		zh, en := c.errorMessage("zh-CN", got), c.errorMessage("en", got)
		if zh != c.translate("zh-CN", tc.key) || en != c.translate("en", tc.key) || zh == en {
			t.Errorf("%v: pages say %q and %q, want the catalog's %q in each language", tc.err, zh, en, tc.key)
		}
	}
	work := nimbus.Errorkf(nimbus.ESTOCK, "error.only_left_of", "only %d of %s left in stock", 3, "TEA-100")
	if got := onceError(work); got != error(work) {
		t.Errorf("the work's own error became %v", got)
	}
}

// apiOnlyErrors are the nimbus.Errorf messages that pages never show, so
// that they stay in English without a key (TestEveryErrorNamesItsMessage),
// each with why only the API has it.
var apiOnlyErrors = map[string]string{
	// The flash sale's buy endpoint reads its JSON body itself (burst.go);
	// the sale page posts a form, which the storefront parses.
	"a buy's body is JSON (Content-Type: application/json)": "flashsale: the buy API's body",
	"the request body is not valid JSON":                    "flashsale: the buy API's body",
	"the request's body did not arrive in time":             "flashsale: the buy API's body",
	// Pages sign in with a session cookie, never an Authorization header
	// or an API key.
	"the Authorization header must be Bearer <API key>": "identity: the API's bearer authentication",
	"invalid API key": "identity: the API's bearer authentication",
	// The console creates keys from a session; only a caller using an
	// API key can be refused this.
	"API keys can be created only from a signed-in session, not with an API key": "identity: an API key creating a key",
}

// convertedPackages are those whose errors pages show: every nimbus.Errorf
// there names its message in the catalog, or is in apiOnlyErrors.
var convertedPackages = []string{"catalog", "checkout", "customer", "identity", "inventory", "order", "payment", "pricing", "tenant", "flashsale", "web"}

// TestEveryErrorNamesItsMessage reads the source of the packages whose
// errors pages show and fails on a nimbus.Errorf that is not API-only
// (apiOnlyErrors), whose English a Chinese page would show; on a
// nimbus.Errorkf whose key is not a literal the catalog has, whose format
// is not the catalog's English message (English pages say what the API
// says), or which is given other arguments than the catalog's message
// takes; and on a nimbus.Error literal that names neither its message nor
// its fields'.
func TestEveryErrorNamesItsMessage(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`%[dsv]`)
	fset := token.NewFileSet()
	used := map[string]bool{}
	calls := 0
	for _, pkg := range convertedPackages {
		dir := filepath.Join("..", pkg)
		if pkg == "web" {
			dir = "."
		}
		names, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(names) == 0 {
			t.Fatalf("no source in %s: %v", dir, err)
		}
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					switch nimbusName(n.Fun) {
					case "Errorf":
						calls++
						format, _ := stringLit(argAt(n, 1))
						if _, ok := apiOnlyErrors[format]; ok {
							used[format] = true
							return true
						}
						t.Errorf("%s: nimbus.Errorf(%q) shows in English on every page; use nimbus.Errorkf with a catalog key, or list it in apiOnlyErrors if only the API has it",
							fset.Position(n.Pos()), format)
					case "Errorkf":
						calls++
						checkErrorkf(t, fset, c, verbs, n)
					}
				case *ast.CompositeLit:
					if nimbusName(n.Type) == "Error" {
						checkErrorLit(t, fset, c, verbs, n)
					}
				}
				return true
			})
		}
	}
	for format := range apiOnlyErrors {
		if !used[format] {
			t.Errorf("apiOnlyErrors lists %q, which no nimbus.Errorf makes", format)
		}
	}
	if calls < 50 {
		t.Fatalf("found only %d nimbus.Errorf and nimbus.Errorkf calls", calls)
	}
}

// nimbusName is the name of nimbus.X, or "".
func nimbusName(e ast.Expr) string {
	if sel, ok := e.(*ast.SelectorExpr); ok {
		if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "nimbus" {
			return sel.Sel.Name
		}
	}
	return ""
}

func argAt(call *ast.CallExpr, i int) ast.Expr {
	if i < len(call.Args) {
		return call.Args[i]
	}
	return nil
}

// checkErrorkf checks a nimbus.Errorkf(code, key, format, args...) call.
func checkErrorkf(t *testing.T, fset *token.FileSet, c messageCatalog, verbs *regexp.Regexp, call *ast.CallExpr) {
	t.Helper()
	pos := fset.Position(call.Pos())
	key, ok := stringLit(argAt(call, 1))
	if !ok {
		t.Errorf("%s: nimbus.Errorkf's key is not a literal the test can check", pos)
		return
	}
	en, ok := c["en"][key]
	if !ok {
		t.Errorf("%s: the catalog has no message %q", pos, key)
		return
	}
	format, ok := stringLit(argAt(call, 2))
	if !ok {
		t.Errorf("%s: nimbus.Errorkf's format is not a literal the test can check", pos)
		return
	}
	if format != en {
		t.Errorf("%s: %q says %q in English pages' catalog and %q to the API", pos, key, en, format)
	}
	if call.Ellipsis.IsValid() {
		return
	}
	if want, got := len(verbs.FindAllString(en, -1)), len(call.Args)-3; got != want {
		t.Errorf("%s: %q takes %d arguments, given %d", pos, key, want, got)
	}
}

// checkErrorLit fails on a nimbus.Error literal with neither a Key nor
// Fields (whose own keys the FieldError checks see to), or whose Args are
// not as many as its catalog message takes.
func checkErrorLit(t *testing.T, fset *token.FileSet, c messageCatalog, verbs *regexp.Regexp, lit *ast.CompositeLit) {
	t.Helper()
	fields := litFields(lit)
	key, hasKey := fields["Key"]
	if _, hasFields := fields["Fields"]; !hasKey && !hasFields {
		t.Errorf("%s: a nimbus.Error without a Key or Fields shows in English on every page; use nimbus.Errorkf", fset.Position(lit.Pos()))
		return
	}
	name, ok := stringLit(key)
	if !hasKey || !ok || !c.has(name) {
		return // no key, or one the literal check reports
	}
	got := 0
	if args, ok := fields["Args"].(*ast.CompositeLit); ok {
		got = len(args.Elts)
	}
	if want := len(verbs.FindAllString(c["en"][name], -1)); got != want {
		t.Errorf("%s: %q takes %d arguments, given %d", fset.Position(lit.Pos()), name, want, got)
	}
}

// TestEveryFieldErrorNamesItsMessage reads the source of every package but
// httpx's (whose field errors are about headers and queries, which only the
// API has) and fails on a FieldError built without a Key, which a page
// would show in English whatever its language; on a "field.*" or "error.*"
// key the catalog lacks; and on a message given a format with more or fewer
// arguments than the catalog's message takes.
func TestEveryFieldErrorNamesItsMessage(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`%[dsv]`)
	isKey := regexp.MustCompile(`^(field|error)\.[a-z0-9_.]*[a-z0-9_]$`)
	root := filepath.Join("..", "..")
	apiOnly := filepath.Join(root, "internal", "platform", "httpx")
	fset := token.NewFileSet()
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == apiOnly || path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if isFieldErrorType(n.Type) {
					checkFieldErrorLit(t, fset, c, verbs, n)
				}
				if a, ok := n.Type.(*ast.ArrayType); ok && isFieldErrorType(a.Elt) {
					for _, e := range n.Elts {
						if lit, ok := e.(*ast.CompositeLit); ok && lit.Type == nil {
							checkFieldErrorLit(t, fset, c, verbs, lit)
						}
					}
				}
			case *ast.BasicLit:
				if key, ok := stringLit(n); ok && isKey.MatchString(key) && !c.has(key) {
					t.Errorf("%s: the catalog has no message %q", fset.Position(n.Pos()), key)
				}
			case *ast.CallExpr:
				// f(..., "field.x", "format", args) formats the message
				// (nimbus.Fieldf, and helpers that hand theirs on to it):
				// the catalog's message takes as many arguments.
				for i, a := range n.Args {
					key, ok := stringLit(a)
					if !ok || !isKey.MatchString(key) || i+1 >= len(n.Args) || n.Ellipsis.IsValid() || !c.has(key) {
						continue
					}
					if _, ok := stringLit(n.Args[i+1]); !ok {
						continue
					}
					if want, got := len(verbs.FindAllString(c["en"][key], -1)), len(n.Args)-i-2; got != want {
						t.Errorf("%s: %q takes %d arguments, given %d", fset.Position(n.Pos()), key, want, got)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read only %d files from %s", files, root)
	}
}

// litFields returns a struct literal's named fields.
func litFields(lit *ast.CompositeLit) map[string]ast.Expr {
	fields := map[string]ast.Expr{}
	for _, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if name, ok := kv.Key.(*ast.Ident); ok {
				fields[name.Name] = kv.Value
			}
		}
	}
	return fields
}

func isFieldErrorType(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "FieldError"
	case *ast.SelectorExpr:
		return e.Sel.Name == "FieldError"
	}
	return false
}

// checkFieldErrorLit fails on a FieldError literal without a Key, or whose
// Args are not as many as its catalog message takes.
func checkFieldErrorLit(t *testing.T, fset *token.FileSet, c messageCatalog, verbs *regexp.Regexp, lit *ast.CompositeLit) {
	t.Helper()
	fields := litFields(lit)
	key, ok := fields["Key"]
	if !ok {
		t.Errorf("%s: a FieldError without a Key shows in English on every page; use nimbus.Fieldf with a catalog key", fset.Position(lit.Pos()))
		return
	}
	name, ok := stringLit(key)
	if !ok || !c.has(name) {
		return // a key chosen at run time, or one the literal check reports
	}
	got := 0
	if args, ok := fields["Args"].(*ast.CompositeLit); ok {
		got = len(args.Elts)
	}
	if want := len(verbs.FindAllString(c["en"][name], -1)); got != want {
		t.Errorf("%s: %q takes %d arguments, given %d", fset.Position(lit.Pos()), name, want, got)
	}
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
