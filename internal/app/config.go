package app

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/flashsale"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// Config is everything a Nimbus process is told at start-up. Every field
// has a flag and an environment twin: --data-dir and NIMBUS_DATA_DIR. A
// flag given on the command line wins over the environment. For secrets, a
// NAME_FILE variable (NIMBUS_DATABASE_URL_FILE) names a file to read instead.
type Config struct {
	Addr            string
	DataDir         string
	DatabaseURL     string
	LogFormat       string
	LogLevel        string
	Demo            bool
	SecureCookies   bool
	ThemeDir        string
	MaxWrites       int
	FlashSale       flashsale.Burst
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
	// Now, if set, is the clock the database's transactions read (a test
	// that moves time sets it before anything runs); nil: the system's.
	Now func() time.Time
}

// bindCommon declares the flags every command shares (the database).
func (c *Config) bindCommon(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", "./nimbus-data", "directory of the embedded SQLite database (used when no --database-url)")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://user@host/db); empty means embedded SQLite")
	fs.StringVar(&c.LogFormat, "log-format", "auto", "log format: json, text, or auto (text on a terminal, json otherwise)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
}

// bindServe declares the flags of the server.
func (c *Config) bindServe(fs *flag.FlagSet) {
	c.bindCommon(fs)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.BoolVar(&c.Demo, "demo", false, "seed a demo store (once) and print how to sign in")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", false, "mark cookies Secure (set when clients reach Nimbus over HTTPS, for example behind a TLS load balancer)")
	fs.StringVar(&c.ThemeDir, "theme-dir", "", "directory of storefront templates (templates/*.html) and static files (static/*) that replace the built-in ones")
	fs.IntVar(&c.MaxWrites, "max-writes-in-flight", 1024, "writes (POST, PATCH, DELETE) served at once; past it a write gets 503 with Retry-After at once (0: no bound)")
	fs.IntVar(&c.FlashSale.InFlightPerSale, "flash-sale-in-flight", flashsale.DefaultInFlight(db.SQLite), "buys of one flash sale served at once by all the nodes on the database together, each node its share (all sales together: at most three quarters of this node's --max-writes-in-flight, so that other writes still get in); past it a buy gets 429 with Retry-After at once, or once it has waited in the sale's line (--flash-sale-wait) (default with --database-url: "+strconv.Itoa(flashsale.DefaultInFlight(db.Postgres))+")")
	fs.DurationVar(&c.FlashSale.TargetWait, "flash-sale-wait", flashsale.DefaultTargetWait, "how long a flash sale's buy should take on average: each node's bound on the sale's buys in flight moves between half and twice its share of --flash-sale-in-flight to keep to it, and past it a buy waits in line a quarter of this for a place (0: the bound stays put, no line)")
	fs.Float64Var(&c.FlashSale.PerIP, "flash-sale-ip-rate", 20, "flash sale buys per second allowed from one client address, with bursts of twice as many (0: no limit)")
	fs.Float64Var(&c.FlashSale.PerCustomer, "flash-sale-customer-rate", 5, "flash sale buys per second allowed for one customer, with bursts of twice as many (0: no limit)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body accepted, in bytes")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long to let in-flight requests finish on shutdown")
}

// envName returns the environment twin of a flag: data-dir -> NIMBUS_DATA_DIR.
func envName(flagName string) string {
	return "NIMBUS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse parses args, then fills each flag not given on the command line
// from its environment twin (or the file its _FILE twin names).
func parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: nimbus %s [flags]\n\nFlags (each also read from the environment variable shown):\n", fs.Name())
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(fs.Output(), "  --%s  [%s]\n      %s%s\n", f.Name, envName(f.Name), f.Usage, def)
		})
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := envName(f.Name)
		v := getenv(name)
		if file := getenv(name + "_FILE"); v == "" && file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
				return
			}
			v = strings.TrimSpace(string(b))
		}
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil { // counted as given, as on the command line
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	})
	return errors.Join(errs...)
}

// given reports whether a flag was set, on the command line or from the
// environment.
func given(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// backendDefaults fills in the defaults that depend on the database: a
// flag's default is SQLite's, and with --database-url the ones not given
// take PostgreSQL's.
func (c *Config) backendDefaults(fs *flag.FlagSet) {
	if c.DatabaseURL != "" && fs.Lookup("flash-sale-in-flight") != nil && !given(fs, "flash-sale-in-flight") {
		c.FlashSale.InFlightPerSale = flashsale.DefaultInFlight(db.Postgres)
	}
}

// validate checks the config as a whole.
func (c *Config) validate() error {
	var errs []error
	switch c.LogFormat {
	case "auto", "json", "text":
	default:
		errs = append(errs, fmt.Errorf("--log-format must be auto, json or text, not %q", c.LogFormat))
	}
	if c.Addr != "" && c.MaxBodyBytes < 1024 { // serve only
		errs = append(errs, errors.New("--max-body-bytes must be at least 1024"))
	}
	if c.Addr != "" && c.FlashSale.InFlightPerSale < 1 {
		errs = append(errs, errors.New("--flash-sale-in-flight must be at least 1"))
	}
	if c.FlashSale.TargetWait < 0 {
		errs = append(errs, errors.New("--flash-sale-wait must be 0 (a fixed bound) or more"))
	}
	if c.FlashSale.PerIP < 0 || c.FlashSale.PerCustomer < 0 {
		errs = append(errs, errors.New("--flash-sale-ip-rate and --flash-sale-customer-rate must be 0 (no limit) or more"))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", c.LogLevel))
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir or --database-url is required"))
	}
	if c.DatabaseURL == "" && strings.ContainsAny(c.DataDir, "?#") {
		// The SQLite driver takes its file name from a URI, where these
		// start the query and the fragment.
		errs = append(errs, fmt.Errorf("--data-dir must not contain '?' or '#': %q", c.DataDir))
	}
	return errors.Join(errs...)
}
