package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/nimbuscommerce/nimbus/internal/identity"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// PurgeExpiredArgs is the periodic job that deletes what has expired:
// sessions and idempotency records.
type PurgeExpiredArgs struct{}

// Kind names the job in River's tables.
func (PurgeExpiredArgs) Kind() string { return "purge_expired" }

const purgeInterval = 15 * time.Minute

type purgeExpiredWorker struct {
	river.WorkerDefaults[PurgeExpiredArgs]
	identity    *identity.Service
	idempotency *httpx.Idempotency
	logger      *slog.Logger
}

func (w *purgeExpiredWorker) Work(ctx context.Context, _ *river.Job[PurgeExpiredArgs]) error {
	sessions, err := w.identity.PurgeExpiredSessions(ctx)
	if err != nil {
		return err
	}
	keys, err := w.idempotency.PurgeExpired(ctx)
	if err != nil {
		return err
	}
	if sessions+keys > 0 {
		w.logger.Info("purged expired records", "sessions", sessions, "idempotency_keys", keys)
	}
	return nil
}

func purgeExpiredJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(purgeInterval),
		func() (river.JobArgs, *river.InsertOpts) { return PurgeExpiredArgs{}, nil },
		&river.PeriodicJobOpts{ID: "purge_expired", RunOnStart: true})
}
