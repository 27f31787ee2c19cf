package db

import (
	"context"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"reflect"
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
// table and process (the schema is this binary's migrations), without
// their modifiers, so that a value too long for a varchar(n) is refused by
// the INSERT as it would be from VALUES rather than cut by the cast. Times
// go as text with nanoseconds, which PostgreSQL rounds to microseconds
// (the stores write tx.Now, already truncated). A value of a kind pgText
// does not know sends the rows as VALUES instead.

// plainInsert matches the head ExecRows can send as arrays.
var plainInsert = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+(\w+)\s*\(([\w\s,]+)\)\s*$`)

// columnTypes caches table -> column -> SQL type, for arrayInsert.
var columnTypes sync.Map

// arrayStatements caches what arrayInsert made of each head, row and tail
// (constants of the stores, as rebound's queries are).
var arrayStatements sync.Map // head \x00 row \x00 tail -> arrayStatement

type arrayStatement struct {
	query string // "" when the rows go as VALUES
	types []string
}

// arrayInsert returns the statement that inserts rows of head's columns
// from one text array per column, followed by tail, with the columns'
// types, or "" when head is not a plain INSERT INTO t (columns) or row is
// not one placeholder per column.
func (tx *Tx) arrayInsert(ctx context.Context, head, row, tail string) (string, []string, error) {
	key := head + "\x00" + row + "\x00" + tail
	if v, ok := arrayStatements.Load(key); ok {
		st := v.(arrayStatement)
		return st.query, st.types, nil
	}
	query, types, err := tx.makeArrayInsert(ctx, head, row, tail)
	if err != nil {
		return "", nil, err
	}
	arrayStatements.Store(key, arrayStatement{query: query, types: types})
	return query, types, nil
}

func (tx *Tx) makeArrayInsert(ctx context.Context, head, row, tail string) (string, []string, error) {
	m := plainInsert.FindStringSubmatch(head)
	if m == nil {
		return "", nil, nil
	}
	table, cols := m[1], strings.Split(m[2], ",")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c)
	}
	if strings.ReplaceAll(row, " ", "") != "("+strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",")+")" {
		return "", nil, nil
	}
	types, err := tx.columnTypes(ctx, table)
	if err != nil {
		return "", nil, err
	}
	colTypes := make([]string, len(cols))
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") SELECT ")
	for i, c := range cols {
		t, ok := types[c]
		if !ok {
			return "", nil, fmt.Errorf("db: table %s has no column %s", table, c)
		}
		colTypes[i] = t
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`u."` + c + `"::` + t)
	}
	b.WriteString(" FROM unnest(" + strings.TrimSuffix(strings.Repeat("?::text[], ", len(cols)), ", ") + `) AS u ("` +
		strings.Join(cols, `", "`) + `") ` + tail)
	return b.String(), colTypes, nil
}

func (tx *Tx) columnTypes(ctx context.Context, table string) (map[string]string, error) {
	if v, ok := columnTypes.Load(table); ok {
		return v.(map[string]string), nil
	}
	rows, err := tx.Query(ctx, `SELECT attname, format_type(atttypid, NULL) FROM pg_attribute
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

// columnArrays turns rows of args, one value per column of types each,
// into one array of values in PostgreSQL's text form per column (nil is
// NULL). ok is false if a value is of a kind it cannot send.
func columnArrays(args []any, types []string) (arrays []any, ok bool) {
	perRow := len(types)
	n := len(args) / perRow
	cols := make([][]*string, perRow)
	for c := range cols {
		cols[c] = make([]*string, n)
	}
	for i, v := range args {
		s, ok := pgText(v, types[i%perRow] == "bytea")
		if !ok {
			return nil, false
		}
		cols[i%perRow][i/perRow] = s
	}
	arrays = make([]any, perRow)
	for c := range cols {
		arrays[c] = cols[c]
	}
	return arrays, true
}

// pgText is a value in PostgreSQL's text input form, or nil for NULL;
// bytes are written as bytea's hex form for a bytea column, as text for
// any other.
func pgText(v any, bytea bool) (s *string, ok bool) {
	text := func(s string) (*string, bool) { return &s, true }
	switch x := v.(type) {
	case nil:
		return nil, true
	case string:
		return text(x)
	case []byte:
		switch {
		case x == nil:
			return nil, true
		case bytea:
			return text(`\x` + hex.EncodeToString(x))
		}
		return text(string(x))
	case time.Time:
		return text(x.Format(time.RFC3339Nano))
	case *time.Time:
		if x == nil {
			return nil, true
		}
		return text(x.Format(time.RFC3339Nano))
	case driver.Valuer:
		dv, err := x.Value()
		if err != nil {
			return nil, false
		}
		return pgText(dv, bytea)
	}
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.String:
		return text(r.String())
	case reflect.Bool:
		return text(strconv.FormatBool(r.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return text(strconv.FormatInt(r.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return text(strconv.FormatUint(r.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		return text(strconv.FormatFloat(r.Float(), 'g', -1, 64))
	case reflect.Pointer:
		if r.IsNil() {
			return nil, true
		}
		return pgText(r.Elem().Interface(), bytea)
	}
	return nil, false
}
