package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/catalog"
	"github.com/nimbuscommerce/nimbus/internal/checkout"
	"github.com/nimbuscommerce/nimbus/internal/customer"
	"github.com/nimbuscommerce/nimbus/internal/flashsale"
	"github.com/nimbuscommerce/nimbus/internal/identity"
	"github.com/nimbuscommerce/nimbus/internal/inventory"
	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/payment"
	"github.com/nimbuscommerce/nimbus/internal/platform/cluster"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
	"github.com/nimbuscommerce/nimbus/internal/platform/jobs"
	"github.com/nimbuscommerce/nimbus/internal/pricing"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
	"github.com/nimbuscommerce/nimbus/internal/web"
)

// Server is a running Nimbus node: its database, services and HTTP server.
type Server struct {
	DB         *db.DB
	Identity   *identity.Service
	Tenants    *tenant.Service
	Catalog    *catalog.Service
	Inventory  *inventory.Service
	Pricing    *pricing.Service
	Orders     *order.Service
	Checkout   *checkout.Service
	Customers  *customer.Service
	FlashSales *flashsale.Service

	// Jobs is the background job queue (River).
	Jobs *jobs.Queue
	// Cluster counts the nodes serving the database.
	Cluster *cluster.Presence

	cfg         Config
	logger      *slog.Logger
	http        *http.Server
	ln          net.Listener
	idempotency *httpx.Idempotency
	storefront  *web.Storefront
	console     *web.Console

	// inFlight counts running handlers; cancelRequests ends the context of
	// every request, for when the drain deadline has passed.
	inFlight       httpx.InFlight
	cancelRequests context.CancelFunc
}

// maxExitTimeout bounds how long shutdown waits, after the drain deadline
// has passed and their contexts are cancelled, for handlers and jobs to
// return before the database closes under them. A shorter
// --shutdown-timeout shortens it too.
const maxExitTimeout = 5 * time.Second

// openDB opens the database and applies Nimbus's and River's migrations.
func openDB(ctx context.Context, cfg Config, logger *slog.Logger) (*db.DB, error) {
	return db.Open(ctx, db.Config{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: logger,
		AlsoMigrate: func(ctx context.Context, d *db.DB) error { return jobs.Migrate(ctx, d, logger) }})
}

// NewServer opens the database (applying migrations) and builds every
// service and route. It does not listen yet.
func NewServer(ctx context.Context, cfg Config, logger *slog.Logger) (*Server, error) {
	d, err := openDB(ctx, cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if cfg.Now != nil {
		d.Now = cfg.Now
	}
	s := &Server{
		DB:          d,
		Identity:    identity.NewService(d, identity.DefaultPasswordParams),
		Tenants:     &tenant.Service{DB: d},
		cfg:         cfg,
		logger:      logger,
		idempotency: &httpx.Idempotency{DB: d},
	}
	s.Catalog = &catalog.Service{DB: d}
	s.Inventory = &inventory.Service{DB: d}
	s.Pricing = &pricing.Service{DB: d}
	s.Orders = &order.Service{DB: d, Providers: payment.Providers{
		"test":   payment.TestProvider{},
		"manual": payment.ManualProvider{},
	}}
	burst := cfg.FlashSale
	if burst.Ramp == 0 {
		burst.Ramp = flashsale.DefaultRamp(d.Dialect())
	}
	if cfg.MaxWrites > 0 {
		// Sales running together keep a quarter of the write slots free.
		burst.InFlightAllSales = cfg.MaxWrites * 3 / 4
	}
	s.Cluster = &cluster.Presence{DB: d, Logger: logger}
	s.FlashSales = &flashsale.Service{DB: d, Tenants: s.Tenants, Orders: s.Orders, Burst: burst, Nodes: s.Cluster.Nodes,
		Metrics: flashsale.NewMetrics()}
	s.Orders.OnCancel = append(s.Orders.OnCancel, s.FlashSales.GiveBack)
	s.Checkout = &checkout.Service{DB: d, Tenants: s.Tenants, Orders: s.Orders}
	s.Customers = &customer.Service{DB: d, Passwords: s.Identity}
	s.storefront = &web.Storefront{Tenants: s.Tenants, Catalog: s.Catalog, Inventory: s.Inventory, Checkout: s.Checkout,
		Orders: s.Orders, Customers: s.Customers, FlashSales: s.FlashSales, SecureCookies: cfg.SecureCookies, ThemeDir: cfg.ThemeDir, Logger: logger}
	s.console = &web.Console{Identity: s.Identity, Tenants: s.Tenants, Catalog: s.Catalog, Inventory: s.Inventory, Orders: s.Orders,
		Customers: s.Customers, Pricing: s.Pricing, FlashSales: s.FlashSales, Once: s.idempotency,
		SecureCookies: cfg.SecureCookies, Logger: logger, StaticURL: s.storefront.StaticURL}
	if err := errors.Join(s.storefront.Init(), s.console.Init()); err != nil {
		d.Close()
		return nil, fmt.Errorf("web templates: %w", err)
	}
	s.Jobs, err = jobs.New(d, jobs.Config{
		Register: func(w *river.Workers) {
			river.AddWorker(w, &purgeExpiredWorker{db: d, identity: s.Identity, customers: s.Customers, idempotency: s.idempotency,
				logger: logger})
			river.AddWorker(w, &order.ExpireReservationsWorker{Orders: s.Orders, Logger: logger})
		},
		Periodic: []*river.PeriodicJob{purgeExpiredJob(), order.ExpireReservationsJob()},
		Logger:   logger,
	})
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("job queue: %w", err)
	}
	requestsCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	s.cancelRequests = cancelRequests
	s.http = &http.Server{
		Handler:           s.routes(),
		BaseContext:       func(net.Listener) context.Context { return requestsCtx },
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// routes declares every route of the node and wraps them in middleware, in
// the order the architecture gives: in-flight count, recover, request id,
// logging, metrics, headers, limits, authentication, idempotency, then each
// route's own authorization.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	metrics := httpx.NewMetrics()
	for name, pool := range s.DB.Pools() {
		metrics.Registry.MustRegister(collectors.NewDBStatsCollector(pool, name))
	}
	metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nimbus_cluster_nodes",
		Help: "Nodes serving this node's database, itself included, as of its last heartbeat.",
	}, func() float64 { return float64(s.Cluster.Nodes()) }))
	metrics.Registry.MustRegister(s.FlashSales.Metrics.Collectors(s.FlashSales)...)

	api := httpx.NewAPI(mux, Version(), s.cfg.MaxBodyBytes)
	identity.RegisterAPI(api, s.Identity, s.Tenants, s.cfg.SecureCookies)
	tenant.RegisterAPI(api, s.Tenants)
	catalog.RegisterAPI(api, s.Catalog, s.Inventory, s.Tenants)
	catalog.RegisterStorefrontAPI(api, s.Catalog, s.Tenants, s.Inventory, s.Tenants)
	inventory.RegisterAPI(api, s.Inventory)
	pricing.RegisterAPI(api, s.Pricing)
	flashsale.RegisterAPI(api, s.FlashSales)
	flashsale.RegisterStorefrontAPI(api, s.FlashSales, s.Tenants, s.Customers)
	order.RegisterAPI(api, s.Orders)
	order.RegisterStorefrontAPI(api, s.Orders, s.Tenants)
	checkout.RegisterStorefrontAPI(api, s.Checkout, s.Tenants, s.Customers)
	customer.RegisterAPI(api, s.Customers)
	customer.RegisterStorefrontAPI(api, s.Customers, s.Tenants, s.Orders)
	mux.HandleFunc(httpx.APIPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteProblem(w, r, nimbus.Errorf(nimbus.ENOTFOUND, "no such API route: %s %s", r.Method, r.URL.Path))
	})

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", metrics.Handler())
	mux.HandleFunc("GET /{$}", s.landing)
	s.storefront.Routes(mux)
	s.console.Routes(mux)

	s.idempotency.Skip = func(r *http.Request) bool { return httpx.Pattern(r) == flashsale.BuyPattern }
	return httpx.Chain(mux,
		s.storefront.Domains, // first: a store's own host name becomes its /s/{handle}/ path
		httpx.Route(func(r *http.Request) string {
			_, pattern := mux.Handler(r)
			return pattern
		}),
		s.inFlight.Middleware,
		httpx.Recover,
		httpx.RequestID(s.logger),
		httpx.Log,
		metrics.Middleware(httpx.Pattern),
		httpx.Recover, // inner recover: a panic is still counted and logged with its status
		httpx.SecureHeaders,
		httpx.NoStore,
		httpx.LimitBody(s.cfg.MaxBodyBytes),
		s.FlashSales.Admission(s.Tenants),              // a sale's buys past its bound take no write slot
		httpx.NewAdmission(s.cfg.MaxWrites).Middleware, // before authentication, which reads the database
		s.Identity.Authenticate,
		s.idempotency.Middleware,
	)
}

// ready answers 200 when the database answers and its schema matches this
// binary, so a load balancer sends traffic only to nodes that can serve it.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.Ping(ctx); err != nil {
		httpx.Logger(ctx).Warn("readiness: database unreachable", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
		return
	}
	current, err := s.DB.MigrationsCurrent(ctx)
	if err != nil || !current {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database schema is not at this version's migrations"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Listen binds the server's address; Addr then tells the real one (useful with port 0).
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves HTTP and runs background work until ctx ends, then shuts
// down in order: stop accepting and drain HTTP, stop background work, close
// the database.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	if err := s.Jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	followCtx, stopFollowing := context.WithCancel(context.WithoutCancel(ctx))
	following := make(chan struct{})
	go func() {
		defer close(following)
		s.FlashSales.FollowGiveBacks(followCtx, s.logger)
	}()
	beatCtx, stopBeating := context.WithCancel(context.WithoutCancel(ctx))
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		s.Cluster.Run(beatCtx)
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- s.http.Serve(s.ln) }()
	s.logger.Info("nimbus is serving", "addr", "http://"+s.Addr(), "database", s.DB.Dialect(), "version", Version())

	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		s.logger.Info("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		err = s.http.Shutdown(shutdownCtx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			// Requests still running past the deadline are told to stop
			// (their contexts end), and their connections are closed.
			s.logger.Warn("requests still running at the shutdown deadline; cancelling them")
			s.cancelRequests()
			s.http.Close()
		}
		<-serveErr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	// Close does not wait for handlers, and a handler may still be using the
	// database: give them a short while to notice their cancelled context.
	s.cancelRequests()
	exitTimeout := min(s.cfg.ShutdownTimeout, maxExitTimeout)
	exitCtx, cancel := context.WithTimeout(context.Background(), exitTimeout)
	if werr := s.inFlight.Wait(exitCtx); werr != nil {
		s.logger.Error("request handlers did not return after cancellation; closing the database under them")
	}
	cancel()
	stopBeating() // drained: the other nodes take this one's share from now on
	<-beating
	// Jobs stop after HTTP has drained (a request may have queued one) and
	// before the database closes. A running job gets the shutdown timeout to
	// finish; after that its context is cancelled, and what it returns is
	// recorded by River like any failure, so the job runs again later under
	// its retry policy (see jobs.Stop).
	stopCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	jerr := jobs.Stop(stopCtx, s.Jobs, exitTimeout)
	cancel()
	switch {
	case errors.Is(jerr, context.DeadlineExceeded):
		s.logger.Error("jobs did not return after cancellation; closing the database under them")
	case jerr != nil:
		err = errors.Join(err, fmt.Errorf("stop jobs: %w", jerr))
	}
	stopFollowing()
	<-following
	if cerr := s.DB.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close database: %w", cerr))
	}
	s.logger.Info("stopped")
	return err
}

// landing is the page at /: where to go from here.
func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	demo := ""
	if _, err := s.Tenants.Resolve(r.Context(), demoHandle); err == nil {
		demo = `<p><a href="/s/` + demoHandle + `/">Visit the demo store</a> · <a href="/admin/">Sign in to its console</a></p>`
	}
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nimbus</title><link rel="icon" href="/static/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/static/store.css"></head><body><main class="wrap"><h1>Nimbus is running</h1>%s
<p>Stores live at <code>/s/{handle}/</code>. The JSON API is at <a href="%s/openapi.json"><code>%s</code></a>.</p></main></body></html>`,
		demo, httpx.APIPrefix, httpx.APIPrefix)
}
