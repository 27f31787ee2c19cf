package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/nimbuscommerce/nimbus/internal/customer"
	"github.com/nimbuscommerce/nimbus/internal/identity"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

// PurgeExpiredArgs is the periodic job that deletes what has expired:
// staff and customer sessions, and idempotency records.
type PurgeExpiredArgs struct{}

// Kind names the job in River's tables.
func (PurgeExpiredArgs) Kind() string { return "purge_expired" }

const purgeInterval = 15 * time.Minute

type purgeExpiredWorker struct {
	river.WorkerDefaults[PurgeExpiredArgs]
	db          *db.DB
	identity    *identity.Service
	customers   *customer.Service
	idempotency *httpx.Idempotency
	logger      *slog.Logger
}

// Timeout gives a run the interval between runs: a backlog is purged a
// chunk to a transaction, each a commit of its own.
func (w *purgeExpiredWorker) Timeout(*river.Job[PurgeExpiredArgs]) time.Duration {
	return purgeInterval
}

// Work purges the idempotency records first (one table for every store),
// then each store's sessions; a store that fails is tried again next run,
// after the others had their turn.
func (w *purgeExpiredWorker) Work(ctx context.Context, _ *river.Job[PurgeExpiredArgs]) error {
	keys, err := w.idempotency.PurgeExpired(ctx)
	if err != nil {
		return err
	}
	var tenants []string
	if err := w.db.View(ctx, func(tx *db.Tx) (err error) {
		tenants, err = tenant.ListIDs(ctx, tx)
		return err
	}); err != nil {
		return err
	}
	var staff, customers int64
	var failed []error
	for _, id := range tenants {
		n, err := w.identity.PurgeExpiredSessions(ctx, id)
		staff += n
		if err == nil {
			n, err = w.customers.PurgeExpiredSessions(ctx, id)
			customers += n
		}
		if err != nil {
			failed = append(failed, fmt.Errorf("store %s: %w", id, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	if staff+customers+keys > 0 {
		w.logger.Info("purged expired records", "sessions", staff, "customer_sessions", customers, "idempotency_keys", keys)
	}
	return errors.Join(failed...)
}

func purgeExpiredJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(purgeInterval),
		func() (river.JobArgs, *river.InsertOpts) { return PurgeExpiredArgs{}, nil },
		&river.PeriodicJobOpts{ID: "purge_expired", RunOnStart: true})
}
