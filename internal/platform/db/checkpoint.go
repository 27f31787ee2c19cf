package db

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Checkpoints for SQLite, off the writer.
//
// In WAL mode SQLite folds the log back into the database file in
// checkpoints, which by default the committing connection runs once the
// log passes a threshold: inside a commit of the one writer, so every write
// waited while megabytes of pages were copied and the file synced (in a
// flash sale's benchmark, a wave of buys 50 ms slower every half second).
// Here a connection of its own checkpoints in the background, woken by
// commits, at most every checkpointEvery. Its checkpoints are PASSIVE: they
// copy what no reader still needs and never wait for, or block, the writer
// or a reader. The writer keeps its own threshold: SQLite starts the log
// over only when a writer begins after a checkpoint that copied all of it,
// which under steady writes (the next group begins as soon as one commits)
// the background never sees. Past the threshold, the writer's checkpoint
// copies only what came since the background's last (at most a quarter of
// a second of writes) and starts the log over, so it stays a few
// megabytes, as before, without stalling the writer for the whole of it.

// checkpointEvery bounds how often the background checkpoints: often
// enough that the log stays a few megabytes in a burst (a reader looks
// each page up in its index), rarely enough that a page written over and
// over is copied once per checkpoint, not once per commit.
const checkpointEvery = 250 * time.Millisecond

// writerCheckpointPages is the writer's own threshold, in pages of log
// (4 KiB each): where the log starts over.
const writerCheckpointPages = 8000

// checkpointWarnEvery bounds how often a failing background checkpoint is
// logged.
const checkpointWarnEvery = time.Minute

type checkpointer struct {
	conn *sql.DB
	wake chan struct{} // a commit since the last checkpoint
	ctx  context.Context
	stop context.CancelFunc // ends a checkpoint in progress too: Close does not wait for one
	done chan struct{}

	runs atomic.Uint64 // checkpoints run
}

func (d *DB) startCheckpointer(dsn string) error {
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxLifetime(0)
	c := &checkpointer{conn: conn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.ctx, c.stop = context.WithCancel(context.Background())
	d.checkpoints = c
	go c.loop(d.logger)
	return nil
}

// committed wakes the checkpointer; it never waits.
func (c *checkpointer) committed() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop(logger *slog.Logger) {
	defer close(c.done)
	var warned time.Time
	for {
		select {
		case <-c.wake:
		case <-c.ctx.Done():
			return
		}
		if _, err := c.conn.ExecContext(c.ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil && c.ctx.Err() == nil &&
			time.Since(warned) >= checkpointWarnEvery {
			warned = time.Now()
			logger.Warn("sqlite: background checkpoint failed; the writer checkpoints past its own threshold", "err", err)
		}
		c.runs.Add(1)
		select {
		case <-time.After(checkpointEvery):
		case <-c.ctx.Done():
			return
		}
	}
}

func (c *checkpointer) close() error {
	c.stop()
	<-c.done
	return c.conn.Close()
}

// Checkpoints returns how many background checkpoints have run (0 on
// PostgreSQL).
func (d *DB) Checkpoints() uint64 {
	if d.checkpoints == nil {
		return 0
	}
	return d.checkpoints.runs.Load()
}
