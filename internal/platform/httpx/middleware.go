package httpx

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/nimbuscommerce/nimbus"
)

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// Chain applies middleware so that the first one listed is the outermost.
func Chain(h http.Handler, mws ...Middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

type loggerContextKey struct{}

// requestLogger makes a request's logger when something is logged: slog's
// With formats its attributes at once, and most requests log nothing (a
// tenth of a buy's own CPU in a flash sale when it ran for each).
type requestLogger struct {
	base *slog.Logger
	id   string
	once sync.Once
	l    *slog.Logger
}

func (rl *requestLogger) logger() *slog.Logger {
	rl.once.Do(func() { rl.l = rl.base.With("request_id", rl.id) })
	return rl.l
}

// Logger returns the request's logger (with its request id), or the default.
func Logger(ctx context.Context) *slog.Logger {
	if rl, ok := ctx.Value(loggerContextKey{}).(*requestLogger); ok {
		return rl.logger()
	}
	return slog.Default()
}

// loggerEnabled reports whether the request's logger writes at level.
func loggerEnabled(ctx context.Context, level slog.Level) bool {
	if rl, ok := ctx.Value(loggerContextKey{}).(*requestLogger); ok {
		return rl.base.Enabled(ctx, level)
	}
	return slog.Default().Enabled(ctx, level)
}

type routeContextKey struct{}

// Route finds each request's route pattern once, before it is served, with
// find (a ServeMux's Handler), for Pattern: the metrics, the idempotency
// middleware and a flash sale's admission each routed the request again,
// as much work each time as the routing that serves it.
func Route(find func(*http.Request) string) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeContextKey{}, find(r))))
		})
	}
}

// Pattern returns the request's route pattern as Route found it: "" for a
// request no route matches, or one Route did not see.
func Pattern(r *http.Request) string {
	p, _ := r.Context().Value(routeContextKey{}).(string)
	return p
}

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

var requestIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// RequestID gives every request an id, reusing a sane one from a trusted
// proxy's header, and puts it in the response, the context and the logger.
func RequestID(logger *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(RequestIDHeader)
			if !validRequestID(id) {
				var b [10]byte
				rand.Read(b[:])
				id = requestIDEncoding.EncodeToString(b[:])
			}
			w.Header().Set(RequestIDHeader, id)
			ctx := nimbus.NewContextWithRequestID(r.Context(), id)
			ctx = context.WithValue(ctx, loggerContextKey{}, &requestLogger{base: logger, id: id})
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// validRequestID accepts short ids of safe characters only, so a client
// cannot inject anything into logs through the header.
func validRequestID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Recover turns a panic in a handler into a logged 500 problem, so one bad
// request cannot take the process down.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			Logger(r.Context()).Error("panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			WriteProblem(w, r, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (flush, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// Log writes one line per request. It never logs headers or bodies, which
// may carry passwords, cookies or keys.
func Log(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		if rec.code() >= 500 {
			level = slog.LevelError
		}
		if !loggerEnabled(r.Context(), level) {
			return
		}
		Logger(r.Context()).Log(r.Context(), level, "request",
			"method", r.Method,
			"path", r.URL.Path,
			"route", Pattern(r),
			"status", rec.code(),
			"bytes", rec.bytes,
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
		)
	})
}

// LimitBody caps request bodies; a bigger body fails to read with
// *http.MaxBytesError, which the API reports as 413.
func LimitBody(limit int64) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				WriteProblem(w, r, &nimbus.Error{Code: nimbus.ETOOLARGE, Message: fmt.Sprintf("request body is over %d bytes", limit)})
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			next.ServeHTTP(w, r)
		})
	}
}

// SecureHeaders sets the headers every response should carry.
func SecureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// NoStore marks every JSON API response uncacheable: they hold tenant data
// and, at times, secrets (a new API key), which no browser or proxy cache
// should keep.
func NoStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// InFlight counts the handlers that are running, so that shutdown can wait
// for them before it closes what they use: http.Server.Close closes
// connections but does not wait for their handlers to return.
type InFlight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n == 0
}

// Middleware counts the requests it passes on while they run.
func (f *InFlight) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if f.n == 0 {
			f.idle = make(chan struct{})
		}
		f.n++
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.n--
			if f.n == 0 {
				close(f.idle)
			}
			f.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

// Wait returns when no handler is running, or with ctx's error when ctx
// ends first.
func (f *InFlight) Wait(ctx context.Context) error {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return nil
	}
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
