// Package memo keeps values read from the database in memory for a short
// while, so that a crowd asking for the same one at the same moment (a
// store's thousands of shoppers at a sale's start) reads it once, and,
// once it is a little old, keeps being answered from memory while one
// read brings it up to date.
package memo

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// loadTimeout bounds a read that callers share: it runs detached from
// the first caller's cancellation (others may be waiting for it), not
// for ever.
const loadTimeout = 10 * time.Second

// defaultRefreshes bounds the background refreshes running at once
// (WithRefreshes sets another bound): a client asking for many different
// stale keys cannot start a read for each. Past it a stale value is
// answered without one; a later caller starts it.
const defaultRefreshes = 4

// Cache holds values by key. The zero value is not ready: use New.
type Cache[V any] struct {
	ttl, stale time.Duration
	max        int
	refreshes  int // background refreshes at once
	now        func() time.Time

	mu         sync.Mutex
	entries    map[string]entry[V]
	cleared    time.Time // when entries was last emptied for room, tombstones with it
	refreshing map[string]bool
	flight     singleflight.Group
	background sync.WaitGroup // refreshes running, for tests
}

// entry is a key's value as read at fetched, or, gone, a tombstone: the
// key was forgotten at fetched, and reads begun by then are not kept.
type entry[V any] struct {
	v       V
	fetched time.Time
	gone    bool
}

// New returns a cache whose values are fresh for ttl and then, for up to
// stale more, answered as they are while one read refreshes them in the
// background; past that a caller waits for a read (one for all callers of
// a key). A value is thus at most ttl+stale old when answered. It keeps
// at most max keys and starts over past that, which only costs reads.
func New[V any](ttl, stale time.Duration, max int) *Cache[V] {
	return &Cache[V]{ttl: ttl, stale: stale, max: max, refreshes: defaultRefreshes, now: time.Now, entries: map[string]entry[V]{}, refreshing: map[string]bool{}}
}

// WithRefreshes sets how many background refreshes may run at once, for a
// cache of many keys whose reads can be slow; call it before the cache is
// used. It returns c.
func (c *Cache[V]) WithRefreshes(n int) *Cache[V] {
	c.refreshes = max(1, n)
	return c
}

// Get returns the value of key, read with load if the cache has none
// fresh enough. An error is returned to the callers waiting for that read
// and not kept. A caller whose ctx ends stops waiting; the read goes on
// for the others (within loadTimeout).
func (c *Cache[V]) Get(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	ok = ok && !e.gone
	age := c.now().Sub(e.fetched)
	switch {
	case ok && age < c.ttl:
		c.mu.Unlock()
		return e.v, nil
	case ok && age < c.ttl+c.stale:
		if !c.refreshing[key] && len(c.refreshing) < c.refreshes {
			c.refreshing[key] = true
			c.background.Go(func() {
				defer func() {
					c.mu.Lock()
					delete(c.refreshing, key)
					c.mu.Unlock()
				}()
				<-c.read(key, load) // a failure leaves the old value to age out
			})
		}
		c.mu.Unlock()
		return e.v, nil
	}
	c.mu.Unlock()
	select {
	case r := <-c.read(key, load):
		if p, ok := r.Val.(panicked); ok {
			panic(p.value) // in the caller's goroutine, as if it had read itself
		}
		v, _ := r.Val.(V) // nil for an interface V whose read failed
		return v, r.Err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// panicked carries a load's panic to the callers that wait for it; a
// background refresh that panics leaves the old value to age out.
type panicked struct{ value any }

// read loads key once for every caller asking meanwhile, and keeps it
// unless the key was forgotten since the read began.
func (c *Cache[V]) read(key string, load func(context.Context) (V, error)) <-chan singleflight.Result {
	return c.flight.DoChan(key, func() (res any, err error) {
		defer func() {
			if p := recover(); p != nil {
				res, err = panicked{p}, nil
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
		defer cancel()
		fetched := c.now()
		v, err := load(ctx)
		if err == nil {
			c.Put(key, v, fetched)
		}
		return v, err
	})
}

// Peek returns key's value if the cache holds one fresh, without a read.
func (c *Cache[V]) Peek(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && !e.gone && c.now().Sub(e.fetched) < c.ttl {
		return e.v, true
	}
	var zero V
	return zero, false
}

// Put keeps v as key's value as read at fetched (a read of one key that
// also tells another's value), unless the key holds a newer read or was
// forgotten since fetched.
func (c *Cache[V]) Put(key string, v V, fetched time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.entries[key]
	if ok && (old.fetched.After(fetched) || old.gone && !fetched.After(old.fetched)) {
		return // a newer read is kept; a read begun by the time of a Forget is not
	}
	if !ok && !fetched.After(c.cleared) {
		return // begun before the map was emptied: a Forget since may have gone with it
	}
	c.makeRoom(key)
	c.entries[key] = entry[V]{v: v, fetched: fetched}
}

// makeRoom empties the map if it is full and key is not in it; c.mu is held.
func (c *Cache[V]) makeRoom(key string) {
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		clear(c.entries)
		c.cleared = c.now()
	}
}

// Forget drops key's value, now: the next caller reads it anew, and a
// read already under way (begun before this) is neither kept nor shared
// with callers that come after. For a change this node has just
// committed, or a value read while it changed. (A read that found the key
// gone drops it: Drop.)
func (c *Cache[V]) Forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.makeRoom(key)
	c.entries[key] = entry[V]{fetched: c.now(), gone: true}
	c.flight.Forget(key)
}

// Drop drops key's value, if it has one, without a tombstone: for a read
// that found the key gone, whose own result is not kept anyway (a key no
// one has, such as a made-up store handle, takes no room).
func (c *Cache[V]) Drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

// Now is the cache's clock, for callers that Put.
func (c *Cache[V]) Now() time.Time { return c.now() }
