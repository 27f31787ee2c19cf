package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"

	"github.com/mattn/go-sqlite3"
)

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
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	writeDSN := "file:" + path + "?" + q.Encode()

	var err error
	if d.write, err = sql.Open("sqlite3", writeDSN); err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	d.write.SetMaxOpenConns(1)
	d.write.SetMaxIdleConns(1)
	d.write.SetConnMaxLifetime(0)
	if err := d.write.PingContext(ctx); err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}

	q.Set("_txlock", "deferred")
	q.Set("_query_only", "true")
	if d.read, err = sql.Open("sqlite3", "file:"+path+"?"+q.Encode()); err != nil {
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
	var e sqlite3.Error
	if !errors.As(err, &e) {
		return constraintNone
	}
	switch e.ExtendedCode {
	case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
		return constraintUnique
	case sqlite3.ErrConstraintForeignKey:
		return constraintForeignKey
	case sqlite3.ErrConstraintCheck:
		return constraintCheck
	}
	return constraintNone
}
