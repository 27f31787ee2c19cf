package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

func TestMigrationsAreCurrentAndIdempotent(t *testing.T) {
	for _, b := range dbtest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, b.Config)
			ok, err := d.MigrationsCurrent(ctx)
			if err != nil || !ok {
				t.Fatalf("MigrationsCurrent = %v, %v; want true", ok, err)
			}
			// A second open (a second node, or nimbus migrate) applies nothing
			// and fails nothing.
			d2 := dbtest.Open(t, b.Config)
			if err := d2.Migrate(ctx); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
		})
	}
}

func TestTenantTxNeedsATenant(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		err := d.TenantUpdate(context.Background(), "", func(*db.TenantTx) error {
			t.Fatal("ran without a tenant")
			return nil
		})
		if !errors.Is(err, db.ErrNoTenant) {
			t.Fatalf("err = %v, want ErrNoTenant", err)
		}
	})
}

func TestUniqueViolationIsRecognized(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		insert := func(id string) error {
			return d.Update(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO tenants (id, handle, name, currency, time_zone, created_at, updated_at)
					VALUES (?, 'same', 'x', 'USD', 'UTC', ?, ?)`, id, tx.Now, tx.Now)
				return err
			})
		}
		if err := insert("ten_a"); err != nil {
			t.Fatal(err)
		}
		err := insert("ten_b")
		if !db.IsUniqueViolation(err) {
			t.Fatalf("IsUniqueViolation(%v) = false", err)
		}
	})
}

// TestRowLevelSecurity proves the second wall on PostgreSQL: even a query
// that forgets "WHERE tenant_id = ?" sees only the tenant of its transaction.
func TestRowLevelSecurity(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		if d.Dialect() != db.Postgres {
			t.Skip("row-level security is a PostgreSQL feature; SQLite relies on the scoped queries")
		}
		ctx := context.Background()
		for _, id := range []string{"ten_a", "ten_b"} {
			err := d.TenantUpdate(ctx, id, func(tx *db.TenantTx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO tenants (id, handle, name, currency, time_zone, created_at, updated_at)
					VALUES (?, ?, 'x', 'USD', 'UTC', ?, ?)`, id, id, tx.Now, tx.Now); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO users (id, tenant_id, email, name, role, status, password_hash, created_at, updated_at)
					VALUES (?, ?, 'a@example.com', 'A', 'owner', 'active', 'x', ?, ?)`, "usr_"+id, id, tx.Now, tx.Now)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		var n int
		err := d.TenantView(ctx, "ten_a", func(tx *db.TenantTx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
		})
		if err != nil || n != 1 {
			t.Fatalf("users visible to ten_a = %d, %v; want 1", n, err)
		}
		// Writing a row for another tenant is refused, not silently done.
		err = d.TenantUpdate(ctx, "ten_a", func(tx *db.TenantTx) error {
			_, err := tx.Exec(ctx, `INSERT INTO users (id, tenant_id, email, name, role, status, password_hash, created_at, updated_at)
				VALUES ('usr_x', 'ten_b', 'x@example.com', 'X', 'staff', 'active', 'x', ?, ?)`, tx.Now, tx.Now)
			return err
		})
		if err == nil {
			t.Fatal("inserting into another tenant succeeded")
		}
		// Outside any tenant, tenant-owned rows are invisible.
		err = d.View(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("users visible outside any tenant = %d, want 0", n)
		}
	})
}

func TestRebindAndPlaceholders(t *testing.T) {
	if got := db.Placeholders(3); got != "?, ?, ?" {
		t.Fatalf("Placeholders(3) = %q", got)
	}
}
