package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCanceledVisitIsNotAFault: a page of the storefront or the console
// that failed because its visitor left (a canceled context, however the
// error came back) is answered 499 and no page, not logged as a failure of
// ours; another error still is a 500.
func TestCanceledVisitIsNotAFault(t *testing.T) {
	messages, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	s, c := &Storefront{messages: messages}, &Console{messages: messages}
	pages := map[string]func(w http.ResponseWriter, r *http.Request, err error){
		"storefront": func(w http.ResponseWriter, r *http.Request, err error) { s.fail(&visit{w: w, r: r, lang: "en"}, err) },
		"console": func(w http.ResponseWriter, r *http.Request, err error) {
			c.fail(&staffVisit{w: w, r: r, lang: "en"}, err)
		},
	}
	left, leave := context.WithCancel(context.Background())
	leave()
	for page, fail := range pages {
		for _, tc := range []struct {
			name string
			ctx  context.Context
			err  error
			want int
		}{
			{"the work's error", context.Background(), fmt.Errorf("read product: %w", context.Canceled), 499},
			{"the visit's context", left, errors.New("driver: bad connection"), 499},
			{"a fault", context.Background(), errors.New("driver: bad connection"), http.StatusInternalServerError},
		} {
			rec := httptest.NewRecorder()
			fail(rec, httptest.NewRequestWithContext(tc.ctx, "GET", "/s/acme/products/tea", nil), tc.err)
			if rec.Code != tc.want || (tc.want == 499) != (rec.Body.Len() == 0) {
				t.Errorf("%s, %s: status %d, %d bytes; want %d", page, tc.name, rec.Code, rec.Body.Len(), tc.want)
			}
		}
	}
}
