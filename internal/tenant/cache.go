package tenant

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/memo"
)

// cacheTTL bounds how stale a cached tenant may be: a change in the
// console shows on the storefront within this time, on every node (give or
// take the one read that brings an older entry up to date, cacheStale).
const cacheTTL = time.Second

// cacheStale is how long past cacheTTL a tenant is still answered from
// memory while one read refreshes it: a store's crowd never waits for the
// directory, and reads it once a second, not once per request that finds
// the entry expired.
const cacheStale = 10 * time.Second

// cacheSize bounds each map of the cache.
const cacheSize = 10000

// cache keeps recently used tenants by id, by handle and by host name, so
// that a storefront request does not read the tenant directory: at a
// sale's first moment thousands of requests ask for the same store at
// once, and find it in memory, or wait for one read.
type cache struct {
	once     sync.Once
	byID     *memo.Cache[*Tenant]
	byHandle *memo.Cache[*Tenant]
	byDomain *memo.Cache[*Tenant] // nil: no store has this host name
}

func (c *cache) ready() *cache {
	c.once.Do(func() {
		c.byID = memo.New[*Tenant](cacheTTL, cacheStale, cacheSize)
		c.byHandle = memo.New[*Tenant](cacheTTL, cacheStale, cacheSize)
		c.byDomain = memo.New[*Tenant](cacheTTL, cacheStale, cacheSize)
	})
	return c
}

// Resolve returns the tenant with a handle, from a cache at most about a
// second old. Errors: ENOTFOUND.
func (s *Service) Resolve(ctx context.Context, handle string) (*Tenant, error) {
	c := s.cache.ready()
	return c.byHandle.Get(ctx, strings.ToLower(handle), func(ctx context.Context) (*Tenant, error) {
		began := c.byID.Now()
		t, err := s.FindTenantByHandle(ctx, handle)
		switch {
		case err == nil:
			c.byID.Put(t.ID, t, began)
		case nimbus.ErrorCode(err) == nimbus.ENOTFOUND: // renamed: not served stale meanwhile
			c.byHandle.Forget(strings.ToLower(handle))
		}
		return t, err
	})
}

// Cached returns a tenant by id, from a cache at most about a second old.
// Errors: ENOTFOUND.
func (s *Service) Cached(ctx context.Context, id string) (*Tenant, error) {
	c := s.cache.ready()
	return c.byID.Get(ctx, id, func(ctx context.Context) (*Tenant, error) {
		began := c.byHandle.Now()
		t, err := s.FindTenantByID(ctx, id)
		switch {
		case err == nil:
			c.byHandle.Put(t.Handle, t, began)
		case nimbus.ErrorCode(err) == nimbus.ENOTFOUND: // closed: not served stale meanwhile
			c.byID.Forget(id)
		}
		return t, err
	})
}

// Currency returns a tenant's currency.
func (s *Service) Currency(ctx context.Context, id string) (string, error) {
	t, err := s.Cached(ctx, id)
	if err != nil {
		return "", err
	}
	return t.Currency, nil
}

// StoreID returns the tenant id of a store handle, for storefront routes.
// Errors: ENOTFOUND.
func (s *Service) StoreID(ctx context.Context, handle string) (string, error) {
	t, err := s.Resolve(ctx, handle)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// ResolveDomain returns the store whose own host name is host, or nil if
// none is (remembered as well, so unknown hosts cost no query).
func (s *Service) ResolveDomain(ctx context.Context, host string) (*Tenant, error) {
	return s.cache.ready().byDomain.Get(ctx, host, func(ctx context.Context) (*Tenant, error) {
		var t *Tenant
		err := s.DB.View(ctx, func(tx *db.Tx) (err error) {
			t, err = FindByDomain(ctx, tx, host)
			return err
		})
		if nimbus.ErrorCode(err) == nimbus.ENOTFOUND {
			return nil, nil
		}
		return t, err
	})
}
