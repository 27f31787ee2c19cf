package web

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nimbuscommerce/nimbus"
)

// TestPageCache checks what the storefront adds to memo.Cache (whose
// tests cover fresh, stale and too old): a page gone is forgotten, a
// failed render keeps the old page, and the visitor's CSRF token is put
// in. In a synctest bubble: time.Sleep moves its clock, and Wait lets the
// background render finish.
func TestPageCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newPageCache()
		renders := 0
		render := func() (cachedPage, error) {
			renders++
			return cachedPage{html: fmt.Appendf(nil, `<input name="csrf" value="%s"> v%d`, c.marker, renders), status: 200}, nil
		}
		get := func(render func() (cachedPage, error)) (string, error) {
			p, err := c.get(t.Context(), "k", render)
			return string(p.html), err
		}
		first, _ := get(render)
		if again, _ := get(render); renders != 1 || again != first {
			t.Fatalf("within the TTL the page was rendered again (%d renders)", renders)
		}

		time.Sleep(pageTTL)
		busy := errors.New("database busy")
		if page, err := get(func() (cachedPage, error) { return cachedPage{}, busy }); err != nil || page != first {
			t.Fatalf("a stale page: %q, %v; want it served while it renders", page, err)
		}
		synctest.Wait()
		if page, err := get(render); err != nil || page != first {
			t.Fatalf("a failed render dropped the page: %q, %v", page, err)
		}
		synctest.Wait()

		time.Sleep(pageTTL)
		gone := func() (cachedPage, error) { return cachedPage{}, nimbus.Errorf(nimbus.ENOTFOUND, "product not found") }
		stale, _ := get(gone)
		synctest.Wait()
		if _, err := get(gone); nimbus.ErrorCode(err) != nimbus.ENOTFOUND {
			t.Fatalf("a page that is gone is still served: %v", err)
		}

		got := string(c.personalize([]byte(stale), "visitor-token"))
		if !strings.Contains(got, `value="visitor-token"`) || strings.Contains(got, c.marker) {
			t.Fatalf("personalized page = %q", got)
		}
	})
}
