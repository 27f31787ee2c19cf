// Package app is Nimbus's composition root: it parses the command line,
// builds every service from the config, runs the server and shuts it down.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"

	"golang.org/x/term"
)

// version is set at link time: -ldflags "-X github.com/nimbuscommerce/nimbus/internal/app.version=v1.2.3".
var version = ""

// Version returns the release version, or the VCS revision of a development build.
func Version() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// Env is what a command sees of its surroundings, so tests can run Main
// whole without touching the real process's.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

const usage = `Nimbus: a multi-tenant commerce platform in one binary.

Usage: nimbus <command> [flags]

Commands:
  serve     run the server (SQLite in ./nimbus-data by default, or --database-url postgres://...)
  migrate   apply database migrations and exit
  bench     run a benchmark program (nimbus bench checkout)
  version   print the version

Run "nimbus <command> --help" for a command's flags. Every flag has an
environment twin: --database-url is also NIMBUS_DATABASE_URL.
`

// Main runs the command in args (without the program name) until ctx ends
// and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(env.Stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], env)
	case "migrate":
		err = runMigrate(ctx, args[1:], env)
	case "bench":
		err = runBench(ctx, args[1:], env)
	case "version":
		fmt.Fprintln(env.Stdout, "nimbus", Version())
	default:
		fmt.Fprintf(env.Stderr, "nimbus: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "nimbus:", err)
		return 1
	}
	return 0
}

func parseConfig(name string, args []string, env Env, bind func(*Config, *flag.FlagSet)) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	bind(&cfg, fs)
	if err := parse(fs, args, env.Getenv); err != nil {
		return cfg, err
	}
	cfg.backendDefaults(fs)
	return cfg, cfg.validate()
}

func runServe(ctx context.Context, args []string, env Env) error {
	cfg, err := parseConfig("serve", args, env, (*Config).bindServe)
	if err != nil {
		return err
	}
	runtime.GOMAXPROCS(threadsFor(cfg, env.Getenv, runtime.GOMAXPROCS(0)))
	logger := newLogger(cfg, env.Stderr)
	srv, err := NewServer(ctx, cfg, logger)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		srv.DB.Close()
		return err
	}
	if cfg.Demo {
		if err := seedDemo(ctx, srv, env.Stdout); err != nil {
			srv.DB.Close()
			return fmt.Errorf("seed demo store: %w", err)
		}
	}
	return srv.Serve(ctx)
}

// threadsFor is how many threads Go runs on for a server of cfg, given the
// default (one per core): one more with the embedded SQLite database,
// unless GOMAXPROCS says otherwise. SQLite is Go code here, and its writer
// holds a thread through CPU-bound stretches that Go preempts only every
// 10 ms; with one thread more than cores the kernel shares the cores in
// finer slices, and the rest of the store stays responsive while a batch of
// orders is written (another store's page p99 23-43 ms instead of 33-117 ms
// during a flash sale, for 12-15 % fewer orders a second at its peak).
// PostgreSQL runs in processes of its own: no gain there (BENCHMARKS.md).
func threadsFor(cfg Config, getenv func(string) string, cores int) int {
	if cfg.DatabaseURL != "" || getenv("GOMAXPROCS") != "" {
		return cores
	}
	return cores + 1
}

func runMigrate(ctx context.Context, args []string, env Env) error {
	cfg, err := parseConfig("migrate", args, env, (*Config).bindCommon)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, env.Stderr)
	d, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	logger.Info("database is at the current schema", "database", d.Dialect())
	return d.Close()
}

// newLogger logs JSON in production and readable text on a terminal.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel)) // validated with the config
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
