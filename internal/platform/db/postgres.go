package db

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// tenantRoleName is the role tenant transactions assume when the connecting
// user would otherwise bypass row-level security (a superuser or a role with
// BYPASSRLS). It has no login and only the table privileges the app needs.
const tenantRoleName = "nimbus_tenant"

func (d *DB) openPostgres(ctx context.Context, url string) error {
	d.dialect = Postgres
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	d.pgConfig = cfg.Copy()
	d.write = stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(scanTimesInUTC))
	// A few connections per core keep the server busy without making it
	// thrash; PostgreSQL itself scales with cores, not with clients.
	conns := max(8, 4*runtime.GOMAXPROCS(0))
	d.write.SetMaxOpenConns(conns)
	d.write.SetMaxIdleConns(conns)
	d.read = d.write
	if err := d.write.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	return nil
}

// scanTimesInUTC makes the connection return timestamptz values in UTC, as
// SQLite does, instead of in the process's local zone: the instant is the
// same, but a time that prints or marshals differently on each node (or each
// backend) makes tests and API responses disagree.
func scanTimesInUTC(_ context.Context, conn *pgx.Conn) error {
	conn.TypeMap().RegisterType(&pgtype.Type{
		Name:  "timestamptz",
		OID:   pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
	return nil
}

// setUpTenantRole makes row-level security effective. A superuser or a
// BYPASSRLS role ignores RLS even when it is forced, so in that case every
// tenant transaction switches to a role without those powers.
func (d *DB) setUpTenantRole(ctx context.Context) error {
	var bypass bool
	err := d.write.QueryRowContext(ctx,
		`SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&bypass)
	if err != nil {
		return fmt.Errorf("inspect database role: %w", err)
	}
	if !bypass {
		return nil
	}
	// Roles are shared by every database of a cluster, so another process
	// may create it at the same moment: that is fine.
	_, err = d.write.ExecContext(ctx, `DO $$ BEGIN
		CREATE ROLE `+tenantRoleName+` NOLOGIN NOSUPERUSER NOBYPASSRLS;
	EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
	END $$`)
	if err != nil {
		return fmt.Errorf("create role %s: %w", tenantRoleName, err)
	}
	for _, stmt := range []string{
		`GRANT USAGE ON SCHEMA public TO ` + tenantRoleName,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ` + tenantRoleName,
		`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ` + tenantRoleName,
	} {
		if err := retryOnConcurrentGrant(func() error { _, err := d.write.ExecContext(ctx, stmt); return err }); err != nil {
			return fmt.Errorf("grant to %s: %w", tenantRoleName, err)
		}
	}
	d.tenantRole = tenantRoleName
	return nil
}

// retryOnConcurrentGrant retries a GRANT that lost a race with the same GRANT
// in another session ("tuple concurrently updated").
func retryOnConcurrentGrant(f func() error) error {
	var err error
	for range 5 {
		if err = f(); err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "XX000" {
			return err
		}
	}
	return err
}

func postgresConstraintCode(err error) constraintKind {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return constraintNone
	}
	switch pgErr.Code {
	case "23505":
		return constraintUnique
	case "23503":
		return constraintForeignKey
	case "23514":
		return constraintCheck
	}
	return constraintNone
}

// retryable reports whether err is PostgreSQL aborting a transaction that
// may succeed if run again: a deadlock (40P01) or a serialization failure (40001).
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}
