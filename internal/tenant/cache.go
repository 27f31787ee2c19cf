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

// cacheTTL and cacheStale bound how old a cached tenant may be: fresh for
// a second, then for at most another answered as it is while one read
// refreshes it (a store's crowd never waits for the directory, and reads
// it about once a second, not once per request that finds the entry
// expired). A change in the console shows at once on the node that made
// it (UpdateTenant forgets the entries when it commits) and within two
// seconds on the others.
const (
	cacheTTL   = time.Second
	cacheStale = time.Second
)

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

// Resolve returns the tenant with a handle, from the cache. Errors:
// ENOTFOUND.
func (s *Service) Resolve(ctx context.Context, handle string) (*Tenant, error) {
	c := s.cache.ready()
	return c.get(ctx, c.byHandle, strings.ToLower(handle), c.byID, func(t *Tenant) string { return t.ID },
		func(ctx context.Context) (*Tenant, error) { return s.FindTenantByHandle(ctx, handle) })
}

// Cached returns a tenant by id, from the cache. Errors: ENOTFOUND.
func (s *Service) Cached(ctx context.Context, id string) (*Tenant, error) {
	c := s.cache.ready()
	return c.get(ctx, c.byID, id, c.byHandle, func(t *Tenant) string { return t.Handle },
		func(ctx context.Context) (*Tenant, error) { return s.FindTenantByID(ctx, id) })
}

// get answers key from one of the cache's maps (own), reading the tenant
// with find when it must. A tenant read is kept under its key in the other
// map as well (a store looked up by handle is then found by id, and the
// other way round); a key found gone (a store renamed or closed) is not
// answered stale meanwhile.
func (c *cache) get(ctx context.Context, own *memo.Cache[*Tenant], key string, other *memo.Cache[*Tenant], otherKey func(*Tenant) string,
	find func(context.Context) (*Tenant, error)) (*Tenant, error) {
	return own.Get(ctx, key, func(ctx context.Context) (*Tenant, error) {
		began := other.Now()
		t, err := find(ctx)
		switch {
		case err == nil:
			other.Put(otherKey(t), t, began)
		case nimbus.ErrorCode(err) == nimbus.ENOTFOUND:
			own.Drop(key)
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
// none is (remembered as well, so unknown hosts cost no query), from the
// cache.
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

// forget drops what the cache holds of a tenant changed by this node,
// under its old and new host names.
func (c *cache) forget(old, changed *Tenant) {
	c.ready()
	c.byID.Forget(changed.ID)
	c.byHandle.Forget(changed.Handle)
	for _, domain := range []string{old.Domain, changed.Domain} {
		if domain != "" {
			c.byDomain.Forget(domain)
		}
	}
}
