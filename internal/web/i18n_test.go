package web

import (
	"errors"
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

// TestEveryFieldErrorNamesItsMessage reads the source of every package but
// httpx's (whose field errors are about headers and queries, which only the
// API has) and fails on a FieldError built without a Key, which a page
// would show in English whatever its language; on a "field.*" key the
// catalog lacks; and on a message given a format with more or fewer
// arguments than the catalog's message takes.
func TestEveryFieldErrorNamesItsMessage(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`%[dsv]`)
	isKey := regexp.MustCompile(`^field\.[a-z0-9_.]+$`)
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
	fields := map[string]ast.Expr{}
	for _, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if name, ok := kv.Key.(*ast.Ident); ok {
				fields[name.Name] = kv.Value
			}
		}
	}
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
