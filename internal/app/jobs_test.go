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
// session, and nothing that is still live.
func TestPurgeExpiredJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		m := s.signup(t, "acme")
		s.login(t, "acme", m.Email, m.Password) // one live session
		now := time.Now().UTC()
		past := now.Add(-time.Hour)
		const expiredStaff, expiredCustomer = 1001, 1234
		err := s.DB.TenantUpdate(ctx, m.StoreID, func(tx *db.TenantTx) error {
			var staff []any
			for i := range expiredStaff {
				staff = append(staff, fmt.Sprintf("ses_expired%04d", i), m.StoreID, m.OwnerID, []byte(fmt.Sprintf("expired-hash-%d", i)), past, past)
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
				sessions = append(sessions, fmt.Sprintf("ses_customer%04d", i), m.StoreID, shopper, []byte(fmt.Sprintf("customer-hash-%d", i)), past, expires)
			}
			if _, err := tx.ExecRows(ctx, `INSERT INTO customer_sessions (id, tenant_id, customer_id, token_hash, created_at, expires_at)`,
				"(?, ?, ?, ?, ?, ?)", "", sessions); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO idempotency_keys (scope, key_hash, request_hash, status, created_at, expires_at)
				VALUES ('public', ?, ?, 201, ?, ?)`, []byte("old-key"), []byte("req"), past, past)
			return err
		})
		if err != nil {
			t.Fatal(err)
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

		var expired, live, customerSessions, liveCustomer, keys int
		err = s.DB.TenantView(ctx, m.StoreID, func(tx *db.TenantTx) error {
			for _, q := range []struct {
				n     *int
				query string
			}{
				{&expired, `SELECT COUNT(*) FROM sessions WHERE tenant_id = ? AND expires_at <= ?`},
				{&live, `SELECT COUNT(*) FROM sessions WHERE tenant_id = ? AND expires_at > ?`},
				{&customerSessions, `SELECT COUNT(*) FROM customer_sessions WHERE tenant_id = ? AND expires_at <= ?`},
				{&liveCustomer, `SELECT COUNT(*) FROM customer_sessions WHERE tenant_id = ? AND expires_at > ?`},
			} {
				if err := tx.QueryRow(ctx, q.query, m.StoreID, now).Scan(q.n); err != nil {
					return err
				}
			}
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM idempotency_keys WHERE expires_at < ?`, now).Scan(&keys)
		})
		if err != nil {
			t.Fatal(err)
		}
		if expired != 0 || customerSessions != 0 || keys != 0 {
			t.Fatalf("after purge: %d expired sessions, %d expired customer sessions, %d expired idempotency keys left",
				expired, customerSessions, keys)
		}
		if live != 2 || liveCustomer != 1 { // the signup helper's session and ours; the shopper's
			t.Fatalf("live sessions = %d, live customer sessions = %d; want 2 and 1", live, liveCustomer)
		}
	})
}
