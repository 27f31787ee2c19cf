package tenant

import (
	"context"
	"strings"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// Service reads and changes tenants.
type Service struct {
	DB    *db.DB
	cache cache
}

// FindTenantByID returns a tenant. Errors: ENOTFOUND.
func (s *Service) FindTenantByID(ctx context.Context, id string) (*Tenant, error) {
	var t *Tenant
	err := s.DB.TenantView(ctx, id, func(tx *db.TenantTx) (err error) {
		t, err = FindByID(ctx, tx)
		return err
	})
	return t, err
}

// FindTenantByHandle returns the tenant with a handle. Errors: ENOTFOUND.
func (s *Service) FindTenantByHandle(ctx context.Context, handle string) (*Tenant, error) {
	var t *Tenant
	err := s.DB.View(ctx, func(tx *db.Tx) (err error) {
		t, err = FindByHandle(ctx, tx, strings.ToLower(handle))
		return err
	})
	return t, err
}

// UpdateTenant changes the caller's tenant. Errors: EINVALID, ENOTFOUND.
func (s *Service) UpdateTenant(ctx context.Context, id string, u Update) (*Tenant, error) {
	if u.Name != nil {
		trimmed := strings.TrimSpace(*u.Name)
		u.Name = &trimmed
	}
	if err := u.validate(); err != nil {
		return nil, err
	}
	var t *Tenant
	err := s.DB.TenantUpdate(ctx, id, func(tx *db.TenantTx) error {
		old, err := FindByID(ctx, tx)
		if err != nil {
			return err
		}
		if t, err = update(ctx, tx, u); err != nil {
			return err
		}
		tx.AfterCommit(func() { s.cache.forget(old, t) })
		return nil
	})
	return t, err
}
