package httpx_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// TestPurgeExpiredInChunks: every expired record goes, across several
// transactions' worth, and every live one stays.
func TestPurgeExpiredInChunks(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const expired, live = 2345, 7
		now := time.Now().UTC()
		var args []any
		for i := range expired + live {
			expires := now.Add(-time.Hour)
			if i >= expired {
				expires = now.Add(time.Hour)
			}
			args = append(args, "public", []byte(fmt.Sprintf("key-%05d", i)), []byte("req"), now, expires)
		}
		err := d.Update(ctx, func(tx *db.Tx) error {
			_, err := tx.ExecRows(ctx, `INSERT INTO idempotency_keys (scope, key_hash, request_hash, created_at, expires_at)`,
				"(?, ?, ?, ?, ?)", "", args)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		n, err := (&httpx.Idempotency{DB: d}).PurgeExpired(ctx)
		if err != nil || n != expired {
			t.Fatalf("purged %d, %v; want %d", n, err, expired)
		}
		var left, all int
		err = d.View(ctx, func(tx *db.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM idempotency_keys WHERE expires_at > ?`, now).Scan(&left); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM idempotency_keys`).Scan(&all)
		})
		if err != nil {
			t.Fatal(err)
		}
		if left != live || all != live {
			t.Fatalf("%d records left, %d of them live; want the %d live ones", all, left, live)
		}
	})
}
