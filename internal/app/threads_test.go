package app

import "testing"

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
