package httpx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// TestFormRunsToItsEndWhenTheClickIsDropped: a browser drops a form's post
// when the button is clicked again; the work the first post started still
// runs on an uncanceled context, and the second click gets its answer.
func TestFormRunsToItsEndWhenTheClickIsDropped(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		m := &httpx.Idempotency{DB: d}
		form := url.Values{"once": {"k1"}, "title": {"Tea"}}.Encode()
		post := func(ctx context.Context) *http.Request {
			r := httptest.NewRequestWithContext(ctx, "POST", "/admin/products", strings.NewReader(form))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}
		runs := 0
		first, dropped := context.WithCancel(context.Background())
		rec := httptest.NewRecorder()
		err := m.Form(rec, post(first), "k1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs++
			dropped() // the second click
			if err := r.Context().Err(); err != nil {
				t.Errorf("the work's context: %v", err)
			}
			http.Redirect(w, r, "/admin/products/prd_1", http.StatusSeeOther)
		}))
		if err != nil || rec.Code != http.StatusSeeOther {
			t.Fatalf("first click: %v, %d", err, rec.Code)
		}
		again := httptest.NewRecorder()
		err = m.Form(again, post(context.Background()), "k1", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { runs++ }))
		if err != nil || again.Code != http.StatusSeeOther || again.Header().Get("Location") != "/admin/products/prd_1" || runs != 1 {
			t.Fatalf("second click: %v, %d %q, the work ran %d times", err, again.Code, again.Header().Get("Location"), runs)
		}
	})
}
