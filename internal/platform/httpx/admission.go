package httpx

import (
	"bytes"
	"io"
	"net/http"
	"strings"

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
		// upload must not hold a slot that finished requests could use. The
		// body limit (an outer middleware) bounds what is read here, and a
		// read error is left for the handler to answer as it would.
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
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

// errReader returns err, or io.EOF when err is nil.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}
