package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations of a dialect in version order.
// Files are named NNNN_what.sql; a gap or a duplicate number is a bug that
// this reports at start-up rather than in production data.
func migrations(dialect Dialect) ([]migration, error) {
	dir := path.Join("migrations", string(dialect))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrationLock is the PostgreSQL advisory lock that serializes nodes
// migrating the same database.
const migrationLock = 7236001

// Migrate applies every pending migration, each in its own transaction, and
// records it. Concurrent callers (several nodes starting at once) are
// serialized: by the single writer on SQLite, by an advisory lock on PostgreSQL.
func (d *DB) Migrate(ctx context.Context) error {
	if d.dialect == Postgres {
		return d.withMigrationLock(ctx, func(conn *sql.Conn) error { return d.migrate(ctx, conn) })
	}
	conn, err := d.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// A migration may rewrite a whole table: its statement journal spills
	// to a temporary file, as SQLite's default has it, instead of growing
	// in the writer's memory (see openSQLite), which it gets back after.
	if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = FILE"); err != nil {
		return err
	}
	err = d.migrate(ctx, conn)
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA temp_store = "+writerTempStore); rerr != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn }) // a writer without its setting is dropped, not reused
		err = errors.Join(err, rerr)
	}
	return err
}

// withMigrationLock runs fn holding the migration lock on a connection of
// its own, which fn may use; fn may use the pool as well. The lock is a
// session lock, so it is released explicitly before the connection goes back
// to the pool, and a connection that cannot release it is discarded.
func (d *DB) withMigrationLock(ctx context.Context, fn func(conn *sql.Conn) error) (err error) {
	conn, err := d.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer func() {
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock); uerr != nil {
			// Closing the session is what releases the lock then.
			conn.Raw(func(any) error { return driver.ErrBadConn })
			err = errors.Join(err, fmt.Errorf("migration unlock: %w", uerr))
		}
	}()
	return fn(conn)
}

func (d *DB) migrate(ctx context.Context, conn *sql.Conn) error {
	ms, err := migrations(d.dialect)
	if err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TIMESTAMP NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, rebind(d.dialect, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&n); err != nil {
			tx.Rollback()
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, rebind(d.dialect, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, d.Now()); err != nil {
			tx.Rollback()
			return fmt.Errorf("record migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit migration %s: %w", m.name, err)
		}
		d.logger.Info("applied migration", "migration", m.name, "dialect", d.dialect)
	}
	return nil
}

// MigrationsCurrent reports whether every embedded migration is applied, for
// the readiness check: a node whose code is newer than the schema must not
// take traffic. A schema newer than the code is fine: during a rolling
// deploy the first new node migrates while old nodes still serve, and
// migrations are written to keep the previous release working.
func (d *DB) MigrationsCurrent(ctx context.Context) (bool, error) {
	ms, err := migrations(d.dialect)
	if err != nil {
		return false, err
	}
	var latest int
	if err := d.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&latest); err != nil {
		return false, err
	}
	return latest >= len(ms), nil
}
