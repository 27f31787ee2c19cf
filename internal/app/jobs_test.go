package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/nimbuscommerce/nimbus/internal/app"
	"github.com/nimbuscommerce/nimbus/internal/customer"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// TestPurgeExpiredJob runs the periodic purge through the real job queue and
// checks that it deletes expired staff and customer sessions and
// idempotency records, more than one transaction's worth of each kind of
// session, and nothing that is still live. Purged store by store, one
// store's purge leaves another's sessions alone.
func TestPurgeExpiredJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		// The purge also runs once as the server starts (once the job
		// queue has a leader: 1-5 s here under -race). Seeded before it
		// has run, the sessions below would be gone before the purges this
		// test makes.
		for deadline := time.Now().Add(30 * time.Second); ; {
			var done int
			err := s.DB.View(ctx, func(tx *db.Tx) error {
				return tx.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = ? AND state = ?`, app.PurgeExpiredArgs{}.Kind(), "completed").Scan(&done)
			})
			if err != nil {
				t.Fatal(err)
			}
			if done > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the start-up purge never completed")
			}
			time.Sleep(50 * time.Millisecond) // polling the job's state
		}
		acme, beta := s.signup(t, "acme"), s.signup(t, "beta")
		s.login(t, "acme", acme.Email, acme.Password) // one live session
		now := time.Now().UTC()
		past := now.Add(-time.Hour)
		// seed gives a store expired staff and customer sessions, and one
		// live customer session.
		seed := func(m *merchant, expiredStaff, expiredCustomer int) {
			t.Helper()
			err := s.DB.TenantUpdate(ctx, m.StoreID, func(tx *db.TenantTx) error {
				var staff []any
				for i := range expiredStaff {
					staff = append(staff, fmt.Sprintf("ses_%s_staff%04d", m.Handle, i), m.StoreID, m.OwnerID,
						[]byte(fmt.Sprintf("%s-staff-%d", m.Handle, i)), past, past)
				}
				if _, err := tx.ExecRows(ctx, `INSERT INTO sessions (id, tenant_id, user_id, token_hash, created_at, expires_at)`,
					"(?, ?, ?, ?, ?, ?)", "", staff); err != nil {
					return err
				}
				shopper, err := customer.EnsureGuest(ctx, tx, "shopper@example.com", "Shopper")
				if err != nil {
					return err
				}
				var sessions []any
				for i := range expiredCustomer + 1 {
					expires := past
					if i == expiredCustomer {
						expires = now.Add(time.Hour) // the one live customer session
					}
					sessions = append(sessions, fmt.Sprintf("ses_%s_customer%04d", m.Handle, i), m.StoreID, shopper,
						[]byte(fmt.Sprintf("%s-customer-%d", m.Handle, i)), past, expires)
				}
				_, err = tx.ExecRows(ctx, `INSERT INTO customer_sessions (id, tenant_id, customer_id, token_hash, created_at, expires_at)`,
					"(?, ?, ?, ?, ?, ?)", "", sessions)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// count returns a store's expired and live staff sessions, then its
		// expired and live customer sessions.
		count := func(m *merchant) (n [4]int) {
			t.Helper()
			err := s.DB.TenantView(ctx, m.StoreID, func(tx *db.TenantTx) error {
				for i, query := range []string{
					`SELECT COUNT(*) FROM sessions WHERE tenant_id = ? AND expires_at <= ?`,
					`SELECT COUNT(*) FROM sessions WHERE tenant_id = ? AND expires_at > ?`,
					`SELECT COUNT(*) FROM customer_sessions WHERE tenant_id = ? AND expires_at <= ?`,
					`SELECT COUNT(*) FROM customer_sessions WHERE tenant_id = ? AND expires_at > ?`,
				} {
					if err := tx.QueryRow(ctx, query, m.StoreID, now).Scan(&n[i]); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		const expiredStaff, expiredCustomer = 1001, 1234
		seed(acme, expiredStaff, expiredCustomer)
		seed(beta, 3, 5)
		err := s.DB.Update(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (scope, key_hash, request_hash, status, created_at, expires_at)
				VALUES ('public', ?, ?, 201, ?, ?)`, []byte("old-key"), []byte("req"), past, past)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		// One store's purge, across chunks, and the other store untouched.
		if n, err := s.Identity.PurgeExpiredSessions(ctx, acme.StoreID); err != nil || n != expiredStaff {
			t.Fatalf("acme's staff sessions purged: %d, %v; want %d", n, err, expiredStaff)
		}
		if n, err := s.Customers.PurgeExpiredSessions(ctx, acme.StoreID); err != nil || n != expiredCustomer {
			t.Fatalf("acme's customer sessions purged: %d, %v; want %d", n, err, expiredCustomer)
		}
		if got, want := count(beta), [4]int{3, 1, 5, 1}; got != want { // the signup helper's live session
			t.Fatalf("beta's sessions after acme's purge (expired, live, expired customer, live customer) = %v, want %v", got, want)
		}

		events, cancel := s.Jobs.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
		defer cancel()
		res, err := s.Jobs.Insert(ctx, app.PurgeExpiredArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for ev := range events {
			if ev.Job.ID != res.Job.ID {
				continue // the run-on-start purge, or another job
			}
			if ev.Kind != river.EventKindJobCompleted {
				t.Fatalf("purge job %s: %v", ev.Kind, ev.Job.Errors)
			}
			break
		}

		// acme: the signup helper's session and ours; beta: the helper's.
		for m, want := range map[*merchant][4]int{acme: {0, 2, 0, 1}, beta: {0, 1, 0, 1}} {
			if got := count(m); got != want {
				t.Fatalf("%s's sessions after the job (expired, live, expired customer, live customer) = %v, want %v", m.Handle, got, want)
			}
		}
		var keys int
		err = s.DB.View(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM idempotency_keys WHERE expires_at < ?`, now).Scan(&keys)
		})
		if err != nil || keys != 0 {
			t.Fatalf("expired idempotency keys left: %d, %v", keys, err)
		}
	})
}
