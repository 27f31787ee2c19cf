package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/nimbuscommerce/nimbus/internal/app"
	"github.com/nimbuscommerce/nimbus/internal/flashsale"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

// testServer is a whole Nimbus node on a loopback port with a fresh database.
type testServer struct {
	*app.Server
	URL string
}

// forEachBackend runs f against a fresh server on SQLite, and on PostgreSQL
// when NIMBUS_TEST_POSTGRES_URL is set.
func forEachBackend(t *testing.T, f func(t *testing.T, s *testServer)) {
	t.Helper()
	forEachBackendWith(t, app.Config{}, f)
}

// forEachBackendWith is forEachBackend with a server configured as cfg
// (its database settings are the backend's). The backends run side by
// side: each has its own server and database, and a test mostly waits on
// its database, so the suite takes about the time of the slower one.
func forEachBackendWith(t *testing.T, cfg app.Config, f func(t *testing.T, s *testServer)) {
	t.Helper()
	for _, b := range dbtest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			c := cfg
			c.DataDir, c.DatabaseURL = b.Config.DataDir, b.Config.URL
			f(t, startServer(t, c))
		})
	}
}

func startServer(t *testing.T, cfg app.Config) *testServer {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 5e9
	}
	if cfg.MaxWrites == 0 {
		cfg.MaxWrites = 1024 // as served (the flag's default): every test goes through write admission
	}
	if cfg.FlashSale.TargetWait == 0 {
		cfg.FlashSale.TargetWait = flashsale.DefaultTargetWait // as served: sales are paced (below 0: a fixed bound)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := app.NewServer(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	ts := &testServer{Server: srv, URL: "http://" + srv.Addr()}
	waitReady(t, ts.URL, done)
	return ts
}

// testWriter sends server logs to the test log, shown only on failure.
type testWriter struct{ t *testing.T }

var logMu sync.Mutex

func (w testWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// client is an API caller: anonymous, with an API key, or with a session
// cookie and its CSRF token.
type client struct {
	t    *testing.T
	base string
	http *http.Client
	key  string
	csrf string
}

func (s *testServer) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	// Its own connections, closed before the server shuts down: a
	// connection dialed for a burst but never used would otherwise hold
	// the shutdown for the 5 s net/http gives a new connection.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, base: s.URL, http: &http.Client{Jar: jar, Transport: tr}}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request. body may be nil, a string (sent as is) or a value
// (sent as JSON). headers are name, value pairs. It fails the test on a
// transport error, so it must run on the test's goroutine; goroutines use send.
func (c *client) do(method, path string, body any, headers ...string) *response {
	c.t.Helper()
	r, err := c.send(method, path, body, headers...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// send is do for other goroutines: a transport error comes back as a
// response with status 0 and the error as its body, for the test to report.
func (c *client) send(method, path string, body any, headers ...string) (*response, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		return &response{Body: []byte(err.Error())}, nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return &response{Body: []byte(err.Error())}, nil
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// must checks the status and decodes the body into v (if not nil).
func (r *response) must(t *testing.T, status int, v any) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, status, r.Body)
	}
	if v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			t.Fatalf("decode %s: %v", r.Body, err)
		}
	}
	return r
}

// problem is the problem+json body every error has.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// mustProblem checks that r is a problem+json with the status and code.
func (r *response) mustProblem(t *testing.T, status int, code string) problem {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body: %s", ct, r.Body)
	}
	var p problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("decode problem %s: %v", r.Body, err)
	}
	if p.Code != code || p.Status != status || p.Detail == "" || p.RequestID == "" {
		t.Fatalf("problem = %+v, want code %q status %d with detail and request id", p, code, status)
	}
	return p
}

// code is the code of a problem answer, or "" for any other answer.
func (r *response) code() string {
	var p problem
	_ = json.Unmarshal(r.Body, &p) // not a problem: no code
	return p.Code
}

// hasField reports whether the problem names field.
func (p problem) hasField(field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

type merchant struct {
	StoreID  string
	Handle   string
	OwnerID  string
	Email    string
	Password string
	Owner    *client // signed in with an owner API key
	Session  *client // the owner's browser session, which alone may create API keys
}

type signupResponse struct {
	Store struct {
		ID       string `json:"id"`
		Handle   string `json:"handle"`
		Name     string `json:"name"`
		Currency string `json:"currency"`
		TimeZone string `json:"time_zone"`
	} `json:"store"`
	Owner struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Role  string `json:"role"`
	} `json:"owner"`
}

func signupBody(handle, email string) map[string]any {
	return map[string]any{
		"store_name": "Store " + handle, "handle": handle, "currency": "USD", "time_zone": "Asia/Shanghai",
		"owner": map[string]any{"email": email, "name": "Owner", "password": "correct horse battery"},
	}
}

// signup creates a merchant and returns it with an owner API key client.
func (s *testServer) signup(t *testing.T, handle string) *merchant {
	t.Helper()
	email := "owner@" + handle + ".example.com"
	var sr signupResponse
	s.client(t).do("POST", "/api/v1/signup", signupBody(handle, email)).must(t, http.StatusCreated, &sr)
	m := &merchant{StoreID: sr.Store.ID, Handle: handle, OwnerID: sr.Owner.ID, Email: email, Password: "correct horse battery"}
	sess := s.login(t, handle, email, m.Password)
	var key struct {
		Key string `json:"key"`
	}
	sess.do("POST", "/api/v1/api-keys", map[string]any{"name": "tests"}).must(t, http.StatusCreated, &key)
	m.Owner = s.client(t)
	m.Owner.key = key.Key
	m.Session = sess
	return m
}

// login signs in and returns a client holding the session cookie and CSRF token.
func (s *testServer) login(t *testing.T, store, email, password string) *client {
	t.Helper()
	c := s.client(t)
	var res struct {
		CSRFToken string `json:"csrf_token"`
	}
	c.do("POST", "/api/v1/auth/login", map[string]any{"store": store, "email": email, "password": password}).
		must(t, http.StatusOK, &res)
	if res.CSRFToken == "" {
		t.Fatal("login returned no csrf_token")
	}
	c.csrf = res.CSRFToken
	return c
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// defaultConfig is a server on SQLite in a temporary directory.
func defaultConfig(t *testing.T) app.Config {
	return app.Config{DataDir: t.TempDir()}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
