package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tx is a transaction on data that belongs to no tenant (the tenant
// directory, idempotency records). Queries use ? placeholders on both dialects.
type Tx struct {
	tx      *sql.Tx
	dialect Dialect
	stmts   *stmtCache // nil on PostgreSQL
	// detached makes statements ignore the caller's cancellation: in a
	// group commit, an interrupted statement would roll back the whole
	// group's transaction, not only its caller's part.
	detached bool
	// afterCommit runs once the transaction has committed (AfterCommit).
	afterCommit []func()
	// Now is the single timestamp of this transaction.
	Now time.Time
}

// TenantTx is a transaction scoped to one tenant. Store code for
// tenant-owned tables accepts only a *TenantTx, and a TenantTx cannot exist
// without a tenant, so a query can never run "for all tenants". On PostgreSQL
// the tenant is also set for row-level security, a second wall behind the
// WHERE tenant_id = ? every query carries. The Tx inside is unexported, so
// that no code can take a tenant transaction for a global one.
type TenantTx struct {
	tx       *Tx
	tenantID string
	// Now is the single timestamp of this transaction.
	Now time.Time
}

func newTenantTx(tx *Tx, tenantID string) *TenantTx {
	return &TenantTx{tx: tx, tenantID: tenantID, Now: tx.Now}
}

// TenantID returns the tenant this transaction is scoped to.
func (tx *TenantTx) TenantID() string { return tx.tenantID }

// Exec runs a statement with ? placeholders.
func (tx *TenantTx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.Exec(ctx, query, args...)
}

// Query runs a query with ? placeholders.
func (tx *TenantTx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.Query(ctx, query, args...)
}

// QueryRow runs a query with ? placeholders that returns at most one row.
func (tx *TenantTx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRow(ctx, query, args...)
}

// AfterCommit runs fn once the transaction has committed, in the caller's
// goroutine, before TenantUpdate returns; never if it rolls back (or, in
// a SQLite group commit, if this caller's part is rolled back). For
// memory that must follow what is committed: forgotten inside the
// transaction, it could be learned again from the old rows before the
// commit, and kept.
func (tx *TenantTx) AfterCommit(fn func()) { tx.tx.afterCommit = append(tx.tx.afterCommit, fn) }

// Dialect returns the SQL engine of the transaction, for the rare query
// that cannot be written portably.
func (tx *TenantTx) Dialect() Dialect { return tx.tx.dialect }

// ForUpdate returns the clause that locks the rows a SELECT reads until the
// transaction ends: " FOR UPDATE" on PostgreSQL, and "" on SQLite, whose
// write transactions already run one at a time. Append it to a SELECT whose
// rows a rule depends on (count, then write) so that concurrent transactions
// cannot both pass the rule. It cannot follow an aggregate such as COUNT(*):
// select the rows and count them in Go.
func (tx *TenantTx) ForUpdate() string {
	if tx.tx.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// SQLTx returns the underlying *sql.Tx, for libraries that must join the
// transaction, such as the job queue's InsertTx. Queries sent through it are
// not rewritten: they need the dialect's own placeholders.
func (tx *TenantTx) SQLTx() *sql.Tx { return tx.tx.tx }

// ErrNoTenant is returned when a tenant transaction is asked for without a tenant.
var ErrNoTenant = errors.New("db: tenant transaction without a tenant")

// Update runs fn in a read-write transaction on data that belongs to no tenant.
func (d *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	return d.run(ctx, d.write, false, "", func(tx *Tx) error { return fn(tx) })
}

// View runs fn in a read-only transaction on data that belongs to no tenant.
func (d *DB) View(ctx context.Context, fn func(*Tx) error) error {
	return d.run(ctx, d.read, true, "", func(tx *Tx) error { return fn(tx) })
}

// TenantUpdate runs fn in a read-write transaction scoped to tenantID.
func (d *DB) TenantUpdate(ctx context.Context, tenantID string, fn func(*TenantTx) error) error {
	if tenantID == "" {
		return ErrNoTenant
	}
	return d.run(ctx, d.write, false, tenantID, func(tx *Tx) error {
		return fn(newTenantTx(tx, tenantID))
	})
}

// TenantView runs fn in a read-only transaction scoped to tenantID.
func (d *DB) TenantView(ctx context.Context, tenantID string, fn func(*TenantTx) error) error {
	if tenantID == "" {
		return ErrNoTenant
	}
	return d.run(ctx, d.read, true, tenantID, func(tx *Tx) error {
		return fn(newTenantTx(tx, tenantID))
	})
}

func (d *DB) run(ctx context.Context, pool *sql.DB, readOnly bool, tenantID string, fn func(*Tx) error) error {
	if d.group != nil && !readOnly {
		return d.group.submit(ctx, fn)
	}
	// PostgreSQL may abort a transaction that did nothing wrong: a deadlock
	// between two transactions, or a serialization failure. Running it again
	// is the cure, so transaction bodies must be safe to run more than once
	// (they only read and write through tx, and set their results anew).
	var err error
	for attempt := range maxAttempts {
		if err = d.runOnce(ctx, pool, readOnly, tenantID, fn); !retryable(err) || ctx.Err() != nil {
			return err
		}
		d.logger.Warn("transaction retried", "attempt", attempt+1, "err", err)
	}
	return err
}

// maxAttempts bounds how often a deadlocked transaction is run.
const maxAttempts = 4

func (d *DB) runOnce(ctx context.Context, pool *sql.DB, readOnly bool, tenantID string, fn func(*Tx) error) error {
	// SQLite's read pool is query_only already; a read-only BEGIN there
	// would be rejected by the driver, so the flag is for PostgreSQL.
	opts := &sql.TxOptions{ReadOnly: readOnly && d.dialect == Postgres}
	sqlTx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer sqlTx.Rollback()

	if d.dialect == Postgres {
		// The tenant is set with is_local = true, so it ends with the
		// transaction and can never leak to the next user of the connection.
		// Global transactions set it empty and see no tenant-owned row.
		if d.tenantRole != "" {
			_, err = sqlTx.ExecContext(ctx,
				`SELECT set_config('nimbus.tenant_id', $1, true), set_config('role', $2, true)`, tenantID, d.tenantRole)
		} else {
			_, err = sqlTx.ExecContext(ctx, `SELECT set_config('nimbus.tenant_id', $1, true)`, tenantID)
		}
		if err != nil {
			return fmt.Errorf("set tenant: %w", err)
		}
	}
	tx := &Tx{tx: sqlTx, dialect: d.dialect, Now: d.Now().UTC().Truncate(time.Microsecond), stmts: d.cacheFor(pool)}
	if err := fn(tx); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	tx.committed()
	return nil
}

// committed runs what waited for the commit.
func (tx *Tx) committed() {
	for _, fn := range tx.afterCommit {
		fn()
	}
}

// Exec runs a statement with ? placeholders.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = tx.context(ctx)
	if s := tx.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, rebind(tx.dialect, query), args...)
}

func (tx *Tx) context(ctx context.Context) context.Context {
	if tx.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// stmt returns the cached prepared statement for query bound to this
// transaction, or nil to run the text directly.
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if tx.stmts == nil {
		return nil
	}
	s := tx.stmts.get(query)
	if s == nil {
		return nil
	}
	return tx.tx.StmtContext(ctx, s)
}

// Query runs a query with ? placeholders.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = tx.context(ctx)
	if s := tx.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, rebind(tx.dialect, query), args...)
}

// QueryRow runs a query with ? placeholders that returns at most one row.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = tx.context(ctx)
	if s := tx.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, rebind(tx.dialect, query), args...)
}

// Dialect returns the SQL engine of the transaction, for the rare query
// that cannot be written portably.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// SQLTx returns the underlying *sql.Tx, for libraries that must join the
// transaction, such as the job queue's InsertTx. Queries sent through it are
// not rewritten: they need the dialect's own placeholders.
func (tx *Tx) SQLTx() *sql.Tx { return tx.tx }

// rebound caches placeholder rewrites: queries are constants, so the cache
// is bounded by the number of distinct queries in the program.
var rebound sync.Map

// rebind rewrites ? placeholders to PostgreSQL's $1, $2, ... Queries must
// not contain a literal question mark.
func rebind(dialect Dialect, query string) string {
	if dialect != Postgres {
		return query
	}
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	q := b.String()
	rebound.Store(query, q)
	return q
}

// ScanCounts reads rows of (key, count) into a map and closes them.
func ScanCounts(rows *sql.Rows) (map[string]int64, error) {
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// Placeholders returns n comma-separated ? placeholders, for IN lists.
func Placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// rowChunks are the row counts multi-row statements are cut into. Few
// distinct statement texts means SQLite's statement cache keeps each one
// prepared (parsing a statement of hundreds of rows costs more than
// running it) and does not fill up with one text per batch size.
var rowChunks = []int{64, 16, 4, 1}

// ExecRows runs head + " VALUES " + rows + tail for many rows, where row is
// the placeholder list of one row, such as "(?, ?, ?)", and args holds the
// rows' arguments one row after another. tailArgs follow each chunk's rows
// (for a tail such as "ON CONFLICT ... WHERE n <= ?"). Rows go in chunks of
// 64, 16, 4 and 1 on SQLite, in order, within the caller's transaction; on
// PostgreSQL all in one statement, as one array per column (rows.go) when
// head is a plain INSERT INTO t (columns). It returns the rows affected in
// all.
func (tx *Tx) ExecRows(ctx context.Context, head, row, tail string, args []any, tailArgs ...any) (int64, error) {
	perRow := strings.Count(row, "?")
	if perRow == 0 || len(args)%perRow != 0 {
		return 0, fmt.Errorf("db: %d arguments for rows of %d", len(args), perRow)
	}
	if tx.dialect == Postgres && len(args) > 0 {
		query, types, err := tx.arrayInsert(ctx, head, row, tail)
		if err != nil {
			return 0, err
		}
		if query != "" {
			if arrays, ok := columnArrays(args, types); ok {
				res, err := tx.Exec(ctx, query, append(arrays, tailArgs...)...)
				if err != nil {
					return 0, err
				}
				return res.RowsAffected()
			}
		}
	}
	var affected int64
	for n := len(args) / perRow; n > 0; {
		size := 1
		if tx.dialect == Postgres {
			// pgx prepares per connection and parses fast: one round trip
			// is worth more here, up to the protocol's 65535 parameters.
			size = min(n, (65535-len(tailArgs))/perRow)
		} else {
			for _, c := range rowChunks {
				if c <= n {
					size = c
					break
				}
			}
		}
		chunk := append(args[:size*perRow:size*perRow], tailArgs...)
		res, err := tx.Exec(ctx, head+" VALUES "+strings.TrimSuffix(strings.Repeat(row+", ", size), ", ")+" "+tail, chunk...)
		if err != nil {
			return affected, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return affected, err
		}
		affected += k
		args, n = args[size*perRow:], n-size
	}
	return affected, nil
}

// ExecRows is Tx.ExecRows in a tenant transaction.
func (tx *TenantTx) ExecRows(ctx context.Context, head, row, tail string, args []any, tailArgs ...any) (int64, error) {
	return tx.tx.ExecRows(ctx, head, row, tail, args, tailArgs...)
}

// QueryKeys runs query, a SELECT of one table ending in a WHERE clause,
// for the rows whose column equals one of keys (which may repeat), and
// returns each once, in no particular order. The column must complete a
// unique index with columns the query fixes by equality, or be one alone,
// such as (tenant_id, email) or (key_hash): each key is then one probe of
// that index, whatever the planner knows of the table, provided no other
// index leads with columns the query fixes without having the key column
// (a planner without statistics may take such an index and filter; see
// KeysSQL for a plan test).
//
// A plain IN list does not promise that on PostgreSQL 15. Offered an IN
// list on an index column after the first, it weighs one descent of the
// index per key against reading every row of the prefix and filtering,
// and on a table it has no statistics for (a new store, a new sale) it
// takes the prefix for a row or two: a batch of a flash sale then read
// every order of the sale. There the keys go in as one array, each probed
// alone (LATERAL ... LIMIT 1 keeps the probe from being turned into a
// join). SQLite probes an IN list on an index; its list is padded to a
// power of two, so a few lengths keep few statement texts (see rowChunks).
func QueryKeys[K string | []byte](ctx context.Context, tx interface {
	Query(context.Context, string, ...any) (*sql.Rows, error)
	Dialect() Dialect
}, query, column string, keys []K, args ...any) (*sql.Rows, error) {
	seen := make(map[string]bool, len(keys))
	keys = slices.DeleteFunc(slices.Clone(keys), func(k K) bool {
		dup := seen[string(k)]
		seen[string(k)] = true
		return dup
	})
	_, bytes := any(keys).([][]byte)
	if tx.Dialect() == Postgres {
		return tx.Query(ctx, KeysSQL(Postgres, query, column, bytes, len(keys)), append([]any{keys}, args...)...)
	}
	n := min(len(keys), 1) // IN () matches nothing on SQLite
	for n < len(keys) {
		n *= 2
	}
	padded := append(make([]any, 0, len(args)+n), args...)
	for i := range n {
		padded = append(padded, keys[min(i, len(keys)-1)])
	}
	return tx.Query(ctx, KeysSQL(SQLite, query, column, bytes, n), padded...)
}

// KeysSQL is the statement QueryKeys runs for n keys (bytes: the keys are
// []byte), with ? placeholders: on PostgreSQL the keys come first, as one
// array, and then query's arguments; on SQLite query's arguments and then
// n keys. Tests use it to check the plan of a lookup.
func KeysSQL(d Dialect, query, column string, bytes bool, n int) string {
	if d == Postgres {
		array := "text[]"
		if bytes {
			array = "bytea[]"
		}
		return `SELECT found.* FROM unnest(?::` + array + `) AS wanted (key) CROSS JOIN LATERAL (` +
			query + ` AND ` + column + ` = wanted.key LIMIT 1) AS found`
	}
	return query + ` AND ` + column + ` IN (` + Placeholders(n) + `)`
}
