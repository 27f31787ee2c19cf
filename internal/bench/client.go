// Package bench drives a Nimbus server over HTTP the way shoppers and staff
// do, and measures it. The programs are run by "nimbus bench ..."; their
// figures go into BENCHMARKS.md.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
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
