package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Group commit for SQLite.
//
// SQLite has one writer, and with synchronous=FULL every commit waits for
// the disk. Committed one by one, writes are limited to the disk's flushes
// per second. So every write transaction on SQLite is sent to one goroutine
// that owns the write connection; it runs whatever transactions are waiting
// one after another inside a single database transaction, each in its own
// SAVEPOINT (a failing one is rolled back alone; one alone in its group
// needs none), commits once, and only
// then answers each caller. A caller therefore hears "done" only after its
// work is durable, and "failed" only when none of its work is kept.

// maxGroup bounds how many transactions share one commit, and so the
// latency one slow group can add.
const maxGroup = 128

type writeRequest struct {
	fn   func(*Tx) error
	err  error
	tx   *Tx // the caller's part, for its AfterCommit
	done chan error
}

type groupCommitter struct {
	d    *DB
	reqs chan *writeRequest
	stop chan struct{}
	done chan struct{}

	commits      atomic.Uint64 // database commits
	transactions atomic.Uint64 // caller transactions in them
}

// GroupCommitStats returns how many commits SQLite's group commit has made
// and how many transactions they carried; zeros on PostgreSQL.
func (d *DB) GroupCommitStats() (commits, transactions uint64) {
	if d.group == nil {
		return 0, 0
	}
	return d.group.commits.Load(), d.group.transactions.Load()
}

func (d *DB) startGroupCommit() {
	g := &groupCommitter{d: d, reqs: make(chan *writeRequest, maxGroup), stop: make(chan struct{}), done: make(chan struct{})}
	d.group = g
	go g.loop()
}

// submit queues fn and waits until it is committed or has failed. It waits
// even if ctx ends meanwhile: leaving early could report a failure for work
// that the group then commits.
func (g *groupCommitter) submit(ctx context.Context, fn func(*Tx) error) error {
	r := &writeRequest{fn: fn, done: make(chan error, 1)}
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.stop:
		return errors.New("db: database is closing")
	}
	err := <-r.done
	if p, ok := err.(*panicError); ok {
		panic(p) // re-raised in the caller's goroutine, as on PostgreSQL
	}
	if err == nil {
		r.tx.committed()
	}
	return err
}

// panicError carries a panic from the committer's goroutine to the caller's.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string {
	return fmt.Sprintf("panic in transaction: %v\n%s", p.value, p.stack)
}

func (g *groupCommitter) loop() {
	defer close(g.done)
	for {
		var first *writeRequest
		select {
		case first = <-g.reqs:
		case <-g.stop:
			// Answer whatever is still queued before leaving.
			for {
				select {
				case r := <-g.reqs:
					g.run([]*writeRequest{r})
				default:
					return
				}
			}
		}
		group := []*writeRequest{first}
	collect:
		for len(group) < maxGroup {
			select {
			case r := <-g.reqs:
				group = append(group, r)
			default:
				break collect
			}
		}
		g.run(group)
	}
}

func (g *groupCommitter) run(group []*writeRequest) {
	ctx := context.Background()
	fail := func(err error) {
		for _, r := range group {
			r.done <- err
		}
	}
	// Statements the groups before ran unprepared: now, while the write
	// connection is free, and once per text.
	g.d.writeStmts.prepareQueued()
	sqlTx, err := g.d.write.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	now := g.d.Now().UTC().Truncate(time.Microsecond)
	for _, r := range group {
		r.tx = &Tx{tx: sqlTx, dialect: SQLite, Now: now, stmts: g.d.writeStmts, detached: true}
	}
	if len(group) == 1 {
		// Alone in its commit, a transaction needs no SAVEPOINT: if it
		// fails, the database transaction is rolled back whole. With one,
		// SQLite first copies each page the transaction changes into the
		// savepoint's journal, and a sale's batch is often alone.
		r := group[0]
		if r.err = call(r, r.tx); r.err != nil {
			sqlTx.Rollback()
			r.done <- r.err
			return
		}
	} else if err := inSavepoints(ctx, sqlTx, group); err != nil {
		sqlTx.Rollback()
		fail(err)
		return
	}
	if err := sqlTx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	g.commits.Add(1)
	g.transactions.Add(uint64(len(group)))
	if g.d.checkpoints != nil {
		g.d.checkpoints.committed()
	}
	for _, r := range group {
		r.done <- r.err
	}
}

// inSavepoints runs each transaction of a group in a SAVEPOINT of its
// own, so that one that fails is rolled back alone. An error is the
// database's: the group cannot go on.
func inSavepoints(ctx context.Context, sqlTx *sql.Tx, group []*writeRequest) error {
	for _, r := range group {
		if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT nimbus_tx"); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		if r.err = call(r, r.tx); r.err != nil {
			if _, err := sqlTx.ExecContext(ctx, "ROLLBACK TO nimbus_tx"); err != nil {
				return fmt.Errorf("rollback to savepoint: %w", err)
			}
		}
		if _, err := sqlTx.ExecContext(ctx, "RELEASE nimbus_tx"); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	return nil
}

// call runs one caller's transaction body. A panic is caught here, so that
// one bad request cannot take down the writes of others, and re-raised in
// its caller's goroutine.
func call(r *writeRequest, tx *Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return r.fn(tx)
}

func (g *groupCommitter) close() {
	close(g.stop)
	<-g.done
}
