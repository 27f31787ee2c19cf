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

// Cache holds values by key. The zero value is not ready: use New.
type Cache[V any] struct {
	ttl, stale time.Duration
	max        int
	now        func() time.Time

	mu         sync.Mutex
	entries    map[string]entry[V]
	refreshing map[string]bool
	flight     singleflight.Group
	background sync.WaitGroup // refreshes running, for tests
}

type entry[V any] struct {
	v       V
	fetched time.Time
}

// New returns a cache whose values are fresh for ttl and then, for up to
// stale more, answered as they are while one read refreshes them in the
// background; past that a caller waits for a read (one for all callers of
// a key). It keeps at most max values and starts over past that, which
// only costs reads.
func New[V any](ttl, stale time.Duration, max int) *Cache[V] {
	return &Cache[V]{ttl: ttl, stale: stale, max: max, now: time.Now, entries: map[string]entry[V]{}, refreshing: map[string]bool{}}
}

// Get returns the value of key, read with load if the cache has none
// fresh enough. An error is returned to the callers waiting for that read
// and not kept. The read runs without the caller's cancellation: other
// callers may be waiting for it.
func (c *Cache[V]) Get(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	age := c.now().Sub(e.fetched)
	switch {
	case ok && age < c.ttl:
		c.mu.Unlock()
		return e.v, nil
	case ok && age < c.ttl+c.stale:
		if !c.refreshing[key] {
			c.refreshing[key] = true
			c.background.Go(func() {
				defer func() {
					c.mu.Lock()
					delete(c.refreshing, key)
					c.mu.Unlock()
				}()
				c.read(context.WithoutCancel(ctx), key, load) // a failure leaves the old value to age out
			})
		}
		c.mu.Unlock()
		return e.v, nil
	}
	c.mu.Unlock()
	return c.read(context.WithoutCancel(ctx), key, load)
}

// read loads key once for every caller asking meanwhile, and keeps it.
func (c *Cache[V]) read(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	res, err, _ := c.flight.Do(key, func() (any, error) {
		fetched := c.now()
		v, err := load(ctx)
		if err == nil {
			c.Put(key, v, fetched)
		}
		return v, err
	})
	v, _ := res.(V) // nil for an interface V whose read failed
	return v, err
}

// Put keeps v as key's value as read at fetched (a read of one key that
// also tells another's value).
func (c *Cache[V]) Put(key string, v V, fetched time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok && old.fetched.After(fetched) {
		return // a newer read is kept
	}
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[key] = entry[V]{v: v, fetched: fetched}
}

// Forget drops key's value: a read that found it gone (not merely failed)
// must not leave the old value served until it ages out.
func (c *Cache[V]) Forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

// Now is the cache's clock, for callers that Put.
func (c *Cache[V]) Now() time.Time { return c.now() }
