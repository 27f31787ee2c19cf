package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/nimbuscommerce/nimbus/internal/app"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// TestPurgeExpiredJob runs the periodic purge through the real job queue and
// checks that it deletes expired sessions and idempotency records, and
// nothing that is still live.
func TestPurgeExpiredJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		m := s.signup(t, "acme")
		s.login(t, "acme", m.Email, m.Password) // one live session
		past := time.Now().Add(-time.Hour).UTC()
		err := s.DB.TenantUpdate(ctx, m.StoreID, func(tx *db.TenantTx) error {
			_, err := tx.Exec(ctx, `INSERT INTO sessions (id, tenant_id, user_id, token_hash, created_at, expires_at)
				VALUES ('ses_expired', ?, ?, ?, ?, ?)`, m.StoreID, m.OwnerID, []byte("expired-hash"), past, past)
			if err != nil {
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

		var expired, live, keys int
		err = s.DB.TenantView(ctx, m.StoreID, func(tx *db.TenantTx) error {
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE tenant_id = ? AND id = 'ses_expired'`, m.StoreID).Scan(&expired); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE tenant_id = ?`, m.StoreID).Scan(&live); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM idempotency_keys WHERE expires_at < ?`, time.Now().UTC()).Scan(&keys)
		})
		if err != nil {
			t.Fatal(err)
		}
		if expired != 0 || keys != 0 {
			t.Fatalf("after purge: %d expired sessions, %d expired idempotency keys left", expired, keys)
		}
		if live != 2 { // the signup helper's session and ours
			t.Fatalf("live sessions = %d, want 2", live)
		}
	})
}
