package flashsale

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

// TestKeyLookupsProbeTheirIndex: a batch looks up its buyers' keys and
// counts by one probe of a unique index each, on a new database, where
// the planner has no statistics. On PostgreSQL the plan checked is the
// generic one, which a prepared statement settles on whatever its
// arguments, with a sale's first thousand orders in the table: with an
// index led by the store and the sale beside the keys' own, that plan
// read every order of the sale for each key (at 300 and 1,000 orders; at
// 100 or 5,000 it chose the keys').
func TestKeyLookupsProbeTheirIndex(t *testing.T) {
	lookups := []struct {
		query, column string
		bytes         bool
		want          map[db.Dialect][]string // what the plan says of the probe
		args          []any
	}{
		{replaysQuery, "key_hash", true, map[db.Dialect][]string{
			db.SQLite:   {"USING INDEX flash_sale_orders_key_hash (key_hash=?)"},
			db.Postgres: {"Index Scan using flash_sale_orders_key_hash on", "Index Cond: (key_hash = wanted.key)"}},
			[]any{"fls_a"}},
		{buyersQuery, "customer_id", false, map[db.Dialect][]string{
			db.SQLite:   {"USING INDEX sqlite_autoindex_flash_sale_buyers_1 (tenant_id=? AND sale_id=? AND customer_id=?)"},
			db.Postgres: {"Index Scan using flash_sale_buyers_pkey on", "AND (customer_id = wanted.key))"}},
			[]any{"ten_a", "fls_a"}},
	}
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if d.Dialect() == db.Postgres {
			saleUnderway(t, d)
		}
		for _, l := range lookups {
			err := d.TenantView(ctx, "ten_a", func(tx *db.TenantTx) error {
				var plan []string
				var err error
				if tx.Dialect() == db.Postgres {
					// A utility statement takes no parameters: the values are literals.
					values := []string{"ARRAY['a', 'b']"}
					if l.bytes {
						values[0] = `ARRAY['\x01'::bytea, '\x02'::bytea]`
					}
					for _, a := range l.args {
						values = append(values, "'"+a.(string)+"'")
					}
					if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
						return err
					}
					plan, err = explain(ctx, tx, "PREPARE lookup AS "+db.KeysSQL(db.Postgres, l.query, l.column, l.bytes, 0),
						"EXPLAIN EXECUTE lookup("+strings.Join(values, ", ")+")", nil)
					if err == nil {
						_, err = tx.Exec(ctx, "DEALLOCATE lookup")
					}
				} else {
					args := slices.Clone(l.args)
					for i := range 256 {
						args = append(args, []byte{byte(i)})
					}
					plan, err = explain(ctx, tx, "", "EXPLAIN QUERY PLAN "+db.KeysSQL(db.SQLite, l.query, l.column, l.bytes, 256), args)
				}
				if err != nil {
					return err
				}
				text := strings.Join(plan, "\n")
				for _, want := range l.want[tx.Dialect()] {
					if !strings.Contains(text, want) || strings.Contains(text, "Seq Scan") || strings.Contains(text, "SCAN ") {
						t.Errorf("%s by %s: plan\n%s\nwant %q", l.query, l.column, text, want)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// explain runs setup, if any, then query, and returns the plan's lines
// (the last column of each row: SQLite's detail, PostgreSQL's text).
func explain(ctx context.Context, tx *db.TenantTx, setup, query string, args []any) ([]string, error) {
	if setup != "" {
		if _, err := tx.Exec(ctx, setup); err != nil {
			return nil, err
		}
	}
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		var line string
		for i := range vals {
			vals[i] = new(any)
		}
		vals[len(vals)-1] = &line
		if err := rows.Scan(vals...); err != nil {
			return nil, err
		}
		lines = append(lines, line)
	}
	return lines, rows.Err()
}

// saleUnderway writes 1,000 orders of a sale, without their parent rows,
// into a table the planner has no statistics for (autovacuum kept from
// gathering them): a sale's first seconds. Turning the foreign keys off
// takes a superuser, as the tests' PostgreSQL URL is (README).
func saleUnderway(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	tx, err := d.WritePool().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		"ALTER TABLE flash_sale_orders SET (autovacuum_enabled = off)",
		"SET LOCAL session_replication_role = replica", // no foreign key checks
		`INSERT INTO flash_sale_orders (tenant_id, order_id, sale_id, variant_id, customer_id, quantity, key_hash,
			request_hash, sealed_token, created_at)
		SELECT 'ten_a', 'ord_' || g, 'fls_a', 'var_a', 'cus_' || g, 1, sha256(g::text::bytea), '\x00', '\x00', now()
		FROM generate_series(1, 1000) AS g`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
