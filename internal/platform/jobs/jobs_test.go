package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
	"github.com/nimbuscommerce/nimbus/internal/platform/jobs"
)

type blockArgs struct{}

func (blockArgs) Kind() string { return "block_until_cancelled" }

// blockWorker runs until its context is cancelled, like a job that would
// outlive any shutdown deadline.
type blockWorker struct {
	river.WorkerDefaults[blockArgs]
	started, returned chan struct{}
}

func (w *blockWorker) Work(ctx context.Context, _ *river.Job[blockArgs]) error {
	close(w.started)
	defer close(w.returned)
	<-ctx.Done()
	return ctx.Err()
}

// TestStopCancelsJobsAfterTheDeadline: when the stop deadline has passed, a
// running job's context is cancelled and Stop returns only after the job
// has returned, so the database is never closed under it.
func TestStopCancelsJobsAfterTheDeadline(t *testing.T) {
	for _, b := range dbtest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cfg := b.Config
			cfg.AlsoMigrate = func(ctx context.Context, d *db.DB) error { return jobs.Migrate(ctx, d, nil) }
			d := dbtest.Open(t, cfg)
			w := &blockWorker{started: make(chan struct{}), returned: make(chan struct{})}
			q, err := jobs.New(d, jobs.Config{Register: func(ws *river.Workers) { river.AddWorker(ws, w) }})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { q.StopAndCancel(ctx) })
			if _, err := q.Insert(ctx, blockArgs{}, nil); err != nil {
				t.Fatal(err)
			}
			<-w.started

			deadline, cancel := context.WithCancel(ctx)
			cancel() // the shutdown deadline has passed
			if err := jobs.Stop(deadline, q, time.Minute); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			select {
			case <-w.returned:
			default:
				t.Fatal("Stop returned while the job was still running")
			}
		})
	}
}

// TestInsertJoinsTheTenantTransaction: a job inserted through a tenant
// transaction's SQLTx commits or rolls back with that transaction.
func TestInsertJoinsTheTenantTransaction(t *testing.T) {
	for _, b := range dbtest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			cfg := b.Config
			cfg.AlsoMigrate = func(ctx context.Context, d *db.DB) error { return jobs.Migrate(ctx, d, nil) }
			d := dbtest.Open(t, cfg)
			w := &blockWorker{started: make(chan struct{}), returned: make(chan struct{})}
			q, err := jobs.New(d, jobs.Config{Register: func(ws *river.Workers) { river.AddWorker(ws, w) }})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			errRollback := errors.New("roll back")
			for _, commit := range []bool{true, false} {
				err := d.TenantUpdate(ctx, "ten_jobs", func(tx *db.TenantTx) error {
					if _, err := q.InsertTx(ctx, tx.SQLTx(), blockArgs{}, nil); err != nil {
						return err
					}
					if !commit {
						return errRollback
					}
					return nil
				})
				if commit && err != nil || !commit && !errors.Is(err, errRollback) {
					t.Fatalf("commit %v: %v", commit, err)
				}
			}
			var n int
			if err := d.View(ctx, func(tx *db.Tx) error {
				return tx.QueryRow(ctx, `SELECT COUNT(*) FROM river_job`).Scan(&n)
			}); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("%d jobs stored, want only the committed one", n)
			}
		})
	}
}
