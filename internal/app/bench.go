package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/bench"
	"github.com/nimbuscommerce/nimbus/internal/flashsale"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

const benchUsage = `Usage: nimbus bench <program> [flags]

Programs:
  checkout   complete guest checkouts over HTTP against a demo store
  flashsale  a burst of buyers in a flash sale, with an audit of every order
  commits    the machine's ceiling: durable single-row SQLite commits per second
`

// benchConfig is the command line of "nimbus bench".
type benchConfig struct {
	Config
	Target      string
	Store       string
	Email       string
	Password    string
	Concurrency int
	Duration    time.Duration
	CPUProfile  string
}

func runBench(ctx context.Context, args []string, env Env) error {
	if len(args) > 0 && args[0] == "commits" {
		return runBenchCommits(ctx, args[1:], env)
	}
	if len(args) > 0 && args[0] == "flashsale" {
		return runBenchFlashSale(ctx, args[1:], env)
	}
	if len(args) == 2 && args[0] == "page-probe" { // started by flashsale, not by hand
		return bench.ProbePage(ctx, args[1], os.Stdin, env.Stdout)
	}
	if len(args) == 0 || args[0] != "checkout" {
		fmt.Fprint(env.Stderr, benchUsage)
		return errors.New("which benchmark? (checkout, flashsale, commits)")
	}
	var bc benchConfig
	fs := flag.NewFlagSet("bench checkout", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	bc.bindBench(fs)
	fs.StringVar(&bc.Target, "target", "", "URL of a running Nimbus to measure instead of starting one (its demo store must exist)")
	fs.StringVar(&bc.Store, "store", demoHandle, "store handle to buy from")
	fs.StringVar(&bc.Email, "email", demoEmail, "staff email of that store (sets up stock, audits orders)")
	fs.StringVar(&bc.Password, "password", demoPassword, "staff password of that store")
	fs.IntVar(&bc.Concurrency, "concurrency", 32, "shoppers checking out at once")
	fs.DurationVar(&bc.Duration, "duration", 10*time.Second, "how long to run")
	fs.StringVar(&bc.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole process (server and load) to this file")
	if err := parse(fs, args[1:], env.Getenv); err != nil {
		return err
	}
	if bc.Concurrency < 1 || bc.Duration <= 0 {
		return errors.New("--concurrency and --duration must be positive")
	}

	base := bc.Target
	if base == "" {
		url, stop, err := startBenchServer(ctx, bc.Config, env, true, nil)
		if err != nil {
			return err
		}
		defer stop()
		base = url
	}
	if bc.CPUProfile != "" {
		f, err := os.Create(bc.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(env.Stdout, "running guest checkouts for %s with %d shoppers...\n", bc.Duration, bc.Concurrency)
	res, err := bench.Checkout(ctx, bench.CheckoutOptions{BaseURL: base, Store: bc.Store, Email: bc.Email, Password: bc.Password,
		Concurrency: bc.Concurrency, Duration: bc.Duration, Out: env.Stdout})
	if err != nil {
		return err
	}
	res.Print(env.Stdout)
	if res.Lost > 0 || !res.StockConsistent || !res.LedgerBalanced {
		return errors.New("audit failed: acknowledged orders lost or stock inconsistent")
	}
	return nil
}

// runBenchCommits measures the SQLite commit ceiling in a scratch directory
// (never the store's own: the benchmark adds a table).
func runBenchCommits(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("bench commits", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	duration := fs.Duration("duration", 10*time.Second, "how long to commit")
	if err := parse(fs, args, env.Getenv); err != nil {
		return err
	}
	if *duration <= 0 {
		return errors.New("--duration must be positive")
	}
	dir, err := os.MkdirTemp("", "nimbus-commits-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	res, err := bench.Commits(ctx, dir, *duration)
	if err != nil {
		return err
	}
	res.Print(env.Stdout)
	return nil
}

// bindBench declares the database flags of a benchmark: those of every
// command, except that the SQLite directory defaults to a new temporary one.
func (c *Config) bindBench(fs *flag.FlagSet) {
	c.bindCommon(fs)
	f := fs.Lookup("data-dir")
	f.DefValue, f.Usage = "", "SQLite data directory for the server the benchmark starts (default: a new temporary one)"
	c.DataDir = ""
}

// startBenchServer starts a server for a benchmark, on the database cfg
// names or in a new temporary SQLite directory, with the demo store if
// demo is set, and returns its URL and how to stop it. adjust, if given,
// changes the server's configuration first.
func startBenchServer(ctx context.Context, cfg Config, env Env, demo bool, adjust func(*Config)) (string, func(), error) {
	var cleanup []func()
	stopAll := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	if cfg.DatabaseURL == "" && cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "nimbus-bench-")
		if err != nil {
			return "", nil, err
		}
		cleanup = append(cleanup, func() { os.RemoveAll(dir) })
		cfg.DataDir = dir
	}
	cfg.Addr, cfg.MaxBodyBytes, cfg.ShutdownTimeout, cfg.LogLevel = "127.0.0.1:0", 1<<20, 10*time.Second, "warn"
	cfg.MaxWrites, cfg.FlashSale.InFlightPerSale, cfg.FlashSale.PerIP, cfg.FlashSale.PerCustomer = 1024, 0, 20, 5 // as served by default (0: the backend's)
	cfg.FlashSale.TargetWait = flashsale.DefaultTargetWait
	if cfg.LogFormat == "" {
		cfg.LogFormat = "auto"
	}
	if adjust != nil {
		adjust(&cfg)
	}
	// As "serve" runs it (the load shares the threads, as it shares the cores).
	procs := runtime.GOMAXPROCS(threadsFor(cfg, env.Getenv, runtime.GOMAXPROCS(0)))
	cleanup = append(cleanup, func() { runtime.GOMAXPROCS(procs) })
	srv, err := NewServer(ctx, cfg, newLogger(cfg, env.Stderr))
	if err != nil {
		stopAll()
		return "", nil, err
	}
	if err := srv.Listen(); err != nil {
		srv.DB.Close()
		stopAll()
		return "", nil, err
	}
	if demo {
		if err := seedDemo(ctx, srv, io.Discard); err != nil {
			srv.DB.Close()
			stopAll()
			return "", nil, err
		}
	}
	srvCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(srvCtx) }()
	cleanup = append(cleanup, func() {
		stop()
		<-done
	})
	base := "http://" + srv.Addr()
	fmt.Fprintf(env.Stdout, "server: %s on %s\n", base, srv.DB.Dialect())
	return base, stopAll, nil
}

// runBenchFlashSale runs "nimbus bench flashsale".
func runBenchFlashSale(ctx context.Context, args []string, env Env) error {
	var cfg Config
	fs := flag.NewFlagSet("bench flashsale", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	cfg.bindBench(fs)
	target := fs.String("target", "", "URL of a running Nimbus to measure instead of starting one (its per-address limit must allow one address's buyers); several, comma-separated, for nodes of one database")
	nodes := fs.Int("nodes", 1, "servers the benchmark starts on the one PostgreSQL database (--database-url), each a node of its own; the buyers are spread over them")
	buyers := fs.Int("buyers", 2000, "concurrent buyers, each a distinct customer")
	stock := fs.Int64("stock", 10000, "units in the sale (the product's whole stock)")
	perCustomer := fs.Int64("per-customer", 0, "the sale's limit per customer (default: enough to ask for twice the stock)")
	inFlight := fs.Int("in-flight", flashsale.DefaultInFlight(db.SQLite), "buys of the sale the started servers work on at once, together (their --flash-sale-in-flight; default with --database-url: "+
		strconv.Itoa(flashsale.DefaultInFlight(db.Postgres))+")")
	wait := fs.Duration("wait", flashsale.DefaultTargetWait, "how long a buy should take on average in the started servers (their --flash-sale-wait; 0: the in-flight bound stays put, no line)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole process (server and load) while the buyers run to this file")
	timeline := fs.Bool("timeline", false, "print, for each quarter second of the sale, the orders acknowledged, the buys turned away, the CPU this process used and the p99 latency of what was sent in it: buys ordered, buys turned away and another store's page")
	watchers := fs.Int("watchers", 0, "shoppers with the sale's page open, each asking for the sale's JSON every 2 s as the page does")
	if err := parse(fs, args, env.Getenv); err != nil {
		return err
	}
	if *buyers < 1 || *stock < 1 || *inFlight < 1 || *watchers < 0 || *nodes < 1 || *wait < 0 {
		return errors.New("--buyers, --stock, --in-flight and --nodes must be positive, --watchers and --wait not negative")
	}
	if *nodes > 1 && (cfg.DatabaseURL == "" || *target != "") {
		return errors.New("--nodes above 1 must come with --database-url and without --target: the nodes share a PostgreSQL database (SQLite is served by one process)")
	}
	var urls []string
	for u := range strings.SplitSeq(*target, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	if *target != "" && len(urls) == 0 {
		return errors.New("--target must name a server: a URL, or several separated by commas")
	}
	for i := range *nodes {
		if *target != "" {
			break
		}
		// Every buyer comes from 127.0.0.1: the per-address limit, which
		// guards a real sale against one client, would stop the benchmark's
		// crowd. The per-customer limit stays on.
		url, stop, err := startBenchServer(ctx, cfg, env, i == 0, func(c *Config) {
			c.FlashSale.PerIP, c.FlashSale.TargetWait = 0, *wait
			if given(fs, "in-flight") { // else the server's default for its backend
				c.FlashSale.InFlightPerSale = *inFlight
			}
		})
		if err != nil {
			return err
		}
		defer stop()
		urls = append(urls, url)
	}
	// The probe skips a store that does not exist (a target without the demo store).
	opts := bench.FlashSaleOptions{BaseURL: urls[0], Nodes: urls[1:], Buyers: *buyers, Stock: *stock, PerCustomer: *perCustomer, OtherStore: demoHandle,
		Out: env.Stdout, Timeline: *timeline, Watchers: *watchers}
	if exe, err := os.Executable(); err == nil { // else the page is asked from here
		opts.PageProbe = []string{exe, "bench", "page-probe"}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		opts.DuringSale = func() func() {
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintln(env.Stderr, "cpu profile:", err)
				return func() {}
			}
			return pprof.StopCPUProfile
		}
	}
	res, err := bench.FlashSale(ctx, opts)
	if err != nil {
		return err
	}
	res.Print(env.Stdout)
	if !res.Passed() {
		return errors.New("audit failed: oversold, lost or duplicated orders, or the stock ledger is inconsistent")
	}
	return nil
}
