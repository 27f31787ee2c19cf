package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite runs on modernc.org/sqlite, a pure-Go build of SQLite: Nimbus then
// builds and tests with nothing but Go (no C compiler), and measured on this
// project's workload it is as fast as the cgo driver (see docs/ARCHITECTURE.md).

// writerTempStore is where the writer keeps its statement journal and
// temporary tables (see openSQLite; Migrate sets it back after its run).
const writerTempStore = "MEMORY"

func (d *DB) openSQLite(ctx context.Context, path string) error {
	d.dialect = SQLite
	// Pragmas, set through the DSN so that every connection gets them:
	//   journal_mode=WAL      readers never block the writer and vice versa.
	//   synchronous=FULL      an acknowledged commit survives a power cut, not
	//                         only a process crash (NORMAL would lose the last
	//                         commits on power loss). Throughput is recovered
	//                         by committing work in groups where it matters.
	//   busy_timeout=5000     a second process (nimbus migrate) waits instead of failing.
	//   foreign_keys=on       SQLite leaves them off by default.
	//   _txlock=immediate     write transactions take the write lock at BEGIN,
	//                         so they never fail half-way on a lock upgrade.
	//   wal_autocheckpoint   (the writer only) checkpoints run in the background,
	//                         on a connection of their own (checkpoint.go); past
	//                         writerCheckpointPages the writer copies what is left
	//                         and starts the log over.
	//   temp_store=MEMORY     (the writer only) a group commit rolls back a failed
	//                         piece of work to its SAVEPOINT, so SQLite keeps the
	//                         pages each piece changes in a statement journal; in a
	//                         temporary file that was a write system call per page,
	//                         a tenth of a flash sale's CPU. It is not needed after
	//                         a crash (the WAL is), so memory is the place for it.
	//   _time_format=sqlite   times are stored as "2006-01-02 15:04:05.999999999-07:00",
	//                         which sorts and compares correctly as text (all UTC).
	//   _timezone=UTC         times are converted to UTC before they are written, so
	//                         that text comparisons hold whatever zone a caller
	//                         passed, and come back in UTC, as on PostgreSQL.
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_time_format", "sqlite")
	q.Set("_timezone", "UTC")
	q.Set("_txlock", "immediate")
	writerOnly := url.Values{"_pragma": {"temp_store(" + writerTempStore + ")", fmt.Sprintf("wal_autocheckpoint(%d)", writerCheckpointPages)}}
	writeDSN := "file:" + path + "?" + q.Encode() + "&" + writerOnly.Encode()

	var err error
	if d.write, err = sql.Open("sqlite", writeDSN); err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	d.write.SetMaxOpenConns(1)
	d.write.SetMaxIdleConns(1)
	d.write.SetConnMaxLifetime(0)
	if err := d.write.PingContext(ctx); err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}

	q.Set("_txlock", "deferred")
	if err := d.startCheckpointer("file:" + path + "?" + q.Encode()); err != nil {
		return err
	}
	q.Add("_pragma", "query_only(1)")
	if d.read, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode()); err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	d.read.SetMaxOpenConns(readers)
	d.read.SetMaxIdleConns(readers)
	return nil
}

// sqliteConstraintCode maps SQLite's extended result codes to our
// constraint classes; error text is never parsed.
func sqliteConstraintCode(err error) constraintKind {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return constraintNone
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return constraintUnique
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return constraintForeignKey
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		return constraintCheck
	}
	return constraintNone
}
