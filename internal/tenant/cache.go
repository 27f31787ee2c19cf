package tenant

import (
	"context"
	"sync"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// cacheTTL bounds how stale a cached tenant may be: a change in the
// console shows on the storefront within this time, on every node.
const cacheTTL = time.Second

type cached struct {
	t       *Tenant
	expires time.Time
}

// cache keeps recently used tenants by id and by handle, so that a
// storefront request does not read the tenant directory every time.
type cache struct {
	mu       sync.RWMutex
	byID     map[string]cached
	byHandle map[string]cached
	byDomain map[string]cached // a nil t: no store has this host name
}

// get looks key up in one of the maps, given by address: put replaces the
// maps, so even reading which map it is must happen under the lock.
func (c *cache) get(m *map[string]cached, key string) *Tenant {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e, ok := (*m)[key]; ok && time.Now().Before(e.expires) {
		return e.t
	}
	return nil
}

func (c *cache) put(t *Tenant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil || len(c.byID) > 10000 {
		c.byID, c.byHandle, c.byDomain = map[string]cached{}, map[string]cached{}, map[string]cached{}
	}
	e := cached{t: t, expires: time.Now().Add(cacheTTL)}
	c.byID[t.ID], c.byHandle[t.Handle] = e, e
}

// Resolve returns the tenant with a handle, from a cache at most a second
// old. Errors: ENOTFOUND.
func (s *Service) Resolve(ctx context.Context, handle string) (*Tenant, error) {
	if t := s.cache.get(&s.cache.byHandle, handle); t != nil {
		return t, nil
	}
	t, err := s.FindTenantByHandle(ctx, handle)
	if err != nil {
		return nil, err
	}
	s.cache.put(t)
	return t, nil
}

// Cached returns a tenant by id, from a cache at most a second old.
// Errors: ENOTFOUND.
func (s *Service) Cached(ctx context.Context, id string) (*Tenant, error) {
	if t := s.cache.get(&s.cache.byID, id); t != nil {
		return t, nil
	}
	t, err := s.FindTenantByID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.cache.put(t)
	return t, nil
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
// none is (remembered for a second too, so unknown hosts cost no query).
func (s *Service) ResolveDomain(ctx context.Context, host string) (*Tenant, error) {
	s.cache.mu.RLock()
	e, ok := s.cache.byDomain[host]
	s.cache.mu.RUnlock()
	if ok && time.Now().Before(e.expires) {
		return e.t, nil
	}
	var t *Tenant
	err := s.DB.View(ctx, func(tx *db.Tx) (err error) {
		t, err = FindByDomain(ctx, tx, host)
		return err
	})
	if nimbus.ErrorCode(err) == nimbus.ENOTFOUND {
		t, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.cache.mu.Lock()
	if s.cache.byDomain == nil || len(s.cache.byDomain) > 10000 {
		s.cache.byDomain = map[string]cached{}
	}
	s.cache.byDomain[host] = cached{t: t, expires: time.Now().Add(cacheTTL)}
	s.cache.mu.Unlock()
	return t, nil
}
