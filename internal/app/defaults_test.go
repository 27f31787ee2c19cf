package app

import (
	"io"
	"testing"

	"github.com/nimbuscommerce/nimbus/internal/flashsale"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// TestThreadsFor: one more thread than cores for the embedded database,
// none for PostgreSQL, and never over what GOMAXPROCS says.
func TestThreadsFor(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GOMAXPROCS" {
				return v
			}
			return ""
		}
	}
	for _, c := range []struct {
		name     string
		cfg      Config
		gomaxenv string
		want     int
	}{
		{"sqlite", Config{DataDir: "data"}, "", 5},
		{"postgres", Config{DatabaseURL: "postgres://x"}, "", 4},
		{"sqlite, GOMAXPROCS set", Config{DataDir: "data"}, "4", 4},
	} {
		if got := threadsFor(c.cfg, env(c.gomaxenv), 4); got != c.want {
			t.Errorf("%s: %d threads on 4 cores, want %d", c.name, got, c.want)
		}
	}
}

// TestInFlightFollowsTheBackend: a flash sale's buys in flight default to
// what fills the backend's batches, and a value given on the command line
// or in the environment wins.
func TestInFlightFollowsTheBackend(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want int
	}{
		{[]string{"--data-dir", "d"}, nil, flashsale.DefaultInFlight(db.SQLite)},
		{[]string{"--database-url", "postgres://x"}, nil, flashsale.DefaultInFlight(db.Postgres)},
		{nil, map[string]string{"NIMBUS_DATABASE_URL": "postgres://x"}, flashsale.DefaultInFlight(db.Postgres)},
		{[]string{"--database-url", "postgres://x", "--flash-sale-in-flight", "275"}, nil, 275},
		{[]string{"--database-url", "postgres://x"}, map[string]string{"NIMBUS_FLASH_SALE_IN_FLIGHT": "350"}, 350},
	} {
		env := Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return c.env[k] }}
		cfg, err := parseConfig("serve", c.args, env, (*Config).bindServe)
		if err != nil {
			t.Fatalf("%v %v: %v", c.args, c.env, err)
		}
		if got := cfg.FlashSale.InFlightPerSale; got != c.want {
			t.Errorf("%v %v: %d buys in flight, want %d", c.args, c.env, got, c.want)
		}
		if got := cfg.FlashSale.TargetWait; got != flashsale.DefaultTargetWait {
			t.Errorf("%v %v: target wait %v, want %v", c.args, c.env, got, flashsale.DefaultTargetWait)
		}
	}
	cfg, err := parseConfig("serve", []string{"--flash-sale-wait", "0"}, Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}, (*Config).bindServe)
	if err != nil || cfg.FlashSale.TargetWait != 0 {
		t.Fatalf("--flash-sale-wait 0: %v, %v; want a fixed bound", cfg.FlashSale.TargetWait, err)
	}
}
