package db_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
	"github.com/nimbuscommerce/nimbus/internal/platform/jobs"
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
		// Also in the tables written for every order, which check their
		// tenant by this alone (no foreign key to tenants: migration 0008).
		err = d.TenantUpdate(ctx, "ten_a", func(tx *db.TenantTx) error {
			_, err := tx.Exec(ctx, `INSERT INTO outbox_events (id, tenant_id, topic, subject_id, payload, created_at)
				VALUES ('evt_x', 'ten_b', 'order.created', 'ord_x', '{}', ?)`, tx.Now)
			return err
		})
		if err == nil {
			t.Fatal("an outbox event for another tenant was written")
		}
		// Every table that migration 0008 left to row-level security alone
		// has it forced, with a policy that checks the rows written.
		for _, table := range []string{"orders", "order_lines", "order_events", "outbox_events", "inventory_movements",
			"flash_sale_orders", "flash_sale_buyers", "customers"} {
			var forced, checked bool
			err := d.View(ctx, func(tx *db.Tx) error {
				return tx.QueryRow(ctx, `SELECT c.relrowsecurity AND c.relforcerowsecurity,
					EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname AND p.with_check LIKE '%nimbus.tenant_id%')
					FROM pg_class c WHERE c.oid = ?::regclass`, table).Scan(&forced, &checked)
			})
			if err != nil || !forced || !checked {
				t.Errorf("%s: row-level security forced %v, a tenant check on writes %v (%v)", table, forced, checked, err)
			}
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

// TestOpenFreshPostgresFromManyNodes opens one fresh PostgreSQL database from
// several goroutines at once, as nodes of a new deployment do: all succeed,
// and the job queue's migrations (AlsoMigrate) run while the migration lock
// is held, so that they take turns.
func TestOpenFreshPostgresFromManyNodes(t *testing.T) {
	if os.Getenv(dbtest.PostgresEnv) == "" {
		t.Skip(dbtest.PostgresEnv + " is not set")
	}
	base, err := url.Parse(dbtest.NewPostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	const nodes = 4
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			// Each node names its sessions, to find its own lock in pg_locks.
			u, q := *base, base.Query()
			node := fmt.Sprintf("nimbus_node_%d", i)
			q.Set("application_name", node)
			u.RawQuery = q.Encode()
			d, err := db.Open(context.Background(), db.Config{URL: u.String(), AlsoMigrate: func(ctx context.Context, d *db.DB) error {
				var held int
				if err := d.WritePool().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
					WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1`, node).Scan(&held); err != nil {
					return err
				}
				if held == 0 {
					return errors.New("AlsoMigrate runs without this node holding the migration lock")
				}
				return jobs.Migrate(ctx, d, nil)
			}})
			if err == nil {
				err = d.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
}

// TestMigrationsCurrentToleratesANewerSchema: a node stays ready when a newer
// node has migrated further, and is not ready while the schema is behind.
func TestMigrationsCurrentToleratesANewerSchema(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var latest int
		err := d.Update(ctx, func(tx *db.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&latest); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_a_newer_release.sql', ?)`,
				latest+1, tx.Now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := d.MigrationsCurrent(ctx); err != nil || !ok {
			t.Fatalf("with a newer schema: MigrationsCurrent = %v, %v; want true", ok, err)
		}
		err = d.Update(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM schema_migrations WHERE version >= ?`, latest)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := d.MigrationsCurrent(ctx); err != nil || ok {
			t.Fatalf("with a schema behind: MigrationsCurrent = %v, %v; want false", ok, err)
		}
	})
}

// TestTimesComeBackInUTC: every backend returns stored times in UTC, whatever
// the zone they were written in or the process's local zone.
func TestTimesComeBackInUTC(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		shanghai, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			t.Skip("no time zone database:", err)
		}
		written := time.Date(2026, 3, 4, 5, 6, 7, 8000, shanghai)
		var read time.Time
		err = d.TenantUpdate(ctx, "ten_utc", func(tx *db.TenantTx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO tenants (id, handle, name, currency, time_zone, created_at, updated_at)
				VALUES (?, 'utc', 'x', 'USD', 'UTC', ?, ?)`, tx.TenantID(), written, written); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT created_at FROM tenants WHERE id = ?`, tx.TenantID()).Scan(&read)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !read.Equal(written) || read.Location() != time.UTC {
			t.Fatalf("read back %v (%v), want %v in UTC", read, read.Location(), written.UTC())
		}
	})
}

// TestExecRowsInChunks: 87 rows (64 + 16 + 4 + 3 × 1) all arrive, with
// the tail's arguments after each chunk, and rows affected add up.
func TestExecRowsInChunks(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if n, err := insertTenants(ctx, d, 87); err != nil || n != 87 {
			t.Fatalf("inserted %d rows: %v", n, err)
		}
		err := d.Update(ctx, func(tx *db.Tx) error {
			_, err := tx.ExecRows(ctx, "INSERT INTO tenants (id)", "(?, ?)", "", []any{"odd"})
			return err
		})
		if err == nil {
			t.Fatal("arguments that do not fill rows are accepted")
		}
	})
}

// TestExecRowsKeepsEveryValue: rows of every kind of value the stores
// write (text, NULL, bytes, numbers, booleans, times and absent times,
// bytes into a text column, a named string type)
// come back as written, on PostgreSQL sent as one array per column, with a
// tail and its arguments (an upsert that skips a row) applied to them.
func TestExecRowsKeepsEveryValue(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ddl := `CREATE TABLE probe (id TEXT PRIMARY KEY, note TEXT, raw BYTEA, n BIGINT, ok BOOLEAN, at TIMESTAMPTZ, due TIMESTAMPTZ,
			label TEXT, kind VARCHAR(8))`
		if d.Dialect() == db.SQLite {
			ddl = `CREATE TABLE probe (id TEXT PRIMARY KEY, note TEXT, raw BLOB, n INTEGER, ok BOOLEAN, at TIMESTAMP, due TIMESTAMP,
			label TEXT, kind VARCHAR(8))`
		}
		type kind string // a named type, as stores pass their enums
		at := time.Date(2026, 11, 26, 14, 3, 49, 123456000, time.UTC)
		type row struct {
			id    string
			note  sql.NullString
			raw   []byte
			n     int64
			ok    bool
			at    time.Time
			due   *time.Time
			label string // written as bytes into a text column
			kind  kind
		}
		want := []row{
			{id: "a", note: sql.NullString{String: "it's \\ \"quoted\", {braced}, NULL", Valid: true}, raw: []byte{0, 1, 0xfe, '\\'}, n: -1 << 40, ok: true, at: at, due: &at,
				label: "plain", kind: "pending"},
			{id: "b", raw: []byte{}, n: 0, at: at.Add(time.Hour), label: `\x41`, kind: "paid"},
		}
		var args []any
		for _, r := range want {
			var note any
			if r.note.Valid {
				note = r.note.String
			}
			args = append(args, r.id, note, r.raw, r.n, r.ok, r.at, r.due, []byte(r.label), r.kind)
		}
		// Made as the schema is, outside the role transactions run as.
		if _, err := d.WritePool().ExecContext(ctx, ddl); err != nil {
			t.Fatal(err)
		}
		if d.Dialect() == db.Postgres {
			if _, err := d.WritePool().ExecContext(ctx, `GRANT SELECT, INSERT, UPDATE ON probe TO nimbus_tenant`); err != nil {
				t.Fatal(err)
			}
		}
		var affected int64
		err := d.Update(ctx, func(tx *db.Tx) (err error) {
			if _, err := tx.ExecRows(ctx, `INSERT INTO probe (id, note, raw, n, ok, at, due, label, kind)`, "(?, ?, ?, ?, ?, ?, ?, ?, ?)", "", args); err != nil {
				return err
			}
			// Again, as an upsert that moves only rows whose n is below 1.
			affected, err = tx.ExecRows(ctx, `INSERT INTO probe (id, note, raw, n, ok, at, due, label, kind)`, "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
				`ON CONFLICT (id) DO UPDATE SET n = probe.n + 1 WHERE probe.n < ?`, args, 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if affected != 1 {
			t.Fatalf("the upsert affected %d rows, want the 1 its tail lets through", affected)
		}
		want[0].n++
		var got []row
		err = d.View(ctx, func(tx *db.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id, note, raw, n, ok, at, due, label, kind FROM probe ORDER BY id`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var r row
				var due sql.NullTime
				if err := rows.Scan(&r.id, &r.note, &r.raw, &r.n, &r.ok, &r.at, &due, &r.label, &r.kind); err != nil {
					return err
				}
				if due.Valid {
					r.due = &due.Time
				}
				got = append(got, r)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("read %d rows, want %d", len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.id != w.id || g.note != w.note || !bytes.Equal(g.raw, w.raw) || g.n != w.n || g.ok != w.ok || !g.at.Equal(w.at) ||
				g.label != w.label || g.kind != w.kind ||
				(g.due == nil) != (w.due == nil) || (g.due != nil && !g.due.Equal(*w.due)) {
				t.Errorf("row %d: read %+v, wrote %+v", i, g, w)
			}
		}
	})
}

// TestQueryKeys: the rows of the keys that have one, each once, whatever
// the keys' count (padded on SQLite) and even for none.
func TestQueryKeys(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := insertTenants(ctx, d, 20); err != nil {
			t.Fatal(err)
		}
		find := func(keys []string) map[string]string {
			found := map[string]string{}
			err := d.View(ctx, func(tx *db.Tx) error {
				rows, err := db.QueryKeys(ctx, tx, `SELECT id, handle FROM tenants WHERE name = ?`, "id", keys, "store")
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var id, handle string
					if err := rows.Scan(&id, &handle); err != nil {
						return err
					}
					if _, twice := found[id]; twice {
						t.Errorf("%s found twice", id)
					}
					found[id] = handle
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
			return found
		}
		got := find([]string{"ten_000", "ten_missing", "ten_019", "ten_007", "ten_019"})
		want := map[string]string{"ten_000": "h000", "ten_007": "h007", "ten_019": "h019"}
		if !maps.Equal(got, want) {
			t.Fatalf("found %v, want %v", got, want)
		}
		if got := find(nil); len(got) != 0 {
			t.Fatalf("no keys found %v", got)
		}
	})
}

// insertTenants adds tenants ten_000, ten_001, ... (handles h000, ...) in
// one ExecRows and returns the rows it affected.
func insertTenants(ctx context.Context, d *db.DB, n int) (affected int64, err error) {
	err = d.Update(ctx, func(tx *db.Tx) (err error) {
		var args []any
		for i := range n {
			args = append(args, fmt.Sprintf("ten_%03d", i), fmt.Sprintf("h%03d", i), "store", tx.Now, tx.Now)
		}
		affected, err = tx.ExecRows(ctx, `INSERT INTO tenants (id, handle, name, currency, time_zone, created_at, updated_at)`,
			"(?, ?, ?, 'USD', 'UTC', ?, ?)", "", args)
		return err
	})
	return affected, err
}

// TestSQLiteWriterSettings: the writer's connection keeps what durability
// and speed depend on, the migrations Open ran included (the settings are
// SQLite's alone).
func TestSQLiteWriterSettings(t *testing.T) {
	d := dbtest.Open(t, db.Config{DataDir: t.TempDir()})
	want := map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL: a commit survives a power cut
		"foreign_keys": "1",
		"temp_store":   "2", // MEMORY: savepoints' journal without a write per page
	}
	for pragma, v := range want {
		var got string
		if err := d.WritePool().QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != v {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, v)
		}
	}
}
