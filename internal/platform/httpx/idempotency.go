package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/secret"
)

// IdempotencyHeader is the request header naming an idempotency key.
const IdempotencyHeader = "Idempotency-Key"

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

// abandonAfter is how long a first request may run before a retry with the
// same key may take its place (the first one's process died mid-request).
const abandonAfter = 2 * time.Minute

// Idempotency gives every POST Stripe's idempotency semantics: the same key
// with the same request replays the stored status and body; the same key with
// another request is refused; a key used while its first request still runs
// gets 409. Keys are scoped to the tenant and credential, stored only as
// hashes, and the stored response is sealed with a key derived from the
// client's key, so a reader of the database cannot see responses (which may
// hold a new API key) without the client's keys.
//
// Anonymous requests (signup, sign-in) have no credential to scope by, so
// their scope is the request itself: only an identical anonymous request
// can meet a stored key, and no one can probe or block the keys of others.
//
// Only successes (below 400) are kept. A 4xx changed nothing, so running the
// request again is safe, and a client that corrects a rejected request may
// retry it with the same key, as Stripe allows after a validation failure; a
// 5xx may be retried too.
type Idempotency struct {
	DB  *db.DB
	TTL time.Duration
	// Skip names the requests that keep their Idempotency-Key themselves,
	// in the transaction that does the work.
	Skip func(*http.Request) bool
}

// storedResponse is what a replay sends back.
type storedResponse struct {
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers"`
	Body    []byte              `json:"body"`
}

// replayedHeaders are the response headers a replay repeats.
var replayedHeaders = []string{"Content-Type", "Location", "Set-Cookie", "Cache-Control", "Content-Language", "Content-Security-Policy"}

// Middleware applies idempotency to POST requests that carry the header.
// It must run after authentication, which sets the scope.
func (m *Idempotency) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(IdempotencyHeader)
		if r.Method != http.MethodPost || key == "" || (m.Skip != nil && m.Skip(r)) {
			next.ServeHTTP(w, r)
			return
		}
		if bad := CheckIdempotencyKey(key); bad != nil {
			WriteProblem(w, r, nimbus.Invalid(*bad))
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				WriteProblem(w, r, &nimbus.Error{Code: nimbus.ETOOLARGE, Message: "request body is too large"})
				return
			}
			WriteProblem(w, r, nimbus.Errorf(nimbus.EMALFORMED, "could not read the request body"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := m.serve(w, r, key, requestHash(r, body), 0, next); err != nil {
			WriteProblem(w, r, err)
		}
	})
}

// Form runs a form post once per key, for forms that carry a key of their
// own (the console's hidden field "once"): a second click of a form's
// button replays the answer to the first instead of doing the work again.
// A browser shows only the answer to the last click, so a post that
// arrives while the first one with its key still runs waits up to
// formWait for it and replays its answer (or, if the first failed, runs
// itself). The request is the form's fields, in their encoded order; next
// runs on a context that the client's leaving does not cancel. An error
// means next did not run and nothing was written.
func (m *Idempotency) Form(w http.ResponseWriter, r *http.Request, key string, next http.Handler) error {
	if bad := CheckIdempotencyKey(key); bad != nil {
		return nimbus.Invalid(*bad)
	}
	if err := r.ParseForm(); err != nil {
		return nimbus.Errorf(nimbus.EMALFORMED, "could not read the form")
	}
	// The work runs to its end even if the browser drops the post (a second
	// click does): its answer is then kept for the click that waits for it.
	detached := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
	})
	return m.serve(w, r, key, requestHash(r, []byte(r.PostForm.Encode())), formWait, detached)
}

// formWait bounds how long a form post waits for the first post with its
// key, polling every formPoll.
const (
	formWait = 10 * time.Second
	formPoll = 50 * time.Millisecond
)

// serve runs next once for key, or replays the response stored for it.
// A key in use is refused, or waited for up to wait.
func (m *Idempotency) serve(w http.ResponseWriter, r *http.Request, key string, reqHash []byte, wait time.Duration, next http.Handler) error {
	scope := "public/" + hex.EncodeToString(reqHash[:16])
	if p := nimbus.PrincipalFromContext(r.Context()); p != nil {
		scope = p.TenantID + "/" + p.CredentialID
	}
	keyHash := sha256.Sum256([]byte(scope + "\x00" + key))

	replay, err := m.begin(r.Context(), scope, keyHash[:], reqHash)
	for deadline := time.Now().Add(wait); nimbus.ErrorCode(err) == nimbus.EIDEMPOTENCYBUSY && time.Now().Before(deadline); {
		select {
		case <-time.After(formPoll):
		case <-r.Context().Done():
			return r.Context().Err()
		}
		replay, err = m.begin(r.Context(), scope, keyHash[:], reqHash)
	}
	if err != nil {
		return err
	}
	if replay != nil {
		resp, err := unseal(key, scope, replay)
		if err != nil {
			return fmt.Errorf("unseal idempotent response: %w", err)
		}
		for name, values := range resp.Headers {
			w.Header()[name] = values
		}
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
		return nil
	}

	rec := &responseCapture{ResponseWriter: w}
	completed := false
	defer func() {
		if !completed { // the handler panicked: free the key for a retry
			m.forget(context.WithoutCancel(r.Context()), scope, keyHash[:])
		}
	}()
	next.ServeHTTP(rec, r)
	completed = true
	ctx := context.WithoutCancel(r.Context())
	if rec.code() >= 400 {
		m.forget(ctx, scope, keyHash[:])
		return nil
	}
	resp := storedResponse{Status: rec.code(), Headers: map[string][]string{}, Body: rec.body.Bytes()}
	for _, h := range replayedHeaders {
		if v := rec.Header().Values(h); len(v) > 0 {
			resp.Headers[h] = v
		}
	}
	if err := m.finish(ctx, scope, keyHash[:], seal(key, scope, resp), resp.Status); err != nil {
		// The response is already sent; the key stays "in progress" until
		// abandonAfter, after which a retry runs again.
		Logger(ctx).Error("store idempotent response", "err", err)
	}
	return nil
}

// requestHash identifies "the same request": method, path, query and body.
func requestHash(r *http.Request, body []byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", r.Method, r.URL.Path, r.URL.RawQuery)
	h.Write(body)
	return h.Sum(nil)
}

// begin claims the key, or returns the sealed response to replay, or an
// error when the key is in use or was used for another request.
func (m *Idempotency) begin(ctx context.Context, scope string, keyHash, reqHash []byte) (replay []byte, err error) {
	ttl := m.TTL
	if ttl == 0 {
		ttl = IdempotencyTTL
	}
	err = m.DB.Update(ctx, func(tx *db.Tx) error {
		var storedReq, sealed []byte
		var status int
		var createdAt, expiresAt time.Time
		err := tx.QueryRow(ctx, `SELECT request_hash, status, sealed_response, created_at, expires_at
			FROM idempotency_keys WHERE scope = ? AND key_hash = ?`, scope, keyHash).
			Scan(&storedReq, &status, &sealed, &createdAt, &expiresAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("find idempotency key: %w", err)
		case !expiresAt.After(tx.Now):
			// expired: forget it and start afresh
		case subtle.ConstantTimeCompare(storedReq, reqHash) != 1:
			return nimbus.Errorf(nimbus.EIDEMPOTENCY, "this Idempotency-Key was already used with a different request")
		case status == 0 && tx.Now.Sub(createdAt) < abandonAfter:
			return nimbus.Errorf(nimbus.EIDEMPOTENCYBUSY, "a request with this Idempotency-Key is still being processed; retry later")
		case status != 0:
			replay = sealed
			return nil
		}
		// Delete the record only if it is still stale when the DELETE runs:
		// on PostgreSQL each statement sees what committed before it, so a
		// record another request claimed since our SELECT must survive, and
		// our INSERT then fails on it.
		if _, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key_hash = ?
			AND (expires_at <= ? OR (status = 0 AND created_at <= ?))`,
			scope, keyHash, tx.Now, tx.Now.Add(-abandonAfter)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO idempotency_keys (scope, key_hash, request_hash, status, created_at, expires_at)
			VALUES (?, ?, ?, 0, ?, ?)`, scope, keyHash, reqHash, tx.Now, tx.Now.Add(ttl))
		if db.IsUniqueViolation(err) { // another node claimed it between our read and write
			return nimbus.Errorf(nimbus.EIDEMPOTENCYBUSY, "a request with this Idempotency-Key is still being processed; retry later")
		}
		return err
	})
	return replay, err
}

func (m *Idempotency) finish(ctx context.Context, scope string, keyHash, sealed []byte, status int) error {
	return m.DB.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET status = ?, sealed_response = ? WHERE scope = ? AND key_hash = ?`,
			status, sealed, scope, keyHash)
		return err
	})
}

// forget frees a key whose request is not to be replayed. Only an
// unfinished record is deleted: never a response another request stored.
func (m *Idempotency) forget(ctx context.Context, scope string, keyHash []byte) {
	err := m.DB.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key_hash = ? AND status = 0`, scope, keyHash)
		return err
	})
	if err != nil {
		Logger(ctx).Error("forget idempotency key", "err", err)
	}
}

// PurgeExpired deletes expired idempotency records, db.PurgeChunk to a
// transaction, and returns how many.
func (m *Idempotency) PurgeExpired(ctx context.Context) (int64, error) {
	return m.DB.Purge(ctx, func(tx *db.Tx) (sql.Result, error) {
		return tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE (scope, key_hash) IN
			(SELECT scope, key_hash FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)`, tx.Now, db.PurgeChunk)
	})
}

// sealPurpose keeps stored responses' keys apart from other sealed data.
const sealPurpose = "nimbus idempotent response v1"

func seal(key, scope string, resp storedResponse) []byte {
	plain, err := json.Marshal(resp)
	if err != nil {
		panic(err) // a struct of strings and bytes always marshals
	}
	return secret.Seal(key, scope, sealPurpose, plain)
}

func unseal(key, scope string, sealed []byte) (*storedResponse, error) {
	plain, err := secret.Open(key, scope, sealPurpose, sealed)
	if err != nil {
		return nil, err
	}
	var resp storedResponse
	if err := json.Unmarshal(plain, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// CheckIdempotencyKey says what is wrong with a key that is not 1 to 255
// printable ASCII characters, or returns nil: the middleware's rule, for
// the requests that keep their key themselves too.
func CheckIdempotencyKey(key string) *nimbus.FieldError {
	if key == "" || len(key) > 255 || !printableASCII(key) {
		return &nimbus.FieldError{Field: "header." + IdempotencyHeader, Message: "must be 1 to 255 printable ASCII characters"}
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// responseCapture passes a response through and keeps a copy of its body.
type responseCapture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *responseCapture) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *responseCapture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}

func (c *responseCapture) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *responseCapture) code() int {
	if c.status == 0 {
		return http.StatusOK
	}
	return c.status
}
