package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbuscommerce/nimbus/internal/app"
)

// TestThemeDirectory: a developer re-themes the storefront by giving a
// directory of templates and static files that replace the built-in ones of
// the same name; the rest stay as they were, and a file that replaces
// nothing stops the start with the reason. Themes are files, not data: one
// backend proves them.
func TestThemeDirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("templates/products.html", `{{define "content"}}<h1 id="themed">{{.Heading}}</h1>{{end}}`)
	write("static/store.css", "body{font-family:serif}")
	write(".git/HEAD", "ref: refs/heads/main") // a theme kept in git
	write(".DS_Store", "")

	s := startServer(t, app.Config{DataDir: t.TempDir(), ThemeDir: dir})
	sh := openShop(t, s, "acme")
	shopper := s.client(t)
	home := shopper.do("GET", "/s/"+sh.Handle+"/", nil)
	if home.Status != 200 || !strings.Contains(string(home.Body), `<h1 id="themed">`) {
		t.Fatalf("themed home page: %d", home.Status)
	}
	if css := shopper.do("GET", "/static/store.css", nil); string(css.Body) != "body{font-family:serif}" {
		t.Fatalf("themed store.css = %q", css.Body)
	}
	// Pages link it by its content, so browsers holding the built-in one
	// fetch the theme's at once.
	sum := sha256.Sum256([]byte("body{font-family:serif}"))
	url := "/static/store.css?v=" + hex.EncodeToString(sum[:6])
	if !strings.Contains(string(home.Body), `href="`+url+`"`) {
		t.Fatalf("the home page does not link the themed store.css as %s", url)
	}
	if login := string(shopper.do("GET", "/admin/login", nil).Body); !strings.Contains(login, `href="`+url+`"`) ||
		!strings.Contains(login, `href="/static/admin.css?v=`) {
		t.Fatal("the console's pages do not link the static files by their version")
	}
	// Kept a day under its own version; a version this node does not have
	// (a newer node's, in a rolling upgrade) is not kept.
	if cc := shopper.do("GET", url, nil).Header.Get("Cache-Control"); cc != "public, max-age=86400" {
		t.Fatalf("store.css at its version: Cache-Control %q", cc)
	}
	if cc := shopper.do("GET", "/static/store.css?v=0123456789ab", nil).Header.Get("Cache-Control"); cc != "no-cache" {
		t.Fatalf("store.css at another version: Cache-Control %q", cc)
	}
	// A file edited while the node runs is served as it was at the start,
	// as the pages link it: never new content under the old version (a
	// browser would keep it a day). Edits show on restart, as templates do.
	write("static/store.css", "body{font-family:monospace}")
	if css := shopper.do("GET", url, nil); string(css.Body) != "body{font-family:serif}" {
		t.Fatalf("store.css edited after the start: %q served at the start's version", css.Body)
	}
	if missing := shopper.do("GET", "/static/nothing.css", nil); missing.Status != 404 {
		t.Fatalf("a static file that is not there: %d", missing.Status)
	}
	if cart := shopper.do("GET", "/s/"+sh.Handle+"/cart", nil); cart.Status != 200 || strings.Contains(string(cart.Body), "themed") {
		t.Fatalf("a page the theme leaves alone: %d", cart.Status)
	}

	write("templates/prodcuts.html", "typo")
	_, err := app.NewServer(context.Background(), app.Config{DataDir: t.TempDir(), ThemeDir: dir}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "prodcuts.html replaces nothing") {
		t.Fatalf("a theme file that replaces nothing: %v", err)
	}
}
