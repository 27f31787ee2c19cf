package db

import (
	"context"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Many rows in one INSERT on PostgreSQL: rather than "VALUES (...), (...)"
// with a parameter for every value (5,200 for 200 orders, a statement text
// for every row count, each parsed and planned afresh, and a bind message
// pgx builds by growing one buffer), each column goes as one text array,
// and unnest() turns the arrays back into rows, each value cast to its
// column's type:
//
//	INSERT INTO t (a, b) SELECT u.a::bigint, u.b::text FROM unnest($1::text[], $2::text[]) AS u (a, b)
//
// One statement text for any row count is prepared once per connection and
// keeps its plan. The columns' types are read from the catalog once per
// table and process (the schema is this binary's migrations).

// plainInsert matches the head ExecRows can send as arrays.
var plainInsert = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+(\w+)\s*\(([\w\s,]+)\)\s*$`)

// columnTypes caches table -> column -> SQL type, for arrayInsert.
var columnTypes sync.Map

// arrayInsert returns the statement that inserts rows of head's columns
// from one text array per column, followed by tail, or "" when head is not
// a plain INSERT INTO t (columns) or row is not one placeholder per column.
func (tx *Tx) arrayInsert(ctx context.Context, head, row, tail string) (string, int, error) {
	m := plainInsert.FindStringSubmatch(head)
	if m == nil {
		return "", 0, nil
	}
	table, cols := m[1], strings.Split(m[2], ",")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c)
	}
	if strings.ReplaceAll(row, " ", "") != "("+strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",")+")" {
		return "", 0, nil
	}
	types, err := tx.columnTypes(ctx, table)
	if err != nil {
		return "", 0, err
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") SELECT ")
	for i, c := range cols {
		t, ok := types[c]
		if !ok {
			return "", 0, fmt.Errorf("db: table %s has no column %s", table, c)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`u."` + c + `"::` + t)
	}
	b.WriteString(" FROM unnest(" + strings.TrimSuffix(strings.Repeat("?::text[], ", len(cols)), ", ") + `) AS u ("` +
		strings.Join(cols, `", "`) + `") ` + tail)
	return b.String(), len(cols), nil
}

func (tx *Tx) columnTypes(ctx context.Context, table string) (map[string]string, error) {
	if v, ok := columnTypes.Load(table); ok {
		return v.(map[string]string), nil
	}
	rows, err := tx.Query(ctx, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped`, table)
	if err != nil {
		return nil, fmt.Errorf("db: read the columns of %s: %w", table, err)
	}
	defer rows.Close()
	types := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		types[name] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	columnTypes.Store(table, types)
	return types, nil
}

// columnArrays turns rows of args, perRow values each, into one array of
// values in PostgreSQL's text form per column (nil is NULL).
func columnArrays(args []any, perRow int) ([]any, error) {
	n := len(args) / perRow
	cols := make([][]*string, perRow)
	for c := range cols {
		cols[c] = make([]*string, n)
	}
	for i, v := range args {
		s, err := pgText(v)
		if err != nil {
			return nil, err
		}
		cols[i%perRow][i/perRow] = s
	}
	out := make([]any, perRow)
	for c := range cols {
		out[c] = cols[c]
	}
	return out, nil
}

// pgText is a value in PostgreSQL's text input form, or nil for NULL.
func pgText(v any) (*string, error) {
	var s string
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		s = x
	case []byte:
		if x == nil {
			return nil, nil
		}
		s = `\x` + hex.EncodeToString(x)
	case bool:
		s = strconv.FormatBool(x)
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case int32:
		s = strconv.FormatInt(int64(x), 10)
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		s = x.Format(time.RFC3339Nano)
	case *time.Time:
		if x == nil {
			return nil, nil
		}
		s = x.Format(time.RFC3339Nano)
	case driver.Valuer:
		dv, err := x.Value()
		if err != nil {
			return nil, err
		}
		return pgText(dv)
	default:
		return nil, fmt.Errorf("db: cannot send a %T in an array of rows", v)
	}
	return &s, nil
}
