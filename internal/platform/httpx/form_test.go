package httpx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nimbuscommerce/nimbus"
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

// TestFormSecondClickWhileTheFirstRuns: a second post of a form sent while
// the first still runs waits for it and gets its answer, or, if the first
// was refused (which frees the key), runs itself; a key that is not one,
// or the key with other fields, is refused before anything runs.
func TestFormSecondClickWhileTheFirstRuns(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		m := &httpx.Idempotency{DB: d}
		member := nimbus.NewContextWithPrincipal(context.Background(), &nimbus.Principal{TenantID: "ten_1", CredentialID: "ses_1", Session: true})
		post := func(fields url.Values) *http.Request {
			r := httptest.NewRequestWithContext(member, "POST", "/admin/variants/var_1/stock", strings.NewReader(fields.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}
		for _, first := range []struct {
			name   string
			status int
			runs   int
		}{{"done", http.StatusSeeOther, 1}, {"refused", http.StatusConflict, 2}} {
			key := "k-" + first.name
			form := url.Values{"once": {key}, "quantity": {"5"}}
			var runs atomic.Int32
			started, release := make(chan struct{}), make(chan struct{})
			firstDone := make(chan error, 1)
			go func() {
				firstDone <- m.Form(httptest.NewRecorder(), post(form), key, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					runs.Add(1)
					close(started)
					<-release
					w.Header().Set("Location", "/first")
					w.WriteHeader(first.status)
				}))
			}()
			<-started
			second := make(chan *httptest.ResponseRecorder, 1)
			go func() {
				rec := httptest.NewRecorder()
				if err := m.Form(rec, post(form), key, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					runs.Add(1)
					http.Redirect(w, r, "/second", http.StatusSeeOther)
				})); err != nil {
					rec.Code = 0
				}
				second <- rec
			}()
			close(release)
			if err := <-firstDone; err != nil {
				t.Fatal(err)
			}
			rec := <-second
			want := map[string]string{"done": "/first", "refused": "/second"}[first.name]
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want || int(runs.Load()) != first.runs {
				t.Fatalf("first %s: the second click got %d %q, the work ran %d times", first.name, rec.Code, rec.Header().Get("Location"), runs.Load())
			}
		}

		never := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("a refused post ran") })
		if err := m.Form(httptest.NewRecorder(), post(url.Values{"once": {"ключ"}}), "ключ", never); nimbus.ErrorCode(err) != nimbus.EINVALID {
			t.Fatalf("an altered key: %v", err)
		}
		other := url.Values{"once": {"k-done"}, "quantity": {"7"}}
		if err := m.Form(httptest.NewRecorder(), post(other), "k-done", never); nimbus.ErrorCode(err) != nimbus.EIDEMPOTENCY {
			t.Fatalf("the key with other fields: %v", err)
		}
	})
}
