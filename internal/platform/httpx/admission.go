package httpx

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus"
)

// Admission bounds the writes (unsafe requests) one node works on at once.
// Past the bound a write is answered at once with 503 and Retry-After
// instead of joining a queue that only grows: under a burst, clients get a
// quick "try again" while the requests already admitted finish in time,
// and reads (browsing the store) are never held back by it.
type Admission struct {
	slots chan struct{}
}

// NewAdmission admits up to limit writes at once; limit < 1 admits all.
func NewAdmission(limit int) *Admission {
	if limit < 1 {
		return &Admission{}
	}
	return &Admission{slots: make(chan struct{}, limit)}
}

// errBusy is the answer to a write over the bound.
var errBusy = nimbus.Errorf(nimbus.EUNAVAILABLE, "the server is busy; please retry in a moment")

// Middleware admits writes while a slot is free and refuses the rest.
func (a *Admission) Middleware(next http.Handler) http.Handler {
	if a.slots == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		// The body is read before a slot is taken: a client trickling its
		// upload must not hold a slot that finished requests could use. A
		// read error is left for the handler to answer as it would.
		_, _ = BufferBody(w, r, 0)
		select {
		case a.slots <- struct{}{}:
			defer func() { <-a.slots }()
			next.ServeHTTP(w, r)
		default:
			if strings.HasPrefix(r.URL.Path, APIPrefix+"/") {
				WriteProblem(w, r, errBusy)
				return
			}
			// A shopper's form post: a page a browser shows, not JSON.
			w.Header().Set("Retry-After", retryAfter(nimbus.EUNAVAILABLE))
			http.Error(w, "The store is very busy right now. Please go back and try again in a moment.", http.StatusServiceUnavailable)
		}
	})
}

// BufferBody reads a request's body into memory, within wait if wait > 0
// (else within the server's own timeouts), and gives the handler a copy
// to read, which ends with the read's error if there was one; it returns
// that error. LimitBody, an outer middleware, bounds what is read. Writes
// are admitted only once their body is in, so that a client trickling its
// upload holds nothing others could use. It returns what was read, too.
func BufferBody(w http.ResponseWriter, r *http.Request, wait time.Duration) ([]byte, error) {
	rc := http.NewResponseController(w)
	if wait > 0 {
		_ = rc.SetReadDeadline(time.Now().Add(wait)) // not every writer can: then the server's own timeout holds
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close() // after a failed read the deadline has passed: nothing left is waited for
	if wait > 0 && err == nil {
		_ = rc.SetReadDeadline(time.Time{})
	}
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
	return body, err
}

// RefuseUnread answers err to a request refused before its body was read,
// without waiting for the body. net/http reads the rest of a body before
// it replies, to keep the connection, for as long as the client takes to
// send it (up to the server's read timeout): a client that sent headers
// and stalled would be answered only then, holding a goroutine and a
// connection meanwhile. Here only what has already arrived is read (a
// small body comes with its headers); if more is due, the connection is
// closed after the answer.
func RefuseUnread(w http.ResponseWriter, r *http.Request, err error) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now()) // the server sets the next request's own
	WriteProblem(w, r, err)
}

// ClientIP is the host of a request's remote address: the connection's,
// never a header a client can set.
func ClientIP(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}

// errReader returns err, or io.EOF when err is nil.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}
