// Package db opens Nimbus's database (an embedded SQLite file or a
// PostgreSQL server), applies migrations, and runs transactions. Tenant-owned
// data is reached only through a TenantTx, which cannot exist without a tenant.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says which database to open.
type Config struct {
	// URL is a postgres:// URL. When empty, SQLite is used in DataDir.
	URL string
	// DataDir holds nimbus.db when URL is empty. It is created if missing.
	DataDir string
	// Logger receives migration notices.
	Logger *slog.Logger
	// AlsoMigrate runs after Nimbus's own migrations, for libraries that
	// keep tables of their own (the job queue). It runs before privileges
	// are granted to the tenant role, so their tables are covered too. On
	// PostgreSQL it runs while this node holds the migration lock; it must
	// not take that lock itself.
	AlsoMigrate func(ctx context.Context, d *DB) error
}

// DB is an open Nimbus database.
type DB struct {
	dialect Dialect
	// write runs every read-write transaction. On SQLite it has exactly one
	// connection, because SQLite has exactly one writer: queueing in Go is
	// cheaper than spinning on SQLITE_BUSY.
	write *sql.DB
	// read runs read-only transactions. On PostgreSQL it is the same pool as write.
	read *sql.DB
	// tenantRole, when set, is assumed in every tenant transaction so that
	// row-level security applies even when we connect as a superuser.
	tenantRole string

	// Now returns the current time; tests replace it. Every transaction takes
	// one timestamp from it so that all rows written together agree.
	Now func() time.Time

	// group runs SQLite's write transactions with group commit; nil on PostgreSQL.
	group *groupCommitter
	// checkpoints folds SQLite's log into its file off the writer; nil on PostgreSQL.
	checkpoints *checkpointer
	// writeStmts and readStmts cache prepared statements on SQLite's pools.
	writeStmts, readStmts *stmtCache

	logger    *slog.Logger
	pgConfig  *pgx.ConnConfig // PostgreSQL's, for connections of their own (Listen)
	closeOnce sync.Once
	closeErr  error
}

// Open opens the database described by cfg and applies pending migrations.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &DB{Now: func() time.Time { return time.Now().UTC() }, logger: logger}
	var err error
	if cfg.URL != "" {
		if !strings.HasPrefix(cfg.URL, "postgres://") && !strings.HasPrefix(cfg.URL, "postgresql://") {
			return nil, errors.New("database url must start with postgres:// or postgresql://")
		}
		err = d.openPostgres(ctx, cfg.URL)
	} else {
		if cfg.DataDir == "" {
			return nil, errors.New("data dir is empty")
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		err = d.openSQLite(ctx, filepath.Join(cfg.DataDir, "nimbus.db"))
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	if d.dialect == Postgres {
		// Every step that changes the schema or the roles runs under the
		// migration lock, so nodes starting together on a fresh database
		// take turns instead of racing (River's migrations and the GRANTs
		// fail when run twice at once). The lock lives on a connection of
		// its own; the steps use the pool's others.
		err = d.withMigrationLock(ctx, func(conn *sql.Conn) error {
			if err := d.migrate(ctx, conn); err != nil {
				return err
			}
			if cfg.AlsoMigrate != nil {
				if err := cfg.AlsoMigrate(ctx, d); err != nil {
					return err
				}
			}
			return d.setUpTenantRole(ctx)
		})
	} else {
		// SQLite serializes these through its single writer. No connection
		// may be held across AlsoMigrate: the write pool has exactly one,
		// and River's migrator needs it.
		err = d.Migrate(ctx)
		if err == nil && cfg.AlsoMigrate != nil {
			err = cfg.AlsoMigrate(ctx, d)
		}
		if err == nil {
			d.writeStmts, d.readStmts = newStmtCache(d.write, true), newStmtCache(d.read, false)
			d.startGroupCommit()
		}
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Dialect returns the SQL engine in use.
func (d *DB) Dialect() Dialect { return d.dialect }

// Pools returns the connection pools, for metrics. On PostgreSQL there is one.
func (d *DB) Pools() map[string]*sql.DB {
	if d.read == d.write {
		return map[string]*sql.DB{"main": d.write}
	}
	return map[string]*sql.DB{"write": d.write, "read": d.read}
}

// WritePool returns the pool that read-write transactions use. The job queue
// shares it so that on SQLite there is still a single writer.
func (d *DB) WritePool() *sql.DB { return d.write }

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.write.PingContext(ctx); err != nil {
		return err
	}
	if d.read != d.write {
		return d.read.PingContext(ctx)
	}
	return nil
}

// Close closes every pool. It is safe to call on a partly opened DB, and
// more than once.
func (d *DB) Close() error {
	d.closeOnce.Do(func() { d.closeErr = d.close() })
	return d.closeErr
}

func (d *DB) close() error {
	if d.group != nil {
		d.group.close()
	}
	var errs []error
	if d.checkpoints != nil {
		errs = append(errs, d.checkpoints.close())
	}
	for _, c := range []*stmtCache{d.writeStmts, d.readStmts} {
		if c != nil {
			c.close()
		}
	}
	if d.read != nil && d.read != d.write {
		errs = append(errs, d.read.Close())
	}
	if d.write != nil {
		if d.dialect == SQLite {
			// Fold the WAL back into the main file so the data dir is one
			// self-contained file after a clean shutdown.
			_, err := d.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			errs = append(errs, err)
		}
		errs = append(errs, d.write.Close())
	}
	return errors.Join(errs...)
}

// cacheFor returns the statement cache of a pool (nil on PostgreSQL).
func (d *DB) cacheFor(pool *sql.DB) *stmtCache {
	switch {
	case d.writeStmts != nil && pool == d.write:
		return d.writeStmts
	case d.readStmts != nil && pool == d.read:
		return d.readStmts
	}
	return nil
}
