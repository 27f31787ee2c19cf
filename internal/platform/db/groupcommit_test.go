package db_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

// TestConcurrentWritesKeepExactlyTheSuccessfulOnes runs many write
// transactions at once, a third of which fail after writing and one of
// which panics. On SQLite they share group commits: every transaction that
// reported success is stored, and nothing of a failed one is.
func TestConcurrentWritesKeepExactlyTheSuccessfulOnes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.Update(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO tenants (id, handle, name, currency, time_zone, created_at, updated_at)
				VALUES ('ten_g', 'g', 'G', 'USD', 'UTC', ?, ?)`, tx.Now, tx.Now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		const n = 300
		errBoom := errors.New("boom")
		results := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				defer func() {
					if v := recover(); v != nil {
						results[i] = fmt.Errorf("panicked: %v", v)
					}
				}()
				results[i] = d.TenantUpdate(ctx, "ten_g", func(tx *db.TenantTx) error {
					_, err := tx.Exec(ctx, `INSERT INTO users (id, tenant_id, email, name, role, status, password_hash, created_at, updated_at)
						VALUES (?, ?, ?, 'U', 'staff', 'active', 'x', ?, ?)`,
						fmt.Sprintf("usr_%d", i), tx.TenantID(), fmt.Sprintf("u%d@example.com", i), tx.Now, tx.Now)
					if err != nil {
						return err
					}
					if i == 7 {
						panic("a bug in one request")
					}
					if i%3 == 0 {
						return errBoom // after writing: the write must vanish
					}
					return nil
				})
			})
		}
		wg.Wait()
		want := 0
		for i, err := range results {
			switch {
			case i == 7:
				if err == nil {
					t.Fatal("the panicking transaction reported success")
				}
			case i%3 == 0:
				if !errors.Is(err, errBoom) {
					t.Fatalf("tx %d: err = %v, want boom", i, err)
				}
			default:
				if err != nil {
					t.Fatalf("tx %d: %v", i, err)
				}
				want++
			}
		}
		var got int
		if err := d.TenantView(ctx, "ten_g", func(tx *db.TenantTx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE tenant_id = ?`, tx.TenantID()).Scan(&got)
		}); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%d rows stored, want exactly the %d successful transactions", got, want)
		}
		commits, txs := d.GroupCommitStats()
		t.Logf("group commit: %d transactions in %d commits", txs, commits)
		// The commits carried every successful transaction (and the
		// tenant's) and at most all of them: a failed one counts only when
		// others shared its commit, since alone it runs without a SAVEPOINT
		// and its database transaction is rolled back, not committed.
		if d.Dialect() == db.SQLite && (txs < uint64(want+1) || txs > uint64(n+1) || commits > txs) {
			t.Fatalf("group commit stats: %d commits for %d transactions (%d succeeded)", commits, txs, want+1)
		}
	})
}

// TestAFailedTransactionAloneLeavesNothing: a transaction that fails or
// panics after writing, with no other in its commit (on SQLite it then runs
// without a SAVEPOINT), leaves none of its rows, and the next one commits.
func TestAFailedTransactionAloneLeavesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		insert := func(tx *db.Tx, handle string) error {
			_, err := tx.Exec(ctx, `INSERT INTO tenants (id, handle, name, currency, time_zone, created_at, updated_at)
				VALUES (?, ?, 'T', 'USD', 'UTC', ?, ?)`, "ten_"+handle, handle, tx.Now, tx.Now)
			return err
		}
		errBoom := errors.New("boom")
		if err := d.Update(ctx, func(tx *db.Tx) error {
			if err := insert(tx, "failed"); err != nil {
				return err
			}
			return errBoom
		}); !errors.Is(err, errBoom) {
			t.Fatalf("failing transaction: err = %v", err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("a panicking transaction did not panic in its caller")
				}
			}()
			d.Update(ctx, func(tx *db.Tx) error {
				if err := insert(tx, "panicked"); err != nil {
					return err
				}
				panic("a bug")
			})
		}()
		if err := d.Update(ctx, func(tx *db.Tx) error { return insert(tx, "kept") }); err != nil {
			t.Fatal(err)
		}
		var handles []string
		if err := d.View(ctx, func(tx *db.Tx) error {
			rows, err := tx.Query(ctx, `SELECT handle FROM tenants ORDER BY handle`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var h string
				if err := rows.Scan(&h); err != nil {
					return err
				}
				handles = append(handles, h)
			}
			return rows.Err()
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(handles, []string{"kept"}) {
			t.Fatalf("tenants stored = %v, want only the committed one", handles)
		}
	})
}

// TestAfterCommit runs what a transaction left for after its commit only
// once the commit is made (another connection sees the row then), before
// TenantUpdate returns, and never for a transaction that failed, alone or
// among others sharing a group commit.
func TestAfterCommit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.Update(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO tenants (id, handle, name, currency, time_zone, created_at, updated_at)
				VALUES ('ten_a', 'a', 'A', 'USD', 'UTC', ?, ?)`, tx.Now, tx.Now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		insert := func(tx *db.TenantTx, id string) error {
			_, err := tx.Exec(ctx, `INSERT INTO users (id, tenant_id, email, name, role, status, password_hash, created_at, updated_at)
				VALUES (?, ?, ?, 'U', 'staff', 'active', 'x', ?, ?)`, id, tx.TenantID(), id+"@example.com", tx.Now, tx.Now)
			return err
		}
		visible := func(id string) bool {
			var n int
			if err := d.TenantView(ctx, "ten_a", func(tx *db.TenantTx) error {
				return tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE tenant_id = ? AND id = ?`, tx.TenantID(), id).Scan(&n)
			}); err != nil {
				t.Fatal(err)
			}
			return n == 1
		}

		const n = 40
		errBoom := errors.New("boom")
		ran := make([]bool, n)
		sawRow := make([]bool, n)
		results := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				id := fmt.Sprintf("usr_after_%d", i)
				results[i] = d.TenantUpdate(ctx, "ten_a", func(tx *db.TenantTx) error {
					ran[i] = false // a retried body starts over
					if err := insert(tx, id); err != nil {
						return err
					}
					tx.AfterCommit(func() { ran[i], sawRow[i] = true, visible(id) })
					if i%4 == 0 {
						return errBoom
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range results {
			switch {
			case i%4 == 0:
				if !errors.Is(err, errBoom) || ran[i] {
					t.Errorf("transaction %d failed (%v): its after-commit ran = %v, want false", i, err, ran[i])
				}
			case err != nil:
				t.Errorf("transaction %d: %v", i, err)
			case !ran[i] || !sawRow[i]:
				t.Errorf("transaction %d committed: its after-commit ran = %v and saw the row = %v, want both", i, ran[i], sawRow[i])
			}
		}
	})
}

// TestAfterCommitOfARetriedTransaction: a transaction body that PostgreSQL
// makes run again (a deadlock or serialization failure) leaves what its
// failed run registered behind: only the committed run's after-commit
// runs, once. SQLite does not run a failed body again: nothing runs.
func TestAfterCommitOfARetriedTransaction(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		runs, ran := 0, []int{}
		err := d.TenantUpdate(ctx, "ten_r", func(tx *db.TenantTx) error {
			runs++
			run := runs
			tx.AfterCommit(func() { ran = append(ran, run) })
			if run == 1 {
				return &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
			}
			return nil
		})
		switch d.Dialect() {
		case db.Postgres:
			if err != nil || runs != 2 || !slices.Equal(ran, []int{2}) {
				t.Fatalf("err %v, %d runs, after-commits of runs %v; want the second run's alone", err, runs, ran)
			}
		default:
			if err == nil || runs != 1 || len(ran) != 0 {
				t.Fatalf("err %v, %d runs, after-commits of runs %v; want the failure and none", err, runs, ran)
			}
		}
	})
}
