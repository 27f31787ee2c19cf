package web

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// pageCache keeps rendered storefront pages for anonymous visitors (no cart,
// not signed in) for a second: a product page is the page a sale sends
// thousands of people to at once. A change in the console shows within
// pageTTL on every node. The one per-visitor part of such a page, the CSRF
// token of its forms, is rendered as a marker and put in when it is served.
type pageCache struct {
	mu      sync.Mutex
	pages   map[string]cachedPage
	flight  singleflight.Group
	marker  string // stands for the CSRF token in cached pages
	nowFunc func() time.Time
}

type cachedPage struct {
	html    []byte
	status  int
	expires time.Time
}

const pageTTL = time.Second

func newPageCache() *pageCache {
	b := make([]byte, 16)
	rand.Read(b)
	return &pageCache{pages: map[string]cachedPage{}, marker: "csrfmarker" + hex.EncodeToString(b), nowFunc: time.Now}
}

// get returns the page for key, rendering it with render (once, for all
// visitors asking at the same moment) when it is missing or stale.
func (c *pageCache) get(key string, render func() (cachedPage, error)) (cachedPage, error) {
	c.mu.Lock()
	p, ok := c.pages[key]
	c.mu.Unlock()
	if ok && c.nowFunc().Before(p.expires) {
		return p, nil
	}
	v, err, _ := c.flight.Do(key, func() (any, error) {
		p, err := render()
		if err != nil {
			return cachedPage{}, err
		}
		p.expires = c.nowFunc().Add(pageTTL)
		c.mu.Lock()
		if len(c.pages) > 10000 {
			c.pages = map[string]cachedPage{} // a crude bound; pages live a second anyway
		}
		c.pages[key] = p
		c.mu.Unlock()
		return p, nil
	})
	return v.(cachedPage), err
}

// personalize puts the visitor's CSRF token in a cached page.
func (c *pageCache) personalize(html []byte, csrf string) []byte {
	return bytes.ReplaceAll(html, []byte(c.marker), []byte(csrf))
}
