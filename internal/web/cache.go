package web

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/nimbuscommerce/nimbus"
)

// pageCache keeps rendered storefront pages for anonymous visitors (no cart,
// not signed in) for a second: a product page is the page a sale sends
// thousands of people to at once. Past the second, the page is still served
// while one render of the new one runs in the background, so no visitor
// waits for a render while the page is being asked for (a flash sale keeps
// the database busy); a page not asked for in staleFor is rendered anew. A
// change in the console shows within about pageTTL on every node. The one
// per-visitor part of such a page, the CSRF token of its forms, is rendered
// as a marker and put in when it is served.
type pageCache struct {
	mu      sync.Mutex
	pages   map[string]cachedPage
	flight  singleflight.Group
	marker  string // stands for the CSRF token in cached pages
	nowFunc func() time.Time
	// refreshing holds the keys with a background render running: one per
	// page, however many visitors see it stale meanwhile.
	refreshing map[string]bool
	renders    sync.WaitGroup // background renders, for tests
}

type cachedPage struct {
	html    []byte
	status  int
	expires time.Time
}

const (
	pageTTL  = time.Second
	staleFor = 10 * time.Second
)

func newPageCache() *pageCache {
	b := make([]byte, 16)
	rand.Read(b)
	return &pageCache{pages: map[string]cachedPage{}, refreshing: map[string]bool{}, marker: "csrfmarker" + hex.EncodeToString(b),
		nowFunc: time.Now}
}

// get returns the page for key, rendering it with render (once, for all
// visitors asking at the same moment) when it is missing or too old, and in
// the background when it is merely stale.
func (c *pageCache) get(key string, render func() (cachedPage, error)) (cachedPage, error) {
	c.mu.Lock()
	p, ok := c.pages[key]
	c.mu.Unlock()
	now := c.nowFunc()
	if ok && now.Before(p.expires) {
		return p, nil
	}
	if ok && now.Before(p.expires.Add(staleFor)) {
		c.mu.Lock()
		start := !c.refreshing[key]
		c.refreshing[key] = true
		c.mu.Unlock()
		if start {
			c.renders.Add(1)
			go func() {
				defer c.renders.Done()
				c.refresh(key, render)
				c.mu.Lock()
				delete(c.refreshing, key)
				c.mu.Unlock()
			}()
		}
		return p, nil
	}
	v, err, _ := c.flight.Do(key, func() (any, error) { return c.refresh(key, render) })
	return v.(cachedPage), err
}

// refresh renders a page and keeps it. A page that is no longer there (a
// product taken off sale) is forgotten, so that no one is served the old
// one; on any other failure (a busy database) the old one is kept.
func (c *pageCache) refresh(key string, render func() (cachedPage, error)) (cachedPage, error) {
	p, err := render()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if nimbus.ErrorCode(err) == nimbus.ENOTFOUND {
			delete(c.pages, key)
		}
		return cachedPage{}, err
	}
	p.expires = c.nowFunc().Add(pageTTL)
	if len(c.pages) > 10000 {
		c.pages = map[string]cachedPage{} // a crude bound; pages live seconds anyway
	}
	c.pages[key] = p
	return p, nil
}

// personalize puts the visitor's CSRF token in a cached page.
func (c *pageCache) personalize(html []byte, csrf string) []byte {
	return bytes.ReplaceAll(html, []byte(c.marker), []byte(csrf))
}
