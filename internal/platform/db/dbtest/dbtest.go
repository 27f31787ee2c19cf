// Package dbtest opens fresh databases for tests: a SQLite file in a
// temporary directory always, and a fresh PostgreSQL database too when
// NIMBUS_TEST_POSTGRES_URL is set, so one test proves both backends equal.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// PostgresEnv names the environment variable with the URL of a PostgreSQL
// server on which tests may create and drop databases.
const PostgresEnv = "NIMBUS_TEST_POSTGRES_URL"

// Backend is one database configuration a test runs against.
type Backend struct {
	Name   string
	Config db.Config
}

// Backends returns the backends to test: SQLite always, PostgreSQL when
// NIMBUS_TEST_POSTGRES_URL is set. Each comes with a fresh, empty database
// that is removed when the test ends.
func Backends(tb testing.TB) []Backend {
	tb.Helper()
	bs := []Backend{{Name: "sqlite", Config: db.Config{DataDir: tb.TempDir()}}}
	if os.Getenv(PostgresEnv) != "" {
		bs = append(bs, Backend{Name: "postgres", Config: db.Config{URL: NewPostgresDatabase(tb)}})
	}
	return bs
}

// Run runs f as a subtest on every backend with a freshly opened DB.
func Run(t *testing.T, f func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f(t, Open(t, b.Config))
		})
	}
}

// Open opens cfg and closes it when the test ends.
func Open(tb testing.TB, cfg db.Config) *db.DB {
	tb.Helper()
	d, err := db.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Errorf("close database: %v", err)
		}
	})
	return d
}

// NewPostgresDatabase creates an empty database on the server named by
// NIMBUS_TEST_POSTGRES_URL, drops it when the test ends, and returns its URL.
func NewPostgresDatabase(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		tb.Fatalf("%s is not set", PostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("connect to postgres: %v", err)
	}
	tb.Cleanup(func() { admin.Close() })

	var b [6]byte
	rand.Read(b[:])
	name := "nimbus_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}
