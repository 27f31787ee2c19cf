package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/memo"
)

// pageCache keeps rendered storefront pages for anonymous visitors (no cart,
// not signed in) for a second from the start of their render: a product
// page is the page a sale sends thousands of people to at once. Past the
// second, the page is still served while one render of the new one runs in
// the background (memo.Cache), so no visitor waits for a render while the
// page is being asked for (a flash sale keeps the database busy); a page
// not asked for in staleFor is rendered anew. A change in the console
// shows within about pageTTL on every node, unless pageRenders pages are
// rendering in the background already (a database slow to answer): then
// within as long as one of them takes, at most staleFor. The one
// per-visitor part of such a page, the CSRF token of its forms, is rendered
// as a marker and put in when it is served.
type pageCache struct {
	pages  *memo.Cache[cachedPage]
	marker string // stands for the CSRF token in cached pages
}

type cachedPage struct {
	html   []byte
	status int
}

const (
	pageTTL  = time.Second
	staleFor = 10 * time.Second
	// maxPages bounds the pages kept; past it the cache starts over, which
	// only costs renders (pages live seconds anyway).
	maxPages = 10000
	// pageRenders bounds the background renders at once, of all pages of
	// all stores: a few slow pages leave room for the others, and a crawler
	// asking for many stale pages cannot start a render for each.
	pageRenders = 16
)

func newPageCache() *pageCache {
	b := make([]byte, 16)
	rand.Read(b)
	return &pageCache{pages: memo.New[cachedPage](pageTTL, staleFor, maxPages).WithRefreshes(pageRenders), marker: "csrfmarker" + hex.EncodeToString(b)}
}

// get returns the page for key, rendering it with render (once, for all
// visitors asking at the same moment) when it is missing or too old, and in
// the background when it is merely stale. A page that is no longer there
// (a product taken off sale) is forgotten, so that no one is served the old
// one; on any other failure (a busy database) the old one is kept.
func (c *pageCache) get(ctx context.Context, key string, render func() (cachedPage, error)) (cachedPage, error) {
	return c.pages.Get(ctx, key, func(context.Context) (cachedPage, error) {
		p, err := render()
		if nimbus.ErrorCode(err) == nimbus.ENOTFOUND {
			c.pages.Drop(key)
		}
		return p, err
	})
}

// personalize puts the visitor's CSRF token in a cached page.
func (c *pageCache) personalize(html []byte, csrf string) []byte {
	return bytes.ReplaceAll(html, []byte(c.marker), []byte(csrf))
}
