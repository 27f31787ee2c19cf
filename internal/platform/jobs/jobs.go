// Package jobs runs Nimbus's background work on River, a job queue with
// drivers for both of our databases: jobs are rows in the same database as
// the data, inserted in the same transaction as the change that needs them,
// so a job is never lost nor run for a change that rolled back. On many nodes,
// River's leader election keeps periodic jobs single.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// Queue is River's client over database/sql transactions.
type Queue = river.Client[*sql.Tx]

// Config says what work the queue does.
type Config struct {
	// Register adds workers. Each kind of job has one.
	Register func(*river.Workers)
	// Periodic are jobs River inserts on a schedule (one node inserts them).
	Periodic []*river.PeriodicJob
	// MaxWorkers bounds the jobs run at once on this node.
	MaxWorkers int
	// PollInterval is how often idle nodes look for new jobs (default 1s).
	PollInterval time.Duration
	Logger       *slog.Logger
}

func driver(d *db.DB) riverdriver.Driver[*sql.Tx] {
	if d.Dialect() == db.SQLite {
		// The write pool has one connection: River's writes queue behind
		// ours instead of fighting for SQLite's single write lock.
		return riversqlite.New(d.WritePool())
	}
	return riverdatabasesql.New(d.WritePool())
}

// Migrate creates or upgrades River's own tables. db.Open runs it, so
// that "nimbus migrate" leaves a database ready for every node.
func Migrate(ctx context.Context, d *db.DB, logger *slog.Logger) error {
	m, err := rivermigrate.New(driver(d), &rivermigrate.Config{Logger: quiet(logger)})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

// New returns a queue ready to Start.
func New(d *db.DB, cfg Config) (*Queue, error) {
	workers := river.NewWorkers()
	if cfg.Register != nil {
		cfg.Register(workers)
	}
	maxWorkers := cfg.MaxWorkers
	if maxWorkers <= 0 {
		maxWorkers = 10
	}
	return river.NewClient(driver(d), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		Workers:           workers,
		PeriodicJobs:      cfg.Periodic,
		FetchPollInterval: cfg.PollInterval,
		Logger:            quiet(cfg.Logger),
	})
}

// Stop stops q: it fetches no more jobs, and running jobs get until ctx ends
// to finish. River's Stop does not cancel jobs when its context ends, so
// then the jobs' own contexts are cancelled (StopAndCancel) and they get up
// to cancelWait more to return. River records what a cancelled job returns
// like any failure, so the job runs again later under its retry policy.
func Stop(ctx context.Context, q *Queue, cancelWait time.Duration) error {
	err := q.Stop(ctx)
	if err == nil || ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
		return err
	}
	cancelCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelWait)
	defer cancel()
	return q.StopAndCancel(cancelCtx)
}

// quiet keeps River's own chatter at warnings and above.
func quiet(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(levelFloor{l.Handler(), slog.LevelWarn})
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(a), h.min}
}
func (h levelFloor) WithGroup(n string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(n), h.min}
}
