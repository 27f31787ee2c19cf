package tenant_test

import (
	"context"
	"testing"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

// TestChangeShowsAtOnceOnItsNode: a store's settings changed on a node are
// what that node's cache answers right after, by id, by handle and by host
// name (the old name no longer leads to the store), although the entries
// are fresh.
func TestChangeShowsAtOnceOnItsNode(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		id := nimbus.NewID(nimbus.PrefixTenant)
		if err := d.TenantUpdate(ctx, id, func(tx *db.TenantTx) error {
			return tenant.Insert(ctx, tx, &tenant.Tenant{Handle: "acme", Name: "Acme", Currency: "USD", TimeZone: "UTC"})
		}); err != nil {
			t.Fatal(err)
		}
		s := &tenant.Service{DB: d}
		shop := "shop.acme.test"
		if _, err := s.UpdateTenant(ctx, id, tenant.Update{Domain: &shop}); err != nil {
			t.Fatal(err)
		}
		byID, err1 := s.Cached(ctx, id)
		byHandle, err2 := s.Resolve(ctx, "acme")
		byDomain, err3 := s.ResolveDomain(ctx, "shop.acme.test")
		none, err4 := s.ResolveDomain(ctx, "www.acme.test")
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || byID.Currency != "USD" || byHandle.ID != id || byDomain == nil || none != nil {
			t.Fatalf("before: %v %v %v %v", err1, err2, err3, err4)
		}

		eur, domain := "EUR", "www.acme.test"
		if _, err := s.UpdateTenant(ctx, id, tenant.Update{Currency: &eur, Domain: &domain}); err != nil {
			t.Fatal(err)
		}
		byHandle, _ = s.Resolve(ctx, "acme") // each before the other could refresh it
		byID, _ = s.Cached(ctx, id)
		oldName, _ := s.ResolveDomain(ctx, "shop.acme.test")
		newName, _ := s.ResolveDomain(ctx, "www.acme.test")
		if byID.Currency != "EUR" || byHandle.Currency != "EUR" {
			t.Fatalf("currency by id %s, by handle %s; want EUR at once", byID.Currency, byHandle.Currency)
		}
		if oldName != nil || newName == nil || newName.ID != id {
			t.Fatalf("old host name leads to %v, new one to %v; want nothing, then the store", oldName, newName)
		}
	})
}
