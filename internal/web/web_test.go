package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCanceledVisitIsNotAFault: a page that failed because its visitor
// left (a canceled context, however the error came back) is answered 499
// and no error page, not logged as a failure of ours; another error still
// is a 500.
func TestCanceledVisitIsNotAFault(t *testing.T) {
	s := &Storefront{}
	var err error
	if s.messages, err = loadCatalog(); err != nil {
		t.Fatal(err)
	}
	left, leave := context.WithCancel(context.Background())
	leave()
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"the render's error", context.Background(), fmt.Errorf("read product: %w", context.Canceled), 499},
		{"the visit's context", left, errors.New("driver: bad connection"), 499},
		{"a fault", context.Background(), errors.New("driver: bad connection"), http.StatusInternalServerError},
	} {
		rec := httptest.NewRecorder()
		r := httptest.NewRequestWithContext(c.ctx, "GET", "/s/acme/products/tea", nil)
		s.fail(&visit{w: rec, r: r, lang: "en"}, c.err)
		if rec.Code != c.want || (c.want == 499) != (rec.Body.Len() == 0) {
			t.Errorf("%s: status %d, %d bytes; want %d", c.name, rec.Code, rec.Body.Len(), c.want)
		}
	}
}
