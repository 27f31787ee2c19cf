package web

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus"
)

func TestPageCache(t *testing.T) {
	c := newPageCache()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	c.nowFunc = func() time.Time { return now }
	renders := 0
	render := func() (cachedPage, error) {
		renders++
		return cachedPage{html: []byte(`<input name="csrf" value="` + c.marker + `"> v` + string(rune('0'+renders))), status: 200}, nil
	}
	p, _ := c.get("k", render)
	if renders != 1 {
		t.Fatalf("renders = %d", renders)
	}
	now = now.Add(pageTTL / 2)
	p2, _ := c.get("k", render)
	if renders != 1 || string(p2.html) != string(p.html) {
		t.Fatalf("within the TTL the page was rendered again (%d renders)", renders)
	}
	now = now.Add(pageTTL)
	stale, _ := c.get("k", render)
	c.renders.Wait()
	if renders != 2 || string(stale.html) != string(p.html) {
		t.Fatalf("past the TTL: %d renders, served %q; want the old page served and a new one rendered", renders, stale.html)
	}
	p3, _ := c.get("k", render)
	if renders != 2 || !strings.HasSuffix(string(p3.html), "v2") {
		t.Fatalf("after the background render: %d renders, page %q", renders, p3.html)
	}
	now = now.Add(pageTTL + staleFor)
	if p4, _ := c.get("k", render); renders != 3 || !strings.HasSuffix(string(p4.html), "v3") {
		t.Fatalf("a page too old is served without a render first (%d renders)", renders)
	}
	now = now.Add(pageTTL)
	busy := errors.New("database busy")
	c.get("k", func() (cachedPage, error) { return cachedPage{}, busy })
	c.renders.Wait()
	if p5, err := c.get("k", render); err != nil || !strings.HasSuffix(string(p5.html), "v3") {
		t.Fatalf("a failed background render dropped the page: %q, %v", p5.html, err)
	}
	c.renders.Wait()
	now = now.Add(pageTTL)
	gone := nimbus.Errorf(nimbus.ENOTFOUND, "product not found")
	c.get("k", func() (cachedPage, error) { return cachedPage{}, gone })
	c.renders.Wait()
	if _, err := c.get("k", func() (cachedPage, error) { return cachedPage{}, gone }); nimbus.ErrorCode(err) != nimbus.ENOTFOUND {
		t.Fatalf("a page that is gone is still served: %v", err)
	}
	got := string(c.personalize(p3.html, "visitor-token"))
	if !strings.Contains(got, `value="visitor-token"`) || strings.Contains(got, c.marker) {
		t.Fatalf("personalized page = %q", got)
	}
}
