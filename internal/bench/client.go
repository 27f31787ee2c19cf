// Package bench drives a Nimbus server over HTTP the way shoppers and staff
// do, and measures it. The programs are run by "nimbus bench ..."; their
// figures go into BENCHMARKS.md.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// client speaks JSON to one server.
type client struct {
	base string
	http *http.Client
	// auth headers (API key or session cookie and CSRF token)
	headers map[string]string
}

func newClient(base string, conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute}
	return &client{base: base, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, headers: map[string]string{}}
}

// statusError is an answer other than the expected status.
type statusError struct {
	Status int
	Body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("status %d: %s", e.Status, e.Body) }

// call sends a JSON request, checks the status and decodes the answer into out.
func (c *client) call(ctx context.Context, method, path string, body any, want int, out any, headers ...string) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return &statusError{Status: res.StatusCode, Body: string(b)}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// signIn signs in as staff and keeps the session cookie and CSRF token.
func (c *client) signIn(ctx context.Context, store, email, password string) error {
	body, _ := json.Marshal(map[string]string{"store": store, "email": email, "password": password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/auth/login", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return &statusError{Status: res.StatusCode, Body: string(b)}
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return err
	}
	for _, ck := range res.Cookies() {
		if ck.Name == "nimbus_session" {
			c.headers["Cookie"] = ck.Name + "=" + ck.Value
		}
	}
	c.headers["X-CSRF-Token"] = out.CSRFToken
	return nil
}

// randomInt returns a number in [0, n).
func randomInt(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return rand.Int64N(n)
}

// doer sends one HTTP request: an *http.Client, or a conn.
type doer interface {
	Do(*http.Request) (*http.Response, error)
}

// conn sends requests one after another on a single kept-alive connection,
// with net/http's request writer and response parser but without a
// Transport: a Transport gives every connection two goroutines and a pool
// to go through, and for thousands of buyers on the two cores being
// measured that cost is the load generator's, not the server's. A conn is
// used by one goroutine; it dials again after any failure.
type conn struct {
	addr string // host:port
	c    net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

// Do sends req and reads the answer's head; closing the body reads it to
// its end, so the connection is ready for the next request (or drops the
// connection if that fails or the server asked to close). A request that
// fails on a connection opened before it (the server may have closed an
// idle one meanwhile) is sent once more on a new connection, as net/http's
// Transport does for a request with an Idempotency-Key.
func (c *conn) Do(req *http.Request) (*http.Response, error) {
	reused := c.c != nil
	res, err := c.roundTrip(req)
	if err != nil && reused && req.GetBody != nil && req.Context().Err() == nil {
		if req.Body, err = req.GetBody(); err == nil {
			res, err = c.roundTrip(req)
		}
	}
	return res, err
}

func (c *conn) roundTrip(req *http.Request) (*http.Response, error) {
	if err := c.dial(req.Context()); err != nil {
		return nil, err
	}
	deadline, ok := req.Context().Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	c.c.SetDeadline(deadline)
	stop := context.AfterFunc(req.Context(), func() { c.c.SetDeadline(time.Now()) })
	defer stop()
	err := req.Write(c.w)
	if err == nil {
		err = c.w.Flush()
	}
	var res *http.Response
	if err == nil {
		res, err = http.ReadResponse(c.r, req)
	}
	if err != nil {
		c.close()
		return nil, err
	}
	res.Body = &drained{ReadCloser: res.Body, c: c, last: res.Close}
	return res, nil
}

// dial connects, unless the connection is open.
func (c *conn) dial(ctx context.Context) error {
	if c.c != nil {
		return nil
	}
	nc, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	c.c, c.r, c.w = nc, bufio.NewReader(nc), bufio.NewWriter(nc)
	return nil
}

// close drops the connection, if there is one.
func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// drained is an answer's body that, closed, reads what is left of it, and
// drops the connection if that fails or the answer was the connection's
// last ("Connection: close").
type drained struct {
	io.ReadCloser
	c    *conn
	last bool
}

func (b *drained) Close() error {
	_, err := io.Copy(io.Discard, b.ReadCloser)
	if cerr := b.ReadCloser.Close(); err == nil {
		err = cerr
	}
	if err != nil || b.last {
		b.c.close()
	}
	return err
}
